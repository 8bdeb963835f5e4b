# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""One training run from a recipe: Lightning Trainer, callbacks, loggers, run summary.

A run writes into ``output.dir/NAME/version_K/``: ``config.yaml`` (the resolved
recipe), TensorBoard events and ``metrics.csv`` (CSV logger), ``checkpoints/best-*.ckpt``
(the best by ``val/score`` = mean precision + mean Dice, not the last) and
``last.ckpt`` for resuming, and ``summary.json`` (best checkpoint, its validation
scores, class weights, epochs, wall time). Multi-GPU runs need no change: set
``trainer.devices``/``trainer.strategy`` (e.g. ``ddp``) or start with ``torchrun``.
"""

from dataclasses import asdict, dataclass
import hashlib
import json
from pathlib import Path
import time
import warnings

import lightning as L
from lightning.pytorch.callbacks import (
    EarlyStopping, LearningRateMonitor, ModelCheckpoint, TQDMProgressBar)
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from liver_landmarks.model import EncoderWeightsError
from liver_landmarks.model.factory import read_state_dict
from liver_landmarks_training.config import dump_config, FOLDER_KINDS
from liver_landmarks_training.data_module import LandmarkDataModule
from liver_landmarks_training.lightning_module import LandmarkSegmentationModule, SELECTION_METRIC
import torch


@dataclass
class TrainResult:
    """Where a run wrote its outputs and how it ended."""

    run_dir: str
    best_checkpoint: str
    best_score: float | None
    best_metrics: dict
    epochs: int
    seconds: float
    class_weights: list[float] | None
    train_losses: list[float]


def resolve_precision(trainer_config: dict) -> str:
    """``auto`` precision: mixed on a GPU (bf16 where supported), full float32 on CPU."""
    precision = str(trainer_config['precision'])
    if precision != 'auto':
        return precision
    on_gpu = torch.cuda.is_available() and trainer_config['accelerator'] in ('auto', 'gpu', 'cuda')
    if not on_gpu:
        return '32-true'
    return 'bf16-mixed' if torch.cuda.is_bf16_supported() else '16-mixed'


def resolve_class_weights(config: dict, data_module: LandmarkDataModule):
    """Class weights from the recipe: 'none', listed, or a weighting of the training masks.

    The weightings are Eq. 1 ('auto' or 'eq1'), 'log' and 'proportional'.
    """
    setting = config['loss']['class_weights']
    if setting in ('none', None):
        return None
    if isinstance(setting, str):
        return data_module.class_weights('eq1' if setting == 'auto' else setting)
    return [float(value) for value in setting]


def require_encoder_weights(config: dict) -> None:
    """Refuse to train on a real dataset from random initialisation by accident.

    The paper's networks all start from ImageNet ResNet34 encoders. A recipe that
    reads a dataset folder must name the weights file, start from a checkpoint, or
    say ``encoder_weights: none`` on purpose.
    """
    model = config['model']
    if (config['data']['kind'] in FOLDER_KINDS and model['encoder_weights'] is None
            and not model['init_checkpoint']):
        raise EncoderWeightsError(
            f'model.encoder_weights is not set: training {model["architecture"]} on '
            f'{config["data"]["kind"]} data would start from a random encoder, not the '
            f'paper\'s ImageNet {model["encoder"]}. Export the ImageNet weights once to a '
            f'local file as docs/models.md ("ImageNet encoder weights from a local file") '
            f'shows and pass --set model.encoder_weights=PATH (reproduce: --encoder-weights '
            f'PATH), or set model.encoder_weights: none to train from scratch on purpose')


def load_initial_weights(module: LandmarkSegmentationModule, path) -> None:
    """Start from a previous run's network (fine-tuning): Lightning .ckpt or .safetensors."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f'model.init_checkpoint not found: {path}')
    if path.suffix == '.ckpt':
        state = torch.load(path, map_location='cpu', weights_only=True)['state_dict']
        state = {key[len('model.'):]: value for key, value in state.items()
                 if key.startswith('model.')}
    else:
        state = read_state_dict(path)
    module.model.load_state_dict({key: value.float() if value.is_floating_point() else value
                                  for key, value in state.items()})


def _next_version(base: Path) -> int:
    versions = [int(path.name.split('_', 1)[1]) for path in base.glob('version_*')
                if path.name.split('_', 1)[1].isdigit()]
    return max(versions, default=-1) + 1


def build_trainer(config: dict, run_dir: Path, extra_callbacks=(), enable_checkpointing=True):
    """Return the Lightning Trainer (and its checkpoint callback) a recipe describes."""
    trainer_config = config['trainer']
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / 'checkpoints', monitor=SELECTION_METRIC, mode='max', save_top_k=1,
        auto_insert_metric_name=False, filename='best-epoch{epoch:03d}-score{val/score:.4f}')
    # Lightning 2.6 refreshes save_last only when the best changes; resuming needs every epoch.
    last = ModelCheckpoint(dirpath=run_dir / 'checkpoints', filename='last', monitor=None,
                           save_top_k=1, enable_version_counter=False)
    callbacks = [EarlyStopping(monitor=SELECTION_METRIC, mode='max',
                               patience=int(trainer_config['early_stopping_patience'])),
                 LearningRateMonitor(logging_interval='epoch'), *extra_callbacks]
    if enable_checkpointing:
        callbacks += [checkpoint, last]
    if trainer_config['progress_bar']:
        callbacks.append(TQDMProgressBar(refresh_rate=1))
    # config.yaml is written into the run folder first, on purpose.
    warnings.filterwarnings('ignore', message='Experiment logs directory .* is not empty')
    save_dir, name, version = str(run_dir.parent.parent), run_dir.parent.name, run_dir.name
    loggers = [TensorBoardLogger(save_dir, name=name, version=version, default_hp_metric=False),
               CSVLogger(save_dir, name=name, version=version)]
    max_time = trainer_config['max_time']
    if isinstance(max_time, (int, float)):
        max_time = {'seconds': float(max_time)}
    trainer = L.Trainer(
        max_epochs=int(trainer_config['max_epochs']), max_time=max_time,
        accelerator=trainer_config['accelerator'], devices=trainer_config['devices'],
        strategy=trainer_config['strategy'], num_nodes=int(trainer_config['num_nodes']),
        precision=resolve_precision(trainer_config),
        limit_train_batches=trainer_config['limit_train_batches'],
        limit_val_batches=trainer_config['limit_val_batches'],
        log_every_n_steps=int(trainer_config['log_every_n_steps']),
        num_sanity_val_steps=int(trainer_config['num_sanity_val_steps']),
        enable_progress_bar=bool(trainer_config['progress_bar']),
        enable_checkpointing=enable_checkpointing, deterministic=trainer_config['deterministic'],
        enable_model_summary=bool(trainer_config['progress_bar']),
        callbacks=callbacks, logger=loggers, default_root_dir=str(run_dir))
    return trainer, checkpoint


def train(config: dict, resume=None, run_dir=None) -> TrainResult:
    """Train one recipe; ``resume`` continues from a checkpoint (e.g. ``last.ckpt``)."""
    started = time.monotonic()
    L.seed_everything(int(config['seed']), workers=True, verbose=False)
    if resume is not None and not Path(resume).is_file():
        raise FileNotFoundError(f'checkpoint to resume not found: {resume}')
    if resume is None:
        require_encoder_weights(config)
    data_module = LandmarkDataModule(config)
    class_weights = resolve_class_weights(config, data_module)
    module = LandmarkSegmentationModule(config, class_weights)
    if config['model']['init_checkpoint'] and resume is None:
        load_initial_weights(module, config['model']['init_checkpoint'])
    if run_dir is None:
        base = Path(config['output']['dir']).expanduser() / config['name']
        run_dir = base / f'version_{_next_version(base)}'
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    dump_config(config, run_dir / 'config.yaml')
    trainer, checkpoint = build_trainer(config, run_dir)
    trainer.fit(module, datamodule=data_module, ckpt_path=resume)
    result = TrainResult(
        run_dir=str(run_dir), best_checkpoint=str(checkpoint.best_model_path),
        best_score=(float(checkpoint.best_model_score)
                    if checkpoint.best_model_score is not None else None),
        best_metrics=best_validation(module.validation_history),
        epochs=int(trainer.current_epoch), seconds=round(time.monotonic() - started, 1),
        class_weights=class_weights, train_losses=_epoch_losses(run_dir))
    if trainer.is_global_zero:
        with open(run_dir / 'summary.json', 'w', encoding='utf-8') as stream:
            json.dump(asdict(result), stream, indent=2)
    return result


#: Recipe keys that do not change what a run learns, left out of :func:`run_key`.
_KEYLESS = {'name': None, 'output': None, 'export': None,
            'data': ('cache_dir', 'num_workers'),
            'trainer': ('progress_bar', 'log_every_n_steps')}


def run_key(config: dict) -> str:
    """Return a short hash of what a run trains: the recipe without names, folders, logging."""
    recipe = {}
    for key, value in config.items():
        if key in _KEYLESS and _KEYLESS[key] is None:
            continue
        if key in _KEYLESS:
            value = {name: item for name, item in value.items() if name not in _KEYLESS[key]}
        recipe[key] = value
    text = json.dumps(recipe, sort_keys=True, default=str)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]


def read_result(run_dir) -> TrainResult | None:
    """Return a finished run's result from its ``summary.json``, or None if it has none."""
    summary = Path(run_dir) / 'summary.json'
    if not summary.is_file():
        return None
    with open(summary, encoding='utf-8') as stream:
        return TrainResult(**json.load(stream))


def train_or_resume(config: dict, runs_dir) -> TrainResult:
    """Train a recipe into ``runs_dir/NAME-KEY`` unless that run already finished.

    A finished run (its ``summary.json`` written) is read back; an interrupted one
    continues from its ``last.ckpt``; the key (:func:`run_key`) changes with anything
    in the recipe that changes training, so an edited recipe trains afresh.
    """
    key = run_key(config)
    existing = sorted(Path(runs_dir).glob(f'*-{key}'))
    run_dir = existing[0] if existing else Path(runs_dir) / f'{config["name"]}-{key}'
    finished = read_result(run_dir)
    if finished is not None and Path(finished.best_checkpoint).is_file():
        return finished
    last = run_dir / 'checkpoints' / 'last.ckpt'
    return train(config, resume=last if last.is_file() else None, run_dir=run_dir)


def best_validation(history: list[dict]) -> dict:
    """Return the validation aggregates of the best-scoring epoch (the first on a tie)."""
    best = None
    for entry in history:
        if best is None or entry[SELECTION_METRIC] > best[SELECTION_METRIC]:
            best = entry
    return dict(best) if best else {}


def _epoch_losses(run_dir: Path) -> list[float]:
    """Return the mean training loss per epoch, read back from the CSV log."""
    from liver_landmarks_training.report import read_metrics_csv
    rows = read_metrics_csv(run_dir / 'metrics.csv')
    return [row['train/loss_epoch'] for row in rows if row.get('train/loss_epoch') is not None]

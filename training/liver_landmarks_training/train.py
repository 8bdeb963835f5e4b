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
import json
from pathlib import Path
import time
import warnings

import lightning as L
from lightning.pytorch.callbacks import (
    EarlyStopping, LearningRateMonitor, ModelCheckpoint, TQDMProgressBar)
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from liver_landmarks.model.factory import read_state_dict
from liver_landmarks_training.config import dump_config
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
    """Class weights from the recipe: 'auto' from the training masks, 'none', or listed."""
    setting = config['loss']['class_weights']
    if setting in ('none', None):
        return None
    if setting == 'auto':
        return data_module.class_weights()
    return [float(value) for value in setting]


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

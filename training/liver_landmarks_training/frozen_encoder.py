# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Train a recipe with its pretrained encoder frozen (weights and batch-norm statistics).

Training only the decoder on rendered frames keeps the encoder's features those it
learnt on real photographs, which is the point of starting from them when no real
training frame exists; it also skips the encoder's backward pass, which on a CPU is
most of a step's cost for depthwise-separable encoders.

    python -m liver_landmarks_training.frozen_encoder RECIPE.yaml [--set key=value ...]

writes the same run folder as ``liver_landmarks_training train`` (checkpoints,
logs, ``summary.json``), which ``export`` and ``evaluate`` read unchanged.
"""

import argparse
from dataclasses import asdict
import json
from pathlib import Path
import time

import lightning as L
from lightning.pytorch.callbacks import Callback
from liver_landmarks_training.config import dump_config, load_config
from liver_landmarks_training.data_module import LandmarkDataModule
from liver_landmarks_training.lightning_module import LandmarkSegmentationModule
from liver_landmarks_training.train import (
    _epoch_losses, _next_version, best_validation, build_trainer, load_initial_weights,
    resolve_class_weights, TrainResult)


class FreezeEncoder(Callback):
    """Keep the network's encoder fixed: no gradients, batch norm in inference mode."""

    def on_fit_start(self, trainer, pl_module):
        """Stop gradients at the encoder before the first step."""
        pl_module.model.encoder.requires_grad_(False)
        pl_module.model.encoder.eval()

    def on_train_epoch_start(self, trainer, pl_module):
        """Put the encoder back into inference mode after Lightning's ``train()``."""
        pl_module.model.encoder.eval()


def train_frozen(config: dict) -> TrainResult:
    """Train ``config`` like :func:`liver_landmarks_training.train.train`, encoder frozen."""
    started = time.monotonic()
    L.seed_everything(int(config['seed']), workers=True, verbose=False)
    data_module = LandmarkDataModule(config)
    class_weights = resolve_class_weights(config, data_module)
    module = LandmarkSegmentationModule(config, class_weights)
    if config['model']['init_checkpoint']:
        load_initial_weights(module, config['model']['init_checkpoint'])
    base = Path(config['output']['dir']).expanduser() / config['name']
    run_dir = base / f'version_{_next_version(base)}'
    run_dir.mkdir(parents=True, exist_ok=True)
    dump_config(config, run_dir / 'config.yaml')
    trainer, checkpoint = build_trainer(config, run_dir, extra_callbacks=[FreezeEncoder()])
    trainer.fit(module, datamodule=data_module)
    result = TrainResult(
        run_dir=str(run_dir), best_checkpoint=str(checkpoint.best_model_path),
        best_score=(float(checkpoint.best_model_score)
                    if checkpoint.best_model_score is not None else None),
        best_metrics=best_validation(module.validation_history),
        epochs=int(trainer.current_epoch), seconds=round(time.monotonic() - started, 1),
        class_weights=class_weights, train_losses=_epoch_losses(run_dir))
    with open(run_dir / 'summary.json', 'w', encoding='utf-8') as stream:
        json.dump({**asdict(result), 'encoder_frozen': True}, stream, indent=2)
    return result


def main(argv=None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', type=Path)
    parser.add_argument('--set', dest='overrides', action='append', default=[])
    args = parser.parse_args(argv)
    result = train_frozen(load_config(args.config, args.overrides))
    print(json.dumps({'run_dir': result.run_dir, 'best_checkpoint': result.best_checkpoint,
                      'best_score': result.best_score, 'epochs': result.epochs,
                      'seconds': result.seconds}, indent=2))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

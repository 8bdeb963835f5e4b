# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Two tiny epochs on synthetic frames: loss, best checkpoint, logs, resume, deep supervision."""

import json
from pathlib import Path

from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks_training.config import load_config
from liver_landmarks_training.lightning_module import (
    LandmarkSegmentationModule, validation_aggregates, VALIDATION_KEYS)
from liver_landmarks_training.report import read_metrics_csv
from liver_landmarks_training.train import train
import pytest
import torch


def test_two_tiny_epochs_decrease_the_loss(smoke_run):
    assert smoke_run.epochs == 2
    assert len(smoke_run.train_losses) == 2
    assert smoke_run.train_losses[1] < smoke_run.train_losses[0]
    assert all(weight >= 1.0 for weight in smoke_run.class_weights)


def test_best_checkpoint_is_chosen_by_validation_precision_plus_dice(smoke_run):
    run_dir = Path(smoke_run.run_dir)
    best = Path(smoke_run.best_checkpoint)
    assert best.is_file() and best.name.startswith('best-')
    assert (run_dir / 'checkpoints' / 'last.ckpt').is_file()
    rows = [row for row in read_metrics_csv(run_dir / 'metrics.csv') if 'val/score' in row]
    assert len(rows) == 2
    for row in rows:
        assert row['val/score'] == pytest.approx(row['val/precision'] + row['val/dice'])
    best_row = max(rows, key=lambda row: row['val/score'])
    assert smoke_run.best_score == pytest.approx(best_row['val/score'])
    assert f'epoch{int(best_row["epoch"]):03d}' in best.name
    assert smoke_run.best_metrics['val/score'] == pytest.approx(best_row['val/score'])


def test_run_writes_config_summary_and_both_logs(smoke_run, smoke_config):
    run_dir = Path(smoke_run.run_dir)
    assert load_config(run_dir / 'config.yaml') == smoke_config
    summary = json.loads((run_dir / 'summary.json').read_text())
    assert summary['best_checkpoint'] == smoke_run.best_checkpoint
    assert list(run_dir.glob('events.out.tfevents.*')), 'no TensorBoard log'
    columns = read_metrics_csv(run_dir / 'metrics.csv')
    assert any('train/loss_epoch' in row for row in columns)
    assert any('lr-AdamW' in row for row in columns)


def test_resume_continues_from_last_checkpoint(smoke_run, smoke_config, tmp_path):
    config = load_config(overrides=[])
    config.update(smoke_config)
    config['trainer'] = dict(smoke_config['trainer'], max_epochs=3)
    resumed = train(config, resume=Path(smoke_run.run_dir) / 'checkpoints' / 'last.ckpt',
                    run_dir=tmp_path / 'resumed')
    assert resumed.epochs == 3
    rows = read_metrics_csv(tmp_path / 'resumed' / 'metrics.csv')
    # last.ckpt is the end of the second epoch, whatever its score: only the third trains.
    assert {int(row['epoch']) for row in rows if 'train/loss_step' in row} == {2}
    assert max(int(row['epoch']) for row in rows if 'val/score' in row) == 2


def test_deep_supervision_heads_add_to_the_training_loss():
    config = load_config(overrides=['model.architecture=unet3plus',
                                    'model.encoder=tu-mobilenetv3_small_100'])
    module = LandmarkSegmentationModule(config, class_weights=[1.0, 2.0, 2.0, 2.0])
    module.eval()   # fixed BatchNorm statistics, so every pass below sees the same network
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    masks = torch.randint(0, 4, (2, 64, 64), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits, aux = module._training_outputs(images)
        assert len(aux) >= 1 and all(head.shape == logits.shape for head in aux)
        expected = module.criterion(logits, masks) + config['model'][
            'deep_supervision_weight'] * torch.stack(
                [module.criterion(head, masks) for head in aux]).mean()
        total = module.training_step((images, masks), 0)
        module.deep_supervision_weight = 0.0
        plain = module.training_step((images, masks), 0)
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert plain.item() == pytest.approx(module.criterion(logits, masks).item(), rel=1e-5)
    assert total.item() > plain.item()


def test_validation_aggregates_follow_the_challenge_means():
    # Rows: ridge over 2 images, ligament over 1, silhouette absent everywhere.
    sums = torch.zeros(len(LANDMARKS), len(VALIDATION_KEYS) + 1, dtype=torch.float64)
    sums[0] = torch.tensor([1.2, 1.0, 6.0, 2.0], dtype=torch.float64)
    sums[1] = torch.tensor([0.4, 0.5, 3.0, 1.0], dtype=torch.float64)
    aggregates = validation_aggregates(sums)
    assert aggregates['val/ridge/precision'] == pytest.approx(0.6)
    assert 'val/silhouette/precision' not in aggregates
    assert aggregates['val/precision'] == pytest.approx((0.6 + 0.4) / 2)
    assert aggregates['val/dice'] == pytest.approx((0.5 + 0.5) / 2)
    assert aggregates['val/score'] == pytest.approx(0.5 + 0.5)

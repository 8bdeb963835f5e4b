# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The best checkpoint to safetensors + model card, loaded by the deployed pipeline."""

import json

from liver_landmarks.model import load_artifact
from liver_landmarks.pipeline import Pipeline
from liver_landmarks_training.cli import main
from liver_landmarks_training.export import export_checkpoint, SYNTHETIC_STATEMENT
from liver_landmarks_training.lightning_module import network_from_checkpoint
from liver_landmarks_training.synthetic import render_frame
import numpy as np
import pytest
import torch


def test_exported_card_describes_the_run_and_loads_in_the_pipeline(smoke_run, tmp_path):
    card_path = export_checkpoint(smoke_run.best_checkpoint, tmp_path, 'smoke', fp16=True,
                                  extra_metrics={'held_out': {'mean': {'dice': 0.5}}})
    card = json.loads(card_path.read_text())
    assert SYNTHETIC_STATEMENT in card['description']
    assert card['training']['synthetic_only'] is True
    assert card['training']['recipe'] == 'smoke'
    assert card['training']['loss']['focal_tversky'] == 0.25
    assert card['metrics']['held_out'] == {'mean': {'dice': 0.5}}
    assert card['metrics']['validation']['mean']['score'] == pytest.approx(smoke_run.best_score)
    assert card['weights']['dtype'] == 'float16'

    pipeline = Pipeline.from_model_card(card_path, backend='torch', device='cpu')
    frame = render_frame(5, 208, 160).image
    result = pipeline(frame)
    assert result.class_ids.shape == (320, 416)
    assert result.result.labels.shape == frame.shape[:2]


def test_exported_weights_are_the_checkpoints(smoke_run, tmp_path):
    card_path = export_checkpoint(smoke_run.best_checkpoint, tmp_path, 'full')
    exported, card = load_artifact(card_path)
    trained, _ = network_from_checkpoint(smoke_run.best_checkpoint)
    assert card.weights_dtype == 'float32'
    for (name, value), (other_name, other) in zip(trained.state_dict().items(),
                                                  exported.state_dict().items()):
        assert name == other_name
        assert torch.equal(value, other), name
    frame = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 3, 64, 64)).astype('f4'))
    with torch.no_grad():
        assert torch.allclose(trained(frame), exported(frame))


def test_export_command_adds_metrics_files(smoke_run, tmp_path, capsys):
    metrics_file = tmp_path / 'results.json'
    metrics_file.write_text(json.dumps({'frames': 3}))
    status = main(['export', smoke_run.best_checkpoint, '--out', str(tmp_path / 'model'),
                   '--stem', 'demo', '--metrics', f'synthetic_test={metrics_file}',
                   '--description', 'smoke test model'])
    assert status == 0
    card_path = tmp_path / 'model' / 'demo.json'
    assert str(card_path) in capsys.readouterr().out
    card = json.loads(card_path.read_text())
    assert card['metrics']['synthetic_test'] == {'frames': 3}
    assert card['description'].endswith('smoke test model')
    assert (tmp_path / 'model' / 'demo.safetensors').is_file()

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the training tests: recipe paths, one tiny training run per session."""

from pathlib import Path

from liver_landmarks_tools.support.data import P2ILF_SAMPLE
from liver_landmarks_training.config import load_config
import pytest

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'

#: Smaller still than smoke.yaml: four training frames, two validation frames.
TINY_OVERRIDES = ('data.train_count=4', 'data.val_count=2', 'optim.batch_size=2')


@pytest.fixture(scope='session')
def smoke_config(tmp_path_factory) -> dict:
    """Return the smoke recipe, shrunk, writing under a temporary folder."""
    runs = tmp_path_factory.mktemp('runs')
    return load_config(CONFIGS / 'smoke.yaml', [*TINY_OVERRIDES, f'output.dir={runs}'])


@pytest.fixture(scope='session')
def smoke_run(smoke_config):
    """Train the smoke recipe once: two tiny epochs on synthetic frames."""
    from liver_landmarks_training.train import train
    return train(smoke_config)


@pytest.fixture(scope='session')
def p2ilf_sample() -> Path:
    """Return the real P2ILF sample folder; skip when the shared data is absent."""
    if not (P2ILF_SAMPLE / 'labels').is_dir():
        pytest.skip(f'real P2ILF sample not found at {P2ILF_SAMPLE}')
    return P2ILF_SAMPLE

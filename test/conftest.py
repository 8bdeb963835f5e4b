# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Fixtures shared by the test modules: saved random models and the real sample data."""

from pathlib import Path

from liver_landmarks.pipeline import Pipeline
from liver_landmarks_tools.support.data import P2ILF_FRAME, P2ILF_SAMPLE, ROSBAG2_SAMPLES
from liver_landmarks_tools.support.models import make_random_model_artifact, TINY_ENCODER
from liver_landmarks_tools.support.node_client import ros_context
import pytest


@pytest.fixture(scope='session')
def random_model_card(tmp_path_factory) -> Path:
    """Card path of a deterministic random UNet on a tiny encoder, saved once per session."""
    directory = tmp_path_factory.mktemp('random_model')
    return make_random_model_artifact(directory, architecture='unet', encoder=TINY_ENCODER,
                                      seed=0)


@pytest.fixture(scope='session')
def p2ilf_frame_path() -> Path:
    """Path of the real 1920x1080 P2ILF frame; skips when the shared data is absent."""
    if not P2ILF_FRAME.is_file():
        pytest.skip(f'real P2ILF sample frame not found at {P2ILF_FRAME}')
    return P2ILF_FRAME


@pytest.fixture(scope='session')
def p2ilf_sample() -> Path:
    """Return the real P2ILF sample folder (frame, labels, annotations); skip if absent."""
    if not P2ILF_SAMPLE.is_dir():
        pytest.skip(f'real P2ILF sample not found at {P2ILF_SAMPLE}')
    return P2ILF_SAMPLE


@pytest.fixture(scope='session')
def rosbag2_samples() -> Path:
    """Return the folder of real rosbag2 recordings; skip when it is absent."""
    if not ROSBAG2_SAMPLES.is_dir():
        pytest.skip(f'rosbag2 samples not found at {ROSBAG2_SAMPLES}')
    return ROSBAG2_SAMPLES


@pytest.fixture
def context():
    """Give each test its own ROS context, shut down afterwards."""
    with ros_context() as ros:
        yield ros


@pytest.fixture(scope='module')
def offline(random_model_card):
    """Run the random model offline on PyTorch/CPU, to compare a node's labels with."""
    with Pipeline.from_model_card(random_model_card, backend='torch', device='cpu') as pipeline:
        yield pipeline

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Helpers for tests, benchmarks and demos that need a real network but no trained one.

The models are randomly initialised but deterministic (the same seed gives the
same weights bit for bit), saved in the real artifact format, so everything
downstream (backends, pipeline, node, bag tools) runs exactly as it would with a
trained model. Their outputs are meaningless as segmentations.
"""

from pathlib import Path
from typing import Optional, Union

from liver_landmarks.model.artifact import ModelCard, save_artifact
from liver_landmarks.model.factory import build_model
import numpy as np
import torch

#: A small smp encoder (MobileNetV3-small from timm) that keeps CPU tests quick.
TINY_ENCODER = 'tu-mobilenetv3_small_100'


def build_random_model(architecture: str = 'unet', encoder: str = 'resnet34',
                       seed: int = 0) -> torch.nn.Module:
    """Build a network with weights drawn from ``seed``, leaving the global RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(architecture, encoder)
        # Fresh BatchNorm statistics (mean 0, var 1) would make eval mode a pass-through;
        # random ones make the eval-mode network behave like a trained one numerically.
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.normal_(0.0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def make_random_model_artifact(directory: Union[str, Path], architecture: str = 'unet',
                               encoder: str = 'resnet34', seed: int = 0,
                               stem: Optional[str] = None,
                               dtype: Union[None, str, torch.dtype] = None) -> Path:
    """Save a deterministic random model as STEM.safetensors + STEM.json; return the card path.

    ``stem`` defaults to ``random_{architecture}_{encoder}_{seed}``.
    """
    model = build_random_model(architecture, encoder, seed)
    stem = stem or f'random_{architecture}_{encoder}_{seed}'.replace('/', '_')
    card = ModelCard(
        architecture=architecture, encoder=encoder,
        name=stem, description='randomly initialised, for tests only: its output is noise',
        training={'data': 'none', 'recipe': f'random initialisation, seed {seed}'},
        metrics={})
    return save_artifact(model, card, directory, stem, dtype=dtype)


def synthetic_frame(width: int = 1920, height: int = 1080, seed: int = 0) -> np.ndarray:
    """Return a liver-like HxWx3 uint8 RGB frame: reddish organ, specular spots, dark border.

    Not a rendering of anatomy; enough texture and colour statistics to exercise the
    network and the field-of-view cull like a laparoscopic frame does.
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    cy, cx = height * 0.55, width * 0.5
    radius = np.hypot((cols - cx) / (0.45 * width), (rows - cy) / (0.5 * height))
    organ = np.clip(1.2 - radius, 0.0, 1.0)
    shading = 0.6 + 0.4 * np.sin(cols / width * 3.0 + rows / height * 2.0)
    frame = np.empty((height, width, 3), dtype=np.float32)
    frame[..., 0] = 40 + 170 * organ * shading
    frame[..., 1] = 20 + 60 * organ * shading
    frame[..., 2] = 25 + 50 * organ * shading
    frame += rng.normal(0.0, 6.0, size=frame.shape).astype(np.float32)
    for _ in range(8):
        y, x = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
        spot = np.exp(-(((cols - x) ** 2 + (rows - y) ** 2) / (2 * (0.01 * width) ** 2)))
        frame += 200.0 * spot[..., None]
    # Laparoscopes show a circular field of view with black corners.
    outside = np.hypot((cols - width / 2) / (0.55 * width), (rows - height / 2) / (0.6 * height))
    frame[outside > 1.0] = 0.0
    return np.clip(frame, 0, 255).astype(np.uint8)

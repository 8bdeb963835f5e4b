# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Random but deterministic networks for tests, benchmarks and demos that need no trained one.

The models are randomly initialised but deterministic (the same seed gives the
same weights bit for bit), saved in the real artifact format, so everything
downstream (backends, pipeline, node, bag tools) runs exactly as it would with a
trained model. Their outputs are meaningless as segmentations.
"""

from pathlib import Path
from typing import Optional, Union

from liver_landmarks.model.artifact import ModelCard, save_artifact
from liver_landmarks.model.factory import build_model
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

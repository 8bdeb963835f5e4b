# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Segmentation networks and their safetensors + model card artifact."""

from liver_landmarks.model.artifact import (
    load_artifact, load_model_card, ModelArtifactError, ModelCard, save_artifact)
from liver_landmarks.model.factory import ARCHITECTURES, build_model, EncoderWeightsError

__all__ = ['ARCHITECTURES', 'build_model', 'EncoderWeightsError', 'load_artifact',
           'load_model_card', 'ModelArtifactError', 'ModelCard', 'save_artifact']

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Liver landmark segmentation and post-processing for laparoscopic 3D-2D registration."""

__version__ = '0.1.0'

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Offline training for liver_landmarks: data, losses, trainer, sweeps, reports, export.

Installed separately from the runtime package (``pip install -e training``) and never
imported by the node; it imports :mod:`liver_landmarks`, never the reverse.
"""

__version__ = '0.1.0'

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Where the shared test data lives: the one place that names ``../shared/data``.

The real P2ILF frame there is test data only: never train, tune, calibrate or select on it.
``$LIVER_LANDMARKS_SHARED_DATA`` points elsewhere (a copy on another machine).
"""

import os
from pathlib import Path

#: The repository's checkout (this file is tools/liver_landmarks_tools/support/data.py).
REPOSITORY = Path(__file__).resolve().parents[3]
SHARED_DATA = Path(os.environ.get('LIVER_LANDMARKS_SHARED_DATA',
                                  REPOSITORY.parent / 'shared' / 'data'))
#: One real P2ILF frame with its ground truth, polyline annotation, camera and mesh.
P2ILF_SAMPLE = SHARED_DATA / 'p2ilf_sample'
P2ILF_IMAGES = P2ILF_SAMPLE / 'images'
P2ILF_FRAME = P2ILF_IMAGES / 'P2ILF22_patient1_12.jpg'
#: Real rosbag2 recordings.
ROSBAG2_SAMPLES = SHARED_DATA / 'rosbag2_samples'

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m liver_landmarks_training``: see :mod:`liver_landmarks_training.cli`."""

import sys

from liver_landmarks_training.cli import main

sys.exit(main())

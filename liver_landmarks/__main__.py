# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m liver_landmarks``."""

import sys

from liver_landmarks.cli import main

sys.exit(main())

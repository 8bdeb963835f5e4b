# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m liver_landmarks_tools``."""

import sys

from liver_landmarks_tools.cli import main

sys.exit(main())

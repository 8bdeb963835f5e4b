# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Suite-wide set-up, loaded by pytest before any test module.

DDS is put on loopback here, before any test can import or initialise rclpy, and
the variables are inherited by every process a test starts. The backends' precision
checks get the real sample frame through the variable a deployment would set.
"""

import logging
import os

from liver_landmarks.backends.base import SAMPLE_FRAMES_ENV
from liver_landmarks.ros.loopback import use_loopback_dds
from liver_landmarks_tools.support.data import P2ILF_IMAGES
import pytest

use_loopback_dds()
# A test suite run must not leave stray DDS participants in other suites' domain.
os.environ.setdefault('ROS_DOMAIN_ID', str(40 + os.getpid() % 60))
# Two cores: torch's default thread pool plus pytest's own work oversubscribe them.
os.environ.setdefault('OMP_NUM_THREADS', '2')
if P2ILF_IMAGES.is_dir():
    os.environ.setdefault(SAMPLE_FRAMES_ENV, str(P2ILF_IMAGES))


@pytest.fixture(autouse=True)
def _package_logs_reach_caplog():
    """Let this project's log records propagate to the root logger, where caplog listens.

    Importing ``launch`` (the launch_testing pytest plugin does, and each launch test's
    LaunchService resets it again) makes every logger created afterwards a LaunchLogger
    that does not propagate; in a deployment the node runs in its own process and never
    sees this.
    """
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.split('.')[0].startswith('liver_landmarks') and isinstance(logger,
                                                                           logging.Logger):
            logger.propagate = True
    yield

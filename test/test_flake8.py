# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""ament_flake8 over the package, as in the ament_python template.

flake8 forks a pool of workers; forking the pytest process after other tests loaded
torch and rclpy (with their threads) can crash a worker and hang the pool, so the
check runs in a fresh interpreter.
"""

import subprocess
import sys

import pytest

PATHS = ['liver_landmarks', 'test', 'launch', 'training', 'tools', 'scripts', 'setup.py',
         'conftest.py']
RUN_AMENT_FLAKE8 = ('import sys; from ament_flake8.main import main; '
                    'sys.exit(main(argv=sys.argv[1:]))')


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    result = subprocess.run([sys.executable, '-c', RUN_AMENT_FLAKE8, *PATHS],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, 'code style errors / warnings:\n' + result.stdout[-20000:]

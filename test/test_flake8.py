# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""ament_flake8 over the package, as in the ament_python template."""

from ament_flake8.main import main_with_errors
import pytest


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    rc, errors = main_with_errors(argv=['liver_landmarks', 'test', 'launch', 'training',
                                        'setup.py', 'conftest.py'])
    assert rc == 0, 'Found %d code style errors / warnings:\n' % len(errors) + '\n'.join(errors)

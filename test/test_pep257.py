# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""ament_pep257 over the package, as in the ament_python template."""

from ament_pep257.main import main
import pytest


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    # D213 off: summaries start on the docstring's first line (PEP 257's own style).
    rc = main(argv=['liver_landmarks', 'launch', 'test', 'training', 'tools',
                    '--add-ignore', 'D213'])
    assert rc == 0, 'Found code style errors / warnings'

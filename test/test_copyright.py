# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Every Python source carries the copyright and licence header.

ament_copyright has no wheel on PyPI, so this checks the same thing directly.
"""

from pathlib import Path
import re

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADER = re.compile(r'\A(#![^\n]*\n)?# Copyright \d{4} The liver_landmarks authors\n'
                    r'# SPDX-License-Identifier: Apache-2\.0\n')
SKIPPED = {'.venv', '.venv-jazzy', 'build', 'install', 'log', '.git'}


def _sources():
    for path in sorted(ROOT.rglob('*.py')):
        if not SKIPPED.intersection(path.relative_to(ROOT).parts):
            yield path


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright_headers():
    missing = [str(path.relative_to(ROOT)) for path in _sources()
               if path.stat().st_size and not HEADER.match(path.read_text(encoding='utf-8'))]
    assert not missing, 'missing copyright/licence header:\n' + '\n'.join(missing)

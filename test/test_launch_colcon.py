# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``colcon test`` runs this package's pytest suite and ``colcon test-result`` counts it.

Without a declared pytest test dependency colcon falls back to unittest, finds no
tests and reports success; this runs ``colcon test`` on the colcon build the launch
tests use, over two of the lint tests so it stays quick, and reads the count back.
"""

import re
import subprocess

import launch_support
import pytest

#: Test modules colcon runs here: quick ones.
SELECTED = ('test/test_copyright.py', 'test/test_xmllint.py')


@pytest.fixture(scope='module')
def workspace():
    """Return the colcon workspace of the session's build (build/, install/, log/)."""
    if not launch_support.command('colcon'):
        pytest.skip('colcon is not installed (pip install colcon-common-extensions)')
    return launch_support.colcon_install().parent


def _colcon(workspace, *arguments) -> subprocess.CompletedProcess:
    return subprocess.run(
        [launch_support.command('colcon'), '--log-base', str(workspace / 'log'), *arguments],
        cwd=workspace, capture_output=True, text=True, timeout=600)


def test_colcon_test_runs_pytest_and_test_result_counts_the_tests(workspace):
    tested = _colcon(workspace, 'test', '--base-paths', str(launch_support.REPO_ROOT),
                     '--packages-select', 'liver_landmarks',
                     '--build-base', str(workspace / 'build'),
                     '--install-base', str(workspace / 'install'),
                     '--return-code-on-test-failure', '--event-handlers', 'console_direct+',
                     '--pytest-args', *SELECTED)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert (workspace / 'build' / 'liver_landmarks' / 'pytest.xml').is_file()
    result = _colcon(workspace, 'test-result', '--test-result-base', str(workspace / 'build'),
                     '--all')
    summary = re.search(r'Summary: (\d+) tests?, (\d+) errors?, (\d+) failures?, (\d+) skipped',
                        result.stdout)
    assert summary, result.stdout + result.stderr
    # pytest's own closing line, printed through colcon: what test-result must count.
    ran = re.search(r'=+ (\d+) passed', tested.stdout)
    assert ran, tested.stdout
    expected = int(ran.group(1))
    assert expected >= len(SELECTED)
    assert tuple(map(int, summary.groups())) == (expected, 0, 0, 0)

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""What the launch tests share: a colcon install of this package, a model, the ``ros2`` CLI.

launch_ros finds a node's executable only in a colcon install
(``install/liver_landmarks/lib/liver_landmarks/segmentation_node``), never in a pip
install, so the launch tests build the package with colcon once per test session into
a temporary folder (the repository stays clean) and put that install first in this
process's environment, as ``source install/setup.bash`` does for a user. The launch
files, the node and the ``ros2`` commands the tests run all come from that install.

launch_testing modules cannot take pytest fixtures, so the random model and the real
sample frame are made here too, once per session.
"""

import atexit
import functools
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tempfile

from liver_landmarks_tools.support.data import P2ILF_FRAME

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The real P2ILF frame (test data only).
SAMPLE_FRAME = P2ILF_FRAME
#: The venv's console scripts (colcon, ros2), whether or not the venv is activated.
_BIN = Path(sys.executable).parent


def missing_launch_system() -> str:
    """Return why the launch tests cannot run here, or '' when they can."""
    for module in ('launch', 'launch_ros', 'launch_testing', 'ros2cli'):
        try:
            __import__(module)
        except ImportError:
            return (f'{module} is not importable: install the launch wheels (scripts/setup.sh '
                    'does when ../shared/wheels/ros2_launch_cli exists) or source a ROS 2 '
                    'distro')
    if not command('colcon'):
        return 'colcon is not installed (pip install colcon-common-extensions)'
    return ''


def command(name: str) -> str:
    local = _BIN / name
    return str(local) if local.is_file() else (shutil.which(name) or '')


def _temporary_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.lru_cache(maxsize=None)
def colcon_install() -> Path:
    """Build this package with colcon, source its install into ``os.environ``, return it."""
    workspace = _temporary_folder('liver_landmarks_colcon_')
    # The wheels keep their ament index in the venv; a distro's setup.bash sets this.
    os.environ.setdefault('AMENT_PREFIX_PATH', sys.prefix)
    build = subprocess.run(
        [command('colcon'), '--log-base', str(workspace / 'log'), 'build',
         '--base-paths', str(REPO_ROOT), '--packages-select', 'liver_landmarks',
         '--build-base', str(workspace / 'build'), '--install-base', str(workspace / 'install')],
        cwd=workspace, capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        raise RuntimeError(f'colcon build failed:\n{build.stdout}\n{build.stderr}')
    install = workspace / 'install'
    sourced = subprocess.run(
        ['bash', '-c', f'source "{install}/setup.bash" && env -0'],
        capture_output=True, text=True, check=True, timeout=60)
    environment = dict(line.split('=', 1) for line in sourced.stdout.split('\0') if '=' in line)
    for name in ('AMENT_PREFIX_PATH', 'COLCON_PREFIX_PATH', 'PYTHONPATH', 'PATH'):
        if name in environment:
            os.environ[name] = environment[name]
    return install


def skip_unless_ready(needs_frame: bool = True):
    """Skip the calling test module when the launch system or the sample frame is missing."""
    import pytest

    reason = missing_launch_system()
    if not reason and needs_frame and sample_frame() is None:
        reason = f'real sample frame not found at {SAMPLE_FRAME}'
    if reason:
        pytest.skip(reason, allow_module_level=True)


def include_installed(name: str, **arguments):
    """Include an installed launch file with ``arguments``, as ``ros2 launch`` would."""
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    return IncludeLaunchDescription(PythonLaunchDescriptionSource(installed_launch_file(name)),
                                    launch_arguments=arguments.items())


def test_description(*actions):
    """Return a launch_testing description: ``actions``, then ReadyToTest.

    Launch escalates its Ctrl-C to SIGTERM and SIGKILL after 5 s each; on a loaded
    two-core runner a node still finishing a full-HD frame and unloading torch needs
    longer, and a killed node would hide whether its own shutdown is clean.
    """
    from launch import LaunchDescription
    from launch.actions import SetLaunchConfiguration
    import launch_testing.actions

    return LaunchDescription([SetLaunchConfiguration('sigterm_timeout', '30'), *actions,
                              launch_testing.actions.ReadyToTest()])


def installed_launch_file(name: str) -> str:
    """Path of a launch file in the colcon install's share folder."""
    from ament_index_python.packages import get_package_share_directory

    colcon_install()
    return os.path.join(get_package_share_directory('liver_landmarks'), 'launch', name)


@functools.lru_cache(maxsize=None)
def random_model_card() -> Path:
    """Card of the suite's small deterministic random model, saved once per session."""
    from liver_landmarks_tools.support.models import make_random_model_artifact, TINY_ENCODER

    return make_random_model_artifact(_temporary_folder('liver_landmarks_model_'),
                                      architecture='unet', encoder=TINY_ENCODER, seed=0)


@functools.lru_cache(maxsize=None)
def sample_frame():
    """Return the real P2ILF frame as an RGB array (None when the shared data is absent)."""
    import cv2

    if not SAMPLE_FRAME.is_file():
        return None
    return cv2.cvtColor(cv2.imread(str(SAMPLE_FRAME), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def ros2(*arguments, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run the ``ros2`` command line as a user types it, without the daemon.

    ``--no-daemon`` keeps the test from leaving a ``_ros2_daemon`` behind; the spin
    time gives this fresh participant time to discover the node.
    """
    typed = [command('ros2'), *arguments]
    if arguments[0] in ('param', 'lifecycle', 'node', 'service'):
        typed += ['--no-daemon', '--spin-time', '5']
    return subprocess.run(typed, capture_output=True, text=True, timeout=timeout)


def publish_until_answered(client, image, keys, attempts: int = 4, timeout: float = 30.0):
    """Publish ``image`` until its outputs ``keys`` come back; return (stamp, outputs).

    The node's image subscription is best effort (a camera's choice), so a frame sent
    just after discovery can be lost; the next one is not.
    """
    for _ in range(attempts):
        stamp = client.publish_frame(image, 'rgb8', frame_id='laparoscope')
        outputs = client.wait_for_outputs(stamp, keys=keys, timeout=timeout)
        if outputs is not None:
            return stamp, outputs
    return None, None

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Keep DDS on this host for tests, demos and benchmarks.

Fast DDS multicasts discovery on every interface by default. Every process of this
project that starts rclpy for a test, a demo or a benchmark calls
:func:`use_loopback_dds` before ``rclpy.init()``. The node itself never calls it:
a deployment keeps whatever DDS settings its robot uses.
"""

import os
from pathlib import Path

#: The Fast DDS profile that allows shared memory and UDP on ``lo`` only.
PROFILE_NAME = 'fastdds_localhost.xml'


def loopback_profile_path() -> Path:
    """Return the installed or source-tree path of the loopback Fast DDS profile."""
    source_tree = Path(__file__).resolve().parents[2] / 'config' / PROFILE_NAME
    if source_tree.is_file():
        return source_tree
    try:
        from ament_index_python.packages import get_package_share_directory
        installed = Path(get_package_share_directory('liver_landmarks')) / 'config' / PROFILE_NAME
    except Exception:  # noqa: BLE001 - no ament index: only the source tree is possible
        installed = None
    if installed is not None and installed.is_file():
        return installed
    raise FileNotFoundError(
        f'cannot find config/{PROFILE_NAME} in the source tree ({source_tree}) or in the '
        'installed share directory of liver_landmarks: reinstall the package')


def loopback_environment() -> dict:
    """Return the environment variables that keep DDS discovery and traffic on loopback."""
    environment = {
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
        'RMW_IMPLEMENTATION': 'rmw_fastrtps_cpp',
        'FASTDDS_DEFAULT_PROFILES_FILE': str(loopback_profile_path()),
    }
    # Humble reads only ROS_LOCALHOST_ONLY. Jazzy still honours it, over the range, and
    # then replaces the profile's transports with UDP alone, on which large best-effort
    # frames are lost; so it is set for Humble only.
    if os.environ.get('ROS_DISTRO') == 'humble':
        environment['ROS_LOCALHOST_ONLY'] = '1'
    return environment


def use_loopback_dds(environ=None) -> dict:
    """Set the loopback DDS variables in ``environ`` (default ``os.environ``) and return it.

    Must run before the first ``rclpy.init()`` of the process; child processes
    inherit the variables.
    """
    if environ is None:
        environ = os.environ
    environ.update(loopback_environment())
    return environ

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Keep DDS on this host for tests, demos and benchmarks.

Fast DDS multicasts discovery on every interface by default. Every process of this
project that starts rclpy for a test, a demo or a benchmark calls
:func:`use_loopback_dds` before ``rclpy.init()``. The node itself never calls it:
a deployment keeps whatever DDS settings its robot uses.
"""

import importlib.util
import os
from pathlib import Path

#: The Fast DDS profile that allows shared memory and UDP on ``lo`` only.
PROFILE_NAME = 'fastdds_localhost.xml'

#: The variable each Fast DDS major version reads its XML profiles file from. 2.x
#: (Humble, Jazzy) knows only the first; 3.x (Kilted on) reads the second, and its
#: rmw_fastrtps still loads the first too but warns that it is deprecated.
PROFILES_FILE_VARIABLES = {2: 'FASTRTPS_DEFAULT_PROFILES_FILE',
                           3: 'FASTDDS_DEFAULT_PROFILES_FILE'}

#: The ROS 2 distros whose rmw_fastrtps is built on Fast DDS 2.x.
FAST_DDS_2_DISTROS = frozenset({'foxy', 'galactic', 'humble', 'iron', 'jazzy'})

#: File names of the Fast DDS library, per major version.
_LIBRARY_PATTERNS = {2: 'libfastrtps.so.2*', 3: 'libfastdds.so.3*'}


def loopback_profile_path() -> Path:
    """Return the installed or source-tree path of the loopback Fast DDS profile."""
    source_tree = Path(__file__).resolve().parents[3] / 'config' / PROFILE_NAME
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


def fast_dds_library() -> Path | None:
    """Return the Fast DDS library beside the ``rclpy`` this interpreter would import.

    It is looked for in the ``lib`` folders above that ``rclpy`` (a distro's prefix, or
    the virtual environment that holds ROS 2 from Python wheels), without importing it.
    """
    spec = importlib.util.find_spec('rclpy')
    if spec is None or not spec.origin:
        return None
    for folder in Path(spec.origin).resolve().parents:
        if folder.name == 'lib':
            for pattern in _LIBRARY_PATTERNS.values():
                found = sorted(folder.glob(pattern))
                if found:
                    return found[0]
    return None


def fast_dds_major_version(environ=None) -> int | None:
    """Return the major version of the Fast DDS that rclpy will load, None if unknown.

    From the library's file name; failing that, a sourced distro names itself in
    ``ROS_DISTRO``.
    """
    library = fast_dds_library()
    if library is not None:
        return next(major for major, pattern in _LIBRARY_PATTERNS.items()
                    if library.match(pattern))
    distro = (os.environ if environ is None else environ).get('ROS_DISTRO')
    if distro:
        return 2 if distro in FAST_DDS_2_DISTROS else 3
    return None


def profiles_file_variables(environ=None) -> tuple[str, ...]:
    """Return the variables that make the installed Fast DDS load the loopback profile.

    A profile named in a variable the library does not read is silently ignored, and
    the participants fall back to the built-in transports: their small shared-memory
    segment loses most large best-effort samples. When the version is unknown both are
    named, so the profile loads at the cost of a deprecation warning on 3.x.
    """
    major = fast_dds_major_version(environ)
    if major in PROFILES_FILE_VARIABLES:
        return (PROFILES_FILE_VARIABLES[major],)
    return tuple(PROFILES_FILE_VARIABLES.values())


def loopback_environment(environ=None) -> dict:
    """Return the environment variables that keep DDS discovery and traffic on loopback.

    ``ROS_LOCALHOST_ONLY`` is deliberately not set: Humble's rmw_fastrtps answers it by
    replacing the profile's transports with UDP on ``lo`` and a default-sized shared
    memory segment, on which large best-effort frames are lost. The profile alone keeps
    Humble's traffic on ``lo``; Jazzy and later also read the discovery range.
    """
    environment = {
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
        'RMW_IMPLEMENTATION': 'rmw_fastrtps_cpp',
    }
    profile = str(loopback_profile_path())
    for variable in profiles_file_variables(environ):
        environment[variable] = profile
    return environment


def use_loopback_dds(environ=None) -> dict:
    """Set the loopback DDS variables in ``environ`` (default ``os.environ``) and return it.

    Must run before the first ``rclpy.init()`` of the process; child processes
    inherit the variables.
    """
    if environ is None:
        environ = os.environ
    environment = loopback_environment(environ)
    # A profile or localhost-only switch inherited from the caller's shell would be read
    # alongside (or, on Humble, instead of) the loopback profile's transports.
    for variable in ('ROS_LOCALHOST_ONLY', *PROFILES_FILE_VARIABLES.values()):
        if variable not in environment:
            environ.pop(variable, None)
    environ.update(environment)
    return environ

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The loopback Fast DDS profile is really in force, on whichever distro runs the suite.

Fast DDS ignores a profile named in a variable its version does not read, silently, and
falls back to its built-in transports; large best-effort frames are then lost. A
participant's shared-memory segment shows which transports it got: the profile's
segment size, or the built-in default.
"""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

from liver_landmarks_tools.support import loopback
import pytest

pytestmark = pytest.mark.dds

NAMESPACE = {'dds': 'http://www.eprosima.com'}

# Fast DDS maps a participant's shared-memory segment as /dev/shm/fastrtps_<id> (2.x)
# or /dev/shm/fastdds_<id> (3.x); its ports are ..._port<number>.
_SEGMENT_SIZES = r"""
import re
import rclpy
rclpy.init()
node = rclpy.create_node('loopback_profile_probe')
sizes = {}
with open('/proc/self/maps') as maps:
    for line in maps:
        fields = line.split()
        if len(fields) >= 6 and re.fullmatch(r'/dev/shm/fast(rtps|dds)_[0-9a-f]+', fields[5]):
            start, end = (int(address, 16) for address in fields[0].split('-'))
            sizes[fields[5]] = sizes.get(fields[5], 0) + end - start
print(max(sizes.values(), default=0))
node.destroy_node()
rclpy.shutdown()
"""


def _profile_segment_size() -> int:
    profile = ElementTree.parse(loopback.loopback_profile_path())
    sizes = [int(element.text) for element in profile.iterfind('.//dds:segment_size', NAMESPACE)]
    assert len(sizes) == 1
    return sizes[0]


def test_the_installed_fast_dds_reads_the_loopback_profile():
    """A participant started with the loopback variables gets the profile's segment."""
    env = loopback.use_loopback_dds(dict(os.environ))
    result = subprocess.run([sys.executable, '-c', _SEGMENT_SIZES], env=env, text=True,
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    largest_segment = int(result.stdout.split()[-1])
    assert largest_segment >= _profile_segment_size(), (
        f'largest Fast DDS shared-memory segment is {largest_segment} bytes: the profile '
        f'named in {loopback.profiles_file_variables()} was not loaded')
    assert 'deprecated' not in result.stderr


def test_the_profile_variable_matches_the_installed_fast_dds():
    major = loopback.fast_dds_major_version()
    assert major in loopback.PROFILES_FILE_VARIABLES, 'no Fast DDS found next to rclpy'
    assert loopback.profiles_file_variables() == (loopback.PROFILES_FILE_VARIABLES[major],)
    # The library reads its profiles file from the variable of that name.
    names = set(re.findall(rb'FAST(?:RTPS|DDS)_DEFAULT_PROFILES_FILE',
                           loopback.fast_dds_library().read_bytes()))
    assert names == {loopback.PROFILES_FILE_VARIABLES[major].encode()}


def test_inherited_settings_that_would_displace_the_profile_are_dropped():
    other = {2: 3, 3: 2}.get(loopback.fast_dds_major_version(), 2)
    inherited = {'ROS_LOCALHOST_ONLY': '1',
                 loopback.PROFILES_FILE_VARIABLES[other]: '/elsewhere/profile.xml',
                 'ROS_DOMAIN_ID': '7'}
    env = loopback.use_loopback_dds(dict(inherited))
    assert 'ROS_LOCALHOST_ONLY' not in env
    assert env['ROS_DOMAIN_ID'] == '7'
    assert env['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST'
    profiles = {name: env[name] for name in loopback.PROFILES_FILE_VARIABLES.values()
                if name in env}
    assert set(profiles.values()) == {str(loopback.loopback_profile_path())}

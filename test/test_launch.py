# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The launch files' declared arguments and structure, without starting anything.

``launch`` and ``launch_ros`` come with a ROS 2 install or from the launch wheels that
scripts/setup.sh installs; without them these tests skip. test_launch_segment.py,
test_launch_replay.py, test_launch_stereo.py and test_launch_ros2_cli.py run the
launch files from a colcon install.
"""

import importlib.util
from pathlib import Path

import pytest

_REASON = ('the launch wheels (or a ROS 2 distro) are not installed: scripts/setup.sh '
           'installs them from ../shared/wheels/ros2_launch_cli')
launch_ros = pytest.importorskip('launch_ros', reason=_REASON)
launch = pytest.importorskip('launch', reason=_REASON)

LAUNCH_DIR = Path(__file__).resolve().parents[1] / 'launch'


def _load(name):
    spec = importlib.util.spec_from_file_location(name.replace('.', '_'), LAUNCH_DIR / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def _declared(description):
    from launch.actions import DeclareLaunchArgument

    return {entity.name for entity in description.entities
            if isinstance(entity, DeclareLaunchArgument)}


def test_segment_launch_declares_its_arguments():
    description = _load('segment.launch.py')
    assert _declared(description) == {'image_topic', 'model_card', 'backend', 'params_file',
                                      'use_sim_time', 'namespace', 'autostart'}


def test_replay_launch_runs_the_bag_replay_and_the_node_on_sim_time():
    from launch.actions import ExecuteProcess, IncludeLaunchDescription

    description = _load('replay.launch.py')
    assert {'bag', 'rate', 'wait_for_subscribers'} <= _declared(description)
    kinds = [type(entity) for entity in description.entities]
    assert ExecuteProcess in kinds and IncludeLaunchDescription in kinds
    include = next(entity for entity in description.entities
                   if isinstance(entity, IncludeLaunchDescription))
    arguments = dict(include.launch_arguments)
    assert arguments['use_sim_time'] == 'true'


def test_stereo_launch_includes_the_single_camera_launch_once_per_namespace():
    from launch.actions import GroupAction, IncludeLaunchDescription

    description = _load('stereo.launch.py')
    assert _declared(description) == {'left_image_topic', 'right_image_topic'}
    groups = [entity for entity in description.entities if isinstance(entity, GroupAction)]
    includes = [action for group in groups for action in group.get_sub_entities()
                if isinstance(action, IncludeLaunchDescription)]
    assert sorted(dict(include.launch_arguments)['namespace'] for include in includes) == [
        'left', 'right']

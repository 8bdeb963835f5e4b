# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""launch/segment.launch.py and launch/replay.launch.py, where ROS 2's launch_ros exists.

``launch`` and ``launch_ros`` come with a ROS 2 install (Humble, Jazzy, Kilted) and from
no package registry here; without them these tests skip, and test_node_dds.py starts
the node with the same command line the launch file produces.
"""

import importlib.util
from pathlib import Path

import pytest

launch_ros = pytest.importorskip(
    'launch_ros', reason='launch_ros is not importable: it ships only with a ROS 2 install '
    '(source /opt/ros/<distro>/setup.bash); test_node_dds.py covers the node command line')
launch = pytest.importorskip('launch', reason='launch ships only with a ROS 2 install')

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


def _installed() -> bool:
    try:
        from ament_index_python.packages import get_package_share_directory
        get_package_share_directory('liver_landmarks')
    except Exception:  # noqa: BLE001 - any failure means: not in an ament index
        return False
    return True


def test_segment_launch_declares_its_arguments():
    description = _load('segment.launch.py')
    assert _declared(description) == {'image_topic', 'model_card', 'backend', 'params_file',
                                      'use_sim_time', 'namespace'}


def test_replay_launch_runs_the_bag_replay_and_the_node_on_sim_time():
    from launch.actions import ExecuteProcess, IncludeLaunchDescription

    description = _load('replay.launch.py')
    assert {'bag', 'rate'} <= _declared(description)
    kinds = [type(entity) for entity in description.entities]
    assert ExecuteProcess in kinds and IncludeLaunchDescription in kinds
    include = next(entity for entity in description.entities
                   if isinstance(entity, IncludeLaunchDescription))
    arguments = dict(include.launch_arguments)
    assert arguments['use_sim_time'] == 'true'


def test_segment_launch_brings_the_node_to_active(random_model_card):
    if not _installed():
        pytest.skip('liver_landmarks is not in the ament index: build it with colcon and '
                    'source install/setup.bash to run the launch file end to end')
    import threading

    from launch import LaunchDescription, LaunchService
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    from liver_landmarks_tools.support.node_client import NodeClient

    service = LaunchService()
    service.include_launch_description(LaunchDescription([IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(LAUNCH_DIR / 'segment.launch.py')),
        launch_arguments={'model_card': str(random_model_card), 'backend': 'torch',
                          'image_topic': '/launch_test/image'}.items())]))
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    client = NodeClient('/segmentation_node', image_topic='/launch_test/image',
                        keys=('polylines',))
    try:
        assert client.wait_until_connected(timeout=120.0)
        assert client.get_state() == 'active'
    finally:
        client.close()
        service.shutdown()
        runner.join(timeout=30.0)

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Start ``segmentation_node`` with ``config/segment.yaml`` on a live or replayed camera.

    ros2 launch liver_landmarks segment.launch.py image_topic:=/camera/image

Arguments: image_topic, model_card, backend, params_file, use_sim_time, namespace,
autostart. model_card, backend and autostart override the params file only when given.

The node is started as a ``LifecycleNode`` action, so launch knows it is managed: its
transitions show in the launch log and ``ros2 lifecycle`` drives it. With autostart
(the params file's default) it walks itself to active, so no lifecycle manager is
needed; with ``autostart:=false`` it waits unconfigured for one. Needs the ``launch``
and ``launch_ros`` packages: a ROS 2 install, or the launch wheels that
``scripts/setup.sh`` installs (README, "Building with colcon").
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare

#: (name, default, description) of every argument.
ARGUMENTS = (
    ('image_topic', '/camera/image', 'sensor_msgs/Image topic to segment'),
    ('model_card', '', 'model card JSON; empty: model_card from params_file (default: the '
                       'shipped model)'),
    ('backend', '', 'auto, torch, openvino or tensorrt; empty: backend from params_file'),
    ('params_file', PathJoinSubstitution([FindPackageShare('liver_landmarks'), 'config',
                                          'segment.yaml']), 'node parameters (YAML)'),
    ('use_sim_time', 'false', 'true during bag replay: frame ages use /clock'),
    ('namespace', '', 'namespace of the node and its topics'),
    ('autostart', '', 'true: the node configures and activates itself; false: it waits '
                      'unconfigured for a lifecycle manager; empty: params_file decides'),
)


def _is_true(text: str) -> bool:
    return text.strip().lower() in ('true', '1', 'yes', 'on')


def _segmentation_node(context):
    """Build the node action once the argument values are known."""
    overrides = {'use_sim_time': _is_true(LaunchConfiguration('use_sim_time').perform(context))}
    for name in ('model_card', 'backend'):
        value = LaunchConfiguration(name).perform(context)
        if value:
            overrides[name] = value
    autostart = LaunchConfiguration('autostart').perform(context)
    if autostart:
        overrides['autostart'] = _is_true(autostart)
    return [LifecycleNode(
        package='liver_landmarks',
        executable='segmentation_node',
        name='segmentation_node',
        namespace=LaunchConfiguration('namespace'),
        parameters=[LaunchConfiguration('params_file'), overrides],
        remappings=[('image', LaunchConfiguration('image_topic'))],
        output='screen',
        emulate_tty=True,
    )]


def generate_launch_description():
    """Declare the arguments and the node."""
    return LaunchDescription([
        *(DeclareLaunchArgument(name, default_value=default, description=description)
          for name, default, description in ARGUMENTS),
        OpaqueFunction(function=_segmentation_node),
    ])

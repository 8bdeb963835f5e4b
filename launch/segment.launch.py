# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Start ``segmentation_node`` with ``config/segment.yaml`` on a live or replayed camera.

    ros2 launch liver_landmarks segment.launch.py image_topic:=/camera/image

Arguments: image_topic, model_card, backend, params_file, use_sim_time, namespace.
model_card and backend override the params file only when given. The node walks its
own lifecycle to active (``autostart``), so no lifecycle manager is needed. Needs the
``launch`` and ``launch_ros`` packages of a ROS 2 install (Humble, Jazzy, Kilted).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
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
    return [Node(
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

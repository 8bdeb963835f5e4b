# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
r"""Segment both cameras of a stereo laparoscope: one node per camera, each in its namespace.

    ros2 launch liver_landmarks stereo.launch.py left_image_topic:=/stereo/left/image_raw \
        right_image_topic:=/stereo/right/image_raw

Includes segment.launch.py twice, with namespaces ``left`` and ``right``, so the nodes
are ``/left/segmentation_node`` and ``/right/segmentation_node`` and their outputs
``/left/segmentation_node/polylines`` etc. Both load the same model and parameters;
each has its own lifecycle, parameters and worker, so one camera's stall never holds
the other. segment.launch.py's other arguments, given on the command line, apply to
both nodes: model_card, backend, params_file, use_sim_time, autostart.
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration

#: Namespace of each camera's node -> its default image topic.
CAMERAS = (('left', '/stereo/left/image_raw'), ('right', '/stereo/right/image_raw'))


def generate_launch_description():
    """Declare the arguments and include the single-camera launch file once per camera."""
    segment_launch = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                  'segment.launch.py')
    declared = [DeclareLaunchArgument(f'{side}_image_topic', default_value=topic,
                                      description=f'sensor_msgs/Image topic of the {side} '
                                                  'camera')
                for side, topic in CAMERAS]
    cameras = []
    for side, _ in CAMERAS:
        arguments = {'namespace': side,
                     'image_topic': LaunchConfiguration(f'{side}_image_topic')}
        # Scoped: each camera's namespace and topic stay in its group; forwarding: the
        # command line's other arguments reach both includes.
        cameras.append(GroupAction([IncludeLaunchDescription(
            PythonLaunchDescriptionSource(segment_launch),
            launch_arguments=arguments.items())], scoped=True, forwarding=True))
    return LaunchDescription([*declared, *cameras])

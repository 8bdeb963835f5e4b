# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Replay a rosbag2 recording into ``segmentation_node`` running on the bag's clock.

    ros2 launch liver_landmarks replay.launch.py bag:=/path/to/bag rate:=1.0

The replay waits until the node subscribes to the image topic (once its model is
loaded and it is active), so the first frames are not lost to the model's start-up.

Runs ``python -m liver_landmarks bag replay BAG --rate R`` (which also publishes
``/clock``) with the interpreter that runs launch, so a virtualenv's ``ros2 launch``
replays with that virtualenv's packages, and includes segment.launch.py with
``use_sim_time`` true, so frame ages are judged against the recording's time. Other
arguments pass through: image_topic, model_card, backend, namespace, autostart.
"""

import os
import sys

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration

#: (name, default, description); None marks a required argument.
ARGUMENTS = (
    ('bag', None, 'rosbag2 directory or .mcap/.db3 file to replay'),
    ('rate', '1.0', 'playback speed factor'),
    ('wait_for_subscribers', '60.0', 'seconds the replay waits for the node to subscribe '
                                     '(it does once its model is loaded); 0: start at once'),
    ('image_topic', '/camera/image', 'image topic recorded in the bag'),
    ('model_card', '', 'model card JSON; empty: the params file decides'),
    ('backend', '', 'inference backend; empty: the params file decides'),
    ('namespace', '', 'namespace of the node and its topics'),
    ('autostart', '', 'false: the node waits for a lifecycle manager; empty: params file'),
)
#: Arguments of segment.launch.py that replay passes on unchanged.
PASSED_ON = ('image_topic', 'model_card', 'backend', 'namespace', 'autostart')


def generate_launch_description():
    """Declare the arguments, the replay process and the node on simulated time."""
    declared = []
    for name, default, description in ARGUMENTS:
        if default is None:
            declared.append(DeclareLaunchArgument(name, description=description))
        else:
            declared.append(DeclareLaunchArgument(name, default_value=default,
                                                  description=description))
    segment_launch = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                  'segment.launch.py')
    node_arguments = {name: LaunchConfiguration(name) for name in PASSED_ON}
    node_arguments['use_sim_time'] = 'true'
    return LaunchDescription([
        *declared,
        ExecuteProcess(
            cmd=[sys.executable, '-m', 'liver_landmarks', 'bag', 'replay',
                 LaunchConfiguration('bag'), '--rate', LaunchConfiguration('rate'),
                 '--wait-for-subscribers', LaunchConfiguration('wait_for_subscribers')],
            name='bag_replay', output='screen'),
        IncludeLaunchDescription(PythonLaunchDescriptionSource(segment_launch),
                                 launch_arguments=node_arguments.items()),
    ])

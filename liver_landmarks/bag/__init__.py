# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""rosbag2 tools without a ROS distro: replay, offline processing, info, report, recorder.

The no-distro path beside ``ros2 bag``: ``python -m liver_landmarks bag ACTION``
(see docs/bags.md). Reading and writing go through ``rosbags``; replay and the
recorder use rclpy.
"""

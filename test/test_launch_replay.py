# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``ros2 launch liver_landmarks replay.launch.py`` on the shipped demo bag.

The installed launch file replays ``share/liver_landmarks/data/demo_bag`` with
``/clock`` and runs the node on simulated time; every output must carry the header
stamp of a frame recorded in the bag, and the replay must finish by itself.
"""

import os
from pathlib import Path
import time
import unittest

import pytest

launch_testing = pytest.importorskip(
    'launch_testing', reason='the launch wheels (or a ROS 2 distro) are not installed: '
    'scripts/setup.sh installs them from ../shared/wheels/ros2_launch_cli')

import launch_support  # noqa: E402, I100 - after the skip
import launch_testing.asserts  # noqa: E402
from liver_landmarks_tools.support.node_client import NodeClient  # noqa: E402
from rosbags.highlevel import AnyReader  # noqa: E402

launch_support.skip_unless_ready(needs_frame=False)

NODE = '/segmentation_node'
KEYS = ('labels', 'polylines')


def _demo_bag() -> str:
    return os.path.join(os.path.dirname(launch_support.installed_launch_file('replay.launch.py')),
                        os.pardir, 'data', 'demo_bag')


def _recorded_stamps(bag: str) -> set:
    """Header stamps (ns) of the bag's image messages."""
    with AnyReader([Path(bag)]) as reader:
        images = [connection for connection in reader.connections
                  if connection.msgtype == 'sensor_msgs/msg/Image']
        return {msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
                for msg in (reader.deserialize(raw, connection.msgtype)
                            for connection, _, raw in reader.messages(connections=images))}


@pytest.mark.launch_test
def generate_test_description():
    """Replay the demo bag through the installed replay.launch.py."""
    bag = _demo_bag()
    replay = launch_support.include_installed(
        'replay.launch.py', bag=bag, model_card=str(launch_support.random_model_card()),
        backend='torch')
    return launch_support.test_description(replay), {'bag': bag}


class TestReplayLaunch(unittest.TestCase):
    """While the launch runs."""

    def test_outputs_carry_the_recorded_stamps(self, proc_output, bag):
        client = NodeClient(NODE, keys=KEYS)
        try:
            # The replay starts once the node subscribes, so the client must be listening
            # by then: wait for the node's outputs to be discoverable first.
            deadline = time.monotonic() + 180.0
            while not all(sub.get_publisher_count() > 0 for sub in client.output_subscriptions):
                self.assertLess(time.monotonic(), deadline, 'the node never published')
                time.sleep(0.1)
            proc_output.assertWaitFor('published ', timeout=180, stream='stdout')
            self.assertTrue(client.wait(lambda: client.output_stamps(), 30.0),
                            'no output came back for the replayed frames')
            recorded = _recorded_stamps(bag)
            self.assertTrue(set(client.output_stamps()) <= recorded)
        finally:
            client.close()


@launch_testing.post_shutdown_test()
class TestReplayLaunchShutdown(unittest.TestCase):
    """After the launch ends."""

    def test_replay_and_node_exit_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)

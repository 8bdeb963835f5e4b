# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``ros2 launch liver_landmarks stereo.launch.py``: a stereo laparoscope's two cameras.

One launch starts ``/left/segmentation_node`` and ``/right/segmentation_node``; each
answers the frames of its own camera only, on its own namespaced topics, and each is
driven through its own lifecycle.
"""

import unittest

import pytest

launch_testing = pytest.importorskip(
    'launch_testing', reason='the launch wheels (or a ROS 2 distro) are not installed: '
    'scripts/setup.sh installs them from ../shared/wheels/ros2_launch_cli')

import launch_support  # noqa: E402, I100 - after the skip
import launch_testing.asserts  # noqa: E402
from liver_landmarks_tools.support.node_client import NodeClient  # noqa: E402

launch_support.skip_unless_ready()

CAMERAS = {'left': '/stereo/left/image_raw', 'right': '/stereo/right/image_raw'}
KEYS = ('labels', 'polylines')


@pytest.mark.launch_test
def generate_test_description():
    """Start the installed stereo.launch.py with the small random model."""
    stereo = launch_support.include_installed(
        'stereo.launch.py', model_card=str(launch_support.random_model_card()),
        backend='torch')
    return launch_support.test_description(stereo), {}


class TestStereoLaunch(unittest.TestCase):
    """While the launch runs."""

    @classmethod
    def setUpClass(cls):
        cls.clients = {side: NodeClient(f'/{side}/segmentation_node', image_topic=topic,
                                        keys=KEYS, name=f'{side}_client')
                       for side, topic in CAMERAS.items()}

    @classmethod
    def tearDownClass(cls):
        for client in cls.clients.values():
            client.close()

    def test_each_camera_is_answered_by_its_own_node(self):
        frame = launch_support.sample_frame()
        for client in self.clients.values():
            self.assertTrue(client.wait_until_connected(timeout=240.0))
        stamps = {}
        for side, client in self.clients.items():
            stamps[side], outputs = launch_support.publish_until_answered(client, frame, KEYS)
            self.assertIsNotNone(outputs, f'/{side}/segmentation_node did not answer')
            self.assertEqual((outputs['labels'].height, outputs['labels'].width),
                             frame.shape[:2])
        # A frame reaches only its own camera's node: the other node's outputs never
        # carry its stamp.
        self.assertNotIn(stamps['left'], self.clients['right'].output_stamps())
        self.assertNotIn(stamps['right'], self.clients['left'].output_stamps())

    def test_each_node_has_its_own_lifecycle(self):
        for client in self.clients.values():
            self.assertTrue(client.wait_until_connected(timeout=240.0))
        left, right = self.clients['left'], self.clients['right']
        self.assertTrue(left.change_state('deactivate'))
        try:
            self.assertEqual(left.get_state(), 'inactive')
            self.assertEqual(right.get_state(), 'active')
        finally:
            self.assertTrue(left.change_state('activate'))


@launch_testing.post_shutdown_test()
class TestStereoLaunchShutdown(unittest.TestCase):
    """After launch's Ctrl-C."""

    def test_both_nodes_exit_cleanly(self, proc_info):
        self.assertEqual(len(proc_info.process_names()), 2)
        launch_testing.asserts.assertExitCodes(proc_info)

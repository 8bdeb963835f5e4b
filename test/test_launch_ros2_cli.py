# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The ``ros2 param`` and ``ros2 lifecycle`` commands on a node started by segment.launch.py.

The commands are the installed ``ros2`` command line run exactly as an operator types
them; the node's answer is read from what it publishes for the next frame.
"""

import unittest

import pytest

launch_testing = pytest.importorskip(
    'launch_testing', reason='the launch wheels (or a ROS 2 distro) are not installed: '
    'scripts/setup.sh installs them from ../shared/wheels/ros2_launch_cli')

import launch_support  # noqa: E402, I100 - after the skip
import launch_testing.asserts  # noqa: E402
from liver_landmarks.ros.messages import cloud_to_polylines  # noqa: E402
from liver_landmarks_tools.support.node_client import NodeClient  # noqa: E402
import numpy as np  # noqa: E402

launch_support.skip_unless_ready()

IMAGE_TOPIC = '/cli_test/image'
NODE = '/segmentation_node'
KEYS = ('labels', 'polylines')


@pytest.mark.launch_test
def generate_test_description():
    """Start the installed segment.launch.py with the small random model."""
    segment = launch_support.include_installed(
        'segment.launch.py', model_card=str(launch_support.random_model_card()),
        backend='torch', image_topic=IMAGE_TOPIC)
    return launch_support.test_description(segment), {}


def _median_spacing(cloud) -> float:
    """Median distance between neighbouring points along the cloud's polylines."""
    steps = [np.linalg.norm(np.diff(points, axis=0), axis=1)
             for polylines in cloud_to_polylines(cloud).values()
             for points in polylines if len(points) >= 3]
    return float(np.median(np.concatenate(steps)))


class TestRos2CommandLine(unittest.TestCase):
    """``ros2 param set`` and ``ros2 lifecycle set`` while the launch runs."""

    @classmethod
    def setUpClass(cls):
        cls.client = NodeClient(NODE, image_topic=IMAGE_TOPIC, keys=KEYS)
        cls.frame = launch_support.sample_frame()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def _answer(self):
        self.assertTrue(self.client.wait_until_connected(timeout=180.0))
        _, outputs = launch_support.publish_until_answered(self.client, self.frame, KEYS)
        self.assertIsNotNone(outputs, 'the node did not answer a frame')
        return outputs

    def _ros2(self, *arguments) -> str:
        result = launch_support.ros2(*arguments)
        self.assertEqual(result.returncode, 0, f'ros2 {" ".join(arguments)}:\n'
                                               f'{result.stdout}\n{result.stderr}')
        return result.stdout

    def test_param_set_changes_the_next_frames_polylines(self):
        before = _median_spacing(self._answer()['polylines'])
        self.assertIn('Set parameter successful',
                      self._ros2('param', 'set', NODE, 'sample_step_px', '40.0'))
        self.assertIn('40.0', self._ros2('param', 'get', NODE, 'sample_step_px'))
        after = _median_spacing(self._answer()['polylines'])
        self.assertLess(before, 10.0)
        self.assertGreater(after, 20.0)
        # Out of range: refused with the reason, and the running value stays.
        refused = launch_support.ros2('param', 'set', NODE, 'sample_step_px', '-1.0')
        self.assertIn('Setting parameter failed', refused.stdout + refused.stderr)
        self.assertIn('40.0', self._ros2('param', 'get', NODE, 'sample_step_px'))
        self._ros2('param', 'set', NODE, 'sample_step_px', '5.0')

    def test_lifecycle_set_deactivates_and_activates(self):
        self._answer()
        self.assertIn('Transitioning successful',
                      self._ros2('lifecycle', 'set', NODE, 'deactivate'))
        self.assertIn('inactive', self._ros2('lifecycle', 'get', NODE))
        stamp = self.client.publish_frame(self.frame, 'rgb8')
        self.assertIsNone(self.client.wait_for_outputs(stamp, keys=KEYS, timeout=5.0),
                          'an inactive node published outputs')
        self.assertIn('Transitioning successful',
                      self._ros2('lifecycle', 'set', NODE, 'activate'))
        self.assertIn('active [3]', self._ros2('lifecycle', 'get', NODE))
        self._answer()


@launch_testing.post_shutdown_test()
class TestRos2CommandLineShutdown(unittest.TestCase):
    """After launch's Ctrl-C."""

    def test_every_process_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)

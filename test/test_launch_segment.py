# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``ros2 launch liver_landmarks segment.launch.py`` from a colcon install, end to end.

Shaped like ros2/demos' ``test_lifecycle.py``: launch_testing starts the installed
launch file, the test talks to the node over loopback DDS while it runs, and the
post-shutdown test checks that every process left cleanly on launch's Ctrl-C. The
real sample frame goes in; labels and polylines stamped with its header come out.
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

IMAGE_TOPIC = '/laparoscope/image_raw'
NODE = '/segmentation_node'


@pytest.mark.launch_test
def generate_test_description():
    """Start the installed segment.launch.py as a user would, with the small random model."""
    segment = launch_support.include_installed(
        'segment.launch.py', model_card=str(launch_support.random_model_card()),
        backend='torch', image_topic=IMAGE_TOPIC)
    return launch_support.test_description(segment), {}


class TestSegmentLaunch(unittest.TestCase):
    """While the launch runs."""

    @classmethod
    def setUpClass(cls):
        cls.client = NodeClient(NODE, image_topic=IMAGE_TOPIC, keys=('labels', 'polylines'))

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_node_walks_itself_to_active(self, proc_output):
        proc_output.assertWaitFor('active: segmenting ' + IMAGE_TOPIC, timeout=180)
        self.assertEqual(self.client.get_state(), 'active')

    def test_real_frame_gives_labels_and_polylines_stamped_with_its_header(self, proc_output):
        proc_output.assertWaitFor('active: segmenting', timeout=180)
        self.assertTrue(self.client.wait_until_connected(timeout=60.0))
        frame = launch_support.sample_frame()
        stamp, outputs = launch_support.publish_until_answered(
            self.client, frame, ('labels', 'polylines'))
        self.assertIsNotNone(outputs, 'no labels and polylines came back for the real frame')
        labels, cloud = outputs['labels'], outputs['polylines']
        height, width = frame.shape[:2]
        self.assertEqual((labels.height, labels.width, labels.encoding),
                         (height, width, 'mono8'))
        values = np.frombuffer(labels.data, dtype=np.uint8)
        self.assertTrue(set(np.unique(values)) <= {0, 1, 2, 3})
        for msg in (labels, cloud):
            self.assertEqual(msg.header.frame_id, 'laparoscope')
            self.assertEqual(msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec,
                             stamp)
        self.assertEqual([field.name for field in cloud.fields],
                         ['x', 'y', 'landmark', 'polyline'])
        for polylines in cloud_to_polylines(cloud).values():
            for points in polylines:
                self.assertTrue(np.all((points >= 0) & (points <= (width, height))))


@launch_testing.post_shutdown_test()
class TestSegmentLaunchShutdown(unittest.TestCase):
    """After launch's Ctrl-C."""

    def test_every_process_exits_cleanly(self, proc_info, proc_output):
        launch_testing.asserts.assertExitCodes(proc_info)
        for process_output in proc_output:
            self.assertNotIn('Traceback', process_output.text.decode(errors='replace'))

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Drive a ``SegmentationNode`` inside the test's own process, without DDS in between.

Frames are handed to the node's subscription callback directly (:func:`feed`), and the
tests wait on the node's own health counters, which count every frame the worker
finished: published or failed in a named stage.
"""

import time

from liver_landmarks.ros.image_conversion import numpy_to_image_msg
from liver_landmarks.ros.segmentation_node import SegmentationNode
from rclpy.parameter import Parameter


def make_node(context, card, node_name='segmentation_node', **overrides):
    """Build a node with the model ``card`` on PyTorch/CPU plus parameter ``overrides``.

    ``overrides`` may replace ``model_card`` itself, as the refusal tests do.
    """
    values = {'model_card': str(card), 'backend': 'torch', 'device': 'cpu', **overrides}
    return SegmentationNode(node_name, context=context, parameter_overrides=[
        Parameter(name, value=value) for name, value in values.items()])


def frame_message(node, image, encoding='rgb8'):
    """Return ``image`` as an Image message stamped now on ``node``'s clock."""
    message = numpy_to_image_msg(image, encoding)
    message.header.stamp = node.get_clock().now().to_msg()
    message.header.frame_id = 'camera'
    return message


def finished(counts) -> int:
    """Frames the worker is done with: published plus failed in any stage."""
    return counts['processed'] + sum(
        count for key, count in counts.items() if key.endswith('_errors'))


def wait_counts(node, predicate, timeout=120.0) -> dict:
    """Wait until ``predicate(counts)`` holds for the node's health counts; return them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = node.processor.health.counts()
        if predicate(counts):
            return counts
        time.sleep(0.02)
    raise AssertionError(
        f'counts never satisfied the condition: {node.processor.health.counts()}')


def feed(node, image, encoding='rgb8') -> dict:
    """Hand one frame to the node and wait until the worker is done with it."""
    done = finished(node.processor.health.counts())
    node.processor.submit(frame_message(node, image, encoding))
    return wait_counts(node, lambda counts: finished(counts) > done)

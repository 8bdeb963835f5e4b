# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Malformed and unusual images straight into the node's subscription callback.

test/test_node_dds.py sends the issue's list of bad inputs over DDS to a node process.
This module adds what that table leaves out, handing each message to the callback of a
real node in this process so that an exception escaping it would fail the test:
every encoding name of ``sensor_msgs/image_encodings`` that the node does not take,
header fields that promise gigabytes, 16-bit colour in big-endian order, ``is_bigendian``
set on 8-bit data, and a stream whose encoding and size change from frame to frame.
After each refused frame the next good one must be processed. Hypothesis then fuzzes
the callback itself: whatever the header fields say, it refuses with a known reason or
hands the worker exactly the pixels the buffer holds.
"""

from hypothesis import given, HealthCheck, settings, strategies as st
from liver_landmarks.calibration import calibration_frame as synthetic_frame
from liver_landmarks.ros.image_conversion import (
    COLOUR_ENCODINGS, decode_colour_frame, numpy_to_image_msg, PIXEL_FORMATS)
from liver_landmarks.ros.segmentation_node import SegmentationNode
from liver_landmarks_tools.support.inprocess_node import finished, wait_counts
from liver_landmarks_tools.support.node_client import NodeClient, pad_rows, ros_context
import numpy as np
import pytest
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

pytestmark = [pytest.mark.dds]

#: Every encoding named in sensor_msgs/image_encodings.hpp (ROS 2 Kilted).
ROS_ENCODINGS = (
    'rgb8', 'rgba8', 'rgb16', 'rgba16', 'bgr8', 'bgra8', 'bgr16', 'bgra16', 'mono8', 'mono16',
    '8UC1', '8UC2', '8UC3', '8UC4', '8SC1', '8SC2', '8SC3', '8SC4',
    '16UC1', '16UC2', '16UC3', '16UC4', '16SC1', '16SC2', '16SC3', '16SC4',
    '32SC1', '32SC2', '32SC3', '32SC4', '32FC1', '32FC2', '32FC3', '32FC4',
    '64FC1', '64FC2', '64FC3', '64FC4',
    'bayer_rggb8', 'bayer_bggr8', 'bayer_gbrg8', 'bayer_grbg8',
    'bayer_rggb16', 'bayer_bggr16', 'bayer_gbrg16', 'bayer_grbg16',
    'uyvy', 'yuv422', 'yuyv', 'yuv422_yuy2', 'nv12', 'nv21', 'nv24')
UNSUPPORTED_ENCODINGS = tuple(name for name in ROS_ENCODINGS
                              if name not in COLOUR_ENCODINGS and name not in PIXEL_FORMATS)
#: Colour encodings whose pixels the decoder hands on as a view over the message's bytes.
PACKED_8BIT = tuple(name for name in COLOUR_ENCODINGS
                    if name in PIXEL_FORMATS and PIXEL_FORMATS[name].bytes_per_channel == 1)
#: Names a camera driver might send that look like supported ones but are not.
NEAR_MISSES = ('RGB8', 'BGR8', ' rgb8', 'rgb8 ', 'rgb', 'bgr', 'rgb888', 'jpeg', 'png', '')
#: Every reason the node may refuse a frame with.
REASONS = ('unsupported_encoding', 'not_colour', 'zero_size', 'step_too_small',
           'data_too_short', 'data_too_long', 'bad_data')
UINT32_MAX = 2**32 - 1


@pytest.fixture(scope='module')
def context():
    """Give this module's nodes a ROS context of their own."""
    with ros_context() as ros:
        yield ros


def _make_node(context, card, name, **overrides):
    values = {'model_card': str(card), 'backend': 'torch', 'device': 'cpu',
              # Frames are stamped now and handed over at once: age plays no part here.
              'max_frame_age_s': 0.0, **overrides}
    return SegmentationNode(name, context=context, parameter_overrides=[
        Parameter(key, value=value) for key, value in values.items()])


@pytest.fixture(scope='module')
def active_node(context, random_model_card):
    """Start an active node (worker running) on the small random model."""
    node = _make_node(context, random_model_card, 'bad_input_node')
    assert node.autostart()
    yield node
    node.finish()
    node.destroy_node()


@pytest.fixture(scope='module')
def client(active_node):
    """Connect a client subscribed to the active node's labels."""
    node_client = NodeClient('/bad_input_node', image_topic='/image', keys=('labels',))
    try:
        assert node_client.wait_until_connected(timeout=60.0)
        yield node_client
    finally:
        node_client.close()


def _stamp(node, msg):
    msg.header.stamp = node.get_clock().now().to_msg()
    msg.header.frame_id = 'laparoscope'
    return msg


def _raw(width, height, encoding, step, length, big_endian=0):
    """Build an image message field by field, with ``length`` seeded bytes of data."""
    msg = Image(width=width, height=height, encoding=encoding, step=step,
                is_bigendian=big_endian)
    msg.data = np.random.default_rng(length).integers(0, 256, length, np.uint8).tobytes()
    return msg


def _colour(width, height, encoding='rgb8', padding=0, seed=0):
    pixels = synthetic_frame(width, height, seed=seed)
    if encoding.startswith('bgr'):
        pixels = np.ascontiguousarray(pixels[:, :, ::-1])
    if encoding.endswith('a8'):
        pixels = np.concatenate([pixels, np.full((height, width, 1), 200, np.uint8)], axis=2)
    msg = numpy_to_image_msg(pixels, encoding)
    return pad_rows(msg, padding) if padding else msg


def _flagged_big_endian(msg):
    msg.is_bigendian = 1
    return msg


#: (case, message factory, refusal reason); None: the frame must be processed correctly.
#: Several factories in a list are fed one after another, each processed correctly.
CASES = [
    *[(f'encoding {name}', lambda name=name: _raw(8, 6, name, 8 * 8, 8 * 8 * 6),
       'unsupported_encoding') for name in UNSUPPORTED_ENCODINGS],
    *[(f'encoding {name!r}', lambda name=name: _raw(8, 6, name, 24, 24 * 6),
       'unsupported_encoding') for name in NEAR_MISSES],
    ('16-bit colour, big-endian', lambda: _raw(8, 6, 'rgb16', 48, 48 * 6, 1), None),
    ('16-bit colour with alpha, big-endian', lambda: _raw(8, 6, 'bgra16', 64, 64 * 6, 1), None),
    ('YUV 4:2:2 from a capture card', lambda: _raw(8, 6, 'yuv422', 16, 16 * 6), None),
    ('Bayer mosaic', lambda: _raw(8, 6, 'bayer_rggb8', 8, 8 * 6), None),
    ('width and height at uint32 max, 12 bytes',
     lambda: _raw(UINT32_MAX, UINT32_MAX, 'rgb8', UINT32_MAX, 12), 'step_too_small'),
    ('100000x100000 promised, 10 bytes given',
     lambda: _raw(100_000, 100_000, 'bgr8', 300_000, 10), 'data_too_short'),
    ('step at uint32 max', lambda: _raw(4, 4, 'rgb8', UINT32_MAX, 48), 'data_too_short'),
    ('one row short', lambda: _raw(64, 48, 'rgb8', 192, 192 * 47), 'data_too_short'),
    ('one row too many', lambda: _raw(64, 48, 'rgb8', 192, 192 * 49), 'data_too_long'),
    ('is_bigendian set on rgb8', lambda: _flagged_big_endian(_colour(96, 64)), None),
    ('is_bigendian set on bgra8, padded',
     lambda: _flagged_big_endian(_colour(97, 61, 'bgra8', padding=5)), None),
    ('encoding and size change frame to frame', [
        lambda: _colour(160, 120, 'rgb8'),
        lambda: _colour(33, 17, 'bgra8', padding=3, seed=1),
        lambda: _colour(1, 1, 'bgr8'),
        lambda: _colour(257, 129, 'rgba8', padding=1, seed=2),
        lambda: _colour(160, 120, 'bgr8', seed=3)], None),
]


def _feed_and_check_labels(node, client, offline, msg):
    """Hand ``msg`` to the callback; its labels must equal the offline pipeline's."""
    before = node.processor.health.counts()
    node.processor.submit(_stamp(node, msg))
    counts = wait_counts(node, lambda counts: finished(counts) > finished(before))
    assert counts['processed'] == before['processed'] + 1, counts
    stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
    outputs = client.wait_for_outputs(stamp, keys=['labels'], timeout=30.0)
    assert outputs is not None, f'no labels for a {msg.width}x{msg.height} {msg.encoding} frame'
    # The decoders are image_conversion's (tested there); here: the node runs what they give.
    frame, order = decode_colour_frame(msg.width, msg.height, msg.encoding, msg.step,
                                       msg.is_bigendian, msg.data)
    expected = offline(np.ascontiguousarray(frame), channel_order=order).result.labels
    labels = np.frombuffer(outputs['labels'].data, np.uint8).reshape(msg.height, msg.width)
    np.testing.assert_array_equal(labels, expected)


def test_refusals_are_logged_naming_the_reason(active_node, capfd):
    # First in the module: the log is throttled per reason, so this is the first refusal.
    node = active_node
    node.processor.submit(_stamp(node, _raw(8, 6, '32FC1', 32, 192)))
    log = capfd.readouterr().err
    assert 'rejected frame (unsupported_encoding' in log
    assert "image encoding '32FC1' is not supported: publish one of rgb8" in log


@pytest.mark.parametrize('case, make, reason', CASES, ids=[case for case, *_ in CASES])
def test_each_kind_is_refused_with_its_reason_or_processed_and_the_next_frame_runs(
        active_node, client, offline, case, make, reason):
    node = active_node
    if reason is None:
        for factory in (make if isinstance(make, list) else [make]):
            _feed_and_check_labels(node, client, offline, factory())
        return
    before = node.processor.health.counts()
    node.processor.submit(_stamp(node, make()))  # raising here would be the bug this test is for
    after = node.processor.health.counts()
    assert after['rejected'] == before['rejected'] + 1, case
    assert after.get(f'rejected.{reason}', 0) == before.get(f'rejected.{reason}', 0) + 1, \
        f'{case}: not counted as {reason}: {after}'
    assert after['received'] == before['received'] + 1
    done = finished(after)
    node.processor.submit(_stamp(node, _colour(64, 48, seed=4)))
    assert wait_counts(node, lambda counts: finished(counts) > done)['processed'] \
        == after['processed'] + 1


@pytest.fixture(scope='module')
def configured_node(context, random_model_card):
    """Configure a node but leave it inactive: no worker takes frames out of its slot."""
    node = _make_node(context, random_model_card, 'fuzzed_node', autostart=False)
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    yield node
    node.finish()
    node.destroy_node()


def _reference_colour_frame(width, height, encoding, step, data):
    """Pixels by slicing each row out of the bytes: slow and obviously right."""
    bytes_per_pixel = PIXEL_FORMATS[encoding].bytes_per_pixel
    rows = [data[row * step:row * step + width * bytes_per_pixel] for row in range(height)]
    pixels = np.frombuffer(b''.join(rows), np.uint8).reshape(height, width, bytes_per_pixel)
    return pixels[:, :, :3]


_SIZES = st.one_of(st.integers(0, 9), st.sampled_from([2**16, 2**31, UINT32_MAX]))


@st.composite
def image_fields(draw):
    """Header fields and data of a possibly malformed image."""
    encoding = draw(st.one_of(st.sampled_from(ROS_ENCODINGS + NEAR_MISSES),
                              st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                      max_size=10)))
    width, height = draw(_SIZES), draw(_SIZES)
    bytes_per_pixel = PIXEL_FORMATS[encoding].bytes_per_pixel if encoding in PIXEL_FORMATS \
        else draw(st.integers(1, 8))
    step = draw(st.one_of(
        st.integers(-3, 6).map(lambda padding: width * bytes_per_pixel + padding),
        st.integers(0, UINT32_MAX)))
    step = min(max(step, 0), UINT32_MAX)
    expected = step * height
    length = draw(st.one_of(
        st.integers(-4, 4).map(lambda extra: expected + extra), st.integers(0, 64)))
    if not 0 <= length <= 4096:
        length = draw(st.integers(0, 64))  # a header promising more than the data holds
    data = draw(st.binary(min_size=length, max_size=length))
    return width, height, encoding, step, draw(st.integers(0, 1)), data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=image_fields())
def test_fuzzed_images_are_refused_with_a_reason_or_queued_with_their_exact_pixels(
        configured_node, fields):
    width, height, encoding, step, big_endian, data = fields
    node = configured_node
    msg = _stamp(node, Image(width=width, height=height, encoding=encoding, step=step,
                             is_bigendian=big_endian))
    msg.data = data
    before = node.processor.health.counts()
    node.processor.submit(msg)
    after = node.processor.health.counts()
    queued = node.processor._slot.take(timeout=0.0)
    assert after['received'] == before['received'] + 1
    if queued is None:
        assert after['rejected'] == before['rejected'] + 1
        changed = [reason for reason in REASONS if after.get(f'rejected.{reason}', 0)
                   != before.get(f'rejected.{reason}', 0)]
        assert len(changed) == 1, (changed, after)
        return
    assert after['rejected'] == before['rejected']
    assert encoding in COLOUR_ENCODINGS and width > 0 and height > 0
    assert queued.frame.shape == (height, width, 3) and queued.frame.dtype == np.uint8
    if encoding not in PACKED_8BIT:
        return  # converted by image_conversion, whose own tests check the pixels
    assert len(data) == step * height
    assert queued.channel_order == ('bgr' if encoding.startswith('b') else 'rgb')
    np.testing.assert_array_equal(
        queued.frame, _reference_colour_frame(width, height, encoding, step, data))

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""numpy <-> sensor_msgs/Image conversion: layouts, zero-copy views, refusals, fuzzing."""

import array

from hypothesis import given, settings, strategies as st
from liver_landmarks.ros.image_conversion import (
    decode_colour_frame, decode_image, image_msg_to_numpy, ImageFormatError,
    numpy_to_image_msg, PIXEL_FORMATS)
import numpy as np
import pytest
from std_msgs.msg import Header

RNG = np.random.default_rng(7)


def _random_image(encoding, height=5, width=7):
    fmt = PIXEL_FORMATS[encoding]
    dtype = np.uint8 if fmt.bytes_per_channel == 1 else np.uint16
    shape = (height, width) if fmt.channels == 1 else (height, width, fmt.channels)
    return RNG.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype, endpoint=True)


def _padded_bytes(image, padding, byte_order='<'):
    """Lay ``image`` out row by row with ``padding`` junk bytes after each row."""
    height = image.shape[0]
    rows = image.astype(image.dtype.newbyteorder(byte_order)).reshape(height, -1)
    rows = rows.view(np.uint8)
    junk = np.full((height, padding), 0xAB, dtype=np.uint8)
    return np.concatenate([rows, junk], axis=1).tobytes(), rows.shape[1] + padding


@pytest.mark.parametrize('encoding', sorted(PIXEL_FORMATS))
def test_round_trip_every_encoding(encoding):
    image = _random_image(encoding)
    header = Header(frame_id='camera')
    header.stamp.sec = 12
    msg = numpy_to_image_msg(image, encoding, header)
    assert (msg.width, msg.height, msg.encoding) == (7, 5, encoding)
    assert msg.header.frame_id == 'camera' and msg.header.stamp.sec == 12
    decoded, decoded_encoding = image_msg_to_numpy(msg)
    assert decoded_encoding == encoding
    assert decoded.dtype == image.dtype
    np.testing.assert_array_equal(decoded, image)


@pytest.mark.parametrize('encoding', ['rgb8', 'bgr8'])
@pytest.mark.parametrize('padding', [0, 3, 64])
def test_colour_decode_is_a_view_over_the_message_buffer(encoding, padding):
    image = _random_image(encoding, height=6, width=9)
    data, step = _padded_bytes(image, padding)
    buffer = array.array('B', data)
    decoded = decode_image(9, 6, encoding, step, 0, buffer)
    np.testing.assert_array_equal(decoded, image)
    assert np.shares_memory(decoded, np.frombuffer(buffer, dtype=np.uint8))


def test_rosbags_style_uint8_array_data_is_accepted():
    image = _random_image('rgb8')
    data, step = _padded_bytes(image, 5)
    raw = np.frombuffer(data, dtype=np.uint8)
    decoded = decode_image(7, 5, 'rgb8', step, False, raw)
    np.testing.assert_array_equal(decoded, image)
    assert np.shares_memory(decoded, raw)


@pytest.mark.parametrize('encoding', ['mono16', '16UC1'])
@pytest.mark.parametrize('big_endian', [0, 1])
@pytest.mark.parametrize('padding', [0, 1, 4])
def test_sixteen_bit_either_byte_order_and_odd_padding(encoding, big_endian, padding):
    image = _random_image(encoding)
    data, step = _padded_bytes(image, padding, '>' if big_endian else '<')
    decoded = decode_image(7, 5, encoding, step, big_endian, data)
    assert decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, image)


@pytest.mark.parametrize('encoding, order', [('rgba8', 'rgb'), ('bgra8', 'bgr'),
                                             ('rgb8', 'rgb'), ('bgr8', 'bgr')])
def test_colour_frame_drops_alpha_and_reports_channel_order(encoding, order):
    image = _random_image(encoding)
    msg = numpy_to_image_msg(image, encoding)
    frame, channel_order = decode_colour_frame(msg.width, msg.height, msg.encoding, msg.step,
                                               msg.is_bigendian, msg.data)
    assert channel_order == order
    assert frame.shape == (5, 7, 3)
    np.testing.assert_array_equal(frame, image[:, :, :3])


@pytest.mark.parametrize('encoding', ['mono8', 'mono16', '16UC1'])
def test_colour_frame_refuses_images_without_colour(encoding):
    msg = numpy_to_image_msg(_random_image(encoding), encoding)
    with pytest.raises(ImageFormatError, match='has no colour') as caught:
        decode_colour_frame(msg.width, msg.height, msg.encoding, msg.step, msg.is_bigendian,
                            msg.data)
    assert caught.value.reason == 'not_colour'


BAD_LAYOUTS = [
    # (reason, width, height, encoding, step, data length, words the message must hold)
    ('unsupported_encoding', 4, 4, 'yuv422', 8, 32, 'rgb8, bgr8'),
    ('unsupported_encoding', 4, 4, 'bayer_rggb8', 4, 16, 'not supported'),
    ('unsupported_encoding', 4, 4, '32FC1', 16, 64, 'not supported'),
    ('unsupported_encoding', 4, 4, 'RGB8', 12, 48, 'not supported'),
    ('unsupported_encoding', 4, 4, '', 12, 48, 'not supported'),
    ('zero_size', 0, 4, 'rgb8', 0, 0, 'at least 1'),
    ('zero_size', 4, 0, 'rgb8', 12, 0, 'at least 1'),
    ('step_too_small', 4, 4, 'rgb8', 11, 44, 'at least width * 3'),
    ('step_too_small', 4, 4, 'mono16', 7, 28, 'at least width * 2'),
    ('data_too_short', 4, 4, 'rgb8', 12, 47, 'truncated'),
    ('data_too_long', 4, 4, 'bgr8', 12, 49, 'do not describe'),
]


@pytest.mark.parametrize('reason, width, height, encoding, step, length, words', BAD_LAYOUTS)
def test_bad_layout_is_refused_with_its_reason(reason, width, height, encoding, step, length,
                                               words):
    with pytest.raises(ImageFormatError) as caught:
        decode_image(width, height, encoding, step, 0, bytes(length))
    assert caught.value.reason == reason
    assert words in str(caught.value)


def test_encoder_refuses_arrays_that_do_not_match_the_encoding():
    with pytest.raises(ImageFormatError, match='HxWx3'):
        numpy_to_image_msg(np.zeros((4, 4), np.uint8), 'rgb8')
    with pytest.raises(ImageFormatError, match='uint16'):
        numpy_to_image_msg(np.zeros((4, 4), np.uint8), 'mono16')
    with pytest.raises(ImageFormatError, match='not supported'):
        numpy_to_image_msg(np.zeros((4, 4), np.uint8), 'yuv422')


def _reference_decode(width, height, encoding, step, data):
    """Decode by slicing each row out of the bytes: slow, obviously right."""
    fmt = PIXEL_FORMATS[encoding]
    row_bytes = width * fmt.bytes_per_pixel
    rows = [data[row * step:row * step + row_bytes] for row in range(height)]
    dtype = np.uint8 if fmt.bytes_per_channel == 1 else np.dtype('<u2')
    image = np.frombuffer(b''.join(rows), dtype=dtype).reshape(height, width, fmt.channels)
    return image[:, :, 0] if fmt.channels == 1 else image


@settings(max_examples=300, deadline=None)
@given(width=st.integers(-2, 12), height=st.integers(-2, 9),
       encoding=st.sampled_from(sorted(PIXEL_FORMATS) + ['yuv422', '8UC3', 'rgb16']),
       padding=st.integers(-6, 9), extra=st.integers(-4, 4), seed=st.integers(0, 2**16))
def test_fuzzed_layouts_decode_exactly_or_raise_image_format_error(
        width, height, encoding, padding, extra, seed):
    bytes_per_pixel = PIXEL_FORMATS[encoding].bytes_per_pixel if encoding in PIXEL_FORMATS \
        else 3
    step = max(width, 0) * bytes_per_pixel + padding
    length = max(step * max(height, 0) + extra, 0)
    data = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    try:
        decoded = decode_image(width, height, encoding, step, 0, data)
    except ImageFormatError as error:
        assert error.reason and str(error)
        return
    assert width > 0 and height > 0 and padding >= 0 and extra == 0
    np.testing.assert_array_equal(decoded, _reference_decode(width, height, encoding, step, data))

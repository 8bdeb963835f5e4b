# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Image and CompressedImage decoding: every encoding, layouts, zero-copy views, refusals."""

import array

import cv2
from hypothesis import given, settings, strategies as st
from liver_landmarks.ros.image_conversion import (
    COLOUR_ENCODINGS, decode_colour_frame, decode_compressed_frame, decode_image,
    image_msg_to_numpy, ImageFormatError, numpy_to_image_msg, PIXEL_FORMATS)
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


#: The same for the encodings only decode_colour_frame takes.
CONVERTED_BAD_LAYOUTS = [
    ('step_too_small', 5, 4, 'yuv422', 10, 40, 'whole pixel pairs'),
    ('step_too_small', 4, 4, 'yuv422_yuy2', 7, 28, 'at least width * 2'),
    ('data_too_short', 4, 4, 'UYVY', 8, 31, 'truncated'),
    ('data_too_long', 4, 4, 'yuyv', 8, 33, 'do not describe'),
    ('step_too_small', 5, 4, 'nv12', 5, 30, 'rounded up to even'),
    ('data_too_short', 4, 4, 'nv12', 4, 16, 'chroma rows'),
    ('data_too_short', 4, 3, 'nv21', 4, 19, 'truncated'),
    ('data_too_long', 4, 4, 'nv21', 4, 25, 'do not describe'),
    ('step_too_small', 4, 4, 'bayer_rggb16', 7, 28, 'at least width * 2'),
    ('data_too_short', 4, 4, 'bayer_gbrg8', 4, 15, 'truncated'),
    ('zero_size', 0, 4, 'bayer_grbg8', 0, 0, 'at least 1'),
    ('zero_size', 4, 0, 'nv12', 4, 0, 'at least 1'),
    ('step_too_small', 4, 4, 'rgba16', 31, 124, 'at least width * 8'),
    ('data_too_short', 4, 4, 'bgr16', 24, 95, 'truncated'),
]
LAYOUT_CASES = [(decode_image, *row) for row in BAD_LAYOUTS] + \
    [(decode_colour_frame, *row) for row in CONVERTED_BAD_LAYOUTS]


@pytest.mark.parametrize('decode, reason, width, height, encoding, step, length, words',
                         LAYOUT_CASES)
def test_bad_layout_is_refused_with_its_reason(decode, reason, width, height, encoding, step,
                                               length, words):
    with pytest.raises(ImageFormatError) as caught:
        decode(width, height, encoding, step, 0, bytes(length))
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


# Colour frames in every encoding a laparoscope tower or camera sends ---------------------

#: BT.601 video range, the reference the YUV encoders below follow (as capture cards do).
_BT601_TO_YUV = np.array([[65.481, 128.553, 24.966],
                          [-37.797, -74.203, 112.0],
                          [112.0, -93.786, -18.214]]) / 255.0
_YUV_OFFSET = np.array([16.0, 128.0, 128.0])
#: Two colours with distinct R, G and B, so that a swapped channel or shifted mosaic shows.
_LEFT, _RIGHT = (200, 110, 40), (50, 150, 210)


def _known_frame(width, height):
    """Give an RGB frame of 2x2 blocks (4:2:x chroma subsampling loses nothing on it)."""
    rows = np.arange((height + 1) // 2).repeat(2)[:height]
    cols = np.arange((width + 1) // 2).repeat(2)[:width]
    red = 60 + (13 * rows[:, None] + 7 * cols[None, :]) % 140
    green = 70 + (5 * rows[:, None] + 11 * cols[None, :]) % 120
    blue = 50 + (17 * rows[:, None] + 3 * cols[None, :]) % 150
    return np.stack([red, green, blue], axis=2).astype(np.uint8)


def _two_patch_frame(width, height):
    """Paint the left half one colour, the right half another (demosaicing is exact inside)."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[:, :width // 2] = _LEFT
    frame[:, width // 2:] = _RIGHT
    return frame


def _to_yuv(rgb):
    return np.clip(np.rint(rgb.astype(np.float64) @ _BT601_TO_YUV.T + _YUV_OFFSET), 0, 255
                   ).astype(np.uint8)


def _even(frame, rows=True):
    """Repeat the last column (and row) so that the width (and height) are even."""
    height, width = frame.shape[:2]
    return np.pad(frame, ((0, height % 2 if rows else 0), (0, width % 2), (0, 0)),
                  mode='edge')


def _rows_to_bytes(rows, padding):
    """Lay out a (rows, row_bytes) uint8 array with ``padding`` junk bytes per row."""
    junk = np.full((rows.shape[0], padding), 0xAB, np.uint8)
    return np.concatenate([rows, junk], axis=1).tobytes(), rows.shape[1] + padding


def _encode_yuv422(frame, order, padding):
    yuv = _to_yuv(_even(frame, rows=False))
    luma, u, v = yuv[..., 0], yuv[:, 0::2, 1], yuv[:, 0::2, 2]
    first, second = luma[:, 0::2], luma[:, 1::2]
    quads = np.stack([u, first, v, second] if order == 'uyvy' else [first, u, second, v], 2)
    return _rows_to_bytes(quads.reshape(frame.shape[0], -1), padding)


def _encode_yuv420(frame, swap, padding):
    yuv = _to_yuv(_even(frame))
    height = frame.shape[0]
    chroma = yuv[0::2, 0::2, 1:]
    if swap:
        chroma = chroma[..., ::-1]
    even_width = yuv.shape[1]
    planes = np.concatenate([yuv[:height, :, 0], chroma.reshape(-1, even_width)])
    data, step = _rows_to_bytes(planes, padding)
    return data, step


_BAYER_OFFSETS = {'rggb': {'r': (0, 0), 'b': (1, 1)}, 'bggr': {'r': (1, 1), 'b': (0, 0)},
                  'gbrg': {'r': (1, 0), 'b': (0, 1)}, 'grbg': {'r': (0, 1), 'b': (1, 0)}}


def _mosaic(frame, pattern):
    """Sample ``frame`` through the colour filter ROS's ``bayer_<pattern>`` names."""
    height, width = frame.shape[:2]
    mosaic = frame[..., 1].copy()
    for channel, (row, col) in _BAYER_OFFSETS[pattern].items():
        index = 0 if channel == 'r' else 2
        mosaic[row::2, col::2] = frame[row::2, col::2, index]
    return mosaic


def _sixteen(values8, big_endian):
    """Return 16-bit values whose high bytes are ``values8`` (the low bytes vary)."""
    low = np.arange(values8.size, dtype=np.uint16).reshape(values8.shape) * 37 % 256
    values = values8.astype(np.uint16) * 256 + low
    return values.astype('>u2' if big_endian else '<u2').view(np.uint8).reshape(
        values8.shape[0], -1)


def _encode(encoding, frame, padding, big_endian):
    """(step, data, expected HxWx3, channel order, tolerance, interior-only) for a frame."""
    height, width = frame.shape[:2]
    if encoding in PIXEL_FORMATS:
        fmt = PIXEL_FORMATS[encoding]
        pixels = frame if fmt.channel_order == 'rgb' else frame[..., ::-1]
        if fmt.channels == 4:
            pixels = np.concatenate([pixels, np.full((height, width, 1), 99, np.uint8)], 2)
        if fmt.bytes_per_channel == 2:
            rows = _sixteen(pixels.reshape(height, -1), big_endian)
        else:
            rows = pixels.reshape(height, -1)
        data, step = _rows_to_bytes(rows, padding)
        return step, data, pixels[..., :3], fmt.channel_order, 0
    if encoding in ('yuv422', 'uyvy', 'UYVY', 'yuv422_yuy2', 'yuyv', 'YUYV'):
        order = 'uyvy' if encoding.lower() in ('yuv422', 'uyvy') else 'yuyv'
        data, step = _encode_yuv422(frame, order, padding)
        return step, data, frame, 'rgb', 3
    if encoding in ('nv12', 'nv21'):
        data, step = _encode_yuv420(frame, encoding == 'nv21', padding)
        return step, data, frame, 'rgb', 3
    pattern, bits = encoding[6:10], encoding[10:]
    mosaic = _mosaic(frame, pattern)
    rows = _sixteen(mosaic, big_endian) if bits == '16' else mosaic
    data, step = _rows_to_bytes(rows, padding)
    return step, data, frame, 'rgb', 1


def _compared(encoding, decoded, expected):
    """Leave out, for Bayer frames, the patch border and image edge demosaicing blends."""
    if not encoding.startswith('bayer_'):
        return decoded, expected
    width = expected.shape[1]
    keep = np.r_[2:width // 2 - 2, width // 2 + 2:width - 2]
    return decoded[2:-2, keep], expected[2:-2, keep]


@pytest.mark.parametrize('big_endian', [0, 1])
@pytest.mark.parametrize('padding', [0, 5])
@pytest.mark.parametrize('width, height', [(16, 12), (17, 13), (32, 9)])
@pytest.mark.parametrize('encoding', COLOUR_ENCODINGS)
def test_every_colour_encoding_decodes_a_known_frame(encoding, width, height, padding,
                                                     big_endian):
    frame = (_two_patch_frame if encoding.startswith('bayer_') else _known_frame)(width,
                                                                                  height)
    step, data, expected, order, tolerance = _encode(encoding, frame, padding, big_endian)
    decoded, channel_order = decode_colour_frame(width, height, encoding, step, big_endian,
                                                 array.array('B', data))
    assert channel_order == order
    assert decoded.shape == (height, width, 3) and decoded.dtype == np.uint8
    decoded, expected = _compared(encoding, decoded, expected)
    assert decoded.size
    difference = np.abs(decoded.astype(int) - expected.astype(int)).max()
    assert difference <= tolerance, f'{encoding}: off by {difference}'


@pytest.mark.parametrize('encoding', ['rgb16', 'bgra16', 'rgb8', 'bgra8'])
def test_packed_colour_stays_a_view_even_at_sixteen_bits(encoding):
    frame = _known_frame(9, 6)
    step, data, expected, _, _ = _encode(encoding, frame, 3, 0)
    buffer = array.array('B', data)
    decoded, _ = decode_colour_frame(9, 6, encoding, step, 0, buffer)
    np.testing.assert_array_equal(decoded, expected)
    assert np.shares_memory(decoded, np.frombuffer(buffer, dtype=np.uint8))


def test_rosbags_uint8_array_in_a_converted_encoding():
    frame = _known_frame(10, 8)
    step, data, expected, _, _ = _encode('yuv422_yuy2', frame, 0, 0)
    decoded, _ = decode_colour_frame(10, 8, 'yuv422_yuy2', step, 0,
                                     np.frombuffer(data, np.uint8))
    assert np.abs(decoded.astype(int) - expected).max() <= 3


def _advised_encodings(message):
    advice = message.split('publish one of ', 1)[1].split(', or a ', 1)[0]
    return advice.split(', ')


@pytest.mark.parametrize('encoding, reason', [
    ('mono8', 'not_colour'), ('mono16', 'not_colour'), ('16UC1', 'not_colour'),
    ('32FC1', 'unsupported_encoding'), ('nv24', 'unsupported_encoding'),
    ('RGB8', 'unsupported_encoding'), ('', 'unsupported_encoding'),
    ('bayer_rggb32', 'unsupported_encoding'), (None, 'unsupported_encoding')])
def test_every_refusal_advises_only_encodings_that_decode(encoding, reason):
    with pytest.raises(ImageFormatError) as caught:
        decode_colour_frame(16, 12, encoding, 48, 0, bytes(48 * 12))
    assert caught.value.reason == reason
    advised = _advised_encodings(str(caught.value))
    assert advised == list(COLOUR_ENCODINGS)
    assert 'CompressedImage' in str(caught.value)
    for name in advised:
        step, data, _, _, _ = _encode(name, _known_frame(16, 12), 0, 0)
        decoded, _ = decode_colour_frame(16, 12, name, step, 0, data)
        assert decoded.shape == (12, 16, 3)


@settings(max_examples=300, deadline=None)
@given(width=st.integers(-1, 9), height=st.integers(-1, 7),
       encoding=st.sampled_from(COLOUR_ENCODINGS),
       step=st.integers(0, 40), extra=st.integers(-3, 3), big_endian=st.integers(0, 1),
       seed=st.integers(0, 2**16))
def test_fuzzed_colour_frames_decode_at_their_size_or_raise_image_format_error(
        width, height, encoding, step, extra, big_endian, seed):
    rows = height + (height + 1) // 2 if encoding.startswith('nv') else height
    length = max(step * max(rows, 0) + extra, 0)
    data = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    try:
        decoded, order = decode_colour_frame(width, height, encoding, step, big_endian, data)
    except ImageFormatError as error:
        assert error.reason in ('zero_size', 'step_too_small', 'data_too_short',
                                'data_too_long')
        return
    assert extra == 0 and decoded.shape == (height, width, 3) and decoded.dtype == np.uint8
    assert order in ('rgb', 'bgr')


# sensor_msgs/CompressedImage ------------------------------------------------------------

def _smooth_frame(width, height):
    """Give gentle gradients with distinct R, G and B: JPEG keeps them, a swap shows."""
    red = np.linspace(150, 210, width)[None, :].repeat(height, 0)
    green = np.linspace(60, 120, height)[:, None].repeat(width, 1)
    blue = np.full((height, width), 30.0)
    return np.rint(np.stack([red, green, blue], 2)).astype(np.uint8)


def _compressed(extension, bgr, **params):
    flags = [cv2.IMWRITE_JPEG_QUALITY, 98] if extension == '.jpg' else []
    ok, encoded = cv2.imencode(extension, bgr, flags)
    assert ok
    return encoded.tobytes()


COMPRESSED_FORMATS = [
    # (format field, file type, channel order the data hold)
    ('jpeg', '.jpg', 'bgr'), ('png', '.png', 'bgr'), ('jpg', '.jpg', 'bgr'),
    ('rgb8; jpeg compressed bgr8', '.jpg', 'bgr'),
    ('bgr8; jpeg compressed bgr8', '.jpg', 'bgr'),
    ('rgba8; jpeg compressed bgr8', '.jpg', 'bgr'),
    ('bgr8; png compressed bgr8', '.png', 'bgr'),
    ('rgb8; png compressed bgr8', '.png', 'bgr'),
    ('rgb8; png compressed rgb8', '.png', 'rgb'),
    ('rgb16; png compressed bgr16', '.png', 'bgr'),
    ('bgra8; png compressed bgra8', '.png', 'bgr'),
]


@pytest.mark.parametrize('format_field, extension, order', COMPRESSED_FORMATS)
@pytest.mark.parametrize('width, height', [(64, 48), (33, 17)])
def test_compressed_formats_decode_a_known_frame(format_field, extension, order, width,
                                                 height):
    frame = _smooth_frame(width, height)
    stored = frame if order == 'rgb' else frame[..., ::-1]
    if 'bgra8' in format_field.split(';')[-1]:
        stored = np.concatenate([stored, np.full((height, width, 1), 7, np.uint8)], 2)
    if '16' in format_field.split(';')[-1]:
        stored = stored.astype(np.uint16) * 257
    data = _compressed(extension, np.ascontiguousarray(stored))
    decoded, channel_order = decode_compressed_frame(format_field, array.array('B', data))
    assert channel_order == order
    assert decoded.shape == (height, width, 3) and decoded.dtype == np.uint8
    in_order = frame if order == 'rgb' else frame[..., ::-1]
    difference = np.abs(decoded.astype(int) - in_order.astype(int))
    if extension == '.png':
        assert difference.max() == 0
    else:
        assert difference.mean() < 2.0 and difference.max() <= 16


def _jpeg():
    return _compressed('.jpg', _known_frame(64, 48)[..., ::-1].copy())


def _png():
    return _compressed('.png', _known_frame(64, 48))


def _flipped(data, start, count):
    damaged = bytearray(data)
    damaged[start:start + count] = bytes(count)
    return bytes(damaged)


CORRUPT = [
    ('jpeg cut in half', 'jpeg', lambda: _jpeg()[:len(_jpeg()) // 2]),
    ('jpeg without its last bytes', 'bgr8; jpeg compressed bgr8', lambda: _jpeg()[:-2]),
    ('jpeg header zeroed', 'jpeg', lambda: _flipped(_jpeg(), 2, 40)),
    ('png cut short', 'png', lambda: _png()[:-20]),
    ('png with zeroed chunk data', 'bgr8; png compressed bgr8',
     lambda: _flipped(_png(), 40, 30)),
    ('empty', 'jpeg', lambda: b''),
    ('png labelled jpeg', 'rgb8; jpeg compressed bgr8', _png),
    ('jpeg labelled png', 'png', _jpeg),
    ('random bytes', 'jpeg', lambda: b'\xff\xd8\xff' + bytes(range(256)) * 4),
]


@pytest.mark.parametrize('case, format_field, make', CORRUPT, ids=[c for c, *_ in CORRUPT])
def test_corrupt_compressed_data_is_refused_by_name(case, format_field, make):
    with pytest.raises(ImageFormatError) as caught:
        decode_compressed_frame(format_field, make())
    assert caught.value.reason == 'corrupt_compressed', case
    assert 'bytes' in str(caught.value)


@pytest.mark.parametrize('format_field', [
    '', 'h264', 'theora', 'tiff', 'compressedDepth', '16UC1; compressedDepth png',
    '32FC1; compressedDepth rvl', 'rgb8; jpeg', 'rgb8; jpeg compressed', 'rgb8; jpeg bgr8',
    'rgb8; webp compressed bgr8', 'rgb8; jpeg compressed 8UC3', 'a; b; c', None])
def test_unsupported_compressed_formats_name_what_works(format_field):
    with pytest.raises(ImageFormatError) as caught:
        decode_compressed_frame(format_field, _jpeg())
    assert caught.value.reason == 'unsupported_compressed_format'
    message = str(caught.value)
    assert "'bgr8; jpeg compressed bgr8'" in message and 'yuv422' in message
    for advised in ('bgr8; jpeg compressed bgr8', 'rgb8; png compressed bgr8', 'jpeg', 'png'):
        data = _jpeg() if 'jpeg' in advised else _png()
        assert decode_compressed_frame(advised, data)[0].shape == (48, 64, 3)


def test_monochrome_compressed_frames_are_refused_as_not_colour():
    gray = _compressed('.png', _known_frame(8, 6)[..., 1].copy())
    with pytest.raises(ImageFormatError) as caught:
        decode_compressed_frame('mono8; png compressed mono8', gray)
    assert caught.value.reason == 'not_colour'
    assert 'bayer_rggb8' in str(caught.value)

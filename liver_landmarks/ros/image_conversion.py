# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""numpy <-> ``sensor_msgs/Image`` without cv_bridge (none exists on these registries).

The core, :func:`decode_image`, works on the raw message fields, so the bag tools use
it on ``rosbags`` messages as the node uses it on rclpy messages. Decoding is
zero-copy wherever the layout allows: the returned array is a strided view over the
message's buffer, row padding (``step``) included, so it must not outlive a buffer
that is reused, and it is read-only when the buffer is.
"""

import array
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PixelFormat:
    """Layout of one ``sensor_msgs/Image`` encoding."""

    channels: int
    bytes_per_channel: int
    channel_order: str | None  # 'rgb' / 'bgr' for colour, None for single-channel images

    @property
    def bytes_per_pixel(self) -> int:
        """Bytes taken by one pixel."""
        return self.channels * self.bytes_per_channel


#: Encodings this module converts, by their ``sensor_msgs/image_encodings`` names.
PIXEL_FORMATS = {
    'rgb8': PixelFormat(3, 1, 'rgb'),
    'bgr8': PixelFormat(3, 1, 'bgr'),
    'rgba8': PixelFormat(4, 1, 'rgb'),
    'bgra8': PixelFormat(4, 1, 'bgr'),
    'mono8': PixelFormat(1, 1, None),
    'mono16': PixelFormat(1, 2, None),
    '16UC1': PixelFormat(1, 2, None),
}

#: Encodings the segmentation network can take (colour, 8 bits per channel).
COLOUR_ENCODINGS = ('rgb8', 'bgr8', 'rgba8', 'bgra8')

_SUPPORTED = ', '.join(PIXEL_FORMATS)


class ImageFormatError(ValueError):
    """An image message that cannot be converted; the message says why and what works.

    ``reason`` is a short stable key (for example ``'step_too_small'``) that callers
    count by, so diagnostics can say how often each kind of bad input arrived.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _as_byte_buffer(data):
    """Return ``data`` as something numpy can view without copying where possible."""
    if isinstance(data, (bytes, bytearray, memoryview, array.array)):
        return data
    if isinstance(data, np.ndarray):
        # rosbags hands uint8 arrays: contiguous ones are viewed, others copied once.
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    try:
        return np.asarray(data, dtype=np.uint8)
    except (TypeError, ValueError, OverflowError) as error:
        raise ImageFormatError(
            'bad_data', f'image data of type {type(data).__name__} is not a byte sequence '
            f'({error}): give bytes, array.array("B") or a uint8 array') from error


def _byte_length(buffer) -> int:
    return memoryview(buffer).nbytes


def pixel_format(encoding: str) -> PixelFormat:
    """Return the layout of ``encoding``; :class:`ImageFormatError` names the supported ones."""
    try:
        return PIXEL_FORMATS[encoding]
    except (KeyError, TypeError):
        raise ImageFormatError(
            'unsupported_encoding',
            f'image encoding {encoding!r} is not supported: publish one of {_SUPPORTED}'
        ) from None


def check_layout(width: int, height: int, encoding: str, step: int, data_length: int
                 ) -> PixelFormat:
    """Check that the header fields describe a buffer of ``data_length`` bytes.

    Returns the pixel format; raises :class:`ImageFormatError` with the first problem.
    """
    fmt = pixel_format(encoding)
    if width <= 0 or height <= 0:
        raise ImageFormatError(
            'zero_size', f'image is {width}x{height}: width and height must both be at least 1')
    row_bytes = width * fmt.bytes_per_pixel
    if step < row_bytes:
        raise ImageFormatError(
            'step_too_small',
            f'step {step} is smaller than one row of {width} {encoding} pixels ({row_bytes} '
            f'bytes): step must be at least width * {fmt.bytes_per_pixel}')
    expected = step * height
    if data_length < expected:
        raise ImageFormatError(
            'data_too_short',
            f'data holds {data_length} bytes but step*height = {step}*{height} = {expected}: '
            'the message is truncated or its step/height are wrong')
    if data_length > expected:
        raise ImageFormatError(
            'data_too_long',
            f'data holds {data_length} bytes but step*height = {step}*{height} = {expected}: '
            'the width, height or step do not describe the buffer')
    return fmt


def decode_image(width: int, height: int, encoding: str, step: int, is_bigendian,
                 data) -> np.ndarray:
    """Decode raw ``sensor_msgs/Image`` fields to an ``HxWxC`` (or ``HxW`` mono) array.

    8-bit images come back as a zero-copy strided view over ``data`` (row padding
    skipped by the strides); 16-bit images in the other byte order than this
    machine's are byte-swapped into a new native ``uint16`` array.
    """
    width, height, step = int(width), int(height), int(step)
    buffer = _as_byte_buffer(data)
    fmt = check_layout(width, height, encoding, step, _byte_length(buffer))
    if fmt.bytes_per_channel == 1:
        dtype = np.dtype(np.uint8)
    else:
        dtype = np.dtype('>u2' if is_bigendian else '<u2')
    shape = (height, width, fmt.channels)
    strides = (step, fmt.bytes_per_pixel, fmt.bytes_per_channel)
    image = np.ndarray(shape=shape, dtype=dtype, buffer=buffer, strides=strides)
    if not dtype.isnative:
        image = image.astype(dtype.newbyteorder('='))
    return image[:, :, 0] if fmt.channels == 1 else image


def decode_colour_frame(width: int, height: int, encoding: str, step: int, is_bigendian,
                        data) -> tuple[np.ndarray, str]:
    """Decode a colour image for the network: ``(HxWx3 uint8 view, 'rgb' or 'bgr')``.

    Alpha is dropped by a view. Images that convert but carry no colour (mono8,
    mono16, 16UC1) are refused with reason ``'not_colour'``.
    """
    fmt = pixel_format(encoding)
    if fmt.channel_order is None:
        raise ImageFormatError(
            'not_colour',
            f'image encoding {encoding!r} has no colour and the network needs colour: '
            f'publish one of {", ".join(COLOUR_ENCODINGS)}')
    image = decode_image(width, height, encoding, step, is_bigendian, data)
    return image[:, :, :3], fmt.channel_order


def image_msg_to_numpy(msg) -> tuple[np.ndarray, str]:
    """Decode a ``sensor_msgs/Image`` (rclpy or rosbags) to ``(array, encoding)``."""
    image = decode_image(msg.width, msg.height, msg.encoding, msg.step, msg.is_bigendian,
                         msg.data)
    return image, msg.encoding


def _expected_shape(fmt: PixelFormat) -> str:
    return 'HxW' if fmt.channels == 1 else f'HxWx{fmt.channels}'


def bytes_to_uint8_array(values: np.ndarray) -> array.array:
    """Copy a numpy array's bytes, in C order, into the ``array('B')`` message fields hold.

    Assigning an ``array('B')`` skips rosidl's per-element checks, which take seconds
    for a full-HD frame.
    """
    buffer = array.array('B')
    buffer.frombytes(np.ascontiguousarray(values).reshape(-1).view(np.uint8))
    return buffer


def numpy_to_image_msg(image: np.ndarray, encoding: str, header=None):
    """Build a ``sensor_msgs/Image`` from an array laid out as ``encoding`` says.

    ``image`` is ``HxW`` for single-channel encodings or ``HxWxC``; uint8 for 8-bit
    encodings and uint16 for 16-bit ones. Rows are written without padding, in this
    machine's byte order.
    """
    from sensor_msgs.msg import Image

    fmt = pixel_format(encoding)
    image = np.asarray(image)
    if image.ndim == 3 and fmt.channels == 1 and image.shape[2] == 1:
        image = image[:, :, 0]
    expected_ndim = 2 if fmt.channels == 1 else 3
    if image.ndim != expected_ndim or (expected_ndim == 3 and image.shape[2] != fmt.channels):
        raise ImageFormatError(
            'shape_mismatch', f'array of shape {image.shape} does not hold {encoding} pixels: '
            f'give an {_expected_shape(fmt)} array')
    wanted_dtype = np.uint8 if fmt.bytes_per_channel == 1 else np.uint16
    if image.dtype != wanted_dtype:
        raise ImageFormatError(
            'dtype_mismatch', f'array of dtype {image.dtype} does not hold {encoding} pixels: '
            f'give a {np.dtype(wanted_dtype).name} array')
    height, width = image.shape[:2]
    if width == 0 or height == 0:
        raise ImageFormatError(
            'zero_size', f'image is {width}x{height}: width and height must both be at least 1')
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height = height
    msg.width = width
    msg.encoding = encoding
    msg.is_bigendian = int(np.little_endian is False)
    msg.step = width * fmt.bytes_per_pixel
    msg.data = bytes_to_uint8_array(image)
    return msg

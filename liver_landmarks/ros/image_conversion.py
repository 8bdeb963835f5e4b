# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""numpy <-> ``sensor_msgs/Image`` and ``CompressedImage`` without cv_bridge (none exists here).

The decoders work on the raw message fields, so the bag tools use them on ``rosbags``
messages as the node uses them on rclpy messages:

- :func:`decode_image` gives the pixels of the packed encodings in :data:`PIXEL_FORMATS`
  as they are stored (8 or 16 bits, any channel count);
- :func:`decode_colour_frame` gives the network's colour frame (HxWx3 uint8) from every
  encoding in :data:`COLOUR_ENCODINGS`: packed RGB/BGR, 16-bit RGB/BGR, YUV 4:2:2,
  NV12/NV21 and Bayer mosaics, as a laparoscope tower or machine-vision camera sends them;
- :func:`decode_compressed_frame` decodes ``sensor_msgs/CompressedImage`` (JPEG, PNG).

Decoding is zero-copy wherever the layout allows: packed 8-bit frames, and the high bytes
of 16-bit ones, come back as strided views over the message's buffer, row padding
(``step``) included, so they must not outlive a buffer that is reused, and they are
read-only when the buffer is. The other encodings are converted by OpenCV straight from
such views into one new array.
"""

import array
from dataclasses import dataclass

import cv2
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
    'rgb16': PixelFormat(3, 2, 'rgb'),
    'bgr16': PixelFormat(3, 2, 'bgr'),
    'rgba16': PixelFormat(4, 2, 'rgb'),
    'bgra16': PixelFormat(4, 2, 'bgr'),
    'mono8': PixelFormat(1, 1, None),
    'mono16': PixelFormat(1, 2, None),
    '16UC1': PixelFormat(1, 2, None),
}

_SUPPORTED = ', '.join(PIXEL_FORMATS)

#: 4:2:2 encodings (pairs of pixels share one chroma sample) -> OpenCV conversion to RGB.
#: ROS's ``yuv422`` is UYVY and ``yuv422_yuy2`` is YUYV; OpenCV converts them with the
#: BT.601 video-range coefficients capture cards use.
_YUV422_CODES = {
    'yuv422': cv2.COLOR_YUV2RGB_UYVY, 'uyvy': cv2.COLOR_YUV2RGB_UYVY,
    'UYVY': cv2.COLOR_YUV2RGB_UYVY,
    'yuv422_yuy2': cv2.COLOR_YUV2RGB_YUY2, 'yuyv': cv2.COLOR_YUV2RGB_YUY2,
    'YUYV': cv2.COLOR_YUV2RGB_YUY2,
}
#: 4:2:0 encodings (a full-resolution luma plane, then one interleaved chroma plane).
_YUV420_CODES = {'nv12': cv2.COLOR_YUV2RGB_NV12, 'nv21': cv2.COLOR_YUV2RGB_NV21}
#: Bayer mosaics. ROS names a mosaic by its top-left 2x2 block, OpenCV by the block one
#: pixel down and right, hence the shifted names (the mapping cv_bridge uses).
_BAYER_CODES = {
    'rggb': cv2.COLOR_BayerBG2RGB, 'bggr': cv2.COLOR_BayerRG2RGB,
    'gbrg': cv2.COLOR_BayerGR2RGB, 'grbg': cv2.COLOR_BayerGB2RGB,
}

#: Encodings :func:`decode_colour_frame` takes, packed RGB/BGR first.
COLOUR_ENCODINGS = (
    *(name for name, fmt in PIXEL_FORMATS.items() if fmt.channel_order is not None),
    *_YUV422_CODES, *_YUV420_CODES,
    *(f'bayer_{pattern}{bits}' for bits in (8, 16) for pattern in _BAYER_CODES))

#: ``sensor_msgs/CompressedImage`` codecs :func:`decode_compressed_frame` takes, with the
#: signature their data starts with.
COMPRESSED_CODECS = {'jpeg': b'\xff\xd8\xff', 'png': b'\x89PNG\r\n\x1a\n'}
_CODEC_ALIASES = {'jpeg': 'jpeg', 'jpg': 'jpeg', 'png': 'png'}

_COLOUR_ADVICE = (f'publish one of {", ".join(COLOUR_ENCODINGS)}, or a '
                  'sensor_msgs/CompressedImage in JPEG or PNG (image_transport "compressed")')


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


def _check_rows(width: int, height: int, encoding: str, step: int, row_bytes: int,
                rows: int, data_length: int, step_rule: str) -> None:
    """Check a buffer of ``rows`` rows of ``step`` bytes, each holding ``row_bytes`` of pixels.

    ``step_rule`` says, for the message, what the smallest step is made of.
    """
    if width <= 0 or height <= 0:
        raise ImageFormatError(
            'zero_size', f'image is {width}x{height}: width and height must both be at least 1')
    if step < row_bytes:
        raise ImageFormatError(
            'step_too_small',
            f'step {step} is smaller than one row of {width} {encoding} pixels ({row_bytes} '
            f'bytes): step must be at least {step_rule}')
    expected = step * rows
    if data_length != expected:
        rows_formula = f'step*height = {step}*{height}' if rows == height else \
            f'step*rows = {step}*{rows} ({height} rows of pixels and their chroma rows)'
        if data_length < expected:
            raise ImageFormatError(
                'data_too_short',
                f'data holds {data_length} bytes but {rows_formula} = {expected}: '
                'the message is truncated or its step/height are wrong')
        raise ImageFormatError(
            'data_too_long',
            f'data holds {data_length} bytes but {rows_formula} = {expected}: '
            'the width, height or step do not describe the buffer')


def check_layout(width: int, height: int, encoding: str, step: int, data_length: int
                 ) -> PixelFormat:
    """Check that the header fields describe a buffer of ``data_length`` bytes.

    Returns the pixel format; raises :class:`ImageFormatError` with the first problem.
    """
    fmt = pixel_format(encoding)
    _check_rows(width, height, encoding, step, width * fmt.bytes_per_pixel, height,
                data_length, f'width * {fmt.bytes_per_pixel}')
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


def _packed_colour(width, height, step, is_bigendian, fmt, buffer) -> np.ndarray:
    """View the colour channels of a packed RGB(A)/BGR(A) image as 8 bits, without copying.

    A 16-bit channel scaled to 8 bits is its high byte, so the view simply starts at the
    high byte of the first channel and steps over the low ones.
    """
    high_byte = 1 if fmt.bytes_per_channel == 2 and not is_bigendian else 0
    return np.ndarray(shape=(height, width, 3), dtype=np.uint8, buffer=buffer,
                      offset=high_byte,
                      strides=(step, fmt.bytes_per_pixel, fmt.bytes_per_channel))


def _yuv422_to_rgb(width, height, encoding, step, is_bigendian, buffer) -> np.ndarray:
    # An odd width still ends on a whole pixel pair: the last pixel's chroma is in it.
    pairs = (width + 1) // 2
    _check_rows(width, height, encoding, step, 4 * pairs, height, _byte_length(buffer),
                'width * 2, rounded up to whole pixel pairs (4 bytes per pair)')
    packed = np.ndarray(shape=(height, 2 * pairs, 2), dtype=np.uint8, buffer=buffer,
                        strides=(step, 2, 1))
    return cv2.cvtColor(packed, _YUV422_CODES[encoding])[:, :width]


def _yuv420_to_rgb(width, height, encoding, step, is_bigendian, buffer) -> np.ndarray:
    even_width = 2 * ((width + 1) // 2)
    chroma_rows = (height + 1) // 2
    _check_rows(width, height, encoding, step, even_width, height + chroma_rows,
                _byte_length(buffer), 'width rounded up to even (the chroma plane '
                'interleaves U and V for each pixel pair)')
    luma = np.ndarray(shape=(height, even_width), dtype=np.uint8, buffer=buffer,
                      strides=(step, 1))
    chroma = np.ndarray(shape=(chroma_rows, even_width // 2, 2), dtype=np.uint8,
                        buffer=buffer, offset=step * height, strides=(step, 2, 1))
    if height % 2:
        # OpenCV takes whole 2x2 blocks: repeat the last luma row under the last chroma row.
        luma = np.concatenate([luma, luma[-1:]])
    return cv2.cvtColorTwoPlane(luma, chroma, _YUV420_CODES[encoding])[:height, :width]


def _bayer_to_rgb(width, height, encoding, step, is_bigendian, buffer) -> np.ndarray:
    pattern, bits = encoding[len('bayer_'):len('bayer_') + 4], encoding[len('bayer_') + 4:]
    bytes_per_pixel = 2 if bits == '16' else 1
    _check_rows(width, height, encoding, step, width * bytes_per_pixel, height,
                _byte_length(buffer), f'width * {bytes_per_pixel}')
    # 16-bit mosaics are scaled to 8 bits by keeping the high byte, then demosaiced.
    high_byte = 1 if bytes_per_pixel == 2 and not is_bigendian else 0
    mosaic = np.ndarray(shape=(height, width), dtype=np.uint8, buffer=buffer,
                        offset=high_byte, strides=(step, bytes_per_pixel))
    if bytes_per_pixel == 2:
        mosaic = np.ascontiguousarray(mosaic)
    return cv2.cvtColor(mosaic, _BAYER_CODES[pattern])


_CONVERTERS = {
    **dict.fromkeys(_YUV422_CODES, _yuv422_to_rgb),
    **dict.fromkeys(_YUV420_CODES, _yuv420_to_rgb),
    **dict.fromkeys((name for name in COLOUR_ENCODINGS if name.startswith('bayer_')),
                    _bayer_to_rgb),
}


def decode_colour_frame(width: int, height: int, encoding: str, step: int, is_bigendian,
                        data) -> tuple[np.ndarray, str]:
    """Decode a colour image for the network: ``(HxWx3 uint8, 'rgb' or 'bgr')``.

    Takes every encoding in :data:`COLOUR_ENCODINGS`. Packed RGB/BGR frames, 8 or 16
    bits, come back as a zero-copy view over ``data`` (alpha dropped, 16 bits scaled to 8
    by their high byte); YUV, NV12/NV21 and Bayer frames are converted to a new RGB array.
    Images without colour (mono8, mono16, 16UC1) are refused with reason ``'not_colour'``,
    other encodings with ``'unsupported_encoding'``; both messages name what is accepted.
    """
    width, height, step = int(width), int(height), int(step)
    fmt = PIXEL_FORMATS.get(encoding) if isinstance(encoding, str) else None
    converter = _CONVERTERS.get(encoding) if isinstance(encoding, str) else None
    if fmt is not None and fmt.channel_order is None:
        raise ImageFormatError(
            'not_colour',
            f'image encoding {encoding!r} has no colour and the network needs colour: '
            f'{_COLOUR_ADVICE}')
    if fmt is None and converter is None:
        raise ImageFormatError(
            'unsupported_encoding',
            f'image encoding {encoding!r} is not supported: {_COLOUR_ADVICE}')
    buffer = _as_byte_buffer(data)
    if converter is not None:
        return converter(width, height, encoding, step, is_bigendian, buffer), 'rgb'
    check_layout(width, height, encoding, step, _byte_length(buffer))
    return _packed_colour(width, height, step, is_bigendian, fmt, buffer), fmt.channel_order


def parse_compressed_format(format: str) -> tuple[str, str]:  # noqa: A002 (the field's name)
    """Parse a ``CompressedImage.format``: return ``(codec, channel order once decoded)``.

    Takes what image_transport's ``compressed`` plugin writes, ``'<encoding>; jpeg
    compressed <encoding>'`` or ``'<encoding>; png compressed <encoding>'``, and the
    older bare ``'jpeg'`` / ``'png'``. The data hold the pixels in the order of the
    encoding after ``compressed`` (bgr8 for colour, as OpenCV encodes and decodes).
    """
    parts = [part.strip() for part in str(format).split(';')] if isinstance(format, str) \
        else []
    codec, target = None, 'bgr8'
    if len(parts) == 1:
        codec = _CODEC_ALIASES.get(parts[0].lower())
    elif len(parts) == 2:
        words = parts[1].split()
        if len(words) == 3 and words[1] == 'compressed':
            codec, target = _CODEC_ALIASES.get(words[0].lower()), words[2]
    if codec is not None and target.startswith('mono'):
        raise ImageFormatError(
            'not_colour', f'compressed format {format!r} holds a {target} image and the '
                          f'network needs colour: {_COLOUR_ADVICE}')
    order = target[:3] if target[:3] in ('rgb', 'bgr') else None
    if codec is None or order is None:
        raise ImageFormatError(
            'unsupported_compressed_format',
            f'compressed format {format!r} is not supported: send JPEG or PNG as '
            "image_transport's compressed plugin writes them ('bgr8; jpeg compressed bgr8', "
            "'rgb8; png compressed bgr8', or the bare 'jpeg' / 'png'), or a raw "
            f'sensor_msgs/Image in one of {", ".join(COLOUR_ENCODINGS)}')
    return codec, order


def decode_compressed_frame(format: str, data) -> tuple[np.ndarray, str]:  # noqa: A002
    """Decode a ``sensor_msgs/CompressedImage`` for the network: ``(HxWx3 uint8, order)``.

    ``format`` is the message's field (see :func:`parse_compressed_format`). Data that
    are not a whole JPEG or PNG are refused with reason ``'corrupt_compressed'``; formats
    other than JPEG/PNG colour with ``'unsupported_compressed_format'``. 16-bit PNGs are
    scaled to 8 bits and alpha is dropped.
    """
    codec, order = parse_compressed_format(format)
    encoded = np.frombuffer(_as_byte_buffer(data), dtype=np.uint8)
    signature = COMPRESSED_CODECS[codec]
    if encoded[:len(signature)].tobytes() != signature:
        raise ImageFormatError(
            'corrupt_compressed', f'compressed image ({format!r}, {encoded.size} bytes) does '
            f'not start with the {codec.upper()} signature: the data are not a {codec} file')
    try:
        frame = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    except cv2.error:
        frame = None
    if frame is None:
        raise ImageFormatError(
            'corrupt_compressed', f'compressed image ({format!r}, {encoded.size} bytes) '
            f'could not be decoded: the {codec} data are truncated or corrupt')
    return frame, order


def image_msg_to_numpy(msg) -> tuple[np.ndarray, str]:
    """Decode a ``sensor_msgs/Image`` (rclpy or rosbags) to ``(array, encoding)``."""
    image = decode_image(msg.width, msg.height, msg.encoding, msg.step, msg.is_bigendian,
                         msg.data)
    return image, msg.encoding


def _expected_shape(fmt: PixelFormat) -> str:
    return 'HxW' if fmt.channels == 1 else f'HxWx{fmt.channels}'


def new_message(message_class, **fields):
    """Build a ROS message whose ``array('B')`` fields are kept as given, not copied.

    With field checks off (the default of recent distros), rosidl's generated setters copy
    every array assigned to a ``uint8[]`` field; with them on, an ``array('B')`` is taken
    as it is. The checks of the few scalar fields cost far less than copying an image.
    Message classes without the switch (older distros) keep arrays as they are anyway.
    """
    if '_check_fields' in getattr(message_class, '__slots__', ()):
        return message_class(check_fields=True, **fields)
    return message_class(**fields)


def zeroed_uint8_array(size: int) -> tuple[array.array, np.ndarray]:
    """Return a zeroed ``array('B')`` of ``size`` bytes and a writable uint8 view of it.

    Code that fills the view (``dst=`` of OpenCV, ``out=`` of numpy) writes the message
    field directly, without building the values elsewhere and copying them in.
    """
    buffer = array.array('B', b'\0') * size
    return buffer, np.frombuffer(buffer, dtype=np.uint8)


def bytes_to_uint8_array(values: np.ndarray) -> array.array:
    """Copy a numpy array's bytes, in C order, into the ``array('B')`` message fields hold.

    Assigning an ``array('B')`` skips rosidl's per-element checks, which take seconds
    for a full-HD frame.
    """
    buffer = array.array('B')
    buffer.frombytes(np.ascontiguousarray(values).reshape(-1).view(np.uint8))
    return buffer


def wrap_image_msg(data: array.array, height: int, width: int, encoding: str, header=None):
    """Build a ``sensor_msgs/Image`` around ``data`` (unpadded rows, native byte order).

    ``data`` becomes the message's field without a copy: do not change it afterwards.
    """
    from sensor_msgs.msg import Image

    fmt = pixel_format(encoding)
    height, width = int(height), int(width)
    if len(data) * data.itemsize != height * width * fmt.bytes_per_pixel:
        raise ImageFormatError(
            'shape_mismatch', f'{len(data) * data.itemsize} bytes do not hold {height}x{width} '
            f'{encoding} pixels ({height * width * fmt.bytes_per_pixel} bytes)')
    msg = new_message(Image, height=height, width=width, encoding=encoding,
                      is_bigendian=int(np.little_endian is False),
                      step=width * fmt.bytes_per_pixel)
    if header is not None:
        msg.header = header
    msg.data = data
    return msg


def numpy_to_image_msg(image: np.ndarray, encoding: str, header=None):
    """Build a ``sensor_msgs/Image`` from an array laid out as ``encoding`` says.

    ``image`` is ``HxW`` for single-channel encodings or ``HxWxC``; uint8 for 8-bit
    encodings and uint16 for 16-bit ones. Rows are written without padding, in this
    machine's byte order; the pixels are copied once, into the message's field.
    """
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
    return wrap_image_msg(bytes_to_uint8_array(image), height, width, encoding, header)

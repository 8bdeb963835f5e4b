# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Any-size camera frame to the network's input tensor, and results back to the frame.

The network sees 416x320 (width x height) RGB frames normalised with the mean and
standard deviation it was trained with (ImageNet's unless the model card says
otherwise). Frames are resized without keeping the aspect ratio, exactly as the
training data were, so mapping back is an independent scale per axis.
"""

from typing import Sequence

import cv2
from liver_landmarks.landmarks import INPUT_HEIGHT, INPUT_WIDTH
import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHANNEL_ORDERS = ('rgb', 'bgr')


def check_channel_order(channel_order: str) -> str:
    """Return ``channel_order`` if it is 'rgb' or 'bgr', else raise ValueError."""
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f'channel_order must be one of {CHANNEL_ORDERS}, got {channel_order!r}')
    return channel_order


def check_frame(frame: np.ndarray) -> np.ndarray:
    """Return ``frame`` if it is a non-empty HxWx3 uint8 array, else raise ValueError."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(f'frame must be a numpy array, got {type(frame).__name__}')
    if frame.dtype != np.uint8:
        raise ValueError(f'frame must be uint8 (8-bit colour), got dtype {frame.dtype}; '
                         'convert 16-bit or float images to 8-bit first')
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f'frame must have shape (height, width, 3), got {frame.shape}')
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f'frame is empty: shape {frame.shape}')
    return frame


def _readable_by_opencv(image: np.ndarray) -> np.ndarray:
    """Return ``image`` itself when OpenCV reads it in place (padded rows are fine).

    Other layouts (reversed channels, an alpha channel sliced off) are copied once.
    """
    pixel_bytes = image.itemsize * (image.shape[2] if image.ndim == 3 else 1)
    inner = image.strides[1:] == ((pixel_bytes, image.itemsize) if image.ndim == 3
                                  else (image.itemsize,))
    if inner and image.strides[0] >= pixel_bytes * image.shape[1]:
        return image
    return np.ascontiguousarray(image)


def resize_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an image to ``width`` x ``height``: area averaging when shrinking, else bilinear.

    Area averaging keeps thin structures (a 12 px line at 1080 rows) visible after a
    3x shrink, where bilinear sampling would alias them away. It is done in two steps:
    exact 2x2 means (OpenCV's vectorised path) while the image stays at least the
    target size, then area averaging of the rest, which is far cheaper on the smaller
    image than OpenCV's general area path on the whole frame. Box edges fall on the
    halved grid, so values differ from one-step area averaging by a level or two.
    """
    if image.shape[1] == width and image.shape[0] == height:
        return image
    if image.ndim == 3 and image.strides[2] < 0:
        # A channel-reversed view (bgr <-> rgb): channels resize independently, so resize
        # the forward layout in place and reverse the small result instead of the frame.
        return np.ascontiguousarray(resize_image(image[:, :, ::-1], width, height)[:, :, ::-1])
    image = _readable_by_opencv(image)
    if width * height >= image.shape[1] * image.shape[0]:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    while (image.shape[0] % 2 == 0 and image.shape[1] % 2 == 0
           and image.shape[1] // 2 >= width and image.shape[0] // 2 >= height):
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2),
                           interpolation=cv2.INTER_AREA)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def resize_labels(class_ids: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an (h, w) id mask to (height, width) by nearest neighbour, so ids never blend."""
    if class_ids.shape[:2] == (height, width):
        return class_ids
    return cv2.resize(np.ascontiguousarray(class_ids), (width, height),
                      interpolation=cv2.INTER_NEAREST)


class Preprocessor:
    """Turn an HxWx3 uint8 frame into the (1, 3, height, width) float32 network input.

    >>> Preprocessor()(np.zeros((1080, 1920, 3), np.uint8)).shape
    (1, 3, 320, 416)
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 size: tuple[int, int] = (INPUT_WIDTH, INPUT_HEIGHT),
                 model_channel_order: str = 'rgb'):
        """Configure normalisation, the (width, height) size and the model's channel order."""
        mean = np.asarray(mean, dtype=np.float32).reshape(3)
        std = np.asarray(std, dtype=np.float32).reshape(3)
        if np.any(std <= 0):
            raise ValueError(f'std must be positive, got {std.tolist()}')
        self.mean = tuple(float(value) for value in mean)
        self.std = tuple(float(value) for value in std)
        self.width, self.height = int(size[0]), int(size[1])
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f'size must be positive (width, height), got {size}')
        self.model_channel_order = check_channel_order(model_channel_order)
        # (x / 255 - mean) / std == x * scale + offset, one fused pass over the pixels.
        self._scale = (1.0 / (255.0 * std)).astype(np.float32)
        self._offset = (-mean / std).astype(np.float32)

    @classmethod
    def from_model_card(cls, card) -> 'Preprocessor':
        """Build the pre-processor a model card describes (size, mean/std, channel order)."""
        return cls(mean=card.mean, std=card.std, size=(card.input_width, card.input_height),
                   model_channel_order=card.channel_order)

    @property
    def size(self) -> tuple[int, int]:
        """Network input size as (width, height)."""
        return self.width, self.height

    def resize(self, frame: np.ndarray) -> np.ndarray:
        """Resize a frame to the network input size, keeping its channel order."""
        return resize_image(check_frame(frame), self.width, self.height)

    def __call__(self, frame: np.ndarray, channel_order: str = 'rgb') -> np.ndarray:
        """Return the (1, 3, height, width) float32 tensor for an rgb or bgr uint8 frame.

        The frame is resized as uint8 and each channel is normalised straight into its
        plane of the output, the channel swap done by picking the source channel.
        """
        check_channel_order(channel_order)
        resized = self.resize(frame)
        swap = channel_order != self.model_channel_order
        batch = np.empty((1, 3, self.height, self.width), dtype=np.float32)
        for channel, plane in enumerate(batch[0]):
            source = resized[:, :, 2 - channel if swap else channel]
            np.multiply(source, self._scale[channel], out=plane, casting='unsafe')
            plane += self._offset[channel]
        return batch

    def labels_to_frame(self, class_ids: np.ndarray, frame_shape: Sequence[int]) -> np.ndarray:
        """Resize network-resolution ids to a frame of shape (H, W, ...) by nearest neighbour."""
        return resize_labels(class_ids, int(frame_shape[0]), int(frame_shape[1]))

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


def resize_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an image to ``width`` x ``height``: area averaging when shrinking, else bilinear.

    Area averaging keeps thin structures (a 12 px line at 1080 rows) visible after a
    3x shrink, where bilinear sampling would alias them away.
    """
    if image.shape[1] == width and image.shape[0] == height:
        return image
    shrinking = width * height < image.shape[1] * image.shape[0]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=interpolation)


def resize_labels(class_ids: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an (h, w) id mask to (height, width) by nearest neighbour, so ids never blend."""
    if class_ids.shape[:2] == (height, width):
        return class_ids
    return cv2.resize(np.ascontiguousarray(class_ids), (width, height),
                      interpolation=cv2.INTER_NEAREST)


def scale_factors(from_size: Sequence[int], to_size: Sequence[int]) -> tuple[float, float]:
    """Return (sx, sy) that map x and y from an image of ``from_size`` to ``to_size``.

    Sizes are (height, width), as numpy shapes are.
    """
    return to_size[1] / from_size[1], to_size[0] / from_size[0]


def scale_points(points: np.ndarray, from_size: Sequence[int],
                 to_size: Sequence[int]) -> np.ndarray:
    """Map (N, 2) (x, y) pixel coordinates between image sizes given as (height, width).

    Pixel centres map onto pixel centres: x' = (x + 0.5) * sx - 0.5.
    """
    sx, sy = scale_factors(from_size, to_size)
    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    scale = np.array([sx, sy], dtype=np.float32)
    return ((points + 0.5) * scale - 0.5).astype(np.float32)


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
        """Return the (1, 3, height, width) float32 tensor for an rgb or bgr uint8 frame."""
        check_channel_order(channel_order)
        resized = self.resize(frame)
        if channel_order != self.model_channel_order:
            resized = resized[:, :, ::-1]
        normalised = resized.astype(np.float32) * self._scale + self._offset
        return np.ascontiguousarray(normalised.transpose(2, 0, 1))[np.newaxis]

    def labels_to_frame(self, class_ids: np.ndarray, frame_shape: Sequence[int]) -> np.ndarray:
        """Resize network-resolution ids to a frame of shape (H, W, ...) by nearest neighbour."""
        return resize_labels(class_ids, int(frame_shape[0]), int(frame_shape[1]))

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Pixel geometry and line drawing: the one owner of how points map and lines are drawn.

Coordinate convention: a pixel's coordinates are those of its centre, so pixel
``(col, row)`` is the point ``(x, y) = (col, row)`` and a ``W x H`` image covers
``[-0.5, W - 0.5] x [-0.5, H - 0.5]``. Between image sizes, centres map onto centres
(:func:`map_pixel_centres`). Line widths are given at 1080 rows and scale with the
image's height (:func:`line_thickness`). Label masks, P2ILF ground truth and overlays
are all drawn by :func:`draw_polyline`.
"""

import math
from typing import Sequence

import cv2
import numpy as np

#: Image height (rows) at which every ``*_AT_1080`` line width holds.
THICKNESS_REFERENCE_ROWS = 1080
#: Fractional bits of OpenCV's fixed-point coordinates: 1/16 pixel precision.
_SUBPIXEL_SHIFT = 4


def map_pixel_centres(points: np.ndarray, from_size: Sequence[int],
                      to_size: Sequence[int]) -> np.ndarray:
    """Map (N, 2) ``(x, y)`` points between image sizes given as (rows, cols), centre to centre.

    ``X = (x + 0.5) * W / w - 0.5`` and likewise ``Y``; float64 out, not clipped.

    Example (320x416 -> 1080x1920)::

        (0, 0)      -> (1.81, 1.19)
        (415, 319)  -> (1917.19, 1077.81)
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    scale = np.array([to_size[1] / from_size[1], to_size[0] / from_size[0]])
    return (points + 0.5) * scale - 0.5


def line_thickness(rows: int, thickness_at_1080: float) -> int:
    """Return the line width in whole pixels for an image ``rows`` tall: scaled from 1080, >= 1.

    Halves round up (225 rows at 12 px -> 2.5 -> 3), the same everywhere a width is scaled.
    """
    return max(1, int(math.floor(thickness_at_1080 * rows / THICKNESS_REFERENCE_ROWS + 0.5)))


def draw_polyline(image: np.ndarray, points: np.ndarray, colour, thickness: int,
                  antialiased: bool = False, snap_to_pixels: bool = False) -> None:
    """Draw one open polyline of ``(x, y)`` float points into ``image`` in place.

    Coordinates keep 1/16 pixel precision (OpenCV's fixed-point ``shift``), or, with
    ``snap_to_pixels``, are rounded to the nearest pixel centre first, so every vertex
    lands on the pixel its coordinates name (label masks re-drawn from published
    polylines). A one-point polyline becomes a dot of the line's width. Points outside
    the image are clipped.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if not len(points):
        return
    if len(points) == 1:
        points = np.concatenate([points, points])  # cv2.polylines draws nothing for one point
    thickness = max(1, int(thickness))
    line_type = cv2.LINE_AA if antialiased else cv2.LINE_8
    if snap_to_pixels:
        fixed = np.rint(points).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(image, [fixed], False, colour, thickness, line_type)
        return
    fixed = np.round(points * (1 << _SUBPIXEL_SHIFT)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(image, [fixed], False, colour, thickness, line_type, _SUBPIXEL_SHIFT)

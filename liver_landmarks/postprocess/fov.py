# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step a: cull predictions outside the camera's field of view.

Definitions:
    A frame pixel is *dark* when all its channels are <= the threshold (the paper:
    2/255). *Outside* the view is the dark region connected to the image border
    (8-connectivity): dark specks and shadows inside the view are not connected to
    the border and so never punch holes into it. The ``'circle'`` method fits a
    circle (least squares, Kasa) to the pixels inside the view that touch the outside
    region and keeps what lies inside that circle, so a dark instrument reaching the
    rim is not cut out of the view. A fitted circle that keeps less than half of what
    the threshold puts inside (e.g. one fitted to a few stray dark border pixels) is
    not trusted; the threshold result is used instead. The frame may have any size:
    it is resized to the class-id size with nearest-neighbour sampling before
    thresholding, which is the same as thresholding first and resizing the mask.
"""

import cv2
import numpy as np

#: The fitted circle must keep this share of the pixels the threshold puts inside.
MIN_CIRCLE_COVER = 0.5


def dark_border_region(frame: np.ndarray, size: tuple[int, int], threshold: int) -> np.ndarray:
    """Return the dark region connected to the image border, at ``size`` = (rows, cols).

    Inputs:
        frame: ``(H, W, C)`` or ``(H, W)`` uint8 frame, any size and channel order.
        size: ``(rows, cols)`` of the result.
        threshold: a pixel is dark when all channels are <= this value.

    Result:
        ``(rows, cols)`` bool, True outside the field of view.

    Example (``#`` dark, ``.`` bright)::

        frame           result
        ##......        ##......
        #..#....        #.......     <- inner dark speck is not outside
        ........   ->   ........
        ##.....#        ##.....#
    """
    rows, cols = size
    if frame.shape[:2] != (rows, cols):
        frame = cv2.resize(frame, (cols, rows), interpolation=cv2.INTER_NEAREST)
    if frame.ndim == 3 and frame.shape[2] <= 4:
        # cv2.inRange tests all channels at once, about 20x faster than numpy's all(axis=2).
        channels = frame.shape[2]
        dark = cv2.inRange(frame, (0,) * channels, (int(threshold),) * channels) > 0
    else:
        dark = frame <= threshold
        if dark.ndim == 3:
            dark = dark.all(axis=2)
    if not dark.any():
        return dark
    count, labels = cv2.connectedComponents(dark.view(np.uint8), connectivity=8)
    touching = np.zeros(count, dtype=bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        touching[edge] = True
    touching[0] = False
    return touching[labels]


def _kasa_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float] | None:
    """Return the algebraic least-squares circle ``(cx, cy, radius)`` through points, or None."""
    design = np.column_stack([x, y, np.ones_like(x)])
    solution, _, rank, _ = np.linalg.lstsq(design, -(x * x + y * y), rcond=None)
    if rank < 3:
        return None
    cx, cy = -solution[0] / 2.0, -solution[1] / 2.0
    radius_sq = cx * cx + cy * cy - solution[2]
    if radius_sq <= 0:
        return None
    return float(cx), float(cy), float(np.sqrt(radius_sq))


def fit_circle(outside: np.ndarray) -> tuple[float, float, float] | None:
    """Fit a circle to the boundary between the view and the outside region.

    The boundary is every inside pixel with an outside 4-neighbour. Kasa's algebraic
    least squares on their centres gives a first circle; boundary pixels farther than
    ``max(1.5, 3 x median)`` px from it (e.g. round a dark instrument reaching the
    rim) are dropped and the fit repeated, twice. Returns ``(cx, cy, radius)`` in
    pixels, or None when fewer than three boundary pixels exist or they are collinear.
    """
    inside = ~outside
    touches = np.zeros_like(outside)
    touches[1:] |= outside[:-1]
    touches[:-1] |= outside[1:]
    touches[:, 1:] |= outside[:, :-1]
    touches[:, :-1] |= outside[:, 1:]
    ys, xs = np.nonzero(inside & touches)
    x, y = xs.astype(np.float64), ys.astype(np.float64)
    circle = None
    for _ in range(3):
        if x.size < 3:
            return circle
        circle = _kasa_fit(x, y)
        if circle is None:
            return None
        cx, cy, radius = circle
        residual = np.abs(np.hypot(x - cx, y - cy) - radius)
        close = residual <= max(1.5, 3.0 * float(np.median(residual)))
        x, y = x[close], y[close]
    return circle


def field_of_view_mask(frame: np.ndarray | None, size: tuple[int, int],
                       method: str = 'threshold', threshold: int = 2) -> np.ndarray:
    """Return True where the camera sees, at ``size`` = (rows, cols).

    Inputs:
        frame: the input frame (any size), or None (everything inside).
        size: ``(rows, cols)`` of the class-id mask.
        method: ``'threshold'``, ``'circle'`` or ``'none'`` (see the module docstring).
        threshold: dark-pixel threshold, 0..255.

    Example (``#`` dark, ``.`` bright; result ``X`` inside, ``-`` outside)::

        frame          threshold      circle
        ##....##       --XXXX--       --XXXX--
        #.......  ->   -XXXXXXX  or   -XXXXXXX
        #...####       -XXX----       -XXXXXXX    <- a dark tool reaching the rim:
        ##....##       --XXXX--       --XXXX--       outside by threshold, inside
                                                     the fitted circle
    """
    rows, cols = size
    if frame is None or method == 'none':
        return np.ones((rows, cols), dtype=bool)
    outside = dark_border_region(frame, size, threshold)
    if method == 'threshold' or not outside.any():
        return ~outside
    if method != 'circle':
        raise ValueError(f'unknown field-of-view method {method!r}')
    circle = fit_circle(outside)
    if circle is None:
        return ~outside
    cx, cy, radius = circle
    y = (np.arange(rows, dtype=np.float64) - cy)[:, None]
    x = (np.arange(cols, dtype=np.float64) - cx)[None, :]
    inside = x * x + y * y <= radius * radius
    # A circle fitted to a few stray dark border pixels can be tiny: trust it only when
    # it keeps at least half of what the threshold calls inside.
    if np.count_nonzero(inside & ~outside) < MIN_CIRCLE_COVER * np.count_nonzero(~outside):
        return ~outside
    return inside


def cull_outside(class_ids: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Set class ids to background where ``inside`` is False; returns a new array.

    Example::

        ids      inside    result
        1110     0111      0110
        0000  ,  0111  ->  0000
    """
    return np.multiply(class_ids, inside, dtype=np.uint8)

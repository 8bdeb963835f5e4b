# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step f (first half): map polylines to output pixels and resample them by arc length.

Coordinate convention: a pixel's coordinates are those of its centre, so pixel
``(col, row)`` is the point ``(x, y) = (col, row)`` and the image covers
``[-0.5, W - 0.5]``. Scaling from a working size ``w x h`` to an output size
``W x H`` maps centres to centres: ``X = (x + 0.5) * W / w - 0.5`` (and likewise
``Y``), then clips to ``[0, W - 1] x [0, H - 1]`` so every point names a pixel of the
output image.
"""

import numpy as np


def to_output_pixels(points: np.ndarray, working_size: tuple[int, int],
                     output_size: tuple[int, int]) -> np.ndarray:
    """Map ``(x, y)`` points from ``working_size`` to ``output_size`` (both (rows, cols)).

    Example (working 320x416 -> output 1080x1920)::

        (0, 0)      -> (1.81, 1.19)
        (415, 319)  -> (1917.19, 1077.81)
    """
    rows, cols = working_size
    out_rows, out_cols = output_size
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x = np.clip((points[:, 0] + 0.5) * (out_cols / cols) - 0.5, 0.0, out_cols - 1)
    y = np.clip((points[:, 1] + 0.5) * (out_rows / rows) - 0.5, 0.0, out_rows - 1)
    return np.column_stack([x, y])


def arc_length(points: np.ndarray) -> float:
    """Return the length of a polyline (sum of its segment lengths)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    steps = np.diff(points, axis=0)
    return float(np.hypot(steps[:, 0], steps[:, 1]).sum())


def resample_polyline(points: np.ndarray, step: float) -> np.ndarray:
    """Resample a polyline at a fixed arc-length step, keeping both ends.

    Points lie at arc lengths ``0, step, 2 step, ...`` along the input, then the end
    point, which is closer than (or exactly) one step to its predecessor. A polyline of
    zero length gives its single point; an empty one stays empty.

    Inputs:
        points: ``(N, 2)`` ordered ``(x, y)``.
        step: arc-length spacing, > 0.

    Result:
        ``(M, 2)`` float32.

    Example (step 2)::

        (0,0) ------------ (5,0)   ->   (0,0) (2,0) (4,0) (5,0)
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    segments = np.diff(points, axis=0)
    distance = np.concatenate([[0.0], np.cumsum(np.hypot(segments[:, 0], segments[:, 1]))])
    total = distance[-1]
    if total <= 0.0:
        return points[:1].astype(np.float32)
    targets = np.arange(0.0, total, step)
    if total - targets[-1] > 1e-9 * step:
        targets = np.append(targets, total)
    x = np.interp(targets, distance, points[:, 0])
    y = np.interp(targets, distance, points[:, 1])
    return np.column_stack([x, y]).astype(np.float32)

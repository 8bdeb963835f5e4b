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


def _arc_positions(points: np.ndarray) -> np.ndarray:
    """Return the cumulative arc length at each point of a ``(N, 2)`` polyline."""
    steps = np.diff(points, axis=0)
    return np.concatenate(
        ([0.0], np.cumsum(np.sqrt(steps[:, 0] * steps[:, 0] + steps[:, 1] * steps[:, 1]))))


def resample_many(polylines: list[np.ndarray], step: float) -> list[np.ndarray]:
    """Resample several polylines at once; see :func:`resample_polyline`.

    Arc lengths and targets are found per polyline; the interpolation runs once over
    all of them, with each polyline's own arc lengths, so the result equals
    resampling them one at a time.
    """
    sources, positions, targets, segments = [], [], [], []
    offset = 0
    for points in polylines:
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        position = _arc_positions(points)[:len(points)]
        total = position[-1] if len(points) else 0.0
        if total > 0.0:
            wanted = np.arange(0.0, total, step)
            if total - wanted[-1] > 1e-9 * step:
                wanted = np.append(wanted, total)
        else:
            wanted = np.zeros(min(len(points), 1))
        segment = np.searchsorted(position, wanted, side='right') - 1
        segments.append(np.clip(segment, 0, max(len(points) - 2, 0)) + offset)
        sources.append(points)
        positions.append(position)
        targets.append(wanted)
        offset += len(points)
    if not sources:
        return []
    points, position = np.concatenate(sources), np.concatenate(positions)
    wanted = np.concatenate(targets)
    start = np.concatenate(segments).astype(np.intp)
    end = np.minimum(start + 1, max(len(points) - 1, 0))
    span = position[end] - position[start]
    weight = (wanted - position[start]) / np.where(span > 0.0, span, 1.0)
    weight = np.where(span > 0.0, np.minimum(weight, 1.0), 0.0)
    result = points[start] + weight[:, None] * (points[end] - points[start])
    # The end point exactly, not a + (b - a), which may round away from b.
    counts = np.array([len(target) for target in targets])
    lengths = np.array([len(source) for source in sources])
    closing = counts > 1
    result[(np.cumsum(counts) - 1)[closing]] = points[(np.cumsum(lengths) - 1)[closing]]
    return np.split(result.astype(np.float32), np.cumsum(counts)[:-1])


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
    return resample_many([points], step)[0]

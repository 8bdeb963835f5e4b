# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step e (second half): Ramer-Douglas-Peucker simplification of an ordered polyline."""

import numpy as np


def segment_distances(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Return each point's Euclidean distance to the segment ``start``-``end``."""
    direction = end - start
    length_sq = float(direction @ direction)
    offsets = points - start
    if length_sq == 0.0:
        return np.hypot(offsets[:, 0], offsets[:, 1])
    along = np.clip(offsets @ direction / length_sq, 0.0, 1.0)
    nearest = start + along[:, None] * direction
    return np.hypot(points[:, 0] - nearest[:, 0], points[:, 1] - nearest[:, 1])


def simplify_rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Simplify an ordered polyline with Ramer-Douglas-Peucker.

    Keeps both end points; a point is dropped only when it lies within ``epsilon`` of
    the segment that replaces it (distance to the segment, not to its infinite line, so
    the guarantee also holds for curves that turn back). Iterative, one vectorised
    distance computation per kept point.

    Inputs:
        points: ``(N, 2)`` ordered ``(x, y)``.
        epsilon: largest allowed distance of a dropped point, in pixels.

    Result:
        ``(M, 2)`` float32, a subsequence of ``points`` (M <= N; empty stays empty).

    Example (epsilon 1)::

        .....#####          .....#...#
        #####.....    ->    #...#.....     (the kept points)
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    count = len(points)
    keep = np.zeros(count, dtype=bool)
    keep[[0, -1] if count else []] = True
    pending = [(0, count - 1)] if count > 2 else []
    while pending:
        first, last = pending.pop()
        if last - first < 2:
            continue
        distances = segment_distances(points[first + 1:last], points[first], points[last])
        farthest = int(np.argmax(distances))
        if distances[farthest] > epsilon:
            middle = first + 1 + farthest
            keep[middle] = True
            pending += [(first, middle), (middle, last)]
    return points[keep].astype(np.float32)

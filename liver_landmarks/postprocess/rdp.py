# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step e (second half): Ramer-Douglas-Peucker simplification of an ordered polyline."""

from liver_landmarks.postprocess.grouping import run_starts
import numpy as np


def segment_distances(x, y, start_x, start_y, end_x, end_y) -> np.ndarray:
    """Return each point's Euclidean distance to its segment ``start[i]``-``end[i]``.

    All six are float64 arrays of the same length; a zero-length segment measures to
    its point. Only correctly rounded operations (+, -, *, /, sqrt, min, max) are used,
    one per array operation, so any implementation that follows the same steps gets
    bit-identical distances.
    """
    direction_x, direction_y = end_x - start_x, end_y - start_y
    offset_x, offset_y = x - start_x, y - start_y
    length_sq = direction_x * direction_x + direction_y * direction_y
    along = (offset_x * direction_x + offset_y * direction_y) / np.where(
        length_sq > 0.0, length_sq, 1.0)
    along = np.minimum(np.maximum(along, 0.0), 1.0)
    across_x = offset_x - along * direction_x
    across_y = offset_y - along * direction_y
    return np.sqrt(across_x * across_x + across_y * across_y)


def simplify_rdp_many(polylines: list[np.ndarray], epsilon: float) -> list[np.ndarray]:
    """Simplify several ordered polylines at once; see :func:`simplify_rdp`.

    The polylines are laid end to end with their end points kept, so no segment spans
    two of them. Every open point carries the indices of its segment's ends; one
    vectorised pass per recursion depth finds each segment's farthest point and
    splits the segments where it lies farther than ``epsilon``.
    """
    lengths = [len(polyline) for polyline in polylines]
    if not lengths:
        return []
    points = np.concatenate([np.asarray(polyline, dtype=np.float64).reshape(-1, 2)
                             for polyline in polylines])
    x, y = np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])
    bounds = np.cumsum([0] + lengths)
    keep = np.zeros(len(points), dtype=bool)
    first_of = np.repeat(bounds[:-1], lengths)
    last_of = np.repeat(bounds[1:] - 1, lengths)
    keep[first_of] = True
    keep[last_of] = True
    open_points = np.flatnonzero(~keep)
    starts, ends = first_of[open_points], last_of[open_points]
    while open_points.size:
        distances = segment_distances(x[open_points], y[open_points], x[starts], y[starts],
                                      x[ends], y[ends])
        # Farthest point per segment; the stable sort keeps the first of equals first.
        by_segment = np.lexsort((-distances, starts))
        farthest = by_segment[run_starts(starts[by_segment])]
        farthest = farthest[distances[farthest] > epsilon]
        if farthest.size == 0:
            break
        split_at = np.full(len(points), -1)
        split_at[starts[farthest]] = open_points[farthest]
        middle = split_at[starts]
        keep[open_points[farthest]] = True
        # Points of a segment that does not split stay dropped for good.
        still_open = (middle >= 0) & (open_points != middle)
        left = open_points < middle
        ends = np.where(left, middle, ends)[still_open]
        starts = np.where(left, starts, middle)[still_open]
        open_points = open_points[still_open]
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    return np.split(points[keep].astype(np.float32), kept_before[bounds[1:-1]])


def simplify_rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Simplify an ordered polyline with Ramer-Douglas-Peucker.

    Keeps both end points. Each segment between kept points splits at its farthest
    point (the first of equals) while that point lies farther than ``epsilon`` from the
    segment, measured to the segment, not its infinite line, so the guarantee also
    holds for curves that turn back. All segments of one recursion depth are handled
    in one vectorised pass; the kept set is the same as the recursive algorithm's.

    Inputs:
        points: ``(N, 2)`` ordered ``(x, y)``.
        epsilon: largest allowed distance of a dropped point, in pixels.

    Result:
        ``(M, 2)`` float32, a subsequence of ``points`` (M <= N; empty stays empty).

    Example (epsilon 1)::

        .....#####          .....#...#
        #####.....    ->    #...#.....     (the kept points)
    """
    return simplify_rdp_many([points], epsilon)[0]

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step f (first half): map polylines to output pixels and resample them by arc length.

Points map from the working size to the output size centre to centre
(:func:`liver_landmarks.drawing.map_pixel_centres`), then are clipped to
``[0, W - 1] x [0, H - 1]`` so every point names a pixel of the output image.
"""

from liver_landmarks.drawing import map_pixel_centres
import numpy as np


def to_output_pixels(points: np.ndarray, working_size: tuple[int, int],
                     output_size: tuple[int, int]) -> np.ndarray:
    """Map ``(x, y)`` points from ``working_size`` to ``output_size`` (both (rows, cols)).

    Example (working 320x416 -> output 1080x1920)::

        (0, 0)      -> (1.81, 1.19)
        (415, 319)  -> (1917.19, 1077.81)
    """
    out_rows, out_cols = output_size
    mapped = map_pixel_centres(points, working_size, output_size)
    return np.column_stack([np.clip(mapped[:, 0], 0.0, out_cols - 1),
                            np.clip(mapped[:, 1], 0.0, out_rows - 1)])


def arc_length(points: np.ndarray) -> float:
    """Return the length of a polyline (sum of its segment lengths)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    steps = np.diff(points, axis=0)
    return float(np.hypot(steps[:, 0], steps[:, 1]).sum())


def resample_many(polylines: list[np.ndarray], step: float) -> list[np.ndarray]:
    """Resample several polylines at once; see :func:`resample_polyline`.

    Everything runs on the polylines laid end to end, with a fixed number of array
    operations per call however many polylines there are.
    """
    if not polylines:
        return []
    lengths = np.array([len(points) for points in polylines])
    points = np.concatenate([np.asarray(points, dtype=np.float64).reshape(-1, 2)
                             for points in polylines])
    firsts = np.cumsum(lengths) - lengths
    steps = np.diff(points, axis=0)
    step_length = np.sqrt(steps[:, 0] * steps[:, 0] + steps[:, 1] * steps[:, 1])
    # Arc length from each polyline's own first point: cumulative sum with the steps
    # between polylines left out, minus the value at the polyline's start.
    inside = np.ones(len(step_length), dtype=bool)
    inside[firsts[(lengths > 0) & (firsts > 0)] - 1] = False
    cumulative = np.concatenate(([0.0], np.cumsum(np.where(inside, step_length, 0.0))))
    owner = np.repeat(np.arange(len(polylines)), lengths)
    position = cumulative - cumulative[np.minimum(firsts, len(cumulative) - 1)][owner]
    nonempty = lengths > 0
    totals = np.zeros(len(polylines))
    totals[nonempty] = position[(firsts + lengths - 1)[nonempty]]
    # Targets 0, step, 2 step, ... below the total (as many as np.arange gives), then the
    # total itself unless the last regular target already lies there.
    regular = np.where(totals > 0, np.ceil(totals / step), nonempty).astype(int)
    closing = (totals > 0) & (totals - (regular - 1) * step > 1e-9 * step)
    counts = regular + closing
    target_owner = np.repeat(np.arange(len(polylines)), counts)
    rank = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    wanted = rank * step
    is_closing = np.zeros(counts.sum(), dtype=bool)
    is_closing[(np.cumsum(counts) - 1)[closing]] = True
    wanted[is_closing] = totals[target_owner[is_closing]]
    # Segment of each target: merge vertices and targets per polyline by arc length (a
    # vertex before a target at the same length); the vertices passed so far give it.
    is_target = np.concatenate([np.zeros(len(position), dtype=bool),
                                np.ones(len(wanted), dtype=bool)])
    merged = np.lexsort((is_target, np.concatenate([position, wanted]),
                         np.concatenate([owner, target_owner])))
    vertices_passed = np.cumsum(~is_target[merged])
    start = np.empty(len(wanted), dtype=np.intp)
    start[merged[is_target[merged]] - len(position)] = vertices_passed[is_target[merged]] - 1
    last_of = (firsts + lengths - 1)[target_owner]
    start = np.clip(start, firsts[target_owner], np.maximum(last_of - 1, firsts[target_owner]))
    end = np.minimum(start + 1, last_of)
    span = position[end] - position[start]
    weight = np.where(span > 0.0, np.minimum(
        (wanted - position[start]) / np.where(span > 0.0, span, 1.0), 1.0), 0.0)
    result = points[start] + weight[:, None] * (points[end] - points[start])
    # The end point exactly, not a + (b - a), which may round away from b.
    result[is_closing] = points[last_of[is_closing]]
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

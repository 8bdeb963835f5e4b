# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step c: join same-class fragments whose end points are close.

The join works on skeletons: an *end point* is a skeleton pixel with at most one
8-neighbour (an isolated pixel is its own end point), which only a thinned curve
has. Joining end to end, rather than the closest pixels of two thick blobs, never
bridges two parallel lines in their middle. The post-processor therefore runs this
step right after skeletonisation (step d), on each class on its own, so classes are
never joined to each other.
"""

import cv2
import numpy as np

_NEIGHBOURHOOD = np.ones((3, 3), dtype=np.float32)


def end_points(skeleton: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(rows, cols)`` of the skeleton pixels with at most one 8-neighbour."""
    binary = np.asarray(skeleton).astype(np.uint8, copy=False)
    neighbours = cv2.filter2D(binary, -1, _NEIGHBOURHOOD, borderType=cv2.BORDER_CONSTANT)
    return np.nonzero((binary > 0) & (neighbours <= 2))


def join_fragments(skeleton: np.ndarray, max_gap_px: float) -> np.ndarray:
    """Connect end points of different skeleton fragments lying at most ``max_gap_px`` apart.

    End-point pairs of different 8-connected components are taken in order of
    increasing distance (pixel centre to pixel centre; ties by raster order); a pair
    whose fragments are not yet connected gets a one-pixel 8-connected ``cv2.line``,
    Kruskal style, so each pair of fragments is linked at most once and no loops
    appear. Closed loops have no end points and are never joined.

    Inputs:
        skeleton: ``(H, W)`` bool skeleton of one class.
        max_gap_px: largest end-point distance that is bridged.

    Result:
        A new bool skeleton with the bridges drawn.

    Example (gap of 3 px, ``max_gap_px`` = 5)::

        ####...####      ###########
        ...........  ->  ...........
    """
    joined = np.asarray(skeleton, dtype=bool).copy()
    if max_gap_px <= 0 or not joined.any():
        return joined
    count, labels = cv2.connectedComponents(joined.view(np.uint8), connectivity=8)
    if count <= 2:
        return joined
    rows, cols = end_points(joined)
    owner = labels[rows, cols]
    distance = np.hypot(rows[:, None] - rows[None, :], cols[:, None] - cols[None, :])
    first, second = np.nonzero((distance <= max_gap_px) & (owner[:, None] < owner[None, :]))
    if first.size == 0:
        return joined
    order = np.lexsort((second, first, distance[first, second]))
    group = np.arange(count)

    def root(node):
        while group[node] != node:
            node = group[node]
        return node

    canvas = joined.view(np.uint8)
    for a, b in zip(first[order], second[order]):
        root_a, root_b = root(owner[a]), root(owner[b])
        if root_a == root_b:
            continue
        group[max(root_a, root_b)] = min(root_a, root_b)
        cv2.line(canvas, (int(cols[a]), int(rows[a])), (int(cols[b]), int(rows[b])), 1, 1,
                 cv2.LINE_8)
    return joined

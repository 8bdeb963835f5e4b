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
from liver_landmarks.postprocess.graph import skeleton_graph, SkeletonGraph
import numpy as np


def end_points(graph: SkeletonGraph) -> np.ndarray:
    """Return the nodes of a skeleton graph with at most one neighbour, ascending."""
    degree = np.bincount(graph.tails, minlength=graph.size)
    return np.flatnonzero(degree <= 1)


def bridges(graph: SkeletonGraph, max_gap_px: float) -> list[tuple[tuple[int, int],
                                                                   tuple[int, int]]]:
    """Return the lines ``((x0, y0), (x1, y1))`` that join close fragments of a skeleton.

    End-point pairs of different components are taken in order of increasing
    distance (pixel centre to pixel centre; ties by the raster order of the first,
    then the second end point); a pair whose
    fragments are not yet connected gets a line, Kruskal style, so each pair of
    fragments is linked at most once and no loops appear. Closed loops have no end
    points and are never joined. Coordinates are those of the graph (absolute).
    """
    if max_gap_px <= 0 or graph.size == 0 or graph.component.max() == 0:
        return []
    ends = end_points(graph)
    rows, cols, owner = graph.rows[ends], graph.cols[ends], graph.component[ends]
    row_steps, col_steps = rows[:, None] - rows[None, :], cols[:, None] - cols[None, :]
    distance = np.sqrt(row_steps * row_steps + col_steps * col_steps)
    first, second = np.nonzero((distance <= max_gap_px) & (owner[:, None] != owner[None, :]))
    ordered = first < second
    first, second = first[ordered], second[ordered]
    if first.size == 0:
        return []
    order = np.lexsort((second, first, distance[first, second]))
    group = np.arange(int(graph.component.max()) + 1)

    def root(node):
        while group[node] != node:
            node = group[node]
        return node

    lines = []
    for a, b in zip(first[order], second[order]):
        root_a, root_b = root(owner[a]), root(owner[b])
        if root_a != root_b:
            group[max(root_a, root_b)] = min(root_a, root_b)
            lines.append(((int(cols[a]), int(rows[a])), (int(cols[b]), int(rows[b]))))
    return lines


def draw_bridges(skeleton: np.ndarray, lines, origin: tuple[int, int] = (0, 0)) -> None:
    """Draw one-pixel 8-connected lines into a bool skeleton in place.

    ``lines`` are in absolute coordinates; ``origin`` is the skeleton's top-left pixel.
    """
    canvas = skeleton.view(np.uint8)
    for (x0, y0), (x1, y1) in lines:
        cv2.line(canvas, (x0 - origin[0], y0 - origin[1]), (x1 - origin[0], y1 - origin[1]),
                 1, 1, cv2.LINE_8)


def join_fragments(skeleton: np.ndarray, max_gap_px: float) -> np.ndarray:
    """Connect end points of different skeleton fragments lying at most ``max_gap_px`` apart.

    See :func:`bridges` for which end points are joined; each join is a one-pixel
    8-connected ``cv2.line``.

    Inputs:
        skeleton: ``(H, W)`` bool skeleton of one class.
        max_gap_px: largest end-point distance that is bridged.

    Result:
        A new bool skeleton with the bridges drawn.

    Example (gap of 3 px, ``max_gap_px`` = 5)::

        ####...####      ###########
        ...........  ->  ...........
    """
    joined = np.array(skeleton, dtype=bool)
    draw_bridges(joined, bridges(skeleton_graph(joined), max_gap_px))
    return joined

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step e (first half): order a skeleton into curve-ordered paths.

Definitions:
    Path lengths are geodesic: sums of 8-neighbour steps (1 or sqrt 2) along the
    skeleton. For each connected skeleton component the *main path* joins the two
    ends of its longest path, found by a double sweep: the farthest node ``a`` from
    the component's first pixel (raster order), then the farthest node ``b`` from
    ``a``. On a tree this is exactly the longest path. The main path runs from its
    end with the smaller ``(x, y)`` to the other.

    The pixels left over form *branches*. Each connected group of them hangs off
    the pixels already emitted; its branch starts at the emitted pixel it touches
    (the *junction*) and runs to the group's pixel farthest from it. A branch shorter
    than ``min_branch_length_px`` is a spur and is dropped with the rest of its group
    (any sub-branch would be shorter still). Otherwise its pixels are emitted and the
    remaining pixels are treated the same way, until none remain.

    Ties (equal distances) go to the smaller raster index; equal-length routes are
    ruled out by the graph's tie-break weights (see :mod:`.graph`).

Everything is vectorised: scipy.sparse.csgraph finds components, Dijkstra distances
and predecessor trees, and unrolls the predecessor chains; Python loops run over
components and branch rounds, never over pixels.
"""

from liver_landmarks.postprocess.graph import skeleton_graph, SkeletonGraph
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, depth_first_order, dijkstra

_PENDING, _EMITTED, _DROPPED = 0, 1, 2


def farthest_per_group(nodes: np.ndarray, values: np.ndarray,
                       groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, per distinct group (ascending), the node with the largest value and that value.

    Ties go to the smallest node index.
    """
    order = np.lexsort((nodes, -values, groups))
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    return nodes[order[starts]], values[order[starts]]


def predecessor_chains(predecessors: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
    """Unroll the predecessor tree from each end back to its source, without a pixel loop.

    The chains must be disjoint (ends in different components). A virtual root points
    at every end and every node at its predecessor; a depth-first walk from the root
    then visits each chain in one piece, end first.

    Result:
        One node-index array per end, ``[end, ..., source]``, in no particular order.
    """
    size = predecessors.size
    children = np.flatnonzero(predecessors >= 0)
    root = size
    tree = csr_matrix((np.ones(children.size + ends.size, dtype=np.int8),
                       (np.concatenate([children, np.full(ends.size, root)]),
                        np.concatenate([predecessors[children], ends]))),
                      shape=(size + 1, size + 1))
    walk = depth_first_order(tree, root, directed=True, return_predecessors=False)[1:]
    is_source = predecessors[walk] < 0
    return np.split(walk, np.flatnonzero(is_source)[:-1] + 1)


def _main_paths(graph: SkeletonGraph) -> list[tuple[float, np.ndarray]]:
    """Return ``(length, nodes)`` of each component's longest path (double sweep)."""
    matrix = graph.matrix
    nodes = np.arange(graph.size)
    _, component = connected_components(matrix, directed=True, connection='weak')
    _, seeds = np.unique(component, return_index=True)
    distance = dijkstra(matrix, directed=True, indices=seeds, min_only=True)
    starts, _ = farthest_per_group(nodes, distance, component)
    distance, predecessors, _ = dijkstra(matrix, directed=True, indices=starts, min_only=True,
                                         return_predecessors=True)
    ends, lengths = farthest_per_group(nodes, distance, component)
    length_of = dict(zip(ends.tolist(), lengths.tolist()))
    paths = []
    for chain in predecessor_chains(predecessors, ends):
        head, tail = chain[0], chain[-1]
        if (graph.cols[head], graph.rows[head]) > (graph.cols[tail], graph.rows[tail]):
            chain = chain[::-1]
        paths.append((length_of[int(head)], chain))
    return paths


def _attachments(graph: SkeletonGraph, state: np.ndarray):
    """Return pending nodes touching emitted ones, their junction node and step length.

    A pending node touching several emitted nodes takes the nearest (ties: smallest index).
    """
    pending = state == _PENDING
    emitted = state == _EMITTED
    first, second, weight = graph.first, graph.second, graph.weight
    forward = pending[first] & emitted[second]
    backward = pending[second] & emitted[first]
    touching = np.concatenate([first[forward], second[backward]])
    junction = np.concatenate([second[forward], first[backward]])
    step = np.concatenate([weight[forward], weight[backward]])
    order = np.lexsort((junction, step, touching))
    touching, junction, step = touching[order], junction[order], step[order]
    best = np.r_[True, touching[1:] != touching[:-1]]
    return touching[best], junction[best], step[best]


def _branches(graph: SkeletonGraph, state: np.ndarray,
              min_length: float) -> list[tuple[float, np.ndarray]]:
    """Emit branches round by round until no pending node remains (updates ``state``)."""
    branches = []
    while np.any(state == _PENDING):
        pending = state == _PENDING
        sources, junctions, steps = _attachments(graph, state)
        if sources.size == 0:
            state[pending] = _DROPPED
            break
        junction_of = np.full(graph.size, -1)
        junction_of[sources] = junctions
        step_of = np.zeros(graph.size)
        step_of[sources] = steps
        matrix = graph.submatrix(pending)
        _, group = connected_components(matrix, directed=True, connection='weak')
        distance, predecessors, nearest = dijkstra(
            matrix, directed=True, indices=sources, min_only=True, return_predecessors=True)
        candidates = np.flatnonzero(pending)
        total = distance[candidates] + step_of[nearest[candidates]]
        tips, lengths = farthest_per_group(candidates, total, group[candidates])
        long_enough = lengths >= min_length
        spur_groups = group[tips[~long_enough]]
        state[pending & np.isin(group, spur_groups)] = _DROPPED
        kept_tips = tips[long_enough]
        if kept_tips.size == 0:
            continue
        length_of = dict(zip(kept_tips.tolist(), lengths[long_enough].tolist()))
        for chain in predecessor_chains(predecessors, kept_tips):
            state[chain] = _EMITTED
            branch = np.concatenate([[junction_of[chain[-1]]], chain[::-1]])
            branches.append((length_of[int(chain[0])], branch))
    return branches


def order_skeleton(skeleton: np.ndarray, min_branch_length_px: float = 10.0,
                   origin: tuple[int, int] = (0, 0)) -> list[np.ndarray]:
    """Split a skeleton into ordered polylines: main paths first, then branches.

    Inputs:
        skeleton: ``(H, W)`` bool one-pixel-wide skeleton (e.g. from
            :func:`~liver_landmarks.postprocess.skeleton.skeletonize_mask`).
        min_branch_length_px: branches shorter than this (geodesic length, counted from
            the junction) are dropped as spurs.
        origin: ``(x, y)`` of the skeleton's top-left pixel when it is a crop.

    Result:
        ``(N, 2)`` float32 ``(x, y)`` pixel coordinates per polyline, ordered along the
        curve, longest polyline first (ties: smaller first point ``(x, y)``). An isolated
        pixel gives a one-point polyline; an empty skeleton gives ``[]``.

    Example (``1`` main path, ``2`` branch, ``s`` spur dropped)::

        #.......#        1.......1
        .#.....#.        .1.....1.
        ..#####..   ->   ..11111..      -> [main path (9 px along the V)],
        ....#....        ....2....         [branch from the junction down]
        ....#....        ....2....
    """
    graph = skeleton_graph(np.asarray(skeleton, dtype=bool), origin)
    if graph.size == 0:
        return []
    state = np.full(graph.size, _PENDING, dtype=np.int8)
    pieces = _main_paths(graph)
    state[np.concatenate([nodes for _, nodes in pieces])] = _EMITTED
    pieces += _branches(graph, state, min_branch_length_px)
    pieces.sort(key=lambda piece: (-piece[0], graph.cols[piece[1][0]], graph.rows[piece[1][0]]))
    return [np.column_stack([graph.cols[nodes], graph.rows[nodes]]).astype(np.float32)
            for _, nodes in pieces]

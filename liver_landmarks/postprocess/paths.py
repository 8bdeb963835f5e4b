# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step e (first half): order a skeleton into curve-ordered paths.

Definitions:
    Distances for finding paths are hop counts along the 8-neighbour graph, searched
    breadth-first with neighbours in raster order, which fixes every tie. Lengths
    for comparing paths with thresholds are Euclidean arc lengths of the pixel
    centres.

    *Main path*: for each connected skeleton component, a double sweep. Search from
    the component's first pixel (raster order); the last pixel visited is ``a``.
    Search from ``a``; the last pixel visited is ``b``. The main path is the search
    tree's route from ``a`` to ``b``; on a tree-shaped skeleton this is a longest
    path. It runs from its end with the smaller ``(x, y)`` to the other.

    *Branches*: the pixels left over are claimed, breadth-first, by the nearest
    *source*, a leftover pixel that touches an emitted pixel (all sources searched
    at once, in raster order). Each source's claim yields one branch: from the
    *junction* (the emitted neighbour of the source; a 4-neighbour before a diagonal
    one, then raster order) through the source to the last pixel the search reached
    in that claim. A branch shorter than ``min_branch_length_px`` is a spur and is
    dropped with its whole claim; otherwise its pixels are emitted and the rest of
    the claim waits for the next round, until no pixel is left.

Everything is vectorised: scipy.sparse.csgraph searches all components or sources
at once from a virtual root and unrolls predecessor chains; Python loops run over
components, branches and rounds, never over pixels.
"""

from liver_landmarks.postprocess.graph import skeleton_graph, SkeletonGraph, sorted_csr
from liver_landmarks.postprocess.grouping import last_per_group, run_starts
import numpy as np
from scipy.sparse.csgraph import breadth_first_order, depth_first_order

_PENDING, _EMITTED, _DROPPED = 0, 1, 2


def predecessor_chains(predecessors: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
    """Unroll a search tree from each end back to its source, without a pixel loop.

    ``predecessors`` comes from a search over ``n`` nodes plus a virtual root ``n``:
    a chain stops at the node whose predecessor is the root (or that has none). The
    chains must be disjoint. A second tree points from every node to its predecessor
    and from the root to every end; a depth-first walk from the root then visits each
    chain in one piece, end first.

    Result:
        One node-index array per end, ``[end, ..., source]``, in no particular order.
    """
    root = predecessors.size - 1
    children = np.flatnonzero((predecessors[:root] >= 0) & (predecessors[:root] < root))
    tree = sorted_csr(np.concatenate([children, np.full(ends.size, root)]),
                      np.concatenate([predecessors[children], np.sort(ends)]), root + 1)
    walk = depth_first_order(tree, root, directed=True, return_predecessors=False)[1:]
    parent = predecessors[walk]
    is_source = (parent < 0) | (parent == root)
    return np.split(walk, np.flatnonzero(is_source)[:-1] + 1)


def polyline_length(graph: SkeletonGraph, nodes: np.ndarray) -> float:
    """Return the Euclidean arc length through the centres of ``nodes``."""
    return float(np.hypot(np.diff(graph.rows[nodes]), np.diff(graph.cols[nodes])).sum())


def _main_paths(graph: SkeletonGraph, component: np.ndarray) -> list[np.ndarray]:
    """Return each component's main path (double sweep), oriented from its smaller end."""
    size = graph.size
    _, seeds = np.unique(component, return_index=True)
    sweep = breadth_first_order(graph.rooted(None, seeds), size, directed=True,
                                return_predecessors=False)
    starts = last_per_group(sweep[1:], component)
    sweep, predecessors = breadth_first_order(graph.rooted(None, starts), size, directed=True)
    ends = last_per_group(sweep[1:], component)
    paths = []
    for chain in predecessor_chains(predecessors, ends):
        head, tail = chain[0], chain[-1]
        if (graph.cols[head], graph.rows[head]) > (graph.cols[tail], graph.rows[tail]):
            chain = chain[::-1]
        paths.append(chain)
    return paths


def _sources(graph: SkeletonGraph, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the pending nodes touching emitted ones and, for each, its junction node."""
    tails, heads = graph.tails, graph.heads
    touching = (state[tails] == _PENDING) & (state[heads] == _EMITTED)
    tails, heads, steps = tails[touching], heads[touching], graph.steps[touching]
    order = np.lexsort((heads, steps, tails))
    tails, heads = tails[order], heads[order]
    best = run_starts(tails)
    return tails[best], heads[best]


def _claims(predecessors: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Return, per node, the source whose search tree holds it (itself when unreached)."""
    size = predecessors.size - 1
    owner = predecessors[:size].copy()
    unreached = owner < 0
    owner[unreached] = np.flatnonzero(unreached)
    owner[sources] = sources
    # Pointer jumping: each round doubles the distance looked up the tree.
    while True:
        jumped = owner[owner]
        if np.array_equal(jumped, owner):
            return owner
        owner = jumped


def _branches(graph: SkeletonGraph, state: np.ndarray,
              min_length: float) -> list[tuple[float, np.ndarray]]:
    """Emit branches round by round until no pending node remains (updates ``state``)."""
    branches = []
    size = graph.size
    while np.any(state == _PENDING):
        pending = state == _PENDING
        sources, junctions = _sources(graph, state)
        if sources.size == 0:
            state[pending] = _DROPPED
            break
        junction_of = np.full(size, -1)
        junction_of[sources] = junctions
        visited, predecessors = breadth_first_order(graph.rooted(pending, sources), size,
                                                    directed=True)
        visited = visited[1:]
        state[pending & (predecessors[:size] < 0)] = _DROPPED
        owner = _claims(predecessors, sources)
        tips = last_per_group(visited, owner)
        spur_sources = []
        for chain in predecessor_chains(predecessors, tips):
            branch = np.concatenate([[junction_of[chain[-1]]], chain[::-1]])
            length = polyline_length(graph, branch)
            if length >= min_length:
                state[chain] = _EMITTED
                branches.append((length, branch))
            else:
                spur_sources.append(chain[-1])
        if spur_sources:
            state[pending & np.isin(owner, spur_sources)] = _DROPPED
    return branches


def order_graph(graph: SkeletonGraph,
                min_branch_length_px: float) -> list[tuple[float, np.ndarray]]:
    """Return ``(arc length, node indices)`` of the main paths and branches of a graph.

    Main paths come first, then branches in the order they were found. See the
    module docstring for the definitions.
    """
    if graph.size == 0:
        return []
    state = np.full(graph.size, _PENDING, dtype=np.int8)
    paths = _main_paths(graph, graph.component)
    state[np.concatenate(paths)] = _EMITTED
    return ([(polyline_length(graph, nodes), nodes) for nodes in paths]
            + _branches(graph, state, min_branch_length_px))


def longest_first(graph: SkeletonGraph,
                  paths: list[tuple[float, np.ndarray]]) -> list[tuple[float, np.ndarray]]:
    """Sort ``(length, nodes)`` paths by decreasing length, then first and last point ``(x, y)``.

    Two different paths never share both end points, so the order is total.
    """
    def key(path):
        length, nodes = path
        return (-length, int(graph.cols[nodes[0]]), int(graph.rows[nodes[0]]),
                int(graph.cols[nodes[-1]]), int(graph.rows[nodes[-1]]))

    return sorted(paths, key=key)


def path_points(graph: SkeletonGraph, nodes: np.ndarray) -> np.ndarray:
    """Return the ``(N, 2)`` float32 ``(x, y)`` coordinates of a node-index path."""
    return np.column_stack([graph.cols[nodes], graph.rows[nodes]]).astype(np.float32)


def order_skeleton(skeleton: np.ndarray, min_branch_length_px: float = 10.0,
                   origin: tuple[int, int] = (0, 0)) -> list[np.ndarray]:
    """Split a skeleton into ordered polylines: a main path per component, then branches.

    Inputs:
        skeleton: ``(H, W)`` bool one-pixel-wide skeleton (e.g. from
            :func:`~liver_landmarks.postprocess.skeleton.skeletonize_mask`).
        min_branch_length_px: branches shorter than this (arc length from the
            junction) are dropped as spurs.
        origin: ``(x, y)`` of the skeleton's top-left pixel when it is a crop.

    Result:
        ``(N, 2)`` float32 ``(x, y)`` pixel coordinates per polyline, ordered along the
        curve, longest polyline first (ties: smaller first, then last, point
        ``(x, y)``). An isolated pixel gives a one-point polyline; an empty skeleton gives
        ``[]``.

    Example (``1`` main path, ``2`` branch, ``s`` a spur below the threshold)::

        #.......#        1.......1
        .#.....#.        .1.....1.
        ..#####..   ->   ..11111..      -> [main path along the top],
        ...#.#...        ...s.2...         [branch from the junction down]
        .....#...        .....2...
    """
    graph = skeleton_graph(skeleton, origin)
    paths = longest_first(graph, order_graph(graph, min_branch_length_px))
    return [path_points(graph, nodes) for _, nodes in paths]

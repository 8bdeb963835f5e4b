# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The 8-neighbour graph of a skeleton's pixels, built without loops over pixels.

Nodes are the skeleton pixels in raster order (row by row, left to right). An edge
joins two 8-neighbours. The adjacency is kept as a CSR matrix whose rows list their
neighbours in ascending order, so scipy's breadth-first search visits neighbours in
index order and its result is reproducible by any plain BFS.
"""

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.sparse import csr_matrix

#: The 8-neighbourhood in raster order: row steps, column steps, centre distances.
_ROW_STEPS = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
_COL_STEPS = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
_STEP_LENGTHS = np.hypot(_ROW_STEPS, _COL_STEPS)


def sorted_csr(tails: np.ndarray, heads: np.ndarray, size: int) -> csr_matrix:
    """Return the ``size x size`` 0/1 CSR matrix of the arcs ``tails -> heads``.

    The arcs must already be sorted by ``(tail, head)``; this builds the CSR arrays
    directly, which is several times cheaper than scipy's COO conversion.
    """
    indptr = np.zeros(size + 1, dtype=np.int32)
    np.cumsum(np.bincount(tails, minlength=size), out=indptr[1:])
    return csr_matrix((np.ones(heads.size), heads.astype(np.int32), indptr),
                      shape=(size, size))


@dataclass
class SkeletonGraph:
    """Skeleton pixels and their 8-neighbour adjacency.

    Fields:
        rows, cols: absolute pixel coordinates of the nodes, raster order.
        tails, heads: every arc (each undirected edge both ways), sorted by (tail, head).
        steps: centre distance of each arc, 1 or sqrt 2.
        component: per node, the id (from 0) of its connected component; ids rise
            with each component's first node.
    """

    rows: np.ndarray
    cols: np.ndarray
    tails: np.ndarray
    heads: np.ndarray
    steps: np.ndarray
    component: np.ndarray

    @property
    def size(self) -> int:
        """Return the number of nodes."""
        return self.rows.size

    def rooted(self, keep: np.ndarray | None, sources: np.ndarray) -> csr_matrix:
        """Return the adjacency among ``keep`` nodes plus a virtual root ``size`` -> sources.

        Args as in breadth-first search from several sources at once: searching from
        the root visits ``sources`` (ascending) first, then the rest level by level.
        """
        tails, heads = self.tails, self.heads
        if keep is not None:
            both = keep[tails] & keep[heads]
            tails, heads = tails[both], heads[both]
        root = np.full(sources.size, self.size)
        return sorted_csr(np.concatenate([tails, root]),
                          np.concatenate([heads, np.sort(sources)]), self.size + 1)


def graph_from_pixels(rows: np.ndarray, cols: np.ndarray, component: np.ndarray,
                      shape: tuple[int, int], origin: tuple[int, int] = (0, 0)) -> SkeletonGraph:
    """Build the 8-neighbour graph of skeleton pixels given with their component ids.

    Inputs:
        rows, cols: pixel coordinates within an array of ``shape``, any order, no
            duplicates; nodes are numbered in raster order.
        component: per pixel, the id of its connected component (the caller vouches
            that each id is one connected piece).
        shape: ``(H, W)`` of the array the coordinates refer to.
        origin: ``(x, y)`` of that array's top-left pixel in the full image.
    """
    order = np.lexsort((cols, rows))
    rows, cols, component = rows[order], cols[order], component[order]
    size = rows.size
    index = np.full((shape[0] + 2, shape[1] + 2), -1, dtype=np.int32)
    index[rows + 1, cols + 1] = np.arange(size, dtype=np.int32)
    # Neighbours listed in raster order have ascending node numbers, so the arcs come
    # out sorted by (tail, head) without sorting.
    neighbours = index[(rows + 1)[:, None] + _ROW_STEPS, (cols + 1)[:, None] + _COL_STEPS]
    present = neighbours >= 0
    tails, direction = np.nonzero(present)
    return SkeletonGraph(rows + origin[1], cols + origin[0], tails.astype(np.int32),
                         neighbours[present], _STEP_LENGTHS[direction], component)


def skeleton_graph(skeleton: np.ndarray, origin: tuple[int, int] = (0, 0)) -> SkeletonGraph:
    r"""Build the 8-neighbour graph of a skeleton image.

    Inputs:
        skeleton: ``(H, W)`` bool skeleton.
        origin: ``(x, y)`` of the skeleton's top-left pixel in the full image, when the
            skeleton is a crop; node coordinates are absolute.

    Example (node numbers; edges ``-``, ``|``, ``\``)::

        ##.        0-1
        ..#   ->      \
        ..#            2
                       |
                       3
    """
    skeleton = np.ascontiguousarray(skeleton, dtype=bool)
    # cv2.findNonZero returns the same raster order as np.nonzero, several times faster.
    found = cv2.findNonZero(skeleton.view(np.uint8)) if skeleton.size else None
    if found is None:
        empty = np.zeros(0, dtype=np.int32)
        return graph_from_pixels(empty, empty, empty, skeleton.shape, origin)
    found = found.reshape(-1, 2)
    _, labels = cv2.connectedComponents(skeleton.view(np.uint8), connectivity=8)
    component = labels[found[:, 1], found[:, 0]] - 1
    return graph_from_pixels(found[:, 1], found[:, 0], component, skeleton.shape, origin)


def merge_graphs(graphs: list[SkeletonGraph]) -> tuple[SkeletonGraph, np.ndarray]:
    """Join graphs side by side into one, with no edge between them.

    Node and component numbers of each graph are shifted past the previous ones, so
    one search handles all of them at once and every result maps back.

    Result:
        ``(graph, piece)``: the merged graph and, per node, the index of the graph it
        came from.
    """
    sizes = np.array([graph.size for graph in graphs], dtype=np.int64)
    node_offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    component_counts = [int(graph.component.max()) + 1 if graph.size else 0
                        for graph in graphs]
    component_offsets = np.concatenate([[0], np.cumsum(component_counts)[:-1]])

    def joined(field, offsets=None):
        parts = [getattr(graph, field) for graph in graphs]
        if offsets is not None:
            parts = [part + offset for part, offset in zip(parts, offsets)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    merged = SkeletonGraph(joined('rows'), joined('cols'), joined('tails', node_offsets),
                           joined('heads', node_offsets), joined('steps'),
                           joined('component', component_offsets))
    return merged, np.repeat(np.arange(len(graphs)), sizes)

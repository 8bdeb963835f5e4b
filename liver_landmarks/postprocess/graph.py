# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The 8-neighbour graph of a skeleton's pixels, built without loops over pixels.

Nodes are the skeleton pixels in raster order (row by row). An edge joins two
8-neighbours; its weight is the distance of their centres (1 or sqrt 2) plus a tiny
deterministic tie-break (below 1e-9 per edge) so that paths of equal length never
tie: without it, a staircase like ``#.``/``##``/``.#`` has two equally short routes
and the chosen one would depend on the shortest-path solver's internals.
"""

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

#: Forward half of the 8-neighbourhood: (row step, column step, centre distance).
_FORWARD_NEIGHBOURS = ((0, 1, 1.0), (1, -1, np.sqrt(2.0)), (1, 0, 1.0), (1, 1, np.sqrt(2.0)))
#: Largest tie-break added to one edge.
TIE_BREAK_SCALE = 1e-9


def tie_break(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Return a pseudo-random value in [0, 1) per pixel, a fixed function of its position.

    Edge ``(u, v)`` weighs ``distance + TIE_BREAK_SCALE * (tie_break(u) + tie_break(v)) / 2``.
    Positions are absolute image coordinates, so a cropped skeleton gets the same
    weights as the full one.
    """
    key = ((rows.astype(np.uint64) * np.uint64(73856093))
           ^ (cols.astype(np.uint64) * np.uint64(19349663)))
    key = (key * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
    return key.astype(np.float64) / 4294967296.0


@dataclass
class SkeletonGraph:
    """Skeleton pixels and their weighted 8-neighbour adjacency.

    Fields:
        rows, cols: absolute pixel coordinates of the nodes, raster order.
        first, second, weight: each undirected edge once (``first < second``).
        matrix: the symmetric ``(n, n)`` CSR adjacency with the weights.
    """

    rows: np.ndarray
    cols: np.ndarray
    first: np.ndarray
    second: np.ndarray
    weight: np.ndarray
    matrix: csr_matrix

    @property
    def size(self) -> int:
        """Return the number of nodes."""
        return self.rows.size

    def submatrix(self, keep: np.ndarray) -> csr_matrix:
        """Return the adjacency of the edges whose both ends have ``keep`` set (n x n)."""
        both = keep[self.first] & keep[self.second]
        return symmetric_matrix(self.first[both], self.second[both], self.weight[both],
                                self.size)


def symmetric_matrix(first, second, weight, size) -> csr_matrix:
    """Return the symmetric CSR matrix holding each undirected edge both ways."""
    return csr_matrix((np.concatenate([weight, weight]),
                       (np.concatenate([first, second]), np.concatenate([second, first]))),
                      shape=(size, size))


def skeleton_graph(skeleton: np.ndarray, origin: tuple[int, int] = (0, 0)) -> SkeletonGraph:
    r"""Build the weighted 8-neighbour graph of a skeleton.

    Inputs:
        skeleton: ``(H, W)`` bool skeleton.
        origin: ``(x, y)`` of the skeleton's top-left pixel in the full image, when the
            skeleton is a crop; node coordinates and tie-breaks are absolute.

    Example (node numbers; edges ``-``, ``|``, ``\``, ``/``)::

        ##.        0-1
        ..#   ->      \
        ..#            2
                       |
                       3
    """
    local_rows, local_cols = np.nonzero(skeleton)
    size = local_rows.size
    index = np.full((skeleton.shape[0] + 2, skeleton.shape[1] + 2), -1, dtype=np.int64)
    index[local_rows + 1, local_cols + 1] = np.arange(size)
    firsts, seconds, lengths = [], [], []
    # Forward neighbours only: raster order makes every edge come out with first < second.
    for row_step, col_step, length in _FORWARD_NEIGHBOURS:
        neighbour = index[local_rows + 1 + row_step, local_cols + 1 + col_step]
        present = neighbour >= 0
        firsts.append(np.flatnonzero(present))
        seconds.append(neighbour[present])
        lengths.append(np.full(firsts[-1].size, length))
    first = np.concatenate(firsts)
    second = np.concatenate(seconds)
    rows = local_rows + origin[1]
    cols = local_cols + origin[0]
    jitter = tie_break(rows, cols)
    weight = np.concatenate(lengths) + TIE_BREAK_SCALE * 0.5 * (jitter[first] + jitter[second])
    return SkeletonGraph(rows, cols, first, second, weight,
                         symmetric_matrix(first, second, weight, size))

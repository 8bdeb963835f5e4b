# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Small vectorised helpers for grouped (run-length) array operations."""

import numpy as np


def run_starts(values: np.ndarray) -> np.ndarray:
    """Return the indices where a new run of equal values begins (empty for empty input).

    Example: ``[4, 4, 7, 7, 7, 9]`` -> ``[0, 2, 5]``.
    """
    if values.size == 0:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))


def last_per_group(visit_order: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Return, per distinct group (ascending), the node of ``visit_order`` visited last.

    ``groups`` is indexed by node. Example: order ``[5, 2, 7]``, groups ``{5: 0, 2: 1,
    7: 0}`` -> ``[7, 2]``.
    """
    backwards = visit_order[::-1]
    _, first = np.unique(groups[backwards], return_index=True)
    return backwards[first]

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step d: Zhang-Suen skeletonisation, one group of connected components at a time."""

import cv2
import numpy as np
from skimage.morphology import skeletonize


def separate_regions(binary: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Return boxes that each hold whole 8-connected components and do not overlap.

    Every component's box comes from its outer contour (``cv2.findContours`` follows
    8-connected foreground; a component nested in another's hole lies inside that box).
    Overlapping boxes are merged until none overlap, so no box clips a component.

    Result:
        ``(top, bottom, left, right)`` inclusive, in no particular order.

    Example::

        ##......#        AA......C
        .#..##...   ->   AA..BB...     three boxes: A, B and C
        .....#...        ....BB...
    """
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours:
        left, top, width, height = cv2.boundingRect(contour)
        boxes.append([top, top + height - 1, left, left + width - 1])
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        box = np.array(boxes)
        overlap = ((box[:, None, 0] <= box[None, :, 1]) & (box[None, :, 0] <= box[:, None, 1])
                   & (box[:, None, 2] <= box[None, :, 3]) & (box[None, :, 2] <= box[:, None, 3]))
        np.fill_diagonal(overlap, False)
        if not overlap.any():
            break
        group = list(range(len(boxes)))

        def root(node):
            while group[node] != node:
                node = group[node]
            return node

        for first, second in zip(*np.nonzero(np.triu(overlap))):
            group[max(root(first), root(second))] = min(root(first), root(second))
        roots = np.array([root(node) for node in range(len(boxes))])
        boxes = [[box[roots == r, 0].min(), box[roots == r, 1].max(),
                  box[roots == r, 2].min(), box[roots == r, 3].max()] for r in np.unique(roots)]
        merged = True
    return [tuple(int(value) for value in box) for box in boxes]


def thin_components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin a mask region by region (see :func:`separate_regions`).

    Zhang-Suen looks at 3x3 neighbourhoods only and separate components never share
    one, so thinning each region on its own equals thinning the whole image, at a
    fraction of the cost when the components are spread out.

    Result:
        ``(rows, cols, component)``: the skeleton pixels, region by region (raster
        order within a region), and the id of the skeleton's own 8-connected component
        each belongs to (thinning can split a component, so ids are counted on the
        skeleton, not on the mask).
    """
    binary = np.asarray(mask).astype(np.uint8, copy=False)
    rows, cols, owners = [], [], []
    next_id = 0
    if binary.size == 0 or not binary.any():
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty, empty
    for top, bottom, left, right in separate_regions(binary):
        thinned = skeletonize(binary[top:bottom + 1, left:right + 1], method='zhang')
        thinned = thinned.view(np.uint8)
        found = cv2.findNonZero(thinned)
        if found is None:
            continue
        found = found.reshape(-1, 2)
        count, labels = cv2.connectedComponents(thinned, connectivity=8)
        rows.append(found[:, 1] + top)
        cols.append(found[:, 0] + left)
        owners.append(labels[found[:, 1], found[:, 0]] - 1 + next_id)
        next_id += count - 1
    if not rows:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty, empty
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(owners)


def skeletonize_mask(mask: np.ndarray) -> np.ndarray:
    """Thin a binary mask to one-pixel-wide 8-connected curves (Zhang-Suen, scikit-image).

    The mask is thinned region by region (see :func:`thin_components`); the result
    equals thinning the whole image.

    Inputs:
        mask: ``(H, W)`` bool or 0/1 array.

    Result:
        ``(H, W)`` bool skeleton (all False for an empty mask).

    Example::

        .#####.          .......
        .#####.    ->    .#####.
        .#####.          .......
    """
    mask = np.asarray(mask)
    skeleton = np.zeros(mask.shape, dtype=bool)
    rows, cols, _ = thin_components(mask)
    skeleton[rows, cols] = True
    return skeleton

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step d: Zhang-Suen skeletonisation, one connected component at a time."""

import cv2
from liver_landmarks.postprocess.components import component_boxes
import numpy as np
from skimage.morphology import skeletonize


def thin_components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin each 8-connected component of a mask inside its own bounding box.

    Zhang-Suen looks at 3x3 neighbourhoods only and separate components never share
    one, so the result equals thinning the whole image, at a fraction of the cost
    when the components are spread out.

    Result:
        ``(rows, cols, component)``: the skeleton pixels of each component in turn
        (raster order within a component) and the 0-based id of the mask component
        each came from.
    """
    binary = np.ascontiguousarray(mask, dtype=np.uint8)
    count, labels, boxes = component_boxes(binary)
    rows, cols, owners = [], [], []
    for label, (top, bottom, left, right) in enumerate(boxes, start=1):
        window = (slice(top, bottom + 1), slice(left, right + 1))
        piece = binary[window] if count == 1 else labels[window] == label
        found = cv2.findNonZero(skeletonize(piece, method='zhang').view(np.uint8))
        if found is None:
            continue
        found = found.reshape(-1, 2)
        rows.append(found[:, 1] + top)
        cols.append(found[:, 0] + left)
        owners.append(np.full(len(found), label - 1, dtype=np.int32))
    if not rows:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty, empty
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(owners)


def skeletonize_mask(mask: np.ndarray) -> np.ndarray:
    """Thin a binary mask to one-pixel-wide 8-connected curves (Zhang-Suen, scikit-image).

    Each 8-connected component is thinned inside its own bounding box (see
    :func:`thin_components`); the result equals thinning the whole image.

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

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step d: Zhang-Suen skeletonisation, one connected component at a time."""

import cv2
import numpy as np
from skimage.morphology import skeletonize


def skeletonize_mask(mask: np.ndarray) -> np.ndarray:
    """Thin a binary mask to one-pixel-wide 8-connected curves (Zhang-Suen, scikit-image).

    Each 8-connected component is thinned inside its own bounding box. Zhang-Suen
    looks at 3x3 neighbourhoods only and separate components never share one, so the
    result equals thinning the whole image, at a fraction of the cost.

    Inputs:
        mask: ``(H, W)`` bool or 0/1 array.

    Result:
        ``(H, W)`` bool skeleton (all False for an empty mask).

    Example::

        .#####.          .......
        .#####.    ->    .#####.
        .#####.          .......
    """
    binary = np.asarray(mask).astype(np.uint8, copy=False)
    skeleton = np.zeros(binary.shape, dtype=bool)
    if not binary.any():
        return skeleton
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    for component in range(1, count):
        left, top, width, height = stats[component, :4]
        window = (slice(top, top + height), slice(left, left + width))
        thinned = skeletonize(labels[window] == component, method='zhang')
        skeleton[window] |= thinned
    return skeleton

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step b: drop ligament predictions above both, or below both, ridge and silhouette.

Definition (rows grow downwards, so *above* means smaller row numbers):
    Each 8-connected ligament component spans rows ``[top, bottom]`` and columns
    ``[left, right]``. The *reference extent* of the ridge is the range from the
    topmost to the bottommost ridge pixel in the columns ``left..right``; when no
    ridge pixel lies in those columns, the extent of all ridge pixels is used. The
    silhouette's reference extent is found the same way. The component is *above*
    a landmark when ``bottom`` < that landmark's topmost row (every ligament pixel
    lies higher than every reference pixel) and *below* it when ``top`` > its
    bottommost row. It is dropped when it is above both or below both. When the
    ridge or the silhouette is absent, nothing is dropped: there is no pair to be
    above or below.
"""

import cv2
from liver_landmarks.landmarks import Landmark
import numpy as np


def _column_extents(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per column: whether any pixel is set, the topmost and bottommost row."""
    present = mask.any(axis=0)
    top = np.argmax(mask, axis=0)
    bottom = mask.shape[0] - 1 - np.argmax(mask[::-1], axis=0)
    return present, top, bottom


def _reference_extent(extents, left: int, right: int) -> tuple[int, int]:
    """Return (topmost, bottommost) row of a landmark in columns left..right, else overall."""
    present, top, bottom = extents
    columns = slice(left, right + 1)
    if present[columns].any():
        present = present[columns]
        top, bottom = top[columns], bottom[columns]
    return int(top[present].min()), int(bottom[present].max())


def cull_ligament(class_ids: np.ndarray) -> np.ndarray:
    """Remove ligament components lying above both, or below both, ridge and silhouette.

    Inputs:
        class_ids: ``(H, W)`` uint8 class ids.

    Result:
        The class ids with those components set to background (the input itself when
        nothing is dropped, else a copy).

    Example (``R`` ridge, ``S`` silhouette, ``L`` ligament)::

        ..LL....         ........
        ........         ........
        RRRR....   ->    RRRR....
        ....L...         ....L...     <- between ridge and silhouette: kept
        SSSSSSSS         SSSSSSSS
    """
    ligament = class_ids == Landmark.LIGAMENT
    if not ligament.any():
        return class_ids
    ridge = class_ids == Landmark.RIDGE
    silhouette = class_ids == Landmark.SILHOUETTE
    if not ridge.any() or not silhouette.any():
        return class_ids
    references = (_column_extents(ridge), _column_extents(silhouette))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        ligament.view(np.uint8), connectivity=8)
    dropped = np.zeros(count, dtype=bool)
    for component in range(1, count):
        left, top, width, height = stats[component, :4]
        bottom, right = top + height - 1, left + width - 1
        extents = [_reference_extent(ref, left, right) for ref in references]
        above_both = all(bottom < ref_top for ref_top, _ in extents)
        below_both = all(top > ref_bottom for _, ref_bottom in extents)
        dropped[component] = above_both or below_both
    if not dropped.any():
        return class_ids
    culled = class_ids.copy()
    culled[dropped[labels]] = Landmark.BACKGROUND
    return culled

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
from liver_landmarks.postprocess.components import component_boxes
import numpy as np


def reference_extent(mask: np.ndarray, left: int, right: int) -> tuple[int, int]:
    """Return the (topmost, bottommost) row of ``mask`` in columns left..right, else overall.

    ``mask`` is a non-empty 0/1 uint8 array.
    """
    _, top, width, height = cv2.boundingRect(np.ascontiguousarray(mask[:, left:right + 1]))
    if width == 0:
        _, top, _, height = cv2.boundingRect(mask)
    return top, top + height - 1


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
    ligament = (class_ids == int(Landmark.LIGAMENT)).view(np.uint8)
    if not ligament.any():
        return class_ids
    ridge = (class_ids == int(Landmark.RIDGE)).view(np.uint8)
    silhouette = (class_ids == int(Landmark.SILHOUETTE)).view(np.uint8)
    if not ridge.any() or not silhouette.any():
        return class_ids
    left, top, width, height = cv2.boundingRect(ligament)
    window = (slice(top, top + height), slice(left, left + width))
    boxes, contours = component_boxes(ligament[window])
    dropped = []
    for contour, (first_row, last_row, first_col, last_col) in zip(
            contours, boxes + np.array([top, top, left, left])):
        extents = [reference_extent(reference, first_col, last_col)
                   for reference in (ridge, silhouette)]
        above_both = all(last_row < reference_top for reference_top, _ in extents)
        below_both = all(first_row > reference_bottom for _, reference_bottom in extents)
        if above_both or below_both:
            dropped.append(contour)
    if not dropped:
        return class_ids
    # Only now label pixels: a contour point names its component's label.
    _, labels = cv2.connectedComponents(np.ascontiguousarray(ligament[window]), connectivity=8)
    drop = np.zeros(labels.max() + 1, dtype=bool)
    drop[[labels[contour[0, 0, 1], contour[0, 0, 0]] for contour in dropped]] = True
    culled = class_ids.copy()
    culled[window][drop[labels]] = int(Landmark.BACKGROUND)
    return culled

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Connected components with bounding boxes, cheaper than OpenCV's statistics call.

``cv2.connectedComponentsWithStats`` costs about ten times ``cv2.connectedComponents``
on the masks met here; the boxes come instead from each component's outer contour
(``cv2.findContours`` follows 8-connected foreground, one outer contour per component).
"""

import cv2
import numpy as np


def bounding_window(binary: np.ndarray, pad: int = 0) -> tuple[slice, slice] | None:
    """Return the (rows, cols) slices of the non-zero pixels' box grown by ``pad``, or None.

    The box is clipped to the array. ``binary`` is 0/1 uint8.
    """
    left, top, width, height = cv2.boundingRect(binary)
    if width == 0 or height == 0:
        return None
    return (slice(max(top - pad, 0), top + height + pad),
            slice(max(left - pad, 0), left + width + pad))


def component_boxes(binary: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Label the 8-connected components of a 0/1 uint8 mask and box each.

    Result:
        ``(count, labels, boxes)``: ``count`` components labelled ``1..count`` in
        ``labels`` (0 is background), and ``boxes`` an ``(count, 4)`` int array of
        ``(top, bottom, left, right)``, inclusive, for label ``i + 1`` in row ``i``.

    Example::

        ##..#         11..2          boxes
        ....#    ->   ....2    ->    [[0, 0, 0, 1],
        .....         .....           [0, 1, 4, 4]]
    """
    binary = np.ascontiguousarray(binary, dtype=np.uint8)
    if binary.size == 0 or not binary.any():
        return 0, np.zeros(binary.shape, dtype=np.int32), np.zeros((0, 4), dtype=np.int64)
    count, labels = cv2.connectedComponents(binary, connectivity=8)
    boxes = np.zeros((count - 1, 4), dtype=np.int64)
    if count == 2:
        left, top, width, height = cv2.boundingRect(binary)
        boxes[0] = (top, top + height - 1, left, left + width - 1)
        return 1, labels, boxes
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for contour in contours:
        left, top, width, height = cv2.boundingRect(contour)
        x, y = contour[0, 0]
        boxes[labels[y, x] - 1] = (top, top + height - 1, left, left + width - 1)
    return count - 1, labels, boxes

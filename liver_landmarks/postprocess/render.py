# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Step f (second half): re-draw a label mask from the polylines.

Classes never merge by adding ids: each landmark paints its own id over what is
already there, in the fixed order silhouette, then ridge, then ligament, so where
lines overlap the ligament wins over the ridge and the ridge over the silhouette
(the thinner, rarer structures stay visible).
"""

from liver_landmarks.drawing import draw_polyline
from liver_landmarks.landmarks import Landmark
import numpy as np

#: Order in which landmarks are painted; later ones cover earlier ones.
DRAW_ORDER = (Landmark.SILHOUETTE, Landmark.RIDGE, Landmark.LIGAMENT)


def render_labels(polylines: dict[Landmark, list[np.ndarray]], output_size: tuple[int, int],
                  thickness: int) -> np.ndarray:
    """Draw the polylines as thick open lines into a ``(rows, cols)`` uint8 id mask.

    Points are rounded to the nearest pixel; a one-point polyline becomes a dot of
    the same thickness.

    Example (thickness 1; ``1`` ridge, ``3`` silhouette)::

        ridge (0,1)-(4,1), silhouette (2,0)-(2,2)   ->   ..3..
                                                         11111
                                                         ..3..
    """
    labels = np.zeros(output_size, dtype=np.uint8)
    for landmark in DRAW_ORDER:
        for line in polylines.get(landmark, []):
            draw_polyline(labels, line, int(landmark), thickness, snap_to_pixels=True)
    return labels

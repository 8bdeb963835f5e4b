# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""What the post-processing returns for one frame."""

from dataclasses import dataclass

from liver_landmarks.landmarks import Landmark
import numpy as np


@dataclass
class LandmarkPolylines:
    """Ordered polylines per landmark and the label mask re-drawn from them.

    Fields:
        polylines: every landmark (ridge, ligament, silhouette) maps to a list, possibly
            empty, of ``(N, 2)`` float32 arrays of ``(x, y)`` output-image pixel
            coordinates, ordered along the curve and resampled every ``sample_step_px``;
            longest polyline first.
        labels: ``(H_out, W_out)`` uint8 class ids drawn from the polylines.
    """

    polylines: dict[Landmark, list[np.ndarray]]
    labels: np.ndarray

    def count(self, landmark: Landmark) -> int:
        """Return how many polylines ``landmark`` has."""
        return len(self.polylines.get(landmark, []))

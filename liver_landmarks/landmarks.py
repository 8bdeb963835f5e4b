# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The three anatomical landmarks of the liver, defined once for the whole package.

Ids follow P2ILF's order (0 background, 1 ridge, 2 ligament, 3 silhouette). The
SLiPPA/L3D datasets number them differently (1 silhouette, 2 ridge, 3 ligament):
convert at the edges with :func:`from_l3d_ids` and :func:`to_l3d_ids`, never inside
the pipeline.
"""

from enum import IntEnum

import numpy as np


class Landmark(IntEnum):
    """Class id of each landmark in label masks and network outputs."""

    BACKGROUND = 0
    RIDGE = 1
    LIGAMENT = 2
    SILHOUETTE = 3

    @property
    def label(self) -> str:
        """Lower-case name used in topics, JSON keys and file names."""
        return self.name.lower()


#: The landmarks proper, without background, in id order.
LANDMARKS = (Landmark.RIDGE, Landmark.LIGAMENT, Landmark.SILHOUETTE)
NUM_CLASSES = len(Landmark)
CLASS_NAMES = tuple(landmark.label for landmark in Landmark)

#: Network input size, width x height.
INPUT_WIDTH = 416
INPUT_HEIGHT = 320

#: Display colours as drawn in P2ILF's label images, RGB.
COLOURS_RGB = {
    Landmark.BACKGROUND: (0, 0, 0),
    Landmark.RIDGE: (255, 0, 0),
    Landmark.LIGAMENT: (0, 0, 255),
    Landmark.SILHOUETTE: (255, 255, 0),
}

#: ``contourType`` strings of P2ILF's XML and JSON annotations.
P2ILF_CONTOUR_TYPES = {
    Landmark.RIDGE: 'Ridge',
    Landmark.LIGAMENT: 'Ligament',
    Landmark.SILHOUETTE: 'Silhouette',
}

#: L3D/SLiPPA class ids, keyed by this package's ids.
L3D_IDS = {
    Landmark.BACKGROUND: 0,
    Landmark.SILHOUETTE: 1,
    Landmark.RIDGE: 2,
    Landmark.LIGAMENT: 3,
}

_TO_L3D = np.array([L3D_IDS[landmark] for landmark in Landmark], dtype=np.uint8)
_FROM_L3D = np.argsort(_TO_L3D).astype(np.uint8)


def landmark_from_name(name: str) -> Landmark:
    """Return the landmark for a name in any common spelling.

    Accepts this package's names, P2ILF's ``contourType`` strings and L3D's
    labels, including the published L3D files' misspelling ``rigde``.

    >>> landmark_from_name('Rigde')
    <Landmark.RIDGE: 1>
    """
    key = name.strip().lower()
    aliases = {'rigde': 'ridge', 'falciform': 'ligament', 'falciform_ligament': 'ligament',
               'contour': 'silhouette', 'occluding_contour': 'silhouette'}
    key = aliases.get(key, key)
    for landmark in LANDMARKS:
        if landmark.label == key:
            return landmark
    raise ValueError(
        f'unknown landmark name {name!r}: expected one of ridge, ligament, silhouette '
        f'(P2ILF: Ridge, Ligament, Silhouette; L3D also writes rigde)')


def from_l3d_ids(mask: np.ndarray) -> np.ndarray:
    """Map an L3D-numbered label mask (1 silhouette, 2 ridge, 3 ligament) to ours."""
    return _FROM_L3D[np.asarray(mask, dtype=np.uint8)]


def to_l3d_ids(mask: np.ndarray) -> np.ndarray:
    """Map one of our label masks to L3D numbering (1 silhouette, 2 ridge, 3 ligament)."""
    return _TO_L3D[np.asarray(mask, dtype=np.uint8)]

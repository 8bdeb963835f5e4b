# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Hand-made 320x416 post-processing cases: the table the post-processing tests share.

Masks are drawn like a network's output at the working size: lines 4 px thick. Each
:class:`Case` carries what the post-processor must make of it (``check``);
``test/test_postprocess_cases.py`` runs them, and ``test/test_postprocess_reference.py``
checks the fast path against a straightforward implementation on the same cases.
"""

from dataclasses import dataclass, field
from typing import Callable

import cv2
from liver_landmarks.landmarks import Landmark
from liver_landmarks.postprocess import arc_length, PostProcessConfig
import numpy as np
import pytest

ROWS, COLS = 320, 416
RIDGE, LIGAMENT, SILHOUETTE = Landmark.RIDGE, Landmark.LIGAMENT, Landmark.SILHOUETTE
THICK = 4


def blank() -> np.ndarray:
    """Return an empty working-size id mask."""
    return np.zeros((ROWS, COLS), dtype=np.uint8)


def line(ids, landmark, start, end, thickness=THICK):
    """Draw a thick straight line of ``landmark`` into ``ids`` in place; return ``ids``."""
    cv2.line(ids, start, end, int(landmark), thickness)
    return ids


def bright_frame(rows=ROWS, cols=COLS) -> np.ndarray:
    """Return a uniformly lit RGB frame."""
    return np.full((rows, cols, 3), 120, dtype=np.uint8)


def distance_to_segment(points, start, end) -> np.ndarray:
    """Return distances of ``(N, 2)`` points to the segment ``start``-``end``."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    direction = end - start
    along = np.clip((points - start) @ direction / (direction @ direction), 0, 1)
    return np.linalg.norm(points - (start + along[:, None] * direction), axis=1)


@dataclass
class Case:
    """One hand-made input and what the post-processor must make of it."""

    name: str
    ids: np.ndarray
    check: Callable
    frame: np.ndarray | None = None
    config: PostProcessConfig = field(default_factory=PostProcessConfig)
    output_size: tuple[int, int] | None = None


def check_counts(result, ridge=0, ligament=0, silhouette=0):
    """Assert how many polylines each landmark has."""
    counts = {landmark: len(lines) for landmark, lines in result.polylines.items()}
    assert counts == {RIDGE: ridge, LIGAMENT: ligament, SILHOUETTE: silhouette}


def check_straight(result):
    check_counts(result, ridge=1)
    (points,) = result.polylines[RIDGE]
    assert np.all(np.abs(points[:, 1] - 100) <= 1.0)
    assert points[0, 0] == pytest.approx(50, abs=3) and points[-1, 0] == pytest.approx(350, abs=3)
    assert np.all(np.diff(points[:, 0]) > 0), 'ordered along the line'


def check_curve(result):
    check_counts(result, ligament=1)
    (points,) = result.polylines[LIGAMENT]
    radius = np.hypot(points[:, 0] - 208, points[:, 1] - 200)
    assert np.all(np.abs(radius - 120) <= 2.5)
    angle = np.unwrap(np.arctan2(points[:, 1] - 200, points[:, 0] - 208))
    assert np.all(np.diff(angle) > 0) or np.all(np.diff(angle) < 0), 'ordered along the arc'
    assert np.ptp(angle) == pytest.approx(np.pi, abs=0.15)


def check_branching(result):
    # A T: a 300 px bar with a 60 px stem; the 6 px spur is dropped.
    check_counts(result, silhouette=2)
    bar, stem = result.polylines[SILHOUETTE]
    assert arc_length(bar) == pytest.approx(300, abs=8)
    assert np.all(np.abs(bar[:, 1] - 100) <= 1.0)
    assert arc_length(stem) == pytest.approx(60, abs=6)
    assert stem[0, 1] == pytest.approx(100, abs=2), 'a branch starts at its junction'
    assert stem[-1] == pytest.approx((200, 160), abs=3)
    assert np.all(np.abs(stem[:, 0] - 200) <= 1.0)


def check_joined(result):
    check_counts(result, ridge=1)
    (points,) = result.polylines[RIDGE]
    assert points[0, 0] == pytest.approx(40, abs=3) and points[-1, 0] == pytest.approx(370, abs=3)


def check_not_joined(result):
    check_counts(result, ridge=2)
    left = min(result.polylines[RIDGE], key=lambda points: points[0, 0])
    assert left[-1, 0] == pytest.approx(180, abs=3)


def check_empty(result):
    check_counts(result)
    assert result.labels.shape == (ROWS, COLS) and not result.labels.any()


def check_fov_border(result):
    # Columns 0..59 are black: the line survives from column 60 on, in one piece
    # despite the dark speck (a shadow) inside the view.
    check_counts(result, ridge=1)
    (points,) = result.polylines[RIDGE]
    assert points[0, 0] == pytest.approx(60, abs=3)
    assert points[-1, 0] == pytest.approx(380, abs=3)
    assert not result.labels[:, :56].any()


def check_circle_threshold(result):
    # The dark tool reaching the rim counts as outside: the ridge loses its left part,
    # and the silhouette blob in the black corner is culled.
    check_counts(result, ridge=1)
    (points,) = result.polylines[RIDGE]
    assert points[0, 0] == pytest.approx(141, abs=3)
    assert not result.labels[:30, :30].any()


def check_circle_fitted(result):
    # With the fitted circle, the tool lies inside the view: the whole ridge stays.
    check_counts(result, ridge=1)
    (points,) = result.polylines[RIDGE]
    assert points[0, 0] == pytest.approx(100, abs=3)
    assert not result.labels[:30, :30].any()


def check_ligament_kept(result):
    check_counts(result, ridge=1, ligament=1, silhouette=1)


def check_ligament_dropped(result):
    check_counts(result, ridge=1, ligament=0, silhouette=1)


def check_output_scaled(result):
    check_counts(result, ridge=1)
    (points,) = result.polylines[RIDGE]
    # Pixel centres map to centres: row 100 of 320 -> (100.5) * 1080 / 320 - 0.5.
    assert np.all(np.abs(points[:, 1] - (100.5 * 1080 / 320 - 0.5)) <= 3.4)
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    assert np.allclose(steps[:-1], 5.0, atol=1e-3) and 0 < steps[-1] <= 5.0 + 1e-3
    assert result.labels.shape == (1080, 1920)


def straight():
    return line(blank(), RIDGE, (50, 100), (350, 100))


def curve():
    ids = blank()
    cv2.ellipse(ids, (208, 200), (120, 120), 0, 180, 360, int(LIGAMENT), THICK)
    return ids


def branching():
    ids = line(blank(), SILHOUETTE, (50, 100), (350, 100))
    line(ids, SILHOUETTE, (200, 100), (200, 160))
    return line(ids, SILHOUETTE, (120, 100), (120, 106))


def gap(width):
    ids = line(blank(), RIDGE, (40, 150), (180, 150))
    return line(ids, RIDGE, (180 + width, 150), (370, 150))


def fov_border():
    frame = bright_frame()
    frame[:, :60] = 0
    frame[148:153, 200:205] = 0
    return line(blank(), RIDGE, (10, 150), (380, 150)), frame


def circular_fov():
    frame = np.zeros((ROWS, COLS, 3), dtype=np.uint8)
    cv2.circle(frame, (208, 160), 150, (120, 110, 100), -1)
    cv2.rectangle(frame, (40, 140), (140, 180), (0, 0, 0), -1)  # a dark tool at the rim
    ids = line(blank(), RIDGE, (100, 160), (300, 160))
    cv2.circle(ids, (10, 10), 6, int(SILHOUETTE), -1)
    return ids, frame


def ligament_scene(ligament_start, ligament_end, silhouette=True):
    ids = line(blank(), RIDGE, (40, 150), (380, 150))
    if silhouette:
        line(ids, SILHOUETTE, (20, 250), (400, 250))
    return line(ids, LIGAMENT, ligament_start, ligament_end)


def ligament_by_columns():
    # The ridge only covers x < 200; the ligament's columns hold none of it, so the
    # ridge's overall extent (row 220) is used: the ligament (rows 100..140) is above
    # both the ridge and the silhouette (row 260) and is dropped.
    ids = line(blank(), RIDGE, (20, 220), (200, 220))
    line(ids, SILHOUETTE, (20, 260), (400, 260))
    return line(ids, LIGAMENT, (300, 100), (330, 140))


def case(name, ids, check, **options):
    """Build a :class:`Case`, unpacking ``(ids, frame)`` pairs."""
    if isinstance(ids, tuple):
        ids, options['frame'] = ids
    return Case(name, ids, check, **options)


CASES = [
    case('straight line', straight(), check_straight),
    case('curve', curve(), check_curve),
    case('branching with spur', branching(), check_branching),
    case('fragments across a 10 px gap', gap(10), check_joined),
    case('fragments across a 25 px gap', gap(25), check_not_joined),
    case('empty', blank(), check_empty),
    case('empty with frame', blank(), check_empty, frame=bright_frame()),
    case('fov border and shadow', fov_border(), check_fov_border),
    case('circular fov, threshold', circular_fov(), check_circle_threshold),
    case('circular fov, circle', circular_fov(), check_circle_fitted,
         config=PostProcessConfig(fov_method='circle')),
    case('ligament above both', ligament_scene((200, 40), (240, 80)), check_ligament_dropped),
    case('ligament below both', ligament_scene((200, 280), (240, 310)), check_ligament_dropped),
    case('ligament between', ligament_scene((200, 170), (240, 230)), check_ligament_kept),
    case('ligament above, no silhouette', ligament_scene((200, 40), (240, 80), False),
         lambda result: check_counts(result, ridge=1, ligament=1)),
    case('ligament above both, by columns', ligament_by_columns(), check_ligament_dropped),
    case('ligament cull off', ligament_scene((200, 40), (240, 80)), check_ligament_kept,
         config=PostProcessConfig(ligament_cull=False)),
    case('output at 1920x1080', straight(), check_output_scaled, output_size=(1080, 1920)),
]

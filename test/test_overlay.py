# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Landmarks drawn over frames, with the legend."""

from liver_landmarks.landmarks import COLOURS_RGB, Landmark, LANDMARKS
from liver_landmarks.overlay import draw_legend, draw_overlay
from liver_landmarks.postprocess.result import LandmarkPolylines
import numpy as np
import pytest


def make_result(polylines, height, width):
    full = {landmark: [] for landmark in LANDMARKS}
    full.update({landmark: [np.asarray(p, np.float32) for p in lines]
                 for landmark, lines in polylines.items()})
    return LandmarkPolylines(polylines=full, labels=np.zeros((height, width), np.uint8))


def grey_frame(height, width, value=90):
    return np.full((height, width, 3), value, dtype=np.uint8)


def test_each_landmark_is_drawn_in_its_colour_and_the_input_is_untouched():
    frame = grey_frame(240, 320)
    result = make_result({Landmark.RIDGE: [[(20, 150), (300, 150)]],
                          Landmark.LIGAMENT: [[(160, 60), (160, 120)]],
                          Landmark.SILHOUETTE: [[(20, 200), (300, 200)]]}, 240, 320)
    drawn = draw_overlay(frame, result, legend=False)
    assert drawn.shape == frame.shape and drawn.dtype == np.uint8
    assert drawn is not frame and np.all(frame == 90)
    assert tuple(drawn[150, 200]) == COLOURS_RGB[Landmark.RIDGE]
    assert tuple(drawn[90, 160]) == COLOURS_RGB[Landmark.LIGAMENT]
    assert tuple(drawn[200, 100]) == COLOURS_RGB[Landmark.SILHOUETTE]
    # Away from every line the frame shows through unchanged.
    assert tuple(drawn[30, 40]) == (90, 90, 90)


def test_lines_get_a_dark_outline_and_scale_with_height():
    def drawn_rows(height):
        frame = grey_frame(height, 200, value=200)
        result = make_result({Landmark.RIDGE: [[(10, height // 2), (190, height // 2)]]},
                             height, 200)
        column = draw_overlay(frame, result, legend=False)[:, 100]
        red = np.flatnonzero(np.all(column == COLOURS_RGB[Landmark.RIDGE], axis=1))
        dark = np.flatnonzero(column.max(axis=1) < 100)
        return red, dark

    red_small, dark_small = drawn_rows(270)
    red_large, dark_large = drawn_rows(1080)
    assert len(red_large) > 2 * len(red_small) >= 2
    # The outline shows above and below the coloured line.
    assert dark_large.min() < red_large.min() and dark_large.max() > red_large.max()


def test_polylines_are_scaled_from_the_label_size_to_the_frame_size():
    # Polylines at 320x416 (working size), frame at 4x: the point (100, 50) lands at (400, 200).
    result = make_result({Landmark.LIGAMENT: [[(100, 50)]]}, 320, 416)
    drawn = draw_overlay(grey_frame(1280, 1664), result, legend=False)
    assert tuple(drawn[200, 400]) == COLOURS_RGB[Landmark.LIGAMENT]
    assert tuple(drawn[50, 100]) == (90, 90, 90)


def test_legend_shows_the_three_colours_and_can_be_left_out():
    frame = grey_frame(540, 960)
    empty = make_result({}, 540, 960)
    assert np.array_equal(draw_overlay(frame, empty, legend=False), frame)
    with_legend = draw_overlay(frame, empty)
    corner = with_legend[:120, :300].reshape(-1, 3)
    for landmark in LANDMARKS:
        assert np.any(np.all(corner == COLOURS_RGB[landmark], axis=1)), landmark
    assert np.any(np.all(corner > 200, axis=1))    # the names, in anti-aliased white
    # The rest of the frame is untouched by the legend.
    assert np.all(with_legend[300:, 500:] == 90)


def test_legend_is_left_out_on_frames_too_small_to_hold_it():
    tiny = grey_frame(12, 16)
    assert draw_legend(tiny) is False and np.all(tiny == 90)
    drawn = draw_overlay(tiny, make_result({Landmark.RIDGE: [[(0, 6), (15, 6)]]}, 12, 16))
    # A 1 px anti-aliased line: red dominates, though not at full strength.
    red, green, blue = (int(v) for v in drawn[6, 8])
    assert red > 150 and green < 60 and blue < 60


def test_grey_frames_are_accepted_and_other_inputs_refused():
    result = make_result({}, 30, 40)
    assert draw_overlay(np.zeros((30, 40), np.uint8), result).shape == (30, 40, 3)
    with pytest.raises(ValueError, match='uint8'):
        draw_overlay(np.zeros((30, 40, 3), np.float32), result)
    with pytest.raises(ValueError, match='HxWx3'):
        draw_overlay(np.zeros((30, 40, 4), np.uint8), result)

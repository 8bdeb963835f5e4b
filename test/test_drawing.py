# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The one owner of pixel geometry and drawing: centre mapping, line widths, polylines."""

from liver_landmarks import p2ilf_io
from liver_landmarks.drawing import draw_polyline, line_thickness, map_pixel_centres
from liver_landmarks.postprocess import PostProcessConfig
import numpy as np
import pytest


@pytest.mark.parametrize('height, thickness', [(1080, 12), (540, 6), (320, 4), (90, 1),
                                               (10, 1), (2160, 24), (225, 3), (135, 2)])
def test_default_thickness_scales_with_height(height, thickness):
    # 12 px at 1080 rows: 320 rows -> 3.56 -> 4; 225 rows -> 2.5 -> 3; never below 1.
    assert line_thickness(height, p2ilf_io.LINE_THICKNESS_AT_1080) == thickness


@pytest.mark.parametrize('rows', [45, 135, 225, 315, 320, 405, 1080, 1117])
def test_label_masks_and_ground_truth_scale_their_width_alike(rows):
    # Both are 12 px at 1080 rows; they used to round halves differently.
    config = PostProcessConfig(line_thickness_px=p2ilf_io.LINE_THICKNESS_AT_1080)
    assert config.thickness_for(rows) == line_thickness(rows, p2ilf_io.LINE_THICKNESS_AT_1080)


@pytest.mark.parametrize('points, expected', [
    ([(0, 0)], [(1920 / 416 * 0.5 - 0.5, 1080 / 320 * 0.5 - 0.5)]),
    ([(415, 319)], [(1920 - 1920 / 416 * 0.5 - 0.5, 1080 - 1080 / 320 * 0.5 - 0.5)]),
    ([(-0.5, -0.5), (415.5, 319.5)], [(-0.5, -0.5), (1919.5, 1079.5)]),
])
def test_pixel_centres_map_onto_pixel_centres_and_edges_onto_edges(points, expected):
    np.testing.assert_allclose(map_pixel_centres(points, (320, 416), (1080, 1920)), expected)


def test_mapping_there_and_back_returns_the_points():
    points = np.random.default_rng(0).uniform(0, 300, (20, 2))
    there = map_pixel_centres(points, (320, 416), (1080, 1920))
    np.testing.assert_allclose(map_pixel_centres(there, (1080, 1920), (320, 416)), points)


def test_snapped_vertices_land_on_the_pixels_they_name():
    image = np.zeros((5, 5), np.uint8)
    draw_polyline(image, [(1.4, 2.4), (3.4, 2.4)], 7, 1, snap_to_pixels=True)
    assert np.array_equal(np.argwhere(image == 7), [[2, 1], [2, 2], [2, 3]])


@pytest.mark.parametrize('snap', [True, False])
def test_a_single_point_is_a_dot_and_no_point_draws_nothing(snap):
    image = np.zeros((9, 9), np.uint8)
    draw_polyline(image, np.empty((0, 2)), 1, 3, snap_to_pixels=snap)
    assert not image.any()
    draw_polyline(image, [(4, 4)], 1, 3, snap_to_pixels=snap)
    assert image[4, 4] == 1 and image.sum() > 1 and not image[0].any()

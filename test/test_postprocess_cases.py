# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Table-driven post-processing tests on hand-made 320x416 masks.

The cases (masks and what each must give) are the table in
:mod:`liver_landmarks_tools.support.postprocess_cases`; the tests below add the
properties no single case shows.
"""

import cv2
from liver_landmarks.postprocess import (
    arc_length, cull_ligament, cull_outside, field_of_view_mask, PostProcessConfig,
    PostProcessor, render_labels, to_output_pixels)
from liver_landmarks.postprocess.fragments import join_fragments
from liver_landmarks.postprocess.paths import order_skeleton
from liver_landmarks.postprocess.rdp import simplify_rdp
from liver_landmarks.postprocess.resample import resample_polyline
from liver_landmarks.postprocess.skeleton import skeletonize_mask
from liver_landmarks_tools.support.postprocess_cases import (
    blank, branching, bright_frame, CASES, check_counts, COLS, gap, LIGAMENT, line, RIDGE,
    ROWS, SILHOUETTE, straight)
import numpy as np
import pytest


@pytest.mark.parametrize('case', CASES, ids=[case.name for case in CASES])
def test_case(case):
    result = PostProcessor(case.config)(case.ids, frame=case.frame,
                                        output_size=case.output_size)
    assert set(result.polylines) == {RIDGE, LIGAMENT, SILHOUETTE}
    for lines in result.polylines.values():
        for points in lines:
            assert points.dtype == np.float32 and points.ndim == 2 and points.shape[1] == 2
    case.check(result)


def test_labels_are_redrawn_from_the_polylines():
    result = PostProcessor()(branching())
    expected_thickness = PostProcessConfig().thickness_for(ROWS)
    assert expected_thickness == 4
    drawn = result.labels == SILHOUETTE
    assert set(np.unique(result.labels)) == {0, int(SILHOUETTE)}
    for points in result.polylines[SILHOUETTE]:
        pixels = np.rint(points).astype(int)
        assert drawn[pixels[:, 1], pixels[:, 0]].all()


def test_fragments_are_never_joined_across_classes():
    ids = line(blank(), RIDGE, (40, 100), (180, 100))
    line(ids, LIGAMENT, (190, 100), (370, 100))
    result = PostProcessor(PostProcessConfig(ligament_cull=False))(ids)
    check_counts(result, ridge=1, ligament=1)
    assert result.polylines[RIDGE][0][:, 0].max() < 185
    assert result.polylines[LIGAMENT][0][:, 0].min() > 185


def test_overlaps_follow_the_draw_order():
    ids = line(blank(), SILHOUETTE, (50, 160), (350, 160))
    line(ids, RIDGE, (200, 40), (200, 150))
    line(ids, LIGAMENT, (100, 40), (100, 150))
    line(ids, LIGAMENT, (280, 60), (280, 150))
    line(ids, RIDGE, (286, 60), (286, 150))
    result = PostProcessor(PostProcessConfig(line_thickness_px=30, ligament_cull=False))(ids)
    assert set(np.unique(result.labels)) == {0, 1, 2, 3}, 'ids are painted, never added'
    # Lines 9 px thick overlap near the silhouette and between x = 280 and 286: later
    # landmarks in DRAW_ORDER (silhouette, ridge, ligament) cover earlier ones.
    assert result.labels[152, 200] == RIDGE
    assert result.labels[152, 100] == LIGAMENT
    assert result.labels[100, 283] == LIGAMENT


def test_lengths_scale_with_the_working_size():
    small = PostProcessor()(gap(10))
    double = cv2.resize(gap(10), (COLS * 2, ROWS * 2), interpolation=cv2.INTER_NEAREST)
    large = PostProcessor()(double, output_size=(ROWS, COLS))
    assert len(small.polylines[RIDGE]) == len(large.polylines[RIDGE]) == 1
    # Skeletons end about half a line width short of the mask's ends, at either size.
    assert arc_length(small.polylines[RIDGE][0]) == pytest.approx(
        arc_length(large.polylines[RIDGE][0]), abs=8)


def test_sample_step_is_at_output_resolution():
    result = PostProcessor(PostProcessConfig(sample_step_px=7.0))(straight(),
                                                                  output_size=(640, 832))
    (points,) = result.polylines[RIDGE]
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    assert np.allclose(steps[:-1], 7.0, atol=1e-3)
    assert np.array_equal(resample_polyline(points[[0, -1]], 7.0)[0], points[0])


@pytest.mark.parametrize('bad', [{'fov_method': 'square'}, {'fov_threshold': 300},
                                 {'sample_step_px': 0}, {'join_gap_px': -1}])
def test_config_refuses_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        PostProcessConfig(**bad)


def test_class_ids_must_be_two_dimensional():
    with pytest.raises(ValueError, match='2-D'):
        PostProcessor()(np.zeros((4, 4, 3), dtype=np.uint8))


@pytest.mark.parametrize('shape', [(0, 0), (ROWS, COLS)])
def test_every_step_accepts_empty_input(shape):
    empty = np.zeros(shape, dtype=np.uint8)
    no_points = np.zeros((0, 2), dtype=np.float32)
    assert field_of_view_mask(None, shape).all()
    assert cull_outside(empty, np.ones(shape, dtype=bool)).shape == shape
    assert cull_ligament(empty) is empty
    assert not skeletonize_mask(empty).any()
    assert not join_fragments(empty.astype(bool), 15).any()
    assert order_skeleton(empty.astype(bool)) == []
    assert simplify_rdp(no_points, 1.0).shape == (0, 2)
    assert resample_polyline(no_points, 5.0).shape == (0, 2)
    assert to_output_pixels(no_points, (ROWS, COLS), (1080, 1920)).shape == (0, 2)
    assert not render_labels({}, (ROWS, COLS), 4).any()


def test_all_dark_frame_culls_everything():
    frame = np.zeros((ROWS, COLS, 3), dtype=np.uint8)
    assert not field_of_view_mask(frame, (ROWS, COLS)).any()
    check_counts(PostProcessor()(straight(), frame=frame))


def test_circle_fitted_to_stray_dark_pixels_is_not_trusted():
    frame = bright_frame()
    frame[0, 200:204] = 0
    frame[1, 201:203] = 0
    inside = field_of_view_mask(frame, (ROWS, COLS), method='circle')
    np.testing.assert_array_equal(inside, field_of_view_mask(frame, (ROWS, COLS)))
    assert inside.sum() == ROWS * COLS - 6

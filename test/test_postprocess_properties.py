# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Property tests of the post-processing (hypothesis)."""

import cv2
from hypothesis import given, settings, strategies as st
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.postprocess import (
    arc_length, PostProcessConfig, PostProcessor, to_output_pixels)
from liver_landmarks.postprocess.rdp import simplify_rdp, simplify_rdp_many
from liver_landmarks.postprocess.resample import resample_many, resample_polyline
from liver_landmarks.postprocess.skeleton import skeletonize_mask
import numpy as np
from skimage.morphology import skeletonize

coordinate = st.floats(-200, 200, allow_nan=False, width=32)
polyline = st.lists(st.tuples(coordinate, coordinate), min_size=0, max_size=40).map(
    lambda points: np.array(points, dtype=np.float64).reshape(-1, 2))


def segment_distance(point, start, end):
    direction = end - start
    length_sq = float(direction @ direction)
    along = 0.0 if length_sq == 0 else np.clip((point - start) @ direction / length_sq, 0, 1)
    return float(np.linalg.norm(point - (start + along * direction)))


@st.composite
def drawn_masks(draw):
    """Draw a small id mask with random thick lines and blobs of random landmarks."""
    rows, cols = draw(st.integers(24, 120)), draw(st.integers(24, 160))
    ids = np.zeros((rows, cols), dtype=np.uint8)
    for _ in range(draw(st.integers(0, 6))):
        landmark = int(draw(st.sampled_from(LANDMARKS)))
        start = (draw(st.integers(-10, cols + 10)), draw(st.integers(-10, rows + 10)))
        end = (draw(st.integers(-10, cols + 10)), draw(st.integers(-10, rows + 10)))
        if draw(st.booleans()):
            cv2.line(ids, start, end, landmark, draw(st.integers(1, 6)))
        else:
            cv2.circle(ids, start, draw(st.integers(1, 8)), landmark, -1)
    return ids


@settings(max_examples=60, deadline=None)
@given(ids=drawn_masks(), output=st.tuples(st.integers(8, 400), st.integers(8, 400)),
       step=st.floats(0.5, 12), circle=st.booleans())
def test_outputs_lie_inside_the_output_image(ids, output, step, circle):
    frame = np.full(ids.shape + (3,), 90, dtype=np.uint8)
    frame[:, :3] = 0
    config = PostProcessConfig(sample_step_px=step, fov_method='circle' if circle else 'threshold')
    result = PostProcessor(config)(ids, frame=frame, output_size=output)
    assert result.labels.shape == output and result.labels.dtype == np.uint8
    assert set(np.unique(result.labels)) <= {0, 1, 2, 3}
    for lines in result.polylines.values():
        for points in lines:
            assert len(points) >= 1 and np.isfinite(points).all()
            assert points[:, 0].min() >= 0 and points[:, 0].max() <= output[1] - 1
            assert points[:, 1].min() >= 0 and points[:, 1].max() <= output[0] - 1
            chords = np.linalg.norm(np.diff(points, axis=0), axis=1)
            assert np.all(chords <= step + 1e-3)


@settings(max_examples=150, deadline=None)
@given(ids=drawn_masks(), ring=st.booleans())
def test_region_by_region_thinning_equals_whole_image_thinning(ids, ring):
    mask = ids > 0
    if ring:
        # A ring with an island in its hole: nested components share a bounding box.
        centre = (ids.shape[1] // 2, ids.shape[0] // 2)
        cv2.circle(ids, centre, 10, 1, 3)
        cv2.circle(ids, centre, 2, 1, -1)
        mask = ids > 0
    np.testing.assert_array_equal(skeletonize_mask(mask), skeletonize(mask, method='zhang'))


@settings(max_examples=200, deadline=None)
@given(points=polyline, epsilon=st.floats(0, 5))
def test_rdp_keeps_ends_and_moves_no_point_farther_than_epsilon(points, epsilon):
    simplified = simplify_rdp(points, epsilon)
    if len(points) == 0:
        assert len(simplified) == 0
        return
    kept = points.astype(np.float32)
    assert np.array_equal(simplified[0], kept[0]) and np.array_equal(simplified[-1], kept[-1])
    # A subsequence: find every kept point in order.
    positions, start = [], 0
    for point in simplified:
        while not np.array_equal(kept[start], point):
            start += 1
        positions.append(start)
        start += 1
    assert len(positions) == len(simplified)
    for first, last in zip(positions[:-1], positions[1:]):
        for dropped in range(first + 1, last):
            distance = segment_distance(points[dropped], points[first], points[last])
            assert distance <= epsilon + 1e-6


@settings(max_examples=80, deadline=None)
@given(batch=st.lists(polyline, max_size=6), epsilon=st.floats(0, 5), step=st.floats(0.5, 20))
def test_batched_steps_equal_one_at_a_time(batch, epsilon, step):
    simplified = simplify_rdp_many(batch, epsilon)
    resampled = resample_many(batch, step)
    assert len(simplified) == len(resampled) == len(batch)
    for points, together, again in zip(batch, simplified, resampled):
        np.testing.assert_array_equal(together, simplify_rdp(points, epsilon))
        alone = resample_polyline(points, step)
        # Arc lengths in a batch are differences of one running sum: equal up to rounding.
        assert again.shape == alone.shape
        np.testing.assert_allclose(again, alone, atol=1e-3)


@settings(max_examples=200, deadline=None)
@given(points=polyline.filter(lambda points: len(points) >= 2), step=st.floats(0.5, 20))
def test_resampling_keeps_ends_and_spacing(points, step):
    resampled = resample_polyline(points, step)
    total = arc_length(points)
    if total == 0:
        assert len(resampled) == 1
        return
    np.testing.assert_allclose(resampled[0], points[0], atol=1e-3)
    np.testing.assert_allclose(resampled[-1], points[-1], atol=1e-3)
    chords = np.linalg.norm(np.diff(resampled.astype(np.float64), axis=0), axis=1)
    assert np.all(chords <= step + 1e-3)
    # Whole steps, then one shorter last step: ceil(total / step) intervals.
    assert -1e-6 <= len(resampled) - 1 - total / step < 1 + 1e-6


@settings(max_examples=100, deadline=None)
@given(start=st.tuples(coordinate, coordinate), angle=st.floats(0, 2 * np.pi),
       length=st.floats(1, 300), step=st.floats(0.5, 20))
def test_resampling_a_segment_spaces_points_exactly(start, angle, length, step):
    start = np.array(start, dtype=np.float64)
    end = start + length * np.array([np.cos(angle), np.sin(angle)])
    resampled = resample_polyline(np.stack([start, end]), step).astype(np.float64)
    chords = np.linalg.norm(np.diff(resampled, axis=0), axis=1)
    np.testing.assert_allclose(chords[:-1], step, atol=2e-3)
    assert 0 < chords[-1] <= step + 2e-3


@settings(max_examples=100, deadline=None)
@given(working=st.tuples(st.integers(1, 400), st.integers(1, 400)),
       output=st.tuples(st.integers(1, 2000), st.integers(1, 2000)),
       fractions=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1))
def test_pixel_centres_map_to_pixel_centres(working, output, fractions):
    rows, cols = working
    points = np.array(fractions) * [cols - 1, rows - 1]
    mapped = to_output_pixels(points, working, output)
    assert mapped[:, 0].min() >= 0 and mapped[:, 0].max() <= output[1] - 1
    assert mapped[:, 1].min() >= 0 and mapped[:, 1].max() <= output[0] - 1
    if output[0] >= rows and output[1] >= cols:
        expected_x = (points[:, 0] + 0.5) * output[1] / cols - 0.5
        np.testing.assert_allclose(mapped[:, 0], expected_x, atol=1e-9)
    np.testing.assert_allclose(to_output_pixels(points, working, working), points, atol=1e-9)

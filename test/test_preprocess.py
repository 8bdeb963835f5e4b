# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Pre-processing: shapes, normalisation, channel order, resizing and mapping back."""

import cv2
from liver_landmarks.calibration import calibration_frame
from liver_landmarks.preprocess import (
    IMAGENET_MEAN, IMAGENET_STD, Preprocessor, resize_image, resize_labels)
import numpy as np
import pytest


@pytest.mark.parametrize('height, width', [(1080, 1920), (480, 640), (320, 416), (50, 100),
                                           (1, 1), (2160, 3840)])
def test_any_size_frame_becomes_the_network_tensor(height, width):
    frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    tensor = Preprocessor()(frame)
    assert tensor.shape == (1, 3, 320, 416)
    assert tensor.dtype == np.float32 and tensor.flags['C_CONTIGUOUS']


def test_normalisation_is_imagenet_mean_and_std_of_pixel_over_255():
    frame = np.empty((64, 80, 3), dtype=np.uint8)
    frame[...] = (200, 100, 0)
    tensor = Preprocessor()(frame)
    expected = (np.array([200, 100, 0]) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    np.testing.assert_allclose(tensor[0, :, 10, 10], expected, rtol=1e-5)
    assert np.allclose(tensor[0], expected.reshape(3, 1, 1), rtol=1e-5)


def test_a_cards_mean_and_std_are_used():
    frame = np.full((32, 32, 3), 255, dtype=np.uint8)
    tensor = Preprocessor(mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))(frame)
    np.testing.assert_allclose(tensor[0, :, 0, 0], [2.0, 1.0, 0.5], rtol=1e-6)


def test_bgr_input_gives_the_same_tensor_as_rgb():
    rgb = np.random.default_rng(1).integers(0, 256, (270, 480, 3), dtype=np.uint8)
    preprocessor = Preprocessor()
    np.testing.assert_array_equal(preprocessor(rgb[:, :, ::-1], 'bgr'), preprocessor(rgb, 'rgb'))
    assert not np.array_equal(preprocessor(rgb, 'bgr'), preprocessor(rgb, 'rgb'))


def test_a_bgr_trained_model_gets_bgr_channels():
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    tensor = Preprocessor(mean=(0, 0, 0), std=(1, 1, 1), model_channel_order='bgr')(rgb, 'rgb')
    np.testing.assert_allclose(tensor[0, :, 0, 0], [0.0, 0.0, 1.0])


@pytest.mark.parametrize('frame, message', [
    (np.zeros((10, 10, 3), np.float32), 'uint8'),
    (np.zeros((10, 10, 3), np.uint16), 'uint8'),
    (np.zeros((10, 10), np.uint8), r'\(height, width, 3\)'),
    (np.zeros((10, 10, 4), np.uint8), r'\(height, width, 3\)'),
    (np.zeros((0, 10, 3), np.uint8), 'empty'),
    ([[0, 0, 0]], 'numpy array'),
])
def test_wrong_frames_are_refused_with_a_clear_value_error(frame, message):
    with pytest.raises(ValueError, match=message):
        Preprocessor()(frame)


def test_unknown_channel_order_is_refused():
    with pytest.raises(ValueError, match='channel_order'):
        Preprocessor()(np.zeros((8, 8, 3), np.uint8), 'rgba')


@pytest.mark.parametrize('height, width', [(960, 1248), (1080, 1920), (2160, 3840)])
def test_shrinking_averages_so_thin_lines_survive(height, width):
    # One-pixel lines every third column: averaging keeps their brightness (a third of
    # 255 overall) and leaves none of them out; point sampling could miss them entirely.
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    frame[:, 0::3] = 255
    small = resize_image(frame, 416, 320)
    assert small.shape == (320, 416, 3)
    assert abs(small.mean() - 85.0) < 1.5
    assert small.min() >= 40


@pytest.mark.parametrize('height, width', [(1080, 1920), (720, 1280), (1081, 1919), (640, 832)])
def test_shrinking_matches_one_step_area_averaging_on_frames(height, width):
    frame = calibration_frame(width, height, seed=4)
    one_step = cv2.resize(frame, (416, 320), interpolation=cv2.INTER_AREA).astype(int)
    difference = np.abs(resize_image(frame, 416, 320).astype(int) - one_step)
    assert difference.mean() < 1.0 and np.percentile(difference, 99) <= 4


@pytest.mark.parametrize('layout', ['padded rows', 'reversed channels', 'alpha sliced off'])
def test_strided_frames_resize_like_contiguous_ones(layout):
    frame = calibration_frame(640, 480, seed=5)
    if layout == 'padded rows':
        view = np.pad(frame, ((0, 0), (0, 7), (0, 0)))[:, :640]
    elif layout == 'reversed channels':
        view, frame = frame[:, :, ::-1], np.ascontiguousarray(frame[:, :, ::-1])
    else:
        view = np.concatenate([frame, np.zeros((480, 640, 1), np.uint8)], axis=2)[:, :, :3]
    np.testing.assert_array_equal(resize_image(view, 416, 320), resize_image(frame, 416, 320))
    np.testing.assert_array_equal(Preprocessor()(view), Preprocessor()(frame))


def test_enlarging_interpolates_smoothly():
    frame = np.zeros((2, 2, 3), dtype=np.uint8)
    frame[:, 1] = 200
    large = resize_image(frame, 8, 2)
    row = large[0, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 200
    assert np.all(np.diff(row) >= 0) and len(set(row.tolist())) > 2


def test_label_resizing_never_blends_ids():
    ids = np.random.default_rng(2).integers(0, 4, (320, 416), dtype=np.uint8)
    full = resize_labels(ids, 1080, 1920)
    assert full.shape == (1080, 1920) and full.dtype == np.uint8
    assert set(np.unique(full)) <= {0, 1, 2, 3}
    np.testing.assert_array_equal(full, cv2.resize(ids, (1920, 1080),
                                                   interpolation=cv2.INTER_NEAREST))
    assert Preprocessor().labels_to_frame(ids, (1080, 1920, 3)).shape == (1080, 1920)

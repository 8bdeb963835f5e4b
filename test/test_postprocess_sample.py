# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The real P2ILF sample through the post-processing.

The ground-truth label of P2ILF patient 1 image 12 holds two ridges, one ligament
and the silhouette in two pieces (see the sample's README). Through the
post-processor, at the network's 416x320 and at the full 1920x1080, it must keep
that structure, and the label mask re-drawn from the polylines must overlap the
ground truth well by the challenge's own metrics.
"""

import cv2
from liver_landmarks.landmarks import Landmark
from liver_landmarks.metrics import landmark_scores
from liver_landmarks.p2ilf_io import read_label_image
from liver_landmarks.postprocess import PostProcessor
from liver_landmarks_tools.support.data import P2ILF_SAMPLE
import pytest

SAMPLE = P2ILF_SAMPLE
GT_LABEL = SAMPLE / 'labels' / 'P2ILF22_patient1_12_GT.jpg'
FRAME = SAMPLE / 'images' / 'P2ILF22_patient1_12.jpg'
DEGRADED = SAMPLE / 'degraded_predictions'


@pytest.fixture(scope='module')
def ground_truth():
    if not GT_LABEL.is_file() or not FRAME.is_file():
        pytest.skip(f'P2ILF sample not found under {SAMPLE}')
    return read_label_image(GT_LABEL)


@pytest.fixture(scope='module')
def frame(ground_truth):
    return cv2.cvtColor(cv2.imread(str(FRAME)), cv2.COLOR_BGR2RGB)


def at_network_size(ids):
    return cv2.resize(ids, (416, 320), interpolation=cv2.INTER_NEAREST)


def check_structure(result):
    assert len(result.polylines[Landmark.RIDGE]) == 2
    assert len(result.polylines[Landmark.LIGAMENT]) == 1
    assert 1 <= len(result.polylines[Landmark.SILHOUETTE]) <= 2


def test_network_size_labels_map_back_to_the_frame(ground_truth, frame):
    result = PostProcessor()(at_network_size(ground_truth), frame=frame,
                             output_size=ground_truth.shape)
    check_structure(result)
    assert result.labels.shape == ground_truth.shape
    height, width = ground_truth.shape
    for lines in result.polylines.values():
        for points in lines:
            assert points[:, 0].min() >= 0 and points[:, 0].max() <= width - 1
            assert points[:, 1].min() >= 0 and points[:, 1].max() <= height - 1
    scores = landmark_scores(result.labels, ground_truth)
    for name, score in scores.items():
        assert score['dice'] >= 0.75, name
        assert score['francois_px'] <= 1.0, name


def test_full_resolution_labels(ground_truth):
    result = PostProcessor()(ground_truth)
    check_structure(result)
    for name, score in landmark_scores(result.labels, ground_truth).items():
        assert score['dice'] >= 0.85, name
        assert score['precision'] >= 0.85, name


def test_removed_ridge_and_ligament_gap_show_in_the_polylines(ground_truth, frame):
    path = DEGRADED / 'P2ILF22_patient1_12_eval_removed_2.jpg'
    if not path.is_file():
        pytest.skip(f'{path} not found')
    degraded = PostProcessor()(at_network_size(read_label_image(path)), frame=frame,
                               output_size=ground_truth.shape)
    intact = PostProcessor()(at_network_size(ground_truth), frame=frame,
                             output_size=ground_truth.shape)
    assert len(degraded.polylines[Landmark.RIDGE]) < len(intact.polylines[Landmark.RIDGE])
    assert len(degraded.polylines[Landmark.LIGAMENT]) == 2
    degraded_scores = landmark_scores(degraded.labels, ground_truth)
    intact_scores = landmark_scores(intact.labels, ground_truth)
    assert degraded_scores['ridge']['dice'] < intact_scores['ridge']['dice']
    assert degraded_scores['ligament']['francois_px'] > intact_scores['ligament']['francois_px']

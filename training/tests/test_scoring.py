# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Scoring at the ground truth's resolution: line widths match, the ground truth scores high."""

from liver_landmarks.drawing import line_thickness
from liver_landmarks.p2ilf_io import LINE_THICKNESS_AT_1080
from liver_landmarks.postprocess import PostProcessConfig
from liver_landmarks.preprocess import resize_labels
from liver_landmarks_training.datasets import discover_p2ilf
from liver_landmarks_training.scoring import (
    ground_truth_at_image_size, paper_means, postprocessor_for, score_predictions)
from liver_landmarks_training.synthetic_writers import FrameSize, write_p2ilf_dataset
import pytest


@pytest.fixture(scope='module')
def full_size_frames(tmp_path_factory):
    """Six synthetic P2ILF frames at 1920x1080 with their full-size ground truth."""
    root = tmp_path_factory.mktemp('p2ilf')
    write_p2ilf_dataset(root, 3, (1, 2), FrameSize(1920, 1080), start_seed=0)
    return [ground_truth_at_image_size(sample) for sample in discover_p2ilf(root)]


@pytest.mark.parametrize('rows', [225, 240, 270, 320, 480, 720, 1024, 1080, 2160])
def test_redrawn_lines_are_as_wide_as_the_ground_truths(rows):
    postprocessor = postprocessor_for(rows)
    expected = line_thickness(rows, LINE_THICKNESS_AT_1080)
    assert postprocessor.config.thickness_for(rows) == expected


def test_post_processing_the_ground_truth_at_its_resolution_scores_at_least_0_95(
        full_size_frames):
    # Without smoothing, skeleton + re-drawing alone must give the ground truth back.
    unsmoothed = PostProcessConfig(rdp_epsilon_px=0.0)
    scores = score_predictions([truth for _, truth in full_size_frames], full_size_frames,
                               unsmoothed)
    means = paper_means(scores['post'])
    assert means['P'] >= 0.95 and means['D'] >= 0.95
    assert paper_means(scores['raw']) == {'P': 1.0, 'D': 1.0, 'G': 0.0}


def test_working_size_ground_truth_loses_no_more_after_post_processing(full_size_frames):
    # The network sees 416x320: the ground truth at that size, scored at full size,
    # bounds what any prediction can reach; post-processing must not lose against it.
    working = [resize_labels(truth, 320, 416) for _, truth in full_size_frames]
    scores = score_predictions(working, full_size_frames)
    raw, post = paper_means(scores['raw']), paper_means(scores['post'])
    assert post['P'] >= raw['P'] and post['D'] >= raw['D'] and post['G'] <= raw['G']
    assert raw['D'] > 0.7


def test_an_empty_prediction_scores_the_papers_worst_g(full_size_frames):
    empty = [truth * 0 for _, truth in full_size_frames]
    means = paper_means(score_predictions(empty, full_size_frames)['raw'])
    assert means == {'P': 0.0, 'D': 0.0, 'G': 1.0}

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""P2ILF challenge metrics: hand-computed cases, properties and the real sample."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from liver_landmarks import metrics, p2ilf_io
from liver_landmarks.landmarks import Landmark
from liver_landmarks_tools.support.data import P2ILF_SAMPLE
import numpy as np
import pytest
from scipy.spatial.distance import cdist

SAMPLE = P2ILF_SAMPLE
needs_sample = pytest.mark.skipif(not SAMPLE.is_dir(),
                                  reason=f'P2ILF sample data not found at {SAMPLE}')
DEGRADED = ('eroded', 'removed', 'removed_2')


def mask(shape, pixels):
    """Boolean mask of ``shape`` with the given (row, column) pixels set."""
    result = np.zeros(shape, dtype=bool)
    for row, column in pixels:
        result[row, column] = True
    return result


def row_segment(row, first, last):
    return [(row, column) for column in range(first, last + 1)]


def test_precision_and_dice_on_overlapping_segments():
    # GT columns 0..3, prediction columns 2..5 of one row:
    # tp = 2 (columns 2, 3), fp = 2 (4, 5), fn = 2 (0, 1)
    # precision = 2 / 4 = 0.5; Dice = 2*2 / (2*2 + 2 + 2) = 0.5
    gt = mask((1, 6), row_segment(0, 0, 3))
    pred = mask((1, 6), row_segment(0, 2, 5))
    scores = metrics.binary_scores(pred, gt)
    assert scores['precision'] == pytest.approx(0.5)
    assert scores['dice'] == pytest.approx(0.5)


def test_francois_and_symdist2_on_a_shifted_segment_plus_one_outlier():
    # 20 x 40 image (800 px). B: row 10, columns 5..14 (|B| = 10).
    # A: row 13, columns 5..14 (3 px below B) plus the outlier (0, 39).
    # TDT_B = 3 on the shifted row -> D_AB = 10 * 3 = 30; the outlier is
    # sqrt(10^2 + 25^2) = 26.93 >= dmax from B -> FP = 1.
    # Every B pixel is 3 px from A -> D_BA = 30, FN = 0.
    # score = (30 + 30) / (2 * 10) + 10 * 0 / 10 + 10 * 1 / (800 - 2 * 10 * 10)
    #       = 3 + 10 / 600 = 3.016667 px; / dmax = 0.3016667
    # symDist2 = (10 * 3 + sqrt(725) + 10 * 3) / (50 * 10) = 86.9258 / 500 = 0.173852
    gt = mask((20, 40), row_segment(10, 5, 14))
    pred = mask((20, 40), row_segment(13, 5, 14) + [(0, 39)])
    scores = metrics.binary_scores(pred, gt)
    assert scores['francois_px'] == pytest.approx(3 + 10 / 600)
    assert scores['francois_norm'] == pytest.approx((3 + 10 / 600) / 10)
    assert scores['symdist2'] == pytest.approx((60 + math.sqrt(725)) / 500)
    # No pixel in common: precision and Dice are both 0.
    assert scores['precision'] == 0.0 and scores['dice'] == 0.0


def test_francois_counts_missed_ground_truth_beyond_dmax_as_false_negatives():
    # 10 x 40 image. B: row 5, columns 0..19 (|B| = 20); A: row 5, columns 0..9.
    # tp = 10, fp = 0, fn = 10 -> precision 1, Dice = 20 / 30.
    # TDT_B = 0 on A -> D_AB = 0. B columns 10..19 are 1..10 px from A:
    # D_BA = 1 + ... + 9 = 45 and column 19 (distance 10 = dmax) is FN = 1.
    # score = 45 / (2 * 20) + 10 * 1 / 20 + 0 = 1.125 + 0.5 = 1.625
    # symDist2 = (0 + (1 + ... + 10)) / (50 * 20) = 55 / 1000 = 0.055
    gt = mask((10, 40), row_segment(5, 0, 19))
    pred = mask((10, 40), row_segment(5, 0, 9))
    scores = metrics.binary_scores(pred, gt)
    assert scores['precision'] == 1.0
    assert scores['dice'] == pytest.approx(2 / 3)
    assert scores['francois_px'] == pytest.approx(1.625)
    assert scores['symdist2'] == pytest.approx(0.055)


def test_distances_are_exact_euclidean():
    # One pixel each, (0, 0) and (3, 4): distance 5 < dmax in both directions.
    # score = (5 + 5) / (2 * 1) = 5; symDist2 = (5 + 5) / (50 * 1) = 0.2
    gt = mask((10, 10), [(0, 0)])
    pred = mask((10, 10), [(3, 4)])
    scores = metrics.binary_scores(pred, gt)
    assert scores['francois_px'] == pytest.approx(5.0)
    assert scores['symdist2'] == pytest.approx(0.2)


def test_far_prediction_saturates_both_distance_scores():
    # 1 x 100 image, B = column 0, A = column 60: 60 px apart.
    # François: FP = 1, FN = 1 -> 10 * 1 / 1 + 10 * 1 / (100 - 2 * 10 * 1) = 10.125
    # symDist2: (50 + 50) / (50 * 1) = 2, clipped to 1.
    gt = mask((1, 100), [(0, 0)])
    pred = mask((1, 100), [(0, 60)])
    scores = metrics.binary_scores(pred, gt)
    assert scores['francois_px'] == pytest.approx(10.125)
    assert scores['symdist2'] == 1.0


def test_empty_prediction_of_a_present_landmark_scores_worst():
    # A empty: TDT_A = dmax everywhere, so FN = |B|, D = 0 -> score = dmax * |B| / |B| = 10.
    gt = mask((8, 8), row_segment(4, 1, 6))
    scores = metrics.binary_scores(np.zeros_like(gt), gt)
    assert scores == {'precision': 0.0, 'dice': 0.0, 'francois_px': 10.0,
                      'francois_norm': 1.0, 'symdist2': 1.0}


def test_landmark_absent_from_ground_truth_is_not_applicable():
    gt = np.zeros((6, 6), dtype=np.uint8)
    gt[2, :] = Landmark.RIDGE
    pred = gt.copy()
    pred[4, :] = Landmark.LIGAMENT    # predicted, but not in the ground truth
    scores = metrics.landmark_scores(pred, gt)
    assert scores['ligament'] is None and scores['silhouette'] is None
    assert scores['ridge']['dice'] == 1.0
    assert set(scores['ridge']) == set(metrics.SCORE_KEYS)


def test_classes_are_scored_separately():
    # Ridge predicted where the ligament is: both landmarks miss entirely.
    gt = np.zeros((5, 30), dtype=np.uint8)
    gt[1, :] = Landmark.RIDGE
    gt[3, :] = Landmark.LIGAMENT
    pred = np.zeros_like(gt)
    pred[3, :] = Landmark.RIDGE
    scores = metrics.landmark_scores(pred, gt)
    assert scores['ridge']['dice'] == 0.0
    assert scores['ligament']['precision'] == 0.0 and scores['ligament']['francois_px'] == 10.0


def test_size_mismatch_is_refused():
    with pytest.raises(ValueError, match='same'):
        metrics.landmark_scores(np.zeros((4, 5), np.uint8), np.zeros((5, 4), np.uint8))


def test_mean_scores_skips_not_applicable_landmarks():
    per_landmark = {
        'ridge': dict.fromkeys(metrics.SCORE_KEYS, 1.0),
        'ligament': None,
        'silhouette': dict.fromkeys(metrics.SCORE_KEYS, 0.0),
    }
    assert metrics.mean_scores(per_landmark) == dict.fromkeys(metrics.SCORE_KEYS, 0.5)
    nothing = dict.fromkeys(('ridge', 'ligament', 'silhouette'))
    assert metrics.mean_scores(nothing) == dict.fromkeys(metrics.SCORE_KEYS)


def test_mean_over_images_averages_per_landmark_then_over_landmarks():
    # Ridge: images 1 and 2 -> (1.0 + 0.5) / 2 = 0.75; ligament only in image 2: 0.25;
    # silhouette in none -> None. Mean over landmarks: (0.75 + 0.25) / 2 = 0.5.
    image_1 = {'ridge': dict.fromkeys(metrics.SCORE_KEYS, 1.0), 'ligament': None,
               'silhouette': None}
    image_2 = {'ridge': dict.fromkeys(metrics.SCORE_KEYS, 0.5),
               'ligament': dict.fromkeys(metrics.SCORE_KEYS, 0.25), 'silhouette': None}
    result = metrics.mean_over_images([image_1, image_2])
    assert result['ridge']['dice'] == pytest.approx(0.75)
    assert result['ligament']['symdist2'] == pytest.approx(0.25)
    assert result['silhouette'] is None
    assert result['mean']['precision'] == pytest.approx(0.5)
    assert result['images'] == {'ridge': 2, 'ligament': 1, 'silhouette': 0}


def reference_scores(pred, gt, dmax=10.0, threshold=50.0):
    """Direct transcription of the challenge formulas with brute-force distances."""
    a = np.argwhere(pred).astype(float)
    b = np.argwhere(gt).astype(float)
    if not len(a):
        pred_to_gt = np.zeros(0)
        gt_to_pred = np.full(len(b), np.inf)
    else:
        distances = cdist(a, b)
        pred_to_gt, gt_to_pred = distances.min(axis=1), distances.min(axis=0)
    tdt_ab, tdt_ba = np.minimum(pred_to_gt, dmax), np.minimum(gt_to_pred, dmax)
    false_positives, false_negatives = np.sum(tdt_ab >= dmax), np.sum(tdt_ba >= dmax)
    francois = ((tdt_ab[tdt_ab < dmax].sum() + tdt_ba[tdt_ba < dmax].sum()) / (2 * len(b))
                + dmax * false_negatives / len(b)
                + dmax * false_positives / max(gt.size - 2 * dmax * len(b), 1))
    if len(a):
        symdist = min((np.minimum(pred_to_gt, threshold).sum()
                       + np.minimum(gt_to_pred, threshold).sum()) / (threshold * len(b)), 1.0)
    else:
        symdist = 1.0
    return francois, symdist


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(bool, st.tuples(st.integers(1, 24), st.integers(1, 70))),
       hnp.arrays(bool, st.tuples(st.integers(1, 24), st.integers(1, 70))))
def test_distance_scores_match_a_brute_force_transcription(pred, gt):
    height, width = min(pred.shape[0], gt.shape[0]), min(pred.shape[1], gt.shape[1])
    pred, gt = pred[:height, :width], gt[:height, :width]
    scores = metrics.binary_scores(pred, gt)
    if not gt.any():
        assert scores is None
        return
    francois, symdist = reference_scores(pred, gt)
    assert scores['francois_px'] == pytest.approx(francois)
    assert scores['symdist2'] == pytest.approx(symdist)
    assert 0.0 <= scores['precision'] <= 1.0 and 0.0 <= scores['dice'] <= 1.0
    assert 0.0 <= scores['symdist2'] <= 1.0


@pytest.fixture(scope='module')
def sample_gt():
    return p2ilf_io.read_label_image(SAMPLE / 'labels' / 'P2ILF22_patient1_12_GT.jpg')


@needs_sample
def test_sample_ground_truth_against_itself_is_perfect(sample_gt):
    scores = metrics.landmark_scores(sample_gt, sample_gt)
    for name in ('ridge', 'ligament', 'silhouette'):
        assert scores[name] == {'precision': 1.0, 'dice': 1.0, 'francois_px': 0.0,
                                'francois_norm': 0.0, 'symdist2': 0.0}


@needs_sample
@pytest.mark.parametrize('variant', DEGRADED)
def test_each_degraded_sample_prediction_scores_worse(sample_gt, variant):
    path = SAMPLE / 'degraded_predictions' / f'P2ILF22_patient1_12_eval_{variant}.jpg'
    scores = metrics.landmark_scores(p2ilf_io.read_label_image(path), sample_gt)
    mean = metrics.mean_scores(scores)
    assert mean['dice'] < 1.0 and mean['precision'] <= 1.0
    assert mean['francois_px'] > 0.0 and mean['symdist2'] > 0.0
    # Every variant thins or cuts the ridge, so the ridge itself is worse on every metric
    # that counts missed pixels.
    assert scores['ridge']['dice'] < 0.95
    assert scores['ridge']['francois_px'] > 0.0 and scores['ridge']['symdist2'] > 0.0


@needs_sample
def test_degradations_rank_as_described(sample_gt):
    # eroded (thinner ridge) < removed (part of the ridges gone) < removed_2 (plus a
    # ligament gap) in how badly they score.
    means = {}
    for variant in DEGRADED:
        path = SAMPLE / 'degraded_predictions' / f'P2ILF22_patient1_12_eval_{variant}.jpg'
        means[variant] = metrics.mean_scores(
            metrics.landmark_scores(p2ilf_io.read_label_image(path), sample_gt))
    assert means['eroded']['dice'] > means['removed']['dice'] > means['removed_2']['dice']
    assert (means['eroded']['francois_px'] < means['removed']['francois_px']
            < means['removed_2']['francois_px'])

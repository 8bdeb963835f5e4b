# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Each loss term against a hand calculation, class weights, gradient flow."""

import math

from liver_landmarks_training.losses import (
    class_weights_for, class_weights_from_masks, CompositeLoss, EmptyClassError,
    huber_on_probabilities, TVERSKY_SMOOTH)
import numpy as np
import pytest
import torch


def _example():
    """Two 2x3 images, 4 classes, with every class present in the targets."""
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 4, 2, 3, generator=generator)
    target = torch.tensor([[[0, 1, 2], [3, 0, 0]],
                           [[1, 1, 0], [0, 3, 2]]])
    return logits, target


def _softmax_and_one_hot(logits, target):
    probabilities = np.exp(logits.numpy())
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    one_hot = np.stack([(target.numpy() == c) for c in range(4)], axis=1).astype(np.float64)
    return probabilities.astype(np.float64), one_hot


def _tversky_indices(logits, target, alpha, beta):
    probabilities, one_hot = _softmax_and_one_hot(logits, target)
    indices = []
    for class_id in (1, 2, 3):
        p, y = probabilities[:, class_id], one_hot[:, class_id]
        true_positive = (p * y).sum()
        false_positive = (p * (1 - y)).sum()
        false_negative = ((1 - p) * y).sum()
        indices.append((true_positive + TVERSKY_SMOOTH) / (
            true_positive + alpha * false_positive + beta * false_negative + TVERSKY_SMOOTH))
    return np.array(indices)


def test_class_weights_on_known_masks():
    # 100 pixels: 70 background, 20 ridge, 9 ligament, 1 silhouette.
    first = np.zeros((5, 10), np.uint8)
    first[0, :] = 1
    first[1, :] = 1
    second = np.zeros((5, 10), np.uint8)
    second[0, :9] = 2
    second[4, 9] = 3
    weights = class_weights_from_masks([first, torch.from_numpy(second)])
    expected = [max(1.0, math.log(100 / n)) for n in (70, 20, 9, 1)]
    assert weights == pytest.approx(expected)
    assert weights[0] == 1.0 and weights[3] == pytest.approx(math.log(100))


def test_empty_class_is_a_clear_error_or_guarded():
    masks = [np.array([[0, 1], [2, 0]], np.uint8)]
    with pytest.raises(EmptyClassError, match='silhouette'):
        class_weights_from_masks(masks)
    weights = class_weights_from_masks(masks, allow_missing=True)
    assert weights[3] == 1.0 and weights[1] == pytest.approx(math.log(4))


def test_weighted_cross_entropy_matches_hand_calculation():
    logits, target = _example()
    weights = [1.0, 2.0, 3.0, 4.0]
    loss = CompositeLoss(a=1.0, class_weights=weights)(logits, target)
    probabilities, _ = _softmax_and_one_hot(logits, target)
    ids = target.numpy()
    picked = np.take_along_axis(probabilities, ids[:, None], axis=1)[:, 0]
    pixel_weights = np.array(weights)[ids]
    expected = (-np.log(picked) * pixel_weights).sum() / pixel_weights.sum()
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_dice_keeps_background_pixels_and_matches_hand_calculation():
    logits, target = _example()
    loss = CompositeLoss(a=0.0, b=1.0)(logits, target)
    expected = np.mean(1 - _tversky_indices(logits, target, 0.5, 0.5))
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # Landmark probability on background pixels must count as false positives:
    # pushing it up on a background pixel raises the loss.
    raised = logits.clone()
    raised[0, 1, 0, 0] += 5.0   # pixel (0, 0) of image 0 is background
    assert CompositeLoss(a=0.0, b=1.0)(raised, target).item() > loss.item()


def test_focal_tversky_exponent_convention():
    logits, target = _example()
    alpha, beta, gamma = 0.3, 0.7, 1.5
    loss = CompositeLoss(a=0.0, d=1.0, tversky_alpha=alpha, tversky_beta=beta,
                         focal_gamma=gamma)(logits, target)
    expected = np.mean(1 - _tversky_indices(logits, target, alpha, beta)) ** gamma
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # Defaults alpha = beta = 0.5: the Tversky index is Dice, so FT = Dice loss ** 1.5.
    dice = CompositeLoss(a=0.0, b=1.0)(logits, target).item()
    assert CompositeLoss(a=0.0, d=1.0)(logits, target).item() == pytest.approx(dice ** 1.5)


def test_huber_is_on_probabilities_and_matches_hand_calculation():
    logits, target = _example()
    probabilities, one_hot = _softmax_and_one_hot(logits, target)
    difference = np.abs(probabilities - one_hot)
    expected = np.where(difference < 1, 0.5 * difference ** 2, difference - 0.5).mean()
    assert huber_on_probabilities(logits, target).item() == pytest.approx(expected, rel=1e-5)
    doubled = CompositeLoss(a=0.0, c=2.0)(logits, target).item()
    assert doubled == pytest.approx(2 * expected, rel=1e-5)


def test_composite_is_weighted_sum_and_gradients_flow_through_every_term():
    logits, target = _example()
    loss = CompositeLoss(a=0.5, b=0.2, c=0.2, d=0.1, class_weights=[1.0, 2.0, 2.0, 3.0])
    terms = loss.terms(logits, target)
    assert set(terms) == {'ce', 'dice', 'huber', 'focal_tversky', 'total'}
    assert terms['total'].item() == pytest.approx(
        sum(terms[name].item() for name in ('ce', 'dice', 'huber', 'focal_tversky')))
    for name in ('ce', 'dice', 'huber', 'focal_tversky'):
        coefficients = dict.fromkeys('abcd', 0.0)
        coefficients['abcd'[['ce', 'dice', 'huber', 'focal_tversky'].index(name)]] = 1.0
        leaf = logits.clone().requires_grad_(True)
        CompositeLoss(**coefficients)(leaf, target).backward()
        assert leaf.grad is not None and torch.isfinite(leaf.grad).all(), name
        assert leaf.grad.abs().sum().item() > 0, f'no gradient through {name}'


def test_all_zero_coefficients_are_refused():
    with pytest.raises(ValueError, match='zero'):
        CompositeLoss(a=0.0)


@pytest.mark.parametrize('coefficients', [{'b': 1.0}, {'d': 1.0}], ids=['dice', 'focal_tversky'])
@pytest.mark.parametrize('include_background', [False, True])
def test_absent_landmark_predicted_everywhere_is_penalised(coefficients, include_background):
    # No ligament (2) anywhere in the targets.
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[0, 2, :] = 1
    target[0, 6, :] = 3
    confident = torch.full((1, 4, 8, 8), -10.0)
    confident.scatter_(1, target[:, None], 10.0)
    ligament_everywhere = confident.clone()
    ligament_everywhere[:, 2] = 20.0
    loss = CompositeLoss(a=0.0, include_background=include_background, **coefficients)
    right, wrong = loss(confident, target).item(), loss(ligament_everywhere, target).item()
    assert right < 0.01
    assert wrong > 0.3


def test_background_is_a_recipe_option_of_the_overlap_terms():
    logits, target = _example()
    without = CompositeLoss(a=0.0, b=1.0)(logits, target).item()
    with_background = CompositeLoss(a=0.0, b=1.0, include_background=True)(logits, target).item()
    probabilities, one_hot = _softmax_and_one_hot(logits, target)
    p, y = probabilities[:, 0], one_hot[:, 0]
    background = ((p * y).sum() + TVERSKY_SMOOTH) / (
        (p * y).sum() + 0.5 * (p * (1 - y)).sum() + 0.5 * ((1 - p) * y).sum() + TVERSKY_SMOOTH)
    assert with_background == pytest.approx((3 * without + 1 - background) / 4, rel=1e-5)


def test_table4_weightings_from_counts():
    counts = [970, 20, 9, 1]
    assert class_weights_for(counts, 'eq1') == pytest.approx(
        [1.0] + [math.log(1000 / n) for n in (20, 9, 1)])
    assert class_weights_for(counts, 'log') == pytest.approx([math.log(1000 / n) for n in counts])
    assert class_weights_for(counts, 'proportional') == pytest.approx([1000 / n for n in counts])

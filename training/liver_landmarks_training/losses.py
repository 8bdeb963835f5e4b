# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The composite segmentation loss ``a*wCE + b*Dice + c*Huber + d*FocalTversky``.

Conventions, each checked against a hand calculation in ``training/tests/test_losses.py``:

* **wCE**: :func:`torch.nn.functional.cross_entropy` with per-class weights
  ``W_i = max(1, ln(|M| / |M_i|))`` (:func:`class_weights_from_masks`); the mean is
  weighted, i.e. divided by the sum of the weights of the target pixels.
* **Dice** and **Focal-Tversky**: soft Tversky indices on softmax probabilities
  against one-hot targets, ``TI_c = (TP + s) / (TP + alpha*FP + beta*FN + s)`` with
  ``s`` = :data:`TVERSKY_SMOOTH`, sums over the whole batch. The mean runs over the
  landmark classes 1..3, or over all four with ``include_background`` (the paper
  does not say; its authors' code leaves background out, and so do the paper
  recipes). Background pixels stay in every sum either way, so probability a
  landmark channel puts on background counts as a false positive. A landmark absent
  from the batch is not skipped (smp's ``DiceLoss`` would give it 0): with nothing to
  find, ``s`` keeps its index near 1 when nothing is predicted and drives it to 0
  when the landmark is predicted everywhere, so that false alarm is penalised.
  Dice is the Tversky index with ``alpha = beta = 0.5``.
* **Focal exponent** (smp's convention): ``FT = (mean_c (1 - TI_c)) ** gamma``, the
  exponent applied to the class mean, ``gamma = 1.5`` by default, so with the
  default ``alpha = beta = 0.5``, ``FT = Dice_loss ** 1.5``.
* **Huber**: smooth L1 (delta 1) between the softmax probabilities and the one-hot
  target over all four channels, mean over elements. Probabilities and one-hot lie in
  [0, 1], so every difference is within delta and the term equals
  ``0.5 * mean((p - y) ** 2)``; it is differentiable, never computed on an argmax.
"""

from collections.abc import Iterable, Sequence
import math

from liver_landmarks.landmarks import CLASS_NAMES, LANDMARKS, NUM_CLASSES
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

LANDMARK_CLASS_IDS = [int(landmark) for landmark in LANDMARKS]
#: Additive smoothing of the soft Tversky index, in pixels.
TVERSKY_SMOOTH = 1.0


class EmptyClassError(ValueError):
    """A class has no pixel in the training masks, so its weight is undefined."""


def class_pixel_counts(masks: Iterable, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Count the pixels of each class id over label masks (numpy arrays or tensors)."""
    counts = np.zeros(num_classes, dtype=np.int64)
    for mask in masks:
        if isinstance(mask, torch.Tensor):
            mask = mask.detach().cpu().numpy()
        ids = np.asarray(mask).reshape(-1).astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
            raise ValueError(f'mask holds class ids outside 0..{num_classes - 1}: '
                             f'{ids.min()}..{ids.max()}')
        counts += np.bincount(ids, minlength=num_classes)
    return counts


def class_weights_from_counts(counts: Sequence[int], allow_missing: bool = False) -> list[float]:
    """Return ``W_i = max(1, ln(|M| / |M_i|))`` from per-class pixel counts.

    A class with zero pixels raises :class:`EmptyClassError` naming it. With
    ``allow_missing=True`` it gets weight 1.0 instead: cross-entropy only weighs a
    pixel by its target class, so the weight of a class that never occurs in the
    training masks has no effect there.
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    weights = []
    for class_id, count in enumerate(counts):
        if count <= 0:
            if not allow_missing:
                name = CLASS_NAMES[class_id] if class_id < len(CLASS_NAMES) else str(class_id)
                raise EmptyClassError(
                    f'class {class_id} ({name}) has no pixels in the training masks, so its '
                    f'weight ln(|M|/|M_i|) is undefined; add annotated frames of it or set '
                    f'loss.allow_missing_classes: true')
            weights.append(1.0)
            continue
        weights.append(max(1.0, math.log(total / count)))
    return weights


def class_weights_for(counts: Sequence[int], mode: str = 'eq1',
                      allow_missing: bool = False) -> list[float]:
    """Return class weights of a weighting ``mode`` from per-class pixel counts.

    ``eq1``: the paper's Eq. 1, ``max(1, ln(|M| / |M_i|))``; ``log``: plain
    ``ln(|M| / |M_i|)``; ``proportional``: inverse frequency ``|M| / |M_i|``. These
    are the three rows of the paper's Table 4. Cross-entropy takes a weighted mean,
    so only the ratios between weights matter.
    """
    if mode == 'eq1':
        return class_weights_from_counts(counts, allow_missing)
    if mode not in ('log', 'proportional'):
        raise ValueError(f"class weighting must be 'eq1', 'log' or 'proportional', got {mode!r}")
    eq1 = class_weights_from_counts(counts, allow_missing)   # raises on an empty class
    counts = np.asarray(counts, dtype=np.float64)
    ratios = counts.sum() / np.where(counts > 0, counts, counts.sum())
    if mode == 'proportional':
        return [float(value) for value in ratios]
    return [float(math.log(ratio)) if count > 0 else weight
            for ratio, count, weight in zip(ratios, counts, eq1)]


def class_weights_from_masks(masks: Iterable, num_classes: int = NUM_CLASSES,
                             allow_missing: bool = False) -> list[float]:
    """Return the class weights ``max(1, ln(|M| / |M_i|))`` over an iterable of masks."""
    return class_weights_from_counts(class_pixel_counts(masks, num_classes), allow_missing)


def soft_tversky_loss(logits: torch.Tensor, target: torch.Tensor, classes: Sequence[int],
                      alpha: float = 0.5, beta: float = 0.5, gamma: float = 1.0
                      ) -> torch.Tensor:
    """``(mean over classes of (1 - TI_c)) ** gamma`` on softmax probabilities (see above)."""
    probabilities = logits.float().softmax(dim=1)
    one_hot = F.one_hot(target.long(), logits.shape[1]).permute(0, 3, 1, 2).to(probabilities)
    dims = (0, 2, 3)
    true_positive = (probabilities * one_hot).sum(dims)
    false_positive = (probabilities * (1 - one_hot)).sum(dims)
    false_negative = ((1 - probabilities) * one_hot).sum(dims)
    index = (true_positive + TVERSKY_SMOOTH) / (
        true_positive + alpha * false_positive + beta * false_negative + TVERSKY_SMOOTH)
    loss = (1 - index[list(classes)]).mean()
    return loss ** gamma if gamma != 1 else loss


def huber_on_probabilities(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Smooth L1 (delta 1) between softmax probabilities and the one-hot target."""
    probabilities = logits.float().softmax(dim=1)
    one_hot = F.one_hot(target.long(), logits.shape[1]).permute(0, 3, 1, 2).to(probabilities)
    return F.smooth_l1_loss(probabilities, one_hot, beta=1.0)


class CompositeLoss(nn.Module):
    """``a*wCE + b*Dice + c*Huber + d*FocalTversky`` on (N, C, H, W) logits.

    Terms with a zero coefficient are not computed. ``forward`` returns the total;
    :meth:`terms` also returns each weighted term for logging.
    """

    def __init__(self, a: float = 1.0, b: float = 0.0, c: float = 0.0, d: float = 0.0,
                 class_weights: Sequence[float] | None = None, tversky_alpha: float = 0.5,
                 tversky_beta: float = 0.5, focal_gamma: float = 1.5,
                 include_background: bool = False):
        super().__init__()
        self.coefficients = {'ce': float(a), 'dice': float(b), 'huber': float(c),
                             'focal_tversky': float(d)}
        if not any(self.coefficients.values()):
            raise ValueError('every loss coefficient (a, b, c, d) is zero: nothing to train')
        if any(value < 0 for value in self.coefficients.values()):
            raise ValueError(f'loss coefficients must be >= 0, got {self.coefficients}')
        weights = torch.ones(NUM_CLASSES) if class_weights is None else torch.as_tensor(
            list(class_weights), dtype=torch.float32)
        self.register_buffer('class_weights', weights, persistent=False)
        self.overlap_classes = ([0] if include_background else []) + LANDMARK_CLASS_IDS
        self.tversky = (float(tversky_alpha), float(tversky_beta), float(focal_gamma))

    def terms(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return each weighted term and their sum under ``'total'``."""
        logits = logits.float()
        target = target.long()
        functions = {
            'ce': lambda: F.cross_entropy(logits, target, weight=self.class_weights),
            'dice': lambda: soft_tversky_loss(logits, target, self.overlap_classes),
            'huber': lambda: huber_on_probabilities(logits, target),
            'focal_tversky': lambda: soft_tversky_loss(logits, target, self.overlap_classes,
                                                       *self.tversky),
        }
        terms = {name: coefficient * functions[name]()
                 for name, coefficient in self.coefficients.items() if coefficient}
        terms['total'] = sum(terms.values())
        return terms

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return the weighted total loss."""
        return self.terms(logits, target)['total']


def loss_from_config(loss_config: dict, class_weights: Sequence[float] | None) -> CompositeLoss:
    """Build the composite loss from a recipe's ``loss`` section."""
    return CompositeLoss(
        a=loss_config['ce'], b=loss_config['dice'], c=loss_config['huber'],
        d=loss_config['focal_tversky'], class_weights=class_weights,
        tversky_alpha=loss_config['tversky_alpha'], tversky_beta=loss_config['tversky_beta'],
        focal_gamma=loss_config['focal_gamma'],
        include_background=loss_config['include_background'])

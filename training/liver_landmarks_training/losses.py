# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The composite segmentation loss ``a*wCE + b*Dice + c*Huber + d*FocalTversky``.

Conventions, each checked against a hand calculation in ``training/tests/test_losses.py``:

* **wCE**: :func:`torch.nn.functional.cross_entropy` with per-class weights
  ``W_i = max(1, ln(|M| / |M_i|))`` (:func:`class_weights_from_masks`); the mean is
  weighted, i.e. divided by the sum of the weights of the target pixels.
* **Dice** and **Focal-Tversky**: segmentation_models_pytorch's ``DiceLoss`` and
  ``TverskyLoss`` in multiclass mode on softmax probabilities against one-hot targets,
  restricted to the landmark classes 1..3 with ``classes=[1, 2, 3]``. No
  ``ignore_index``: background pixels stay in every sum, so probability a landmark
  channel puts on background counts as a false positive. Sums run over the whole
  batch; a landmark absent from the batch contributes 0 to the mean over the three
  classes (smp's rule: its Dice is undefined).
* **Focal exponent** (smp's convention): ``FT = (mean_c (1 - TI_c)) ** gamma`` with
  ``TI_c = TP / (TP + alpha*FP + beta*FN)``, the exponent applied to the class mean,
  ``gamma = 1.5`` by default. With ``alpha = beta = 0.5`` the Tversky index equals
  Dice, so by default ``FT = Dice_loss ** 1.5``.
* **Huber**: smooth L1 (delta 1) between the softmax probabilities and the one-hot
  target over all four channels, mean over elements. Probabilities and one-hot lie in
  [0, 1], so every difference is within delta and the term equals
  ``0.5 * mean((p - y) ** 2)``; it is differentiable, never computed on an argmax.
"""

from collections.abc import Iterable, Sequence
import math

from liver_landmarks.landmarks import CLASS_NAMES, LANDMARKS, NUM_CLASSES
import numpy as np
from segmentation_models_pytorch.losses import DiceLoss, TverskyLoss
import torch
from torch import nn
import torch.nn.functional as F

LANDMARK_CLASS_IDS = [int(landmark) for landmark in LANDMARKS]


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


def class_weights_from_masks(masks: Iterable, num_classes: int = NUM_CLASSES,
                             allow_missing: bool = False) -> list[float]:
    """Return the class weights ``max(1, ln(|M| / |M_i|))`` over an iterable of masks."""
    return class_weights_from_counts(class_pixel_counts(masks, num_classes), allow_missing)


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
                 tversky_beta: float = 0.5, focal_gamma: float = 1.5):
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
        self.dice = DiceLoss(mode='multiclass', classes=LANDMARK_CLASS_IDS, from_logits=True)
        self.focal_tversky = TverskyLoss(
            mode='multiclass', classes=LANDMARK_CLASS_IDS, from_logits=True,
            alpha=tversky_alpha, beta=tversky_beta, gamma=focal_gamma)

    def terms(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return each weighted term and their sum under ``'total'``."""
        logits = logits.float()
        target = target.long()
        functions = {
            'ce': lambda: F.cross_entropy(logits, target, weight=self.class_weights),
            'dice': lambda: self.dice(logits, target),
            'huber': lambda: huber_on_probabilities(logits, target),
            'focal_tversky': lambda: self.focal_tversky(logits, target),
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
        focal_gamma=loss_config['focal_gamma'])

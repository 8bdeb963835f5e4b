# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The P2ILF challenge's 2D landmark metrics, per landmark, on two label masks.

For one landmark, ``A`` is the set of predicted pixels and ``B`` the set of
ground-truth pixels, in two ``(H, W)`` id masks of the same size.

* precision = tp / (tp + fp) and Dice = 2 tp / (2 tp + fp + fn), per pixel.
* François symmetric score (``dmax`` = 10 px): with the truncated distance
  transform ``TDT_B(p) = min(d(p, B), dmax)`` (exact Euclidean distance,
  ``scipy.ndimage.distance_transform_edt``; ``TDT_B = dmax`` everywhere when
  ``B`` is empty), ``FP = |{a in A : TDT_B(a) >= dmax}|``,
  ``FN = |{b in B : TDT_A(b) >= dmax}|``,
  ``D_AB = sum of TDT_B(a) over a in A with TDT_B(a) < dmax`` and ``D_BA``
  likewise::

      score = (D_AB + D_BA) / (2 |B|) + dmax FN / |B| + dmax FP / (H W - 2 dmax |B|)

  in pixels (``francois_px``), also reported divided by ``dmax``
  (``francois_norm``). 0 is perfect; missing everything scores ``dmax``.
  The last denominator is clamped to at least 1 for images too small for it.
* symDist2 (threshold 50 px)::

      (sum_A min(d(a, B), 50) + sum_B min(d(b, A), 50)) / (50 max(|B|, 1))

  an empty ``A`` giving 1.0, reported clipped to 1 as in the challenge paper.

A landmark absent from the ground truth is not applicable: its scores are
``None`` (JSON ``null``), never zero. A present landmark with an empty
prediction scores precision 0 and Dice 0, as the challenge code does. See
``docs/metrics.md`` for worked examples and the figures on the real sample.
"""

from liver_landmarks.landmarks import LANDMARKS
import numpy as np
from scipy import ndimage

#: Truncation distance of the François score, pixels.
FRANCOIS_DMAX = 10.0
#: Truncation distance of symDist2, pixels.
SYMDIST_THRESHOLD = 50.0
#: Keys of every per-landmark score dict, in display order.
SCORE_KEYS = ('precision', 'dice', 'francois_px', 'francois_norm', 'symdist2')


def landmark_scores(pred_ids, gt_ids, dmax: float = FRANCOIS_DMAX,
                    symdist_threshold: float = SYMDIST_THRESHOLD) -> dict:
    """Score a predicted id mask against the ground truth, per landmark.

    Returns ``{'ridge': scores or None, 'ligament': ..., 'silhouette': ...}``
    where ``scores`` maps each of :data:`SCORE_KEYS` to a float, and ``None``
    marks a landmark absent from the ground truth.
    """
    pred_ids = np.asarray(pred_ids)
    gt_ids = np.asarray(gt_ids)
    if pred_ids.shape != gt_ids.shape or pred_ids.ndim != 2:
        raise ValueError(f'prediction {pred_ids.shape} and ground truth {gt_ids.shape} '
                         f'must be id masks of the same (H, W) size')
    return {landmark.label: binary_scores(pred_ids == landmark, gt_ids == landmark,
                                          dmax, symdist_threshold)
            for landmark in LANDMARKS}


def binary_scores(pred, gt, dmax: float = FRANCOIS_DMAX,
                  symdist_threshold: float = SYMDIST_THRESHOLD):
    """Score one landmark's boolean masks; ``None`` when the ground truth is empty."""
    pred = np.asarray(pred, dtype=bool)
    gt = np.asarray(gt, dtype=bool)
    if not gt.any():
        return None
    true_positives = int(np.count_nonzero(pred & gt))
    false_positives = int(np.count_nonzero(pred & ~gt))
    false_negatives = int(np.count_nonzero(~pred & gt))
    predicted = true_positives + false_positives
    precision = true_positives / predicted if predicted else 0.0
    dice = 2.0 * true_positives / (2 * true_positives + false_positives + false_negatives)

    # Every pixel whose distance is needed (those of A and B) lies in the bounding
    # box of A | B, and so does every feature pixel, so distances computed on that
    # crop are exact and cost far less than on the full frame.
    crop = _bounding_box(pred | gt)
    distance_to_gt = _distance_to(gt[crop])
    distance_to_pred = _distance_to(pred[crop])
    pred_in_crop = pred[crop]
    gt_in_crop = gt[crop]

    francois = francois_score(distance_to_gt[pred_in_crop], distance_to_pred[gt_in_crop],
                              gt_pixels=int(gt.sum()), image_pixels=gt.size, dmax=dmax)
    symdist = symdist2(distance_to_gt[pred_in_crop], distance_to_pred[gt_in_crop],
                       pred_pixels=int(pred.sum()), gt_pixels=int(gt.sum()),
                       threshold=symdist_threshold)
    return {'precision': float(precision), 'dice': float(dice),
            'francois_px': float(francois), 'francois_norm': float(francois / dmax),
            'symdist2': float(symdist)}


def francois_score(pred_to_gt, gt_to_pred, gt_pixels: int, image_pixels: int,
                   dmax: float = FRANCOIS_DMAX) -> float:
    """François symmetric score in pixels from untruncated point-to-set distances.

    ``pred_to_gt`` holds ``d(a, B)`` for every predicted pixel ``a`` and
    ``gt_to_pred`` holds ``d(b, A)`` for every ground-truth pixel ``b``
    (``inf`` when the other set is empty). ``gt_pixels`` = ``|B|`` > 0 and
    ``image_pixels`` = ``H W``.
    """
    if gt_pixels <= 0:
        raise ValueError('the François score needs a non-empty ground truth')
    truncated_ab = np.minimum(np.asarray(pred_to_gt, dtype=np.float64), dmax)
    truncated_ba = np.minimum(np.asarray(gt_to_pred, dtype=np.float64), dmax)
    false_positives = int(np.count_nonzero(truncated_ab >= dmax))
    false_negatives = int(np.count_nonzero(truncated_ba >= dmax))
    distance_ab = float(truncated_ab[truncated_ab < dmax].sum())
    distance_ba = float(truncated_ba[truncated_ba < dmax].sum())
    negatives = max(image_pixels - 2.0 * dmax * gt_pixels, 1.0)
    return ((distance_ab + distance_ba) / (2.0 * gt_pixels)
            + dmax * false_negatives / gt_pixels
            + dmax * false_positives / negatives)


def symdist2(pred_to_gt, gt_to_pred, pred_pixels: int, gt_pixels: int,
             threshold: float = SYMDIST_THRESHOLD) -> float:
    """SymDist2 from untruncated point-to-set distances, clipped to [0, 1].

    Arguments as for :func:`francois_score`; an empty prediction scores 1.
    """
    if pred_pixels == 0:
        return 1.0
    total = (np.minimum(np.asarray(pred_to_gt, dtype=np.float64), threshold).sum()
             + np.minimum(np.asarray(gt_to_pred, dtype=np.float64), threshold).sum())
    return float(min(total / (threshold * max(gt_pixels, 1)), 1.0))


def mean_scores(per_landmark: dict) -> dict:
    """Mean of each score over the landmarks that are applicable (not ``None``).

    ``per_landmark`` is :func:`landmark_scores`' result (extra keys such as
    ``'mean'`` are ignored). A score with no applicable landmark is ``None``.
    """
    applicable = [per_landmark.get(landmark.label) for landmark in LANDMARKS]
    return _mean_of([scores for scores in applicable if scores is not None])


def mean_over_images(list_of_scores) -> dict:
    """Aggregate :func:`landmark_scores` results of several images as the challenge does.

    Per landmark, each score is the mean of the per-image values over the
    images where that landmark is applicable (``None`` if it is in none of
    them). ``'mean'`` is then the mean of those per-landmark means over the
    applicable landmarks, like :func:`mean_scores`. Also returns
    ``'images'``: how many images each landmark was scored on.
    """
    list_of_scores = list(list_of_scores)
    aggregated = {}
    counts = {}
    for landmark in LANDMARKS:
        applicable = [scores[landmark.label] for scores in list_of_scores
                      if scores.get(landmark.label) is not None]
        counts[landmark.label] = len(applicable)
        aggregated[landmark.label] = _mean_of(applicable) if applicable else None
    aggregated['mean'] = mean_scores(aggregated)
    aggregated['images'] = counts
    return aggregated


def _mean_of(score_dicts) -> dict:
    if not score_dicts:
        return dict.fromkeys(SCORE_KEYS)
    return {key: float(np.mean([scores[key] for scores in score_dicts])) for key in SCORE_KEYS}


def _bounding_box(mask: np.ndarray):
    rows = np.flatnonzero(mask.any(axis=1))
    columns = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)


def _distance_to(feature: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance of every pixel to the nearest ``feature`` pixel (inf if none)."""
    if not feature.any():
        return np.full(feature.shape, np.inf)
    return ndimage.distance_transform_edt(~feature)

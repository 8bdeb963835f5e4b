# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Training augmentation from a small dict config, built on albumentations.

The paper trains with horizontal and vertical flips only; the authors' fine-tuning
code adds rotation, perspective and brightness/contrast changes. A config is a
dict with any of these keys (missing keys take the defaults below)::

    {'hflip': 0.5,              # probability of a left-right flip
     'vflip': 0.5,              # probability of an up-down flip
     'rotate_deg': 0,           # largest rotation in degrees (0: off, at most 45)
     'perspective': 0,          # largest perspective corner shift, fraction of the size
     'brightness_contrast': 0}  # largest brightness and contrast change (0: off, < 1)

Rotation, perspective and brightness/contrast, when on, are each applied with
probability :data:`OPTIONAL_PROBABILITY`. Geometric transforms move the image and
its mask together; masks are resampled by nearest neighbour only, so they keep
their class ids, and areas moved in from outside the frame become black image and
background mask (as outside an endoscope's field of view).
"""

import os

import cv2
import numpy as np
import torch.utils.data

# albumentations checks online for a newer release on import unless told not to;
# training machines are often offline, where the check only stalls the import.
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
import albumentations as A  # noqa: E402,I100,N812  (must follow the line above)

DEFAULT_AUGMENT = {'hflip': 0.5, 'vflip': 0.5, 'rotate_deg': 0, 'perspective': 0,
                   'brightness_contrast': 0}
#: Probability of each optional transform (rotation, perspective, brightness/contrast).
OPTIONAL_PROBABILITY = 0.5
MAX_ROTATION_DEG = 45.0


def augment_config(config=None) -> dict:
    """Return a complete, validated config: the defaults updated with ``config``."""
    merged = dict(DEFAULT_AUGMENT)
    if config:
        unknown = set(config) - set(DEFAULT_AUGMENT)
        if unknown:
            raise ValueError(f'unknown augmentation keys {sorted(unknown)}; '
                             f'known: {sorted(DEFAULT_AUGMENT)}')
        merged.update(config)
    for key, value in merged.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f'augmentation {key!r} must be a number >= 0, got {value!r}')
    for key in ('hflip', 'vflip'):
        if merged[key] > 1:
            raise ValueError(f'augmentation {key!r} is a probability (0..1), got {merged[key]}')
    if merged['rotate_deg'] > MAX_ROTATION_DEG:
        raise ValueError(f"rotate_deg is at most {MAX_ROTATION_DEG:g}, got {merged['rotate_deg']}")
    if merged['perspective'] >= 0.5 or merged['brightness_contrast'] >= 1:
        raise ValueError('perspective must be < 0.5 and brightness_contrast < 1, got '
                         f"{merged['perspective']} and {merged['brightness_contrast']}")
    return merged


def build_augmentation(config=None, seed=None) -> A.Compose:
    """Build the albumentations pipeline a config describes (see the module docstring).

    Call it as ``out = pipeline(image=image, mask=mask)``; ``seed`` makes the
    random choices reproducible.
    """
    settings = augment_config(config)
    transforms = [A.HorizontalFlip(p=settings['hflip']), A.VerticalFlip(p=settings['vflip'])]
    if settings['rotate_deg'] > 0:
        transforms.append(A.Rotate(limit=settings['rotate_deg'], interpolation=cv2.INTER_LINEAR,
                                   mask_interpolation=cv2.INTER_NEAREST,
                                   border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0,
                                   p=OPTIONAL_PROBABILITY))
    if settings['perspective'] > 0:
        transforms.append(A.Perspective(scale=(0.0, settings['perspective']), keep_size=True,
                                        interpolation=cv2.INTER_LINEAR,
                                        mask_interpolation=cv2.INTER_NEAREST,
                                        border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0,
                                        p=OPTIONAL_PROBABILITY))
    if settings['brightness_contrast'] > 0:
        limit = settings['brightness_contrast']
        transforms.append(A.RandomBrightnessContrast(brightness_limit=limit, contrast_limit=limit,
                                                     p=OPTIONAL_PROBABILITY))
    return A.Compose(transforms, mask_interpolation=cv2.INTER_NEAREST, seed=seed)


class Augmenter:
    """Apply a config's augmentation to uint8 ``(image, mask)`` pairs.

    Inside a PyTorch data-loader worker the pipeline is reseeded once from the
    worker's seed: forked workers would otherwise all copy one random state and
    augment their batches identically.
    """

    def __init__(self, config=None, seed=None):
        """Build the pipeline for ``config`` (see :func:`build_augmentation`)."""
        self.config = augment_config(config)
        self.pipeline = build_augmentation(self.config, seed)
        self._seeded_for_worker = None

    def __call__(self, image: np.ndarray, mask: np.ndarray):
        """Return the augmented ``(image, mask)``; the mask keeps uint8 class ids."""
        worker = torch.utils.data.get_worker_info()
        if worker is not None and self._seeded_for_worker != worker.seed:
            self.pipeline.set_random_seed(worker.seed % 2 ** 32)
            self._seeded_for_worker = worker.seed
        result = self.pipeline(image=image, mask=mask)
        return np.ascontiguousarray(result['image']), np.ascontiguousarray(result['mask'])

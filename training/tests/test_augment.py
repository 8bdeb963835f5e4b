# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Augmentation: masks keep their ids and move with their images."""

from liver_landmarks_training.augment import augment_config, Augmenter, DEFAULT_AUGMENT
from liver_landmarks_training.synthetic import render_frame
import numpy as np
import pytest

HEIGHT, WIDTH = 80, 104
ALL_ON = {'rotate_deg': 45, 'perspective': 0.1, 'brightness_contrast': 0.3}


@pytest.fixture(scope='module')
def pair():
    frame = render_frame(2, WIDTH, HEIGHT)
    return frame.image, frame.labels


def _blocks():
    """Return an image whose red channel spells out its mask in large blocks (id * 60)."""
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[10:40, 10:50] = 1
    mask[45:75, 20:60] = 2
    mask[5:70, 70:95] = 3
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[..., 0] = mask * 60
    image[..., 1] = 90
    return image, mask


def test_default_is_the_papers_flips_only():
    assert augment_config() == DEFAULT_AUGMENT
    names = [type(transform).__name__ for transform in Augmenter().pipeline.transforms]
    assert names == ['HorizontalFlip', 'VerticalFlip']
    names = [type(transform).__name__ for transform in Augmenter(ALL_ON).pipeline.transforms]
    assert names == ['HorizontalFlip', 'VerticalFlip', 'Rotate', 'Perspective',
                     'RandomBrightnessContrast']


@pytest.mark.parametrize('config, flip', [
    ({'hflip': 1.0, 'vflip': 0.0}, lambda a: a[:, ::-1]),
    ({'hflip': 0.0, 'vflip': 1.0}, lambda a: a[::-1]),
    ({'hflip': 1.0, 'vflip': 1.0}, lambda a: a[::-1, ::-1]),
    ({'hflip': 0.0, 'vflip': 0.0}, lambda a: a),
])
def test_flips_move_image_and_mask_together(pair, config, flip):
    image, mask = pair
    out_image, out_mask = Augmenter(config, seed=0)(image, mask)
    assert np.array_equal(out_image, flip(image))
    assert np.array_equal(out_mask, flip(mask))
    assert out_mask.dtype == np.uint8 and out_image.flags['C_CONTIGUOUS']


def test_masks_keep_their_ids_under_every_transform(pair):
    augmenter = Augmenter(ALL_ON, seed=3)
    image, mask = pair
    changed = 0
    for _ in range(12):
        out_image, out_mask = augmenter(image, mask)
        assert out_image.shape == image.shape and out_image.dtype == np.uint8
        assert out_mask.shape == mask.shape and out_mask.dtype == np.uint8
        assert set(np.unique(out_mask)) <= {0, 1, 2, 3}
        changed += not np.array_equal(out_mask, mask)
    assert changed > 0


def test_geometric_transforms_keep_image_and_mask_aligned():
    image, mask = _blocks()
    augmenter = Augmenter({'hflip': 0.5, 'vflip': 0.5, 'rotate_deg': 45, 'perspective': 0.1},
                          seed=5)
    for _ in range(10):
        out_image, out_mask = augmenter(image, mask)
        decoded = np.clip(np.round(out_image[..., 0] / 60.0), 0, 3).astype(np.uint8)
        inside = out_image[..., 1] > 80   # away from the black corners rotated in
        assert np.mean(decoded[inside] == out_mask[inside]) > 0.95
        assert np.all(out_mask[out_image[..., 1] == 0] == 0)


def test_brightness_and_contrast_leave_the_mask_alone(pair):
    image, mask = pair
    augmenter = Augmenter({'hflip': 0, 'vflip': 0, 'brightness_contrast': 0.5}, seed=1)
    outputs = [augmenter(image, mask) for _ in range(8)]
    assert all(np.array_equal(out_mask, mask) for _, out_mask in outputs)
    assert any(not np.array_equal(out_image, image) for out_image, _ in outputs)


def test_same_seed_same_augmentation(pair):
    image, mask = pair
    first, second = Augmenter(ALL_ON, seed=9), Augmenter(ALL_ON, seed=9)
    for _ in range(4):
        a, b = first(image, mask), second(image, mask)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize('config, message', [
    ({'hlfip': 0.5}, 'unknown augmentation keys'),
    ({'rotate_deg': 60}, 'at most 45'),
    ({'hflip': 1.5}, 'probability'),
    ({'vflip': -0.1}, '>= 0'),
    ({'perspective': 0.7}, 'perspective'),
    ({'brightness_contrast': True}, 'number'),
])
def test_bad_configs_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        Augmenter(config)

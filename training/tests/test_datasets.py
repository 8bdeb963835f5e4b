# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Dataset loaders on files in each real format, and the on-disk cache."""

import json
import os
from pathlib import Path
import shutil

import cv2
from liver_landmarks import p2ilf_io
from liver_landmarks.landmarks import Landmark, LANDMARKS
from liver_landmarks.preprocess import Preprocessor, resize_image, resize_labels
from liver_landmarks_tools.support.data import P2ILF_SAMPLE
from liver_landmarks_training.cache import PreprocessedCache
from liver_landmarks_training.datasets import (
    ColourLabelDataset, contours_to_mask, DatasetError, discover_p2ilf, L3DDataset,
    LandmarkDataset, MissingImageError, p2ilf_patient_split, P2ILFDataset,
    parse_patient_and_index, read_sample_contours, Sample, SyntheticDataset)
from liver_landmarks_training.synthetic import render_frame
from liver_landmarks_training.synthetic_writers import (FrameSize, labelme_document,
                                                        write_l3d_dataset, write_p2ilf_dataset)
import numpy as np
import pytest
import torch

needs_sample = pytest.mark.skipif(not P2ILF_SAMPLE.is_dir(),
                                  reason=f'P2ILF sample data not found at {P2ILF_SAMPLE}')
SIZE = FrameSize(480, 270)
SPLITS = {'train': 3, 'val': 1, 'test': 2}


@pytest.fixture(scope='module')
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp('datasets')
    return {
        'root': root,
        'l3d': write_l3d_dataset(root / 'l3d', SPLITS, size=SIZE, start_seed=100),
        'l3d_split_file': write_l3d_dataset(root / 'l3d_split_file', SPLITS, size=SIZE,
                                            layout='split_file', start_seed=100),
        'p2ilf': write_p2ilf_dataset(root / 'p2ilf', 2, patients=(1, 2, 3), size=SIZE,
                                     start_seed=200, contour_formats=('json', 'xml'),
                                     colour_labels=True),
    }


def _expected_mask(seed, size=SIZE):
    """Compute a written frame's mask from the generator's exact polylines."""
    frame = render_frame(seed, size.width, size.height)
    return contours_to_mask(p2ilf_io.contours_from_polylines(frame.contours),
                            size.width, size.height)


def _check_item(dataset, index, expected_mask):
    image, mask = dataset[index]
    assert image.shape == (3, 320, 416) and image.dtype == torch.float32
    assert mask.shape == (320, 416) and mask.dtype == torch.int64
    assert set(mask.unique().tolist()) <= {0, 1, 2, 3}
    # Coordinates are stored to 1/100 px, so a handful of edge pixels may differ.
    assert np.mean(mask.numpy() == expected_mask) > 0.999
    assert set(np.unique(mask.numpy())) == set(np.unique(expected_mask))
    rgb = cv2.cvtColor(cv2.imread(str(dataset.samples[index].image)), cv2.COLOR_BGR2RGB)
    assert torch.equal(image, torch.from_numpy(Preprocessor()(rgb)[0]))


@pytest.mark.parametrize('layout', ['l3d', 'l3d_split_file'])
def test_l3d_splits_in_both_layouts(written, layout):
    root = written['root'] / layout
    for split, count in SPLITS.items():
        dataset = L3DDataset(root, split)
        assert len(dataset) == count
        assert [sample.image for sample in dataset.samples] == sorted(written[layout][split])
        seed = int(dataset.samples[0].image.stem.split('_')[-1])
        _check_item(dataset, 0, _expected_mask(seed))


def test_l3d_reads_the_misspelt_ridge(written):
    dataset = L3DDataset(written['root'] / 'l3d', 'train')
    found = False
    for sample in dataset.samples:
        labels = {shape['label'] for shape in json.loads(sample.annotation.read_text())['shapes']}
        if 'rigde' in labels:
            contours, _ = read_sample_contours(sample)
            assert any(contour.landmark == Landmark.RIDGE for contour in contours)
            found = True
    assert found


def test_l3d_annotation_at_another_resolution_is_scaled(tmp_path):
    """A 4K image whose LabelMe file was written at 1080p is rasterised at 4K."""
    frame = render_frame(11, 960, 540)
    folder = tmp_path / 'Test'
    (folder / 'images').mkdir(parents=True)
    (folder / 'labels').mkdir()
    big = cv2.resize(frame.image, (3840, 2160), interpolation=cv2.INTER_LINEAR)
    cv2.imwrite(str(folder / 'images' / 'uhd.png'), big[..., ::-1])
    document = labelme_document(frame.contours, '../images/uhd.png', 960, 540)
    (folder / 'labels' / 'uhd.json').write_text(json.dumps(document))
    image, mask = L3DDataset(tmp_path, 'test')[0]
    expected = contours_to_mask(p2ilf_io.contours_from_polylines(frame.contours), 960, 540)
    # Both are 12 px lines at 1080 rows, so after resizing they nearly coincide.
    ours = mask.numpy()
    intersection = np.sum((ours == expected) & (expected > 0))
    union = np.sum((ours > 0) | (expected > 0))
    assert intersection / union > 0.75
    assert set(np.unique(mask.numpy())) == set(np.unique(expected))


def test_l3d_clear_errors(tmp_path, written):
    with pytest.raises(DatasetError, match='does not exist'):
        L3DDataset(tmp_path / 'nowhere', 'train')
    with pytest.raises(DatasetError, match='split file'):
        L3DDataset(tmp_path, 'train')
    with pytest.raises(ValueError, match='split must be'):
        L3DDataset(written['root'] / 'l3d', 'holdout')
    copy = tmp_path / 'copy'
    shutil.copytree(written['root'] / 'l3d', copy)
    next((copy / 'Val' / 'labels').glob('*.json')).unlink()
    with pytest.raises(DatasetError, match='without a LabelMe JSON'):
        L3DDataset(copy, 'val')
    (copy / 'test.txt').write_text('missing.jpg\n')
    shutil.rmtree(copy / 'Test')
    with pytest.raises(MissingImageError, match='missing.jpg'):
        L3DDataset(copy, 'test')


def test_p2ilf_finds_every_annotated_image(written):
    root = written['root'] / 'p2ilf'
    by_xml = P2ILFDataset(root)
    by_json = P2ILFDataset(root, prefer='json')
    assert len(by_xml) == len(by_json) == len(written['p2ilf'])
    assert [sample.image for sample in by_xml.samples] == sorted(written['p2ilf'])
    assert {sample.annotation.suffix for sample in by_xml.samples} == {'.xml'}
    assert {sample.annotation.suffix for sample in by_json.samples} == {'.json'}
    assert [sample.patient for sample in by_xml.samples] == [1, 1, 2, 2, 3, 3]
    for index, seed in ((0, 200), (5, 205)):
        _check_item(by_xml, index, _expected_mask(seed))
        assert torch.equal(by_xml[index][1], by_json[index][1])
    assert len(P2ILFDataset(root, patients=(3,))) == 2


def test_p2ilf_patient_split_validates_on_patients_1_and_2(written):
    train, val = p2ilf_patient_split(written['root'] / 'p2ilf',
                                     train_augment={'hflip': 1.0, 'vflip': 0.0})
    assert {sample.patient for sample in train.samples} == {3}
    assert {sample.patient for sample in val.samples} == {1, 2}
    assert train.augmenter is not None and val.augmenter is None
    flipped, _ = train[0]
    plain, _ = LandmarkDataset(train.samples)[0]
    assert torch.equal(flipped, plain.flip(-1))
    with pytest.raises(DatasetError, match='empty side'):
        p2ilf_patient_split(written['root'] / 'p2ilf', val_patients=(1, 2, 3))


def test_patient_and_index_from_names():
    assert parse_patient_and_index('P2ILF22_patient1_12.jpg') == (1, 12)
    assert parse_patient_and_index('patient2_1_2D-contours.json') == (2, 1)
    assert parse_patient_and_index(Path('data/patient7/images/frame_0003.png')) == (7, 3)
    assert parse_patient_and_index('notes.txt') == (None, None)


@needs_sample
def test_p2ilf_sample_annotation_without_its_image():
    annotations = P2ILF_SAMPLE / 'annotations'
    message = r'patient2_1\.xml: no image for patient 2 image 1'
    with pytest.raises(MissingImageError, match=message):
        P2ILFDataset(annotations)
    with pytest.raises(MissingImageError, match='P2ILF22_patient2_1'):
        discover_p2ilf(annotations, images_root=P2ILF_SAMPLE)
    masks = []
    for name in ('patient2_1.xml', 'patient2_1_2D-contours.json'):
        contours, declared = read_sample_contours(Sample(None, annotations / name, 'p2ilf', 2))
        assert declared is None
        names = sorted(contour.landmark.label for contour in contours)
        assert names == ['ligament', 'ridge', 'ridge', 'silhouette']
        masks.append(contours_to_mask(contours, 1920, 1080))
    assert np.array_equal(masks[0], masks[1])
    assert masks[0].shape == (320, 416)
    assert set(np.unique(masks[0])) == {0, 1, 2, 3}


@needs_sample
def test_colour_label_dataset_on_the_real_sample():
    dataset = ColourLabelDataset(P2ILF_SAMPLE / 'images', P2ILF_SAMPLE / 'labels')
    assert len(dataset) == 1 and dataset.samples[0].patient == 1
    image, mask = dataset[0]
    label = p2ilf_io.decode_colour_label(cv2.cvtColor(
        cv2.imread(str(P2ILF_SAMPLE / 'labels' / 'P2ILF22_patient1_12_GT.jpg')),
        cv2.COLOR_BGR2RGB))
    assert np.array_equal(mask.numpy(), resize_labels(label, 320, 416))
    assert set(np.unique(mask.numpy())) == {0, 1, 2, 3}
    rgb = cv2.cvtColor(cv2.imread(str(P2ILF_SAMPLE / 'images' / 'P2ILF22_patient1_12.jpg')),
                       cv2.COLOR_BGR2RGB)
    assert torch.equal(image, torch.from_numpy(Preprocessor()(rgb)[0]))


def test_colour_labels_match_the_contours(written):
    root = written['root'] / 'p2ilf'
    colour = ColourLabelDataset(root)
    contours = P2ILFDataset(root)
    assert len(colour) == len(contours)
    for index in range(len(colour)):
        assert colour.samples[index].image == contours.samples[index].image
        assert np.mean(colour.arrays(index)[1] == contours.arrays(index)[1]) > 0.999
    with pytest.raises(DatasetError, match='no colour label images'):
        ColourLabelDataset(written['root'] / 'l3d')


def test_cache_hit_miss_and_rebuild(tmp_path, written):
    cache_dir = tmp_path / 'cache'
    dataset = P2ILFDataset(written['root'] / 'p2ilf', patients=(1,), cache_dir=cache_dir)
    stats = dataset.cache.stats
    first = dataset.arrays(0)
    assert (stats.hits, stats.misses, stats.rebuilt) == (0, 1, 0)
    again = dataset.arrays(0)
    assert (stats.hits, stats.misses) == (1, 1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    uncached = LandmarkDataset(dataset.samples).arrays(0)
    assert all(np.array_equal(a, b) for a, b in zip(first, uncached))

    sample = dataset.samples[0]
    entry = dataset.cache.path(dataset.cache.key((sample.image, sample.annotation)))
    entry.write_bytes(b'not an npz file')
    rebuilt = dataset.arrays(0)
    assert (stats.misses, stats.rebuilt) == (2, 1)
    assert all(np.array_equal(a, b) for a, b in zip(first, rebuilt))
    assert dataset.arrays(0) is not None and stats.hits == 2

    with entry.open('wb') as stream:
        np.savez(stream, image=np.zeros((4, 4), np.uint8), mask=np.zeros(3, np.uint8))
    dataset.arrays(0)
    assert stats.rebuilt == 2

    stat = sample.annotation.stat()
    os.utime(sample.annotation, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    dataset.arrays(0)
    assert (stats.misses, stats.rebuilt) == (4, 2)   # an edited source is a new key


def test_cache_keys_depend_on_settings_and_refuse_bad_entries(tmp_path, written):
    source = written['p2ilf'][0]
    one = PreprocessedCache(tmp_path, {'size': [416, 320]})
    other = PreprocessedCache(tmp_path, {'size': [832, 640]})
    assert one.key([source]) != other.key([source])
    assert one.key([source]) == PreprocessedCache(tmp_path, {'size': [416, 320]}).key([source])
    with pytest.raises(ValueError, match='uint8'):
        one.store(one.key([source]), np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.uint8))
    assert one.load(one.key([source])) is None


def test_batches_through_a_data_loader(written):
    dataset = L3DDataset(written['root'] / 'l3d', 'train', augment={'vflip': 0.5})
    images, masks = next(iter(torch.utils.data.DataLoader(dataset, batch_size=3)))
    assert images.shape == (3, 3, 320, 416) and masks.shape == (3, 320, 416)
    assert sum(1 for _ in dataset.masks()) == 3


def test_synthetic_dataset_renders_on_the_fly():
    dataset = SyntheticDataset(3, start_seed=40)
    assert len(dataset) == 3
    image, mask = dataset[1]
    frame = render_frame(41, 416, 320)
    assert np.array_equal(mask.numpy(), frame.labels)
    assert torch.equal(image, torch.from_numpy(Preprocessor()(frame.image)[0]))
    larger = SyntheticDataset(1, start_seed=41, render_size=(832, 640))
    expected = resize_labels(render_frame(41, 832, 640).labels, 320, 416)
    assert np.array_equal(larger.arrays(0)[1], expected)
    assert np.array_equal(larger.arrays(0)[0], resize_image(render_frame(41, 832, 640).image,
                                                            416, 320))
    with pytest.raises(IndexError):
        dataset.arrays(3)
    assert {int(v) for v in np.unique(np.concatenate([m.ravel() for m in dataset.masks()]))} \
        <= {0} | {int(landmark) for landmark in LANDMARKS}

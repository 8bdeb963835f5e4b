# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The synthetic generator and its on-disk writers."""

import json

from liver_landmarks import p2ilf_io
from liver_landmarks.landmarks import Landmark, LANDMARKS
from liver_landmarks_training.datasets import (discover_l3d, discover_p2ilf, read_labelme,
                                               split_by_patient)
from liver_landmarks_training.synthetic import render_frame, SyntheticConfig
from liver_landmarks_training.synthetic_writers import (FrameSize, labelme_document,
                                                        write_dataset, write_l3d_dataset,
                                                        write_p2ilf_dataset)
import numpy as np
import pytest

WIDTH, HEIGHT = 416, 320
SEEDS = range(12)
CLEAN = SyntheticConfig(disabled_effects=frozenset({'smoke', 'blur', 'noise', 'specular'}))


@pytest.fixture(scope='module')
def frames():
    return {seed: render_frame(seed, WIDTH, HEIGHT) for seed in SEEDS}


def test_same_seed_gives_the_same_frame(frames):
    again = render_frame(3, WIDTH, HEIGHT)
    assert np.array_equal(again.image, frames[3].image)
    assert np.array_equal(again.labels, frames[3].labels)
    for landmark in LANDMARKS:
        assert len(again.contours[landmark]) == len(frames[3].contours[landmark])
        for ours, theirs in zip(again.contours[landmark], frames[3].contours[landmark]):
            assert np.array_equal(ours, theirs)


def test_different_seeds_give_different_frames(frames):
    images = [frames[seed].image for seed in SEEDS]
    for first in range(len(images)):
        for second in range(first + 1, len(images)):
            assert np.mean(images[first] != images[second]) > 0.5


def test_frames_have_the_requested_shape_and_types(frames):
    for frame in frames.values():
        assert frame.image.shape == (HEIGHT, WIDTH, 3) and frame.image.dtype == np.uint8
        assert frame.labels.shape == (HEIGHT, WIDTH) and frame.labels.dtype == np.uint8
        assert set(frame.contours) == set(LANDMARKS)
    full_hd = render_frame(0)
    assert full_hd.image.shape == (1080, 1920, 3) and full_hd.labels.shape == (1080, 1920)


def test_polylines_lie_inside_the_image_and_its_field_of_view(frames):
    for frame in frames.values():
        for polylines in frame.contours.values():
            for points in polylines:
                assert points.dtype == np.float32 and points.ndim == 2 and points.shape[1] == 2
                assert len(points) >= 2
                assert points[:, 0].min() >= 0 and points[:, 0].max() <= WIDTH - 1
                assert points[:, 1].min() >= 0 and points[:, 1].max() <= HEIGHT - 1
                rows = np.round(points[:, 1]).astype(int)
                cols = np.round(points[:, 0]).astype(int)
                black = np.all(frame.image[rows, cols] == 0, axis=-1)
                assert not black.any(), 'a landmark point lies in the black border'


def test_labels_are_the_rasterised_polylines(frames):
    seen = set()
    for frame in frames.values():
        expected = p2ilf_io.rasterise_contours(
            p2ilf_io.contours_from_polylines(frame.contours), WIDTH, HEIGHT)
        assert np.array_equal(frame.labels, expected)
        for landmark in LANDMARKS:
            if frame.contours[landmark]:
                assert np.any(frame.labels == landmark)
                seen.add(landmark)
    assert seen == set(LANDMARKS)


def test_any_frame_size_and_unknown_effects():
    for width, height in ((64, 48), (320, 416), (1000, 90)):
        frame = render_frame(8, width, height)
        assert frame.image.shape == (height, width, 3) and frame.labels.shape == (height, width)
    with pytest.raises(ValueError, match='32x32'):
        render_frame(0, 16, 16)
    with pytest.raises(ValueError, match='unknown effects'):
        SyntheticConfig(disabled_effects=frozenset({'fog'}))


def test_ligament_probability_zero_gives_no_ligament():
    config = SyntheticConfig(ligament_probability=0.0)
    for seed in range(4):
        frame = render_frame(seed, WIDTH, HEIGHT, config)
        assert not frame.contours[Landmark.LIGAMENT]
        assert not np.any(frame.labels == Landmark.LIGAMENT)


def test_an_instrument_hides_the_landmarks_behind_it():
    removed = 0
    for seed in range(6):
        plain = render_frame(seed, WIDTH, HEIGHT, SyntheticConfig(instrument_probability=0.0))
        tool = render_frame(seed, WIDTH, HEIGHT, SyntheticConfig(instrument_probability=1.0))
        covered = np.abs(tool.image.astype(int) - plain.image.astype(int)).max(axis=2) > 60
        assert covered.mean() > 0.005
        # Away from the instrument the scene and its labels are the same.
        assert np.mean(tool.image[~covered] == plain.image[~covered]) > 0.8
        for landmark in LANDMARKS:
            for points in tool.contours[landmark]:
                rows = np.round(points[:, 1]).astype(int)
                cols = np.round(points[:, 0]).astype(int)
                assert not covered[rows, cols].any(), 'a label point lies on the instrument'
        # Cut runs are resampled from their new ends, so a few edge pixels may move.
        labelled = tool.labels > 0
        assert np.mean(tool.labels[labelled] == plain.labels[labelled]) > 0.97
        removed += np.sum((plain.labels > 0) & (tool.labels == 0))
    assert removed > 0


def test_circular_field_of_view_blacks_out_the_corners():
    config = SyntheticConfig(fov_weights=(0.0, 0.0, 1.0), noise_max_sigma=0.0)
    frame = render_frame(5, WIDTH, HEIGHT, config)
    for row, col in ((0, 0), (0, WIDTH - 1), (HEIGHT - 1, 0), (HEIGHT - 1, WIDTH - 1)):
        assert np.all(frame.image[row, col] == 0)
    assert np.all(frame.image[HEIGHT // 2, WIDTH // 2] > 0)


def _colour_beside(image, points, offset):
    """Colours at the points shifted by +offset and -offset along the curve's normal."""
    colour = image.astype(np.float32)
    tangents = np.gradient(points.astype(np.float64), axis=0)
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True) + 1e-9
    normals = np.stack([-tangents[:, 1], tangents[:, 0]], axis=1)
    height, width = colour.shape[:2]

    def sample(shifted):
        cols = np.clip(np.round(shifted[:, 0]).astype(int), 0, width - 1)
        rows = np.clip(np.round(shifted[:, 1]).astype(int), 0, height - 1)
        return colour[rows, cols]

    return sample(points + offset * normals), sample(points - offset * normals)


def _contrast_across(image, points, offset):
    plus, minus = _colour_beside(image, points, offset)
    return np.linalg.norm(plus - minus, axis=1)


def test_silhouette_and_ridge_are_visible_shading_edges():
    """Across each curve the colour changes more than across a randomly shifted copy."""
    rng = np.random.default_rng(0)
    for landmark in (Landmark.SILHOUETTE, Landmark.RIDGE):
        along, elsewhere = [], []
        for seed in range(6):
            frame = render_frame(seed, WIDTH, HEIGHT, CLEAN)
            for points in frame.contours[landmark]:
                along.append(_contrast_across(frame.image, points, 3.0))
                shift = rng.uniform(-60, 60, 2)
                moved = points + shift
                inside = ((moved[:, 0] > 4) & (moved[:, 0] < WIDTH - 5)
                          & (moved[:, 1] > 4) & (moved[:, 1] < HEIGHT - 5))
                if inside.sum() > 10:
                    elsewhere.append(_contrast_across(frame.image, moved[inside], 3.0))
        assert along and elsewhere
        assert np.mean(np.concatenate(along)) > 2.0 * np.mean(np.concatenate(elsewhere)), landmark


def test_ligament_is_a_pale_band():
    config = SyntheticConfig(ligament_probability=1.0,
                             disabled_effects=CLEAN.disabled_effects)
    brighter = []
    for seed in range(6):
        frame = render_frame(seed, WIDTH, HEIGHT, config)
        for points in frame.contours[Landmark.LIGAMENT]:
            centre, _ = _colour_beside(frame.image, points, 0.0)
            plus, minus = _colour_beside(frame.image, points, 8.0)
            brighter.append(np.mean(centre.mean(1) - np.maximum(plus.mean(1), minus.mean(1))))
    assert brighter and np.mean(brighter) > 20


def test_p2ilf_writer_round_trips_through_json_and_xml(tmp_path):
    size = FrameSize(320, 180)
    images = write_p2ilf_dataset(tmp_path, frames_per_patient=2, patients=(1, 4), size=size,
                                 start_seed=7, contour_formats=('json', 'xml'),
                                 colour_labels=True)
    assert [path.name for path in images] == [
        'P2ILF22_patient1_1.jpg', 'P2ILF22_patient1_2.jpg',
        'P2ILF22_patient4_1.jpg', 'P2ILF22_patient4_2.jpg']
    frame = render_frame(9, size.width, size.height)   # patient 4, image 1
    folder = tmp_path / 'patient4' / '2D-3D_contours'
    from_json = p2ilf_io.read_contours(folder / 'patient4_1_2D-contours.json')
    from_xml = p2ilf_io.read_contours(folder / 'patient4_1.xml')
    expected = p2ilf_io.contours_from_polylines(frame.contours)
    assert len(from_json) == len(from_xml) == len(expected)
    for ours, json_contour, xml_contour in zip(expected, from_json, from_xml):
        assert json_contour.landmark == xml_contour.landmark == ours.landmark
        assert np.allclose(json_contour.points, ours.points, atol=0.006)
        assert np.allclose(xml_contour.points, ours.points, atol=0.006)
    label_path = tmp_path / 'patient4' / 'labels' / 'P2ILF22_patient4_1_GT.png'
    label = p2ilf_io.read_label_image(label_path)
    assert np.array_equal(label, frame.labels)


def test_l3d_writer_uses_the_published_spelling(tmp_path):
    written = write_l3d_dataset(tmp_path, {'train': 3, 'test': 1}, size=FrameSize(320, 180))
    assert sorted(written) == ['test', 'train']
    labels, ridges = set(), 0
    for image in written['train']:
        label_file = tmp_path / 'Train' / 'labels' / f'{image.stem}.json'
        document = json.loads(label_file.read_text())
        labels |= {shape['label'] for shape in document['shapes']}
        assert (document['imageWidth'], document['imageHeight']) == (320, 180)
        assert all(shape['shape_type'] == 'linestrip' for shape in document['shapes'])
        contours, declared = read_labelme(label_file)
        assert declared == (320, 180)
        assert len(contours) == len(document['shapes'])
        ridges += sum(contour.landmark == Landmark.RIDGE for contour in contours)
    assert 'rigde' in labels and 'ridge' not in labels
    assert ridges == sum(len(render_frame(seed, 320, 180).contours[Landmark.RIDGE])
                         for seed in range(3))


def test_labelme_document_with_correct_spelling():
    frame = render_frame(1, WIDTH, HEIGHT)
    document = labelme_document(frame.contours, 'x.jpg', WIDTH, HEIGHT, misspell_ridge=False)
    counts = {landmark.label: len(frame.contours[landmark]) for landmark in LANDMARKS}
    for name, count in counts.items():
        assert sum(shape['label'] == name for shape in document['shapes']) == count


def test_write_dataset_spreads_frames_over_patients_and_splits(tmp_path):
    p2ilf = write_dataset(tmp_path / 'p2ilf', 'p2ilf', 7, seed=3, width=192, height=108)
    samples = discover_p2ilf(p2ilf)
    assert [sample.patient for sample in samples] == [1, 1, 2, 2, 3, 4, 5]
    train, val = split_by_patient(samples)
    # Patient 4 is a test patient: on neither side.
    assert (len(train), len(val)) == (2, 4)
    l3d = write_dataset(tmp_path / 'l3d', 'l3d', 10, width=192, height=108)
    sizes = {split: len(discover_l3d(l3d, split)) for split in ('train', 'val', 'test')}
    assert sizes == {'train': 6, 'val': 2, 'test': 2}
    with pytest.raises(ValueError, match='layout'):
        write_dataset(tmp_path, 'coco', 1)


def test_writers_refuse_unknown_options(tmp_path):
    with pytest.raises(ValueError, match='contour_formats'):
        write_p2ilf_dataset(tmp_path, 1, contour_formats=('yaml',))
    with pytest.raises(ValueError, match='layout'):
        write_l3d_dataset(tmp_path, {'train': 1}, layout='flat')
    with pytest.raises(ValueError, match='splits'):
        write_l3d_dataset(tmp_path, {'training': 1})

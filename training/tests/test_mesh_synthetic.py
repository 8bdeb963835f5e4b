# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Mesh-rendered frames: label geometry on known scenes, reproducibility, the dataset writer.

Rendering runs on the CPU through moderngl's EGL backend (Mesa llvmpipe); the tests
need the ``synth`` extra installed, no GPU and no display.
"""

from liver_landmarks.landmarks import Landmark
from liver_landmarks_training import render_effects
from liver_landmarks_training.datasets import ColourLabelDataset
from liver_landmarks_training.liver_mesh import grow_curve, icosphere, LiverAsset
import numpy as np
import pytest

pytest.importorskip('moderngl', reason='mesh rendering needs the synth extra (moderngl)')

from liver_landmarks_training.mesh_dataset import write_dataset  # noqa: E402,I100
from liver_landmarks_training.mesh_synthetic import (  # noqa: E402
    Camera, look_at, MeshFrameRenderer, occluding_sphere)

WIDTH, HEIGHT = 240, 136


def sphere_asset(radius: float) -> LiverAsset:
    """Return a sphere (mm) with a 'ridge' arc on its front (-z) side around the equator."""
    unit, faces = icosphere(3)
    vertices = unit * radius
    front = np.flatnonzero((np.abs(unit[:, 1]) < 0.05) & (unit[:, 2] < -0.9))
    ends = front[np.argsort(unit[front, 0])][[0, -1]]
    ridge = grow_curve(vertices, faces, list(ends), extend_mm=0.0)
    return LiverAsset(vertices, faces, {'ridge': [ridge], 'ligament': []}, name='sphere')


def camera_on_z(z: float) -> np.ndarray:
    return look_at(np.array([0.0, 0.0, z]), np.zeros(3), np.array([0.0, -1.0, 0.0]))


@pytest.fixture(scope='module')
def renderer():
    return MeshFrameRenderer([sphere_asset(50.0)], WIDTH, HEIGHT)


@pytest.fixture(scope='module')
def camera():
    return Camera.p2ilf(WIDTH, HEIGHT)


def pixels(labels, landmark) -> int:
    return int((labels == int(landmark)).sum())


def test_a_ridge_facing_the_camera_is_labelled(renderer, camera):
    labels, liver = renderer.view_labels(renderer.assets[0], camera_on_z(-250.0), camera)
    assert liver.any()
    assert pixels(labels, Landmark.RIDGE) > 20
    assert not (labels == int(Landmark.RIDGE))[~np.isin(labels, [1])].any()


def test_a_ridge_on_the_far_side_is_not_labelled(renderer, camera):
    labels, liver = renderer.view_labels(renderer.assets[0], camera_on_z(250.0), camera)
    assert liver.mean() > 0.05
    assert pixels(labels, Landmark.RIDGE) == 0
    assert pixels(labels, Landmark.SILHOUETTE) > 0


def test_a_ridge_behind_an_occluder_is_not_labelled(renderer, camera):
    view = camera_on_z(-250.0)
    free, _ = renderer.view_labels(renderer.assets[0], view, camera)
    hidden, _ = renderer.view_labels(renderer.assets[0], view, camera,
                                     [occluding_sphere((0.0, 0.0, -150.0), 40.0)])
    assert pixels(free, Landmark.RIDGE) > 20
    assert pixels(hidden, Landmark.RIDGE) == 0


def test_the_silhouette_is_labelled_iff_the_liver_boundary_is_in_view(camera):
    big = MeshFrameRenderer([sphere_asset(100.0)], WIDTH, HEIGHT)
    far, liver_far = big.view_labels(big.assets[0], camera_on_z(450.0), camera)
    near, liver_near = big.view_labels(big.assets[0], camera_on_z(108.0), camera)
    assert not liver_far.all() and pixels(far, Landmark.SILHOUETTE) > 50
    assert liver_near.all()
    assert pixels(near, Landmark.SILHOUETTE) == 0


def test_silhouette_pixels_lie_on_the_liver_boundary(renderer, camera):
    labels, liver = renderer.view_labels(renderer.assets[0], camera_on_z(300.0), camera)
    boundary = liver ^ np.pad(liver, 1)[2:, 1:-1] | liver ^ np.pad(liver, 1)[1:-1, 2:]
    near_boundary = np.zeros_like(boundary)
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            near_boundary |= np.roll(np.roll(boundary, dy, 0), dx, 1)
    assert (labels == int(Landmark.SILHOUETTE)).any()
    assert near_boundary[labels == int(Landmark.SILHOUETTE)].all()


def test_same_seed_gives_the_same_bytes_and_seeds_differ():
    first = MeshFrameRenderer([sphere_asset(60.0)], WIDTH, HEIGHT).render(7)
    again = MeshFrameRenderer([sphere_asset(60.0)], WIDTH, HEIGHT).render(7)
    other = MeshFrameRenderer([sphere_asset(60.0)], WIDTH, HEIGHT).render(8)
    assert first.image.tobytes() == again.image.tobytes()
    assert first.labels.tobytes() == again.labels.tobytes()
    assert first.image.shape == (HEIGHT, WIDTH, 3) and first.image.dtype == np.uint8
    assert first.image.tobytes() != other.image.tobytes()


def test_labels_stay_inside_the_field_of_view():
    renderer = MeshFrameRenderer([sphere_asset(60.0)], WIDTH, HEIGHT,
                                 appearance=render_effects.AppearanceConfig(
                                     fov_weights=(0.0, 1.0, 0.0)))
    for seed in range(3):
        frame = renderer.render(seed)
        assert not frame.view.all()
        assert not frame.labels[~frame.view].any()
        assert frame.image[~frame.view].mean() < 8   # black up to JPEG ringing


def test_written_dataset_reads_as_colour_labels(tmp_path):
    write_dataset(tmp_path, {'val': 2}, [sphere_asset(60.0)], WIDTH, HEIGHT, workers=1)
    dataset = ColourLabelDataset(tmp_path / 'val')
    assert len(dataset) == 2
    image, mask = dataset[0]
    assert tuple(image.shape) == (3, 320, 416)
    assert set(np.unique(mask.numpy())) <= {0, 1, 2, 3}


def test_unknown_effect_names_are_refused():
    with pytest.raises(ValueError, match='unknown effects'):
        render_effects.AppearanceConfig(disabled=frozenset({'glare'}))

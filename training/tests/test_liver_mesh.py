# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Liver meshes and landmark curves; packaged ImageNet encoder weights."""

import importlib.util

from conftest import P2ILF_SAMPLE
from liver_landmarks.model import build_model
from liver_landmarks_training.liver_mesh import (
    deform, grow_curve, icosphere, load_p2ilf_asset, procedural_liver, read_obj, signed_volume)
from liver_landmarks_training.pretrained_encoders import (
    export_encoder_weights, lukemelas_to_timm, PACKAGES)
import numpy as np
import pytest


def test_obj_reading_fan_triangulates_and_winds_outwards(tmp_path):
    # A unit cube written with inward-facing quads: read back as 12 outward triangles.
    corners = [(x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)]
    quads = [(1, 3, 4, 2), (5, 6, 8, 7), (1, 2, 6, 5), (3, 7, 8, 4), (1, 5, 7, 3), (2, 4, 8, 6)]
    text = ''.join(f'v {x} {y} {z}\n' for x, y, z in corners)
    text += ''.join('f ' + ' '.join(f'{i}/{i}/{i}' for i in quad) + '\n' for quad in quads)
    path = tmp_path / 'cube.obj'
    path.write_text(text)
    vertices, faces = read_obj(path)
    assert vertices.shape == (8, 3) and faces.shape == (12, 3)
    assert signed_volume(vertices, faces) == pytest.approx(1.0)


def test_grown_curve_passes_through_the_annotated_vertices_in_order():
    vertices, faces = icosphere(3)
    vertices = vertices * 50.0
    annotated = [int(np.argmin(np.linalg.norm(vertices - point, axis=1)))
                 for point in ([-40, 0, -30], [0, 0, -50], [40, 0, -30])]
    curve = list(grow_curve(vertices, faces, annotated, extend_mm=15.0))
    positions = [curve.index(vertex) for vertex in annotated]
    assert positions == sorted(positions)
    assert positions[0] > 0 and positions[-1] < len(curve) - 1   # extended at both ends
    steps = np.linalg.norm(np.diff(vertices[curve], axis=0), axis=1)
    assert steps.max() < 15.0   # mesh neighbours, no jumps


def test_deformation_is_smooth_and_keeps_the_landmark_ids():
    asset = procedural_liver(np.random.default_rng(1))
    warped = deform(asset, np.random.default_rng(2))
    assert warped.vertices.shape == asset.vertices.shape
    assert warped.curves is asset.curves

    def edge_lengths(vertices):
        return np.linalg.norm(vertices[asset.faces[:, 0]] - vertices[asset.faces[:, 1]], axis=1)

    original, stretched = edge_lengths(asset.vertices), edge_lengths(warped.vertices)
    assert np.all(stretched / original < 2.0) and np.all(stretched / original > 0.5)
    assert signed_volume(warped.vertices, warped.faces) > 0


def test_procedural_liver_has_a_ridge_and_a_ligament():
    asset = procedural_liver(np.random.default_rng(0))
    for landmark in ('ridge', 'ligament'):
        (curve,) = asset.curves[landmark]
        assert len(curve) >= 5
        assert np.linalg.norm(np.diff(asset.vertices[curve], axis=0), axis=1).sum() > 50.0


def test_p2ilf_mesh_curves_are_whole_and_the_ligament_starts_at_the_ridge():
    mesh = P2ILF_SAMPLE / 'mesh' / '3d-liver-model.obj'
    contours = P2ILF_SAMPLE / 'annotations' / 'patient2_1_3D-contours.json'
    if not mesh.is_file():
        pytest.skip(f'P2ILF sample mesh not found at {mesh}')
    asset = load_p2ilf_asset(mesh, contours)
    (ridge,) = asset.curves['ridge']             # the two annotated pieces joined
    (ligament,) = asset.curves['ligament']
    assert {1227, 1635, 2012, 2514} <= set(ridge.tolist())
    length = np.linalg.norm(np.diff(asset.vertices[ridge], axis=0), axis=1).sum()
    assert length > 100.0   # longer than the annotated 66 mm
    start_gap = np.linalg.norm(asset.vertices[ridge] - asset.vertices[ligament[0]], axis=1).min()
    assert start_gap < 15.0


def test_lukemelas_keys_map_onto_timm_stages():
    state = {'_conv_stem.weight': 1, '_bn0.bias': 2,
             '_blocks.0._depthwise_conv.weight': 3, '_blocks.0._bn1.weight': 4,
             '_blocks.1._expand_conv.weight': 5, '_blocks.1._bn0.weight': 6,
             '_blocks.1._project_conv.weight': 7, '_blocks.2._bn2.bias': 8,
             '_blocks.2._expand_conv.weight': 9, '_conv_head.weight': 10, '_fc.bias': 11}
    mapped = lukemelas_to_timm(state, stage_depths=[1, 2])
    assert mapped == {'conv_stem.weight': 1, 'bn1.bias': 2, 'blocks.0.0.conv_dw.weight': 3,
                      'blocks.0.0.bn1.weight': 4, 'blocks.1.0.conv_pw.weight': 5,
                      'blocks.1.0.bn1.weight': 6, 'blocks.1.0.conv_pwl.weight': 7,
                      'blocks.1.1.bn3.bias': 8, 'blocks.1.1.conv_pw.weight': 9}


@pytest.mark.parametrize('encoder', sorted(PACKAGES))
def test_packaged_weights_load_into_the_encoder_with_every_key(encoder, tmp_path):
    if importlib.util.find_spec(PACKAGES[encoder].module) is None:
        pytest.skip(f'{PACKAGES[encoder].package} is not installed')
    source = export_encoder_weights(encoder, tmp_path / 'encoder.safetensors')
    assert len(source.sha256) == 64 and source.package == PACKAGES[encoder].package
    model = build_model('unet', encoder, encoder_weights=tmp_path / 'encoder.safetensors')
    stem = dict(model.encoder.named_parameters())['model.conv_stem.weight']
    assert float(stem.detach().abs().mean()) > 0.01   # trained filters, not an init
    assert (tmp_path / 'encoder.json').is_file()

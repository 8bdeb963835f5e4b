# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m liver_landmarks postprocess``: label images to JSON, label PNG and overlay."""

import subprocess
import sys

import cv2
from liver_landmarks import metrics, p2ilf_io
from liver_landmarks.cli import main
from liver_landmarks.landmarks import Landmark, LANDMARKS
from liver_landmarks_tools.support.data import P2ILF_SAMPLE
import numpy as np
import pytest

SAMPLE = P2ILF_SAMPLE
GT = SAMPLE / 'labels' / 'P2ILF22_patient1_12_GT.jpg'


def output_paths(directory, stem):
    return (directory / f'{stem}.json', directory / f'{stem}_labels.png',
            directory / f'{stem}_overlay.png')


@pytest.mark.skipif(not GT.is_file(), reason=f'P2ILF sample label not found at {GT}')
def test_real_ground_truth_label_through_the_command(tmp_path):
    completed = subprocess.run(
        [sys.executable, '-m', 'liver_landmarks', 'postprocess', str(GT), '--out',
         str(tmp_path / 'out')], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout.splitlines()) == 1 and GT.name in completed.stdout
    json_path, labels_path, overlay_path = output_paths(tmp_path / 'out', GT.stem)

    gt_ids = p2ilf_io.read_label_image(GT)
    contours = p2ilf_io.read_contours(json_path)
    assert {contour.landmark for contour in contours} == set(LANDMARKS)
    for contour in contours:
        assert len(contour.points) >= 2
        assert np.all(contour.points >= 0)
        assert np.all(contour.points <= [gt_ids.shape[1] - 1, gt_ids.shape[0] - 1])

    redrawn = p2ilf_io.read_label_image(labels_path)
    assert redrawn.shape == gt_ids.shape
    # Re-drawn at the same 12 px width, the polylines should cover the input lines.
    scores = metrics.landmark_scores(redrawn, gt_ids)
    for landmark in LANDMARKS:
        assert scores[landmark.label]['dice'] > 0.7, landmark
        assert scores[landmark.label]['francois_px'] < 1.0, landmark

    overlay = cv2.imread(str(overlay_path))
    assert overlay.shape == gt_ids.shape + (3,)


def test_id_png_with_one_straight_line(tmp_path, capsys):
    ids = np.zeros((320, 416), np.uint8)
    cv2.line(ids, (40, 160), (370, 160), int(Landmark.LIGAMENT), 4)
    cv2.imwrite(str(tmp_path / 'line.png'), ids)
    assert main(['postprocess', str(tmp_path / 'line.png'), '--out', str(tmp_path)]) == 0
    assert 'ligament 1' in capsys.readouterr().out
    json_path, labels_path, overlay_path = output_paths(tmp_path, 'line')
    (contour,) = p2ilf_io.read_contours(json_path)
    assert contour.landmark == Landmark.LIGAMENT
    assert np.all(np.abs(contour.points[:, 1] - 160) <= 2)
    assert contour.points[:, 0].min() < 60 and contour.points[:, 0].max() > 350
    assert np.any(p2ilf_io.read_label_image(labels_path) == Landmark.LIGAMENT)
    assert cv2.imread(str(overlay_path)).shape == (320, 416, 3)


def test_empty_label_image_gives_an_empty_contour_file(tmp_path):
    cv2.imwrite(str(tmp_path / 'empty.png'), np.zeros((60, 80), np.uint8))
    assert main(['postprocess', str(tmp_path / 'empty.png'), '--out', str(tmp_path)]) == 0
    json_path, labels_path, _ = output_paths(tmp_path, 'empty')
    assert p2ilf_io.read_contours(json_path) == []
    assert not np.any(p2ilf_io.read_label_image(labels_path))


@pytest.mark.parametrize('case', ['missing', 'clash', 'not_label'])
def test_bad_input_exits_non_zero_naming_the_file_and_writes_nothing(tmp_path, capsys, case):
    good = tmp_path / 'a' / 'frame.png'
    good.parent.mkdir()
    cv2.imwrite(str(good), np.zeros((20, 30), np.uint8))
    other = {'missing': tmp_path / 'nowhere.png', 'clash': tmp_path / 'frame.jpg',
             'not_label': tmp_path / 'grey.png'}[case]
    if case == 'clash':
        cv2.imwrite(str(other), np.zeros((20, 30, 3), np.uint8))
    if case == 'not_label':
        cv2.imwrite(str(other), np.full((20, 30), 200, np.uint8))
    out = tmp_path / 'out'
    assert main(['postprocess', str(good), str(other), '--out', str(out)]) != 0
    (line,) = capsys.readouterr().err.splitlines()
    assert str(other) in line
    if case != 'not_label':
        # Checked before any output is written.
        assert not out.exists()

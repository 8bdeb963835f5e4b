# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m liver_landmarks segment``: outputs per frame, and one clear line per bad input."""

import json
import subprocess
import sys

import cv2
from liver_landmarks.cli import main
from liver_landmarks.landmarks import COLOURS_RGB
from liver_landmarks.p2ilf_io import read_contours
import numpy as np
import pytest


@pytest.fixture(scope='module')
def small_frame(p2ilf_frame_path, tmp_path_factory):
    """Write the real frame shrunk to 480x270, so that the CLI tests stay quick."""
    path = tmp_path_factory.mktemp('frames') / 'small.png'
    cv2.imwrite(str(path), cv2.resize(cv2.imread(str(p2ilf_frame_path)), (480, 270),
                                      interpolation=cv2.INTER_AREA))
    return path


def segment(*args) -> int:
    return main(['segment', *map(str, args), '--backend', 'torch', '--device', 'cpu'])


def test_writes_labels_overlay_and_json_per_frame(p2ilf_frame_path, small_frame,
                                                  random_model_card, tmp_path, capsys):
    assert segment(p2ilf_frame_path, small_frame, '--model', random_model_card,
                   '--out', tmp_path) == 0
    for path, (height, width) in ((p2ilf_frame_path, (1080, 1920)), (small_frame, (270, 480))):
        stem = path.stem
        labels = cv2.imread(str(tmp_path / f'{stem}_labels.png'))[:, :, ::-1]
        overlay = cv2.imread(str(tmp_path / f'{stem}_overlay.png'))
        assert labels.shape == (height, width, 3) and overlay.shape == (height, width, 3)
        colours = {tuple(c) for c in np.unique(labels.reshape(-1, 3), axis=0)}
        assert colours <= set(COLOURS_RGB.values())
        document = json.loads((tmp_path / f'{stem}.json').read_text())
        assert document['numOfContours'] == len(document['contour'])
        contours = read_contours(tmp_path / f'{stem}.json')
        for contour in contours:
            assert np.all(contour.points[:, 0] < width) and np.all(contour.points[:, 1] < height)
    output = capsys.readouterr().out
    assert str(small_frame) in output and 'inference' in output


def test_missing_image_is_one_line_naming_it(random_model_card, tmp_path, capsys):
    missing = tmp_path / 'absent.jpg'
    assert segment(missing, '--model', random_model_card, '--out', tmp_path / 'out') != 0
    error = capsys.readouterr().err.strip()
    assert error.count('\n') == 0 and str(missing) in error
    assert not (tmp_path / 'out').exists()


def test_unreadable_image_is_one_line_naming_it(random_model_card, tmp_path, capsys):
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not a jpeg')
    assert segment(broken, '--model', random_model_card, '--out', tmp_path) != 0
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(broken) in error and 'not a readable image' in error


def test_bad_model_card_is_one_line_naming_it(small_frame, tmp_path, capsys):
    card = tmp_path / 'card.json'
    card.write_text('{"architecture": "unet"}')
    assert segment(small_frame, '--model', card, '--out', tmp_path) != 0
    error = capsys.readouterr().err.strip()
    assert error.count('\n') == 0 and str(card) in error and 'invalid model card' in error


def test_a_real_process_exits_non_zero_on_a_missing_model(small_frame, tmp_path):
    missing = tmp_path / 'absent.json'
    completed = subprocess.run(
        [sys.executable, '-m', 'liver_landmarks', 'segment', str(small_frame), '--model',
         str(missing), '--out', str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert completed.returncode != 0
    assert str(missing) in completed.stderr and 'Traceback' not in completed.stderr

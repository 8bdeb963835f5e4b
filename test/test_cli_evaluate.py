# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m liver_landmarks evaluate`` on the real sample and on bad input."""

import json
import subprocess
import sys

import cv2
from liver_landmarks import metrics, p2ilf_io
from liver_landmarks.cli import main
from liver_landmarks.landmarks import Landmark
from liver_landmarks.p2ilf_io import Contour
from liver_landmarks_tools.support.data import P2ILF_SAMPLE
import numpy as np
import pytest

SAMPLE = P2ILF_SAMPLE
needs_sample = pytest.mark.skipif(not SAMPLE.is_dir(),
                                  reason=f'P2ILF sample data not found at {SAMPLE}')
GT = SAMPLE / 'labels' / 'P2ILF22_patient1_12_GT.jpg'
XML = SAMPLE / 'annotations' / 'patient2_1.xml'
JSON_2D = SAMPLE / 'annotations' / 'patient2_1_2D-contours.json'
DEGRADED = ('eroded', 'removed', 'removed_2')
JSON_KEYS = {'precision', 'dice', 'francois_px', 'symdist2'}


def run_cli(*args):
    return subprocess.run([sys.executable, '-m', 'liver_landmarks', 'evaluate', *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def evaluate_json(*args):
    completed = run_cli('--json', *args)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


@needs_sample
@pytest.mark.parametrize('variant', DEGRADED)
def test_json_on_each_degraded_prediction(variant):
    pred = SAMPLE / 'degraded_predictions' / f'P2ILF22_patient1_12_eval_{variant}.jpg'
    document = evaluate_json('--pred', pred, '--gt', GT)
    assert list(document) == ['ridge', 'ligament', 'silhouette', 'mean']
    expected = metrics.landmark_scores(p2ilf_io.read_label_image(pred),
                                       p2ilf_io.read_label_image(GT))
    expected['mean'] = metrics.mean_scores(expected)
    for key, scores in document.items():
        assert set(scores) == JSON_KEYS
        for name in JSON_KEYS:
            assert scores[name] == pytest.approx(expected[key][name])
    assert document['mean']['dice'] < 1.0 and document['mean']['francois_px'] > 0.0


@needs_sample
def test_ground_truth_against_itself_scores_perfectly():
    document = evaluate_json('--pred', GT, '--gt', GT)
    for scores in document.values():
        assert scores == {'precision': 1.0, 'dice': 1.0, 'francois_px': 0.0, 'symdist2': 0.0}


@needs_sample
def test_xml_against_json_of_the_same_annotation_scores_perfectly(capsys):
    assert main(['evaluate', '--json', '--pred', str(XML), '--gt', str(JSON_2D)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document['mean'] == {'precision': 1.0, 'dice': 1.0, 'francois_px': 0.0,
                                'symdist2': 0.0}


def test_contours_are_rasterised_at_the_raster_inputs_size(tmp_path, capsys):
    # At 200 rows the default line is round(12 * 200 / 1080) = 2 px wide; rasterising the
    # contours at the default 1080 rows instead would not match the id PNG.
    contours = [Contour(Landmark.RIDGE, [(20, 50), (280, 120)])]
    ids = p2ilf_io.rasterise_contours(contours, width=300, height=200)
    cv2.imwrite(str(tmp_path / 'gt.png'), ids)
    p2ilf_io.write_p2ilf_json(contours, tmp_path / 'pred.json')
    assert main(['evaluate', '--json', '--pred', str(tmp_path / 'pred.json'),
                 '--gt', str(tmp_path / 'gt.png')]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document['ridge']['dice'] == 1.0
    assert document['ligament'] is None and document['silhouette'] is None


def test_width_and_height_size_two_contour_inputs(tmp_path, capsys):
    # The ligament lies at x = 700: inside the default 1920-wide image, outside a 640-wide one.
    contours = [Contour(Landmark.RIDGE, [(10, 10), (100, 10)]),
                Contour(Landmark.LIGAMENT, [(700, 20), (700, 90)])]
    p2ilf_io.write_p2ilf_json(contours, tmp_path / 'a.json')
    args = ['evaluate', '--json', '--pred', str(tmp_path / 'a.json'),
            '--gt', str(tmp_path / 'a.json')]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)['ligament']['dice'] == 1.0
    assert main(args + ['--width', '640', '--height', '360']) == 0
    assert json.loads(capsys.readouterr().out)['ligament'] is None


def test_table_lists_every_landmark_and_marks_not_applicable(tmp_path, capsys):
    ids = np.zeros((40, 60), np.uint8)
    ids[10, 5:50] = Landmark.RIDGE
    cv2.imwrite(str(tmp_path / 'ids.png'), ids)
    assert main(['evaluate', '--pred', str(tmp_path / 'ids.png'),
                 '--gt', str(tmp_path / 'ids.png')]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert 'precision' in lines[0] and 'symDist2' in lines[0]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:5]}
    assert rows['ridge'] == ['1.0000', '1.0000', '0.0000', '0.0000', '0.0000']
    assert rows['ligament'] == ['n/a'] * 5 and rows['silhouette'] == ['n/a'] * 5
    assert rows['mean'][0] == '1.0000'


def test_evaluate_imports_neither_torch_nor_rclpy(tmp_path):
    ids = np.zeros((20, 30), np.uint8)
    ids[5, :] = Landmark.SILHOUETTE
    cv2.imwrite(str(tmp_path / 'ids.png'), ids)
    code = ('import sys; from liver_landmarks.cli import main; '
            f"main(['evaluate', '--json', '--pred', {str(tmp_path / 'ids.png')!r}, "
            f"'--gt', {str(tmp_path / 'ids.png')!r}]); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'rclpy'}))")
    completed = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 0, completed.stderr
    scores_line, modules_line = completed.stdout.splitlines()
    assert json.loads(scores_line)['silhouette']['dice'] == 1.0
    assert modules_line == '[]'


def bad_inputs(tmp_path):
    """(name, pred, gt, words expected in the message) for each kind of bad input."""
    good = tmp_path / 'good.png'
    cv2.imwrite(str(good), np.zeros((20, 30), np.uint8))
    other_size = tmp_path / 'other_size.png'
    cv2.imwrite(str(other_size), np.zeros((21, 30), np.uint8))
    not_image = tmp_path / 'not_image.png'
    not_image.write_text('plain text')
    notes = tmp_path / 'notes.txt'
    notes.write_text('ridge')
    broken = tmp_path / 'broken.xml'
    broken.write_text('<contours><contour>')
    return {
        'missing': (tmp_path / 'missing.png', good, 'no such file'),
        'unreadable': (not_image, good, 'not a readable image'),
        'size': (other_size, good, '30x21'),
        'format': (notes, good, "unknown format '.txt'"),
        'xml': (good, broken, 'not well-formed'),
    }


@pytest.mark.parametrize('case', ['missing', 'unreadable', 'size', 'format', 'xml'])
def test_bad_input_exits_non_zero_with_one_line_naming_the_file(tmp_path, capsys, case):
    pred, gt, words = bad_inputs(tmp_path)[case]
    named = pred if case != 'xml' else gt
    assert main(['evaluate', '--pred', str(pred), '--gt', str(gt)]) != 0
    captured = capsys.readouterr()
    assert captured.out == ''
    (line,) = captured.err.splitlines()
    assert str(named) in line and words in line


def test_bad_input_from_the_command_line_prints_no_traceback(tmp_path):
    completed = run_cli('--json', '--pred', tmp_path / 'nowhere.png', '--gt',
                        tmp_path / 'nowhere.json')
    assert completed.returncode != 0 and completed.stdout == ''
    (line,) = completed.stderr.splitlines()
    assert 'nowhere.png' in line and 'Traceback' not in completed.stderr

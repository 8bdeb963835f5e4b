# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The evaluation report: tables before/after post-processing, CSV, JSON and figures."""

import csv
import json

from conftest import CONFIGS
import cv2
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.metrics import landmark_scores
from liver_landmarks_tools.support.models import make_random_model_artifact, TINY_ENCODER
from liver_landmarks_training.cli import main
from liver_landmarks_training.data_module import build_split
from liver_landmarks_training.report import evaluate_models, write_report
import numpy as np
import pytest


@pytest.fixture(scope='module')
def random_card(tmp_path_factory):
    """Save a randomly initialised network as an artifact (the 'init' model)."""
    return make_random_model_artifact(tmp_path_factory.mktemp('init'), encoder=TINY_ENCODER)


def test_report_writes_tables_and_figures(smoke_run, smoke_config, random_card, tmp_path):
    models = [('init', random_card), ('tune', smoke_run.best_checkpoint)]
    paths = write_report(smoke_config, models, tmp_path, split='test', runs=[smoke_run.run_dir],
                         figure_rows=2)
    names = {path.name for path in paths}
    assert names == {'results.md', 'results.csv', 'results.json', 'qualitative.png',
                     'training_curves.png'}
    markdown = (tmp_path / 'results.md').read_text()
    for row in ('| init |', '| tune |', '| init + post |', '| tune + post |'):
        assert row in markdown
    assert 'ridge P' in markdown and 'silhouette G' in markdown
    with open(tmp_path / 'results.csv', newline='') as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 2 * 2 * (len(LANDMARKS) + 1)
    assert {row['stage'] for row in rows} == {'raw', 'post'}
    results = json.loads((tmp_path / 'results.json').read_text())
    assert results['frames'] == smoke_config['data']['val_count']
    assert results['dataset']['split'] == 'test'
    for name, rows_expected in (('qualitative.png', 2), ('training_curves.png', 1)):
        image = cv2.imread(str(tmp_path / name))
        assert image is not None and image.shape[0] > 100 * rows_expected


def test_raw_scores_match_the_metrics_module(smoke_config, random_card):
    dataset = build_split(smoke_config['data'], 'test')
    results = evaluate_models([('init', random_card)], dataset, keep_examples=len(dataset))
    examples = results['examples']
    per_image = [landmark_scores(example['predictions']['init']['raw'], example['ground_truth'])
                 for example in examples]
    ridge = [scores['ridge']['dice'] for scores in per_image if scores['ridge'] is not None]
    reported = results['models']['init']['raw']['ridge']
    assert reported['dice'] == pytest.approx(float(np.mean(ridge)))
    validation = build_split(smoke_config['data'], 'val')
    test_seeds = set(range(dataset.start_seed, dataset.start_seed + len(dataset)))
    assert test_seeds.isdisjoint(range(validation.start_seed,
                                       validation.start_seed + len(validation)))


def test_evaluate_command_on_the_real_p2ilf_sample(p2ilf_sample, random_card, tmp_path):
    config_overrides = ['--set', 'data.kind=colour_labels', '--set', f'data.root={p2ilf_sample}']
    status = main(['evaluate', str(CONFIGS / 'smoke.yaml'), *config_overrides,
                   '--model', f'init={random_card}', '--out', str(tmp_path)])
    assert status == 0
    results = json.loads((tmp_path / 'results.json').read_text())
    assert results['frames'] == 1
    assert results['models']['init']['raw']['images'] == {'ridge': 1, 'ligament': 1,
                                                          'silhouette': 1}

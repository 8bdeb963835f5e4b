# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""A two-trial Ray Tune sweep on a local Ray, ranking and candidate selection.

Ray 2.60 removed ``ray.init(local_mode=True)``; the sweep runs on a local
single-node Ray (two CPUs, no dashboard), which is what ``sweep`` does without an
address.
"""

import csv
import math

from conftest import CONFIGS
from liver_landmarks_training.config import load_config
from liver_landmarks_training.sweep import load_sweep, rank_rows, run_sweep, select_candidates
import pytest


@pytest.mark.slow
def test_two_trial_sweep_completes_and_ranks_its_trials(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep = load_sweep(CONFIGS / 'sweeps' / 'smoke.yaml', [f'output.dir={tmp_path / "runs"}'])
    assert len(sweep.combinations()) == 2
    table = run_sweep(sweep, out_dir=tmp_path / 'sweep',
                      ray_init_options={'num_cpus': 2, 'log_to_driver': False})
    assert [row['status'] for row in table.rows] == ['ok', 'ok']
    scores = [row['score'] for row in table.rows]
    assert scores == sorted(scores, reverse=True) and not any(map(math.isnan, scores))
    assert {row['optim.lr'] for row in table.rows} == {0.001, 0.0001}
    assert [row['rank'] for row in table.rows] == [1, 2]
    with open(table.csv_path, newline='') as stream:
        written = list(csv.DictReader(stream))
    assert [float(row['score']) for row in written] == pytest.approx(scores, rel=1e-3)
    assert 'Candidates' in table.markdown_path.read_text()
    assert len(table.candidates) == 1
    candidate = load_config(tmp_path / 'sweep' / 'candidates' / 'unet.yaml')
    assert candidate['optim']['lr'] == table.rows[0]['optim.lr']


def test_ranking_puts_failures_last_and_candidates_are_best_per_architecture():
    rows = [
        {'model.architecture': 'unet', 'score': 0.4, 'status': 'ok'},
        {'model.architecture': 'unet', 'score': 0.9, 'status': 'ok'},
        {'model.architecture': 'unet3plus', 'score': math.nan, 'status': 'error'},
        {'model.architecture': 'unet3plus', 'score': 0.5, 'status': 'ok'},
        {'model.architecture': 'deeplabv3plus', 'score': math.nan, 'status': 'error'},
    ]
    ranked = rank_rows(rows)
    assert [row['score'] for row in ranked[:3]] == [0.9, 0.5, 0.4]
    assert all(row['status'] == 'error' for row in ranked[3:])
    candidates = select_candidates(rows)
    assert [(row['model.architecture'], row['score']) for row in candidates] == [
        ('unet', 0.9), ('unet3plus', 0.5)]

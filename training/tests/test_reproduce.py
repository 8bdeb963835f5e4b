# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The paper's tables end to end (``reproduce all --smoke``), its search space and rules."""

import csv
import json
from pathlib import Path

from conftest import CONFIGS
from liver_landmarks.model import ARCHITECTURES
from liver_landmarks_training import paper
from liver_landmarks_training.cli import main, USAGE_ERROR
from liver_landmarks_training.config import ConfigError, load_config
from liver_landmarks_training.lightning_module import plateau_scheduler
from liver_landmarks_training.reproduce import TABLES
from liver_landmarks_training.sweep import load_sweep, select_candidates
import pytest
import torch

TABLE_FILES = ('table1', 'table2', 'table3', 'table4', 'tables5-6')
#: The smoke run takes minutes on two idle cores; shared, loaded machines need longer.
SMOKE_TIMEOUT_S = 3600


@pytest.fixture(scope='module')
def smoke_reproduction(tmp_path_factory):
    """Run ``reproduce all --smoke`` once; return its output folder."""
    out = tmp_path_factory.mktemp('reproduce')
    assert main(['reproduce', 'all', '--smoke', '--out', str(out)]) == 0
    return out


def _rows(path: Path) -> list[dict]:
    with open(path, newline='', encoding='utf-8') as stream:
        return list(csv.DictReader(stream))


@pytest.mark.slow
@pytest.mark.timeout(SMOKE_TIMEOUT_S)
def test_reproduce_all_smoke_writes_every_table(smoke_reproduction):
    for name in TABLE_FILES:
        assert (smoke_reproduction / f'{name}.md').read_text().startswith('# Table')
        assert _rows(smoke_reproduction / f'{name}.csv')
    manifest = json.loads((smoke_reproduction / 'manifest.json').read_text())
    assert set(manifest['tables']) == set(TABLES)
    table1 = _rows(smoke_reproduction / 'table1.csv')
    assert {row['row'] for row in table1} == {'background', 'silhouette', 'ridge', 'ligament'}
    table2 = _rows(smoke_reproduction / 'table2.csv')
    assert {row['row'] for row in table2} == set(paper.TABLE2)
    table4 = _rows(smoke_reproduction / 'table4.csv')
    assert [row['row'] for row in table4[::3]] == ['proportional', 'log', 'eq1']
    tables56 = _rows(smoke_reproduction / 'tables5-6.csv')
    assert len(tables56) == 2 * 10 * 9
    assert all(row['measured'] != '' and row['paper'] != '' for row in tables56)


@pytest.mark.slow
@pytest.mark.timeout(SMOKE_TIMEOUT_S)
def test_table3_has_ten_candidates_covering_all_architectures(smoke_reproduction):
    rows = [row for row in _rows(smoke_reproduction / 'table3.csv')
            if row['column'] == 'architecture']
    assert len(rows) == paper.CANDIDATE_COUNT
    assert {row['measured'] for row in rows} == set(ARCHITECTURES)
    assert [row['paper'] for row in rows] == [c.architecture for c in paper.TABLE3]


@pytest.mark.slow
@pytest.mark.timeout(SMOKE_TIMEOUT_S)
def test_manifest_records_every_run_and_test_patients_stay_out(smoke_reproduction):
    manifest = json.loads((smoke_reproduction / 'manifest.json').read_text())
    runs = manifest['runs']
    # 10 sweep trials, 2 extra weightings (Table 4), 10 inits, 20 fine-tunings.
    assert len(runs) >= 10 + 2 + 10 + 20
    test = set(manifest['test_patients'])
    assert test == {4, 11}
    for entry in runs.values():
        assert Path(entry['checkpoint']).is_file()
        assert entry['seed'] == entry['recipe']['seed']
        for split in ('train', 'val'):
            data = entry['data'][split]
            assert data['hash'] and data['frames'] > 0
            if data['dataset'] == 'p2ilf':
                assert not test & set(data['patients']), (entry['name'], split)
        assert set(entry['data']['test']['patients']) == test
    l3d_runs = [entry for entry in runs.values() if entry['data']['train']['dataset'] == 'l3d']
    assert l3d_runs and all(entry['data']['val']['patients'] == [1, 2] for entry in l3d_runs)


@pytest.mark.slow
@pytest.mark.timeout(SMOKE_TIMEOUT_S)
def test_rerunning_a_table_resumes_its_finished_runs(smoke_reproduction):
    summaries = sorted((smoke_reproduction / 'runs').glob('*/summary.json'))
    before = {path: path.stat().st_mtime_ns for path in summaries}
    assert main(['reproduce', 'table4', '--smoke', '--out', str(smoke_reproduction)]) == 0
    after = sorted((smoke_reproduction / 'runs').glob('*/summary.json'))
    assert after == summaries
    assert {path: path.stat().st_mtime_ns for path in after} == before


def test_sweep_space_has_35_loss_settings_per_model():
    settings = paper.loss_settings()
    assert len(settings) == 35
    assert all(sum(setting.values()) == pytest.approx(1.0) for setting in settings)
    assert all(value * 4 == int(value * 4) for s in settings for value in s.values())
    sweep = load_sweep(CONFIGS / 'sweeps' / 'ablation.yaml')
    points = sweep.combinations()
    for architecture in ARCHITECTURES:
        mine = [point for point in points if point['model.architecture'] == architecture]
        losses = {tuple(sorted(point['loss'].items())) for point in mine}
        assert len(losses) == 35
        assert losses == {tuple(sorted(setting.items())) for setting in settings}
        sizes = {point['optim.batch_size'] for point in mine}
        assert sizes == ({2, 4, 8} if architecture == 'unet3plus' else {2, 4, 8, 16, 32})
    # No epoch cap below the recipe's: lr 1e-4 runs train until early stopping.
    assert sweep.recipe['trainer']['max_epochs'] == 100


def test_candidate_recipes_are_table3_and_the_default_is_candidate_2():
    for candidate in paper.TABLE3:
        config = load_config(CONFIGS / 'candidates' / f'candidate_{candidate.number:02d}.yaml')
        assert config['model']['architecture'] == candidate.architecture
        assert config['optim']['lr'] == pytest.approx(candidate.lr)
        assert config['optim']['batch_size'] == candidate.batch_size
        assert [config['loss'][key] for key in paper.LOSS_KEYS] == list(candidate.loss)
        assert config['data']['kind'] == 'l3d' and config['data']['val_kind'] == 'p2ilf'
    default = load_config(CONFIGS / 'l3d_pretrain.yaml')
    second = load_config(CONFIGS / 'candidates' / 'candidate_02.yaml')
    assert {**default, 'name': ''} == {**second, 'name': ''}
    assert default['model']['encoder_weights'] is None


def test_ten_candidates_keep_at_least_one_per_architecture():
    rows = [{'model.architecture': 'unet', 'score': 2.0 - index / 100, 'status': 'ok'}
            for index in range(12)]
    rows += [{'model.architecture': name, 'score': 0.5, 'status': 'ok'}
             for name in ARCHITECTURES if name != 'unet']
    chosen = select_candidates(rows, 10)
    assert len(chosen) == 10
    assert {row['model.architecture'] for row in chosen} == set(ARCHITECTURES)
    assert sum(row['model.architecture'] == 'unet' for row in chosen) == 6


def test_scheduler_cuts_after_three_stagnant_epochs():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimiser = torch.optim.AdamW([parameter], lr=1e-3)
    recipe = load_config(CONFIGS / 'l3d_pretrain.yaml')
    scheduler = plateau_scheduler(optimiser, recipe['optim'])
    scheduler.step(1.0)                       # the best score so far
    rates = []
    for _ in range(4):
        scheduler.step(1.0)                   # no improvement
        rates.append(optimiser.param_groups[0]['lr'])
    assert rates[:2] == [1e-3, 1e-3]
    assert rates[2] == pytest.approx(2e-4)    # cut at the end of the third stagnant epoch


@pytest.mark.parametrize('overrides, message', [
    (['data.test_patients=[2, 4]'], 'val_patients and data.test_patients'),
    (['data.train_patients=[3, 4]'], 'train_patients and data.test_patients'),
    (['data.train_patients=[1, 3]'], 'train_patients and data.val_patients'),
])
def test_overlapping_patient_lists_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(CONFIGS / 'p2ilf_finetune_ce.yaml', overrides)


def test_real_data_without_imagenet_weights_stops_with_the_how_to(tmp_path, capsys):
    from liver_landmarks_training.synthetic_writers import write_reproduction_datasets
    write_reproduction_datasets(tmp_path / 'l3d', tmp_path / 'p2ilf')
    arguments = ['train', str(CONFIGS / 'candidates' / 'candidate_02.yaml'),
                 '--set', f'data.root={tmp_path / "l3d"}',
                 '--set', f'data.val_root={tmp_path / "p2ilf"}',
                 '--set', 'data.cache_dir=null', '--set', f'output.dir={tmp_path / "runs"}']
    assert main(arguments) == USAGE_ERROR
    error = capsys.readouterr().err
    assert 'model.encoder_weights' in error and 'docs/models.md' in error
    assert 'encoder_weights: none' in error
    assert not (tmp_path / 'runs').exists()


def test_encoder_weights_none_is_an_explicit_choice():
    from liver_landmarks_training.train import require_encoder_weights
    config = load_config(CONFIGS / 'l3d_pretrain.yaml', ['model.encoder_weights=none'])
    require_encoder_weights(config)
    fine_tune = load_config(CONFIGS / 'p2ilf_finetune_ce.yaml',
                            ['model.init_checkpoint=some.ckpt'])
    require_encoder_weights(fine_tune)


def test_table3_asks_for_yes_when_large(tmp_path, capsys):
    from liver_landmarks_training.synthetic_writers import write_reproduction_datasets
    write_reproduction_datasets(tmp_path / 'l3d', tmp_path / 'p2ilf')
    arguments = ['reproduce', 'table3', '--l3d', str(tmp_path / 'l3d'),
                 '--p2ilf', str(tmp_path / 'p2ilf'), '--out', str(tmp_path / 'out')]
    assert main(arguments) == USAGE_ERROR
    captured = capsys.readouterr()
    assert '5635 trials' in captured.out and '--yes' in captured.err


def test_run_key_follows_what_a_run_learns():
    from liver_landmarks_training.train import run_key
    recipe = load_config(CONFIGS / 'l3d_pretrain.yaml')
    elsewhere = load_config(CONFIGS / 'l3d_pretrain.yaml', [
        'name=other', 'output.dir=/elsewhere', 'data.cache_dir=/tmp/cache',
        'trainer.progress_bar=false'])
    assert run_key(recipe) == run_key(elsewhere)
    for override in ('optim.lr=1e-3', 'loss.class_weights=log', 'data.root=/data/other',
                     'seed=1'):
        assert run_key(load_config(CONFIGS / 'l3d_pretrain.yaml', [override])) != run_key(
            recipe), override

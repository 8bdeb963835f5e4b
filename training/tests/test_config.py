# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Recipes: defaults, files, inheritance, dotted overrides, every shipped recipe, the CLI."""

from conftest import CONFIGS
from liver_landmarks.model import ARCHITECTURES
from liver_landmarks_training.cli import build_parser, main, USAGE_ERROR
from liver_landmarks_training.config import ConfigError, DEFAULTS, load_config, load_recipe, Recipe
from liver_landmarks_training.sweep import load_sweep
import pytest

RECIPES = sorted(path for path in CONFIGS.rglob('*.yaml') if 'sweeps' not in path.parts)
SWEEPS = sorted((CONFIGS / 'sweeps').glob('*.yaml'))


def test_defaults_and_overrides_parse_yaml_values():
    config = load_config(overrides=['optim.lr=1e-4', 'data.crop=[64, 96]', 'loss.dice=0.5',
                                    'model.encoder_weights=null', 'trainer.devices=2'])
    assert config['optim']['lr'] == pytest.approx(1e-4)   # PyYAML alone reads '1e-4' as text
    assert config['data']['crop'] == [64, 96]
    assert config['loss']['dice'] == 0.5 and config['model']['encoder_weights'] is None
    assert config['trainer']['devices'] == 2
    assert config['optim']['batch_size'] == DEFAULTS['optim']['batch_size']


@pytest.mark.parametrize('override, message', [
    ('optim.lrr=1', "unknown config key 'optim.lrr'"),
    ('optim=3', "'optim' is a section"),
    ('optim.lr', 'key.path=value'),
    ('optim.batch_size=0', 'batch_size'),
    ('data.crop=[8, 8]', 'data.crop'),
    ('model.architecture=segformer', 'model.architecture'),
    ('data.kind=cityscapes', 'data.kind'),
    ('data.augment.hflip=true', 'data.augment.hflip'),
])
def test_bad_overrides_are_refused_with_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=[override])


def test_base_recipe_is_inherited_and_overridden():
    pretrain = load_config(CONFIGS / 'l3d_pretrain.yaml')
    candidate = load_config(CONFIGS / 'candidates' / 'candidate_06.yaml')
    assert candidate['model']['architecture'] == 'unet3plus'
    assert candidate['data'] == pretrain['data']
    assert candidate['loss']['ce'] == 0.5 and candidate['loss']['focal_tversky'] == 0.5
    finetune = load_config(CONFIGS / 'p2ilf_finetune_ce_ft.yaml')
    assert (finetune['loss']['ce'], finetune['loss']['focal_tversky']) == (0.75, 0.25)
    assert finetune['optim'] == load_config(CONFIGS / 'p2ilf_finetune_ce.yaml')['optim']


@pytest.mark.parametrize('path', RECIPES, ids=lambda path: path.stem)
def test_every_shipped_recipe_loads(path):
    config = load_config(path)
    assert config['model']['architecture'] in ARCHITECTURES
    assert any(config['loss'][key] for key in ('ce', 'dice', 'huber', 'focal_tversky'))


def test_issue_recipes_have_the_required_settings():
    ce = load_config(CONFIGS / 'p2ilf_finetune_ce.yaml')
    assert (ce['optim']['lr'], ce['optim']['batch_size']) == (1e-4, 8)
    assert ce['trainer']['early_stopping_patience'] == 7
    assert ce['loss']['ce'] == 1.0 and ce['data']['val_patients'] == [1, 2]
    assert ce['data']['test_patients'] == [4, 11]
    # The paper fine-tunes with flips only.
    assert ce['data']['augment'] == {'hflip': 0.5, 'vflip': 0.5, 'rotate_deg': 0,
                                     'perspective': 0, 'brightness_contrast': 0}
    candidates = [load_config(path) for path in (CONFIGS / 'candidates').glob('*.yaml')]
    assert len(candidates) == 10
    assert {c['model']['architecture'] for c in candidates} == set(ARCHITECTURES)
    demo = load_config(CONFIGS / 'synthetic_demo.yaml')
    assert (demo['model']['architecture'], demo['model']['encoder']) == ('unet', 'resnet34')
    assert demo['data']['kind'] == 'synthetic' and demo['trainer']['max_time']


@pytest.mark.parametrize('path', SWEEPS, ids=lambda path: path.stem)
def test_every_sweep_file_loads(path):
    sweep = load_sweep(path)
    assert sweep.combinations()


def test_ablation_grid_is_the_papers():
    sweep = load_sweep(CONFIGS / 'sweeps' / 'ablation.yaml')
    assert sweep.grid['optim.lr'] == [0.1, 0.05, 0.01, 0.005, 0.001, 0.0005, 0.0001]
    assert sweep.grid['optim.batch_size'] == [2, 4, 8, 16, 32]
    assert set(sweep.grid['model.architecture']) == set(ARCHITECTURES)
    # UNet3+ only up to batch 8: three batch sizes instead of five.
    assert len(sweep.combinations()) == (4 * 5 + 3) * 7 * len(sweep.grid['loss'])
    narrowed = load_sweep(CONFIGS / 'sweeps' / 'ablation.yaml',
                          ['sweep.grid.optim.batch_size=[8]', 'trainer.max_epochs=2'])
    assert len(narrowed.combinations()) == 5 * 7 * len(sweep.grid['loss'])
    assert narrowed.recipe['trainer']['max_epochs'] == 2


@pytest.mark.parametrize('command', ['synth', 'train', 'sweep', 'evaluate', 'export',
                                     'reproduce'])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, '--help'])
    assert exit_info.value.code == 0
    assert command in capsys.readouterr().out


@pytest.mark.parametrize('argv', [
    ['train', 'missing_recipe.yaml'],
    ['train', str(CONFIGS / 'smoke.yaml'), '--set', 'data.kind=p2ilf',
     '--set', 'data.root=no_such_p2ilf_folder', '--set', 'model.encoder_weights=none'],
    ['export', 'no_such.ckpt', '--out', 'x', '--stem', 'y'],
    ['evaluate', str(CONFIGS / 'smoke.yaml'), '--model', 'a=no_such_card.json', '--out', 'x'],
])
def test_missing_paths_give_one_line_and_exit_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == USAGE_ERROR
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith('error: ')
    assert 'no_such' in error[0] or 'missing_recipe' in error[0]


@pytest.mark.parametrize('override, message', [
    ('optim.lr=fast', "'optim.lr' must be float"),
    ('optim.batch_size=8.5', "'optim.batch_size' must be int"),
    ('loss.include_background=maybe', "'loss.include_background' must be bool"),
    ('data.test_patients=4', "'data.test_patients' must be list"),
])
def test_recipe_schema_is_typed(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=[override])


def test_typed_recipe_matches_the_dict_form():
    recipe = load_recipe(CONFIGS / 'l3d_pretrain.yaml')
    assert isinstance(recipe, Recipe)
    assert (recipe.model.architecture, recipe.optim.lr, recipe.data.val_kind) == (
        'unet', 1e-4, 'p2ilf')
    assert recipe.to_dict() == load_config(CONFIGS / 'l3d_pretrain.yaml')
    assert Recipe().to_dict() == DEFAULTS

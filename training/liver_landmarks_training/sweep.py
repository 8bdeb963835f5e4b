# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Ablation sweeps on Ray Tune: a declarative grid over recipe keys, ranked results.

A sweep file names a base recipe and a grid of dotted recipe keys, each with its
list of values (a mapping value, such as a loss-weight set, is merged into that
section)::

    sweep:
      recipe: l3d_pretrain.yaml        # relative to the sweep file
      grid:
        model.architecture: [unet, unetplusplus, deeplabv3plus, unet3plus, resunetplusplus]
        optim.lr: [0.1, 0.05, 0.01, 0.005, 0.001, 0.0005, 0.0001]
        optim.batch_size: [2, 4, 8, 16, 32]
        loss: [{ce: 1.0, dice: 0.0, huber: 0.0, focal_tversky: 0.0}, ...]
    trainer: {max_epochs: 30}          # other top-level keys override the recipe

Every combination is one Tune trial running :func:`liver_landmarks_training.train.train`
in its own trial folder. Ray runs locally unless an address is given (``--address
auto`` or ``ray://host:10001`` for a cluster); each trial takes one GPU when the
Ray cluster has GPUs, else ``cpus_per_trial`` CPUs. Results land in
``results.csv`` and ``results.md`` sorted by validation mean precision + Dice, with the
paper's candidate selection (the best trial of each architecture), whose resolved
recipes are written to ``candidates/<architecture>.yaml`` for fine-tuning.
"""

import copy
import csv
from dataclasses import dataclass, field
import itertools
import math
from pathlib import Path
import sys

from liver_landmarks_training.config import (
    apply_overrides, ConfigError, deep_merge, DEFAULTS, dump_config, get_dotted, load_config,
    nested_update, NO_ENCODER_WEIGHTS, parse_override, read_recipe, validate)

#: Sweep-level settings and their defaults (the ``sweep`` section of a sweep file).
SWEEP_DEFAULTS = {
    'name': 'sweep',
    'recipe': None,                # base recipe, relative to the sweep file
    'grid': {},
    'cpus_per_trial': 1,
    'gpus_per_trial': 'auto',      # auto: 1 when the Ray cluster has GPUs, else 0
    'max_concurrent_trials': 0,    # 0: as many as the resources allow
    'output_dir': 'sweeps',
    'max_batch_size': {},          # {architecture: largest batch size tried}
    'candidates': 0,               # 0: best of each architecture; N: the paper's rule
    'runs_dir': None,              # trials train into RUNS_DIR/NAME-KEY, resuming finished ones
}
#: Metrics every trial reports, the first being the ranking score.
TRIAL_METRICS = ('score', 'precision', 'dice', 'francois_norm', 'epochs', 'seconds')
_PATH_KEYS = ('data.root', 'data.val_root', 'data.cache_dir', 'model.encoder_weights',
              'model.init_checkpoint')


@dataclass
class Sweep:
    """A resolved sweep: its settings, the base recipe and the grid."""

    settings: dict
    recipe: dict
    grid: dict = field(default_factory=dict)

    def combinations(self) -> list[dict]:
        """Every grid point as ``{dotted key: value}``, in file order.

        Points whose batch size exceeds ``max_batch_size`` of their architecture are
        left out (the paper ablates UNet3+ up to batch 8 only).
        """
        keys = list(self.grid)
        limits = self.settings['max_batch_size'] or {}
        points = [dict(zip(keys, values))
                  for values in itertools.product(*(self.grid[key] for key in keys))]
        return [point for point in points if self._within_limits(point, limits)]

    def _within_limits(self, point: dict, limits: dict) -> bool:
        architecture = point.get('model.architecture', self.recipe['model']['architecture'])
        batch_size = point.get('optim.batch_size', self.recipe['optim']['batch_size'])
        return architecture not in limits or batch_size <= limits[architecture]


@dataclass
class SweepTable:
    """The ranked trials and where their table was written."""

    rows: list[dict]
    candidates: list[dict]
    csv_path: Path
    markdown_path: Path


def apply_grid_point(recipe: dict, point: dict) -> dict:
    """Return the recipe with one grid point's values set."""
    config = copy.deepcopy(recipe)
    for key, value in point.items():
        config = deep_merge(config, nested_update(key.split('.'), value))
    validate(config)
    return config


def load_sweep(path, overrides=()) -> Sweep:
    """Read a sweep file; ``--set sweep.KEY=...`` sets the sweep, other keys the recipe."""
    path = Path(path)
    document = read_recipe(path)
    settings = _merge_settings(SWEEP_DEFAULTS, document.pop('sweep', {}) or {})
    recipe_overrides = []
    for text in overrides:
        keys, value = parse_override(text)
        if keys[:2] == ['sweep', 'grid'] and len(keys) > 2:
            # Grid keys are dotted recipe keys: sweep.grid.optim.lr=[...] sets 'optim.lr'.
            settings = _merge_settings(settings, {'grid': {'.'.join(keys[2:]): value}})
        elif keys[0] == 'sweep':
            settings = _merge_settings(settings, nested_update(keys[1:], value))
        else:
            recipe_overrides.append(text)
    recipe_path = settings['recipe']
    recipe = load_config(path.parent / recipe_path if recipe_path else None)
    recipe = deep_merge(recipe, document)
    recipe = apply_overrides(recipe, recipe_overrides)
    validate(recipe)
    grid = settings['grid']
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f'{path}: sweep.grid must map recipe keys to lists of values')
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f'{path}: sweep.grid.{key} must be a non-empty list')
        try:
            get_dotted(DEFAULTS, key)
        except (KeyError, TypeError):
            raise ConfigError(f'{path}: sweep.grid key {key!r} is not a recipe key') from None
    sweep = Sweep(settings, _absolute_paths(recipe), dict(grid))
    for point in sweep.combinations()[:1]:
        apply_grid_point(sweep.recipe, point)
    return sweep


def _merge_settings(settings: dict, update: dict) -> dict:
    """Merge sweep settings; the grid and batch limits are open mappings, merged freely."""
    update = dict(update)
    open_mappings = {key: update.pop(key) for key in ('grid', 'max_batch_size') if key in update}
    merged = deep_merge(settings, update, 'sweep.')
    for key, mapping in open_mappings.items():
        if not isinstance(mapping, dict):
            raise ConfigError(f'sweep.{key} must be a mapping, got {mapping!r}')
        merged[key] = {**merged[key], **mapping}
    return merged


def _absolute_paths(recipe: dict) -> dict:
    """Resolve relative paths now: Ray runs each trial in its own working folder."""
    recipe = copy.deepcopy(recipe)
    for key in _PATH_KEYS:
        section, name = key.split('.')
        if recipe[section][name] not in (None, NO_ENCODER_WEIGHTS):
            recipe[section][name] = str(Path(recipe[section][name]).expanduser().resolve())
    return recipe


def train_point(recipe: dict, point: dict, run_dir=None, runs_dir=None) -> dict:
    """Train one grid point and return its trial metrics (:data:`TRIAL_METRICS`).

    With ``runs_dir`` the run is kept under ``runs_dir`` by its recipe's key, and a
    finished run is read back instead of trained again.
    """
    from liver_landmarks_training.train import train, train_or_resume

    config = apply_grid_point(recipe, point)
    config['trainer']['progress_bar'] = False
    if runs_dir is not None:
        result = train_or_resume(config, runs_dir)
    else:
        result = train(config, run_dir=run_dir)
    best = result.best_metrics
    return {'score': result.best_score if result.best_score is not None else math.nan,
            'precision': best.get('val/precision', math.nan),
            'dice': best.get('val/dice', math.nan),
            'francois_norm': best.get('val/francois_norm', math.nan),
            'epochs': result.epochs, 'seconds': result.seconds,
            'best_checkpoint': result.best_checkpoint, 'run_dir': result.run_dir}


def _trial(params: dict, recipe: dict, runs_dir=None) -> None:
    """Train one grid point inside a Tune trial and report its best validation scores."""
    from ray import tune

    recipe = copy.deepcopy(recipe)
    recipe['trainer']['devices'] = 1       # one trial per GPU; Ray sets CUDA_VISIBLE_DEVICES
    run_dir = Path(tune.get_context().get_trial_dir()) / 'run'
    tune.report(train_point(recipe, params['point'], run_dir, runs_dir))


def _gpus_per_trial(setting) -> float:
    import ray
    if setting == 'auto':
        return 1.0 if ray.cluster_resources().get('GPU', 0) > 0 else 0.0
    return float(setting)


def run_sweep(sweep: Sweep, address: str | None = None, out_dir=None,
              ray_init_options: dict | None = None) -> SweepTable:
    """Run every grid point as a Tune trial and write the ranked results table."""
    import ray
    from ray import tune

    settings = sweep.settings
    out_dir = Path(out_dir or Path(settings['output_dir']) / settings['name']).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    started_ray = not ray.is_initialized()
    if started_ray:
        options = {'include_dashboard': False, 'log_to_driver': True}
        options.update(ray_init_options or {})
        ray.init(address=address, **options)
    try:
        resources = {'cpu': float(settings['cpus_per_trial']),
                     'gpu': _gpus_per_trial(settings['gpus_per_trial'])}
        trainable = tune.with_resources(
            tune.with_parameters(_trial, recipe=sweep.recipe, runs_dir=settings['runs_dir']),
            resources)
        param_space = {'point': tune.grid_search(sweep.combinations())}
        tuner = tune.Tuner(
            trainable, param_space=param_space,
            tune_config=tune.TuneConfig(
                metric='score', mode='max',
                max_concurrent_trials=int(settings['max_concurrent_trials']) or None),
            run_config=tune.RunConfig(name=settings['name'], storage_path=str(out_dir / 'ray'),
                                      verbose=1))
        results = tuner.fit()
        rows = [_result_row(result, list(sweep.grid)) for result in results]
    finally:
        if started_ray:
            ray.shutdown()
    return write_sweep_table(rows, sweep, out_dir)


def run_sweep_locally(sweep: Sweep, out_dir) -> SweepTable:
    """Run every grid point one after another in this process (no Ray): small sweeps.

    Trials keep their runs under ``sweep.runs_dir`` when set, else ``out_dir/trials``.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, point in enumerate(sweep.combinations()):
        row = dict(point)
        try:
            runs_dir = sweep.settings['runs_dir']
            metrics = train_point(sweep.recipe, point, out_dir / 'trials' / f'trial_{index:05d}',
                                  runs_dir)
        except (ValueError, RuntimeError) as error:
            print(f'trial {index} {point} failed: {error}', file=sys.stderr)
            row.update(dict.fromkeys(TRIAL_METRICS, math.nan), status='error',
                       trial=f'trial_{index:05d}', best_checkpoint='', error=str(error))
        else:
            row.update(metrics, status='ok', trial=Path(metrics['run_dir']).name)
        rows.append(row)
    return write_sweep_table(rows, sweep, out_dir)


def _result_row(result, grid_keys) -> dict:
    point = (result.config or {}).get('point', {})
    row = {key: point.get(key) for key in grid_keys}
    metrics = result.metrics or {}
    for key in TRIAL_METRICS:
        value = metrics.get(key)
        row[key] = math.nan if value is None else value
    row['best_checkpoint'] = metrics.get('best_checkpoint', '')
    row['trial'] = Path(result.path).name if result.path else ''
    row['status'] = 'error' if result.error else 'ok'
    return row


def rank_rows(rows: list[dict]) -> list[dict]:
    """Sort trials by score, best first; failed or unscored trials last."""
    def key(row):
        score = row['score']
        return (1, 0.0) if score is None or math.isnan(score) else (0, -score)
    ranked = sorted(rows, key=key)
    for rank, row in enumerate(ranked, start=1):
        row['rank'] = rank
    return ranked


def select_candidates(rows: list[dict], count: int = 0) -> list[dict]:
    """Select candidates by validation mean precision + mean Dice.

    ``count`` 0: the best trial of each architecture. ``count`` N (the paper: ten): the
    N best trials with at least one per architecture, i.e. each architecture's best,
    then the best of the rest until N; returned grouped by architecture in order of
    first appearance in the ranking, best first within an architecture.
    """
    ranked = [row for row in rank_rows(rows)
              if row['status'] == 'ok' and not math.isnan(row['score'])]
    best = {}
    for row in ranked:
        best.setdefault(row.get('model.architecture', 'model'), row)
    chosen = list(best.values())
    for row in ranked:
        if len(chosen) >= count:
            break
        if not any(row is kept for kept in chosen):
            chosen.append(row)
    if not count:
        return chosen
    order = list(best)
    return sorted(chosen, key=lambda row: (order.index(row.get('model.architecture', 'model')),
                                           row['rank']))


def _cell(value) -> str:
    if isinstance(value, float):
        return 'nan' if math.isnan(value) else f'{value:.4g}'
    if isinstance(value, dict):
        return ' '.join(f'{key}={_cell(item)}' for key, item in value.items())
    return str(value)


def write_sweep_table(rows: list[dict], sweep: Sweep, out_dir) -> SweepTable:
    """Write ``results.csv``, ``results.md`` and candidate recipes; return the table."""
    out_dir = Path(out_dir)
    ranked = rank_rows(rows)
    candidates = select_candidates(ranked, int(sweep.settings['candidates']))
    columns = ['rank', *sweep.grid, *TRIAL_METRICS, 'status', 'trial', 'best_checkpoint']
    csv_path, markdown_path = out_dir / 'results.csv', out_dir / 'results.md'
    with open(csv_path, 'w', newline='', encoding='utf-8') as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        for row in ranked:
            writer.writerow([_cell(row.get(column, '')) for column in columns])
    shown = ['rank', *sweep.grid, *TRIAL_METRICS, 'status']
    lines = [f'# Sweep {sweep.settings["name"]}', '',
             f'{len(ranked)} trials, sorted by validation mean precision + mean Dice (score).',
             '', '| ' + ' | '.join(shown) + ' |', '|' + '---|' * len(shown)]
    lines += ['| ' + ' | '.join(_cell(row.get(column, '')) for column in shown) + ' |'
              for row in ranked]
    rule = (f'the {sweep.settings["candidates"]} best, at least one per architecture'
            if sweep.settings['candidates'] else 'best of each architecture')
    lines += ['', f'## Candidates ({rule})', '']
    candidate_dir = out_dir / 'candidates'
    for number, row in enumerate(candidates, start=1):
        architecture = row.get('model.architecture', 'model')
        stem = f'{number:02d}_{architecture}' if sweep.settings['candidates'] else architecture
        recipe = apply_grid_point(sweep.recipe, {key: row[key] for key in sweep.grid})
        recipe['name'] = f'{sweep.settings["name"]}_{stem}'
        dump_config(recipe, candidate_dir / f'{stem}.yaml')
        lines.append(f'- {architecture}: score {_cell(row["score"])}, '
                     + ', '.join(f'{key}={_cell(row[key])}' for key in sweep.grid
                                 if key != 'model.architecture')
                     + f' (recipe candidates/{stem}.yaml)')
    markdown_path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return SweepTable(ranked, candidates, csv_path, markdown_path)

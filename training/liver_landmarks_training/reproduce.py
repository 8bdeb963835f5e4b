# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``reproduce TABLE``: Borgars et al.'s tables, one command each, paper values beside.

Tables (the paper's numbering):

* ``table1``: pixels of each class in the P2ILF training patients at full resolution,
  and the Eq. 1 class weights they give.
* ``table2``: a folder of challenge predictions (one sub-folder per team) re-scored
  against the ground truth of the test patients, mean over images.
* ``table3``: the L3D ablation (architecture x learning rate x batch size x the 35
  loss settings; UNet3+ up to batch 8) selected on P2ILF patients 1 and 2; the ten
  best, at least one per architecture. On Ray Tune unless ``--smoke``.
* ``table4``: candidate 2 trained on L3D with proportional, logarithmic and Eq. 1
  cross-entropy weights, scored on the test patients.
* ``tables5-6``: each Table 3 candidate trained on L3D (init), fine-tuned on P2ILF with
  CE (Table 5) and CE + Focal-Tversky (Table 6) (tune), and post-processed (post),
  scored on the test patients.

Each writes ``OUT/TABLE.md`` (the paper's layout, cells "measured (paper)"),
``OUT/TABLE.csv`` (long form: table, row, column, measured, paper) and updates
``OUT/manifest.json`` (every run's recipe, seed, data hashes, train/val/test patients
and checkpoint; every evaluation). Runs live in ``OUT/runs/NAME-KEY`` and are found
again by their recipe's key, so a second invocation resumes rather than retrains.
Scores are taken at the ground truth's own resolution (:mod:`.scoring`).

``--smoke`` writes tiny L3D- and P2ILF-layout folders with the synthetic generator and
runs the very same steps on them with a tiny encoder and one epoch per run.
"""

import copy
import csv
from dataclasses import dataclass, field
import hashlib
import json
import math
from pathlib import Path
import time

from liver_landmarks import p2ilf_io
from liver_landmarks.landmarks import CLASS_NAMES, LANDMARKS
from liver_landmarks.metrics import landmark_scores, mean_over_images
from liver_landmarks.preprocess import resize_labels
from liver_landmarks_training import paper
from liver_landmarks_training.config import ConfigError, load_config
from liver_landmarks_training.data_module import p2ilf_split_samples, split_source
from liver_landmarks_training.datasets import (
    discover_colour_labels, discover_l3d, IMAGE_SUFFIXES, parse_patient_and_index)
from liver_landmarks_training.losses import class_weights_for
from liver_landmarks_training.scoring import (
    ground_truth_at_image_size, PAPER_COLUMNS, paper_means, score_network)
import numpy as np

TABLES = ('table1', 'table2', 'table3', 'table4', 'tables5-6')
#: Recipes shipped beside the package (training/configs).
CONFIGS = Path(__file__).resolve().parents[1] / 'configs'
#: What ``--smoke`` changes in every recipe: a tiny encoder, one short epoch on crops.
SMOKE_OVERRIDES = (
    'model.encoder=tu-mobilenetv3_small_100', 'model.encoder_weights=none',
    'trainer.max_epochs=1', 'trainer.accelerator=cpu', 'data.crop=[64, 64]',
    'data.num_workers=0', 'trainer.log_every_n_steps=1', 'trainer.num_sanity_val_steps=0',
    'loss.allow_missing_classes=true')
#: ``--smoke`` narrows the Table 3 grid to ten trials, two per architecture.
SMOKE_SWEEP_OVERRIDES = ('sweep.grid.optim.lr=[0.001]', 'sweep.grid.optim.batch_size=[2]')
SMOKE_LOSS_SETTINGS = 2
#: Rough GPU time of one ablation trial on L3D (416x320, early stopping), hours.
TRIAL_GPU_HOURS = 0.1
#: Above this estimate, Table 3 starts only with ``--yes``.
CONFIRM_GPU_HOURS = 8.0


class ConfirmationNeeded(ConfigError):
    """A long run was asked for without ``--yes``."""


# ---------------------------------------------------------------------------------------------
# Data descriptions for the manifest


def fingerprint(samples, root) -> str:
    """Hash a list of samples: names and sizes of the images, content of the annotations.

    Images are hashed by relative path and byte size (hashing every byte of a
    dataset's images takes minutes); annotations, small and what a re-labelling
    changes, by content.
    """
    digest = hashlib.sha256()
    root = Path(root)
    for sample in sorted(samples, key=lambda item: str(item.image)):
        for path, by_content in ((sample.image, False), (sample.annotation, True)):
            path = Path(path)
            name = path.relative_to(root) if path.is_relative_to(root) else path.name
            digest.update(str(name).encode('utf-8'))
            if by_content:
                digest.update(path.read_bytes())
            else:
                digest.update(str(path.stat().st_size).encode('ascii'))
    return digest.hexdigest()[:16]


def split_samples(data_config: dict, split: str) -> tuple[str, Path | None, list]:
    """Return (kind, root, samples) of one split of a recipe's data (no samples: synthetic)."""
    kind, root = split_source(data_config, split)
    if kind == 'synthetic':
        return kind, None, []
    root = Path(root)
    if kind == 'l3d':
        named = {'train': data_config['train_split'], 'val': data_config['val_split']}
        return kind, root, discover_l3d(root, named.get(split, split))
    if kind == 'p2ilf':
        return kind, root, p2ilf_split_samples(data_config, root, split)
    folder = root / split if (root / split).is_dir() else root
    return kind, root, discover_colour_labels(folder)


def describe(kind: str, root, samples) -> dict:
    """Describe a split for the manifest: dataset, frames, patients and hash."""
    if kind == 'synthetic':
        return {'dataset': kind}
    patients = sorted({sample.patient for sample in samples if sample.patient is not None})
    return {'dataset': kind, 'root': str(root), 'frames': len(samples),
            'patients': patients if kind == 'p2ilf' else None,
            'hash': fingerprint(samples, root)}


# ---------------------------------------------------------------------------------------------
# Output files


def cell(measured, reference=None, digits: int = 3) -> str:
    """Format a table cell as ``measured (paper)``."""
    def number(value, places):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return '-'
        return f'{value:.{places}f}' if isinstance(value, float) else str(value)
    if reference is None:
        return number(measured, digits)
    return f'{number(measured, digits)} ({number(reference, 2)})'


def markdown_table(headers, rows) -> list[str]:
    """Return the lines of a Markdown table."""
    return ['| ' + ' | '.join(headers) + ' |', '|' + '---|' * len(headers),
            *('| ' + ' | '.join(str(value) for value in row) + ' |' for row in rows)]


@dataclass
class TableOutput:
    """A table's Markdown lines and long-form values, written by :meth:`write`."""

    name: str
    title: str
    lines: list = field(default_factory=list)
    values: list = field(default_factory=list)   # (row, column, measured, paper)

    def add(self, row, column, measured, reference=None) -> None:
        """Record one measured value (and the paper's) for the CSV."""
        self.values.append((row, column, measured, reference))

    def write(self, out: Path, smoke: bool) -> list[Path]:
        """Write ``OUT/NAME.md`` and ``OUT/NAME.csv``; return their paths."""
        note = ('Smoke run on generated frames: these numbers check the pipeline end to '
                "end, they are not the paper's experiment." if smoke else
                "Measured values, with the paper's in parentheses.")
        text = '\n'.join([f'# {self.title}', '', note, '', *self.lines, ''])
        markdown, table_csv = out / f'{self.name}.md', out / f'{self.name}.csv'
        markdown.write_text(text, encoding='utf-8')
        with open(table_csv, 'w', newline='', encoding='utf-8') as stream:
            writer = csv.writer(stream)
            writer.writerow(['table', 'row', 'column', 'measured', 'paper'])
            for row, column, measured, reference in self.values:
                writer.writerow([self.name, row, column, _csv_number(measured),
                                 _csv_number(reference)])
        return [markdown, table_csv]


def _csv_number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ''
    return f'{value:.6g}' if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------------------------
# The reproduction


@dataclass
class Reproduction:
    """Everything one ``reproduce`` invocation needs; :meth:`run` makes a table."""

    out: Path
    l3d: Path | None = None
    p2ilf: Path | None = None
    smoke: bool = False
    yes: bool = False
    address: str | None = None
    encoder_weights: str | None = None
    predictions: Path | None = None
    val_patients: tuple = (1, 2)
    test_patients: tuple = (4, 11)
    configs: Path = CONFIGS
    log: object = print

    def __post_init__(self):
        """Resolve folders, write the smoke data when asked, load the manifest."""
        self.out = Path(self.out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        if self.smoke:
            self._write_smoke_data()
        self.l3d = Path(self.l3d).resolve() if self.l3d else None
        self.p2ilf = Path(self.p2ilf).resolve() if self.p2ilf else None
        self.manifest_path = self.out / 'manifest.json'
        self.manifest = {'runs': {}, 'evaluations': {}, 'tables': {}}
        if self.manifest_path.is_file():
            self.manifest.update(json.loads(self.manifest_path.read_text(encoding='utf-8')))
        self.manifest.update(smoke=self.smoke, val_patients=list(self.val_patients),
                             test_patients=list(self.test_patients))

    def _write_smoke_data(self) -> None:
        from liver_landmarks_training.synthetic_writers import write_reproduction_datasets
        self.l3d = Path(self.l3d or self.out / 'data' / 'l3d')
        self.p2ilf = Path(self.p2ilf or self.out / 'data' / 'p2ilf')
        if not (self.l3d.is_dir() and any(self.l3d.iterdir())):
            self.log(f'writing smoke datasets to {self.l3d} and {self.p2ilf}')
            write_reproduction_datasets(self.l3d, self.p2ilf)

    # -- bookkeeping ---------------------------------------------------------------------------

    def save_manifest(self) -> None:
        """Write ``manifest.json`` (after every run, so an interrupted table keeps its record)."""
        self.manifest_path.write_text(json.dumps(self.manifest, indent=2, default=str) + '\n',
                                      encoding='utf-8')

    def _require(self, name: str) -> Path:
        folder = getattr(self, name)
        if folder is None:
            raise ConfigError(f'this table needs --{name} DIR (the {name.upper()} folder, '
                              f'see docs/datasets.md)')
        if not folder.is_dir():
            raise FileNotFoundError(f'--{name} folder not found: {folder}')
        return folder

    def recipe(self, path, overrides=()) -> dict:
        """Load a shipped recipe with this reproduction's folders, patients and smoke settings."""
        config = load_config(self.configs / path, [*self._common_overrides(), *overrides])
        return self._with_folders(config)

    def _common_overrides(self) -> list[str]:
        return [f'data.val_patients={list(self.val_patients)}',
                f'data.test_patients={list(self.test_patients)}',
                'trainer.progress_bar=false', *(SMOKE_OVERRIDES if self.smoke else ())]

    def _with_folders(self, config: dict) -> dict:
        config = copy.deepcopy(config)
        data = config['data']
        folders = {'l3d': self.l3d, 'p2ilf': self.p2ilf}
        for kind_key, root_key in (('kind', 'root'), ('val_kind', 'val_root')):
            if data[kind_key] in folders:
                data[root_key] = str(self._require(data[kind_key]))
        data['cache_dir'] = str(self.out / 'cache')
        config['output']['dir'] = str(self.out / 'runs')
        model = config['model']
        if self.encoder_weights and not model['init_checkpoint']:
            model['encoder_weights'] = str(Path(self.encoder_weights).resolve())
        return config

    def data_record(self, config: dict) -> dict:
        """Describe a run's train, validation and test data (test: the P2ILF test patients)."""
        record = {split: describe(*split_samples(config['data'], split))
                  for split in ('train', 'val')}
        record['test'] = describe('p2ilf', self.p2ilf, self.test_samples())
        return record

    def record_run(self, name: str, config: dict, result) -> dict:
        """Add a run to the manifest and return its entry."""
        from liver_landmarks_training.train import run_key
        entry = {'name': name, 'key': run_key(config), 'recipe': config, 'seed': config['seed'],
                 'data': self.data_record(config), 'run_dir': result.run_dir,
                 'checkpoint': result.best_checkpoint, 'best_score': result.best_score,
                 'epochs': result.epochs, 'seconds': result.seconds}
        self.manifest['runs'][name] = entry
        self.save_manifest()
        return entry

    def train(self, name: str, config: dict):
        """Train a recipe (or read back its finished run) and record it."""
        from liver_landmarks_training.train import train_or_resume
        started = time.monotonic()
        result = train_or_resume(config, self.out / 'runs')
        self.log(f'{name}: {result.run_dir} ({time.monotonic() - started:.0f} s)')
        self.record_run(name, config, result)
        return result

    def test_samples(self) -> list:
        """Return the P2ILF test patients' samples."""
        config = self.recipe('p2ilf_finetune_ce.yaml')
        return p2ilf_split_samples(config['data'], self._require('p2ilf'), 'test')

    def evaluate(self, label: str, checkpoint) -> dict:
        """Score a checkpoint on the test patients at full resolution; cached by content."""
        from liver_landmarks_training.lightning_module import network_from_checkpoint
        samples = self.test_samples()
        checkpoint = Path(checkpoint)
        test_hash = fingerprint(samples, self.p2ilf)
        key = hashlib.sha256(f'{checkpoint.resolve()}:{checkpoint.stat().st_size}:'
                             f'{checkpoint.stat().st_mtime_ns}:{test_hash}'.encode()).hexdigest()
        path = self.out / 'evaluations' / f'{key[:16]}.json'
        if path.is_file():
            scores = json.loads(path.read_text(encoding='utf-8'))
        else:
            network, _ = network_from_checkpoint(checkpoint)
            scores = score_network(network, samples, cache_dir=self.out / 'cache')
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(scores, indent=2) + '\n', encoding='utf-8')
        self.manifest['evaluations'][label] = {
            'checkpoint': str(checkpoint), 'scores': str(path),
            'test': {'patients': list(self.test_patients), 'frames': len(samples),
                     'hash': test_hash}}
        self.save_manifest()
        return scores

    # -- tables --------------------------------------------------------------------------------

    def run(self, table: str) -> list[Path]:
        """Make one table (or ``all``) and return the files written."""
        if table == 'all':
            return [path for name in TABLES for path in self.run(name)]
        if table not in TABLES:
            raise ConfigError(f'unknown table {table!r}: expected one of {", ".join(TABLES)}, all')
        started = time.monotonic()
        makers = {'table1': self.table1, 'table2': self.table2, 'table3': self.table3,
                  'table4': self.table4, 'tables5-6': self.tables5_6}
        outputs = makers[table]()
        written = [path for output in outputs for path in output.write(self.out, self.smoke)]
        self.manifest['tables'][table] = {
            'files': [str(path) for path in written],
            'seconds': round(time.monotonic() - started, 1)}
        self.save_manifest()
        return written

    def table1(self) -> list[TableOutput]:
        """Class pixel counts of the P2ILF training patients at full resolution."""
        config = self.recipe('p2ilf_finetune_ce.yaml')
        samples = p2ilf_split_samples(config['data'], self._require('p2ilf'), 'train')
        counts = np.zeros(len(CLASS_NAMES), dtype=np.int64)
        for sample in samples:
            counts += np.bincount(ground_truth_at_image_size(sample)[1].reshape(-1),
                                  minlength=len(CLASS_NAMES))[:len(CLASS_NAMES)]
        weights = class_weights_for(counts, 'eq1', allow_missing=True)
        paper_counts = [paper.TABLE1[name] for name in CLASS_NAMES]
        paper_weights = class_weights_for(paper_counts, 'eq1')
        output = TableOutput('table1', 'Table 1: occurrences of each class in the P2ILF '
                                       'training set')
        rows = []
        for name in ('background', 'silhouette', 'ridge', 'ligament'):
            index = CLASS_NAMES.index(name)
            share = 100.0 * counts[index] / max(counts.sum(), 1)
            paper_share = 100.0 * paper_counts[index] / sum(paper_counts)
            rows.append([name.capitalize(), f'{counts[index]:,} ({paper_counts[index]:,})',
                         cell(share, paper_share), cell(weights[index], paper_weights[index])])
            output.add(name, 'count', int(counts[index]), paper_counts[index])
            output.add(name, 'percent', share, paper_share)
            output.add(name, 'eq1_weight', weights[index], paper_weights[index])
        output.lines = [f'{len(samples)} frames of patients '
                        f'{sorted({sample.patient for sample in samples})}, at full resolution '
                        f'(lines {p2ilf_io.LINE_THICKNESS_AT_1080:g} px at 1080 rows). The '
                        "paper's Eq. 1 weights are computed from its counts.", '',
                        *markdown_table(['Class', 'Count', '%', 'Eq. 1 weight'], rows)]
        self.manifest['table1'] = {'patients': sorted({s.patient for s in samples}),
                                   'frames': len(samples),
                                   'hash': fingerprint(samples, self.p2ilf)}
        return [output]

    def _team_folders(self) -> dict:
        samples = self.test_samples()
        if self.smoke:
            from liver_landmarks_training.synthetic_writers import write_team_predictions
            folder = self.out / 'data' / 'predictions'
            if not folder.is_dir():
                truths = {sample.image.stem: ground_truth_at_image_size(sample)[1]
                          for sample in samples}
                write_team_predictions(truths, folder)
            self.predictions = folder
        if self.predictions is None or not Path(self.predictions).is_dir():
            raise ConfigError('table2 needs --predictions DIR: one sub-folder per team holding '
                              'its predicted colour label images of the test patients, named '
                              'by patient and image (e.g. P2ILF22_patient4_3.png)')
        return {folder.name: folder for folder in sorted(Path(self.predictions).iterdir())
                if folder.is_dir()}

    def table2(self) -> list[TableOutput]:
        """Challenge teams' predictions re-scored at full resolution, mean over images."""
        samples = self.test_samples()
        truths = [ground_truth_at_image_size(sample)[1] for sample in samples]
        output = TableOutput('table2', 'Table 2: P2ILF 2D segmentation challenge results, '
                                       're-scored')
        rows, missing = [], {}
        for team, folder in self._team_folders().items():
            files = {}
            for path in sorted(folder.rglob('*')):
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    files.setdefault(parse_patient_and_index(path), path)
            scores = []
            for sample, truth in zip(samples, truths):
                path = files.get(parse_patient_and_index(sample.image))
                if path is None:
                    missing[team] = missing.get(team, 0) + 1
                    predicted = np.zeros_like(truth)
                else:
                    predicted = resize_labels(p2ilf_io.read_label_image(path), *truth.shape)
                scores.append(landmark_scores(predicted, truth))
            aggregate = mean_over_images(scores)
            reference = paper.TABLE2.get(team)
            row = [team]
            for header, key in PAPER_COLUMNS:
                values = [(aggregate[landmark.label] or {}).get(key) for landmark in LANDMARKS]
                published = reference[header] if reference else (None,) * 4
                row.append('/'.join(cell(value, digits=2) for value in values)
                           + (' (' + '/'.join(f'{v:.2f}' for v in published[:3]) + ')'
                              if reference else ''))
                row.append(cell(aggregate['mean'][key], published[3]))
                for landmark, value, paper_value in zip(LANDMARKS, values, published):
                    output.add(team, f'{header}_{landmark.label}', value, paper_value)
                output.add(team, f'{header}_mean', aggregate['mean'][key], published[3])
            rows.append(row)
        headers = ['Team', 'P', 'P mean', 'D', 'D mean', 'G', 'G mean']
        output.lines = [f'{len(samples)} frames of test patients {list(self.test_patients)}; '
                        'per landmark in the order ridge/ligament/silhouette; G is the '
                        'normalised symmetric distance (Eq. 4).', '',
                        *markdown_table(headers, rows)]
        if missing:
            output.lines += ['', 'Frames without a prediction (scored as empty): '
                             + ', '.join(f'{team} {count}' for team, count in missing.items())]
        return [output]

    def table3(self) -> list[TableOutput]:
        """Run the L3D ablation, select on P2ILF patients 1 and 2: the ten candidates."""
        from liver_landmarks_training.sweep import load_sweep, run_sweep, run_sweep_locally
        self._require('l3d')
        self._require('p2ilf')
        overrides = [*self._common_overrides(), f'data.root={self.l3d}',
                     f'data.val_root={self.p2ilf}', f'data.cache_dir={self.out / "cache"}',
                     f'output.dir={self.out / "runs"}', f'sweep.runs_dir={self.out / "runs"}',
                     f'sweep.candidates={paper.CANDIDATE_COUNT}']
        if self.encoder_weights:
            overrides.append(f'model.encoder_weights={Path(self.encoder_weights).resolve()}')
        if self.smoke:
            losses = json.dumps(paper.loss_settings()[:SMOKE_LOSS_SETTINGS])
            overrides += [*SMOKE_SWEEP_OVERRIDES, f'sweep.grid.loss={losses}']
        sweep = load_sweep(self.configs / 'sweeps' / 'ablation.yaml', overrides)
        trials = len(sweep.combinations())
        hours = trials * TRIAL_GPU_HOURS
        self.log(f'table3: {trials} trials, about {hours:.0f} GPU-hours '
                 f'({TRIAL_GPU_HOURS:g} h per trial assumed)')
        if not self.smoke and hours > CONFIRM_GPU_HOURS and not self.yes:
            raise ConfirmationNeeded(
                f'table3 runs {trials} trials, about {hours:.0f} GPU-hours: add --yes to '
                f'start, or narrow the grid (docs/training.md)')
        folder = self.out / 'table3'
        if self.smoke:
            table = run_sweep_locally(sweep, folder)
        else:
            table = run_sweep(sweep, address=self.address, out_dir=folder)
        self._record_trials(sweep, table.rows)
        if len(table.candidates) < paper.CANDIDATE_COUNT:
            failed = sum(row['status'] != 'ok' for row in table.rows)
            raise RuntimeError(f'table3: only {len(table.candidates)} of {trials} trials gave '
                               f'a candidate ({failed} failed; see {folder / "results.md"} '
                               f'and the log above)')
        return [self._table3_output(table, trials)]

    def _record_trials(self, sweep, rows) -> None:
        from liver_landmarks_training.sweep import apply_grid_point
        from liver_landmarks_training.train import read_result
        for row in rows:
            run_dir = Path(row.get('best_checkpoint') or '.').parent.parent
            result = read_result(run_dir) if row['status'] == 'ok' else None
            if result is not None:
                config = apply_grid_point(sweep.recipe, {key: row[key] for key in sweep.grid})
                self.record_run(f'table3_trial_{row["rank"]:05d}', config, result)

    def _table3_output(self, table, trials: int) -> TableOutput:
        output = TableOutput('table3', 'Table 3: candidate models selected from the L3D '
                                       'training ablation')
        rows = []
        for number, (row, published) in enumerate(zip(table.candidates, paper.TABLE3), 1):
            loss = row['loss'] or {}
            weights = '/'.join(f'{loss.get(key, 0.0):.2f}' for key in paper.LOSS_KEYS)
            paper_weights = '/'.join(f'{value:.2f}' for value in published.loss)
            architecture = row['model.architecture']
            rows.append([number,
                         f'{paper.ARCHITECTURE_NAMES[architecture]} '
                         f'({paper.ARCHITECTURE_NAMES[published.architecture]})',
                         f'{row["optim.lr"]:g} ({published.lr:g})',
                         f'{row["optim.batch_size"]} ({published.batch_size})',
                         f'{weights} ({paper_weights})', cell(row['precision']),
                         cell(row['dice']), cell(row['score'])])
            for column, measured, reference in (
                    ('architecture', architecture, published.architecture),
                    ('lr', row['optim.lr'], published.lr),
                    ('batch_size', row['optim.batch_size'], published.batch_size),
                    ('loss', weights, paper_weights), ('val_precision', row['precision'], None),
                    ('val_dice', row['dice'], None), ('val_score', row['score'], None)):
                output.add(number, column, measured, reference)
        headers = ['No.', 'Architecture', 'Learning Rate', 'Batch Size', 'α/β/γ/δ',
                   'val P̄', 'val D̄', 'val P̄ + D̄']
        output.lines = [f'{trials} trials trained on L3D and scored on P2ILF patients '
                        f'{list(self.val_patients)}; the ten best by mean precision + mean '
                        'Dice, at least one per architecture. Every trial: '
                        '`table3/results.md`.', '', *markdown_table(headers, rows)]
        return output

    def table4(self) -> list[TableOutput]:
        """Candidate 2 on L3D with three cross-entropy weightings, on the test patients."""
        output = TableOutput('table4', 'Table 4: cross-entropy class weightings on the P2ILF '
                                       'test set')
        rows = []
        for mode in ('proportional', 'log', 'eq1'):
            config = self.recipe('candidates/candidate_02.yaml', [f'loss.class_weights={mode}'])
            result = self.train(f'candidate_02_l3d_{mode}', config)
            means = paper_means(self.evaluate(f'table4_{mode}', result.best_checkpoint)['raw'])
            published = dict(zip('PDG', paper.TABLE4[mode]))
            rows.append([paper.TABLE4_NAMES[mode],
                         *(cell(means[key], published[key]) for key in 'PDG')])
            for key in 'PDG':
                output.add(mode, key, means[key], published[key])
        output.lines = ['Candidate 2 (UNet, lr 1e-4, batch 8, CE only) trained on L3D, no '
                        'fine-tuning, no post-processing; scored on test patients '
                        f'{list(self.test_patients)} at full resolution.', '',
                        *markdown_table(['Weighting', 'P̄', 'D̄', 'Ḡ'], rows)]
        return [output]

    def tables5_6(self) -> list[TableOutput]:
        """Each candidate: L3D init, P2ILF tune (CE; CE + FT), post-processed; test patients."""
        tables = {'table5': ('p2ilf_finetune_ce.yaml', paper.TABLE5,
                             'Table 5: candidates fine-tuned with cross-entropy'),
                  'table6': ('p2ilf_finetune_ce_ft.yaml', paper.TABLE6,
                             'Table 6: candidates fine-tuned with cross-entropy + '
                             'Focal-Tversky')}
        measured = {name: {} for name in tables}
        for candidate in paper.TABLE3:
            number = f'{candidate.number:02d}'
            init_config = self.recipe(f'candidates/candidate_{number}.yaml',
                                      ['loss.class_weights=eq1'])
            init = self.train(f'candidate_{number}_l3d', init_config)
            init_scores = self.evaluate(f'candidate_{number}_init', init.best_checkpoint)
            for name, (recipe, _, _) in tables.items():
                config = self.recipe(recipe, [
                    f'model.architecture={candidate.architecture}',
                    f'model.encoder={init_config["model"]["encoder"]}',
                    f'model.init_checkpoint={init.best_checkpoint}'])
                tuned = self.train(f'candidate_{number}_{name}_tune', config)
                scores = self.evaluate(f'candidate_{number}_{name}', tuned.best_checkpoint)
                measured[name][candidate.number] = {
                    'init': paper_means(init_scores['raw']), 'tune': paper_means(scores['raw']),
                    'post': paper_means(scores['post'])}
        output = TableOutput('tables5-6', 'Tables 5 and 6: candidate fine-tuning')
        headers = ['Candidate'] + [f'{key}̄ {stage}' for stage in paper.TABLE56_STAGES
                                   for key in 'PDG']
        for name, (_, published, title) in tables.items():
            rows = []
            for number, stages in measured[name].items():
                row = [number]
                for stage in paper.TABLE56_STAGES:
                    for key in 'PDG':
                        reference = published[number][stage][key]
                        row.append(cell(stages[stage][key], reference))
                        output.add(f'{name}/{number}', f'{key}_{stage}', stages[stage][key],
                                   reference)
                rows.append(row)
            output.lines += [f'## {title}', '', *markdown_table(headers, rows), '']
        output.lines = [f'Test patients {list(self.test_patients)} at full resolution; init: '
                        'after L3D training, tune: after P2ILF fine-tuning, post: tune + '
                        'post-processing.', '', *output.lines]
        return [output]

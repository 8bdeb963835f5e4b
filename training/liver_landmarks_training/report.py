# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Evaluation reports: P2ILF metrics before and after post-processing, figures, curves.

For each model (``LABEL=PATH``, a model card or a Lightning checkpoint) and each frame
of a dataset split, the network's argmax (``raw``) and the post-processor's
re-drawn labels (``post``, :class:`liver_landmarks.postprocess.PostProcessor` with the
frame for the field-of-view cull) are scored against the ground truth with
:mod:`liver_landmarks.metrics` at the ground truth's own resolution, as
:mod:`liver_landmarks_training.scoring` describes (generated frames: at 416x320).
The tables follow the paper's Tables 5/6: one row per model (``init``, ``tune``...)
and a ``+ post`` row per model, with mean precision P, Dice D and the paper's G (the
François symmetric score divided by ``dmax``: 0 perfect, 1 for an empty prediction,
false positives can push it higher), then the per-landmark breakdown. Outputs:
``results.md``, ``results.csv`` (long form), ``results.json``, ``qualitative.png``
(frame, ground truth, prediction, post-processed, like the paper's Figure 2) and
``training_curves.png``.
"""

import csv
import json
from pathlib import Path

from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.metrics import landmark_scores, mean_over_images, SCORE_KEYS
from liver_landmarks.model import load_artifact
from liver_landmarks.p2ilf_io import encode_colour_label
from liver_landmarks.postprocess import PostProcessConfig
from liver_landmarks_training.data_module import build_split
from liver_landmarks_training.lightning_module import network_from_checkpoint
from liver_landmarks_training.scoring import (
    frames_at_image_size, full_size_outputs, PAPER_COLUMNS, predict_ids, STAGES)
import torch
#: Table columns: (header, score key) -- G is the paper's normalised symmetric distance.
TABLE_COLUMNS = PAPER_COLUMNS


def read_metrics_csv(path) -> list[dict]:
    """Read Lightning's CSV log; empty cells are left out, numbers become floats."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    with open(path, newline='', encoding='utf-8') as stream:
        for row in csv.DictReader(stream):
            rows.append({key: float(value) for key, value in row.items()
                         if value not in ('', None)})
    return rows


def parse_model_arguments(assignments) -> list[tuple[str, Path]]:
    """Parse ``LABEL=PATH`` (or a bare PATH, labelled by its stem) into (label, path)."""
    models = []
    for assignment in assignments:
        label, _, path = assignment.rpartition('=')
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f'model not found: {path}')
        models.append((label or path.stem, path))
    return models


def load_network(path) -> torch.nn.Module:
    """Load a network in eval mode (float32, CPU) from a model card or a checkpoint."""
    path = Path(path)
    if path.suffix == '.ckpt':
        return network_from_checkpoint(path)[0]
    return load_artifact(path)[0]


def evaluate_models(models, dataset, config: PostProcessConfig = PostProcessConfig(),
                    keep_examples: int = 0) -> dict:
    """Score every model on every sample, raw and post-processed, at the image's size.

    Returns ``{'models': {label: {'raw': aggregate, 'post': aggregate}}, 'frames': N,
    'examples': [...]}`` where each aggregate is :func:`mean_over_images`' result and
    ``examples`` holds the first ``keep_examples`` frames' arrays for the figure.
    """
    frames = frames_at_image_size(dataset)
    results = {'models': {}, 'frames': len(frames), 'examples': []}
    examples = [{'image': image, 'ground_truth': truth, 'predictions': {}}
                for image, truth in frames[:keep_examples]]
    for label, path in models:
        predictions = predict_ids(load_network(path), dataset)
        scores = {stage: [] for stage in STAGES}
        for index, (predicted, (image, truth)) in enumerate(zip(predictions, frames)):
            raw, post = full_size_outputs(predicted, image, truth.shape, config)
            scores['raw'].append(landmark_scores(raw, truth))
            scores['post'].append(landmark_scores(post, truth))
            if index < keep_examples:
                examples[index]['predictions'][label] = {'raw': raw, 'post': post}
        results['models'][label] = {stage: mean_over_images(scores[stage]) for stage in STAGES}
    results['examples'] = examples
    return results


def _format(value) -> str:
    return '-' if value is None else f'{value:.3f}'


def table_rows(results: dict) -> list[tuple[str, dict]]:
    """Rows of the paper's table form: each model raw, then each model post-processed."""
    rows = [(label, stages['raw']) for label, stages in results['models'].items()]
    rows += [(f'{label} + post', stages['post']) for label, stages in results['models'].items()]
    return rows


def markdown_report(results: dict, title: str) -> str:
    """Render the mean table and the per-landmark breakdown as Markdown."""
    lines = [f'# {title}', '',
             f'{results["frames"]} frames; scores at the ground truth\'s resolution. P '
             'precision, D Dice, G normalised symmetric distance (0 perfect, 1 for an empty '
             'prediction).', '',
             '| model | ' + ' | '.join(header for header, _ in TABLE_COLUMNS) + ' |',
             '|---|' + '---:|' * len(TABLE_COLUMNS)]
    rows = table_rows(results)
    for label, aggregate in rows:
        lines.append(f'| {label} | ' + ' | '.join(
            _format(aggregate['mean'][key]) for _, key in TABLE_COLUMNS) + ' |')
    headers = [f'{landmark.label} {header}' for landmark in LANDMARKS
               for header, _ in TABLE_COLUMNS]
    lines += ['', '## Per landmark', '', '| model | ' + ' | '.join(headers) + ' |',
              '|---|' + '---:|' * len(headers)]
    for label, aggregate in rows:
        cells = []
        for landmark in LANDMARKS:
            scores = aggregate[landmark.label] or {}
            cells += [_format(scores.get(key)) for _, key in TABLE_COLUMNS]
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    counts = next(iter(results['models'].values()))['raw']['images'] if results['models'] else {}
    lines += ['', 'Frames showing each landmark: '
              + ', '.join(f'{name} {count}' for name, count in counts.items()) + '.', '']
    return '\n'.join(lines)


def write_results_csv(results: dict, path) -> None:
    """Write one row per (model, stage, landmark or mean) with every score."""
    with open(path, 'w', newline='', encoding='utf-8') as stream:
        writer = csv.writer(stream)
        writer.writerow(['model', 'stage', 'landmark', *SCORE_KEYS, 'images'])
        for label, stages in results['models'].items():
            for stage, aggregate in stages.items():
                for name in [landmark.label for landmark in LANDMARKS] + ['mean']:
                    scores = aggregate[name] or dict.fromkeys(SCORE_KEYS)
                    images = aggregate['images'].get(name, '')
                    writer.writerow([label, stage, name,
                                     *('' if scores[key] is None else f'{scores[key]:.6f}'
                                       for key in SCORE_KEYS), images])


def _figure_module():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as pyplot
    return pyplot


def write_qualitative_figure(examples: list[dict], path) -> Path | None:
    """Draw rows of frame, ground truth and each model's prediction and post-processed labels."""
    if not examples:
        return None
    pyplot = _figure_module()
    labels = list(examples[0]['predictions'])
    titles = ['frame', 'ground truth'] + [f'{label} {stage}' for label in labels
                                          for stage in ('prediction', 'post-processed')]
    figure, axes = pyplot.subplots(len(examples), len(titles), squeeze=False,
                                   figsize=(2.6 * len(titles), 2.1 * len(examples)))
    for row, example in enumerate(examples):
        panels = [example['image'], encode_colour_label(example['ground_truth'])]
        for label in labels:
            predicted = example['predictions'][label]
            panels += [encode_colour_label(predicted['raw']),
                       encode_colour_label(predicted['post'])]
        for column, panel in enumerate(panels):
            axis = axes[row][column]
            axis.imshow(panel, interpolation='nearest')
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(titles[column], fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return Path(path)


def write_training_curves(run_dirs, path) -> Path | None:
    """Plot training/validation loss and the validation score per epoch of each run."""
    runs = [(Path(run), read_metrics_csv(Path(run) / 'metrics.csv')) for run in run_dirs]
    runs = [(run, rows) for run, rows in runs if rows]
    if not runs:
        return None
    pyplot = _figure_module()
    figure, (loss_axis, score_axis) = pyplot.subplots(1, 2, figsize=(10, 3.6))
    for run, rows in runs:
        name = f'{run.parent.name}/{run.name}'
        for key, style in (('train/loss_epoch', '-'), ('val/loss', '--')):
            points = [(row['epoch'], row[key]) for row in rows if key in row and 'epoch' in row]
            if points:
                loss_axis.plot(*zip(*points), style, marker='.', label=f'{name} {key}')
        points = [(row['epoch'], row['val/score']) for row in rows
                  if 'val/score' in row and 'epoch' in row]
        if points:
            score_axis.plot(*zip(*points), marker='.', label=name)
    loss_axis.set(xlabel='epoch', ylabel='loss', title='loss')
    score_axis.set(xlabel='epoch', ylabel='mean precision + Dice', title='validation score')
    for axis in (loss_axis, score_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return Path(path)


def json_results(results: dict) -> dict:
    """Return the results without the example arrays, as written to results.json."""
    return {key: value for key, value in results.items() if key != 'examples'}


def write_report(config: dict, models, out_dir, split: str = 'val', runs=(),
                 figure_rows: int = 4,
                 postprocess_config: PostProcessConfig = PostProcessConfig()) -> list[Path]:
    """Evaluate ``models`` on a split of the recipe's data and write the report files."""
    out_dir = Path(out_dir)
    for run in runs:
        if not Path(run).is_dir():
            raise FileNotFoundError(f'training run folder not found: {run}')
    dataset = build_split(config['data'], split)
    results = evaluate_models(models, dataset, postprocess_config, keep_examples=figure_rows)
    results['dataset'] = {'kind': config['data']['kind'], 'root': config['data']['root'],
                          'split': split}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / 'results.md', out_dir / 'results.csv', out_dir / 'results.json']
    title = f'Evaluation on {config["data"]["kind"]} {split}'
    written[0].write_text(markdown_report(results, title), encoding='utf-8')
    write_results_csv(results, written[1])
    with open(written[2], 'w', encoding='utf-8') as stream:
        json.dump(json_results(results), stream, indent=2)
    figure = write_qualitative_figure(results['examples'], out_dir / 'qualitative.png')
    curves = write_training_curves(runs, out_dir / 'training_curves.png')
    return written + [path for path in (figure, curves) if path is not None]

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m liver_landmarks_training {synth,train,sweep,evaluate,export,reproduce}``.

Every sub-command takes a recipe file plus ``--set key.path=value`` overrides where
a recipe applies. A missing file or dataset folder, a bad recipe key or a model
that does not fit ends with one ``error: ...`` line naming it and exit status 2.
"""

import argparse
import json
from pathlib import Path
import sys

from liver_landmarks.model import EncoderWeightsError, ModelArtifactError
from liver_landmarks_training.config import ConfigError, load_config
from liver_landmarks_training.datasets import DatasetError
from liver_landmarks_training.losses import EmptyClassError
from liver_landmarks_training.reproduce import TABLES

#: Exit status for a usage error: missing path, bad recipe, unusable model.
USAGE_ERROR = 2
_USER_ERRORS = (FileNotFoundError, NotADirectoryError, ConfigError, EncoderWeightsError,
                ModelArtifactError, EmptyClassError, DatasetError)


def _add_recipe_arguments(parser, required=True):
    parser.add_argument('config', nargs=None if required else '?', type=Path,
                        help='recipe YAML (see training/configs/)')
    parser.add_argument('--set', dest='overrides', action='append', default=[],
                        metavar='KEY.PATH=VALUE',
                        help='override a recipe value, e.g. --set optim.lr=1e-4 (repeatable)')


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog='liver_landmarks_training',
        description='Train, sweep, evaluate and export liver landmark segmentation models.')
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    synth = commands.add_parser(
        'synth', help='write a synthetic dataset in P2ILF or L3D layout',
        description='Render seeded synthetic laparoscopy frames and write them with their '
                    'annotations in P2ILF (images + 2D-contour JSON) or L3D (LabelMe JSON) '
                    'layout. L3D: 70/15/15 %% train/val/test split folders.')
    synth.add_argument('--format', choices=('p2ilf', 'l3d'), default='p2ilf')
    synth.add_argument('--count', type=int, default=20, help='number of frames (default 20)')
    synth.add_argument('--out', type=Path, required=True, help='output folder')
    synth.add_argument('--seed', type=int, default=0, help='seed of the first frame')
    synth.add_argument('--size', default='1920x1080', help='frame size WxH (default 1920x1080)')
    synth.add_argument('--patients', default='1,2,3',
                       help='p2ilf: patient numbers, the count is split evenly (default 1,2,3)')
    synth.add_argument('--contours', default='json',
                       help='p2ilf: contour files to write, json and/or xml (default json)')
    synth.add_argument('--colour-labels', action='store_true',
                       help='p2ilf: also write _GT colour label images')

    train = commands.add_parser(
        'train', help='train one recipe (Lightning)',
        description='Train a network; writes checkpoints, TensorBoard and CSV logs and '
                    'summary.json under output.dir/NAME/version_K.')
    _add_recipe_arguments(train)
    train.add_argument('--resume', type=Path, help='checkpoint to resume (e.g. last.ckpt)')

    sweep = commands.add_parser(
        'sweep', help='run a Ray Tune grid sweep',
        description='Run every combination of a sweep grid as Ray Tune trials, one per GPU '
                    '(or per CPU slot), and write the ranked results table.')
    _add_recipe_arguments(sweep)
    sweep.add_argument('--address', help='Ray cluster address (default: a local Ray)')
    sweep.add_argument('--out', type=Path, help='results folder (default: output.dir/NAME)')

    evaluate = commands.add_parser(
        'evaluate', help='evaluation report of one or more models',
        description='Score models on a dataset split before and after post-processing, at '
                    "the ground truth's resolution; write results.md, results.csv, "
                    'results.json and figures.')
    _add_recipe_arguments(evaluate)
    evaluate.add_argument('--model', dest='models', action='append', required=True,
                          metavar='LABEL=PATH',
                          help='model to evaluate: a model card (.json) or checkpoint (.ckpt), '
                               'e.g. init=runs/l3d/version_0/checkpoints/best.ckpt (repeatable)')
    evaluate.add_argument('--split', default='val',
                          help="dataset split: 'val' (the recipe's validation split), "
                               "'train', or 'test' (P2ILF: the test patients; synthetic: "
                               'held-out frames)')
    evaluate.add_argument('--out', type=Path, required=True, help='report folder')
    evaluate.add_argument('--run', dest='runs', action='append', default=[], type=Path,
                          help='training run folder whose metrics.csv to plot (repeatable)')
    evaluate.add_argument('--figure-rows', type=int, default=4,
                          help='qualitative rows in the figure (default 4)')

    export = commands.add_parser(
        'export', help='checkpoint to deployable safetensors + model card',
        description='Write STEM.safetensors and STEM.json from a training checkpoint.')
    export.add_argument('checkpoint', type=Path, help='Lightning checkpoint (.ckpt)')
    export.add_argument('--out', type=Path, required=True, help='output folder')
    export.add_argument('--stem', required=True, help='file stem of the artifact')
    export.add_argument('--fp16', action='store_true', help='store weights as float16')
    export.add_argument('--metrics', action='append', default=[], metavar='LABEL=PATH',
                        help='add a JSON results file to the card under LABEL (repeatable)')
    export.add_argument('--name', default='', help='model name in the card (default: stem)')
    export.add_argument('--description', default='', help='extra description for the card')
    reproduce = commands.add_parser(
        'reproduce', help="reproduce one of the paper's tables",
        description="Reproduce a table of Borgars et al. and write OUT/TABLE.md (the paper's "
                    'layout, its values beside the measured ones), OUT/TABLE.csv and '
                    'OUT/manifest.json. Finished runs are found again and not retrained.')
    reproduce.add_argument('table', choices=(*TABLES, 'all'))
    reproduce.add_argument('--l3d', type=Path, help='L3D folder (docs/datasets.md)')
    reproduce.add_argument('--p2ilf', type=Path, help='P2ILF folder (docs/datasets.md)')
    reproduce.add_argument('--out', type=Path, required=True, help='output folder')
    reproduce.add_argument('--smoke', action='store_true',
                           help='write tiny generated L3D/P2ILF folders (into --l3d/--p2ilf '
                                'or OUT/data) and run every step on them in minutes on a CPU')
    reproduce.add_argument('--yes', action='store_true',
                           help='start table 3 even when its estimate is large')
    reproduce.add_argument('--address', help='table3: Ray cluster address (default: local Ray)')
    reproduce.add_argument('--encoder-weights', metavar='FILE',
                           help='local ImageNet ResNet34 weights for L3D training '
                                '(docs/models.md)')
    reproduce.add_argument('--predictions', type=Path,
                           help='table2: folder with one sub-folder of label images per team')
    reproduce.add_argument('--val-patients', default='1,2',
                           help='P2ILF patients that validate (default 1,2)')
    reproduce.add_argument('--test-patients', default='4,11',
                           help='P2ILF patients that test, never trained on (default 4,11)')
    return parser


def _patients(text: str) -> tuple:
    try:
        return tuple(int(value) for value in text.split(',') if value.strip())
    except ValueError:
        raise ConfigError(f'patients must be numbers separated by commas, got {text!r}') from None


def _run_reproduce(args) -> int:
    from liver_landmarks_training.reproduce import Reproduction
    reproduction = Reproduction(
        args.out, args.l3d, args.p2ilf, smoke=args.smoke, yes=args.yes, address=args.address,
        encoder_weights=args.encoder_weights, predictions=args.predictions,
        val_patients=_patients(args.val_patients), test_patients=_patients(args.test_patients))
    for path in reproduction.run(args.table):
        print(path)
    print(reproduction.manifest_path)
    return 0


def _run_synth(args) -> int:
    from liver_landmarks_training.synthetic_writers import (
        FrameSize, write_l3d_dataset, write_p2ilf_dataset)
    try:
        width, height = (int(value) for value in args.size.lower().split('x'))
    except ValueError:
        raise ConfigError(f'--size must be WIDTHxHEIGHT, got {args.size!r}') from None
    if args.count < 1:
        raise ConfigError(f'--count must be at least 1, got {args.count}')
    size = FrameSize(width, height)
    if args.format == 'p2ilf':
        patients = tuple(int(value) for value in args.patients.split(','))
        per_patient = max(1, args.count // len(patients))
        written = write_p2ilf_dataset(args.out, per_patient, patients, size, args.seed,
                                      contour_formats=tuple(args.contours.split(',')),
                                      colour_labels=args.colour_labels)
    else:
        held_out = max(1, round(0.15 * args.count)) if args.count >= 3 else 0
        counts = {'train': args.count - 2 * held_out, 'val': held_out, 'test': held_out}
        written = write_l3d_dataset(args.out, {k: v for k, v in counts.items() if v}, size=size,
                                    start_seed=args.seed)
        written = [path for paths in written.values() for path in paths]
    print(f'wrote {len(written)} synthetic frames in {args.format} layout to {args.out}')
    return 0


def _run_train(args) -> int:
    from liver_landmarks_training.train import train
    config = load_config(args.config, args.overrides)
    result = train(config, resume=args.resume)
    print(json.dumps({'run_dir': result.run_dir, 'best_checkpoint': result.best_checkpoint,
                      'best_score': result.best_score, 'epochs': result.epochs,
                      'seconds': result.seconds}, indent=2))
    return 0


def _run_sweep(args) -> int:
    from liver_landmarks_training.sweep import load_sweep, run_sweep
    sweep = load_sweep(args.config, args.overrides)
    table = run_sweep(sweep, address=args.address, out_dir=args.out)
    print(f'results: {table.markdown_path}')
    return 0


def _run_evaluate(args) -> int:
    from liver_landmarks_training.report import parse_model_arguments, write_report
    config = load_config(args.config, args.overrides)
    models = parse_model_arguments(args.models)
    paths = write_report(config, models, args.out, split=args.split, runs=args.runs,
                         figure_rows=args.figure_rows)
    for path in paths:
        print(path)
    return 0


def _run_export(args) -> int:
    from liver_landmarks_training.export import export_checkpoint, read_metrics_files
    card = export_checkpoint(args.checkpoint, args.out, args.stem, fp16=args.fp16,
                             extra_metrics=read_metrics_files(args.metrics), name=args.name,
                             description=args.description)
    print(card)
    return 0


_COMMANDS = {'synth': _run_synth, 'train': _run_train, 'sweep': _run_sweep,
             'evaluate': _run_evaluate, 'export': _run_export, 'reproduce': _run_reproduce}


def main(argv=None) -> int:
    """Run one sub-command; return the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except _USER_ERRORS as error:
        print(f'error: {error}', file=sys.stderr)
        return USAGE_ERROR

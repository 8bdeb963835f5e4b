# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``bench``: per-stage latency for each backend and architecture, and end to end over DDS.

Writes ``bench.json`` and ``bench.md`` into ``--out``. Per-stage figures (decode,
pre-process, inference, post-process, message build; median and p95) come from one
process; ``--dds`` adds the end-to-end rate and latency with publisher, node and
subscriber as separate processes on the loopback DDS profile. Benchmarks are not
tests: run them on an otherwise idle machine and compare medians.
"""

import json
from pathlib import Path
import tempfile
import time

from liver_landmarks.backends import BACKEND_KINDS, BACKENDS
from liver_landmarks.cli import UserError


def add_parser(subparsers):
    """Add the ``bench`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        'bench', help='measure per-stage latency and end-to-end rate',
        description=__doc__.splitlines()[0].split(': ', 1)[1])
    parser.add_argument('--frames', type=int, default=30, metavar='N',
                        help='timed frames per backend and architecture (default 30)')
    parser.add_argument('--backends', nargs='+', choices=tuple(BACKENDS), default=None,
                        help='backends to measure (default: every one available here)')
    parser.add_argument('--architectures', nargs='+', default=None, metavar='ARCH',
                        help='architectures (default: all five); random-initialised unless '
                             '--model gives a trained card of that architecture')
    parser.add_argument('--encoder', default='resnet34',
                        help='encoder of the random-initialised models (default resnet34)')
    parser.add_argument('--model', type=Path, action='append', default=[], metavar='CARD.json',
                        help='trained model card to use for its architecture (repeatable)')
    parser.add_argument('--device', default='auto', help="'auto', 'cpu' or 'cuda' (default auto)")
    parser.add_argument('--openvino-precision', default='auto',
                        choices=('auto', 'int8', 'bf16', 'fp32'),
                        help='precision asked of the OpenVINO backend (default auto)')
    parser.add_argument('--openvino-in-flight', type=int, choices=(1, 2), default=1,
                        help='OpenVINO infer requests for the stage rows: 2 overlaps a '
                             "frame's inference with the last one's post-processing "
                             '(default 1, as the node runs it)')
    parser.add_argument('--cache-dir', type=Path, default=None,
                        help='converted-model cache (default $LIVER_LANDMARKS_CACHE or '
                             '~/.cache/liver_landmarks)')
    parser.add_argument('--dds', action='store_true',
                        help='also measure end to end through DDS (1920x1080 frames)')
    parser.add_argument('--dds-backends', nargs='+', choices=BACKEND_KINDS,
                        default=None, help='node backends for --dds (default: --backends)')
    parser.add_argument('--dds-seconds', type=float, default=20.0,
                        help='measured period per DDS run (default 20 s)')
    parser.add_argument('--dds-rate', type=float, default=30.0,
                        help='publisher rate in Hz (default 30, a camera)')
    parser.add_argument('--dds-param', action='append', default=[], metavar='NAME=VALUE',
                        help='override a node parameter for --dds, e.g. '
                             'input_reliability=reliable (repeatable)')
    parser.add_argument('--out', type=Path, default=Path('bench_results'), metavar='DIR',
                        help='directory for bench.json and bench.md (default bench_results)')
    parser.set_defaults(func=run)
    return parser


def _check(args):
    from liver_landmarks.model.factory import ARCHITECTURES

    if args.frames < 1:
        raise UserError(f'--frames must be at least 1, got {args.frames}')
    if args.dds_seconds <= 0 or args.dds_rate <= 0:
        raise UserError('--dds-seconds and --dds-rate must be positive')
    unknown = set(args.architectures or ()) - set(ARCHITECTURES)
    if unknown:
        raise UserError(f'unknown architectures {sorted(unknown)}: choose from '
                        f'{", ".join(ARCHITECTURES)}')
    missing = [str(card) for card in args.model if not card.is_file()]
    if missing:
        raise UserError(f'model card(s) not found: {", ".join(missing)}')
    for item in args.dds_param:
        name, equals, value = item.partition('=')
        if not equals or not name.isidentifier():
            raise UserError(f'--dds-param takes NAME=VALUE, got {item!r}')
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f'--out {args.out} exists and is not a directory')
    return list(args.architectures or ARCHITECTURES)


def run(args) -> int:
    """Run the benchmark and write bench.json and bench.md into ``args.out``."""
    architectures = _check(args)
    from liver_landmarks_tools import bench

    started = time.strftime('%Y-%m-%d %H:%M:%S %z')
    backends = args.backends or bench.available_backends(args.device)
    machine = bench.describe_machine()
    print(f'machine: {machine["cpu"]}, {machine["logical_cores"]} cores, GPU {machine["gpu"]}, '
          f'load {machine.get("load_average")}')
    options = {'openvino': {'precision': args.openvino_precision,
                            'in_flight': args.openvino_in_flight}}
    if args.cache_dir is not None:
        options['openvino']['cache_dir'] = options.setdefault('tensorrt', {})['cache_dir'] = \
            str(args.cache_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='liver_landmarks_bench_') as scratch:
        cards = bench.prepare_model_cards(architectures, args.encoder, Path(scratch), args.model)
        stages = bench.run_stage_benchmarks(cards, backends, args.device, args.frames, options)
        reference = bench.measure_reference_postprocess(args.frames)
        dds = []
        if args.dds:
            card_path = next(iter(cards.values()))[0]
            parameters = dict(item.split('=', 1) for item in args.dds_param)
            dds = bench.run_dds_benchmarks(card_path, args.dds_backends or backends, args.device,
                                           args.dds_seconds, args.dds_rate, Path(scratch),
                                           parameters)
    bench.add_pipeline_ratios(stages, dds)
    machine['load_average_after'] = bench.describe_machine().get('load_average')
    weights = {kind for _, kind in cards.values()}
    notes = [f'weights: {", ".join(sorted(weights))} (random-initialised models are fine for '
             'latency; their outputs are noise, and int8 usually cannot keep 99 % agreement '
             'on them, so OpenVINO runs the precision shown)',
             'per-stage rows run one frame at a time in one process; DDS rows add transport, '
             "queueing and the node's own threads",
             f'load average before/after: {machine.get("load_average")} / '
             f'{machine["load_average_after"]} (a shared machine inflates p95 first)']
    results = {'started': started, 'machine': machine, 'notes': notes,
               'settings': {'frames': args.frames, 'backends': backends,
                            'architectures': architectures, 'encoder': args.encoder,
                            'device': args.device, 'dds': args.dds,
                            'openvino_in_flight': args.openvino_in_flight,
                            'dds_seconds': args.dds_seconds, 'dds_rate': args.dds_rate,
                            'dds_parameters': args.dds_param},
               'stages': stages, 'postprocess_reference': reference, 'dds': dds}
    (args.out / 'bench.json').write_text(json.dumps(results, indent=1, default=str) + '\n')
    (args.out / 'bench.md').write_text(bench.markdown_report(results))
    print(f'wrote {args.out / "bench.json"} and {args.out / "bench.md"}')
    failed = [row for row in stages + dds if 'error' in row]
    return 1 if failed and len(failed) == len(stages + dds) else 0

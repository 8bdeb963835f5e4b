# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``evaluate``: score a prediction against ground truth with the P2ILF challenge metrics.

Each of ``--pred`` and ``--gt`` is a colour label image, an id PNG or a P2ILF
XML/JSON contour file. Contours are rasterised at the other input's image size
when that is a raster, otherwise at ``--width`` x ``--height`` (default
1920x1080). Imports neither torch nor rclpy, so it starts fast.
"""

import json
from pathlib import Path

from liver_landmarks.cli import UserError
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.metrics import FRANCOIS_DMAX, landmark_scores, mean_scores
from liver_landmarks.metrics import SYMDIST_THRESHOLD
from liver_landmarks.p2ilf_io import CONTOUR_SUFFIXES, IMAGE_SUFFIXES, P2ILFFormatError
from liver_landmarks.p2ilf_io import rasterise_contours, read_contours, read_label_image

DEFAULT_WIDTH = 1920
DEFAULT_HEIGHT = 1080
#: Keys of each landmark's entry in the ``--json`` output, in order.
JSON_KEYS = ('precision', 'dice', 'francois_px', 'symdist2')
_COLUMNS = (('precision', 'precision'), ('dice', 'Dice'), ('francois_px', 'Francois px'),
            ('francois_norm', 'Francois/dmax'), ('symdist2', 'symDist2'))


def add_parser(subparsers):
    """Add the ``evaluate`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        'evaluate', help='score a prediction against ground truth with the P2ILF metrics',
        description=__doc__.splitlines()[0].split(': ', 1)[1])
    parser.add_argument('--pred', required=True, type=Path, metavar='P',
                        help='prediction: colour label image, id PNG, or P2ILF XML/JSON')
    parser.add_argument('--gt', required=True, type=Path, metavar='G',
                        help='ground truth: colour label image, id PNG, or P2ILF XML/JSON')
    parser.add_argument('--json', action='store_true',
                        help='print exactly one JSON object instead of a table')
    parser.add_argument('--width', type=int, default=None,
                        help=f'image width for rasterising when both inputs are contours '
                             f'(default {DEFAULT_WIDTH})')
    parser.add_argument('--height', type=int, default=None,
                        help=f'image height for rasterising when both inputs are contours '
                             f'(default {DEFAULT_HEIGHT})')
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Score ``args.pred`` against ``args.gt`` and print a table or one JSON object."""
    pred_ids, gt_ids = load_pair(args.pred, args.gt, args.width, args.height)
    scores = landmark_scores(pred_ids, gt_ids)
    scores['mean'] = mean_scores(scores)
    if args.json:
        print(json.dumps(scores_for_json(scores), allow_nan=False))
    else:
        print(format_table(scores))
    return 0


def load_pair(pred_path: Path, gt_path: Path, width=None, height=None):
    """Load prediction and ground truth as id masks of one size, or raise UserError."""
    for name, value in (('--width', width), ('--height', height)):
        if value is not None and value <= 0:
            raise UserError(f'{name} must be a positive number of pixels, got {value}')
    pred = load_source(pred_path)
    gt = load_source(gt_path)
    rasters = [(path, source) for path, source in ((pred_path, pred), (gt_path, gt))
               if not isinstance(source, list)]
    if len(rasters) == 2 and pred.shape != gt.shape:
        raise UserError(
            f'{pred_path}: size {_size(pred)} differs from the ground truth '
            f'{gt_path} ({_size(gt)})')
    if rasters:
        reference_path, reference = rasters[0]
        size = reference.shape[1], reference.shape[0]
        wanted = (width or size[0], height or size[1])
        if wanted != size:
            raise UserError(f'--width/--height {wanted[0]}x{wanted[1]} contradict the size of '
                            f'{reference_path} ({_size(reference)})')
    else:
        size = (width or DEFAULT_WIDTH, height or DEFAULT_HEIGHT)
    return _as_ids(pred, size), _as_ids(gt, size)


def load_source(path: Path):
    """Read a label image as ids, or a contour file as a list of contours."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in IMAGE_SUFFIXES:
            return read_label_image(path)
        if suffix in CONTOUR_SUFFIXES:
            return read_contours(path)
    except P2ILFFormatError as error:
        raise UserError(str(error)) from None
    raise UserError(f'{path}: unknown format {path.suffix!r}: expected a label image '
                    f'({", ".join(IMAGE_SUFFIXES)}) or P2ILF contours (.xml, .json)')


def scores_for_json(scores: dict) -> dict:
    """Keep the ``--json`` keys of each landmark's scores and of the mean."""
    keys = [landmark.label for landmark in LANDMARKS] + ['mean']
    return {key: None if scores[key] is None else {name: scores[key][name] for name in JSON_KEYS}
            for key in keys}


def format_table(scores: dict) -> str:
    """Format per-landmark scores and their mean as a fixed-width table."""
    widths = [max(len(title), 8) for _, title in _COLUMNS]
    lines = ['landmark    ' + '  '.join(title.rjust(width)
                                        for (_, title), width in zip(_COLUMNS, widths))]
    for key in [landmark.label for landmark in LANDMARKS] + ['mean']:
        entry = scores[key]
        cells = [_cell(None if entry is None else entry[name], width)
                 for (name, _), width in zip(_COLUMNS, widths)]
        lines.append(key.ljust(12) + '  '.join(cells))
    lines.append(f'François dmax {FRANCOIS_DMAX:g} px, symDist2 threshold '
                 f'{SYMDIST_THRESHOLD:g} px')
    if any(scores[landmark.label] is None for landmark in LANDMARKS):
        lines.append('n/a: landmark absent from the ground truth (not scored)')
    return '\n'.join(lines)


def _cell(value, width: int) -> str:
    return ('n/a' if value is None else f'{value:.4f}').rjust(width)


def _as_ids(source, size):
    if isinstance(source, list):
        return rasterise_contours(source, width=size[0], height=size[1])
    return source


def _size(ids) -> str:
    return f'{ids.shape[1]}x{ids.shape[0]}'

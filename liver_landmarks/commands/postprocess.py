# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``postprocess``: turn label images into ordered polylines, P2ILF JSON and overlays.

Each label image (a P2ILF colour label image or an id PNG) goes through
:class:`~liver_landmarks.postprocess.PostProcessor` with the default
configuration, at the image's own resolution (the configuration's lengths scale
with its rows). For an input ``STEM.EXT`` it writes into ``--out``:

* ``STEM.json``: the polylines as P2ILF challenge 2D-contour JSON;
* ``STEM_labels.png``: the colour label image re-drawn from the polylines;
* ``STEM_overlay.png``: the polylines over a dimmed copy of the input labels,
  with a legend, to compare what was kept with what came in.
"""

from pathlib import Path

from liver_landmarks.cli import UserError
from liver_landmarks.drawing import line_thickness
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.overlay import draw_overlay
from liver_landmarks.p2ilf_io import contours_from_polylines, encode_colour_label
from liver_landmarks.p2ilf_io import P2ILFFormatError, read_label_image, write_image
from liver_landmarks.p2ilf_io import write_label_image, write_p2ilf_json

#: Brightness of the input labels under the overlay's polylines.
BACKGROUND_DIMMING = 0.5
#: Width of the overlay's polylines at 1080 rows: thinner than the 12 px label lines,
#: so the input shows on both sides of them.
POLYLINES_OVER_LABELS_AT_1080 = 4.0


def add_parser(subparsers):
    """Add the ``postprocess`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        'postprocess',
        help='post-process label images into polylines, P2ILF JSON and overlays',
        description=__doc__.splitlines()[0].split(': ', 1)[1])
    parser.add_argument('labels', nargs='+', type=Path, metavar='LABELS',
                        help='label images: P2ILF colour label images or id PNGs (0..3)')
    parser.add_argument('--out', required=True, type=Path, metavar='DIR',
                        help='directory for STEM.json, STEM_labels.png, STEM_overlay.png')
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Post-process every label image in ``args.labels`` into ``args.out``."""
    # Imported here so that the parser, and --help, stay free of scikit-image.
    from liver_landmarks.postprocess import PostProcessor

    _refuse_missing_or_clashing(args.labels)
    _make_directory(args.out)
    processor = PostProcessor()
    for path in args.labels:
        try:
            ids = read_label_image(path)
        except P2ILFFormatError as error:
            raise UserError(str(error)) from None
        result = processor(ids, frame=None, output_size=ids.shape)
        written = write_outputs(result, ids, args.out, path.stem)
        counts = ', '.join(f'{landmark.label} {len(result.polylines.get(landmark, []))}'
                           for landmark in LANDMARKS)
        print(f'{path} -> {", ".join(str(p) for p in written)} (polylines: {counts})')
    return 0


def write_outputs(result, input_ids, directory: Path, stem: str) -> list:
    """Write the JSON, re-drawn label PNG and overlay PNG of one result; return the paths."""
    directory = Path(directory)
    try:
        json_path = write_p2ilf_json(contours_from_polylines(result.polylines),
                                     directory / f'{stem}.json')
        labels_path = write_label_image(directory / f'{stem}_labels.png', result.labels)
        dimmed = (encode_colour_label(input_ids) * BACKGROUND_DIMMING).astype('uint8')
        overlay_path = directory / f'{stem}_overlay.png'
        thickness = line_thickness(len(input_ids), POLYLINES_OVER_LABELS_AT_1080)
        overlay = draw_overlay(dimmed, result, thickness=thickness)
        write_image(overlay_path, overlay[..., ::-1])
    except OSError as error:
        raise UserError(f'{directory}: cannot write ({error.strerror or error})') from None
    except P2ILFFormatError as error:
        raise UserError(str(error)) from None
    return [json_path, labels_path, overlay_path]


def _refuse_missing_or_clashing(paths) -> None:
    # Checked before any output is written, so a typo in the last name costs nothing.
    seen = {}
    for path in paths:
        if not path.is_file():
            raise UserError(f'{path}: no such file')
        if path.stem in seen:
            raise UserError(f'{path}: same file stem as {seen[path.stem]}; their outputs '
                            f'would overwrite each other')
        seen[path.stem] = path


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f'{directory}: cannot create output directory '
                        f'({error.strerror or error})') from None

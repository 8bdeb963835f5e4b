# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``segment``: run frames through a model and the post-processing.

For an input ``STEM.EXT`` it writes into ``--out``:

* ``STEM_labels.png``: the P2ILF colour label image re-drawn from the polylines;
* ``STEM_overlay.png``: the landmarks drawn over the frame, with a legend;
* ``STEM.json``: the polylines as P2ILF challenge 2D-contour JSON.

``--model`` defaults to the model card shipped in ``models/``.
"""

from pathlib import Path

from liver_landmarks.backends import BACKEND_KINDS
from liver_landmarks.cli import UserError


def add_parser(subparsers):
    """Add the ``segment`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        'segment', help='segment frames with a model and post-process the result',
        description=__doc__.splitlines()[0].split(': ', 1)[1])
    parser.add_argument('images', nargs='+', type=Path, metavar='IMAGE',
                        help='frames to segment (any size, any format OpenCV reads)')
    parser.add_argument('--model', type=Path, default=None, metavar='CARD.json',
                        help='model card written beside the .safetensors weights '
                             '(default: the one shipped in models/)')
    parser.add_argument('--out', required=True, type=Path, metavar='DIR',
                        help='directory for STEM_labels.png, STEM_overlay.png, STEM.json')
    parser.add_argument('--backend', choices=BACKEND_KINDS, default='auto',
                        help='inference backend (default: auto, the fastest available)')
    parser.add_argument('--device', default='auto', metavar='D',
                        help="'auto', 'cpu', 'cuda' or 'cuda:N' (default: auto)")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Segment every image in ``args.images`` into ``args.out``."""
    # Imported here so that --help and argument errors never pay for torch.
    from liver_landmarks.backends import BackendError
    from liver_landmarks.commands.postprocess import _make_directory, _refuse_missing_or_clashing
    from liver_landmarks.model.artifact import default_model_card, ModelArtifactError
    from liver_landmarks.pipeline import Pipeline

    _refuse_missing_or_clashing(args.images)
    try:
        card_path = args.model if args.model is not None else default_model_card()
        pipeline = Pipeline.from_model_card(card_path, backend=args.backend, device=args.device)
    except (ModelArtifactError, BackendError, ValueError) as error:
        raise UserError(str(error)) from None
    _make_directory(args.out)
    with pipeline:
        description = pipeline.describe()
        print(f'model {card_path} on {description["backend"]} {description["device"]} '
              f'{description["precision"]}')
        for path in args.images:
            frame_bgr = read_frame(path)
            output = pipeline(frame_bgr, channel_order='bgr')
            written = write_outputs(output.result, frame_bgr[:, :, ::-1], args.out, path.stem)
            timings = ', '.join(f'{stage} {ms:.0f} ms' for stage, ms in output.timings_ms.items())
            print(f'{path} -> {", ".join(str(p) for p in written)} ({timings})')
    return 0


def read_frame(path: Path):
    """Read an image file as 8-bit BGR (grey and 16-bit images converted), or raise UserError."""
    import cv2
    import numpy as np

    try:
        data = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
    except OSError as error:
        raise UserError(f'{path}: cannot read ({error.strerror or error})') from None
    frame = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if frame is None:
        raise UserError(f'{path}: not a readable image')
    return frame


def write_outputs(result, frame_rgb, directory: Path, stem: str) -> list:
    """Write the label PNG, overlay PNG and P2ILF JSON of one frame; return the paths."""
    from liver_landmarks.overlay import draw_overlay
    from liver_landmarks.p2ilf_io import contours_from_polylines, P2ILFFormatError
    from liver_landmarks.p2ilf_io import write_image, write_label_image, write_p2ilf_json

    directory = Path(directory)
    try:
        labels_path = write_label_image(directory / f'{stem}_labels.png', result.labels)
        overlay_path = directory / f'{stem}_overlay.png'
        write_image(overlay_path, draw_overlay(frame_rgb, result)[:, :, ::-1])
        json_path = write_p2ilf_json(contours_from_polylines(result.polylines),
                                     directory / f'{stem}.json')
    except OSError as error:
        raise UserError(f'{directory}: cannot write ({error.strerror or error})') from None
    except P2ILFFormatError as error:
        raise UserError(str(error)) from None
    return [labels_path, overlay_path, json_path]

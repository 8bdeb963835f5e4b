# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Score shipped models on an annotated real frame, before and after post-processing.

``python -m liver_landmarks_training.sample_frame_report IMAGE GT --model old=CARD
--model new=CARD --out DIR`` runs each model through the deployed pipeline at the
frame's own size (as ``python -m liver_landmarks segment`` does), writes the raw
network labels (argmax at the network size, resized to the frame by nearest
neighbour) and the post-processed labels as colour label images, scores both with
the P2ILF metrics (as ``python -m liver_landmarks evaluate`` does), and draws the
side-by-side figure: ground truth, then each model after post-processing.

A test report only: the frame is never used to train, tune or select a model.
"""

import argparse
import json
from pathlib import Path
import time

import cv2
from liver_landmarks import p2ilf_io
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.metrics import landmark_scores, mean_scores
import numpy as np


def _overlay(frame_rgb, ids, title):
    colours = p2ilf_io.encode_colour_label(ids)
    shown = frame_rgb.copy()
    mask = ids > 0
    shown[mask] = (0.25 * shown[mask] + 0.75 * colours[mask]).astype(np.uint8)
    cv2.putText(shown, title, (30, 80), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (255, 255, 255), 5,
                cv2.LINE_AA)
    return shown


def _rounded(scores):
    # A landmark absent from both prediction and ground truth has no score (None).
    return {name: None if entry is None else {
        key: (round(value, 4) if isinstance(value, float) else value)
        for key, value in entry.items()} for name, entry in scores.items()}


def score_models(image_path, gt_path, models: dict, out, backend='torch') -> dict:
    """Run, write and score every model; return ``{label: {'raw': .., 'post': ..}}``."""
    from liver_landmarks.pipeline import Pipeline
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame_bgr = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if frame_bgr is None:
        raise FileNotFoundError(f'{image_path}: not a readable image')
    height, width = frame_bgr.shape[:2]
    gt = p2ilf_io.read_label_image(gt_path)
    panels = [_overlay(frame_bgr[..., ::-1], gt, 'ground truth')]
    results = {}
    for label, card in models.items():
        with Pipeline.from_model_card(card, backend=backend, device='cpu') as pipeline:
            pipeline(frame_bgr, channel_order='bgr')   # warm-up
            started = time.perf_counter()
            output = pipeline(frame_bgr, channel_order='bgr')
            seconds = time.perf_counter() - started
        raw = cv2.resize(np.asarray(output.class_ids, np.uint8), (width, height),
                         interpolation=cv2.INTER_NEAREST)
        post = np.asarray(output.result.labels, np.uint8)
        entry = {'card': str(card), 'frame_seconds': round(seconds, 3),
                 'timings_ms': {k: round(v, 1) for k, v in output.timings_ms.items()}}
        for stage, ids in (('raw', raw), ('post', post)):
            p2ilf_io.write_label_image(out / f'{label}_{stage}_labels.png', ids)
            scores = landmark_scores(ids, gt)
            scores['mean'] = mean_scores(scores)
            entry[stage] = _rounded(scores)
        results[label] = entry
        panels.append(_overlay(frame_bgr[..., ::-1], post, f'{label} (post-processed)'))
    figure = np.concatenate(panels, axis=1)
    scale = 2400 / figure.shape[1]
    figure = cv2.resize(figure, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(out / 'overlays.jpg'), figure[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])
    with open(out / 'scores.json', 'w', encoding='utf-8') as stream:
        json.dump(results, stream, indent=2)
    return results


def markdown_table(results: dict) -> str:
    """Per-landmark P / D / G of every model, raw and post-processed."""
    names = [landmark.label for landmark in LANDMARKS] + ['mean']
    header = '| model | stage | ' + ' | '.join(f'{n} P | {n} D | {n} G' for n in names) + ' |'
    lines = [header, '|' + '---|' * (2 + 3 * len(names))]
    for label, entry in results.items():
        for stage in ('raw', 'post'):
            cells = []
            for name in names:
                score = entry[stage][name]
                cells += (['-'] * 3 if score is None else [
                    f"{score['precision']:.3f}", f"{score['dice']:.3f}",
                    f"{score['francois_px']:.2f}"])
            lines.append(f'| {label} | {stage} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image', type=Path)
    parser.add_argument('gt', type=Path, help='colour label image of the frame')
    parser.add_argument('--model', action='append', required=True, metavar='LABEL=CARD')
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument('--backend', default='torch')
    args = parser.parse_args(argv)
    models = dict(item.split('=', 1) for item in args.model)
    results = score_models(args.image, args.gt, models, args.out, args.backend)
    print(markdown_table(results))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

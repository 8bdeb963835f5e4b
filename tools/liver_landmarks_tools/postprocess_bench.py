# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Time the post-processing per frame on realistic masks (a benchmark, not a test).

Masks are the real P2ILF ground truth of the bundled sample (decoded with the
per-channel threshold 128), resized with nearest-neighbour sampling, and then
spoiled like a network's output: a few noise blobs of random classes, a few gaps cut
across the lines and a small random shift. Each case runs once untimed, then
``--frames`` timed calls; the script prints median and p95 wall-clock and CPU
(thread) milliseconds per frame, and the load average, since the machine is shared.

Cases:
    416x320                class ids at the network size, results at that size;
    416x320 -> 1920x1080   the pipeline's case: network-size ids, full-size results,
                           with the real 1920x1080 frame for the field-of-view cull;
    1920x1080              full-size ids (e.g. ``postprocess`` on a label image).
"""

import os
import sys
import time

import cv2
from liver_landmarks.landmarks import INPUT_HEIGHT, INPUT_WIDTH, LANDMARKS
from liver_landmarks.p2ilf_io import read_label_image
from liver_landmarks.postprocess import PostProcessor
from liver_landmarks_tools.support.data import P2ILF_SAMPLE
import numpy as np

SAMPLE = P2ILF_SAMPLE
GT_LABEL = SAMPLE / 'labels' / 'P2ILF22_patient1_12_GT.jpg'
FRAME = SAMPLE / 'images' / 'P2ILF22_patient1_12.jpg'


def spoiled_masks(ground_truth: np.ndarray, size: tuple[int, int], count: int,
                  seed: int = 0) -> list[np.ndarray]:
    """Return ``count`` (rows, cols) id masks: the resized ground truth with noise."""
    rows, cols = size
    base = cv2.resize(ground_truth, (cols, rows), interpolation=cv2.INTER_NEAREST)
    scale = rows / INPUT_HEIGHT
    random = np.random.default_rng(seed)
    masks = []
    for _ in range(count):
        mask = np.roll(base, tuple(random.integers(-3, 4, size=2)), axis=(0, 1))
        for _ in range(random.integers(3, 9)):
            centre = (int(random.integers(0, cols)), int(random.integers(0, rows)))
            axes = tuple(int(max(1, a * scale)) for a in random.integers(1, 5, size=2))
            cv2.ellipse(mask, centre, axes, float(random.uniform(0, 180)), 0, 360,
                        int(random.choice(LANDMARKS)), -1)
        for _ in range(random.integers(1, 4)):
            start = (int(random.integers(0, cols)), int(random.integers(0, rows)))
            angle = random.uniform(0, np.pi)
            length = 30 * scale
            end = (int(start[0] + length * np.cos(angle)), int(start[1] + length * np.sin(angle)))
            cv2.line(mask, start, end, 0, int(max(1, random.integers(2, 7) * scale)))
        masks.append(mask)
    return masks


def time_case(processor, masks, frame, output_size) -> dict:
    """Return wall and CPU milliseconds per frame (median, p95) over ``masks``."""
    processor(masks[0], frame=frame, output_size=output_size)
    wall, cpu = [], []
    for mask in masks:
        started, started_cpu = time.perf_counter(), time.thread_time()
        processor(mask, frame=frame, output_size=output_size)
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    wall_ms, cpu_ms = np.array(wall) * 1e3, np.array(cpu) * 1e3
    return {'wall_median': np.median(wall_ms), 'wall_p95': np.percentile(wall_ms, 95),
            'wall_min': wall_ms.min(), 'cpu_median': np.median(cpu_ms),
            'cpu_p95': np.percentile(cpu_ms, 95)}


def add_parser(subparsers):
    """Add the ``postprocess-bench`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser('postprocess-bench',
                                   help='time the post-processing on realistic masks',
                                   description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=200, help='timed frames per case')
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Run the cases and print one line each."""
    if not GT_LABEL.exists():
        print(f'no P2ILF sample at {SAMPLE}', file=sys.stderr)
        return 1
    ground_truth = read_label_image(GT_LABEL)
    frame = cv2.cvtColor(cv2.imread(str(FRAME)), cv2.COLOR_BGR2RGB)
    processor = PostProcessor()
    full = ground_truth.shape
    cases = [
        ('416x320', (INPUT_HEIGHT, INPUT_WIDTH), None, None, args.frames),
        ('416x320 -> 1920x1080 + FOV', (INPUT_HEIGHT, INPUT_WIDTH), frame, full, args.frames),
        ('1920x1080', full, None, None, max(10, args.frames // 10)),
    ]
    print(f'load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs')
    for name, size, case_frame, output_size, count in cases:
        stats = time_case(processor, spoiled_masks(ground_truth, size, count), case_frame,
                          output_size)
        print(f'{name:28s} wall median {stats["wall_median"]:6.2f} ms  p95 '
              f'{stats["wall_p95"]:6.2f} ms  min {stats["wall_min"]:6.2f} ms | cpu median '
              f'{stats["cpu_median"]:6.2f} ms  p95 {stats["cpu_p95"]:6.2f} ms  ({count} frames)')
    print(f'load average after: {os.getloadavg()[0]:.2f}')
    return 0

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Write mesh-rendered frames as a colour-label dataset folder the training recipes read.

``python -m liver_landmarks_training.mesh_dataset OUT --mesh liver.obj --landmarks
contours.json --train 3000 --val 150 --test 150`` writes ``OUT/<split>/<seed>.jpg``
and ``OUT/<split>/<seed>_GT.png`` (P2ILF colours), which ``data.kind: colour_labels``
reads. Train, validation and test seeds never overlap (the offsets of
:mod:`.data_module`); a process pool renders, one OpenGL context per worker.
``OUT/manifest.json`` records the arguments and package versions.
"""

import argparse
from concurrent.futures import ProcessPoolExecutor
import json
import multiprocessing
from pathlib import Path
import platform
import time

import cv2
from liver_landmarks import p2ilf_io
from liver_landmarks_training.liver_mesh import load_p2ilf_asset, procedural_liver
from liver_landmarks_training.mesh_synthetic import MeshFrameRenderer
import numpy as np

#: Seed offsets per split; the same as the 2D generator's in data_module.
SPLIT_OFFSETS = {'train': 0, 'val': 1_000_000, 'test': 2_000_000}

_RENDERER = None


def build_assets(mesh=None, landmarks=None, procedural: int = 0, seed: int = 0) -> list:
    """Return the asset list: the given mesh (repeated to weight it) plus procedural livers."""
    assets = []
    if mesh is not None:
        if landmarks is None:
            raise ValueError('--mesh needs --landmarks (a P2ILF 3D-contour JSON)')
        real = load_p2ilf_asset(mesh, landmarks)
        # Weighted so that about five frames in six show the real liver's shape.
        assets += [real] * max(1, 5 * procedural)
    assets += [procedural_liver(np.random.default_rng([seed, k])) for k in range(procedural)]
    if not assets:
        raise ValueError('no mesh given and no procedural livers asked for')
    return assets


def _init_worker(assets, width, height):
    global _RENDERER
    _RENDERER = MeshFrameRenderer(assets, width, height)


def _render_one(job):
    seed, folder = job
    frame = _RENDERER.render(seed)
    stem = Path(folder) / f'{seed:08d}'
    cv2.imwrite(str(stem) + '.jpg', frame.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    p2ilf_io.write_label_image(str(stem) + '_GT.png', frame.labels)
    return np.bincount(frame.labels.ravel(), minlength=4) > 0


def write_dataset(out, counts: dict, assets, width=480, height=270, base_seed=0,
                  workers=2) -> dict:
    """Render ``counts`` = {split: frames} into ``out``; return per-split label presence."""
    out = Path(out)
    jobs = []
    for split, count in counts.items():
        folder = out / split
        folder.mkdir(parents=True, exist_ok=True)
        first = base_seed + SPLIT_OFFSETS[split]
        jobs += [(seed, str(folder)) for seed in range(first, first + int(count))
                 if not (folder / f'{seed:08d}_GT.png').exists()]
    started = time.monotonic()
    # Spawned, not forked: an OpenGL context does not survive fork, and the caller may
    # hold one already.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context('spawn'),
                             initializer=_init_worker,
                             initargs=(assets, width, height)) as pool:
        for done, _ in enumerate(pool.map(_render_one, jobs, chunksize=4), 1):
            if done % 100 == 0:
                rate = done / (time.monotonic() - started)
                print(f'{done}/{len(jobs)} frames, {rate:.2f} frames/s', flush=True)
    return {'frames': len(jobs), 'seconds': round(time.monotonic() - started, 1)}


def main(argv=None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='dataset folder to write')
    parser.add_argument('--mesh', help='liver mesh (OBJ, millimetres)')
    parser.add_argument('--landmarks', help='P2ILF 3D-contour JSON with 0-based vertex ids')
    parser.add_argument('--procedural', type=int, default=0,
                        help='number of procedural livers to add')
    parser.add_argument('--train', type=int, default=3000)
    parser.add_argument('--val', type=int, default=150)
    parser.add_argument('--test', type=int, default=150)
    parser.add_argument('--size', type=int, nargs=2, default=(480, 270), metavar=('W', 'H'))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args(argv)
    assets = build_assets(args.mesh, args.landmarks, args.procedural, args.seed)
    # Held-out splits first: a run cut short still has them whole.
    counts = {'val': args.val, 'test': args.test, 'train': args.train}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    manifest = {'arguments': vars(args), 'assets': [asset.name for asset in assets],
                'python': platform.python_version()}
    (Path(args.out) / 'manifest.json').write_text(json.dumps(manifest, indent=2) + '\n')
    result = write_dataset(args.out, counts, assets, *args.size, args.seed, args.workers)
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

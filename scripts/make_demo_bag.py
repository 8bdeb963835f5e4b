# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Write the demo recording ``data/demo_bag/``: a short laparoscope-like clip on /camera/image.

Frames come from the synthetic generator of ``liver_landmarks_training`` when it is
installed (a few scenes, each seen through a slowly panning, turning camera whose
exposure drifts), otherwise from the real P2ILF sample frame moved the same way. The
output is deterministic: the same arguments write the same bytes. The synthetic
generator's pixel noise is left out because noise does not compress and the bag is
committed to the repository.

    python scripts/make_demo_bag.py [--out data/demo_bag] [--force]
"""

import argparse
import math
from pathlib import Path
import shutil
import sys
import tempfile

import cv2
from liver_landmarks.bag.storage import (add_topic, close_writer, create_writer, IMAGE_TYPE,
                                         typestore)
import numpy as np

REPO = Path(__file__).resolve().parents[1]
P2ILF_FRAME = (REPO.parent / 'shared' / 'data' / 'p2ilf_sample' / 'images'
               / 'P2ILF22_patient1_12.jpg')
#: 2026-01-01T00:00:00Z: a fixed start so the bag's bytes do not depend on when it was made.
START_NS = 1_767_225_600 * 1_000_000_000
#: The camera sees this fraction of the scene, so it can pan without leaving it.
VIEW_FRACTION = 0.8


def camera_view(scene: np.ndarray, progress: float, width: int, height: int) -> np.ndarray:
    """Return the camera's view of ``scene`` at ``progress`` (0..1) through its motion.

    The view pans diagonally across the middle of the scene, turns by up to 4 degrees
    and its exposure drifts by +-6 %, as a hand-held laparoscope's would.
    """
    scene_h, scene_w = scene.shape[:2]
    phase = 2.0 * progress - 1.0                       # -1..1
    centre_x = scene_w / 2 + phase * scene_w * (1 - VIEW_FRACTION) / 2.5
    centre_y = scene_h / 2 + math.sin(math.pi * phase) * scene_h * (1 - VIEW_FRACTION) / 3
    angle = 4.0 * phase
    scale = width / (scene_w * VIEW_FRACTION)
    warp = cv2.getRotationMatrix2D((centre_x, centre_y), angle, scale)
    warp[:, 2] += (width / 2 - centre_x, height / 2 - centre_y)
    view = cv2.warpAffine(scene, warp, (width, height), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REFLECT)
    gain = 1.0 + 0.06 * math.sin(2 * math.pi * progress)
    return np.clip(view.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def synthetic_scenes(count: int, width: int, height: int):
    """Yield synthetic scene images (RGB), or None when the generator is not installed."""
    try:
        from liver_landmarks_training.synthetic import render_frame, SyntheticConfig
    except ImportError:
        return None
    config = SyntheticConfig(disabled_effects=frozenset({'noise'}))
    scene_w, scene_h = round(width / VIEW_FRACTION), round(height / VIEW_FRACTION)
    return [render_frame(seed, scene_w, scene_h, config).image for seed in range(count)]


def p2ilf_scenes(count: int, width: int, height: int):
    """Return ``count`` copies of the real P2ILF sample frame, mirrored every other scene."""
    image = cv2.imread(str(P2ILF_FRAME), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f'cannot read {P2ILF_FRAME}: install liver_landmarks_training '
                         '(pip install -e training) or provide the shared P2ILF sample')
    scene_w, scene_h = round(width / VIEW_FRACTION), round(height / VIEW_FRACTION)
    rgb = cv2.cvtColor(cv2.resize(image, (scene_w, scene_h), interpolation=cv2.INTER_AREA),
                       cv2.COLOR_BGR2RGB)
    return [rgb if index % 2 == 0 else rgb[:, ::-1].copy() for index in range(count)]


def make_frames(source: str, scenes: int, frames_per_scene: int, width: int, height: int):
    """Return ``(source used, list of HxWx3 RGB frames)``."""
    images = None
    if source in ('auto', 'synthetic'):
        images = synthetic_scenes(scenes, width, height)
        if images is None and source == 'synthetic':
            raise SystemExit('liver_landmarks_training is not installed: pip install -e training')
    used = 'synthetic' if images is not None else 'p2ilf'
    if images is None:
        # One real frame, original and mirrored: more scenes would only repeat them, and
        # real texture compresses three times worse than synthetic frames.
        images = p2ilf_scenes(min(scenes, 2), width, height)
    frames = [camera_view(scene, index / max(frames_per_scene - 1, 1), width, height)
              for scene in images for index in range(frames_per_scene)]
    return used, frames


def write_bag(out: Path, frames, rate_hz: float, topic: str, frame_id: str) -> None:
    """Write ``frames`` as rgb8 images at ``rate_hz``, stamp = log time, zstd chunks.

    Serialised with rosbags rather than rclpy: only the former zeroes CDR padding, so
    only it writes the same bytes twice.
    """
    store = typestore()
    types = store.types
    writer = create_writer(out, 'mcap', compress=True)
    try:
        connection = add_topic(writer, topic, IMAGE_TYPE)
        for index, frame in enumerate(frames):
            stamp_ns = START_NS + round(index * 1e9 / rate_hz)
            sec, nanosec = divmod(stamp_ns, 1_000_000_000)
            header = types['std_msgs/msg/Header'](
                stamp=types['builtin_interfaces/msg/Time'](sec=sec, nanosec=nanosec),
                frame_id=frame_id)
            height, width = frame.shape[:2]
            image = types[IMAGE_TYPE](
                header=header, height=height, width=width, encoding='rgb8', is_bigendian=0,
                step=width * 3, data=np.ascontiguousarray(frame, dtype=np.uint8).reshape(-1))
            writer.write(connection, stamp_ns, store.serialize_cdr(image, IMAGE_TYPE))
    finally:
        close_writer(writer)


def main(argv=None) -> int:
    """Write the demo bag; print what it holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=REPO / 'data' / 'demo_bag')
    parser.add_argument('--force', action='store_true', help='replace an existing bag')
    parser.add_argument('--source', choices=('auto', 'synthetic', 'p2ilf'), default='auto')
    parser.add_argument('--scenes', type=int, default=4)
    parser.add_argument('--frames-per-scene', type=int, default=8)
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=360)
    parser.add_argument('--rate', type=float, default=10.0, help='frames per second')
    parser.add_argument('--topic', default='/camera/image')
    parser.add_argument('--frame-id', default='laparoscope_optical_frame')
    args = parser.parse_args(argv)
    if args.out.exists() and not args.force:
        print(f'{args.out} exists; pass --force to replace it', file=sys.stderr)
        return 1
    used, frames = make_frames(args.source, args.scenes, args.frames_per_scene,
                               args.width, args.height)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out.parent) as scratch:
        staged = Path(scratch) / args.out.name
        write_bag(staged, frames, args.rate, args.topic, args.frame_id)
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.move(str(staged), str(args.out))
    size = sum(path.stat().st_size for path in args.out.iterdir())
    print(f'{args.out}: {len(frames)} {args.width}x{args.height} rgb8 frames from the {used} '
          f'source at {args.rate:g} Hz on {args.topic}, {size / 1e6:.2f} MB')
    return 0


if __name__ == '__main__':
    sys.exit(main())

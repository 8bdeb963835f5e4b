# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The one source of fake laparoscopy frames: int8 calibration, precision checks, benchmarks.

Frames are drawn from a seed, so a set is reproducible bit for bit and can key a
cache. They carry no patient data and are not renderings of anatomy; they have the
colour and texture statistics of laparoscopic video, which is what quantisation,
batch-norm statistics and latency measurements need. Real frames for verifying a
backend come only from the caller (a parameter or ``$LIVER_LANDMARKS_SAMPLE_FRAMES``).
"""

import math

import numpy as np


def calibration_frames(count: int, width: int = 832, height: int = 640,
                       seed: int = 0) -> list[np.ndarray]:
    """Return ``count`` deterministic laparoscopy-like RGB uint8 frames for calibration.

    Each frame is a shaded reddish-brown organ of random shape and hue in a circular
    field of view with black corners, low-frequency texture, pale creases (ridge- and
    ligament-like lines), specular highlights and, in some, a grey instrument shaft:
    the statistics int8 quantisation needs, without any patient data.
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    rows /= height
    cols /= width
    frames = []
    for _ in range(count):
        cy, cx = rng.uniform(0.35, 0.7), rng.uniform(0.3, 0.7)
        ry, rx = rng.uniform(0.3, 0.6), rng.uniform(0.3, 0.6)
        organ = np.clip(1.3 - np.hypot((rows - cy) / ry, (cols - cx) / rx), 0.0, 1.0)
        texture = np.zeros_like(rows)
        for _ in range(5):
            fy, fx, phase = rng.uniform(1, 12), rng.uniform(1, 12), rng.uniform(0, 2 * math.pi)
            texture += np.sin(2 * math.pi * (fy * rows + fx * cols) + phase) / 5.0
        base = np.array([rng.uniform(120, 220), rng.uniform(30, 90), rng.uniform(25, 80)],
                        np.float32)
        shade = (0.55 + 0.45 * organ + 0.08 * texture)[..., None]
        frame = base * shade + np.array([25.0, 15.0, 15.0], np.float32) * (1.0 - organ[..., None])
        for _ in range(rng.integers(1, 4)):
            offset, amplitude = rng.uniform(0.2, 0.8), rng.uniform(0.02, 0.15)
            frequency, phase = rng.uniform(0.5, 3.0), rng.uniform(0, 2 * math.pi)
            curve = offset + amplitude * np.sin(2 * math.pi * frequency * cols + phase)
            crease = np.exp(-((rows - curve) / rng.uniform(0.004, 0.012)) ** 2)
            frame += crease[..., None] * rng.uniform(-60, 60, 3).astype(np.float32)
        for _ in range(rng.integers(3, 10)):
            y, x = rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85)
            spot = np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / rng.uniform(2e-5, 4e-4))
            frame += 230.0 * spot[..., None]
        if rng.random() < 0.5:
            angle, position = rng.uniform(-0.6, 0.6), rng.uniform(0.2, 0.8)
            distance = np.abs((cols - position) * math.cos(angle) - (rows - 1.0) * math.sin(angle))
            shaft = (distance < rng.uniform(0.03, 0.07)) & (rows > rng.uniform(0.3, 0.7))
            frame[shaft] = rng.uniform(90, 170)
        frame += rng.normal(0.0, 4.0, frame.shape).astype(np.float32)
        outside = np.hypot(rows - 0.5, (cols - 0.5) * width / height) > rng.uniform(0.55, 0.8)
        frame[outside] = 0.0
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def calibration_frame(width: int = 1920, height: int = 1080, seed: int = 0) -> np.ndarray:
    """Return one laparoscopy-like HxWx3 uint8 RGB frame (the first of ``calibration_frames``)."""
    return calibration_frames(1, width, height, seed)[0]

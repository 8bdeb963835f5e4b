# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The post-processor: class-id mask in, ordered polylines and re-drawn labels out."""

import cv2
from liver_landmarks.landmarks import Landmark, LANDMARKS
from liver_landmarks.postprocess.config import PostProcessConfig
from liver_landmarks.postprocess.fov import cull_outside, field_of_view_mask
from liver_landmarks.postprocess.fragments import join_fragments
from liver_landmarks.postprocess.ligament import cull_ligament
from liver_landmarks.postprocess.paths import order_skeleton
from liver_landmarks.postprocess.rdp import simplify_rdp
from liver_landmarks.postprocess.render import render_labels
from liver_landmarks.postprocess.resample import arc_length, resample_polyline, to_output_pixels
from liver_landmarks.postprocess.result import LandmarkPolylines
from liver_landmarks.postprocess.skeleton import skeletonize_mask
import numpy as np


def landmark_paths(mask: np.ndarray, config: PostProcessConfig,
                   scale: float = 1.0) -> list[np.ndarray]:
    """Run steps d, c and e on one landmark's mask; return polylines in its pixel coordinates.

    The mask is cropped to its content (plus one background pixel all round) first, so
    every step works on a small window; results are shifted back.

    Inputs:
        mask: ``(h, w)`` bool mask of one class.
        config: thresholds (lengths at 320 rows).
        scale: factor applied to the configured lengths (working rows / 320).
    """
    binary = np.asarray(mask).astype(np.uint8, copy=False)
    left, top, width, height = cv2.boundingRect(binary)
    if width == 0 or height == 0:
        return []
    left, top = max(left - 1, 0), max(top - 1, 0)
    window = binary[top:top + height + 2, left:left + width + 2]
    skeleton = join_fragments(skeletonize_mask(window), config.join_gap_px * scale)
    paths = order_skeleton(skeleton, config.min_branch_length_px * scale, origin=(left, top))
    shortest = config.min_polyline_length_px * scale
    return [simplify_rdp(path, config.rdp_epsilon_px * scale) for path in paths
            if len(path) and arc_length(path) >= shortest and (len(path) > 1 or shortest <= 0)]


class PostProcessor:
    """Turn a network's class-id mask into ordered polylines per landmark.

    Steps, in order (each a function usable alone): (a) field-of-view cull
    :func:`field_of_view_mask` / :func:`cull_outside`; (b) ligament cull
    :func:`cull_ligament`; per landmark, (d) Zhang-Suen :func:`skeletonize_mask`, then
    (c) :func:`join_fragments` on skeleton end points, (e) :func:`order_skeleton` and
    :func:`simplify_rdp`; (f) :func:`to_output_pixels`, :func:`resample_polyline` and
    :func:`render_labels`. Lengths in the config hold at 320 working rows and scale with
    the mask's rows.
    """

    def __init__(self, config: PostProcessConfig = PostProcessConfig()):
        """Keep the configuration."""
        self.config = config

    def __call__(self, class_ids: np.ndarray, frame: np.ndarray | None = None,
                 output_size: tuple[int, int] | None = None) -> LandmarkPolylines:
        """Post-process one frame.

        Inputs:
            class_ids: ``(h, w)`` uint8 class ids at the working size (usually 320x416).
            frame: the input frame (any size, uint8, any channel order) for the
                field-of-view cull, or None to skip it.
            output_size: ``(H, W)`` the results are mapped to; default ``class_ids``' size.
        """
        config = self.config
        class_ids = np.asarray(class_ids)
        if class_ids.ndim != 2:
            raise ValueError(
                f'class_ids must be a 2-D (h, w) id mask, got shape {class_ids.shape}')
        class_ids = class_ids.astype(np.uint8, copy=False)
        working_size = class_ids.shape
        output_size = tuple(output_size) if output_size is not None else working_size
        scale = config.length_scale(working_size[0])
        if frame is not None and config.fov_method != 'none':
            inside = field_of_view_mask(frame, working_size, config.fov_method,
                                        config.fov_threshold)
            class_ids = cull_outside(class_ids, inside)
        if config.ligament_cull:
            class_ids = cull_ligament(class_ids)
        polylines: dict[Landmark, list[np.ndarray]] = {}
        for landmark in LANDMARKS:
            paths = landmark_paths(class_ids == landmark, config, scale)
            polylines[landmark] = [
                resample_polyline(to_output_pixels(path, working_size, output_size),
                                  config.sample_step_px)
                for path in paths]
        labels = render_labels(polylines, output_size, config.thickness_for(output_size[0]))
        return LandmarkPolylines(polylines=polylines, labels=labels)

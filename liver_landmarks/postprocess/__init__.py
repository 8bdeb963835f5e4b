# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Post-processing: class-id masks to ordered landmark polylines, in small named steps.

See docs/postprocessing.md for the steps, their parameters and the definitions.
"""

from liver_landmarks.postprocess.config import PostProcessConfig
from liver_landmarks.postprocess.fov import cull_outside, field_of_view_mask
from liver_landmarks.postprocess.fragments import join_fragments
from liver_landmarks.postprocess.ligament import cull_ligament
from liver_landmarks.postprocess.paths import order_skeleton
from liver_landmarks.postprocess.processor import PostProcessor
from liver_landmarks.postprocess.rdp import simplify_rdp
from liver_landmarks.postprocess.render import DRAW_ORDER, render_labels
from liver_landmarks.postprocess.resample import arc_length, resample_polyline, to_output_pixels
from liver_landmarks.postprocess.result import LandmarkPolylines
from liver_landmarks.postprocess.skeleton import skeletonize_mask

__all__ = [
    'DRAW_ORDER', 'LandmarkPolylines', 'PostProcessConfig', 'PostProcessor', 'arc_length',
    'cull_ligament', 'cull_outside', 'field_of_view_mask', 'join_fragments', 'order_skeleton',
    'render_labels', 'resample_polyline', 'simplify_rdp', 'skeletonize_mask',
    'to_output_pixels',
]

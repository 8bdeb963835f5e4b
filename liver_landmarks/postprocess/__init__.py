# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Post-processing: class-id masks to ordered landmark polylines, in small named steps.

:class:`PostProcessor` runs the steps of :data:`STEPS` in order; this package exports
them and the functions they run. The modules also hold single-polyline forms of the
batched functions (``skeletonize_mask``, ``join_fragments``, ``order_skeleton``,
``simplify_rdp``, ``resample_polyline``) for use and tests one step at a time. See
docs/postprocessing.md for the steps, their parameters and the definitions.
"""

from liver_landmarks.postprocess.config import PostProcessConfig
from liver_landmarks.postprocess.fov import cull_outside, field_of_view_mask
from liver_landmarks.postprocess.ligament import cull_ligament
from liver_landmarks.postprocess.processor import (
    CullFieldOfView, CullLigament, FrameState, OrderAndSimplify, PostProcessor, RenderLabels,
    ResampleInOutputPixels, SkeletoniseAndJoin, Step, STEPS)
from liver_landmarks.postprocess.render import DRAW_ORDER, render_labels
from liver_landmarks.postprocess.resample import arc_length, to_output_pixels
from liver_landmarks.postprocess.result import LandmarkPolylines

__all__ = [
    'CullFieldOfView', 'CullLigament', 'DRAW_ORDER', 'FrameState', 'LandmarkPolylines',
    'OrderAndSimplify', 'PostProcessConfig', 'PostProcessor', 'RenderLabels',
    'ResampleInOutputPixels', 'STEPS', 'SkeletoniseAndJoin', 'Step', 'arc_length',
    'cull_ligament', 'cull_outside', 'field_of_view_mask', 'render_labels', 'to_output_pixels',
]

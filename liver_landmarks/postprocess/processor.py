# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The post-processor: class-id mask in, ordered polylines and re-drawn labels out."""

from liver_landmarks.landmarks import Landmark, LANDMARKS
from liver_landmarks.postprocess.components import bounding_window
from liver_landmarks.postprocess.config import PostProcessConfig
from liver_landmarks.postprocess.fov import cull_outside, field_of_view_mask
from liver_landmarks.postprocess.fragments import bridges, draw_bridges
from liver_landmarks.postprocess.graph import graph_from_pixels, merge_graphs, skeleton_graph
from liver_landmarks.postprocess.graph import SkeletonGraph
from liver_landmarks.postprocess.ligament import cull_ligament
from liver_landmarks.postprocess.paths import longest_first, order_graph, path_points
from liver_landmarks.postprocess.rdp import simplify_rdp_many
from liver_landmarks.postprocess.render import render_labels
from liver_landmarks.postprocess.resample import resample_many, to_output_pixels
from liver_landmarks.postprocess.result import LandmarkPolylines
from liver_landmarks.postprocess.skeleton import thin_components
import numpy as np


def landmark_graph(mask: np.ndarray, join_gap_px: float) -> SkeletonGraph:
    """Run steps d and c on one landmark's mask and return its skeleton graph.

    The mask is cropped to its content plus one background pixel all round, each
    component is thinned in its own box, and the graph is built straight from the
    skeleton pixels; only when fragments get joined is it rebuilt from the joined
    skeleton image. Coordinates are absolute.
    """
    binary = np.asarray(mask).view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8)
    window = bounding_window(binary, pad=1)
    if window is None:
        return skeleton_graph(np.zeros((0, 0), dtype=bool))
    origin = (window[1].start, window[0].start)
    shape = (window[0].stop - window[0].start, window[1].stop - window[1].start)
    rows, cols, component = thin_components(binary[window])
    graph = graph_from_pixels(rows, cols, component, shape, origin)
    lines = bridges(graph, join_gap_px)
    if not lines:
        return graph
    skeleton = np.zeros(shape, dtype=bool)
    skeleton[rows, cols] = True
    draw_bridges(skeleton, lines, origin)
    return skeleton_graph(skeleton, origin)


def landmark_paths(class_ids: np.ndarray, config: PostProcessConfig,
                   scale: float = 1.0) -> dict[Landmark, list[np.ndarray]]:
    """Run steps d, c and e on every landmark; return polylines in working pixels.

    The three landmarks' skeleton graphs are merged (with no edge between them) so
    the path search and the simplification run once per frame, not once per class.

    Inputs:
        class_ids: ``(h, w)`` uint8 class ids.
        config: thresholds (lengths at 320 rows).
        scale: factor applied to the configured lengths (working rows / 320).

    Result:
        Per landmark, simplified ``(N, 2)`` float32 ``(x, y)`` polylines, longest first.
    """
    graphs = [landmark_graph(class_ids == int(landmark), config.join_gap_px * scale)
              for landmark in LANDMARKS]
    graph, piece = merge_graphs(graphs)
    shortest = config.min_polyline_length_px * scale
    paths = [nodes for length, nodes in longest_first(graph, order_graph(
        graph, config.min_branch_length_px * scale))
        if length >= shortest and (len(nodes) > 1 or shortest <= 0)]
    simplified = simplify_rdp_many([path_points(graph, nodes) for nodes in paths],
                                   config.rdp_epsilon_px * scale)
    result = {landmark: [] for landmark in LANDMARKS}
    for nodes, points in zip(paths, simplified):
        result[LANDMARKS[piece[nodes[0]]]].append(points)
    return result


def output_polylines(paths: dict[Landmark, list[np.ndarray]], working_size: tuple[int, int],
                     output_size: tuple[int, int],
                     step: float) -> dict[Landmark, list[np.ndarray]]:
    """Map every landmark's polylines to output pixels and resample them, all at once."""
    flat = [points for landmark in LANDMARKS for points in paths[landmark]]
    if flat:
        mapped = to_output_pixels(np.concatenate(flat), working_size, output_size)
        flat = np.split(mapped, np.cumsum([len(points) for points in flat])[:-1])
    resampled = iter(resample_many(flat, step))
    return {landmark: [next(resampled) for _ in paths[landmark]] for landmark in LANDMARKS}


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
        if frame is not None and config.fov_method != 'none':
            inside = field_of_view_mask(frame, working_size, config.fov_method,
                                        config.fov_threshold)
            class_ids = cull_outside(class_ids, inside)
        if config.ligament_cull:
            class_ids = cull_ligament(class_ids)
        paths = landmark_paths(class_ids, config, config.length_scale(working_size[0]))
        polylines = output_polylines(paths, working_size, output_size, config.sample_step_px)
        labels = render_labels(polylines, output_size, config.thickness_for(output_size[0]))
        return LandmarkPolylines(polylines=polylines, labels=labels)

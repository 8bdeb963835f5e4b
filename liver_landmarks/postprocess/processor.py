# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The post-processor: named steps from a class-id mask to ordered polylines and labels."""

from dataclasses import dataclass, field
from typing import Optional

from liver_landmarks.landmarks import LANDMARKS
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


@dataclass
class FrameState:
    """What the steps hand on to each other while one frame is post-processed.

    Coordinates of ``graph``, ``piece`` and ``paths`` are working (mask) pixels;
    ``polylines`` and ``labels`` are in output pixels.
    """

    class_ids: np.ndarray
    frame: Optional[np.ndarray]
    output_size: tuple[int, int]
    #: Factor from the configured lengths (at 320 rows) to this mask's rows.
    scale: float = 1.0
    graph: Optional[SkeletonGraph] = None
    #: Graph node -> index into LANDMARKS of the landmark it belongs to.
    piece: Optional[np.ndarray] = None
    paths: dict = field(default_factory=dict)
    polylines: dict = field(default_factory=dict)
    labels: Optional[np.ndarray] = None

    @property
    def working_size(self) -> tuple[int, int]:
        """(rows, cols) of the class-id mask."""
        return self.class_ids.shape


class Step:
    """One named post-processing step: reads and updates a :class:`FrameState`.

    ``letter`` is the step's letter in the paper's list (a-f); steps run in the
    order :class:`PostProcessor` lists them, which puts the skeleton (d) before the
    joining of its fragments (c).
    """

    letter = ''
    name = ''

    def __init__(self, config: PostProcessConfig):
        """Keep the configuration the step reads its thresholds from."""
        self.config = config

    def __call__(self, state: FrameState) -> FrameState:
        """Run the step on ``state`` and return it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        """Letter and name, e.g. ``<(a) field-of-view cull>``."""
        return f'<({self.letter}) {self.name}>'


class CullFieldOfView(Step):
    """(a) Clear class ids outside the camera's circular view; skipped without a frame."""

    letter, name = 'a', 'field-of-view cull'

    def __call__(self, state: FrameState) -> FrameState:
        """Clear ids where the frame is dark and connected to its border."""
        if state.frame is not None and self.config.fov_method != 'none':
            inside = field_of_view_mask(state.frame, state.working_size,
                                        self.config.fov_method, self.config.fov_threshold)
            state.class_ids = cull_outside(state.class_ids, inside)
        return state


class CullLigament(Step):
    """(b) Drop ligament components lying above, or below, both ridge and silhouette."""

    letter, name = 'b', 'ligament cull'

    def __call__(self, state: FrameState) -> FrameState:
        """Drop the implausible ligament components when ``ligament_cull`` is on."""
        if self.config.ligament_cull:
            state.class_ids = cull_ligament(state.class_ids)
        return state


class SkeletoniseAndJoin(Step):
    """(d) then (c): Zhang-Suen skeleton per landmark, fragments' end points joined.

    The three landmarks' skeleton graphs are merged (with no edge between them) so the
    next step searches and simplifies once per frame, not once per class.
    """

    letter, name = 'd, c', 'skeleton, then joined fragments'

    def __call__(self, state: FrameState) -> FrameState:
        """Build the merged skeleton graph of every landmark."""
        gap = self.config.join_gap_px * state.scale
        graphs = [landmark_graph(state.class_ids == int(landmark), gap)
                  for landmark in LANDMARKS]
        state.graph, state.piece = merge_graphs(graphs)
        return state


class OrderAndSimplify(Step):
    """(e) Curve-ordered paths, spurs and short polylines dropped, then RDP.

    Result: per landmark, simplified ``(N, 2)`` float32 ``(x, y)`` polylines in
    working pixels, longest first.
    """

    letter, name = 'e', 'curve order, spurs, RDP'

    def __call__(self, state: FrameState) -> FrameState:
        """Order the skeleton graph into polylines and simplify them."""
        config, graph, scale = self.config, state.graph, state.scale
        shortest = config.min_polyline_length_px * scale
        paths = [nodes for length, nodes in longest_first(graph, order_graph(
            graph, config.min_branch_length_px * scale))
            if length >= shortest and (len(nodes) > 1 or shortest <= 0)]
        simplified = simplify_rdp_many([path_points(graph, nodes) for nodes in paths],
                                       config.rdp_epsilon_px * scale)
        state.paths = {landmark: [] for landmark in LANDMARKS}
        for nodes, points in zip(paths, simplified):
            state.paths[LANDMARKS[state.piece[nodes[0]]]].append(points)
        return state


class ResampleInOutputPixels(Step):
    """(f, first half) Map polylines to output pixels and resample them by arc length."""

    letter, name = 'f', 'output pixels and arc-length sampling'

    def __call__(self, state: FrameState) -> FrameState:
        """Map and resample every landmark's polylines, all at once."""
        paths = state.paths
        flat = [points for landmark in LANDMARKS for points in paths[landmark]]
        if flat:
            mapped = to_output_pixels(np.concatenate(flat), state.working_size,
                                      state.output_size)
            flat = np.split(mapped, np.cumsum([len(points) for points in flat])[:-1])
        resampled = iter(resample_many(flat, self.config.sample_step_px))
        state.polylines = {landmark: [next(resampled) for _ in paths[landmark]]
                           for landmark in LANDMARKS}
        return state


class RenderLabels(Step):
    """(f, second half) Re-draw a label mask from the output polylines."""

    letter, name = 'f', 'label mask re-drawn'

    def __call__(self, state: FrameState) -> FrameState:
        """Draw the polylines at the configured width, scaled to the output's rows."""
        state.labels = render_labels(state.polylines, state.output_size,
                                     self.config.thickness_for(state.output_size[0]))
        return state


#: The steps :class:`PostProcessor` runs, in this order.
STEPS = (CullFieldOfView, CullLigament, SkeletoniseAndJoin, OrderAndSimplify,
         ResampleInOutputPixels, RenderLabels)


class PostProcessor:
    """Turn a network's class-id mask into ordered polylines per landmark.

    Runs the named steps of :data:`STEPS` in order on one :class:`FrameState`:
    (a) :class:`CullFieldOfView`, (b) :class:`CullLigament`, (d, c)
    :class:`SkeletoniseAndJoin`, (e) :class:`OrderAndSimplify`, (f)
    :class:`ResampleInOutputPixels` and :class:`RenderLabels`. Lengths in the config
    hold at 320 working rows and scale with the mask's rows.
    """

    def __init__(self, config: PostProcessConfig = PostProcessConfig()):
        """Build the steps from the configuration."""
        self.config = config

    @property
    def config(self) -> PostProcessConfig:
        """Return the thresholds every step reads; setting them rebuilds the steps."""
        return self._config

    @config.setter
    def config(self, config: PostProcessConfig) -> None:
        self._config = config
        self.steps = tuple(step(config) for step in STEPS)

    def __call__(self, class_ids: np.ndarray, frame: np.ndarray | None = None,
                 output_size: tuple[int, int] | None = None) -> LandmarkPolylines:
        """Post-process one frame.

        Inputs:
            class_ids: ``(h, w)`` uint8 class ids at the working size (usually 320x416).
            frame: the input frame (any size, uint8, any channel order) for the
                field-of-view cull, or None to skip it.
            output_size: ``(H, W)`` the results are mapped to; default ``class_ids``' size.
        """
        class_ids = np.asarray(class_ids)
        if class_ids.ndim != 2:
            raise ValueError(
                f'class_ids must be a 2-D (h, w) id mask, got shape {class_ids.shape}')
        class_ids = class_ids.astype(np.uint8, copy=False)
        output_size = tuple(output_size) if output_size is not None else class_ids.shape
        state = FrameState(class_ids=class_ids, frame=frame, output_size=output_size,
                           scale=self._config.length_scale(class_ids.shape[0]))
        for step in self.steps:
            state = step(state)
        return LandmarkPolylines(polylines=state.polylines, labels=state.labels)

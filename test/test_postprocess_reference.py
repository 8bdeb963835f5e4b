# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The fast post-processing against a straightforward reference implementation.

The reference below does steps d, c and e the plain way: Zhang-Suen on the whole
image, end points and joins found pixel by pixel, breadth-first searches with a
Python queue over a dict of pixels, textbook recursive Ramer-Douglas-Peucker. The
fast path (cropped skeletons, one merged sparse graph searched by scipy, batched RDP)
must give identical polylines on every table case and on the real sample.
"""

from collections import deque
import math

import cv2
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.p2ilf_io import read_label_image
from liver_landmarks.postprocess import (
    cull_ligament, cull_outside, field_of_view_mask, PostProcessConfig, PostProcessor,
    render_labels, to_output_pixels)
from liver_landmarks.postprocess.fragments import join_fragments
from liver_landmarks.postprocess.paths import order_skeleton
from liver_landmarks.postprocess.rdp import simplify_rdp
from liver_landmarks.postprocess.resample import resample_polyline
from liver_landmarks.postprocess.skeleton import skeletonize_mask
from liver_landmarks_tools.support.data import P2ILF_SAMPLE
from liver_landmarks_tools.support.postprocess_cases import CASES
import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import skeletonize

SAMPLE = P2ILF_SAMPLE
GT_LABEL = SAMPLE / 'labels' / 'P2ILF22_patient1_12_GT.jpg'
#: 8-neighbour steps in raster order, so neighbours come out in ascending node order.
RASTER_STEPS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def pixel_graph(skeleton):
    """Return raster-ordered pixels, their index and each node's sorted neighbours."""
    pixels = [tuple(pixel) for pixel in np.argwhere(skeleton)]
    index = {pixel: node for node, pixel in enumerate(pixels)}
    neighbours = [[index[(row + dr, col + dc)] for dr, dc in RASTER_STEPS
                   if (row + dr, col + dc) in index] for row, col in pixels]
    return pixels, index, neighbours


def reference_join(skeleton, max_gap):
    """Join fragments end to end, Kruskal style, one pixel at a time."""
    pixels, _, neighbours = pixel_graph(skeleton)
    labels, _ = ndimage.label(skeleton, structure=np.ones((3, 3)))
    ends = [node for node in range(len(pixels)) if len(neighbours[node]) <= 1]
    candidates = []
    for i, a in enumerate(ends):
        for b in ends[i + 1:]:
            (ra, ca), (rb, cb) = pixels[a], pixels[b]
            distance = math.sqrt((ra - rb) ** 2 + (ca - cb) ** 2)
            if labels[ra, ca] != labels[rb, cb] and distance <= max_gap:
                candidates.append((distance, a, b))
    group = {}

    def root(label):
        while group.get(label, label) != label:
            label = group[label]
        return label

    joined = skeleton.copy().view(np.uint8)
    for _, a, b in sorted(candidates):
        root_a, root_b = root(labels[pixels[a]]), root(labels[pixels[b]])
        if root_a != root_b:
            group[max(root_a, root_b)] = min(root_a, root_b)
            cv2.line(joined, pixels[a][::-1], pixels[b][::-1], 1, 1, cv2.LINE_8)
    return joined.view(bool)


def breadth_first(neighbours, sources, allowed):
    """Plain BFS from several sources (ascending); return visit order and predecessors."""
    queue = deque(sorted(sources))
    predecessor = dict.fromkeys(sources)
    order = []
    while queue:
        node = queue.popleft()
        order.append(node)
        for neighbour in neighbours[node]:
            if allowed(neighbour) and neighbour not in predecessor:
                predecessor[neighbour] = node
                queue.append(neighbour)
    return order, predecessor


def chain(predecessor, end):
    """Return ``[end, ..., source]`` following predecessors."""
    nodes = [end]
    while predecessor[nodes[-1]] is not None:
        nodes.append(predecessor[nodes[-1]])
    return nodes


def length(pixels, nodes):
    """Arc length through pixel centres (same arithmetic as the package)."""
    points = np.array([pixels[node] for node in nodes], dtype=np.int64).reshape(-1, 2)
    return float(np.hypot(np.diff(points[:, 0]), np.diff(points[:, 1])).sum())


def reference_order(skeleton, min_branch):
    """Order a skeleton: main path per component by double sweep, then branches by rounds."""
    pixels, _, neighbours = pixel_graph(skeleton)
    everything = (lambda node: True)
    component = {}
    for node in range(len(pixels)):
        if node not in component:
            for member in breadth_first(neighbours, [node], everything)[0]:
                component[member] = node
    paths = []
    for seed in sorted(set(component.values())):
        start = breadth_first(neighbours, [seed], everything)[0][-1]
        order, predecessor = breadth_first(neighbours, [start], everything)
        path = chain(predecessor, order[-1])
        head, tail = pixels[path[0]], pixels[path[-1]]
        if head[::-1] > tail[::-1]:
            path.reverse()
        paths.append(path)
    emitted = {node for path in paths for node in path}
    gone = set()
    while len(emitted) + len(gone) < len(pixels):
        pending = (lambda node: node not in emitted and node not in gone)
        junction = {}
        for node in filter(pending, range(len(pixels))):
            touching = [(math.dist(pixels[node], pixels[other]), other)
                        for other in neighbours[node] if other in emitted]
            if touching:
                junction[node] = min(touching)[1]
        if not junction:
            gone.update(filter(pending, range(len(pixels))))
            break
        order, predecessor = breadth_first(neighbours, list(junction), pending)
        gone.update(node for node in filter(pending, range(len(pixels)))
                    if node not in predecessor)
        owner, tip = {}, {}
        for node in order:
            owner[node] = node if predecessor[node] is None else owner[predecessor[node]]
            tip[owner[node]] = node
        for source, end in tip.items():
            branch = [junction[source]] + chain(predecessor, end)[::-1]
            if length(pixels, branch) >= min_branch:
                emitted.update(branch)
                paths.append(branch)
            else:
                gone.update(node for node in owner if owner[node] == source)
    paths.sort(key=lambda path: (-length(pixels, path), pixels[path[0]][::-1],
                                 pixels[path[-1]][::-1]))
    return [(np.array([pixels[node][::-1] for node in path], dtype=np.float32), path)
            for path in paths], pixels


def reference_rdp(points, epsilon):
    """Textbook recursive Ramer-Douglas-Peucker with distances to the segment."""
    points = [tuple(map(float, point)) for point in points]

    def distance(point, start, end):
        dx, dy = end[0] - start[0], end[1] - start[1]
        ox, oy = point[0] - start[0], point[1] - start[1]
        length_sq = dx * dx + dy * dy
        along = (ox * dx + oy * dy) / (length_sq if length_sq > 0.0 else 1.0)
        along = min(max(along, 0.0), 1.0)
        across_x, across_y = ox - along * dx, oy - along * dy
        return math.sqrt(across_x * across_x + across_y * across_y)

    def kept(first, last):
        if last - first < 2:
            return [first]
        distances = [distance(points[k], points[first], points[last])
                     for k in range(first + 1, last)]
        farthest = first + 1 + int(np.argmax(distances))
        if distances[farthest - first - 1] > epsilon:
            return kept(first, farthest) + kept(farthest, last)
        return [first]

    if len(points) < 3:
        return np.array(points, dtype=np.float32).reshape(-1, 2)
    indices = kept(0, len(points) - 1) + [len(points) - 1]
    return np.array([points[i] for i in indices], dtype=np.float32)


def reference_postprocess(class_ids, frame=None, config=PostProcessConfig(), output_size=None):
    """Run the whole post-processing with the reference steps d, c, e."""
    working = class_ids.shape
    output_size = output_size or working
    scale = config.length_scale(working[0])
    if frame is not None and config.fov_method != 'none':
        class_ids = cull_outside(class_ids, field_of_view_mask(
            frame, working, config.fov_method, config.fov_threshold))
    if config.ligament_cull:
        class_ids = cull_ligament(class_ids)
    polylines = {}
    for landmark in LANDMARKS:
        skeleton = skeletonize(class_ids == int(landmark), method='zhang')
        skeleton = reference_join(skeleton, config.join_gap_px * scale)
        ordered, pixels = reference_order(skeleton, config.min_branch_length_px * scale)
        shortest = config.min_polyline_length_px * scale
        polylines[landmark] = [
            resample_polyline(to_output_pixels(reference_rdp(points, config.rdp_epsilon_px
                                                             * scale), working, output_size),
                              config.sample_step_px)
            for points, nodes in ordered
            if length(pixels, nodes) >= shortest and (len(nodes) > 1 or shortest <= 0)]
    labels = render_labels(polylines, output_size, config.thickness_for(output_size[0]))
    return polylines, labels


def assert_same_result(result, polylines, labels):
    for landmark in LANDMARKS:
        fast, slow = result.polylines[landmark], polylines[landmark]
        assert len(fast) == len(slow), landmark
        for fast_points, slow_points in zip(fast, slow):
            np.testing.assert_array_equal(fast_points, slow_points)
    np.testing.assert_array_equal(result.labels, labels)


@pytest.mark.parametrize('case', CASES, ids=[case.name for case in CASES])
def test_fast_path_equals_reference_on_table_cases(case):
    result = PostProcessor(case.config)(case.ids, frame=case.frame, output_size=case.output_size)
    assert_same_result(result, *reference_postprocess(case.ids, case.frame, case.config,
                                                      case.output_size))


@pytest.fixture(scope='module')
def sample_ids():
    if not GT_LABEL.is_file():
        pytest.skip(f'P2ILF sample label not found at {GT_LABEL}')
    return read_label_image(GT_LABEL)


def spoil(ids, seed):
    """Add noise blobs and cut gaps, like a network's imperfect output."""
    random = np.random.default_rng(seed)
    ids = ids.copy()
    rows, cols = ids.shape
    for _ in range(6):
        centre = (int(random.integers(cols)), int(random.integers(rows)))
        cv2.circle(ids, centre, int(random.integers(1, 5)), int(random.integers(1, 4)), -1)
    for _ in range(3):
        x, y = int(random.integers(cols)), int(random.integers(rows))
        cv2.line(ids, (x, y), (x + 20, y + 25), 0, int(random.integers(2, 6)))
    return ids


@pytest.mark.parametrize('seed', [None, 0, 1, 2])
def test_fast_path_equals_reference_on_the_real_sample(sample_ids, seed):
    ids = cv2.resize(sample_ids, (416, 320), interpolation=cv2.INTER_NEAREST)
    if seed is not None:
        ids = spoil(ids, seed)
    result = PostProcessor()(ids, output_size=sample_ids.shape)
    assert_same_result(result, *reference_postprocess(ids, output_size=sample_ids.shape))


@pytest.mark.parametrize('case', CASES[:5], ids=[case.name for case in CASES[:5]])
def test_steps_equal_reference_alone(case):
    mask = case.ids > 0
    skeleton = skeletonize_mask(mask)
    np.testing.assert_array_equal(skeleton, skeletonize(mask, method='zhang'))
    np.testing.assert_array_equal(join_fragments(skeleton, 15), reference_join(skeleton, 15))
    ordered, _ = reference_order(skeleton, 10)
    fast = order_skeleton(skeleton, 10)
    assert len(fast) == len(ordered)
    for fast_points, (slow_points, _) in zip(fast, ordered):
        np.testing.assert_array_equal(fast_points, slow_points)
        np.testing.assert_array_equal(simplify_rdp(fast_points, 1.0),
                                      reference_rdp(slow_points, 1.0))

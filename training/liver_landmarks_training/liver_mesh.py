# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Liver meshes with whole ridge and ligament curves, for the mesh-rendered frame generator.

A :class:`LiverAsset` is a triangle mesh in millimetres plus its landmark curves as
0-based vertex-id paths. Annotations such as P2ILF's 3D contours cover only the part
of a landmark that one image shows, so :func:`grow_curve` joins the annotated vertices
by crease-following shortest paths and extends the ends along the sharpest edges.
:func:`deform` makes shape variety from one mesh with a smooth random warp, and
:func:`procedural_liver` builds a liver-like mesh with its own landmarks.
"""

from dataclasses import dataclass, field, replace
import json
import math
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

#: Landmark names a :class:`LiverAsset` carries curves for (the silhouette is image-based).
CURVE_LANDMARKS = ('ridge', 'ligament')


@dataclass
class LiverAsset:
    """A closed triangle mesh (mm) with landmark curves as vertex-id paths."""

    vertices: np.ndarray                      # (V, 3) float64, millimetres
    faces: np.ndarray                         # (F, 3) int64, counter-clockwise seen from outside
    curves: dict = field(default_factory=dict)   # 'ridge'/'ligament' -> list of (N,) int arrays
    name: str = 'mesh'

    def normals(self) -> np.ndarray:
        """Return area-weighted unit vertex normals pointing out of the mesh."""
        return vertex_normals(self.vertices, self.faces)

    def curve_points(self, landmark: str) -> list:
        """Return the landmark's curves as (N, 3) vertex positions."""
        return [self.vertices[ids] for ids in self.curves.get(landmark, [])]


def read_obj(path) -> tuple[np.ndarray, np.ndarray]:
    """Read the vertices and (fan-triangulated) faces of a Wavefront OBJ file."""
    vertices, faces = [], []
    with open(path, encoding='utf-8') as stream:
        for line in stream:
            if line.startswith('v '):
                vertices.append([float(value) for value in line.split()[1:4]])
            elif line.startswith('f '):
                ids = [int(token.split('/')[0]) for token in line.split()[1:]]
                ids = [index - 1 if index > 0 else len(vertices) + index for index in ids]
                faces += [[ids[0], ids[k], ids[k + 1]] for k in range(1, len(ids) - 1)]
    if not vertices or not faces:
        raise ValueError(f'{path}: no vertices or faces')
    vertices, faces = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    if signed_volume(vertices, faces) < 0:   # make the winding face outwards
        faces = faces[:, ::-1].copy()
    return vertices, faces


def signed_volume(vertices, faces) -> float:
    """Volume enclosed by a closed mesh; negative when its faces wind inwards."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(np.einsum('ij,ij->i', a, np.cross(b, c)).sum() / 6.0)


def vertex_normals(vertices, faces) -> np.ndarray:
    """Area-weighted vertex normals (unit length)."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    face_normals = np.cross(b - a, c - a)
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    return normals / (np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12)


def _edges_with_sharpness(vertices, faces):
    """Return the unique edges (E, 2) and their convex dihedral angles (radians, 0: concave)."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    face_normals = np.cross(b - a, c - a)
    face_normals /= np.linalg.norm(face_normals, axis=1, keepdims=True) + 1e-12
    half = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    opposite = np.concatenate([faces[:, 2], faces[:, 0], faces[:, 1]])
    owner = np.tile(np.arange(len(faces)), 3)
    key = np.sort(half, axis=1)
    order = np.lexsort((key[:, 1], key[:, 0]))
    key, owner, opposite = key[order], owner[order], opposite[order]
    pair = np.flatnonzero((key[1:] == key[:-1]).all(axis=1))
    edges = key[pair]
    n1, n2 = face_normals[owner[pair]], face_normals[owner[pair + 1]]
    angle = np.arccos(np.clip(np.einsum('ij,ij->i', n1, n2), -1.0, 1.0))
    # Convex where the second face's far vertex lies below the first face's plane.
    below = np.einsum('ij,ij->i', vertices[opposite[pair + 1]] - vertices[edges[:, 0]], n1) < 0
    return edges, np.where(below, angle, 0.0)


class _CreaseGraph:
    """Edge graph whose weights favour sharp convex edges (creases)."""

    def __init__(self, vertices, faces, crease_gain=6.0):
        self.vertices = vertices
        self.edges, self.sharpness = _edges_with_sharpness(vertices, faces)
        lengths = np.linalg.norm(vertices[self.edges[:, 0]] - vertices[self.edges[:, 1]], axis=1)
        weights = lengths * np.exp(-crease_gain * self.sharpness)
        count = len(vertices)
        rows = np.concatenate([self.edges[:, 0], self.edges[:, 1]])
        cols = np.concatenate([self.edges[:, 1], self.edges[:, 0]])
        self.graph = coo_matrix((np.concatenate([weights, weights]), (rows, cols)),
                                shape=(count, count)).tocsr()
        self.neighbours = [[] for _ in range(count)]
        for (i, j), sharp in zip(self.edges, self.sharpness):
            self.neighbours[i].append((j, sharp))
            self.neighbours[j].append((i, sharp))

    def path(self, start: int, end: int) -> list:
        """Cheapest vertex path from start to end (both included)."""
        _, predecessors = dijkstra(self.graph, indices=start, return_predecessors=True)
        route = [end]
        while route[-1] != start:
            previous = predecessors[route[-1]]
            if previous < 0:
                raise ValueError(f'vertices {start} and {end} are not connected')
            route.append(int(previous))
        return route[::-1]

    def extend(self, route: list, length_mm: float) -> list:
        """Extend the route past its last vertex along the sharpest forward edges."""
        route = list(route)
        added = 0.0
        while added < length_mm and len(route) >= 2:
            here = self.vertices[route[-1]]
            heading = here - self.vertices[route[max(0, len(route) - 6)]]
            heading /= np.linalg.norm(heading) + 1e-12
            best, best_score = None, -np.inf
            for neighbour, sharp in self.neighbours[route[-1]]:
                if neighbour in route:
                    continue
                step = self.vertices[neighbour] - here
                forward = float(step @ heading) / (np.linalg.norm(step) + 1e-12)
                if forward < 0.7:
                    continue
                score = sharp + 0.3 * forward
                if score > best_score:
                    best, best_score = neighbour, score
            if best is None:
                break
            added += float(np.linalg.norm(self.vertices[best] - here))
            route.append(best)
        return route


def _without_loops(route: list) -> list:
    """Drop back-tracking loops: keep a vertex's last visit only."""
    result = []
    for vertex in route:
        if vertex in result:
            result = result[:result.index(vertex)]
        result.append(vertex)
    return result


def grow_curve(vertices, faces, annotated, extend_mm: float = 40.0, graph=None,
               extend_start_mm=None) -> np.ndarray:
    """Return a whole landmark curve through the annotated vertex ids, extended at its ends.

    The end is extended by ``extend_mm``, the start by ``extend_start_mm`` (default the same).
    """
    graph = graph or _CreaseGraph(vertices, faces)
    annotated = [int(vertex) for vertex in annotated]
    route = [annotated[0]]
    for start, end in zip(annotated[:-1], annotated[1:]):
        route += graph.path(start, end)[1:]
    route = _without_loops(route)
    route = graph.extend(route, extend_mm)
    start_mm = extend_mm if extend_start_mm is None else extend_start_mm
    route = graph.extend(route[::-1], start_mm)[::-1]
    return np.asarray(_without_loops(route), np.int64)


def load_p2ilf_asset(obj_path, contours_path, extend_mm: float = 40.0,
                     join_mm: float = 35.0) -> LiverAsset:
    """Build an asset from a mesh and a P2ILF 3D-contour JSON (0-based vertex ids).

    Ridge pieces whose ends lie within ``join_mm`` of each other are joined into one
    curve before growing, as the liver's inferior ridge is one edge.
    """
    vertices, faces = read_obj(obj_path)
    with open(contours_path, encoding='utf-8') as stream:
        contours = json.load(stream)['contour']
    pieces = {landmark: [] for landmark in CURVE_LANDMARKS}
    for contour in contours:
        landmark = contour['contourType'].lower()
        if landmark in pieces:
            pieces[landmark].append([int(v) for v in contour['modelPoints']['vertices']])
    graph = _CreaseGraph(vertices, faces)
    curves = {'ridge': [grow_curve(vertices, faces, ids, extend_mm, graph)
                        for ids in _join_close(vertices, pieces['ridge'], join_mm)]}
    ridge = np.concatenate(curves['ridge']) if curves['ridge'] else np.zeros(0, np.int64)
    curves['ligament'] = []
    for ids in _join_close(vertices, pieces['ligament'], join_mm):
        # The ligament ends at the ridge (the notch): grow it only away from the ridge.
        if len(ridge) and _distance_to(vertices, ids[-1], ridge) < _distance_to(
                vertices, ids[0], ridge):
            ids = ids[::-1]
        curves['ligament'].append(grow_curve(vertices, faces, ids, extend_mm, graph, 0.0))
    return LiverAsset(vertices, faces, curves, name=Path(obj_path).stem)


def _distance_to(vertices, vertex, others) -> float:
    return float(np.linalg.norm(vertices[others] - vertices[vertex], axis=1).min())


def _join_close(vertices, parts, join_mm):
    """Concatenate annotated pieces whose nearest ends are close, orienting them to meet."""
    parts = [list(part) for part in parts if part]
    joined = True
    while joined and len(parts) > 1:
        joined = False
        for i in range(len(parts)):
            for j in range(i + 1, len(parts)):
                options = [(a, b) for a in (parts[i], parts[i][::-1])
                           for b in (parts[j], parts[j][::-1])]
                a, b = min(options, key=lambda ab: np.linalg.norm(
                    vertices[ab[0][-1]] - vertices[ab[1][0]]))
                if np.linalg.norm(vertices[a[-1]] - vertices[b[0]]) < join_mm:
                    parts[i] = a + b
                    del parts[j]
                    joined = True
                    break
            if joined:
                break
    return parts


def deform(asset: LiverAsset, rng: np.random.Generator, strength: float = 1.0) -> LiverAsset:
    """Return a copy warped by a smooth random deformation (landmark ids stay valid).

    Anisotropic scaling, a bend about a random axis and a few Gaussian radial-basis
    bumps: smooth at the scale of the mesh's edges, so creases stay creases.
    """
    vertices = asset.vertices - asset.vertices.mean(axis=0)
    extent = np.ptp(vertices, axis=0).max()
    scale = 1.0 + strength * rng.uniform(-0.15, 0.15, 3)
    warped = vertices * scale
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    bend = strength * rng.uniform(-0.25, 0.25)
    along = warped @ axis
    sideways = np.cross(axis, rng.normal(size=3))
    sideways /= np.linalg.norm(sideways) + 1e-12
    warped = warped + np.outer(bend * (along / extent) ** 2 * extent, sideways)
    for _ in range(int(rng.integers(2, 6))):
        centre = vertices[rng.integers(len(vertices))]
        width = rng.uniform(0.15, 0.35) * extent
        push = rng.normal(size=3) * strength * rng.uniform(0.02, 0.06) * extent
        weight = np.exp(-((vertices - centre) ** 2).sum(axis=1) / (2 * width ** 2))
        warped = warped + weight[:, None] * push
    return replace(asset, vertices=warped, name=asset.name + '+deformed')


def procedural_liver(rng: np.random.Generator, subdivisions: int = 4) -> LiverAsset:
    """Build a liver-like wedge (mm) from a deformed sphere, with a ridge and a ligament.

    The inferior edge is made sharp by flattening the underside and pulling the
    front forward; the ridge is the crease along it and the ligament runs up the
    anterior surface from the notch in the ridge.
    """
    vertices, faces = icosphere(subdivisions)
    x, y, z = vertices.T
    radii = np.array([rng.uniform(85, 120), rng.uniform(70, 95), rng.uniform(55, 80)])
    # Wedge: thick at the back (y > 0), thin at the inferior-anterior front (y < 0).
    thickness = 0.35 + 0.65 * np.clip((y + 1.0) / 2.0, 0.0, 1.0) ** rng.uniform(0.6, 1.2)
    shaped = np.stack([x * radii[0], y * radii[1], z * radii[2] * thickness], axis=1)
    shaped[:, 2] -= 0.25 * radii[2] * (1 - thickness) * np.sign(z) * (z < 0)
    shaped[:, 0] *= 1.0 + 0.25 * x * rng.uniform(-1, 1)    # right lobe larger than left
    asset = LiverAsset(shaped, faces, {}, name='procedural')
    # Ridge: along the front (y = -1) rim; ligament: up the top surface from its middle.
    front = np.flatnonzero((y < -0.05) & (np.abs(z) < 0.12))
    front = front[np.argsort(x[front])]
    graph = _CreaseGraph(shaped, faces)
    ridge = grow_curve(shaped, faces, [front[2], front[len(front) // 2], front[-3]], 0.0, graph)
    notch = ridge[np.argmin(np.abs(x[ridge] - rng.uniform(-0.2, 0.2)))]
    top = np.flatnonzero((z > 0.5) & (np.abs(x - x[notch]) < 0.15) & (y > -0.1) & (y < 0.4))
    ligament = graph.path(int(notch), int(top[np.argmax(y[top])]) if len(top) else int(notch))
    asset.curves = {'ridge': [ridge], 'ligament': [np.asarray(ligament, np.int64)]}
    return asset


def icosphere(subdivisions: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Return a unit sphere from a subdivided icosahedron: (vertices, outward-wound faces)."""
    t = (1.0 + math.sqrt(5.0)) / 2.0
    vertices = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t),
                (0, -1, -t), (0, 1, -t), (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
             (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
             (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    vertices = [np.asarray(v, np.float64) / np.linalg.norm(v) for v in vertices]
    for _ in range(subdivisions):
        cache, refined = {}, []

        def midpoint(i, j):
            key = (min(i, j), max(i, j))
            if key not in cache:
                middle = vertices[i] + vertices[j]
                vertices.append(middle / np.linalg.norm(middle))
                cache[key] = len(vertices) - 1
            return cache[key]

        for a, b, c in faces:
            ab, bc, ca = midpoint(a, b), midpoint(b, c), midpoint(c, a)
            refined += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = refined
    return np.asarray(vertices), np.asarray(faces, np.int64)

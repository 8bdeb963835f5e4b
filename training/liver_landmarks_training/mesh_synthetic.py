# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Laparoscopic frames rendered from liver meshes, with exact, depth-tested landmark labels.

:class:`MeshFrameRenderer` draws a :class:`~.liver_mesh.LiverAsset` (randomly deformed
per frame) with OpenGL on the CPU (moderngl, EGL, Mesa llvmpipe: no display, no GPU),
together with fat lobules, a falciform flap and instruments, over a procedural
abdominal background, through the real laparoscope's intrinsics and radial
distortion (P2ILF camera metadata). Labels follow what annotators draw:

* ridge and ligament: the asset's 3D curves, sampled every half millimetre and kept
  where the depth buffer shows them (so a ridge behind a lobe, a fat lobule or an
  instrument is not labelled); silhouette pixels lying on the ridge in 3D become
  ridge, so an edge-on ridge is one line on the occluding edge;
* silhouette: liver pixels beside a farther surface (the background, an object
  behind the liver, or liver more than a few millimetres deeper), never where
  something nearer covers the liver edge and never at the image border.

Lines are drawn 12 px wide per 1080 rows, nothing is labelled in the dark field of
view. Appearance is randomised (:mod:`.render_effects`). Every random choice comes
from ``np.random.default_rng(seed)``, so one seed gives the same bytes on one platform.

Needs the ``synth`` extra (moderngl); see docs/training.md.
"""

from dataclasses import dataclass, field
import math

import cv2
from liver_landmarks.landmarks import Landmark
from liver_landmarks_training import render_effects as effects
from liver_landmarks_training.liver_mesh import deform, icosphere, LiverAsset, vertex_normals
import numpy as np
from scipy.spatial import cKDTree

#: The P2ILF laparoscope (camera metadata of the P2ILF sample): 1920x1080 pixels.
P2ILF_CAMERA = {'width': 1920, 'height': 1080, 'fx': 952.06967601396957,
                'fy': 952.06967601396957, 'cx': 884.47392341747241, 'cy': 553.68748726315528,
                'k1': -0.23184898303739043, 'k2': 0.34051349187505525,
                'k3': -0.23860036358921605}
#: Label line width at 1080 rows, as P2ILF's annotations are drawn.
LINE_WIDTH_AT_1080 = 12.0
#: Object ids in the id buffer.
BACKGROUND_ID, LIVER_ID, FAT_ID, FLAP_ID, INSTRUMENT_ID = 0, 1, 2, 3, 4


class RenderingUnavailable(RuntimeError):
    """No offscreen OpenGL context: moderngl or EGL/Mesa is missing."""


@dataclass(frozen=True)
class MeshSceneConfig:
    """Ranges of the scene and camera sampler; lengths in millimetres."""

    #: Camera distance to the looked-at point on the liver.
    distance_mm: tuple[float, float] = (60.0, 190.0)
    #: Largest angle between the view direction and the surface normal there.
    max_view_angle_deg: float = 65.0
    #: Chance of looking at the ridge, the ligament, else anywhere on the liver.
    target_weights: tuple[float, float, float] = (0.5, 0.3, 0.2)
    #: Relative jitter of the focal length and scale of the distortion coefficients.
    focal_jitter: float = 0.15
    distortion_scale: tuple[float, float] = (0.4, 1.2)
    #: Strength of the smooth random shape deformation (0: the mesh as given).
    deformation: float = 1.0
    #: Number of fat lobules around the liver's edge.
    fat_lobules: tuple[int, int] = (0, 7)
    #: Chance of a falciform flap standing on the ligament curve.
    flap_probability: float = 0.5
    #: Chance of one or two instruments.
    instrument_probability: float = 0.4
    #: Depth tolerance of landmark visibility: absolute mm plus a fraction of depth.
    visibility_tolerance_mm: float = 1.5
    visibility_tolerance_depth: float = 0.01
    #: Depth jump (mm) from liver to liver that makes an occluding contour.
    self_occlusion_mm: float = 8.0
    #: Silhouette pixels within this 3D distance of the ridge become ridge.
    ridge_snap_mm: float = 10.0
    #: Landmark runs shorter than this (output pixels at 1080 rows) are dropped.
    min_run_px_at_1080: float = 40.0
    #: Smallest share of the frame the liver must cover, tries before giving up.
    min_liver_fraction: float = 0.2
    max_tries: int = 12


@dataclass
class MeshFrame:
    """One rendered frame: image, id labels, and the scene facts tests check."""

    image: np.ndarray          # HxWx3 uint8 RGB (after appearance effects)
    labels: np.ndarray         # HxW uint8 class ids (0 background, 1 ridge, 2 ligament, 3 sil.)
    liver: np.ndarray          # HxW bool, liver pixels in the output frame
    view: np.ndarray           # HxW bool, field of view (labels only inside)
    info: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Camera


@dataclass(frozen=True)
class Camera:
    """Pinhole intrinsics of the output frame plus radial distortion k1..k3."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    k: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def p2ilf(cls, width: int, height: int, focal_scale: float = 1.0,
              distortion_scale: float = 1.0) -> 'Camera':
        """Return the P2ILF laparoscope scaled to ``width`` x ``height``."""
        sx, sy = width / P2ILF_CAMERA['width'], height / P2ILF_CAMERA['height']
        return cls(width, height, P2ILF_CAMERA['fx'] * sx * focal_scale,
                   P2ILF_CAMERA['fy'] * sy * focal_scale,
                   (P2ILF_CAMERA['cx'] + 0.5) * sx - 0.5, (P2ILF_CAMERA['cy'] + 0.5) * sy - 0.5,
                   tuple(distortion_scale * P2ILF_CAMERA[name] for name in ('k1', 'k2', 'k3')))

    def distort_radius(self, radius):
        """Distorted normalised radius of an undistorted one (polynomial model)."""
        r2 = np.square(radius)
        k1, k2, k3 = self.k
        return radius * (1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3)

    def undistortion_table(self, samples: int = 2048):
        """Radii (distorted, undistorted) over the range where distortion is monotonic.

        Beyond it the polynomial folds back; the ratio is held constant there (those
        pixels lie in the vignetted corners).
        """
        radius = np.linspace(0.0, 2.0, samples)
        distorted = self.distort_radius(radius)
        rising = np.flatnonzero(np.diff(distorted) <= 0)
        end = rising[0] if len(rising) else samples - 1
        return distorted[:end + 1], radius[:end + 1]

    def undistort_normalised(self, xd, yd):
        """Undistorted normalised coordinates of distorted ones (radial table inversion)."""
        distorted, undistorted = self.undistortion_table()
        rd = np.hypot(xd, yd)
        limit = distorted[-1]
        ru = np.where(rd <= limit, np.interp(rd, distorted, undistorted),
                      rd * undistorted[-1] / max(limit, 1e-9))
        ratio = np.where(rd > 1e-9, ru / np.maximum(rd, 1e-9), 1.0)
        return xd * ratio, yd * ratio


def look_at(eye, target, up) -> np.ndarray:
    """World-to-camera 4x4 (OpenCV axes: x right, y down, z forward)."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-6:
        right = np.cross(forward, np.array([1.0, 0.0, 0.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = -rotation @ eye
    return matrix


# --------------------------------------------------------------------------------------------
# OpenGL

_VERTEX_SHADER = """
#version 330
uniform mat4 world_to_camera;
uniform vec4 intrinsics;      // fx, fy, cx, cy of the canvas (OpenCV pixel coordinates)
uniform vec2 canvas;          // width, height
uniform vec2 depth_range;     // near, far (mm)
in vec3 in_position;
in vec3 in_normal;
in vec3 in_albedo;
in float in_band;
out vec3 v_camera;
out vec3 v_normal;
out vec3 v_object;
out vec3 v_albedo;
out float v_band;
void main() {
    vec4 camera = world_to_camera * vec4(in_position, 1.0);
    v_camera = camera.xyz;
    v_normal = mat3(world_to_camera) * in_normal;
    v_object = in_position;
    v_albedo = in_albedo;
    v_band = in_band;
    float z = camera.z;
    float near = depth_range.x, far = depth_range.y;
    // OpenCV projection u = fx x / z + cx, pixel centres at +0.5 in OpenGL; y points down.
    float clip_x = (2.0 * intrinsics.x / canvas.x) * camera.x
                   + (2.0 * (intrinsics.z + 0.5) / canvas.x - 1.0) * z;
    float clip_y = -(2.0 * intrinsics.y / canvas.y) * camera.y
                   + (1.0 - 2.0 * (intrinsics.w + 0.5) / canvas.y) * z;
    float clip_z = (far + near) / (far - near) * z - 2.0 * far * near / (far - near);
    gl_Position = vec4(clip_x, clip_y, clip_z, z);
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform float object_id;
uniform float seed;
uniform vec3 spot_colour;
uniform vec3 band_colour;
uniform vec4 spots;          // cell size mm, threshold, strength, band width mm
uniform vec4 gloss;          // specular strength, exponent, sparkle strength, bump
uniform float exposure;
in vec3 v_camera;
in vec3 v_normal;
in vec3 v_object;
in vec3 v_albedo;
in float v_band;
layout(location = 0) out vec4 colour;
layout(location = 1) out vec4 aux;

vec3 hash3(vec3 p) {
    p = vec3(dot(p, vec3(127.1, 311.7, 74.7)), dot(p, vec3(269.5, 183.3, 246.1)),
             dot(p, vec3(113.5, 271.9, 124.6)));
    return fract(sin(p) * 43758.5453 + seed);
}
float worley(vec3 p) {
    vec3 cell = floor(p), offset = fract(p);
    float best = 8.0;
    for (int x = -1; x <= 1; ++x)
    for (int y = -1; y <= 1; ++y)
    for (int z = -1; z <= 1; ++z) {
        vec3 g = vec3(x, y, z);
        vec3 r = g + hash3(cell + g) - offset;
        best = min(best, dot(r, r));
    }
    return sqrt(best);
}
float value_noise(vec3 p) {
    vec3 i = floor(p), f = fract(p);
    f = f * f * (3.0 - 2.0 * f);
    float n000 = hash3(i).x, n100 = hash3(i + vec3(1, 0, 0)).x;
    float n010 = hash3(i + vec3(0, 1, 0)).x, n110 = hash3(i + vec3(1, 1, 0)).x;
    float n001 = hash3(i + vec3(0, 0, 1)).x, n101 = hash3(i + vec3(1, 0, 1)).x;
    float n011 = hash3(i + vec3(0, 1, 1)).x, n111 = hash3(i + vec3(1, 1, 1)).x;
    return mix(mix(mix(n000, n100, f.x), mix(n010, n110, f.x), f.y),
               mix(mix(n001, n101, f.x), mix(n011, n111, f.x), f.y), f.z);
}
void main() {
    vec3 n = normalize(v_normal);
    vec3 view = normalize(-v_camera);
    if (dot(n, view) < 0.0) n = -n;
    // Bump: perturb the normal with noise in object space.
    vec3 q = v_object / 3.0;
    vec3 bump = vec3(value_noise(q), value_noise(q + 17.0), value_noise(q + 31.0)) - 0.5;
    n = normalize(n + gloss.w * bump);
    vec3 albedo = v_albedo * (0.85 + 0.3 * value_noise(v_object / 9.0));
    if (spots.z > 0.0) {
        float cells = worley(v_object / spots.x);
        float spot = smoothstep(spots.y, spots.y - 0.12, cells);
        albedo = mix(albedo, spot_colour, spots.z * spot);
    }
    if (spots.w > 0.0) {
        float band = smoothstep(spots.w, 0.6 * spots.w, v_band);
        albedo = mix(albedo, band_colour * (0.85 + 0.3 * value_noise(v_object / 1.5)), band);
    }
    // Light at the camera: Lambert, Blinn-Phong (half vector = view) and wet sparkles.
    float distance = length(v_camera);
    float falloff = min(1.8, exposure * exposure / (distance * distance));
    float lambert = max(dot(n, view), 0.0);
    float lobe = gloss.x * pow(max(dot(n, view), 0.0), gloss.y);
    vec3 sparkle_normal = normalize(n + 0.35 * (hash3(floor(v_object * 2.0)) - 0.5));
    float sparkle = gloss.z * pow(max(dot(sparkle_normal, view), 0.0), 600.0);
    vec3 lit = falloff * (albedo * (0.08 + lambert) + vec3(lobe + sparkle));
    lit = lit / (1.0 + 0.35 * lit);
    colour = vec4(lit, 1.0);
    aux = vec4(v_camera.z, object_id, dot(n, view), 1.0);
}
"""


class _GL:
    """One standalone EGL context with the program; created lazily, once per process."""

    _instance = None

    def __init__(self):
        try:
            import moderngl
        except ImportError as error:
            raise RenderingUnavailable(
                'mesh rendering needs moderngl: pip install "liver_landmarks_training[synth]"'
            ) from error
        try:
            self.ctx = moderngl.create_context(standalone=True, backend='egl')
        except Exception as error:  # noqa: B902 - any EGL failure means the same to the user
            raise RenderingUnavailable(f'no offscreen OpenGL (EGL) context: {error}') from error
        self.moderngl = moderngl
        self.program = self.ctx.program(vertex_shader=_VERTEX_SHADER,
                                        fragment_shader=_FRAGMENT_SHADER)
        self.size = None

    @classmethod
    def get(cls) -> '_GL':
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def framebuffer(self, width, height):
        """Return the two-target framebuffer at this size (canvas sizes vary per frame)."""
        if self.size != (width, height):
            if self.size is not None:   # GL objects are not garbage-collected: free them
                for resource in (self.fbo, self.colour, self.aux, self.depth):
                    resource.release()
            self.colour = self.ctx.texture((width, height), 4, dtype='f1')
            self.aux = self.ctx.texture((width, height), 4, dtype='f4')
            self.depth = self.ctx.depth_renderbuffer((width, height))
            self.fbo = self.ctx.framebuffer([self.colour, self.aux], self.depth)
            self.size = (width, height)
        return self.fbo


@dataclass
class _Mesh:
    """Geometry of one scene object with its per-vertex appearance."""

    vertices: np.ndarray
    faces: np.ndarray
    albedo: np.ndarray          # (V, 3) in 0..1
    object_id: int
    band: np.ndarray = None     # (V,) distance (mm) to the ligament curve, liver only
    uniforms: dict = field(default_factory=dict)


def _draw(gl: _GL, meshes, world_to_camera, canvas_camera, depth_range, seed, exposure):
    """Render meshes; return (RGB float HxWx3, aux HxWx4: z, id, n.v, coverage)."""
    width, height = canvas_camera.width, canvas_camera.height
    fbo = gl.framebuffer(width, height)
    fbo.use()
    fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
    gl.ctx.enable(gl.moderngl.DEPTH_TEST)
    gl.ctx.disable(gl.moderngl.CULL_FACE)
    program = gl.program
    program['world_to_camera'].write(world_to_camera.T.astype('f4').tobytes())
    program['intrinsics'].value = (canvas_camera.fx, canvas_camera.fy,
                                   canvas_camera.cx, canvas_camera.cy)
    program['canvas'].value = (width, height)
    program['depth_range'].value = depth_range
    program['seed'].value = float(seed % 1000) / 1000.0
    program['exposure'].value = exposure
    for mesh in meshes:
        normals = vertex_normals(mesh.vertices, mesh.faces)
        band = mesh.band if mesh.band is not None else np.full(len(mesh.vertices), 1e3)
        data = np.concatenate([mesh.vertices, normals, mesh.albedo, band[:, None]],
                              axis=1).astype('f4')
        vbo = gl.ctx.buffer(data.tobytes())
        ibo = gl.ctx.buffer(mesh.faces.astype('i4').tobytes())
        vao = gl.ctx.vertex_array(program, [(vbo, '3f 3f 3f 1f', 'in_position', 'in_normal',
                                             'in_albedo', 'in_band')], ibo)
        defaults = {'spot_colour': (0.8, 0.7, 0.55), 'band_colour': (0.9, 0.75, 0.6),
                    'spots': (5.0, 0.0, 0.0, 0.0), 'gloss': (0.1, 30.0, 0.0, 0.1)}
        program['object_id'].value = float(mesh.object_id)
        for name, value in {**defaults, **mesh.uniforms}.items():
            program[name].value = value
        vao.render()
        vao.release()
        vbo.release()
        ibo.release()
    rgb = np.frombuffer(gl.colour.read(), np.uint8).reshape(height, width, 4)[::-1, :, :3]
    aux = np.frombuffer(gl.aux.read(), np.float32).reshape(height, width, 4)[::-1]
    return rgb.astype(np.float32) / 255.0, aux.copy()


# --------------------------------------------------------------------------------------------
# Scene


def _resample_curve(points, step_mm):
    """Resample a 3D polyline at equal arc-length steps."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    if arc[-1] <= 0:
        return points[:1]
    target = np.linspace(0.0, arc[-1], max(2, int(math.ceil(arc[-1] / step_mm)) + 1))
    return np.stack([np.interp(target, arc, points[:, k]) for k in range(3)], axis=1)


def _smooth_curve(points, passes=2):
    """Light Laplacian smoothing of a polyline's inner vertices (mesh paths zig-zag)."""
    points = points.copy()
    for _ in range(passes):
        points[1:-1] = 0.25 * points[:-2] + 0.5 * points[1:-1] + 0.25 * points[2:]
    return points


class MeshFrameRenderer:
    """Renders seeded frames of one or more liver assets at ``width`` x ``height``."""

    def __init__(self, assets, width: int = 480, height: int = 270,
                 config: MeshSceneConfig = MeshSceneConfig(),
                 appearance: effects.AppearanceConfig = effects.AppearanceConfig()):
        """Keep the assets (a list of :class:`LiverAsset`); the GL context opens on first use."""
        self.assets = list(assets) if not isinstance(assets, LiverAsset) else [assets]
        if not self.assets:
            raise ValueError('no liver assets to render')
        self.width, self.height = int(width), int(height)
        self.config, self.appearance = config, appearance
        self.line_width = max(1.0, LINE_WIDTH_AT_1080 * self.height / 1080.0)

    # -- public --------------------------------------------------------------------------
    def render(self, seed: int) -> MeshFrame:
        """Render frame ``seed``: the same seed always gives the same frame."""
        rng = np.random.default_rng(seed)
        gl = _GL.get()
        cfg = self.config
        for attempt in range(cfg.max_tries):
            asset = self.assets[int(rng.integers(len(self.assets)))]
            if cfg.deformation > 0:
                asset = deform(asset, rng, cfg.deformation)
            camera = Camera.p2ilf(self.width, self.height,
                                  1.0 + rng.uniform(-cfg.focal_jitter, cfg.focal_jitter),
                                  rng.uniform(*cfg.distortion_scale))
            world_to_camera, target = self._sample_pose(asset, rng)
            canvas, maps = self._canvas(camera)
            meshes = self._scene(asset, rng, world_to_camera, target)
            exposure = float(np.linalg.norm(world_to_camera[:3, :3] @ target
                                            + world_to_camera[:3, 3]))
            exposure *= rng.uniform(0.8, 1.3)
            rgb, aux = _draw(gl, meshes, world_to_camera, canvas, (5.0, 2000.0), seed, exposure)
            liver_out = cv2.remap((aux[..., 1] == LIVER_ID).astype(np.uint8), *maps,
                                  cv2.INTER_NEAREST).astype(bool)
            if liver_out.mean() >= cfg.min_liver_fraction or attempt == cfg.max_tries - 1:
                break
        thin = self._thin_labels(asset, aux, world_to_camera, canvas)
        return self._compose(rng, seed, rgb, aux, thin, maps, liver_out,
                             {'asset': asset.name, 'attempts': attempt + 1})

    def view_labels(self, asset: LiverAsset, world_to_camera, camera: 'Camera',
                    occluders=()):
        """Labels and liver mask of one given view, with plain shading and no effects.

        For checking label geometry on known scenes: ``occluders`` are extra
        objects (e.g. :func:`occluding_sphere`) drawn with the liver.
        """
        canvas, maps = self._canvas(camera)
        plain = np.tile([0.6, 0.4, 0.35], (len(asset.vertices), 1))
        meshes = [_Mesh(asset.vertices, asset.faces, plain, LIVER_ID), *occluders]
        _, aux = _draw(_GL.get(), meshes, world_to_camera, canvas, (5.0, 2000.0), 0, 100.0)
        thin = self._thin_labels(asset, aux, world_to_camera, canvas)
        view = np.ones((self.height, self.width), bool)
        liver = cv2.remap((aux[..., 1] == LIVER_ID).astype(np.uint8), *maps,
                          cv2.INTER_NEAREST).astype(bool)
        return self._label_image(thin, maps, view), liver

    # -- camera --------------------------------------------------------------------------
    def _sample_pose(self, asset: LiverAsset, rng):
        cfg = self.config
        normals = asset.normals()
        choice = rng.choice(3, p=np.asarray(cfg.target_weights) / sum(cfg.target_weights))
        curves = asset.curves.get(('ridge', 'ligament')[choice], []) if choice < 2 else []
        if curves:
            ids = curves[int(rng.integers(len(curves)))]
            vertex = int(ids[int(rng.integers(len(ids)))])
        else:
            vertex = int(rng.integers(len(asset.vertices)))
        target = asset.vertices[vertex]
        normal = normals[vertex]
        # A direction within the view cone around the outward normal.
        angle = math.radians(cfg.max_view_angle_deg) * math.sqrt(rng.uniform())
        tangent = np.cross(normal, rng.normal(size=3))
        tangent /= np.linalg.norm(tangent) + 1e-12
        direction = math.cos(angle) * normal + math.sin(angle) * tangent
        eye = target + direction * rng.uniform(*cfg.distance_mm)
        # Look slightly off the target so that landmarks are not always centred.
        look = target + rng.normal(scale=15.0, size=3)
        world_to_camera = look_at(eye, look, rng.normal(size=3))
        return world_to_camera, target

    def _canvas(self, camera: Camera):
        """Return a pinhole canvas covering every output pixel's source, and the remap tables."""
        u, v = np.meshgrid(np.arange(self.width, dtype=np.float64),
                           np.arange(self.height, dtype=np.float64))
        xu, yu = camera.undistort_normalised((u - camera.cx) / camera.fx,
                                             (v - camera.cy) / camera.fy)
        margin = 2.0
        left = math.floor(xu.min() * camera.fx) - margin
        top = math.floor(yu.min() * camera.fy) - margin
        width = int(math.ceil(xu.max() * camera.fx - left + margin)) + 1
        height = int(math.ceil(yu.max() * camera.fy - top + margin)) + 1
        canvas = Camera(width, height, camera.fx, camera.fy, -left, -top)
        map_x = (xu * camera.fx - left).astype(np.float32)
        map_y = (yu * camera.fy - top).astype(np.float32)
        return canvas, (map_x, map_y)

    # -- scene ---------------------------------------------------------------------------
    def _scene(self, asset, rng, world_to_camera, target):
        cfg = self.config
        look = effects.liver_look(rng, self.appearance)
        liver_albedo = effects.vertex_albedo(asset.vertices, rng, look)
        ligament = [_resample_curve(_smooth_curve(points), 1.0)
                    for points in asset.curve_points('ligament')]
        band = (cKDTree(np.concatenate(ligament)).query(asset.vertices)[0] if ligament
                else np.full(len(asset.vertices), 1e3))
        liver = _Mesh(asset.vertices, asset.faces, liver_albedo, LIVER_ID, band,
                      uniforms=look['uniforms'])
        meshes = [liver]
        normals = asset.normals()
        eye = -world_to_camera[:3, :3].T @ world_to_camera[:3, 3]
        ridge_ids = np.concatenate(asset.curves['ridge']) if asset.curves.get('ridge') else (
            np.arange(len(asset.vertices)))
        for _ in range(int(rng.integers(cfg.fat_lobules[0], cfg.fat_lobules[1] + 1))):
            meshes.append(self._fat_lobule(asset, normals, ridge_ids, rng, eye, target))
        if ligament and rng.random() < cfg.flap_probability:
            meshes.append(self._flap(asset, normals, rng))
        if rng.random() < cfg.instrument_probability:
            for _ in range(int(rng.integers(1, 3))):
                meshes.append(self._instrument(rng, eye, target))
        return meshes

    def _fat_lobule(self, asset, normals, ridge_ids, rng, eye, target):
        """Return a lumpy fat blob near the liver's edge, never nearer than the target region."""
        vertex = int(ridge_ids[int(rng.integers(len(ridge_ids)))]) if rng.random() < 0.7 else (
            int(rng.integers(len(asset.vertices))))
        radius = rng.uniform(6.0, 25.0)
        centre = asset.vertices[vertex] + normals[vertex] * radius * rng.uniform(-0.2, 1.0)
        centre += rng.normal(scale=radius, size=3)
        to_target = np.linalg.norm(target - eye)
        if np.linalg.norm(centre - eye) < 0.75 * to_target:
            centre = eye + (centre - eye) * 0.75 * to_target / np.linalg.norm(centre - eye)
        sphere, faces = icosphere(2)
        bumps = 1.0 + 0.25 * effects.smooth_field(sphere * 2.0, rng, 3)
        vertices = centre + sphere * radius * bumps[:, None] * rng.uniform(0.6, 1.4, 3)
        colour = effects.jitter_colour(rng, (0.80, 0.52, 0.22), 0.12)
        albedo = np.tile(colour, (len(vertices), 1))
        return _Mesh(vertices, faces, albedo, FAT_ID,
                     uniforms={'gloss': (rng.uniform(0.05, 0.2), 40.0, 0.4, 0.25),
                               'spots': (4.0, 0.0, 0.0, 0.0)})

    def _flap(self, asset, normals, rng):
        """Return the falciform ligament as a thin fatty membrane standing on its curve."""
        ids = asset.curves['ligament'][0]
        base = _smooth_curve(asset.vertices[ids])
        up = _smooth_curve(normals[ids])
        height = rng.uniform(4.0, 18.0) * np.sin(np.linspace(0.2, math.pi - 0.2, len(ids)))
        tilt = rng.normal(scale=0.4, size=3)
        top = base + (up + tilt) * height[:, None]
        vertices = np.concatenate([base, top])
        count = len(ids)
        faces = [(i, i + 1, count + i) for i in range(count - 1)]
        faces += [(i + 1, count + i + 1, count + i) for i in range(count - 1)]
        colour = effects.jitter_colour(rng, (0.85, 0.62, 0.48), 0.1)
        return _Mesh(vertices, np.asarray(faces, np.int64), np.tile(colour, (len(vertices), 1)),
                     FLAP_ID, uniforms={'gloss': (0.1, 30.0, 0.2, 0.2)})

    def _instrument(self, rng, eye, target):
        """Return a grey metal shaft entering from outside the view towards the liver."""
        forward = target - eye
        distance = np.linalg.norm(forward)
        forward /= distance
        side = np.cross(forward, rng.normal(size=3))
        side /= np.linalg.norm(side)
        tip = eye + forward * distance * rng.uniform(0.4, 0.85) + side * rng.normal(scale=15.0)
        start = tip + side * distance * 2.0 - forward * distance * rng.uniform(0.0, 0.5)
        radius = rng.uniform(2.5, 5.0)
        vertices, faces = _cylinder(start, tip, radius, 24)
        grey = rng.uniform(0.35, 0.75)
        albedo = np.tile(effects.jitter_colour(rng, (grey, grey, grey * 1.05), 0.05),
                         (len(vertices), 1))
        return _Mesh(vertices, faces, albedo, INSTRUMENT_ID,
                     uniforms={'gloss': (rng.uniform(0.3, 0.9), 15.0, 0.0, 0.02)})

    # -- labels --------------------------------------------------------------------------
    def _thin_labels(self, asset, aux, world_to_camera, canvas):
        """One-pixel ridge, ligament and silhouette masks on the pinhole canvas."""
        cfg = self.config
        depth = np.where(aux[..., 3] > 0, aux[..., 0], np.inf).astype(np.float32)
        ids = np.where(aux[..., 3] > 0, aux[..., 1], BACKGROUND_ID)
        liver = ids == LIVER_ID
        silhouette = _occluding_contour(depth, liver, cfg.self_occlusion_mm)
        nearest = cv2.erode(np.where(np.isfinite(depth), depth, 1e6), np.ones((3, 3), np.uint8))
        near_liver = cv2.dilate(liver.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        width = self.line_width   # the canvas has the output's pixel scale at its centre
        masks = {}
        ridge_points_3d = []
        for landmark in ('ridge', 'ligament'):
            canvas_mask = np.zeros(depth.shape, np.uint8)
            for points in asset.curve_points(landmark):
                samples = _resample_curve(_smooth_curve(points), 0.5)
                camera_points = samples @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
                if landmark == 'ridge':
                    ridge_points_3d.append(camera_points)
                visible, pixels = self._visible(camera_points, canvas, nearest, near_liver)
                for run in _runs(visible):
                    if len(run) < 2:
                        continue
                    line = np.round(pixels[run] * 8).astype(np.int32).reshape(-1, 1, 2)
                    cv2.polylines(canvas_mask, [line], False, 1, 1, cv2.LINE_8, shift=3)
            masks[landmark] = canvas_mask.astype(bool)
        # Snap the ridge onto the occluding edge where the edge lies on the ridge in 3D.
        if ridge_points_3d and silhouette.any():
            rows, cols = np.nonzero(silhouette)
            z = depth[rows, cols]
            points = np.stack([(cols - canvas.cx) * z / canvas.fx,
                               (rows - canvas.cy) * z / canvas.fy, z], axis=1)
            near = cKDTree(np.concatenate(ridge_points_3d)).query(points)[0] < cfg.ridge_snap_mm
            snapped = np.zeros_like(silhouette)
            snapped[rows[near], cols[near]] = True
            if snapped.any():
                keep_out = _dilate(snapped, 4 * width)
                masks['ridge'] = (masks['ridge'] & ~keep_out) | snapped
                silhouette = silhouette & ~snapped
        masks['silhouette'] = silhouette & ~_dilate(masks['ridge'], 2 * width)
        return masks

    def _visible(self, camera_points, canvas, nearest, near_liver):
        cfg = self.config
        z = camera_points[:, 2]
        safe_z = np.maximum(z, 1e-6)
        u = canvas.fx * camera_points[:, 0] / safe_z + canvas.cx
        v = canvas.fy * camera_points[:, 1] / safe_z + canvas.cy
        cols, rows = np.round(u).astype(int), np.round(v).astype(int)
        inside = (z > 5.0) & (cols >= 0) & (rows >= 0) & (cols < canvas.width) & (
            rows < canvas.height)
        cols, rows = np.clip(cols, 0, canvas.width - 1), np.clip(rows, 0, canvas.height - 1)
        tolerance = cfg.visibility_tolerance_mm + cfg.visibility_tolerance_depth * z
        visible = inside & (z <= nearest[rows, cols] + tolerance) & near_liver[rows, cols]
        return visible, np.stack([u, v], axis=1)

    # -- output --------------------------------------------------------------------------
    def _compose(self, rng, seed, rgb, aux, thin, maps, liver_out, info):
        ids_canvas = np.where(aux[..., 3] > 0, aux[..., 1], BACKGROUND_ID).astype(np.float32)
        image = cv2.remap(rgb, *maps, cv2.INTER_LINEAR)
        ids = cv2.remap(ids_canvas, *maps, cv2.INTER_NEAREST)
        depth = cv2.remap(np.where(aux[..., 3] > 0, aux[..., 0], 0.0).astype(np.float32),
                          *maps, cv2.INTER_NEAREST)
        frame = effects.apply_appearance(image, ids, depth, rng, seed, self.appearance)
        labels = self._label_image(thin, maps, frame.view)
        info.update({'line_width': self.line_width})
        return MeshFrame(frame.image, labels, liver_out & frame.view, frame.view, info)

    def _label_image(self, thin, maps, view):
        """Output-frame class ids from the canvas's one-pixel masks: warped, widened."""
        labels = np.zeros((self.height, self.width), np.uint8)
        minimum = self.config.min_run_px_at_1080 * self.height / 1080.0
        # Priority where lines overlap: ridge over ligament over silhouette.
        for landmark in (Landmark.SILHOUETTE, Landmark.LIGAMENT, Landmark.RIDGE):
            thin_out = cv2.remap(thin[landmark.name.lower()].astype(np.float32), *maps,
                                 cv2.INTER_LINEAR) > 0.2
            thin_out &= view
            thin_out = _drop_small(thin_out, minimum)
            labels[_dilate(thin_out, self.line_width)] = int(landmark)
        labels[~view] = 0
        return labels


def occluding_sphere(centre, radius: float, object_id: int = INSTRUMENT_ID):
    """Return a grey sphere to place in a scene, e.g. as an occluder in ``view_labels``."""
    vertices, faces = icosphere(3)
    vertices = np.asarray(centre, np.float64) + radius * vertices
    return _Mesh(vertices, faces, np.full((len(vertices), 3), 0.5), object_id)


def _occluding_contour(depth, liver, self_occlusion_mm):
    """Liver pixels with a 4-neighbour that is farther (non-liver) or much deeper (liver)."""
    contour = np.zeros_like(liver)
    height, width = depth.shape
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        here = (slice(max(0, -dy), height - max(0, dy)), slice(max(0, -dx), width - max(0, dx)))
        there = (slice(max(0, dy), height - max(0, -dy)), slice(max(0, dx), width - max(0, -dx)))
        d_here, d_there = depth[here], depth[there]
        other_liver = liver[there]
        farther = np.where(other_liver, d_there > d_here + self_occlusion_mm, d_there > d_here)
        contour[here] |= liver[here] & farther
    return contour


def _runs(mask):
    """Index arrays of the True runs of a 1-D mask."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [np.arange(a, b) for a, b in zip(edges[::2], edges[1::2])]


def _dilate(mask, diameter):
    size = max(1, int(round(diameter)))
    if size <= 1:
        return mask.copy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def _drop_small(mask, min_pixels):
    """Remove 8-connected pieces with fewer than ``min_pixels`` pixels (label specks)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_pixels
    return keep[labels]


def _cylinder(start, end, radius, segments):
    """Return a capped cylinder between two points."""
    axis = end - start
    length = np.linalg.norm(axis)
    axis /= length
    side = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0])
    side /= np.linalg.norm(side)
    other = np.cross(axis, side)
    angles = np.linspace(0, 2 * math.pi, segments, endpoint=False)
    ring = np.cos(angles)[:, None] * side + np.sin(angles)[:, None] * other
    vertices = np.concatenate([start + radius * ring, end + radius * ring, [start, end]])
    faces = []
    for i in range(segments):
        j = (i + 1) % segments
        faces += [(i, j, segments + i), (j, segments + j, segments + i),
                  (2 * segments, j, i), (2 * segments + 1, segments + i, segments + j)]
    return vertices, np.asarray(faces, np.int64)

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Domain randomisation for mesh-rendered frames: small named effects, each seeded.

The renderer hands over a linear RGB float image (0..1) with an object-id buffer
and a depth buffer; :func:`apply_appearance` composes the abdominal background and
applies, in this order: :func:`blood`, :func:`specular_highlights`, :func:`smoke`,
:func:`exposure_and_white_balance`, :func:`vignetting`, :func:`blur`,
:func:`sensor_noise`, :func:`field_of_view` and :func:`jpeg`. Each effect is a plain
function of the image and a ``numpy.random.Generator``, switchable in
:class:`AppearanceConfig`, so what a frame went through can be read from its config.
"""

from dataclasses import dataclass, field

import cv2
import numpy as np

#: Effects :attr:`AppearanceConfig.disabled` can switch off.
EFFECTS = ('background', 'blood', 'specular', 'smoke', 'exposure', 'vignetting', 'blur',
           'noise', 'fov', 'jpeg')


@dataclass(frozen=True)
class AppearanceConfig:
    """Chances and ranges of the appearance effects."""

    liver_rgb: tuple[float, float, float] = (0.62, 0.40, 0.35)
    liver_colour_jitter: float = 0.18
    spots_probability: float = 0.6
    blood_probability: float = 0.4
    specular_probability: float = 0.7
    smoke_probability: float = 0.3
    blur_probability: float = 0.5
    motion_blur_probability: float = 0.2
    max_blur_sigma_px_at_1080: float = 8.0
    max_noise_sigma: float = 8.0
    exposure_range: tuple[float, float] = (0.6, 1.5)
    gamma_range: tuple[float, float] = (0.75, 1.3)
    #: Chances of field-of-view styles: full frame, dark corners (circle), side bars.
    fov_weights: tuple[float, float, float] = (0.5, 0.35, 0.15)
    jpeg_quality: tuple[int, int] = (35, 95)
    disabled: frozenset = field(default_factory=frozenset)

    def __post_init__(self):
        """Refuse unknown effect names, so that a typo is not silently ignored."""
        unknown = set(self.disabled) - set(EFFECTS)
        if unknown:
            raise ValueError(f'unknown effects {sorted(unknown)}; known: {list(EFFECTS)}')


@dataclass
class AppearanceResult:
    """The finished uint8 RGB frame and the field of view (where labels may be)."""

    image: np.ndarray
    view: np.ndarray


# --------------------------------------------------------------------------------------------
# Surface colours (used by the renderer before drawing)


def jitter_colour(rng, rgb, amount) -> np.ndarray:
    """Return a colour near ``rgb`` (0..1): a common gain and per-channel jitter of ``amount``."""
    colour = np.asarray(rgb, np.float64) * rng.uniform(1 - amount, 1 + amount)
    colour *= rng.uniform(1 - amount / 2, 1 + amount / 2, 3)
    return np.clip(colour, 0.0, 1.0)


def smooth_field(points, rng, waves: int = 6) -> np.ndarray:
    """Return a smooth random field in about [-1, 1] at 3D points: a sum of random plane waves."""
    directions = rng.normal(size=(waves, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    frequencies = rng.uniform(0.5, 2.0, waves)
    phases = rng.uniform(0, 2 * np.pi, waves)
    values = np.sin(points @ (directions * frequencies[:, None]).T + phases)
    return values.sum(axis=1) / np.sqrt(waves / 2.0)


def liver_look(rng, config: AppearanceConfig) -> dict:
    """Per-frame liver material: base colours and the shader's spot/gloss uniforms."""
    base = jitter_colour(rng, config.liver_rgb, config.liver_colour_jitter)
    second = jitter_colour(rng, base * np.array([0.85, 0.8, 0.9]), 0.1)
    spots = rng.random() < config.spots_probability
    uniforms = {
        'spot_colour': tuple(jitter_colour(rng, (0.82, 0.7, 0.58), 0.1)),
        'band_colour': tuple(jitter_colour(rng, (0.9, 0.72, 0.58), 0.1)),
        'spots': (rng.uniform(3.0, 9.0), rng.uniform(0.25, 0.45),
                  rng.uniform(0.3, 0.8) if spots else 0.0, rng.uniform(2.0, 7.0)),
        'gloss': (rng.uniform(0.04, 0.25), rng.uniform(15.0, 60.0), rng.uniform(0.0, 1.5),
                  rng.uniform(0.0, 0.35)),
    }
    return {'base': base, 'second': second, 'uniforms': uniforms}


def vertex_albedo(vertices, rng, look) -> np.ndarray:
    """Per-vertex liver albedo: two base colours mixed by a smooth field in object space."""
    mix = 0.5 + 0.5 * smooth_field(vertices / rng.uniform(25.0, 70.0), rng)
    mix = np.clip(mix, 0.0, 1.0)[:, None]
    return look['base'] * (1 - mix) + look['second'] * mix


# --------------------------------------------------------------------------------------------
# 2D effects on the rendered frame (float RGB HxWx3 in 0..1)


def _noise(rng, height, width, cells) -> np.ndarray:
    """Smooth value noise in about [-1, 1] with ``cells`` cells along the height."""
    rows = max(2, int(cells))
    cols = max(2, int(round(cells * width / height)))
    grid = rng.standard_normal((rows + 1, cols + 1)).astype(np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)


def _fractal(rng, height, width, octaves=(3, 6, 12, 24)) -> np.ndarray:
    total = np.zeros((height, width), np.float32)
    amplitude = 1.0
    for cells in octaves:
        total += amplitude * _noise(rng, height, width, cells)
        amplitude *= 0.55
    return total / 1.8


def background(rng, height, width) -> np.ndarray:
    """Abdominal wall, fat, other organs and vessels: a procedural backdrop."""
    wall = jitter_colour(rng, (0.62, 0.36, 0.30), 0.2)
    image = np.ones((height, width, 3), np.float32) * wall.astype(np.float32)
    image *= (1.0 + 0.3 * _fractal(rng, height, width))[..., None]
    fat_amount = np.clip((_fractal(rng, height, width, (2, 4, 8, 16)) - rng.uniform(0.0, 0.8))
                         * 3.0, 0.0, 1.0)
    fat = jitter_colour(rng, (0.78, 0.55, 0.25), 0.15).astype(np.float32)
    image = image * (1 - fat_amount[..., None]) + fat * fat_amount[..., None] * (
        1.0 + 0.2 * _noise(rng, height, width, 40))[..., None]
    # Other organs (stomach, bowel, gallbladder): smooth blobs with a shaded rim, so
    # the network meets edges that are not the liver's.
    for _ in range(int(rng.integers(0, 4))):
        blob = np.zeros((height, width), np.uint8)
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        axes = (int(rng.uniform(0.1, 0.5) * width), int(rng.uniform(0.1, 0.4) * height))
        cv2.ellipse(blob, centre, axes, rng.uniform(0, 180), 0, 360, 255, -1)
        inside = cv2.distanceTransform(blob, cv2.DIST_L2, 3)
        shade = 1.0 - 0.5 * np.exp(-inside / max(2.0, 0.02 * height))
        colour = jitter_colour(rng, [(0.75, 0.55, 0.5), (0.55, 0.5, 0.3), (0.8, 0.65, 0.6)][
            int(rng.integers(3))], 0.15).astype(np.float32)
        organ = colour * shade[..., None] * (1.0 + 0.15 * _noise(rng, height, width, 12))[
            ..., None]
        alpha = (blob > 0)[..., None]
        image = np.where(alpha, organ, image)
    vessels = np.zeros((height, width), np.uint8)
    for _ in range(int(rng.integers(0, 8))):
        point = rng.uniform(0, 1, 2) * (width, height)
        heading = rng.uniform(0, 2 * np.pi)
        steps = []
        for _ in range(30):
            heading += rng.normal(0.0, 0.3)
            point = point + 0.015 * height * np.array([np.cos(heading), np.sin(heading)])
            steps.append(point)
        cv2.polylines(vessels, [np.round(np.array(steps)).astype(np.int32).reshape(-1, 1, 2)],
                      False, 255, max(1, int(round(height / 300 * rng.uniform(1, 4)))),
                      cv2.LINE_AA)
    amount = cv2.GaussianBlur(vessels, (0, 0), 1.0).astype(np.float32)[..., None] / 255.0 * 0.6
    image = image * (1 - amount) + np.float32([0.45, 0.08, 0.08]) * amount
    return np.clip(image * rng.uniform(0.35, 0.85), 0.0, 1.0)


def blood(image, region, rng) -> np.ndarray:
    """Dark red pools and smears: low-frequency patches, more on and below the liver."""
    height, width = region.shape
    amount = np.clip((_fractal(rng, height, width, (3, 6, 12)) - rng.uniform(0.4, 1.0)) * 2.5,
                     0.0, 1.0) * rng.uniform(0.4, 0.9)
    colour = jitter_colour(rng, (0.35, 0.03, 0.03), 0.3).astype(np.float32)
    return image * (1 - amount[..., None]) + colour * amount[..., None] * (
        image.mean(axis=2, keepdims=True) * 2.0 + 0.2)


def specular_highlights(image, liver, rng, height_scale) -> np.ndarray:
    """White glints on the wet liver: small ellipses, sharp or slightly smeared."""
    height, width = liver.shape
    canvas = np.zeros((height, width), np.uint8)
    for _ in range(int(rng.integers(3, 40))):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        axes = np.maximum(1, rng.uniform(0.3, 3.0, 2) * height_scale).astype(int)
        cv2.ellipse(canvas, (int(x), int(y)), tuple(int(a) for a in axes), rng.uniform(0, 180),
                    0, 360, 255, -1, cv2.LINE_AA)
    amount = cv2.GaussianBlur(canvas, (0, 0), 0.7).astype(np.float32) / 255.0 * liver
    return image * (1 - amount[..., None]) + amount[..., None]


def smoke(image, rng) -> np.ndarray:
    """Surgical smoke: layered low-frequency haze blended towards grey-white."""
    height, width = image.shape[:2]
    haze = np.clip(0.5 + 0.7 * _fractal(rng, height, width, (1, 2, 4)), 0, 1)
    haze *= rng.uniform(0.1, 0.5)
    grey = jitter_colour(rng, (0.85, 0.82, 0.8), 0.08).astype(np.float32)
    return image * (1 - haze[..., None]) + grey * haze[..., None]


def exposure_and_white_balance(image, rng, config: AppearanceConfig) -> np.ndarray:
    """Gain, per-channel white balance and gamma."""
    gain = rng.uniform(*config.exposure_range)
    balance = rng.uniform(0.88, 1.12, 3).astype(np.float32)
    gamma = rng.uniform(*config.gamma_range)
    return np.power(np.clip(image * gain * balance, 0.0, 1.0), gamma)


def vignetting(image, rng, centre_shift=0.1) -> np.ndarray:
    """Co-located light: bright centre, darker rim."""
    height, width = image.shape[:2]
    cx = width * (0.5 + rng.uniform(-centre_shift, centre_shift))
    cy = height * (0.5 + rng.uniform(-centre_shift, centre_shift))
    ys, xs = np.ogrid[:height, :width]
    radius2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / (0.25 * (width ** 2 + height ** 2))
    strength = rng.uniform(0.1, 0.6)
    return image * np.clip(1.0 - strength * radius2, 0.15, 1.0)[..., None].astype(np.float32)


def blur(image, rng, config: AppearanceConfig) -> np.ndarray:
    """Defocus (Gaussian) or motion blur along a random direction."""
    height = image.shape[0]
    sigma = rng.uniform(0.3, config.max_blur_sigma_px_at_1080) * height / 1080
    if rng.random() < config.motion_blur_probability:
        length = max(3, int(round(sigma * 4)) | 1)
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0
        rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5),
                                           rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, rotation, (length, length))
        return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))
    return cv2.GaussianBlur(image, (0, 0), max(0.3, sigma))


def sensor_noise(image, rng, config: AppearanceConfig) -> np.ndarray:
    """Additive Gaussian noise on the 0..1 scale."""
    sigma = rng.uniform(0.0, config.max_noise_sigma) / 255.0
    return image + rng.standard_normal(image.shape).astype(np.float32) * np.float32(sigma)


def field_of_view(image, rng, config: AppearanceConfig):
    """Black outside the scope's field of view: full frame, a circle or side bars."""
    height, width = image.shape[:2]
    view = np.ones((height, width), bool)
    style = rng.choice(3, p=np.asarray(config.fov_weights) / sum(config.fov_weights))
    if style == 1:
        radius = rng.uniform(0.8, 1.05) * 0.5 * np.hypot(width, height)
        ys, xs = np.ogrid[:height, :width]
        centre = (width / 2 + rng.uniform(-0.03, 0.03) * width,
                  height / 2 + rng.uniform(-0.03, 0.03) * height)
        view = (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 <= radius ** 2
    elif style == 2:
        bar = int(rng.uniform(0.02, 0.15) * width)
        view[:, :bar] = False
        view[:, width - bar:] = False
    return image * view[..., None], view


def jpeg(image_uint8, rng, config: AppearanceConfig) -> np.ndarray:
    """Round-trip through JPEG at a random quality (compression artefacts)."""
    quality = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
    ok, data = cv2.imencode('.jpg', image_uint8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].copy() if ok else image_uint8


def apply_appearance(rendered, ids, depth, rng, seed, config: AppearanceConfig):
    """Compose the background and apply every enabled effect; see the module docstring."""
    del depth, seed   # the order of rng draws alone makes a frame reproducible
    height = rendered.shape[0]
    enabled = {name: name not in config.disabled for name in EFFECTS}
    liver = ids == 1
    image = rendered.astype(np.float32)
    if enabled['background']:
        backdrop = background(rng, *ids.shape)
        image = np.where((ids == 0)[..., None], backdrop, image)
    if enabled['blood'] and rng.random() < config.blood_probability:
        image = blood(image, liver, rng)
    if enabled['specular'] and rng.random() < config.specular_probability:
        image = specular_highlights(image, liver, rng, height / 270.0)
    if enabled['smoke'] and rng.random() < config.smoke_probability:
        image = smoke(image, rng)
    if enabled['exposure']:
        image = exposure_and_white_balance(image, rng, config)
    if enabled['vignetting']:
        image = vignetting(image, rng)
    if enabled['blur'] and rng.random() < config.blur_probability:
        image = blur(image, rng, config)
    if enabled['noise']:
        image = sensor_noise(image, rng, config)
    view = np.ones(ids.shape, bool)
    if enabled['fov']:
        image, view = field_of_view(image, rng, config)
    result = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if enabled['jpeg']:
        result = jpeg(result, rng, config)
    return AppearanceResult(result, view)

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The named drawing effects of the 2D synthetic generator (:mod:`.synthetic`).

The scene (lobes, landmark curves, visibility) lives in :mod:`.synthetic`; how it
looks is drawn here, one function per effect:

* tissue: :func:`fat_patches`, :func:`vessels`, :func:`pale_spots`;
* landmarks' appearance: :func:`ridge_fold`, :func:`ligament_band`,
  :func:`instrument_over`;
* camera, in this order (:data:`CAMERA_EFFECTS`, applied by
  :func:`apply_camera_effects`): :func:`specular_highlights`, :func:`smoke`,
  :func:`lighting`, :func:`blur`, :func:`sensor_noise`, then :func:`to_rgb8`.

Colour layers are planar ``(3, H, W)`` float32 in 0..1 while drawing: per-pixel
factors of shape ``(H, W)`` then broadcast over the leading axis, which is several
times faster than over a trailing channel axis at 1920x1080. Effects that draw
random values take the frame's generator, in a fixed order; the textures draw from
generators derived from ``(seed, stream)``, so a seed reproduces a frame exactly.
"""

from dataclasses import dataclass, field
import math

import cv2
import numpy as np
from scipy.special import ndtri

#: Reference image height that pixel lengths refer to.
REFERENCE_ROWS = 1080
#: Effects that a config's ``disabled_effects`` can switch off.
EFFECTS = frozenset({'specular', 'smoke', 'lighting', 'blur', 'noise'})
#: From this many rows on, curve distance fields are computed at half size (speed).
_HALF_SIZE_FIELDS_FROM_ROWS = 720
#: Fraction of the ligament's length over which it fades into the organ at its lower end.
LIGAMENT_FADE = 0.06
#: Standard normal quantiles of 256 equally likely codes: Gaussian pixel noise from uint8
#: draws, several times faster than drawing normals at 1920x1080.
_GAUSSIAN_QUANTILES = ndtri((np.arange(256) + 0.5) / 256).astype(np.float32)


@dataclass(frozen=True)
class Canvas:
    """The frame being drawn: its size, seed and pixel grids, plus seeded texture helpers."""

    seed: int
    width: int
    height: int
    scale: float = field(init=False)
    xs: np.ndarray = field(init=False, repr=False)
    ys: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        """Derive the scale (pixels per pixel at 1080 rows) and the coordinate grids."""
        object.__setattr__(self, 'scale', self.height / REFERENCE_ROWS)
        object.__setattr__(self, 'xs', np.arange(self.width, dtype=np.float32)[None, :])
        object.__setattr__(self, 'ys', np.arange(self.height, dtype=np.float32)[:, None])

    def noise(self, stream, octaves=(4, 8, 16, 32), persistence=0.55):
        """Return smooth fractal noise in about [-1, 1], from a generator derived from the seed.

        The octaves are summed at a small size and resized once to the frame.
        """
        rng = np.random.default_rng([self.seed, stream])
        aspect = self.width / self.height
        rows = min(self.height, 4 * max(octaves))
        size = (max(2, int(round(rows * aspect))), rows)
        total = np.zeros(size[::-1], np.float32)
        amplitude, norm = 1.0, 0.0
        for cells in octaves:
            grid = rng.standard_normal((cells + 1, int(round(cells * aspect)) + 1))
            total += amplitude * cv2.resize(grid.astype(np.float32), size,
                                            interpolation=cv2.INTER_CUBIC)
            norm += amplitude
            amplitude *= persistence
        total /= norm
        return cv2.resize(total, (self.width, self.height), interpolation=cv2.INTER_LINEAR)

    def blurred(self, drawn, sigma_px, strength):
        """Blur a drawn uint8 canvas into an (H, W) float32 amount in 0..strength."""
        blurred = cv2.GaussianBlur(drawn, (0, 0), max(0.5, sigma_px * self.scale))
        return blurred.astype(np.float32) * np.float32(strength / 255.0)

    def curve_field(self, points, taper):
        """Return the distance to a polyline, the signed offset along its normal, the taper.

        The distance transform's labels give every pixel its nearest curve pixel; that
        pixel's nearest vertex gives the normal, the taper and the exact (sub-pixel)
        curve position, so the signed offset is smooth across the curve. Frames of
        720 rows or more are computed at half size and interpolated: the fields are
        smooth, and the signed offset, which makes the sharp edges, is linear
        across the curve, so interpolation keeps it exact.
        """
        if self.height < _HALF_SIZE_FIELDS_FROM_ROWS:
            return _curve_field(points, taper, self.width, self.height)
        half = (self.width + 1) // 2, (self.height + 1) // 2
        # Pixel centres map as x_half = (x + 0.5) / 2 - 0.5, as cv2.resize assumes.
        fields = _curve_field((points + 0.5) / 2.0 - 0.5, taper, *half)
        size = (self.width, self.height)
        distance, signed, near_taper = (
            cv2.resize(field_, size, interpolation=cv2.INTER_LINEAR) for field_ in fields)
        distance *= 2.0
        signed *= 2.0
        return distance, signed, near_taper


def random_colour(rng, low, high):
    """Return a random RGB colour as a (3, 1, 1) float32 array in 0..1."""
    return (rng.uniform(low, high) / 255.0).astype(np.float32).reshape(3, 1, 1)


def reddish_colour(rng, red_range, green_ratio, blue_over_green):
    """Return a random red-dominated colour: green a fraction of red, blue of green.

    Tying blue to green keeps hues between red, pink and purple-brown, never olive.
    """
    red = rng.uniform(*red_range)
    green = red * rng.uniform(*green_ratio)
    blue = min(red, green * rng.uniform(*blue_over_green))
    return (np.array([red, green, blue]) / 255.0).astype(np.float32).reshape(3, 1, 1)


def lerp(layer, target, amount):
    """Blend planar layer towards target by an (H, W) amount: layer + amount * (target - layer)."""
    result = target - layer
    result *= amount
    result += layer
    return result


# -- tissue -----------------------------------------------------------------------------------

def fat_patches(canvas: Canvas, rng, background, shade):
    """Yellow fat lobules over the background, where low-frequency noise is high."""
    amount = np.clip((canvas.noise(5, (3, 6, 12, 24)) - rng.uniform(0.25, 0.6)) * 4.0,
                     0.0, 1.0)
    fat = random_colour(rng, [190, 150, 70], [230, 200, 120]) * (
        shade * (1.0 + 0.15 * canvas.noise(6, (32, 64))))
    return lerp(background, fat, amount)


def vessels(canvas: Canvas, layer, stream, colour, count, width_px, strength):
    """Blend thin winding blood vessels, drawn as random walks, into a layer."""
    rng = np.random.default_rng([canvas.seed, stream, 7])
    drawn = np.zeros((canvas.height, canvas.width), np.uint8)
    for _ in range(int(rng.integers(1, count + 1))):
        point = rng.uniform(0, 1, 2) * (canvas.width, canvas.height)
        heading = rng.uniform(0, 2 * math.pi)
        steps = []
        for _ in range(40):
            heading += rng.normal(0.0, 0.35)
            step = np.array([math.cos(heading), math.sin(heading)])
            point = point + 0.012 * canvas.height * step
            steps.append(point)
        thickness = max(1, int(round(width_px * canvas.scale * rng.uniform(0.5, 1.2))))
        pts = np.round(np.array(steps) * 8).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(drawn, [pts], False, 255, thickness, cv2.LINE_AA, shift=3)
    amount = canvas.blurred(drawn, 1.2, strength)
    return lerp(layer, np.asarray(colour, np.float32).reshape(3, 1, 1) / 255.0, amount)


def pale_spots(canvas: Canvas, organ, shade):
    """Pale fatty spots on the organ (as in some patients' livers)."""
    rng = np.random.default_rng([canvas.seed, 8])
    drawn = np.zeros((canvas.height, canvas.width), np.uint8)
    count = int(rng.integers(60, 300))
    centres = rng.uniform(0, 1, (count, 2)) * (canvas.width, canvas.height)
    radii = rng.uniform(3, 14, count) * canvas.scale
    for (x, y), r in zip(centres, radii):
        cv2.circle(drawn, (int(x), int(y)), max(1, int(r)), 255, -1, cv2.LINE_AA)
    amount = canvas.blurred(drawn, 3.0, rng.uniform(0.3, 0.6))
    pale = np.array([200, 170, 130], np.float32).reshape(3, 1, 1) / 255.0
    return lerp(organ, pale * shade, amount)


# -- landmarks' appearance --------------------------------------------------------------------

def ridge_fold(canvas: Canvas, rng, image, rim_fade, curve, underside_is_positive):
    """Darken the fold's underside and light its crest along a ridge curve, in place."""
    scale = canvas.scale
    depth, width = rng.uniform(0.35, 0.65), rng.uniform(25, 70) * scale
    crest, crest_width = rng.uniform(0.1, 0.3), rng.uniform(4, 10) * scale
    distance, signed, near_taper = canvas.curve_field(curve, end_taper(len(curve), 0.08))
    # Anti-aliased choice of side: a one-pixel ramp across the exact curve.
    underside = np.clip(0.5 + (signed if underside_is_positive else -signed), 0.0, 1.0)
    dark = np.exp(distance / -width) * depth
    light = np.exp(distance / -crest_width) * crest
    factor = light - (dark + light) * underside
    factor *= near_taper
    factor *= rim_fade
    factor += 1.0
    image *= factor


def ligament_band(canvas: Canvas, rng, image, organ_alpha, curve):
    """Draw a pale fibrous band with a soft shadow on one side, fading in at its lower end."""
    scale = canvas.scale
    half_width = rng.uniform(7, 16) * scale
    colour = random_colour(rng, [190, 140, 120], [235, 200, 180])
    shadow = rng.uniform(0.2, 0.45)
    taper = np.clip(np.linspace(0.0, 1.0, len(curve)) / LIGAMENT_FADE, 0.0, 1.0)
    distance, signed, near_taper = canvas.curve_field(curve, taper)
    visible = near_taper * organ_alpha
    edge = max(1.0, 0.4 * half_width)
    band = np.clip((half_width - distance) / edge + 0.5, 0.0, 1.0) * visible
    beyond = np.maximum(distance - half_width, 0.0) / (1.5 * half_width)
    shadow_side = np.clip(0.5 + signed, 0.0, 1.0)
    darken = np.exp(-beyond) * shadow * shadow_side * visible * (1.0 - band)
    image *= 1.0 - darken
    fibres = 1.0 + 0.12 * canvas.noise(9, (16, 64, 128))
    return lerp(image, colour * fibres, band)


def instrument_over(canvas: Canvas, image, alpha, layer):
    """Draw an instrument layer with its soft shadow over the image."""
    shadow = cv2.GaussianBlur(alpha, (0, 0), max(1.0, 0.03 * canvas.height)) * np.float32(0.4)
    image *= 1.0 - shadow
    return lerp(image, layer, alpha)


# -- camera -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CameraSettings:
    """One frame's camera-effect parameters, drawn together in a fixed order."""

    smoke: bool
    smoke_opacity: float
    gain: float
    vignetting: float
    light: np.ndarray
    blur: bool
    blur_sigma: float
    noise_sigma: float
    tint: np.ndarray

    @classmethod
    def draw(cls, rng, config, canvas: Canvas) -> 'CameraSettings':
        """Draw every parameter, used or not, so that switching one effect off keeps the rest."""
        return cls(smoke=rng.random() < config.smoke_probability,
                   smoke_opacity=rng.uniform(0.08, config.smoke_max_opacity),
                   gain=rng.uniform(*config.gain_range),
                   vignetting=rng.uniform(0.0, config.vignetting_max),
                   light=rng.uniform([0.3, 0.3], [0.7, 0.7]) * (canvas.width, canvas.height),
                   blur=rng.random() < config.blur_probability,
                   blur_sigma=rng.uniform(0.5, config.blur_max_sigma_px) * canvas.scale,
                   noise_sigma=rng.uniform(0.0, config.noise_max_sigma),
                   tint=rng.uniform(0.92, 1.08, 3).astype(np.float32).reshape(3, 1, 1))


def specular_highlights(canvas: Canvas, config, image, organ_alpha):
    """Small white glints on the wet organ."""
    rng = np.random.default_rng([canvas.seed, 12])
    low, high = config.specular_count
    drawn = np.zeros((canvas.height, canvas.width), np.uint8)
    count = int(rng.integers(low, high + 1))
    centres = rng.uniform(0, 1, (count, 2)) * (canvas.width, canvas.height)
    axes = rng.uniform(1.5, 9, (count, 2)) * canvas.scale
    angles = rng.uniform(0, 180, count)
    for (x, y), (a, b), angle in zip(centres, axes, angles):
        cv2.ellipse(drawn, (int(x), int(y)), (max(1, int(a)), max(1, int(b))), angle,
                    0, 360, 255, -1, cv2.LINE_AA)
    amount = canvas.blurred(drawn, 1.5, 1.0) * organ_alpha
    return lerp(image, np.float32(1.0), amount)


def smoke(canvas: Canvas, image, settings: CameraSettings):
    """Blend in a low-frequency grey haze (surgical smoke), in frames drawn to have it."""
    if not settings.smoke:
        return image
    haze = np.clip(0.6 + 0.6 * canvas.noise(10, (2, 4, 8)), 0.0, 1.0) * settings.smoke_opacity
    return lerp(image, np.float32(0.8), haze)


def lighting(canvas: Canvas, image, settings: CameraSettings):
    """Vignetting around an off-centre light, a global gain and a colour tint, in place."""
    radius2 = ((canvas.xs - settings.light[0]) ** 2 + (canvas.ys - settings.light[1]) ** 2) / (
        0.5 * (canvas.width ** 2 + canvas.height ** 2))
    image *= (1.0 - settings.vignetting * np.clip(radius2 * 2.0, 0.0, 1.0)) * settings.gain
    image *= settings.tint
    return image


def blur(canvas: Canvas, image, settings: CameraSettings):
    """Gaussian defocus blur, in place, in frames drawn to have it."""
    if settings.blur:
        for plane in image:
            cv2.GaussianBlur(plane, (0, 0), settings.blur_sigma, dst=plane)
    return image


def sensor_noise(canvas: Canvas, image, settings: CameraSettings):
    """Additive Gaussian noise (on the 0..255 scale of the image passed in)."""
    if settings.noise_sigma > 0:
        noise_rng = np.random.default_rng([canvas.seed, 11])
        codes = noise_rng.integers(0, 256, image.shape, dtype=np.uint8)
        image += (_GAUSSIAN_QUANTILES * np.float32(settings.noise_sigma))[codes]
    return image


def to_rgb8(image, fov):
    """Round and saturate planar 0..255 floats to HxWx3 uint8 RGB, black outside the view."""
    planes = [cv2.convertScaleAbs(plane) for plane in image]   # rounds and saturates
    rgb = cv2.merge(planes)
    rgb[~np.broadcast_to(fov, rgb.shape[:2])] = 0
    return rgb


#: Camera effects on the 0..1 image, in order, by the name that disables them.
CAMERA_EFFECTS = (('smoke', smoke), ('lighting', lighting), ('blur', blur))


def apply_camera_effects(canvas: Canvas, config, rng, image, organ_alpha, fov):
    """Apply highlights, then :data:`CAMERA_EFFECTS`, then noise; return HxWx3 uint8 RGB."""
    disabled = config.disabled_effects
    if 'specular' not in disabled:
        image = specular_highlights(canvas, config, image, organ_alpha)
    settings = CameraSettings.draw(rng, config, canvas)
    for name, effect in CAMERA_EFFECTS:
        if name not in disabled:
            image = effect(canvas, image, settings)
    image *= 255.0
    if 'noise' not in disabled:
        image = sensor_noise(canvas, image, settings)
    return to_rgb8(image, fov)


# -- curve fields -----------------------------------------------------------------------------

def end_taper(count, fraction):
    """Ramp from 0 to 1 over the first and last fraction of a curve's vertices."""
    t = np.linspace(0.0, 1.0, count)
    return np.clip(np.minimum(t, 1.0 - t) / fraction, 0.0, 1.0)


def _curve_field(points, taper, width, height):
    """Compute :meth:`Canvas.curve_field`'s fields on a width x height pixel grid."""
    pixels = np.round(points * 8).astype(np.int32)
    drawn = np.full((height, width), 255, np.uint8)
    cv2.polylines(drawn, [pixels.reshape(-1, 1, 2)], False, 0, 1, cv2.LINE_8, shift=3)
    distance, labels = cv2.distanceTransformWithLabels(
        drawn, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    rows, cols = np.nonzero(drawn == 0)   # row-major, the order of the labels
    tangents = np.gradient(points, axis=0)
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True) + 1e-9
    vertex = _nearest_vertex(points, np.stack([cols, rows], axis=1).astype(np.float64))
    normal_x, normal_y = -tangents[vertex, 1], tangents[vertex, 0]
    table = np.zeros((len(rows) + 1, 4), np.float32)
    table[1:, 0], table[1:, 1] = normal_x, normal_y
    table[1:, 2] = -(points[vertex, 0] * normal_x + points[vertex, 1] * normal_y)
    table[1:, 3] = taper[vertex]
    nearest = table[labels]
    xs = np.arange(width, dtype=np.float32)[None, :]
    ys = np.arange(height, dtype=np.float32)[:, None]
    signed = nearest[..., 0] * xs + nearest[..., 1] * ys + nearest[..., 2]
    return distance, signed, np.ascontiguousarray(nearest[..., 3])


def _nearest_vertex(points, queries, chunk=4096):
    """Index of the nearest polyline vertex for each query point (chunked brute force)."""
    result = np.empty(len(queries), np.int64)
    for start in range(0, len(queries), chunk):
        block = queries[start:start + chunk]
        d2 = ((block[:, None, :] - points[None, :, :]) ** 2).sum(-1)
        result[start:start + chunk] = np.argmin(d2, axis=1)
    return result

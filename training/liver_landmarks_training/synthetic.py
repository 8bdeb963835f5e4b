# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Seeded synthetic laparoscopic liver frames with exact landmark polylines.

:func:`render_frame` draws a liver-like organ over a reddish abdominal background
and returns the frame, the exact polylines of its three landmarks and the label
mask rasterised from them with :func:`liver_landmarks.p2ilf_io.rasterise_contours`:

* silhouette: the organ's occluding contour where it is visible in the frame,
  drawn as a shading edge (the organ darkens towards its rim and casts a shadow);
* ridge: a curved crease inside the organ, dark on the fold's underside and lit
  along its crest;
* falciform ligament: a pale band from the inside of the organ up to its
  silhouette (absent in some frames).

Then come, at random, a surgical instrument (landmarks behind it are not labelled),
a black border or circular field of view, specular highlights, smoke, vignetting and
gain, blur and noise. The scene is drawn in coordinates relative
to the frame, so one seed gives the same scene at any resolution; every random
choice comes from ``np.random.default_rng(seed)`` (and generators derived from
the seed), so a frame is reproducible bit for bit on one platform.
"""

from dataclasses import dataclass, field
import math

import cv2
from liver_landmarks import p2ilf_io
from liver_landmarks.drawing import line_thickness
from liver_landmarks.landmarks import Landmark, LANDMARKS
import numpy as np
from scipy.special import ndtri

#: Reference image height that the pixel lengths in :class:`SyntheticConfig` refer to.
REFERENCE_ROWS = 1080
#: Effects that :attr:`SyntheticConfig.disabled_effects` can switch off.
EFFECTS = frozenset({'specular', 'smoke', 'lighting', 'blur', 'noise'})
#: From this many rows on, curve distance fields are computed at half size (speed).
_HALF_SIZE_FIELDS_FROM_ROWS = 720
#: Fraction of the ligament's length over which it fades into the organ at its lower end.
_LIGAMENT_FADE = 0.06
#: Standard normal quantiles of 256 equally likely codes: Gaussian pixel noise from uint8
#: draws, several times faster than drawing normals at 1920x1080.
_GAUSSIAN_QUANTILES = ndtri((np.arange(256) + 0.5) / 256).astype(np.float32)


@dataclass(frozen=True)
class SyntheticConfig:
    """Probabilities and ranges of the generator; lengths in pixels at 1080 rows."""

    #: Chance that a frame shows a falciform ligament.
    ligament_probability: float = 0.8
    #: Chance of a second ridge segment (real frames often show two).
    second_ridge_probability: float = 0.35
    #: Chance of a second lobe overlapping the main one.
    second_lobe_probability: float = 0.6
    #: Relative weights of the field-of-view styles: none, black border bars, circle.
    fov_weights: tuple[float, float, float] = (0.35, 0.3, 0.35)
    #: Chance of a surgical instrument entering from the frame's edge; it hides what it covers.
    instrument_probability: float = 0.3
    #: Chance of pale fatty spots on the organ (as in P2ILF's patient 1).
    spots_probability: float = 0.4
    #: Number of specular highlights: uniform in this range.
    specular_count: tuple[int, int] = (10, 120)
    #: Chance of a smoke haze, and its strongest opacity.
    smoke_probability: float = 0.3
    smoke_max_opacity: float = 0.4
    #: Chance of a blurred frame, and the largest Gaussian sigma.
    blur_probability: float = 0.5
    blur_max_sigma_px: float = 3.0
    #: Largest standard deviation of the additive pixel noise (0..255 scale).
    noise_max_sigma: float = 8.0
    #: Range of the global gain (lighting changes) and the strongest vignetting.
    gain_range: tuple[float, float] = (0.7, 1.25)
    vignetting_max: float = 0.6
    #: Landmark curves shorter than this (visible part) are dropped.
    min_contour_length_px: float = 60.0
    #: Distance that ridges keep from the silhouette.
    ridge_margin_px: float = 25.0
    #: Spacing of the returned polyline vertices, in output pixels.
    sample_step_px: float = 2.0
    #: Label line width at 1080 rows (None: rasterise_contours' default, 12 px).
    label_thickness_px: float | None = None
    #: Effects to leave out (names from :data:`EFFECTS`), e.g. {'smoke', 'blur', 'noise'}.
    disabled_effects: frozenset = field(default_factory=frozenset)

    def __post_init__(self):
        """Refuse effect names that do not exist, so that a typo is not silently ignored."""
        unknown = set(self.disabled_effects) - EFFECTS
        if unknown:
            raise ValueError(f'unknown effects {sorted(unknown)}; known: {sorted(EFFECTS)}')


@dataclass
class SyntheticFrame:
    """One generated frame and its exact annotation."""

    image: np.ndarray                               # HxWx3 uint8 RGB
    contours: dict[Landmark, list[np.ndarray]]      # exact polylines (N,2) float32 (x, y)
    labels: np.ndarray                              # HxW uint8 ids rasterised from the contours


@dataclass
class _Lobe:
    """A smooth star-shaped blob: an ellipse with a few low harmonics on its radius."""

    centre: np.ndarray      # (2,) pixels
    radii: np.ndarray       # (2,) pixels
    angle: float            # radians
    amplitudes: np.ndarray  # (K,)
    phases: np.ndarray      # (K,)

    def _radius(self, theta):
        orders = np.arange(2, 2 + len(self.amplitudes))
        waves = np.cos(np.multiply.outer(theta, orders) + self.phases)
        return 1.0 + waves @ self.amplitudes

    def boundary(self, spacing_px: float = 1.0) -> np.ndarray:
        """Return the closed boundary, (N, 2) (x, y), vertices about spacing_px apart."""
        count = max(64, int(math.ceil(2.6 * math.pi * self.radii.max() / spacing_px)))
        theta = np.linspace(0.0, 2.0 * math.pi, count, endpoint=False)
        return self.to_image(theta, self._radius(theta))

    def to_image(self, theta, rho) -> np.ndarray:
        local = np.stack([rho * np.cos(theta) * self.radii[0],
                          rho * np.sin(theta) * self.radii[1]], axis=-1)
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        rotation = np.array([[cos, -sin], [sin, cos]])
        return local @ rotation.T + self.centre

    def contains(self, points: np.ndarray, tolerance: float = 0.0) -> np.ndarray:
        """Whether each point lies inside, shrunk by tolerance (relative radius)."""
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        shifted = np.asarray(points, dtype=np.float64) - self.centre
        local_x = (shifted[..., 0] * cos + shifted[..., 1] * sin) / self.radii[0]
        local_y = (-shifted[..., 0] * sin + shifted[..., 1] * cos) / self.radii[1]
        theta = np.arctan2(local_y, local_x)
        return np.hypot(local_x, local_y) < self._radius(theta) * (1.0 - tolerance)


def render_frame(seed: int, width: int = 1920, height: int = 1080,
                 config: SyntheticConfig = SyntheticConfig()) -> SyntheticFrame:
    """Render one synthetic frame; the same arguments always give the same frame."""
    if width < 32 or height < 32:
        raise ValueError(f'synthetic frames need at least 32x32 pixels, got {width}x{height}')
    return _Renderer(seed, width, height, config).render()


class _Renderer:
    """Draws one frame; split into steps so that each stays readable.

    Colour layers are planar ``(3, H, W)`` float32 in 0..1 while drawing: per-pixel
    factors of shape ``(H, W)`` then broadcast over the leading axis, which is
    several times faster than over a trailing channel axis at 1920x1080.
    """

    def __init__(self, seed, width, height, config):
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.width, self.height = width, height
        self.config = config
        self.scale = height / REFERENCE_ROWS
        self.xs = np.arange(width, dtype=np.float32)[None, :]
        self.ys = np.arange(height, dtype=np.float32)[:, None]

    # -- helpers -----------------------------------------------------------------
    def _enabled(self, effect):
        return effect not in self.config.disabled_effects

    def _noise(self, stream, octaves=(4, 8, 16, 32), persistence=0.55):
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

    def _colour(self, low, high):
        """Return a random RGB colour as a (3, 1, 1) float32 array in 0..1."""
        return (self.rng.uniform(low, high) / 255.0).astype(np.float32).reshape(3, 1, 1)

    def _reddish(self, red_range, green_ratio, blue_over_green):
        """Return a random red-dominated colour: green a fraction of red, blue of green.

        Tying blue to green keeps hues between red, pink and purple-brown, never olive.
        """
        red = self.rng.uniform(*red_range)
        green = red * self.rng.uniform(*green_ratio)
        blue = min(red, green * self.rng.uniform(*blue_over_green))
        return (np.array([red, green, blue]) / 255.0).astype(np.float32).reshape(3, 1, 1)

    def _blurred_canvas(self, canvas, sigma_px, strength):
        """Blur a drawn uint8 canvas into an (H, W) float32 amount in 0..strength."""
        blurred = cv2.GaussianBlur(canvas, (0, 0), max(0.5, sigma_px * self.scale))
        return blurred.astype(np.float32) * np.float32(strength / 255.0)

    def _curve(self, start, end, bow, wiggle, wiggle_phase, count=400):
        """Return a smooth open curve from start to end, bent by bow and a sine wiggle (pixels)."""
        t = np.linspace(0.0, 1.0, count)[:, None]
        direction = end - start
        normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) + 1e-9)
        offset = bow * 4.0 * t * (1.0 - t) + wiggle * np.sin(
            2.0 * math.pi * 1.3 * t + wiggle_phase) * np.sin(math.pi * t)
        return start + t * direction + offset * normal

    def _curve_field(self, points, taper):
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

    # -- scene ---------------------------------------------------------------------
    def render(self):
        cfg = self.config
        lobes = self._lobes()
        fov = self._field_of_view()
        instrument = self._instrument()
        # Landmarks are labelled only where they can be seen: inside the field of view
        # and not behind the instrument.
        view = fov if instrument is None else fov & (instrument[0] < 0.5)
        image, organ_alpha, inside_distance = self._organ_over_background(lobes)
        contours = {landmark: [] for landmark in LANDMARKS}
        contours[Landmark.SILHOUETTE] = self._silhouette(lobes, view)
        margin = cfg.ridge_margin_px * self.scale
        # Creases fade out near the rim, where they are not labelled either.
        rim_fade = np.clip(inside_distance / max(margin, 1.0) - 0.5, 0.0, 1.0) * organ_alpha
        visible = self._point_test(view, inside_distance, margin)
        ridges = [self._ridge_curve(lobes[0])]
        if self.rng.random() < cfg.second_ridge_probability:
            ridges.append(self._ridge_curve(lobes[-1]))
        for curve, underside in ridges:
            self._shade_ridge(image, rim_fade, curve, underside)
            contours[Landmark.RIDGE] += self._visible_runs(curve, visible(curve))
        if self.rng.random() < cfg.ligament_probability:
            curve = self._ligament_curve(lobes[0])
            touching = self._point_test(view, inside_distance, 1.0)
            faded_in = np.linspace(0.0, 1.0, len(curve)) >= _LIGAMENT_FADE / 2
            image = self._draw_ligament(image, organ_alpha, curve)
            contours[Landmark.LIGAMENT] = self._visible_runs(curve, touching(curve) & faded_in)
        if instrument is not None:
            image = self._draw_instrument(image, *instrument)
            organ_alpha = organ_alpha * (1.0 - instrument[0])
        image = self._finish(image, organ_alpha, fov)
        contour_list = p2ilf_io.contours_from_polylines(contours)
        kwargs = {}
        if cfg.label_thickness_px is not None:
            kwargs['thickness'] = line_thickness(self.height, cfg.label_thickness_px)
        labels = p2ilf_io.rasterise_contours(contour_list, self.width, self.height, **kwargs)
        return SyntheticFrame(image=image, contours=contours, labels=labels)

    def _lobes(self):
        rng, w, h = self.rng, self.width, self.height
        main = _Lobe(centre=np.array([rng.uniform(0.35, 0.65) * w, rng.uniform(0.55, 0.95) * h]),
                     radii=np.array([rng.uniform(0.45, 0.75) * w, rng.uniform(0.45, 0.75) * h]),
                     angle=rng.uniform(-0.35, 0.35),
                     amplitudes=rng.uniform(-1, 1, 4) * np.array([0.08, 0.05, 0.03, 0.02]),
                     phases=rng.uniform(0, 2 * math.pi, 4))
        lobes = [main]
        if rng.random() < self.config.second_lobe_probability:
            side = rng.choice([-1.0, 1.0])
            centre = main.centre + np.array([side * rng.uniform(0.35, 0.6) * main.radii[0],
                                             rng.uniform(0.0, 0.35) * main.radii[1]])
            lobes.append(_Lobe(centre=centre,
                               radii=main.radii * rng.uniform(0.45, 0.75, 2),
                               angle=rng.uniform(-0.6, 0.6),
                               amplitudes=rng.uniform(-1, 1, 3) * np.array([0.06, 0.04, 0.02]),
                               phases=rng.uniform(0, 2 * math.pi, 3)))
        return lobes

    def _field_of_view(self):
        """Return the visible-area mask (bool HxW) of a random field-of-view style."""
        rng, w, h = self.rng, self.width, self.height
        weights = np.asarray(self.config.fov_weights, dtype=np.float64)
        style = rng.choice(3, p=weights / weights.sum())
        left, right = rng.uniform(0.02, 0.12, 2) * w
        top, bottom = rng.uniform(0.0, 0.05, 2) * h
        centre = np.array([rng.uniform(0.47, 0.53) * w, rng.uniform(0.45, 0.55) * h])
        radius = rng.uniform(0.48, 0.62) * w
        if style == 1:
            return ((self.xs >= left) & (self.xs <= w - 1 - right)
                    & (self.ys >= top) & (self.ys <= h - 1 - bottom))
        if style == 2:
            return (self.xs - centre[0]) ** 2 + (self.ys - centre[1]) ** 2 <= radius ** 2
        return np.ones((h, w), bool)

    def _instrument(self):
        """Return ``(alpha, colour layer)`` of a grasper entering from an edge, or None.

        Its parameters are drawn whether or not it is shown, so that a frame with
        and without it (``instrument_probability`` 1 or 0) shows the same scene.
        """
        rng, w, h = self.rng, self.width, self.height
        present = rng.random() < self.config.instrument_probability
        side, along, tilt = int(rng.integers(4)), rng.uniform(0.15, 0.85), rng.uniform(-0.5, 0.5)
        length, half_width = rng.uniform(0.25, 0.55) * w, rng.uniform(0.025, 0.045) * h
        grey = rng.uniform(0.55, 0.8) if rng.random() < 0.5 else rng.uniform(0.08, 0.18)
        stripe, jaw = rng.uniform(-0.5, 0.5), rng.uniform(0.08, 0.15) * length
        if not present:
            return None
        entry, inward = [((0, along * h), (1, 0)), ((w - 1, along * h), (-1, 0)),
                         ((along * w, h - 1), (0, -1)), ((along * w, 0), (0, 1))][side]
        cos, sin = math.cos(tilt), math.sin(tilt)
        direction = np.array([inward[0] * cos - inward[1] * sin,
                              inward[0] * sin + inward[1] * cos])
        normal = np.array([-direction[1], direction[0]])
        start = np.asarray(entry, np.float64) - direction * 2 * half_width
        tip = np.asarray(entry, np.float64) + direction * length
        alpha = np.zeros((h, w), np.uint8)
        parts = ((start, tip, half_width), (tip, tip + direction * jaw, 0.55 * half_width))
        for a, b, half in parts:
            corners = np.array([a + normal * half, b + normal * half, b - normal * half,
                                a - normal * half])
            cv2.fillPoly(alpha, [np.round(corners * 8).astype(np.int32)], 255, cv2.LINE_AA, 3)
        alpha = alpha.astype(np.float32) * np.float32(1.0 / 255.0)
        across = ((self.xs - start[0]) * normal[0] + (self.ys - start[1]) * normal[1]) / half_width
        # A lit cylinder: brightest across its middle, with a sharp highlight stripe.
        shade = 0.35 + 0.65 * np.sqrt(np.clip(1.0 - across * across, 0.0, 1.0))
        shade += 0.8 * np.exp(-((across - stripe) / 0.18) ** 2)
        tint = np.array([1.0, 1.0, 1.05], np.float32).reshape(3, 1, 1)
        return alpha, np.float32(grey) * tint * shade

    def _draw_instrument(self, image, alpha, layer):
        shadow = cv2.GaussianBlur(alpha, (0, 0), max(1.0, 0.03 * self.height)) * np.float32(0.4)
        image *= 1.0 - shadow
        return _lerp(image, layer, alpha)

    def _organ_over_background(self, lobes):
        rng, scale = self.rng, self.scale
        # Ranges span saturated red tissue to the greyish pink and purple-brown of P2ILF.
        background_colour = self._reddish((130, 210), (0.3, 0.7), (0.95, 1.3))
        organ_colour = self._reddish((85, 160), (0.35, 0.7), (0.9, 1.35))
        texture_strength, shadow_width = rng.uniform(0.12, 0.3), rng.uniform(30, 80) * scale
        shadow_depth = rng.uniform(0.1, 0.4)
        rim_darkening, rim_width = rng.uniform(0.2, 0.5), rng.uniform(25, 90) * scale
        # Wet tissue often catches the light right along the occluding edge.
        sheen, sheen_width = rng.uniform(0.0, 0.35), rng.uniform(2, 6) * scale

        mask = np.zeros((self.height, self.width), np.uint8)
        for lobe in lobes:
            polygon = np.round(lobe.boundary() * 8).astype(np.int32).reshape(-1, 1, 2)
            cv2.fillPoly(mask, [polygon], 255, cv2.LINE_AA, shift=3)
        alpha = mask.astype(np.float32) * np.float32(1.0 / 255.0)
        inside = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 5)
        outside = cv2.distanceTransform((mask <= 127).astype(np.uint8), cv2.DIST_L2, 5)

        shade = (1.0 + 0.25 * self._noise(1)) * (
            1.0 - shadow_depth * np.exp(-outside / shadow_width))
        background = background_colour * shade
        background = self._add_fat(background, shade)
        background = self._add_vessels(background, 2, (120, 20, 30), count=6, width_px=3,
                                       strength=0.7)

        shade = (1.0 + texture_strength * self._noise(3, (6, 12, 24, 48, 96)))
        shade *= 1.0 - rim_darkening * np.exp(-inside / rim_width)
        shade += sheen * np.exp(-inside / sheen_width)
        organ = organ_colour * shade
        organ = self._add_vessels(organ, 4, (70, 20, 25), count=4, width_px=4, strength=0.45)
        if rng.random() < self.config.spots_probability:
            organ = self._add_spots(organ, shade)
        organ -= background
        organ *= alpha
        organ += background
        return organ, alpha, inside

    def _add_fat(self, background, shade):
        amount = np.clip((self._noise(5, (3, 6, 12, 24)) - self.rng.uniform(0.25, 0.6)) * 4.0,
                         0.0, 1.0)
        fat = self._colour([190, 150, 70], [230, 200, 120]) * (
            shade * (1.0 + 0.15 * self._noise(6, (32, 64))))
        return _lerp(background, fat, amount)

    def _add_vessels(self, layer, stream, colour, count, width_px, strength):
        rng = np.random.default_rng([self.seed, stream, 7])
        canvas = np.zeros((self.height, self.width), np.uint8)
        for _ in range(int(rng.integers(1, count + 1))):
            point = rng.uniform(0, 1, 2) * (self.width, self.height)
            heading = rng.uniform(0, 2 * math.pi)
            steps = []
            for _ in range(40):
                heading += rng.normal(0.0, 0.35)
                step = np.array([math.cos(heading), math.sin(heading)])
                point = point + 0.012 * self.height * step
                steps.append(point)
            thickness = max(1, int(round(width_px * self.scale * rng.uniform(0.5, 1.2))))
            pts = np.round(np.array(steps) * 8).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [pts], False, 255, thickness, cv2.LINE_AA, shift=3)
        amount = self._blurred_canvas(canvas, 1.2, strength)
        return _lerp(layer, np.asarray(colour, np.float32).reshape(3, 1, 1) / 255.0, amount)

    def _add_spots(self, organ, shade):
        rng = np.random.default_rng([self.seed, 8])
        canvas = np.zeros((self.height, self.width), np.uint8)
        count = int(rng.integers(60, 300))
        centres = rng.uniform(0, 1, (count, 2)) * (self.width, self.height)
        radii = rng.uniform(3, 14, count) * self.scale
        for (x, y), r in zip(centres, radii):
            cv2.circle(canvas, (int(x), int(y)), max(1, int(r)), 255, -1, cv2.LINE_AA)
        amount = self._blurred_canvas(canvas, 3.0, rng.uniform(0.3, 0.6))
        pale = np.array([200, 170, 130], np.float32).reshape(3, 1, 1) / 255.0
        return _lerp(organ, pale * shade, amount)

    # -- landmarks -------------------------------------------------------------
    def _ridge_curve(self, lobe):
        """Return a crease curve across the lobe and whether its +normal side is the underside."""
        rng, h = self.rng, self.height
        mid = lobe.centre
        for _ in range(30):
            candidate = rng.uniform([0.12, 0.2], [0.88, 0.85]) * (self.width, h)
            if lobe.contains(candidate, tolerance=0.2):
                mid = candidate
                break
        angle = rng.uniform(-0.6, 0.6) + (math.pi if rng.random() < 0.5 else 0.0)
        half_length = rng.uniform(0.2, 0.45) * self.width
        direction = np.array([math.cos(angle), math.sin(angle)]) * half_length
        curve = self._curve(mid - direction, mid + direction,
                            bow=rng.uniform(-0.12, 0.12) * h, wiggle=rng.uniform(0, 0.04) * h,
                            wiggle_phase=rng.uniform(0, 2 * math.pi))
        normal_points_down = direction[0] > 0   # +normal is (-dy, dx): its y component is dx
        underside_is_positive = normal_points_down == (rng.random() < 0.8)
        return curve, underside_is_positive

    def _shade_ridge(self, image, rim_fade, curve, underside_is_positive):
        """Darken the fold's underside and light its crest, in place."""
        rng, scale = self.rng, self.scale
        depth, width = rng.uniform(0.35, 0.65), rng.uniform(25, 70) * scale
        crest, crest_width = rng.uniform(0.1, 0.3), rng.uniform(4, 10) * scale
        distance, signed, near_taper = self._curve_field(curve, _end_taper(len(curve), 0.08))
        # Anti-aliased choice of side: a one-pixel ramp across the exact curve.
        underside = np.clip(0.5 + (signed if underside_is_positive else -signed), 0.0, 1.0)
        dark = np.exp(distance / -width) * depth
        light = np.exp(distance / -crest_width) * crest
        factor = light - (dark + light) * underside
        factor *= near_taper
        factor *= rim_fade
        factor += 1.0
        image *= factor

    def _ligament_curve(self, lobe):
        rng, h = self.rng, self.height
        theta = -math.pi / 2 + rng.uniform(-0.7, 0.7) - lobe.angle
        top = lobe.to_image(np.array([theta]), lobe._radius(np.array([theta])) * 1.04)[0]
        tilt = rng.uniform(-0.45, 0.45)
        length = rng.uniform(0.3, 0.6) * h
        bottom = top + length * np.array([math.sin(tilt), math.cos(tilt)])
        return self._curve(bottom, top, bow=rng.uniform(-0.08, 0.08) * h,
                           wiggle=rng.uniform(0, 0.015) * h,
                           wiggle_phase=rng.uniform(0, 2 * math.pi))

    def _draw_ligament(self, image, organ_alpha, curve):
        rng, scale = self.rng, self.scale
        half_width = rng.uniform(7, 16) * scale
        colour = self._colour([190, 140, 120], [235, 200, 180])
        shadow = rng.uniform(0.2, 0.45)
        taper = np.clip(np.linspace(0.0, 1.0, len(curve)) / _LIGAMENT_FADE, 0.0, 1.0)
        distance, signed, near_taper = self._curve_field(curve, taper)
        visible = near_taper * organ_alpha
        edge = max(1.0, 0.4 * half_width)
        band = np.clip((half_width - distance) / edge + 0.5, 0.0, 1.0) * visible
        beyond = np.maximum(distance - half_width, 0.0) / (1.5 * half_width)
        shadow_side = np.clip(0.5 + signed, 0.0, 1.0)
        darken = np.exp(-beyond) * shadow * shadow_side * visible * (1.0 - band)
        image *= 1.0 - darken
        fibres = 1.0 + 0.12 * self._noise(9, (16, 64, 128))
        return _lerp(image, colour * fibres, band)

    def _silhouette(self, lobes, view):
        runs = []
        for index, lobe in enumerate(lobes):
            boundary = lobe.boundary(spacing_px=1.0)
            keep = self._in_view(boundary, view, 2.0)
            for other in lobes[:index] + lobes[index + 1:]:
                keep &= ~other.contains(boundary, tolerance=-0.002)
            runs += self._visible_runs(boundary, keep, closed=True)
        return runs

    def _in_view(self, points, view, margin_px):
        """Whether each point lies in the frame and the visible area, margin_px from its edge."""
        x, y = points[:, 0], points[:, 1]
        inside = ((x >= margin_px) & (x <= self.width - 1 - margin_px)
                  & (y >= margin_px) & (y <= self.height - 1 - margin_px))
        cols = np.clip(np.round(x).astype(int), 0, self.width - 1)
        rows = np.clip(np.round(y).astype(int), 0, self.height - 1)
        eroded = cv2.erode(view.astype(np.uint8), np.ones((3, 3), np.uint8),
                           iterations=max(1, int(round(margin_px))))
        return inside & eroded[rows, cols].astype(bool)

    def _point_test(self, view, inside_distance, margin_px):
        def visible(points):
            in_view = self._in_view(points, view, 2.0)
            cols = np.clip(np.round(points[:, 0]).astype(int), 0, self.width - 1)
            rows = np.clip(np.round(points[:, 1]).astype(int), 0, self.height - 1)
            return in_view & (inside_distance[rows, cols] > margin_px)
        return visible

    def _visible_runs(self, points, keep, closed=False):
        """Split a curve into its kept runs, resampled, dropping the short ones."""
        keep = np.asarray(keep, bool)
        if closed and keep.all():
            pieces = [np.vstack([points, points[:1]])]
        else:
            if closed and keep[0] and keep[-1]:
                start = int(np.argmin(keep))   # rotate so that no run wraps around the end
                points, keep = np.roll(points, -start, axis=0), np.roll(keep, -start)
            edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
            pieces = [points[a:b] for a, b in zip(edges[::2], edges[1::2]) if b - a >= 2]
        minimum = self.config.min_contour_length_px * self.scale
        runs = []
        for piece in pieces:
            resampled = _resample(piece, self.config.sample_step_px)
            if _length(resampled) >= minimum:
                runs.append(resampled.astype(np.float32))
        return runs

    # -- camera effects -------------------------------------------------------------
    def _finish(self, image, organ_alpha, fov):
        """Apply highlights, smoke, lighting, blur and noise; return HxWx3 uint8 RGB."""
        rng, scale = self.rng, self.scale
        image = self._add_specular(image, organ_alpha)
        smoke = rng.random() < self.config.smoke_probability
        smoke_opacity = rng.uniform(0.08, self.config.smoke_max_opacity)
        gain = rng.uniform(*self.config.gain_range)
        vignetting = rng.uniform(0.0, self.config.vignetting_max)
        light = rng.uniform([0.3, 0.3], [0.7, 0.7]) * (self.width, self.height)
        blur = rng.random() < self.config.blur_probability
        sigma = rng.uniform(0.5, self.config.blur_max_sigma_px) * scale
        noise_sigma = rng.uniform(0.0, self.config.noise_max_sigma)
        tint = rng.uniform(0.92, 1.08, 3).astype(np.float32).reshape(3, 1, 1)

        if smoke and self._enabled('smoke'):
            haze = np.clip(0.6 + 0.6 * self._noise(10, (2, 4, 8)), 0.0, 1.0) * smoke_opacity
            image = _lerp(image, np.float32(0.8), haze)
        if self._enabled('lighting'):
            radius2 = ((self.xs - light[0]) ** 2 + (self.ys - light[1]) ** 2) / (
                0.5 * (self.width ** 2 + self.height ** 2))
            lighting = (1.0 - vignetting * np.clip(radius2 * 2.0, 0.0, 1.0)) * gain
            image *= lighting
            image *= tint
        if blur and self._enabled('blur'):
            for plane in image:
                cv2.GaussianBlur(plane, (0, 0), sigma, dst=plane)
        image *= 255.0
        if self._enabled('noise') and noise_sigma > 0:
            noise_rng = np.random.default_rng([self.seed, 11])
            codes = noise_rng.integers(0, 256, image.shape, dtype=np.uint8)
            image += (_GAUSSIAN_QUANTILES * np.float32(noise_sigma))[codes]
        planes = [cv2.convertScaleAbs(plane) for plane in image]   # rounds and saturates
        rgb = cv2.merge(planes)
        rgb[~np.broadcast_to(fov, rgb.shape[:2])] = 0
        return rgb

    def _add_specular(self, image, organ_alpha):
        if not self._enabled('specular'):
            return image
        rng = np.random.default_rng([self.seed, 12])
        low, high = self.config.specular_count
        canvas = np.zeros((self.height, self.width), np.uint8)
        count = int(rng.integers(low, high + 1))
        centres = rng.uniform(0, 1, (count, 2)) * (self.width, self.height)
        axes = rng.uniform(1.5, 9, (count, 2)) * self.scale
        angles = rng.uniform(0, 180, count)
        for (x, y), (a, b), angle in zip(centres, axes, angles):
            cv2.ellipse(canvas, (int(x), int(y)), (max(1, int(a)), max(1, int(b))), angle,
                        0, 360, 255, -1, cv2.LINE_AA)
        amount = self._blurred_canvas(canvas, 1.5, 1.0) * organ_alpha
        return _lerp(image, np.float32(1.0), amount)


def _lerp(layer, target, amount):
    """Blend planar layer towards target by an (H, W) amount: layer + amount * (target - layer)."""
    result = target - layer
    result *= amount
    result += layer
    return result


def _curve_field(points, taper, width, height):
    """Compute :meth:`_Renderer._curve_field`'s fields on a width x height pixel grid."""
    pixels = np.round(points * 8).astype(np.int32)
    canvas = np.full((height, width), 255, np.uint8)
    cv2.polylines(canvas, [pixels.reshape(-1, 1, 2)], False, 0, 1, cv2.LINE_8, shift=3)
    distance, labels = cv2.distanceTransformWithLabels(
        canvas, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    rows, cols = np.nonzero(canvas == 0)   # row-major, the order of the labels
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


def _end_taper(count, fraction):
    """Ramp from 0 to 1 over the first and last fraction of a curve's vertices."""
    t = np.linspace(0.0, 1.0, count)
    return np.clip(np.minimum(t, 1.0 - t) / fraction, 0.0, 1.0)


def _length(points):
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum()) if len(points) > 1 else 0.0


def _resample(points, step):
    """Resample a polyline at equal arc-length steps, keeping both end points."""
    points = np.asarray(points, np.float64)
    seglen = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seglen)])
    if arc[-1] <= 0:
        return points[:1]
    count = max(2, int(math.ceil(arc[-1] / step)) + 1)
    target = np.linspace(0.0, arc[-1], count)
    return np.stack([np.interp(target, arc, points[:, 0]),
                     np.interp(target, arc, points[:, 1])], axis=1)

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

Then come a black border or circular field of view, specular highlights, smoke,
vignetting and gain, blur and noise. The scene is drawn in coordinates relative
to the frame, so one seed gives the same scene at any resolution; every random
choice comes from ``np.random.default_rng(seed)`` (and generators derived from
the seed), so a frame is reproducible bit for bit on one platform.
"""

from dataclasses import dataclass, field
import math

import cv2
from liver_landmarks import p2ilf_io
from liver_landmarks.landmarks import Landmark, LANDMARKS
import numpy as np

#: Reference image height that the pixel lengths in :class:`SyntheticConfig` refer to.
REFERENCE_ROWS = 1080


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
    #: Extra keyword arguments for rasterise_contours (None: its default thickness).
    label_thickness_px: float | None = None
    #: Names of effects to leave out, e.g. {'smoke', 'blur', 'noise'} for clean frames.
    disabled_effects: frozenset = field(default_factory=frozenset)


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
    """Draws one frame; split into steps so that each stays readable."""

    def __init__(self, seed, width, height, config):
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.width, self.height = width, height
        self.config = config
        self.scale = height / REFERENCE_ROWS
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        self.grid_x, self.grid_y = xs / width, ys / height

    # -- helpers -----------------------------------------------------------------
    def _enabled(self, effect):
        return effect not in self.config.disabled_effects

    def _noise(self, stream, octaves=(4, 8, 16, 32), persistence=0.55):
        """Smooth fractal noise in about [-1, 1], from a generator derived from the seed."""
        rng = np.random.default_rng([self.seed, stream])
        aspect = self.width / self.height
        total = np.zeros((self.height, self.width), np.float32)
        amplitude, norm = 1.0, 0.0
        for cells in octaves:
            grid = rng.standard_normal((cells + 1, int(round(cells * aspect)) + 1))
            total += amplitude * cv2.resize(grid.astype(np.float32), (self.width, self.height),
                                            interpolation=cv2.INTER_CUBIC)
            norm += amplitude
            amplitude *= persistence
        return total / norm

    def _colour(self, low, high):
        return self.rng.uniform(low, high).astype(np.float32) / 255.0

    def _curve(self, start, end, bow, wiggle, wiggle_phase, count=400):
        """Return a smooth open curve from start to end, bent by bow and a sine wiggle (pixels)."""
        t = np.linspace(0.0, 1.0, count)[:, None]
        direction = end - start
        normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) + 1e-9)
        offset = bow * 4.0 * t * (1.0 - t) + wiggle * np.sin(
            2.0 * math.pi * 1.3 * t + wiggle_phase) * np.sin(math.pi * t)
        return start + t * direction + offset * normal

    def _curve_field(self, points, taper):
        """Distance to a polyline, signed side of its normal, and the taper of the nearest point.

        The polyline is drawn one segment at a time; the distance transform's labels
        find each pixel's nearest curve pixel, whose normal and taper we look up.
        """
        pixels = np.round(points * 8).astype(np.int32)
        canvas = np.full((self.height, self.width), 255, np.uint8)
        cv2.polylines(canvas, [pixels.reshape(-1, 1, 2)], False, 0, 1, cv2.LINE_8, shift=3)
        distance, labels = cv2.distanceTransformWithLabels(
            canvas, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
        rows, cols = np.nonzero(canvas == 0)
        # The nearest curve vertex of every curve pixel gives its normal and taper.
        curve_xy = np.stack([cols, rows], axis=1).astype(np.float64)
        tangents = np.gradient(points, axis=0)
        tangents /= np.linalg.norm(tangents, axis=1, keepdims=True) + 1e-9
        vertex = _nearest_vertex(points, curve_xy)
        table_nx = np.concatenate([[0.0], -tangents[vertex, 1]]).astype(np.float32)
        table_ny = np.concatenate([[0.0], tangents[vertex, 0]]).astype(np.float32)
        table_taper = np.concatenate([[0.0], taper[vertex]]).astype(np.float32)
        table_x = np.concatenate([[0.0], cols]).astype(np.float32)
        table_y = np.concatenate([[0.0], rows]).astype(np.float32)
        xs, ys = self.grid_x * self.width, self.grid_y * self.height
        side = np.sign((xs - table_x[labels]) * table_nx[labels]
                       + (ys - table_y[labels]) * table_ny[labels])
        return distance, side, table_taper[labels]

    # -- scene ---------------------------------------------------------------------
    def render(self):
        cfg = self.config
        lobes = self._lobes()
        fov = self._field_of_view()
        image, organ_alpha, inside_distance = self._organ_over_background(lobes)
        contours = {landmark: [] for landmark in LANDMARKS}
        contours[Landmark.SILHOUETTE] = self._silhouette(lobes, fov)
        visible = self._point_test(fov, inside_distance, cfg.ridge_margin_px * self.scale)
        ridges = [self._ridge_curve(lobes[0])]
        if self.rng.random() < cfg.second_ridge_probability:
            ridges.append(self._ridge_curve(lobes[-1]))
        for curve, underside in ridges:
            image = self._shade_ridge(image, organ_alpha, curve, underside)
            contours[Landmark.RIDGE] += self._visible_runs(curve, visible(curve))
        if self.rng.random() < cfg.ligament_probability:
            curve = self._ligament_curve(lobes[0])
            touching = self._point_test(fov, inside_distance, 1.0)
            image = self._draw_ligament(image, organ_alpha, curve)
            contours[Landmark.LIGAMENT] = self._visible_runs(curve, touching(curve))
        image = self._finish(image, organ_alpha, fov)
        contour_list = p2ilf_io.contours_from_polylines(contours)
        kwargs = {}
        if cfg.label_thickness_px is not None:
            kwargs['thickness'] = cfg.label_thickness_px * self.scale
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
        left, right = rng.uniform(0.02, 0.12, 2)
        top, bottom = rng.uniform(0.0, 0.05, 2)
        centre = np.array([rng.uniform(0.47, 0.53), rng.uniform(0.45, 0.55)])
        radius = rng.uniform(0.48, 0.62)
        if style == 1:
            return ((self.grid_x >= left) & (self.grid_x <= 1.0 - right)
                    & (self.grid_y >= top) & (self.grid_y <= 1.0 - bottom))
        if style == 2:
            dx = (self.grid_x - centre[0]) * w
            dy = (self.grid_y - centre[1]) * h
            return dx * dx + dy * dy <= (radius * w) ** 2
        return np.ones((h, w), bool)

    def _organ_over_background(self, lobes):
        rng, scale = self.rng, self.scale
        background_colour = self._colour([120, 45, 50], [185, 95, 100])
        organ_colour = self._colour([85, 35, 35], [150, 80, 90])
        texture_strength, shadow_width = rng.uniform(0.12, 0.3), rng.uniform(30, 80) * scale
        rim_darkening, rim_width = rng.uniform(0.3, 0.65), rng.uniform(25, 90) * scale

        mask = np.zeros((self.height, self.width), np.uint8)
        for lobe in lobes:
            polygon = np.round(lobe.boundary() * 8).astype(np.int32).reshape(-1, 1, 2)
            cv2.fillPoly(mask, [polygon], 255, cv2.LINE_AA, shift=3)
        alpha = mask.astype(np.float32)[..., None] / 255.0
        inside = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 5)
        outside = cv2.distanceTransform((mask <= 127).astype(np.uint8), cv2.DIST_L2, 5)

        background = background_colour * (1.0 + 0.25 * self._noise(1)[..., None])
        background = self._add_fat(background)
        background = self._add_vessels(background, 2, (120, 20, 30), count=6, width_px=3)
        background *= (1.0 - 0.55 * np.exp(-outside / shadow_width))[..., None]

        organ = organ_colour * (1.0 + texture_strength * self._noise(3, (6, 12, 24, 48, 96))[
            ..., None])
        organ = self._add_vessels(organ, 4, (70, 20, 25), count=4, width_px=4)
        if rng.random() < self.config.spots_probability:
            organ = self._add_spots(organ)
        organ *= (1.0 - rim_darkening * np.exp(-inside / rim_width))[..., None]
        return background * (1.0 - alpha) + organ * alpha, alpha, inside

    def _add_fat(self, background):
        field_ = self._noise(5, (3, 6, 12, 24))
        threshold = self.rng.uniform(0.25, 0.6)
        amount = np.clip((field_ - threshold) * 4.0, 0.0, 1.0)[..., None]
        fat = self._colour([190, 150, 70], [230, 200, 120]) * (
            1.0 + 0.15 * self._noise(6, (32, 64))[..., None])
        return background * (1.0 - amount) + fat * amount

    def _add_vessels(self, layer, stream, colour, count, width_px):
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
        amount = cv2.GaussianBlur(canvas, (0, 0), max(0.6, 1.2 * self.scale)).astype(
            np.float32)[..., None] / 255.0 * 0.7
        return layer * (1.0 - amount) + np.asarray(colour, np.float32) / 255.0 * amount

    def _add_spots(self, organ):
        rng = np.random.default_rng([self.seed, 8])
        canvas = np.zeros((self.height, self.width), np.uint8)
        count = int(rng.integers(60, 300))
        centres = rng.uniform(0, 1, (count, 2)) * (self.width, self.height)
        radii = rng.uniform(3, 14, count) * self.scale
        for (x, y), r in zip(centres, radii):
            cv2.circle(canvas, (int(x), int(y)), max(1, int(r)), 255, -1, cv2.LINE_AA)
        amount = cv2.GaussianBlur(canvas, (0, 0), max(0.6, 3 * self.scale)).astype(
            np.float32)[..., None] / 255.0 * rng.uniform(0.3, 0.6)
        pale = np.array([200, 170, 130], np.float32) / 255.0
        return organ * (1.0 - amount) + pale * amount

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
        normal_y = direction[0]   # +normal is (-dy, dx); its y component is dx
        underside = 1.0 if (normal_y > 0) == (rng.random() < 0.8) else -1.0
        return curve, underside

    def _shade_ridge(self, image, organ_alpha, curve, underside):
        rng, scale = self.rng, self.scale
        depth, width = rng.uniform(0.35, 0.65), rng.uniform(25, 70) * scale
        crest, crest_width = rng.uniform(0.1, 0.3), rng.uniform(4, 10) * scale
        taper = _end_taper(len(curve), 0.08)
        distance, side, near_taper = self._curve_field(curve, taper)
        dark = np.where(side * underside > 0, depth * np.exp(-distance / width), 0.0)
        light = np.where(side * underside <= 0, crest * np.exp(-distance / crest_width), 0.0)
        factor = 1.0 + (light - dark) * near_taper * organ_alpha[..., 0]
        return image * factor[..., None]

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
        taper = np.clip(np.linspace(0.0, 1.0, len(curve)) / 0.06, 0.0, 1.0)
        distance, side, near_taper = self._curve_field(curve, taper)
        edge = max(1.0, 0.4 * half_width)
        band = np.clip((half_width - distance) / edge + 0.5, 0.0, 1.0)
        band *= near_taper * organ_alpha[..., 0]
        fibres = 1.0 + 0.12 * self._noise(9, (16, 64, 128))
        beyond = np.maximum(distance - half_width, 0.0) / (1.5 * half_width)
        darken = np.where(side > 0, shadow * np.exp(-beyond), 0.0)
        darken *= near_taper * organ_alpha[..., 0] * (1.0 - band)
        image = image * (1.0 - darken)[..., None]
        band = band[..., None]
        return image * (1.0 - band) + (colour * fibres[..., None]) * band

    def _silhouette(self, lobes, fov):
        rng_free_margin = 2.0
        runs = []
        for index, lobe in enumerate(lobes):
            boundary = lobe.boundary(spacing_px=1.0)
            keep = self._in_view(boundary, fov, rng_free_margin)
            for other in lobes[:index] + lobes[index + 1:]:
                keep &= ~other.contains(boundary, tolerance=-0.002)
            runs += self._visible_runs(boundary, keep, closed=True)
        return runs

    def _in_view(self, points, fov, margin_px):
        x, y = points[:, 0], points[:, 1]
        inside = ((x >= margin_px) & (x <= self.width - 1 - margin_px)
                  & (y >= margin_px) & (y <= self.height - 1 - margin_px))
        cols = np.clip(np.round(x).astype(int), 0, self.width - 1)
        rows = np.clip(np.round(y).astype(int), 0, self.height - 1)
        eroded = cv2.erode(fov.astype(np.uint8), np.ones((3, 3), np.uint8),
                           iterations=max(1, int(round(margin_px))))
        return inside & eroded[rows, cols].astype(bool)

    def _point_test(self, fov, inside_distance, margin_px):
        def visible(points):
            in_view = self._in_view(points, fov, 2.0)
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
        rng, scale = self.rng, self.scale
        image = self._add_specular(image, organ_alpha)
        smoke = rng.random() < self.config.smoke_probability
        smoke_opacity = rng.uniform(0.08, self.config.smoke_max_opacity)
        gain = rng.uniform(*self.config.gain_range)
        vignetting = rng.uniform(0.0, self.config.vignetting_max)
        light = rng.uniform([0.3, 0.3], [0.7, 0.7])
        blur = rng.random() < self.config.blur_probability
        sigma = rng.uniform(0.5, self.config.blur_max_sigma_px) * scale
        noise_sigma = rng.uniform(0.0, self.config.noise_max_sigma)
        tint = rng.uniform(0.92, 1.08, 3).astype(np.float32)

        if smoke and self._enabled('smoke'):
            haze = smoke_opacity * np.clip(0.6 + 0.6 * self._noise(10, (2, 4, 8)), 0, 1)
            haze = haze[..., None]
            image = image * (1.0 - haze) + np.float32(0.8) * haze
        if self._enabled('lighting'):
            radius2 = ((self.grid_x - light[0]) ** 2 + (self.grid_y - light[1]) ** 2) / 0.5
            image = image * (gain * (1.0 - vignetting * np.clip(radius2, 0, 1)))[..., None] * tint
        if blur and self._enabled('blur'):
            image = cv2.GaussianBlur(image, (0, 0), sigma)
        image = image * 255.0
        if self._enabled('noise') and noise_sigma > 0:
            noise_rng = np.random.default_rng([self.seed, 11])
            image += noise_rng.standard_normal(image.shape, dtype=np.float32) * noise_sigma
        image = np.clip(image, 0, 255).astype(np.uint8)
        image[~fov] = 0
        return image

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
        amount = cv2.GaussianBlur(canvas, (0, 0), max(0.5, 1.5 * self.scale)).astype(
            np.float32) / 255.0 * organ_alpha[..., 0]
        amount = amount[..., None]
        return image * (1.0 - amount) + np.float32(1.0) * amount


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

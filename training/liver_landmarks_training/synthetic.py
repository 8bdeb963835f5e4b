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
from liver_landmarks_training import synthetic_effects as fx
from liver_landmarks_training.synthetic_effects import EFFECTS, REFERENCE_ROWS
import numpy as np

__all__ = ['EFFECTS', 'REFERENCE_ROWS', 'render_frame', 'SyntheticConfig', 'SyntheticFrame']


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
    """Lays out one frame's scene and labels; the drawing effects are :mod:`.synthetic_effects`.

    The scene is the lobes, the field of view, the instrument, the landmark curves
    and what of them is visible; each look (fat, vessels, spots, the ridge's fold,
    the ligament's band, the camera effects) is a named function there.
    """

    def __init__(self, seed, width, height, config):
        self.rng = np.random.default_rng(seed)
        self.canvas = fx.Canvas(seed, width, height)
        self.width, self.height = width, height
        self.config = config
        self.scale = self.canvas.scale
        self.xs, self.ys = self.canvas.xs, self.canvas.ys

    def _curve(self, start, end, bow, wiggle, wiggle_phase, count=400):
        """Return a smooth open curve from start to end, bent by bow and a sine wiggle (pixels)."""
        t = np.linspace(0.0, 1.0, count)[:, None]
        direction = end - start
        normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) + 1e-9)
        offset = bow * 4.0 * t * (1.0 - t) + wiggle * np.sin(
            2.0 * math.pi * 1.3 * t + wiggle_phase) * np.sin(math.pi * t)
        return start + t * direction + offset * normal

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
            fx.ridge_fold(self.canvas, self.rng, image, rim_fade, curve, underside)
            contours[Landmark.RIDGE] += self._visible_runs(curve, visible(curve))
        if self.rng.random() < cfg.ligament_probability:
            curve = self._ligament_curve(lobes[0])
            touching = self._point_test(view, inside_distance, 1.0)
            faded_in = np.linspace(0.0, 1.0, len(curve)) >= fx.LIGAMENT_FADE / 2
            image = fx.ligament_band(self.canvas, self.rng, image, organ_alpha, curve)
            contours[Landmark.LIGAMENT] = self._visible_runs(curve, touching(curve) & faded_in)
        if instrument is not None:
            image = fx.instrument_over(self.canvas, image, *instrument)
            organ_alpha = organ_alpha * (1.0 - instrument[0])
        image = fx.apply_camera_effects(self.canvas, cfg, self.rng, image, organ_alpha, fov)
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

    def _organ_over_background(self, lobes):
        rng, scale = self.rng, self.scale
        # Ranges span saturated red tissue to the greyish pink and purple-brown of P2ILF.
        background_colour = fx.reddish_colour(rng, (130, 210), (0.3, 0.7), (0.95, 1.3))
        organ_colour = fx.reddish_colour(rng, (85, 160), (0.35, 0.7), (0.9, 1.35))
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

        canvas = self.canvas
        shade = (1.0 + 0.25 * canvas.noise(1)) * (
            1.0 - shadow_depth * np.exp(-outside / shadow_width))
        background = background_colour * shade
        background = fx.fat_patches(canvas, rng, background, shade)
        background = fx.vessels(canvas, background, 2, (120, 20, 30), count=6, width_px=3,
                                strength=0.7)

        shade = (1.0 + texture_strength * canvas.noise(3, (6, 12, 24, 48, 96)))
        shade *= 1.0 - rim_darkening * np.exp(-inside / rim_width)
        shade += sheen * np.exp(-inside / sheen_width)
        organ = organ_colour * shade
        organ = fx.vessels(canvas, organ, 4, (70, 20, 25), count=4, width_px=4, strength=0.45)
        if rng.random() < self.config.spots_probability:
            organ = fx.pale_spots(canvas, organ, shade)
        organ -= background
        organ *= alpha
        organ += background
        return organ, alpha, inside

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

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Drawing the landmarks over a frame for display, with a small legend.

Only the ``polylines`` and ``labels`` attributes of a
:class:`~liver_landmarks.postprocess.LandmarkPolylines` are used, so anything
with those two attributes can be drawn.
"""

import cv2
from liver_landmarks.drawing import draw_polyline, line_thickness, map_pixel_centres
from liver_landmarks.landmarks import COLOURS_RGB, LANDMARKS, P2ILF_CONTOUR_TYPES
import numpy as np

#: Width of the drawn landmark lines at 1080 rows, scaled with the frame's height.
OVERLAY_THICKNESS_AT_1080 = 8.0
#: Opacity of the legend's dark box.
LEGEND_OPACITY = 0.6

_OUTLINE_RGB = (0, 0, 0)
_TEXT_RGB = (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw_overlay(frame_rgb: np.ndarray, result, legend: bool = True,
                 thickness=None) -> np.ndarray:
    """Return a copy of ``frame_rgb`` with the landmarks' polylines drawn over it.

    Each polyline is drawn in its P2ILF colour (ridge red, ligament blue,
    silhouette yellow) over a thin black outline, so it stays visible on
    bright tissue. ``thickness`` defaults to 8 px at 1080 rows, scaled with
    the frame's height. Polylines are in the pixels of ``result.labels``; if
    the frame has another size they are scaled to it. With ``legend``, a box in
    the top-left corner names the three landmarks in their colours (left out on
    frames too small to hold it).

    ``frame_rgb`` is an ``(H, W, 3)`` uint8 RGB image (``(H, W)`` grey is
    accepted); the result is a new ``(H, W, 3)`` uint8 RGB image.
    """
    canvas = _as_rgb_copy(frame_rgb)
    height, width = canvas.shape[:2]
    if thickness is None:
        thickness = line_thickness(height, OVERLAY_THICKNESS_AT_1080)
    outline = thickness + max(1, thickness // 3)
    for landmark in LANDMARKS:
        for points in result.polylines.get(landmark, []):
            scaled = _to_frame(points, result, width, height)
            draw_polyline(canvas, scaled, _OUTLINE_RGB, outline, antialiased=True)
            draw_polyline(canvas, scaled, COLOURS_RGB[landmark], thickness, antialiased=True)
    if legend:
        draw_legend(canvas)
    return canvas


def draw_legend(image_rgb: np.ndarray) -> bool:
    """Draw the landmark legend into the top-left corner of ``image_rgb`` in place.

    The box's size scales with the image's height. Returns False (and draws
    nothing) when the image is too small to hold it.
    """
    height, width = image_rgb.shape[:2]
    font_scale = max(0.3, 0.7 * height / 1080.0)
    text_thickness = max(1, int(round(2 * height / 1080.0)))
    names = [P2ILF_CONTOUR_TYPES[landmark] for landmark in LANDMARKS]
    sizes = [cv2.getTextSize(name, _FONT, font_scale, text_thickness)[0] for name in names]
    text_height = max(size[1] for size in sizes)
    padding = max(3, text_height // 2)
    swatch = 2 * text_height
    row_height = text_height + padding
    box_width = padding * 3 + swatch + max(size[0] for size in sizes)
    box_height = padding + row_height * len(names)
    margin = padding
    if margin + box_width > width or margin + box_height > height:
        return False

    top, left = margin, margin
    region = image_rgb[top:top + box_height, left:left + box_width]
    region[...] = (region * (1.0 - LEGEND_OPACITY)).astype(np.uint8)
    line_width = max(2, text_height // 3)
    for row, (landmark, name) in enumerate(zip(LANDMARKS, names)):
        baseline = top + padding + row * row_height + text_height
        middle = baseline - text_height // 2
        start = (left + padding, middle)
        end = (left + padding + swatch, middle)
        cv2.line(image_rgb, start, end, COLOURS_RGB[landmark], line_width, cv2.LINE_AA)
        cv2.putText(image_rgb, name, (left + 2 * padding + swatch, baseline), _FONT,
                    font_scale, _TEXT_RGB, text_thickness, cv2.LINE_AA)
    return True


def _as_rgb_copy(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        raise ValueError(f'expected a uint8 frame, got {frame.dtype}')
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    if frame.ndim == 2:
        return np.repeat(frame[..., None], 3, axis=2)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f'expected an HxWx3 RGB frame, got shape {frame.shape}')
    return np.ascontiguousarray(frame).copy()


def _to_frame(points, result, width: int, height: int) -> np.ndarray:
    """Map polyline points from the pixels of ``result.labels`` to the frame's."""
    labels = getattr(result, 'labels', None)
    if labels is None or np.ndim(labels) != 2 or 0 in np.shape(labels):
        return np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return map_pixel_centres(points, np.shape(labels), (height, width))

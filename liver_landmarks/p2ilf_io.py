# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""P2ILF file formats: 2D contour annotations and colour label images, in and out.

P2ILF annotates each image with open contours (``Ridge``, ``Ligament``,
``Silhouette``) in two formats:

* XML: ``<contours><numOfContours>N</numOfContours><contour><contourType>Ridge
  </contourType><imagePoints><numOfPoints>k</numOfPoints><x>5, 6, ...</x>
  <y>925, 924, ...</y></imagePoints>...</contour>...</contours>``;
* JSON: ``{"numOfContours": N, "contour": [{"contourType": "Ridge",
  "imagePoints": {"x": [...], "y": [...]}}, ...]}`` (the challenge's submission
  format, which :func:`write_p2ilf_json` writes).

Its label images are colour-coded lines on black (ridge red, ligament blue,
silhouette yellow), stored as JPEG, which blurs and desaturates thin lines. They
are decoded per channel with a threshold of 128 (see :func:`decode_colour_label`).

Every reader raises :class:`P2ILFFormatError`, whose one-line message names the
file and what is wrong with it.
"""

from dataclasses import dataclass
import json
from pathlib import Path
import re
import xml.etree.ElementTree as ElementTree

import cv2
from liver_landmarks.drawing import draw_polyline, line_thickness
from liver_landmarks.landmarks import COLOURS_RGB, Landmark, landmark_from_name, LANDMARKS
from liver_landmarks.landmarks import P2ILF_CONTOUR_TYPES
import numpy as np

#: Line width of rasterised contours at 1080 image rows (P2ILF's label images).
LINE_THICKNESS_AT_1080 = 12.0
#: A channel counts as on above this value and as off below it; exactly 128 is neither.
CHANNEL_THRESHOLD = 128
#: File name endings read as label images; everything else must be XML or JSON contours.
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
CONTOUR_SUFFIXES = ('.xml', '.json')

# Refused before parsing: xml.etree expands internal entities ("billion laughs"),
# and P2ILF's annotations never declare any.
_XML_DECLARATION = re.compile(rb'<!\s*(DOCTYPE|ENTITY)', re.IGNORECASE)
_NUMBER_SEPARATOR = re.compile(r'[,\s]+')

# Which channels must be on (> 128) and which off (< 128), in RGB order.
_COLOUR_RULES = {
    landmark: tuple(channel > CHANNEL_THRESHOLD for channel in COLOURS_RGB[landmark])
    for landmark in LANDMARKS
}
_ENCODE_TABLE = np.array([COLOURS_RGB[landmark] for landmark in Landmark], dtype=np.uint8)


class P2ILFFormatError(ValueError):
    """A P2ILF file that cannot be read; the message names the file and the problem."""


@dataclass
class Contour:
    """One open contour of one landmark.

    ``points`` is an ``(N, 2)`` float32 array of ``(x, y)`` pixel coordinates
    (column, row), in the order they were annotated.
    """

    landmark: Landmark
    points: np.ndarray

    def __post_init__(self):
        """Normalise the points to an ``(N, 2)`` float32 array."""
        self.landmark = Landmark(self.landmark)
        self.points = np.asarray(self.points, dtype=np.float32).reshape(-1, 2)


# ---------------------------------------------------------------------------------------------
# Contours in


def read_contours(path) -> list:
    """Read the 2D contours of a P2ILF XML or 2D-contour JSON file.

    The format is chosen by the file name ending (``.xml`` or ``.json``).
    Returns a list of :class:`Contour` in file order.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CONTOUR_SUFFIXES:
        raise P2ILFFormatError(
            f'{path}: unknown contour format {path.suffix!r} (expected .xml or .json)')
    data = _read_bytes(path)
    if suffix == '.xml':
        return contours_from_p2ilf_xml(data, source=path)
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise P2ILFFormatError(f'{path}: not valid JSON ({error})') from None
    return contours_from_p2ilf_dict(document, source=path)


def contours_from_p2ilf_xml(data: bytes, source='<xml>') -> list:
    """Parse P2ILF XML annotation bytes into contours (``modelPoints`` are ignored).

    Documents with a DOCTYPE or ENTITY declaration are refused, because the
    standard library parser would expand their entities.
    """
    if _XML_DECLARATION.search(data):
        raise P2ILFFormatError(f'{source}: XML with DOCTYPE or ENTITY declarations is refused')
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise P2ILFFormatError(f'{source}: not well-formed XML ({error})') from None
    if root.tag != 'contours':
        raise P2ILFFormatError(
            f'{source}: root element is <{root.tag}>, expected P2ILF <contours>')
    contours = []
    for index, element in enumerate(root.findall('contour')):
        where = f'{source}: contour {index}'
        image_points = element.find('imagePoints')
        if image_points is None:
            raise P2ILFFormatError(f'{where} has no <imagePoints>')
        xs = _parse_number_list(image_points.findtext('x', default=''), f'{where} <x>')
        ys = _parse_number_list(image_points.findtext('y', default=''), f'{where} <y>')
        declared = image_points.findtext('numOfPoints')
        contours.append(_make_contour(element.findtext('contourType', default=''),
                                      xs, ys, declared, where))
    _check_count(root.findtext('numOfContours'), len(contours), source)
    return contours


def contours_from_p2ilf_dict(document, source='<json>') -> list:
    """Convert a parsed P2ILF 2D-contour JSON document into contours."""
    if not isinstance(document, dict) or not isinstance(document.get('contour'), list):
        raise P2ILFFormatError(
            f'{source}: expected a P2ILF 2D-contour object with a "contour" list')
    contours = []
    for index, entry in enumerate(document['contour']):
        where = f'{source}: contour {index}'
        if not isinstance(entry, dict):
            raise P2ILFFormatError(f'{where} is not an object')
        image_points = entry.get('imagePoints')
        if not isinstance(image_points, dict):
            raise P2ILFFormatError(
                f'{where} has no "imagePoints" (is this a 3D-contour file?)')
        xs = _number_array(image_points.get('x', []), f'{where} "x"')
        ys = _number_array(image_points.get('y', []), f'{where} "y"')
        contours.append(_make_contour(entry.get('contourType', ''), xs, ys,
                                      image_points.get('numOfPoints'), where))
    _check_count(document.get('numOfContours'), len(contours), source)
    return contours


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise P2ILFFormatError(f'{path}: cannot read ({error.strerror or error})') from None


def _parse_number_list(text: str, where: str) -> np.ndarray:
    tokens = [token for token in _NUMBER_SEPARATOR.split(text.strip()) if token]
    return _number_array(tokens, where)


def _number_array(values, where: str) -> np.ndarray:
    try:
        array = np.asarray([float(value) for value in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise P2ILFFormatError(f'{where} holds something that is not a number') from None
    if not np.all(np.isfinite(array)):
        raise P2ILFFormatError(f'{where} holds a non-finite coordinate')
    return array


def _make_contour(contour_type, xs, ys, declared_points, where: str) -> Contour:
    try:
        landmark = landmark_from_name(str(contour_type))
    except ValueError:
        raise P2ILFFormatError(
            f'{where}: unknown contourType {contour_type!r} '
            f'(expected Ridge, Ligament or Silhouette)') from None
    if len(xs) != len(ys):
        raise P2ILFFormatError(f'{where} has {len(xs)} x but {len(ys)} y coordinates')
    if declared_points not in (None, '') and _as_count(declared_points, where) != len(xs):
        raise P2ILFFormatError(
            f'{where} declares {declared_points} points but lists {len(xs)}')
    return Contour(landmark, np.stack([xs, ys], axis=1) if len(xs) else np.zeros((0, 2)))


def _as_count(value, where: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise P2ILFFormatError(f'{where}: count {value!r} is not a number') from None
    if not number.is_integer():
        raise P2ILFFormatError(f'{where}: count {value!r} is not a whole number')
    return int(number)


def _check_count(declared, actual: int, source) -> None:
    if declared not in (None, '') and _as_count(declared, f'{source} numOfContours') != actual:
        raise P2ILFFormatError(
            f'{source}: numOfContours says {declared} but the file holds {actual} contours')


# ---------------------------------------------------------------------------------------------
# Contours out


def contours_from_polylines(polylines) -> list:
    """Turn ``{Landmark: [(N, 2) points, ...]}`` into contours, in landmark id order.

    Empty polylines (no points) are skipped.
    """
    contours = []
    for landmark in sorted(polylines, key=int):
        for points in polylines[landmark]:
            contour = Contour(landmark, points)
            if len(contour.points):
                contours.append(contour)
    return contours


def contours_to_p2ilf_dict(contours) -> dict:
    """Build the challenge's 2D-contour JSON object for ``contours``.

    The shape is exactly ``{"numOfContours": N, "contour": [{"contourType":
    "Ridge", "imagePoints": {"x": [...], "y": [...]}}, ...]}``. Whole-pixel
    coordinates are written as integers, others rounded to 1/100 pixel.
    """
    entries = []
    for contour in contours:
        points = Contour(contour.landmark, contour.points).points
        entries.append({
            'contourType': P2ILF_CONTOUR_TYPES[contour.landmark],
            'imagePoints': {'x': _json_numbers(points[:, 0]), 'y': _json_numbers(points[:, 1])},
        })
    return {'numOfContours': len(entries), 'contour': entries}


def write_p2ilf_json(contours, path) -> Path:
    """Write ``contours`` as the challenge's 2D-contour JSON file; return its path."""
    path = Path(path)
    path.write_text(json.dumps(contours_to_p2ilf_dict(contours)) + '\n', encoding='utf-8')
    return path


def _json_numbers(values: np.ndarray) -> list:
    values = values.astype(np.float64)
    if np.all(values == np.round(values)):
        return [int(value) for value in values]
    return [round(float(value), 2) for value in values]


# ---------------------------------------------------------------------------------------------
# Contours as a label image


def rasterise_contours(contours, width: int, height: int, thickness=None) -> np.ndarray:
    """Draw contours as open polylines into an ``(height, width)`` uint8 id mask.

    ``thickness`` defaults to 12 px at 1080 rows, scaled with ``height``
    (:func:`~liver_landmarks.drawing.line_thickness`). Contours are drawn in list order, so
    where lines of different landmarks cross, the later one wins. A
    single-point contour becomes a dot of the line's width. Points outside the
    image are clipped.

    Example (3 rows, thickness 1)::

        Contour(RIDGE, [(0, 1), (3, 1)])   ->   0 0 0 0
                                                1 1 1 1
                                                0 0 0 0
    """
    if width <= 0 or height <= 0:
        raise ValueError(f'image size must be positive, got {width}x{height}')
    mask = np.zeros((int(height), int(width)), dtype=np.uint8)
    thickness = (line_thickness(height, LINE_THICKNESS_AT_1080) if thickness is None
                 else int(thickness))
    if thickness < 1:
        raise ValueError(f'thickness must be at least 1 px, got {thickness}')
    for contour in contours:
        draw_polyline(mask, contour.points, int(contour.landmark), thickness)
    return mask


# ---------------------------------------------------------------------------------------------
# Label images


def decode_colour_label(rgb: np.ndarray) -> np.ndarray:
    """Decode a P2ILF colour label image (RGB order) into a uint8 id mask.

    A channel is on when > 128 and off when < 128; a pixel at exactly 128 in
    a channel that matters belongs to no landmark. Ridge = R on, G off, B off;
    ligament = B on, R off, G off; silhouette = R on, G on, B off; anything
    else is background. For OpenCV's BGR images, reverse the channels first.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'expected an HxWx3 RGB image, got shape {rgb.shape}')
    on = rgb > CHANNEL_THRESHOLD
    off = rgb < CHANNEL_THRESHOLD
    ids = np.zeros(rgb.shape[:2], dtype=np.uint8)
    for landmark, rule in _COLOUR_RULES.items():
        selected = np.ones(rgb.shape[:2], dtype=bool)
        for channel, wanted_on in enumerate(rule):
            selected &= on[..., channel] if wanted_on else off[..., channel]
        ids[selected] = int(landmark)
    return ids


def encode_colour_label(ids: np.ndarray) -> np.ndarray:
    """Draw an id mask as a P2ILF colour label image (HxWx3 RGB uint8)."""
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError(f'expected an HxW id mask, got shape {ids.shape}')
    if ids.size and int(ids.max()) >= len(_ENCODE_TABLE):
        raise ValueError(f'id mask holds id {int(ids.max())}; valid ids are 0..3')
    return _ENCODE_TABLE[ids.astype(np.intp)]


def read_label_image(path) -> np.ndarray:
    """Read a label image as a uint8 id mask.

    A colour image (3 channels, or 4 with the alpha ignored) is decoded by
    colour with :func:`decode_colour_label`; a single-channel image whose
    values all lie in 0..3 is an id image. A 3-channel image whose channels
    are equal and all in 0..3 is an id image saved as colour. Anything else
    raises :class:`P2ILFFormatError`.
    """
    path = Path(path)
    image = read_image_unchanged(path)
    if image.dtype != np.uint8:
        raise P2ILFFormatError(f'{path}: {image.dtype} image; label images are 8-bit')
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        if image.size and int(image.max()) > int(Landmark.SILHOUETTE):
            raise P2ILFFormatError(
                f'{path}: single-channel image with values up to {int(image.max())}: '
                f'neither an id image (0..3) nor a colour label image')
        return image.copy()
    if image.ndim == 3 and image.shape[2] in (3, 4):
        bgr = image[..., :3]
        if int(bgr.max(initial=0)) <= int(Landmark.SILHOUETTE) and _channels_equal(bgr):
            return bgr[..., 0].copy()
        return decode_colour_label(bgr[..., ::-1])
    raise P2ILFFormatError(f'{path}: image of shape {image.shape} is not a label image')


def write_label_image(path, ids: np.ndarray, colour: bool = True) -> Path:
    """Write an id mask as a colour label PNG (default) or a single-channel id PNG."""
    path = Path(path)
    image = encode_colour_label(ids)[..., ::-1] if colour else np.asarray(ids, dtype=np.uint8)
    write_image(path, image)
    return path


def read_image_unchanged(path) -> np.ndarray:
    """Read an image file as stored (BGR channel order), or raise a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise P2ILFFormatError(f'{path}: no such file')
    data = _read_bytes(path)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise P2ILFFormatError(f'{path}: not a readable image')
    return image


def write_image(path, image_bgr: np.ndarray) -> None:
    """Write an image (BGR channel order) or raise :class:`P2ILFFormatError`."""
    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix or '.png', np.ascontiguousarray(image_bgr))
    if not ok:
        raise P2ILFFormatError(f'{path}: cannot encode an image with this file ending')
    try:
        path.write_bytes(encoded.tobytes())
    except OSError as error:
        raise P2ILFFormatError(f'{path}: cannot write ({error.strerror or error})') from None


def _channels_equal(image: np.ndarray) -> bool:
    return bool(np.all(image[..., 0] == image[..., 1]) and np.all(image[..., 1] == image[..., 2]))

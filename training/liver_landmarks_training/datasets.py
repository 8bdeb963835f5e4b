# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Torch datasets over the real on-disk formats: L3D, P2ILF, colour label images.

Every dataset yields ``(image, mask)``: a ``3x320x416`` float32 tensor normalised
like the deployed pipeline (:class:`liver_landmarks.preprocess.Preprocessor`) and
a ``320x416`` int64 tensor of class ids (0 background, 1 ridge, 2 ligament,
3 silhouette). Contour annotations are rasterised as open polylines 12 px thick
at 1080 rows (scaled with the image's height) at the image's own size, then
resized to 416x320 by nearest neighbour; images are resized with area averaging.
Folder layouts are described in ``docs/datasets.md``.

The decoded, resized pair can be cached on disk (:mod:`.cache`), so that 4K
annotations are rasterised once, not every epoch; augmentation (:mod:`.augment`)
runs on the cached uint8 pair before normalisation.
"""

from dataclasses import dataclass
import json
from pathlib import Path
import re
import warnings

import cv2
from liver_landmarks import p2ilf_io
from liver_landmarks.landmarks import INPUT_HEIGHT, INPUT_WIDTH, landmark_from_name
from liver_landmarks.preprocess import Preprocessor, resize_image, resize_labels
from liver_landmarks_training.augment import Augmenter
from liver_landmarks_training.cache import PreprocessedCache
from liver_landmarks_training.synthetic import render_frame, SyntheticConfig
import numpy as np
import torch
import torch.utils.data

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')
#: Split names, and the folder or file names each is found under (compared lower-case).
SPLIT_ALIASES = {'train': ('train', 'training'), 'val': ('val', 'valid', 'validation'),
                 'test': ('test', 'testing')}
#: LabelMe shape types drawn as open polylines through their points.
LINE_SHAPE_TYPES = ('linestrip', 'line', 'polygon', 'point', None)
#: The paper validates on P2ILF patients 1 and 2 and trains on the others.
P2ILF_VALIDATION_PATIENTS = (1, 2)
#: The paper's P2ILF test patients: never trained or validated on.
P2ILF_TEST_PATIENTS = (4, 11)

_PATIENT_AND_INDEX = re.compile(r'patient[_\- ]?(\d+)[_\-](\d+)', re.IGNORECASE)
_PATIENT_ONLY = re.compile(r'patient[_\- ]?(\d+)', re.IGNORECASE)
_TRAILING_NUMBER = re.compile(r'(\d+)$')
_LABEL_IMAGE_STEM = re.compile(r'_gt$', re.IGNORECASE)


class DatasetError(RuntimeError):
    """A dataset folder or annotation that cannot be used; the message says why and where."""


class MissingImageError(DatasetError, FileNotFoundError):
    """An annotation whose image cannot be found."""


@dataclass(frozen=True)
class Sample:
    """One training example on disk: an image and its annotation."""

    image: Path
    annotation: Path
    kind: str                  # 'labelme', 'p2ilf' (XML or 2D-contour JSON), 'label_image'
    patient: int | None = None
    split: str | None = None


# ---------------------------------------------------------------------------------------------
# Reading annotations


def read_labelme(path):
    """Read an L3D LabelMe JSON file: return ``(contours, (width, height) or None)``.

    Labels go through :func:`landmark_from_name`, so L3D's ``rigde`` reads as ridge.
    Line strips, lines, polygons and points become polylines through their points;
    other shape types (rectangles, circles) are skipped with a warning.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f'{path}: not a readable LabelMe JSON file ({error})') from None
    shapes = document.get('shapes') if isinstance(document, dict) else None
    if not isinstance(shapes, list):
        raise DatasetError(f'{path}: not a LabelMe file (no "shapes" list)')
    contours = []
    for index, shape in enumerate(shapes):
        where = f'{path}: shape {index}'
        if not isinstance(shape, dict):
            raise DatasetError(f'{where} is not an object')
        if shape.get('shape_type') not in LINE_SHAPE_TYPES:
            warnings.warn(f'{where}: skipping shape_type {shape.get("shape_type")!r}')
            continue
        try:
            landmark = landmark_from_name(str(shape.get('label', '')))
        except ValueError as error:
            raise DatasetError(f'{where}: {error}') from None
        try:
            points = np.asarray(shape.get('points'), dtype=np.float64).reshape(-1, 2)
        except (TypeError, ValueError):
            raise DatasetError(f'{where}: "points" is not a list of [x, y] pairs') from None
        if not np.all(np.isfinite(points)):
            raise DatasetError(f'{where}: non-finite coordinate')
        if len(points):
            contours.append(p2ilf_io.Contour(landmark, points))
    width, height = document.get('imageWidth'), document.get('imageHeight')
    size = (int(width), int(height)) if width and height else None
    return contours, size


def read_sample_contours(sample: Sample):
    """Return ``(contours, declared (width, height) or None)`` of a contour sample."""
    if sample.kind == 'labelme':
        return read_labelme(sample.annotation)
    if sample.kind == 'p2ilf':
        try:
            return p2ilf_io.read_contours(sample.annotation), None
        except p2ilf_io.P2ILFFormatError as error:
            raise DatasetError(str(error)) from None
    raise ValueError(f'{sample.annotation}: a {sample.kind!r} sample has no contours')


def contours_to_mask(contours, width: int, height: int,
                     size=(INPUT_WIDTH, INPUT_HEIGHT)) -> np.ndarray:
    """Rasterise contours at the image's ``width`` x ``height``, resize to ``size`` (w, h).

    Lines are 12 px at 1080 rows, scaled with ``height``; the resize is nearest neighbour.
    """
    full = p2ilf_io.rasterise_contours(contours, width, height)
    return resize_labels(full, size[1], size[0])


def read_rgb(path) -> np.ndarray:
    """Read an image file as HxWx3 uint8 RGB, or raise :class:`DatasetError`."""
    path = Path(path)
    if not path.is_file():
        raise MissingImageError(f'{path}: image not found')
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f'{path}: not a readable image')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def labels_at_size(sample: Sample, width: int, height: int) -> np.ndarray:
    """Return a sample's ground-truth ids at its image's ``width`` x ``height``.

    Contours are drawn at that size (12 px lines at 1080 rows); a label image is
    read as stored (resized by nearest neighbour if its size differs).
    """
    if sample.kind == 'label_image':
        try:
            ids = p2ilf_io.read_label_image(sample.annotation)
        except p2ilf_io.P2ILFFormatError as error:
            raise DatasetError(str(error)) from None
        return resize_labels(ids, height, width)
    contours, declared = read_sample_contours(sample)
    if declared is not None and declared != (width, height):
        # Annotated at another resolution than the stored image: map the points over.
        scale = np.array([width / declared[0], height / declared[1]])
        contours = [p2ilf_io.Contour(c.landmark, c.points * scale) for c in contours]
    return p2ilf_io.rasterise_contours(contours, width, height)


def load_sample(sample: Sample, size=(INPUT_WIDTH, INPUT_HEIGHT)):
    """Decode one sample to ``(image uint8 HxWx3 RGB, mask uint8 HxW)`` at ``size`` (w, h)."""
    image = read_rgb(sample.image)
    height, width = image.shape[:2]
    mask = resize_labels(labels_at_size(sample, width, height), size[1], size[0])
    return resize_image(image, size[0], size[1]), mask


# ---------------------------------------------------------------------------------------------
# Finding samples


def _images_under(folder: Path):
    return sorted(path for path in folder.rglob('*')
                  if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())


def _require_folder(root, what: str) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f'{what} folder {root} does not exist (see docs/datasets.md)')
    return root


def _split_names(split: str):
    if split not in SPLIT_ALIASES:
        raise ValueError(f'split must be one of {sorted(SPLIT_ALIASES)}, got {split!r}')
    return SPLIT_ALIASES[split]


def _labelme_for(image: Path, labels_folder: Path | None) -> Path | None:
    candidates = [image.with_suffix('.json')]
    if labels_folder is not None:
        candidates.insert(0, labels_folder / f'{image.stem}.json')
    return next((path for path in candidates if path.is_file()), None)


def _labelme_samples(images, labels_folder, split, where):
    samples, missing = [], []
    for image in images:
        annotation = _labelme_for(image, labels_folder)
        if annotation is None:
            missing.append(image.name)
            continue
        samples.append(Sample(image, annotation, 'labelme', _patient_of(image), split))
    if missing:
        raise DatasetError(f'{where}: {len(missing)} image(s) without a LabelMe JSON '
                           f'(looked in {labels_folder} and next to each image), e.g. '
                           f'{", ".join(missing[:3])}')
    return samples


def discover_l3d(root, split: str = 'train') -> list:
    """List the samples of one L3D split.

    Accepted layouts (folder names compared case-insensitively):

    * ``root/Train|Val|Test/images/*.jpg`` with ``root/<split>/labels/<stem>.json``
      (or each JSON next to its image), as the dataset is published;
    * ``root/images/`` + ``root/labels/`` with a split file ``root/<split>.txt`` (or
      ``root/splits/<split>.txt``) listing image names or paths relative to the root,
      one per line.
    """
    root = _require_folder(root, 'L3D')
    names = _split_names(split)
    folders = [child for child in root.iterdir() if child.is_dir() and child.name.lower() in names]
    if folders:
        folder = folders[0]
        images_folder = folder / 'images' if (folder / 'images').is_dir() else folder
        images = _images_under(images_folder)
        if not images:
            raise DatasetError(f'L3D split folder {folder} holds no images')
        return _labelme_samples(images, folder / 'labels', split, folder)
    split_files = [root / sub / f'{name}.txt' for sub in ('', 'splits') for name in names]
    split_file = next((path for path in split_files if path.is_file()), None)
    if split_file is None:
        raise DatasetError(
            f'L3D folder {root} has neither a {split!r} split folder (Train/Val/Test) nor a '
            f'split file ({names[0]}.txt or splits/{names[0]}.txt); see docs/datasets.md')
    images = []
    for line in split_file.read_text(encoding='utf-8').splitlines():
        name = line.strip()
        if not name or name.startswith('#'):
            continue
        candidates = [root / name, root / 'images' / name]
        if not Path(name).suffix:
            candidates += [root / 'images' / f'{name}{suffix}' for suffix in IMAGE_SUFFIXES]
        image = next((path for path in candidates if path.is_file()), None)
        if image is None:
            raise MissingImageError(f'{split_file}: listed image {name!r} not found under '
                                    f'{root} or {root / "images"}')
        images.append(image)
    if not images:
        raise DatasetError(f'L3D split file {split_file} lists no images')
    return _labelme_samples(images, root / 'labels', split, split_file)


def parse_patient_and_index(path):
    """Return ``(patient, image index)`` from a P2ILF name like ``P2ILF22_patient1_12.jpg``.

    Falls back to a ``patient<N>`` parent folder and a trailing number in the file
    name; either part is None when it cannot be found.
    """
    path = Path(path)
    match = _PATIENT_AND_INDEX.search(path.name)
    if match:
        return int(match.group(1)), int(match.group(2))
    stem = re.sub(r'_2D-contours$', '', path.stem, flags=re.IGNORECASE)
    number = _TRAILING_NUMBER.search(stem)
    return _patient_of(path), int(number.group(1)) if number else None


def _patient_of(path: Path):
    match = _PATIENT_AND_INDEX.search(path.name) or _PATIENT_ONLY.search(path.name)
    if match:
        return int(match.group(1))
    for parent in path.parents:
        match = _PATIENT_ONLY.fullmatch(parent.name) or _PATIENT_ONLY.search(parent.name)
        if match:
            return int(match.group(1))
    return None


def discover_p2ilf(root, patients=None, prefer: str = 'xml', images_root=None) -> list:
    """List P2ILF samples under ``root``: every 2D annotation paired with its image.

    Annotations are ``*.xml`` and ``*_2D-contours.json`` / other P2ILF 2D-contour
    ``*.json`` files anywhere under ``root``; images are found anywhere under
    ``images_root`` (default ``root``). Both are matched on (patient, index)
    parsed from their names (``P2ILF22_patient1_12.jpg`` <-> ``patient1_12.xml``).
    When an image has both XML and JSON, ``prefer`` picks one. ``patients``
    keeps only those patient numbers. An annotation without an image raises
    :class:`MissingImageError`.
    """
    if prefer not in ('xml', 'json'):
        raise ValueError(f"prefer must be 'xml' or 'json', got {prefer!r}")
    root = _require_folder(root, 'P2ILF')
    images_root = _require_folder(images_root or root, 'P2ILF images')
    annotations = {}
    for path in sorted(root.rglob('*')):
        suffix = path.suffix.lower()
        if suffix not in ('.xml', '.json') or not path.is_file():
            continue
        if suffix == '.json' and re.search(r'3d-contours', path.name, re.IGNORECASE):
            continue
        key = parse_patient_and_index(path)
        if None in key:
            continue
        current = annotations.get(key)
        if current is None or (current.suffix.lower() != f'.{prefer}' and suffix == f'.{prefer}'):
            annotations[key] = path
    if not annotations:
        raise DatasetError(f'no P2ILF 2D annotations (*.xml, *_2D-contours.json) under {root}')
    images = {}
    for path in _images_under(images_root):
        if _LABEL_IMAGE_STEM.search(path.stem) or '_eval' in path.stem.lower():
            continue
        key = parse_patient_and_index(path)
        if None not in key:
            images.setdefault(key, path)
    samples = []
    for key, annotation in sorted(annotations.items()):
        if patients is not None and key[0] not in patients:
            continue
        image = images.get(key)
        if image is None:
            raise MissingImageError(
                f'{annotation}: no image for patient {key[0]} image {key[1]} under '
                f'{images_root} (expected a name like P2ILF22_patient{key[0]}_{key[1]}.jpg)')
        samples.append(Sample(image, annotation, 'p2ilf', key[0]))
    return samples


def split_by_patient(samples, val_patients=P2ILF_VALIDATION_PATIENTS,
                     test_patients=P2ILF_TEST_PATIENTS):
    """Split samples into (train, val) by patient; test patients go to neither side.

    The paper validates on patients 1 and 2 and tests on 4 and 11.
    """
    splits = patient_splits(samples, val_patients, test_patients)
    return splits['train'], splits['val']


def patient_splits(samples, val_patients=P2ILF_VALIDATION_PATIENTS,
                   test_patients=P2ILF_TEST_PATIENTS, train_patients=None) -> dict:
    """Split samples three ways by patient: ``{'train': [...], 'val': [...], 'test': [...]}``.

    ``train_patients`` None means every patient neither validating nor testing. A
    patient listed for training and testing (or validation and testing) is refused.
    """
    val, test = set(val_patients), set(test_patients)
    train = None if train_patients is None else set(train_patients)
    overlap = (val | (train or set())) & test
    if overlap or (train is not None and train & val):
        raise DatasetError(f'P2ILF patient lists overlap (train {sorted(train or [])}, val '
                           f'{sorted(val)}, test {sorted(test)}): test patients are never '
                           f'trained or validated on')
    splits = {'train': [], 'val': [], 'test': []}
    for sample in samples:
        if sample.patient in test:
            splits['test'].append(sample)
        elif sample.patient in val:
            splits['val'].append(sample)
        elif train is None or sample.patient in train:
            splits['train'].append(sample)
    return splits


def discover_colour_labels(images_folder, labels_folder=None) -> list:
    """Pair colour label images (``<stem>_GT.<ext>``) with images (``<stem>.<ext>``).

    Both are searched recursively; ``labels_folder`` defaults to ``images_folder``.
    A label without its image raises :class:`MissingImageError`.
    """
    images_folder = _require_folder(images_folder, 'images')
    labels_folder = _require_folder(labels_folder or images_folder, 'label images')
    images = {}
    for path in _images_under(images_folder):
        if not _LABEL_IMAGE_STEM.search(path.stem):
            images.setdefault(path.stem.lower(), path)
    labels = [path for path in _images_under(labels_folder) if _LABEL_IMAGE_STEM.search(path.stem)]
    if not labels:
        raise DatasetError(f'no colour label images (*_GT.png / *_GT.jpg) under {labels_folder}')
    samples = []
    for label in labels:
        stem = _LABEL_IMAGE_STEM.sub('', label.stem)
        image = images.get(stem.lower())
        if image is None:
            raise MissingImageError(f'{label}: no image named {stem}.* under {images_folder}')
        samples.append(Sample(image, label, 'label_image', _patient_of(image)))
    return samples


# ---------------------------------------------------------------------------------------------
# Datasets


class LandmarkDataset(torch.utils.data.Dataset):
    """Samples on disk as ``(3x320x416 float32 image, 320x416 int64 mask)`` tensors."""

    def __init__(self, samples, augment=None, cache_dir=None, preprocessor=None):
        """Serve ``samples``.

        ``augment`` is an augmentation config dict (see :mod:`.augment`), an
        :class:`Augmenter`, or None. ``cache_dir`` enables the on-disk cache of
        decoded, resized pairs. ``preprocessor`` normalises images (default ImageNet).
        """
        self.samples = list(samples)
        if not self.samples:
            raise DatasetError('the dataset is empty')
        self.preprocessor = preprocessor or Preprocessor()
        self.size = self.preprocessor.size
        if augment is None or isinstance(augment, Augmenter):
            self.augmenter = augment
        else:
            self.augmenter = Augmenter(augment)
        self.cache = None
        if cache_dir is not None:
            self.cache = PreprocessedCache(cache_dir, self.cache_settings())

    def cache_settings(self) -> dict:
        """Describe everything that shapes a cached pair (part of the cache key)."""
        return {'size': list(self.size), 'line_thickness_at_1080': p2ilf_io.LINE_THICKNESS_AT_1080,
                'image_resize': 'area', 'mask_resize': 'nearest', 'ids': 'p2ilf'}

    def __len__(self) -> int:
        """Return the number of samples."""
        return len(self.samples)

    def arrays(self, index: int):
        """Return sample ``index`` as uint8 ``(image HxWx3 RGB, mask HxW)``, unaugmented."""
        sample = self.samples[index]
        if self.cache is None:
            return load_sample(sample, self.size)
        return self.cache.get_or_build((sample.image, sample.annotation),
                                       lambda: load_sample(sample, self.size))

    def __getitem__(self, index: int):
        """Return ``(image float32 3xHxW normalised, mask int64 HxW)`` tensors."""
        image, mask = self.arrays(index)
        if self.augmenter is not None:
            image, mask = self.augmenter(image, mask)
        tensor = torch.from_numpy(self.preprocessor(np.ascontiguousarray(image))[0])
        return tensor, torch.from_numpy(mask.astype(np.int64))

    def masks(self):
        """Yield every sample's unaugmented uint8 mask (e.g. for class weights)."""
        for index in range(len(self)):
            yield self.arrays(index)[1]


class L3DDataset(LandmarkDataset):
    """One split of L3D (LabelMe polylines); see :func:`discover_l3d` for layouts."""

    def __init__(self, root, split: str = 'train', **kwargs):
        """Find the samples of ``split`` under ``root``; kwargs go to LandmarkDataset."""
        super().__init__(discover_l3d(root, split), **kwargs)


class P2ILFDataset(LandmarkDataset):
    """P2ILF images with XML or 2D-contour JSON annotations; see :func:`discover_p2ilf`."""

    def __init__(self, root, patients=None, prefer: str = 'xml', images_root=None, **kwargs):
        """Find the annotated images under ``root``; kwargs go to LandmarkDataset."""
        super().__init__(discover_p2ilf(root, patients, prefer, images_root), **kwargs)


class ColourLabelDataset(LandmarkDataset):
    """Images with P2ILF colour label images; see :func:`discover_colour_labels`."""

    def __init__(self, images_folder, labels_folder=None, **kwargs):
        """Pair images with their ``_GT`` label images; kwargs go to LandmarkDataset."""
        super().__init__(discover_colour_labels(images_folder, labels_folder), **kwargs)


def p2ilf_patient_split(root, val_patients=P2ILF_VALIDATION_PATIENTS, train_augment=None,
                        **kwargs):
    """Return (train, val) P2ILF datasets split by patient; only train is augmented."""
    train, val = split_by_patient(discover_p2ilf(root), val_patients)
    if not train or not val:
        raise DatasetError(f'patient split of {root} with validation patients '
                           f'{sorted(val_patients)} leaves an empty side '
                           f'({len(train)} train, {len(val)} val samples)')
    return (LandmarkDataset(train, augment=train_augment, **kwargs),
            LandmarkDataset(val, **kwargs))


class SyntheticDataset(torch.utils.data.Dataset):
    """Frames rendered on the fly by :func:`render_frame` (seeds start_seed..+count-1).

    Frames are rendered at ``render_size`` (width, height) and resized like real
    images; the labels come from the exact polylines, rasterised at the render size.
    """

    def __init__(self, count: int, start_seed: int = 0, render_size=(INPUT_WIDTH, INPUT_HEIGHT),
                 config: SyntheticConfig = SyntheticConfig(), augment=None, preprocessor=None):
        """Serve ``count`` frames; see LandmarkDataset for ``augment`` and ``preprocessor``."""
        if count < 1:
            raise ValueError(f'count must be at least 1, got {count}')
        self.count, self.start_seed = int(count), int(start_seed)
        self.render_size, self.config = tuple(render_size), config
        self.preprocessor = preprocessor or Preprocessor()
        self.augmenter = augment if augment is None or isinstance(augment, Augmenter) else (
            Augmenter(augment))

    def __len__(self) -> int:
        """Return the number of frames."""
        return self.count

    def arrays(self, index: int):
        """Return frame ``index`` as uint8 ``(image HxWx3 RGB, mask HxW)`` at the input size."""
        if not 0 <= index < self.count:
            raise IndexError(f'index {index} out of range for {self.count} frames')
        frame = render_frame(self.start_seed + index, *self.render_size, config=self.config)
        width, height = self.preprocessor.size
        return (resize_image(frame.image, width, height),
                resize_labels(frame.labels, height, width))

    __getitem__ = LandmarkDataset.__getitem__
    masks = LandmarkDataset.masks

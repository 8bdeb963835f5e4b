# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Write synthetic frames to disk in the layouts of the real datasets.

So that every loader in :mod:`liver_landmarks_training.datasets` runs end to end
on generated data, the generator's frames are written exactly as users find the
downloaded datasets (see ``docs/datasets.md``):

* P2ILF: ``patient<P>/images/P2ILF22_patient<P>_<I>.jpg`` with the 2D-contour JSON
  ``patient<P>/2D-3D_contours/patient<P>_<I>_2D-contours.json`` and/or the XML
  ``patient<P>/2D-3D_contours/patient<P>_<I>.xml``, optionally colour label images
  ``patient<P>/labels/P2ILF22_patient<P>_<I>_GT.png``;
* L3D: ``Train|Val|Test/images/<name>.jpg`` with LabelMe JSON
  ``Train|Val|Test/labels/<name>.json`` (layout ``'folders'``), or one
  ``images/`` + ``labels/`` pair with ``train.txt``, ``val.txt`` and ``test.txt``
  listing the image names of each split (layout ``'split_file'``).

Frame ``k`` of a write uses seed ``start_seed + k``.
"""

from dataclasses import dataclass
import json
from pathlib import Path
import xml.etree.ElementTree as ElementTree

from liver_landmarks import p2ilf_io
from liver_landmarks.landmarks import Landmark, P2ILF_CONTOUR_TYPES
from liver_landmarks_training.synthetic import render_frame, SyntheticConfig
import numpy as np

#: L3D's folder names of its splits, and the split names this package uses.
L3D_SPLIT_FOLDERS = {'train': 'Train', 'val': 'Val', 'test': 'Test'}
#: L3D's LabelMe labels; the published files spell ridge ``rigde``.
L3D_LABELS = {Landmark.RIDGE: 'ridge', Landmark.LIGAMENT: 'ligament',
              Landmark.SILHOUETTE: 'silhouette'}
#: Prefix of P2ILF's image file names.
P2ILF_IMAGE_PREFIX = 'P2ILF22_'


@dataclass(frozen=True)
class FrameSize:
    """Width and height of the frames to write, in pixels."""

    width: int = 1920
    height: int = 1080


#: Share of the frames that :func:`write_dataset` puts in each L3D split.
L3D_SPLIT_SHARES = {'train': 0.7, 'val': 0.15, 'test': 0.15}
#: Patients :func:`write_dataset` spreads P2ILF frames over (1 and 2 validate).
SYNTHETIC_PATIENTS = (1, 2, 3, 4, 5)


def write_dataset(out, layout: str, count: int, seed: int = 0, width: int = 1920,
                  height: int = 1080, config: SyntheticConfig = SyntheticConfig()) -> Path:
    """Write ``count`` frames in ``layout`` ``'p2ilf'`` or ``'l3d'`` under ``out``; return it.

    P2ILF frames are spread as evenly as possible over patients 1-5 (2D-contour JSON
    and XML, plus colour label images); L3D frames go 70/15/15 % to train/val/test
    split folders (at least one frame each when there are three or more).
    """
    if count < 1:
        raise ValueError(f'count must be at least 1, got {count}')
    size = FrameSize(width, height)
    if layout == 'p2ilf':
        patients = SYNTHETIC_PATIENTS[:count]
        per_patient = {patient: count // len(patients) + (index < count % len(patients))
                       for index, patient in enumerate(patients)}
        write_p2ilf_dataset(out, per_patient, patients, size, seed, ('json', 'xml'),
                            colour_labels=True, config=config)
    elif layout == 'l3d':
        val = max(int(round(count * L3D_SPLIT_SHARES['val'])), int(count >= 3))
        test = max(int(round(count * L3D_SPLIT_SHARES['test'])), int(count >= 3))
        counts = {'train': count - val - test, 'val': val, 'test': test}
        write_l3d_dataset(out, {split: n for split, n in counts.items() if n}, 'folders',
                          size, seed, config=config)
    else:
        raise ValueError(f"layout must be 'p2ilf' or 'l3d', got {layout!r}")
    return Path(out)


def write_p2ilf_dataset(root, frames_per_patient, patients=(1, 2, 3),
                        size: FrameSize = FrameSize(), start_seed: int = 0,
                        contour_formats=('json',), colour_labels: bool = False,
                        label_suffix: str = '.png', image_suffix: str = '.jpg',
                        config: SyntheticConfig = SyntheticConfig()) -> list:
    """Write a synthetic dataset in P2ILF's layout; return the image paths written.

    ``frames_per_patient`` is a count for every patient or a ``{patient: count}``
    dict. ``contour_formats`` holds ``'json'`` (2D-contour JSON) and/or ``'xml'``.
    With ``colour_labels``, each image also gets a ``_GT`` colour label image.
    """
    unknown = set(contour_formats) - {'json', 'xml'}
    if unknown or not contour_formats:
        raise ValueError(f'contour_formats must hold json and/or xml, got {contour_formats}')
    if not isinstance(frames_per_patient, dict):
        frames_per_patient = {patient: frames_per_patient for patient in patients}
    root = Path(root)
    written, seed = [], start_seed
    for patient in patients:
        folder = root / f'patient{patient}'
        for name in ('images', '2D-3D_contours') + (('labels',) if colour_labels else ()):
            (folder / name).mkdir(parents=True, exist_ok=True)
        for index in range(1, frames_per_patient.get(patient, 0) + 1):
            frame = render_frame(seed, size.width, size.height, config)
            seed += 1
            stem = f'patient{patient}_{index}'
            image_path = folder / 'images' / f'{P2ILF_IMAGE_PREFIX}{stem}{image_suffix}'
            _write_rgb(image_path, frame.image)
            contours = p2ilf_io.contours_from_polylines(frame.contours)
            if 'json' in contour_formats:
                p2ilf_io.write_p2ilf_json(
                    contours, folder / '2D-3D_contours' / f'{stem}_2D-contours.json')
            if 'xml' in contour_formats:
                write_p2ilf_xml(contours, folder / '2D-3D_contours' / f'{stem}.xml')
            if colour_labels:
                p2ilf_io.write_label_image(
                    folder / 'labels' / f'{P2ILF_IMAGE_PREFIX}{stem}_GT{label_suffix}',
                    frame.labels)
            written.append(image_path)
    return written


def write_l3d_dataset(root, frames_per_split: dict, layout: str = 'folders',
                      size: FrameSize = FrameSize(), start_seed: int = 0,
                      misspell_ridge: bool = True, image_suffix: str = '.jpg',
                      config: SyntheticConfig = SyntheticConfig()) -> dict:
    """Write a synthetic dataset in L3D's layout; return ``{split: [image paths]}``.

    ``frames_per_split`` maps ``'train'``, ``'val'``, ``'test'`` to frame counts.
    ``layout`` is ``'folders'`` (one folder per split) or ``'split_file'`` (one
    folder, plus a text file per split listing its image names).
    """
    unknown = set(frames_per_split) - set(L3D_SPLIT_FOLDERS)
    if unknown:
        raise ValueError(f'unknown L3D splits {sorted(unknown)}; use train, val, test')
    if layout not in ('folders', 'split_file'):
        raise ValueError(f"layout must be 'folders' or 'split_file', got {layout!r}")
    root = Path(root)
    written, seed = {}, start_seed
    for split, count in frames_per_split.items():
        base = root / L3D_SPLIT_FOLDERS[split] if layout == 'folders' else root
        (base / 'images').mkdir(parents=True, exist_ok=True)
        (base / 'labels').mkdir(parents=True, exist_ok=True)
        written[split] = []
        for _ in range(count):
            frame = render_frame(seed, size.width, size.height, config)
            name = f'synthetic_{seed:06d}'
            seed += 1
            image_path = base / 'images' / f'{name}{image_suffix}'
            _write_rgb(image_path, frame.image)
            document = labelme_document(frame.contours, f'../images/{image_path.name}',
                                        size.width, size.height, misspell_ridge)
            (base / 'labels' / f'{name}.json').write_text(json.dumps(document) + '\n',
                                                          encoding='utf-8')
            written[split].append(image_path)
        if layout == 'split_file':
            names = ''.join(f'{path.name}\n' for path in written[split])
            (root / f'{split}.txt').write_text(names, encoding='utf-8')
    return written


def labelme_document(polylines: dict, image_path: str, width: int, height: int,
                     misspell_ridge: bool = True) -> dict:
    """Build a LabelMe JSON document with one ``linestrip`` shape per polyline."""
    shapes = []
    for landmark in sorted(polylines, key=int):
        label = 'rigde' if landmark == Landmark.RIDGE and misspell_ridge else L3D_LABELS[
            landmark]
        for points in polylines[landmark]:
            shapes.append({
                'label': label,
                'points': np.round(np.asarray(points, np.float64), 2).tolist(),
                'group_id': None,
                'description': '',
                'shape_type': 'linestrip',
                'flags': {},
            })
    return {'version': '5.2.1', 'flags': {}, 'shapes': shapes, 'imagePath': image_path,
            'imageData': None, 'imageHeight': int(height), 'imageWidth': int(width)}


def write_p2ilf_xml(contours, path) -> Path:
    """Write contours as P2ILF's XML (image points only; silhouettes never have model points)."""
    root = ElementTree.Element('contours')
    ElementTree.SubElement(root, 'numOfContours').text = str(len(contours))
    for contour in contours:
        element = ElementTree.SubElement(root, 'contour')
        ElementTree.SubElement(element, 'contourType').text = P2ILF_CONTOUR_TYPES[
            contour.landmark]
        image_points = ElementTree.SubElement(element, 'imagePoints')
        ElementTree.SubElement(image_points, 'numOfPoints').text = str(len(contour.points))
        for axis, name in enumerate(('x', 'y')):
            ElementTree.SubElement(image_points, name).text = ', '.join(
                _number_text(value) for value in contour.points[:, axis])
    ElementTree.indent(root, space='\t')
    path = Path(path)
    ElementTree.ElementTree(root).write(path, encoding='utf-8', xml_declaration=True)
    return path


def _number_text(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f'{value:.2f}'


def _write_rgb(path: Path, rgb: np.ndarray) -> None:
    p2ilf_io.write_image(path, np.ascontiguousarray(rgb[..., ::-1]))


#: Patients of :func:`write_reproduction_datasets`' P2ILF folder: 1 and 2 validate,
#: 4 and 11 test (the paper's split), the others train.
REPRODUCTION_PATIENTS = (1, 2, 3, 4, 5, 11)
#: Degradations of the ground truth that :func:`write_team_predictions` stands in for
#: challenge teams with: (shift in px at 1080 rows, dilation in px, landmark dropped).
TEAM_DEGRADATIONS = {
    'BHL': (4, 0, None), 'NCT': (6, 0, Landmark.RIDGE), 'UCL': (8, 2, None),
    'VIP': (10, 4, Landmark.LIGAMENT), 'VOR': (16, 6, Landmark.SILHOUETTE),
}


def write_reproduction_datasets(l3d_root, p2ilf_root, size: FrameSize = FrameSize(480, 270),
                                frames_per_patient: int = 1, l3d_counts=None,
                                seed: int = 500) -> None:
    """Write tiny L3D- and P2ILF-layout folders on which the paper's pipeline runs end to end.

    P2ILF patients are :data:`REPRODUCTION_PATIENTS`; L3D gets ``l3d_counts``
    (default 4 train, 1 val, 1 test). Seeds of the two folders never overlap.
    """
    counts = l3d_counts or {'train': 4, 'val': 1, 'test': 1}
    write_l3d_dataset(l3d_root, counts, size=size, start_seed=seed)
    write_p2ilf_dataset(p2ilf_root, frames_per_patient, REPRODUCTION_PATIENTS, size,
                        seed + sum(counts.values()), contour_formats=('json',))


def write_team_predictions(ground_truths: dict, out, teams=TEAM_DEGRADATIONS) -> dict:
    """Write each team's prediction of every frame as a P2ILF colour label image.

    ``ground_truths`` maps an image name stem to its full-size id mask; a team's
    prediction is that mask shifted right and down, dilated and with one landmark
    dropped, as in :data:`TEAM_DEGRADATIONS`, written to ``out/TEAM/STEM.png``.
    Returns ``{team: folder}``.
    """
    import cv2
    folders = {}
    for team, (shift, dilation, dropped) in teams.items():
        folder = Path(out) / team
        folder.mkdir(parents=True, exist_ok=True)
        for stem, truth in ground_truths.items():
            scale = truth.shape[0] / 1080.0
            offset = max(0, int(round(shift * scale)))
            predicted = np.zeros_like(truth)
            predicted[offset:, offset:] = truth[:truth.shape[0] - offset,
                                                :truth.shape[1] - offset]
            grow = int(round(dilation * scale))
            if grow:
                kernel = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
                predicted = cv2.dilate(predicted, kernel)
            if dropped is not None:
                predicted[predicted == int(dropped)] = 0
            p2ilf_io.write_label_image(folder / f'{stem}.png', predicted)
        folders[team] = folder
    return folders

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The LightningDataModule: the recipe's ``data`` section to shuffled training batches.

Every dataset (:mod:`liver_landmarks_training.datasets`) yields ``(image, mask)``: a
(3, 320, 416) float32 tensor normalised as the deployed pre-processor does, and a
(320, 416) int64 id mask. ``data.kind`` picks the source: ``synthetic`` renders
frames into memory once (train, validation and test seeds never overlap); ``p2ilf``,
``l3d`` and ``colour_labels`` read a dataset folder, optionally through the on-disk
cache (``data.cache_dir``).
"""

from pathlib import Path

import lightning as L
from liver_landmarks_training.config import DATA_KINDS
from liver_landmarks_training.datasets import (
    ColourLabelDataset, discover_p2ilf, L3DDataset, LandmarkDataset, patient_splits,
    SyntheticDataset)
from liver_landmarks_training.losses import class_pixel_counts, class_weights_for
import torch
from torch.utils.data import DataLoader, Dataset

#: Offset between the seeds of synthetic training and validation frames.
VALIDATION_SEED_OFFSET = 1_000_000
#: Offset of a held-out synthetic test split (evaluation), disjoint from both.
TEST_SEED_OFFSET = 2_000_000
_SYNTHETIC_SPLIT_OFFSETS = {'train': 0, 'val': VALIDATION_SEED_OFFSET, 'test': TEST_SEED_OFFSET}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset folder or split named by the recipe does not exist."""


class RenderedSyntheticDataset(SyntheticDataset):
    """:class:`SyntheticDataset` rendered once into memory, so epochs do not re-render."""

    def __init__(self, *args, **kwargs):
        """Render every frame now; arguments as for SyntheticDataset."""
        super().__init__(*args, **kwargs)
        self._arrays = [super(RenderedSyntheticDataset, self).arrays(index)
                        for index in range(self.count)]

    def arrays(self, index: int):
        """Return the stored uint8 ``(image, mask)`` of frame ``index``."""
        return self._arrays[index]


class RandomCrop(Dataset):
    """Random (height, width) crops of another dataset's (image, mask) tensors.

    Training on crops is cheaper on a CPU; the network is fully convolutional, so it
    still runs on whole 416x320 frames. Validation always uses whole frames.
    """

    def __init__(self, dataset: Dataset, size):
        """Crop ``dataset``'s samples to ``size`` = (height, width)."""
        self.dataset = dataset
        self.height, self.width = int(size[0]), int(size[1])

    def __len__(self):
        """Return the wrapped dataset's length."""
        return len(self.dataset)

    def masks(self):
        """Return the wrapped dataset's uncropped masks."""
        return self.dataset.masks()

    def __getitem__(self, index):
        """Return a random crop of sample ``index``."""
        image, mask = self.dataset[index]
        rows, columns = mask.shape[-2:]
        if rows < self.height or columns < self.width:
            raise ValueError(f'crop {self.height}x{self.width} is larger than the sample '
                             f'{rows}x{columns}')
        # torch's global generator: seeded by seed_everything, and per loader worker.
        top = int(torch.randint(0, rows - self.height + 1, (1,)))
        left = int(torch.randint(0, columns - self.width + 1, (1,)))
        return (image[:, top:top + self.height, left:left + self.width],
                mask[top:top + self.height, left:left + self.width])


def split_source(data_config: dict, split: str) -> tuple[str, str | None]:
    """Return the (kind, root) a split reads: validation may come from another dataset."""
    if split == 'val' and data_config['val_kind'] is not None:
        return data_config['val_kind'], data_config['val_root'] or data_config['root']
    return data_config['kind'], data_config['root']


def p2ilf_split_samples(data_config: dict, root, split: str) -> list:
    """Return the samples of a P2ILF split: patients split three ways (train, val, test)."""
    splits = patient_splits(discover_p2ilf(root), data_config['val_patients'],
                            data_config['test_patients'], data_config['train_patients'])
    if split not in splits:
        raise ValueError(f'P2ILF split must be train, val or test, got {split!r}')
    if not splits[split]:
        raise DatasetNotFoundError(
            f'P2ILF folder {root} has no {split} images (validation patients '
            f'{data_config["val_patients"]}, test patients {data_config["test_patients"]}, '
            f'training patients {data_config["train_patients"] or "the others"})')
    return splits[split]


def build_split(data_config: dict, split: str, augment=None) -> Dataset:
    """Return the dataset of one split (``train``, ``val``, ``test``) of the recipe's data.

    ``val`` and ``train`` mean the recipe's ``train_split``/``val_split``; ``val`` reads
    ``val_kind``/``val_root`` when set (train on L3D, select on P2ILF). P2ILF splits by
    patient: ``val_patients`` validate, ``test_patients`` test, the others (or
    ``train_patients``) train. Colour label folders use ``root/<split>`` when it
    exists, else the whole of ``root`` (an evaluation folder such as the P2ILF sample).
    """
    kind, root = split_source(data_config, split)
    if kind not in DATA_KINDS:
        raise ValueError(f'unknown data.kind {kind!r}: expected one of {", ".join(DATA_KINDS)}')
    augment = augment if augment and any(augment.values()) else None
    if kind == 'synthetic':
        if split not in _SYNTHETIC_SPLIT_OFFSETS:
            raise ValueError(f'synthetic split must be train, val or test, got {split!r}')
        count = data_config['val_count' if split != 'train' else 'train_count']
        first_seed = int(data_config['synthetic_seed']) + _SYNTHETIC_SPLIT_OFFSETS[split]
        return RenderedSyntheticDataset(count, first_seed, data_config['synthetic_size'],
                                        augment=augment)
    if root is None:
        raise DatasetNotFoundError(f'data.root is not set; data.kind {kind!r} reads a folder')
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(f'dataset folder not found: {root}')
    named_split = {'train': data_config['train_split'], 'val': data_config['val_split']}.get(
        split, split)
    options = {'augment': augment, 'cache_dir': data_config['cache_dir']}
    if kind == 'l3d':
        return L3DDataset(root, named_split, **options)
    if kind == 'p2ilf':
        return LandmarkDataset(p2ilf_split_samples(data_config, root, split), **options)
    folder = root / named_split if (root / named_split).is_dir() else root
    return ColourLabelDataset(folder, **options)


def build_datasets(data_config: dict) -> tuple[Dataset, Dataset]:
    """Return (training dataset, validation dataset) for the recipe's ``data`` section."""
    train = build_split(data_config, 'train', augment=data_config['augment'])
    val = build_split(data_config, 'val')
    if data_config['crop'] is not None:
        train = RandomCrop(train, data_config['crop'])
    return train, val


class LandmarkDataModule(L.LightningDataModule):
    """Training and validation loaders for a recipe; training data are shuffled."""

    def __init__(self, config: dict):
        """Keep the recipe; datasets are built in :meth:`setup`."""
        super().__init__()
        self.config = config
        self.train_dataset = None
        self.val_dataset = None

    def setup(self, stage=None):
        """Build the datasets once (rendering or reading, possibly from the cache)."""
        if self.train_dataset is None:
            self.train_dataset, self.val_dataset = build_datasets(self.config['data'])

    def class_weights(self, mode: str = 'eq1') -> list[float]:
        """Class weights of ``mode`` (Eq. 1 by default) over the unaugmented training masks."""
        self.setup()
        return class_weights_for(
            class_pixel_counts(self.train_dataset.masks()), mode,
            allow_missing=bool(self.config['loss']['allow_missing_classes']))

    def _loader(self, dataset, shuffle: bool) -> DataLoader:
        workers = int(self.config['data']['num_workers'])
        return DataLoader(dataset, batch_size=int(self.config['optim']['batch_size']),
                          shuffle=shuffle, num_workers=workers, persistent_workers=workers > 0,
                          pin_memory=torch.cuda.is_available())

    def train_dataloader(self):
        """Return shuffled training batches."""
        return self._loader(self.train_dataset, shuffle=True)

    def val_dataloader(self):
        """Return validation batches in a fixed order."""
        return self._loader(self.val_dataset, shuffle=False)

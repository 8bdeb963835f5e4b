# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The LightningDataModule: the recipe's ``data`` section to shuffled training batches.

Every dataset yields ``(image, mask)``: a (3, 320, 416) float32 tensor normalised as
:class:`liver_landmarks.preprocess.Preprocessor` does, and a (320, 416) int64 id mask.
``data.kind`` picks the source: ``synthetic`` renders frames with
:func:`liver_landmarks_training.synthetic.render_frame` into memory (train and
validation seeds never overlap); ``p2ilf``, ``l3d`` and ``colour_labels`` read a
dataset folder with :mod:`liver_landmarks_training.datasets`.
"""

from pathlib import Path

import lightning as L
from liver_landmarks.landmarks import INPUT_HEIGHT, INPUT_WIDTH
from liver_landmarks.preprocess import IMAGENET_MEAN, IMAGENET_STD, resize_image, resize_labels
from liver_landmarks_training.augment import Augmenter
from liver_landmarks_training.losses import class_weights_from_masks
from liver_landmarks_training.synthetic import render_frame
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

#: Offset between the seeds of synthetic training and validation frames.
VALIDATION_SEED_OFFSET = 1_000_000
#: Offset of a held-out synthetic test split (evaluation), disjoint from both.
TEST_SEED_OFFSET = 2_000_000
_MEAN = np.asarray(IMAGENET_MEAN, np.float32) * 255.0
_STD = np.asarray(IMAGENET_STD, np.float32) * 255.0


class DatasetNotFoundError(FileNotFoundError):
    """A dataset folder or split named by the recipe does not exist."""


def to_network_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB to the normalised (3, H, W) float32 tensor the network reads."""
    normalised = (np.asarray(image, np.float32) - _MEAN) / _STD
    return torch.from_numpy(np.ascontiguousarray(normalised.transpose(2, 0, 1)))


class SyntheticDataset(Dataset):
    """Synthetic frames rendered once into memory at 416x320, seeds ``first_seed + i``."""

    def __init__(self, count: int, first_seed: int, render_size=(INPUT_WIDTH, INPUT_HEIGHT),
                 transform=None):
        """Render ``count`` frames at ``render_size`` (width, height), resized to 416x320."""
        self.transform = transform
        self.seeds = [first_seed + index for index in range(int(count))]
        self.images = np.empty((len(self.seeds), INPUT_HEIGHT, INPUT_WIDTH, 3), np.uint8)
        self.labels = np.empty((len(self.seeds), INPUT_HEIGHT, INPUT_WIDTH), np.uint8)
        width, height = int(render_size[0]), int(render_size[1])
        for index, seed in enumerate(self.seeds):
            frame = render_frame(seed, width, height)
            self.images[index] = resize_image(frame.image, INPUT_WIDTH, INPUT_HEIGHT)
            self.labels[index] = resize_labels(frame.labels, INPUT_HEIGHT, INPUT_WIDTH)

    def __len__(self):
        """Return the number of frames."""
        return len(self.seeds)

    def masks(self):
        """Return the label masks without augmentation (for the class weights)."""
        return iter(self.labels)

    def __getitem__(self, index):
        """Return the normalised image tensor and the int64 mask, augmented if configured."""
        image, labels = self.images[index], self.labels[index]
        if self.transform is not None:
            image, labels = self.transform(image, labels)
        return to_network_tensor(image), torch.from_numpy(np.asarray(labels, np.int64))


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


def training_transform(augment_config: dict):
    """Return the recipe's augmentation as ``(image, mask) -> (image, mask)``, None if off."""
    if not any(augment_config.values()):
        return None
    return Augmenter(augment_config)


def build_datasets(data_config: dict) -> tuple[Dataset, Dataset]:
    """Return (training dataset, validation dataset) for the recipe's ``data`` section."""
    kind = data_config['kind']
    transform = training_transform(data_config['augment'])
    if kind == 'synthetic':
        base = int(data_config['synthetic_seed'])
        size = data_config['synthetic_size']
        train = SyntheticDataset(data_config['train_count'], base, size, transform)
        val = SyntheticDataset(data_config['val_count'], base + VALIDATION_SEED_OFFSET, size)
    else:
        train, val = _folder_datasets(kind, data_config, transform)
    if data_config['crop'] is not None:
        train = RandomCrop(train, data_config['crop'])
    return train, val


def _folder_datasets(kind: str, data_config: dict, transform):
    root = data_config['root']
    if root is None:
        raise DatasetNotFoundError(f'data.root is not set; data.kind {kind!r} reads a folder')
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(f'dataset folder not found: {root}')
    raise ValueError(f'unknown data.kind {kind!r}: expected synthetic, p2ilf, l3d or '
                     'colour_labels')


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

    def class_weights(self) -> list[float]:
        """Class weights ``max(1, ln(|M|/|M_i|))`` over the (unaugmented) training masks."""
        self.setup()
        return class_weights_from_masks(
            self.train_dataset.masks(),
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

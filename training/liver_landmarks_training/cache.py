# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""On-disk cache of preprocessed training samples.

Decoding a 4K JPEG and rasterising its annotation at full resolution costs far
more than a training step on the 416x320 result, so each sample's resized image
(uint8 HxWx3) and mask (uint8 HxW) is stored once as an uncompressed ``.npz``
file (read back with ``allow_pickle=False``: never pickle). The key hashes each
source file's resolved path, modification time and size together with a hash of
the preprocessing settings, so editing an annotation or changing a setting
misses the cache instead of returning stale data. An entry that cannot be read,
or holds the wrong arrays, is rebuilt. Entries are written to a temporary file
and renamed into place, so parallel data-loader workers never see half a file.
"""

from dataclasses import dataclass
import hashlib
import json
import os
from pathlib import Path
import tempfile
import zipfile

import numpy as np

#: Bumped whenever the meaning of a cached entry changes, invalidating old caches.
CACHE_FORMAT_VERSION = 1


@dataclass
class CacheStats:
    """Counts of what the cache did since it was created."""

    hits: int = 0
    misses: int = 0
    rebuilt: int = 0


class PreprocessedCache:
    """Store and fetch ``(image, mask)`` pairs keyed by source files and settings."""

    def __init__(self, directory, settings: dict):
        """Use ``directory`` (created if missing) for entries made with ``settings``.

        ``settings`` is any JSON-serialisable description of the preprocessing
        (sizes, line thickness, id mapping...): different settings never share entries.
        """
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)
        encoded = json.dumps({'format': CACHE_FORMAT_VERSION, 'settings': settings},
                             sort_keys=True, default=str)
        self.settings_hash = hashlib.sha256(encoded.encode('utf-8')).hexdigest()
        self.stats = CacheStats()

    def key(self, sources) -> str:
        """Return the entry key for the given source files (image, annotation...)."""
        digest = hashlib.sha256(self.settings_hash.encode('ascii'))
        for source in sources:
            path = Path(source).resolve()
            status = path.stat()
            digest.update(f'\0{path}\0{status.st_mtime_ns}\0{status.st_size}'.encode('utf-8'))
        return digest.hexdigest()

    def path(self, key: str) -> Path:
        """Return where the entry for ``key`` lives."""
        return self.directory / key[:2] / f'{key}.npz'

    def load(self, key: str):
        """Return the cached ``(image, mask)`` for ``key``, or None if absent or unreadable."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as entry:
                image, mask = entry['image'], entry['mask']
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        if not _valid_pair(image, mask):
            return None
        return image, mask

    def store(self, key: str, image: np.ndarray, mask: np.ndarray) -> Path:
        """Write an entry atomically and return its path."""
        if not _valid_pair(image, mask):
            raise ValueError(f'cache entries are uint8 (H, W, 3) images with uint8 (H, W) masks, '
                             f'got {image.dtype} {image.shape} and {mask.dtype} {mask.shape}')
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix='.tmp')
        try:
            with os.fdopen(handle, 'wb') as stream:
                np.savez(stream, image=image, mask=mask)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

    def get_or_build(self, sources, build):
        """Return the cached pair for ``sources``, calling ``build()`` to make it when needed.

        A missing entry counts as a miss; an entry that exists but cannot be read
        counts as a miss and a rebuild, and is overwritten.
        """
        key = self.key(sources)
        cached = self.load(key)
        if cached is not None:
            self.stats.hits += 1
            return cached
        self.stats.misses += 1
        if self.path(key).exists():
            self.stats.rebuilt += 1
        image, mask = build()
        self.store(key, image, mask)
        return image, mask


def _valid_pair(image, mask) -> bool:
    return (isinstance(image, np.ndarray) and isinstance(mask, np.ndarray)
            and image.dtype == np.uint8 and mask.dtype == np.uint8
            and image.ndim == 3 and image.shape[2] == 3 and mask.shape == image.shape[:2])

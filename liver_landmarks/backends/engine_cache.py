# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""On-disk cache of converted models (OpenVINO IR, TensorRT programs) for fast restarts.

Converting a network (OpenVINO conversion and int8 quantisation, a TensorRT build)
takes seconds to minutes; a node restarting in theatre must not pay it again. Each
entry is a folder named by a key: the sha256 of every component that changes the
converted model (weights hash, runtime versions, precision, input shape, GPU...).
Another GPU or version therefore never finds an entry it cannot use; it builds its
own next to it.

An entry is written into a temporary folder and renamed into place, so readers
never see half of one. Its ``manifest.json`` lists the key's components and the
sha256 of every payload file; a missing, truncated or corrupt file (or a loader
that fails) makes the entry be removed and rebuilt, with a warning that says why.
"""

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
import shutil
import tempfile
import time
from typing import Any, Callable, Optional, TypeVar, Union

from liver_landmarks.model.artifact import file_sha256

LOGGER = logging.getLogger('liver_landmarks.backends.engine_cache')

#: Environment variable that overrides the default cache folder.
CACHE_ENV = 'LIVER_LANDMARKS_CACHE'
MANIFEST = 'manifest.json'
FORMAT_VERSION = 1

Built = TypeVar('Built')


class CacheEntryError(RuntimeError):
    """A cache entry is missing, from another key, truncated or corrupt (the message says)."""


def default_cache_dir() -> Path:
    """Return ``$LIVER_LANDMARKS_CACHE`` or ``~/.cache/liver_landmarks``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / '.cache' / 'liver_landmarks'


def cache_key(components: dict) -> str:
    """Return the key of ``components``: sha256 of their canonical JSON, 32 hex digits.

    Every value must be JSON-serialisable; tuples and lists give the same key.
    """
    canonical = json.dumps({'format': FORMAT_VERSION, **components}, sort_keys=True,
                           separators=(',', ':'), default=_refuse)
    return hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:32]


def _refuse(value):
    raise TypeError(f'cache key component {value!r} is not JSON-serialisable')


class EngineCache:
    """The cache entry of one converted model: ``CACHE_DIR/KIND/KEY/``.

    ``kind`` names the converter ('openvino', 'tensorrt'); ``components`` are what
    the key is made of. :meth:`get_or_build` is the usual entry point.
    """

    def __init__(self, kind: str, components: dict,
                 cache_dir: Union[None, str, Path] = None):
        """Locate the entry for ``components`` under ``cache_dir`` (default: see module)."""
        if not kind or Path(kind).name != kind:
            raise ValueError(f'cache kind must be a plain folder name, got {kind!r}')
        self.kind = kind
        self.components = json.loads(json.dumps(components, default=_refuse))
        self.key = cache_key(self.components)
        self.root = (Path(cache_dir).expanduser() if cache_dir is not None
                     else default_cache_dir()) / kind
        self.directory = self.root / self.key
        #: What the last :meth:`get_or_build` did: 'loaded', 'built' or 'rebuilt: REASON'.
        self.status = ''

    def verify(self) -> dict:
        """Return the manifest if the entry is complete and intact, else raise CacheEntryError."""
        manifest_path = self.directory / MANIFEST
        if not manifest_path.is_file():
            raise CacheEntryError(f'no cache entry at {self.directory}')
        try:
            manifest = json.loads(manifest_path.read_text(encoding='utf-8'))
            files = dict(manifest['files'])
            components = manifest['components']
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CacheEntryError(f'unreadable manifest {manifest_path}: {error}') from error
        if components != self.components:
            raise CacheEntryError(f'{self.directory} was built for other components: '
                                  f'{_difference(components, self.components)}')
        for name, expected in files.items():
            path = self.directory / name
            if not path.is_file():
                raise CacheEntryError(f'cache file {path} is missing')
            if file_sha256(path) != expected:
                raise CacheEntryError(f'cache file {path} is truncated or corrupt '
                                      '(sha256 differs from the manifest)')
        return manifest

    def path(self, name: str) -> Path:
        """Return the path of payload file ``name`` inside the entry."""
        return self.directory / name

    def save(self, write: Callable[[Path], Any], extra: Optional[dict] = None) -> Path:
        """Write a new entry: ``write(folder)`` puts payload files into ``folder``.

        The folder is renamed into place only when complete. If another process
        finished the same entry first, its entry is kept. Returns the entry folder.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f'.{self.key}.', dir=self.root))
        try:
            write(staging)
            files = {path.name: file_sha256(path) for path in sorted(staging.iterdir())
                     if path.is_file() and path.name != MANIFEST}
            if not files:
                raise CacheEntryError(f'the {self.kind} writer wrote no files into {staging}')
            manifest = {'format': FORMAT_VERSION, 'kind': self.kind, 'key': self.key,
                        'components': self.components, 'files': files,
                        'created': time.strftime('%Y-%m-%dT%H:%M:%S%z'), **(extra or {})}
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding='utf-8')
            self._discard_invalid()
            try:
                os.rename(staging, self.directory)
            except OSError:
                if not self.directory.exists():
                    raise
                LOGGER.info('%s cache entry %s was written by another process; using it',
                            self.kind, self.directory)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return self.directory

    def _discard_invalid(self):
        """Remove the entry folder if it exists but does not verify (a corrupt one)."""
        if not self.directory.exists():
            return
        try:
            self.verify()
        except CacheEntryError:
            self.remove()

    def remove(self) -> None:
        """Delete the entry (nothing happens if there is none)."""
        if self.directory.exists():
            # Rename first: a reader never sees a half-deleted entry.
            doomed = self.root / f'.{self.key}.removed.{os.getpid()}.{time.monotonic_ns()}'
            with contextlib.suppress(OSError):
                os.rename(self.directory, doomed)
                shutil.rmtree(doomed, ignore_errors=True)
        if self.directory.exists():
            shutil.rmtree(self.directory, ignore_errors=True)

    def get_or_build(self, build: Callable[[], Built], write: Callable[[Built, Path], Any],
                     load: Callable[[Path], Built]) -> Built:
        """Load the cached model, or build, save and return it.

        ``build()`` makes the model; ``write(model, folder)`` saves its files;
        ``load(folder)`` reads them back. A corrupt or unloadable entry is removed and
        rebuilt (logged). A failure to save is logged and the built model returned:
        a read-only cache slows restarts but never stops the node.
        """
        reason = None
        if (self.directory / MANIFEST).exists():
            try:
                self.verify()
                model = load(self.directory)
                self.status = 'loaded'
                LOGGER.info('%s: loaded from cache %s', self.kind, self.directory)
                return model
            except Exception as error:  # noqa: BLE001 - any failure to load means: rebuild
                reason = f'{type(error).__name__}: {error}'
                LOGGER.warning('%s cache entry %s is unusable (%s); rebuilding it',
                               self.kind, self.directory, reason)
                self.remove()
        model = build()
        try:
            self.save(lambda folder: write(model, folder))
        except Exception as error:  # noqa: BLE001 - the model is fine, only caching failed
            LOGGER.warning('%s: could not save the cache entry in %s (%s: %s); continuing '
                           'without it', self.kind, self.root, type(error).__name__, error)
        self.status = 'built' if reason is None else f'rebuilt: {reason}'
        return model

    def describe(self) -> dict:
        """Return the entry's folder, key, components and last status, for backends to report."""
        return {'cache_dir': str(self.directory), 'cache_key': self.key,
                'cache_status': self.status, 'cache_components': self.components}


def _difference(found: Any, wanted: dict) -> str:
    if not isinstance(found, dict):
        return f'manifest components are {type(found).__name__}, not a mapping'
    keys = sorted(set(found) | set(wanted))
    changed = [f'{key}: {found.get(key)!r} != {wanted.get(key)!r}' for key in keys
               if found.get(key) != wanted.get(key)]
    return '; '.join(changed) or 'none'

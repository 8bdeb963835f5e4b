# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Inference backends and ``create_backend()``, which picks one by name or automatically.

Backends are listed by module and class name and imported only when chosen, so a
machine without OpenVINO or TensorRT never imports them. :data:`BACKEND_KINDS` is the
one list of the names a user may give (command line, node parameter, bench).
"""

import importlib
import importlib.util
from pathlib import Path
from typing import Union

from liver_landmarks.backends.base import (
    BackendError, DeviceUnavailableError, InferenceBackend, LOGGER)
from liver_landmarks.model.artifact import ModelArtifactError

#: kind -> (module, class); each class is constructed as Cls(card_path, device=..., **options).
BACKENDS: dict[str, tuple[str, str]] = {
    'torch': ('liver_landmarks.backends.torch_backend', 'TorchBackend'),
    'openvino': ('liver_landmarks.backends.openvino_backend', 'OpenVinoBackend'),
    'tensorrt': ('liver_landmarks.backends.tensorrt_backend', 'TensorRtBackend'),
}
BACKEND_KINDS = ('auto',) + tuple(BACKENDS)

__all__ = ['BACKEND_KINDS', 'BACKENDS', 'BackendError', 'backend_class', 'create_backend',
           'DeviceUnavailableError', 'InferenceBackend']


def backend_class(kind: str) -> type:
    """Import and return the backend class registered under ``kind``."""
    if kind not in BACKENDS:
        raise ValueError(f'unknown backend {kind!r}: expected one of '
                         f'{", ".join(BACKEND_KINDS)}')
    module_name, class_name = BACKENDS[kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise BackendError(f'backend {kind!r} is not available: {error}') from error
    return getattr(module, class_name)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _cuda_available() -> bool:
    import torch
    return torch.cuda.is_available()


def auto_candidates(device: str = 'auto') -> list[tuple[str, str, str]]:
    """Return (kind, device, reason) to try in order for ``create_backend('auto', ...)``.

    TensorRT on a CUDA GPU when torch_tensorrt is importable, else CUDA PyTorch,
    else OpenVINO (the fast CPU runtime) when importable, else PyTorch on the CPU.
    """
    wanted = str(device).lower()
    if wanted not in ('auto', 'cpu') and not wanted.startswith(('cuda', 'gpu')):
        raise ValueError(f"unknown device {device!r} for backend 'auto': expected 'auto', "
                         "'cpu' or 'cuda[:N]'")
    candidates = []
    if wanted != 'cpu':
        cuda_device = 'cuda' if wanted in ('auto', 'gpu') else wanted
        if _cuda_available():
            if _importable('torch_tensorrt'):
                candidates.append(('tensorrt', cuda_device,
                                   'CUDA GPU present and torch_tensorrt importable'))
            candidates.append(('torch', cuda_device, 'CUDA GPU present'
                               + ('' if candidates else ', torch_tensorrt not importable')))
        elif wanted != 'auto':
            raise DeviceUnavailableError(
                f'device {device!r} was requested but CUDA is not available on this machine: '
                "use device 'cpu' or 'auto'")
    if not candidates:
        if _importable('openvino'):
            candidates.append(('openvino', 'cpu', 'no CUDA GPU; OpenVINO importable (fast CPU)'))
        candidates.append(('torch', 'cpu', 'no CUDA GPU'
                           + ('' if candidates else ', OpenVINO not importable')))
    return candidates


def create_backend(kind: str, card_path: Union[str, Path], device: str = 'auto',
                   **options) -> InferenceBackend:
    """Create the backend ``kind`` ('auto', 'torch', 'openvino', 'tensorrt') for a model card.

    With 'auto' the first candidate of :func:`auto_candidates` that starts is used;
    a candidate that fails falls through to the next (logged), except for faults in
    the model artifact itself, which every backend would hit. The choice and the
    reason are logged and kept in ``backend.selection_reason``.
    """
    if kind != 'auto':
        backend = backend_class(kind)(card_path, device=device, **options)
        backend.selection_reason = f'backend {kind!r} requested'
        return backend
    failures = []
    for candidate, candidate_device, reason in auto_candidates(device):
        try:
            backend = backend_class(candidate)(card_path, device=candidate_device, **options)
        except (ModelArtifactError, DeviceUnavailableError):
            raise
        except Exception as error:  # noqa: B902 - any start-up failure means: try the next
            LOGGER.warning('auto backend: %s on %s failed to start (%s: %s); trying the next',
                           candidate, candidate_device, type(error).__name__, error)
            failures.append(f'{candidate} failed: {type(error).__name__}: {error}')
            continue
        backend.selection_reason = '; '.join(
            [f'{candidate} on {candidate_device}: {reason}'] + failures)
        LOGGER.info('auto backend chose %s on %s: %s', candidate, candidate_device,
                    backend.selection_reason)
        return backend
    raise BackendError('no backend could start: ' + '; '.join(failures))

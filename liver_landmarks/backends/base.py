# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The inference backend interface every runtime (PyTorch, OpenVINO, TensorRT) implements.

A backend takes pre-processed (N, 3, 320, 416) float32 batches and returns logits
or class ids; it owns the model, its device and its numeric precision. Reduced
precision is only ever chosen automatically when it agrees with float32 on the
sample frames (:func:`label_agreement`, :func:`agreement_sample_batches`).
"""

import abc
import logging
import os
from pathlib import Path
import threading
from typing import Any, Callable, Optional, Union

import cv2
from liver_landmarks.calibration import calibration_frame
from liver_landmarks.model.artifact import ModelCard
from liver_landmarks.preprocess import Preprocessor
import numpy as np

LOGGER = logging.getLogger('liver_landmarks.backends')

#: Reduced precision is accepted only if its argmax agrees with float32 on this share of pixels.
MIN_LABEL_AGREEMENT = 0.99

#: A folder (or one file) of real frames added to the precision checks, when set.
SAMPLE_FRAMES_ENV = 'LIVER_LANDMARKS_SAMPLE_FRAMES'


class BackendError(RuntimeError):
    """A backend cannot be created or run as requested; the message says why."""


class DeviceUnavailableError(BackendError):
    """The requested device (e.g. CUDA) is not present on this machine."""


class PendingLabels:
    """Class ids of a batch handed to :meth:`InferenceBackend.start_labels`.

    :meth:`result` waits for them (once; later calls return the same array), so the
    caller can do other work, such as post-processing the previous frame, meanwhile.
    """

    def __init__(self, wait: Callable[[], np.ndarray]):
        """Wrap ``wait``, which blocks until the ids are ready and returns them."""
        self._wait: Optional[Callable[[], np.ndarray]] = wait
        self._labels: Optional[np.ndarray] = None
        self._error: Optional[BaseException] = None
        self._lock = threading.Lock()

    @classmethod
    def ready(cls, labels: np.ndarray) -> 'PendingLabels':
        """Return a handle whose ids are already computed."""
        pending = cls(lambda: labels)
        pending.result()
        return pending

    def done(self) -> bool:
        """Return True once :meth:`result` has returned (or raised)."""
        return self._wait is None

    def result(self) -> np.ndarray:
        """Wait for and return the (N, H, W) uint8 class ids; re-raise a failed inference."""
        with self._lock:
            if self._wait is not None:
                wait, self._wait = self._wait, None
                try:
                    self._labels = wait()
                except BaseException as error:
                    self._error = error
            if self._error is not None:
                raise self._error
            return self._labels


class InferenceBackend(abc.ABC):
    """Runs a segmentation network on pre-processed batches.

    Subclasses set ``name`` and implement :meth:`predict_logits`; they may override
    :meth:`predict_labels` to take the argmax on the device, and :meth:`start_labels`
    (with :attr:`max_in_flight` above one) when their runtime infers asynchronously.
    """

    name: str = 'abstract'
    #: Batches that :meth:`start_labels` can have running at once without blocking.
    max_in_flight: int = 1

    def __init__(self, model_card: ModelCard, device: str, precision: str):
        """Record what runs where: the model card, the device and the numeric precision."""
        self.model_card = model_card
        self.device = device
        self.precision = precision
        #: Why this backend was chosen, filled in by ``create_backend('auto', ...)``.
        self.selection_reason = ''

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one input image."""
        return 3, self.model_card.input_height, self.model_card.input_width

    def check_batch(self, batch: np.ndarray) -> np.ndarray:
        """Return ``batch`` as C-contiguous float32 if its shape is (N, 3, H, W), else raise."""
        if not isinstance(batch, np.ndarray):
            raise ValueError(f'batch must be a numpy array, got {type(batch).__name__}')
        if batch.ndim != 4 or batch.shape[0] < 1 or tuple(batch.shape[1:]) != self.input_shape:
            raise ValueError(f'batch must have shape (N, {", ".join(map(str, self.input_shape))})'
                             f', got {batch.shape}; use Preprocessor to build it')
        return np.ascontiguousarray(batch, dtype=np.float32)

    @abc.abstractmethod
    def predict_logits(self, batch: np.ndarray) -> np.ndarray:
        """Return (N, classes, H, W) float32 logits for a pre-processed batch."""

    def predict_labels(self, batch: np.ndarray) -> np.ndarray:
        """Return (N, H, W) uint8 class ids (argmax over the logits)."""
        return np.argmax(self.predict_logits(batch), axis=1).astype(np.uint8)

    def start_labels(self, batch: np.ndarray) -> PendingLabels:
        """Start inferring class ids for ``batch``; return a handle that waits for them.

        Backends without asynchronous inference compute the ids here, before returning.
        With more than :attr:`max_in_flight` batches running, this waits for the oldest.
        """
        return PendingLabels.ready(self.predict_labels(batch))

    def warmup(self, iterations: int = 2) -> None:
        """Run a few dummy batches so that lazy initialisation is not paid by the first frame."""
        dummy = np.zeros((1,) + self.input_shape, dtype=np.float32)
        for _ in range(iterations):
            self.predict_labels(dummy)

    def close(self) -> None:
        """Release the model and device resources; the backend is unusable afterwards."""

    def describe(self) -> dict[str, Any]:
        """Return what runs where, for diagnostics and logs (JSON-serialisable)."""
        card = self.model_card
        return {
            'backend': self.name,
            'device': str(self.device),
            'precision': self.precision,
            'architecture': card.architecture,
            'encoder': card.encoder,
            'model_card': str(card.path) if card.path else '',
            'weights_sha256': card.weights_sha256,
            'selection_reason': self.selection_reason,
        }

    def __enter__(self) -> 'InferenceBackend':
        """Use as a context manager that closes the backend."""
        return self

    def __exit__(self, *exc_info) -> None:
        """Close the backend."""
        self.close()

    def __repr__(self) -> str:
        """Name, device and precision."""
        return f'<{type(self).__name__} {self.device} {self.precision}>'


def label_agreement(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Return the share of pixels whose class ids (or logits' argmax over axis 1) agree."""
    if reference.ndim == 4:
        reference = np.argmax(reference, axis=1)
    if candidate.ndim == 4:
        candidate = np.argmax(candidate, axis=1)
    if reference.shape != candidate.shape:
        raise ValueError(f'cannot compare labels of shapes {reference.shape} and '
                         f'{candidate.shape}')
    return float(np.mean(reference == candidate)) if reference.size else 1.0


def sample_frame_paths(folder: Union[None, str, Path] = None) -> list[Path]:
    """Real frames for precision checks: ``folder``, else $LIVER_LANDMARKS_SAMPLE_FRAMES or none.

    The package ships no frames: without either, the checks run on calibration frames only.
    """
    if folder is None:
        folder = os.environ.get(SAMPLE_FRAMES_ENV)
        if not folder:
            return []
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir()
                  if path.suffix.lower() in ('.jpg', '.jpeg', '.png'))


def agreement_sample_batches(card: ModelCard, limit: int = 4,
                             folder: Union[None, str, Path] = None) -> list[np.ndarray]:
    """Pre-processed sample frames: the real ones of :func:`sample_frame_paths` plus a fake one."""
    preprocessor = Preprocessor.from_model_card(card)
    batches = []
    for path in sample_frame_paths(folder)[:limit]:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            LOGGER.warning('skipping unreadable sample frame %s', path)
            continue
        batches.append(preprocessor(image, channel_order='bgr'))
    batches.append(preprocessor(calibration_frame(card.input_width * 2, card.input_height * 2)))
    return batches


def check_reduced_precision(name: str, reference_labels, candidate_labels,
                            batches: list[np.ndarray],
                            threshold: float = MIN_LABEL_AGREEMENT) -> tuple[bool, float]:
    """Compare a reduced-precision run with float32 on ``batches``; return (accepted, worst).

    ``reference_labels`` and ``candidate_labels`` map a batch to (N, H, W) ids.
    """
    worst: Optional[float] = None
    for batch in batches:
        agreement = label_agreement(reference_labels(batch), candidate_labels(batch))
        worst = agreement if worst is None else min(worst, agreement)
    worst = 1.0 if worst is None else worst
    accepted = worst >= threshold
    LOGGER.info('%s agrees with float32 on %.2f%% of pixels (worst of %d sample frames; '
                'needs %.0f%%): %s', name, 100 * worst, len(batches), 100 * threshold,
                'using it' if accepted else 'falling back to float32')
    return accepted, worst

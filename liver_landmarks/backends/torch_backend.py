# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""PyTorch inference backend: CPU or CUDA, inference mode, channels-last, reduced precision.

Precision 'auto' picks float16 on CUDA and bfloat16 autocast on a CPU with native
bf16 support (AVX512-BF16 or AMX), each only if its argmax agrees with float32 on
at least 99 % of the pixels of the sample frames; otherwise float32, logged.
"""

import contextlib
import copy
from pathlib import Path
from typing import Optional, Union

from liver_landmarks.backends.base import (
    agreement_sample_batches, check_reduced_precision, DeviceUnavailableError,
    InferenceBackend, LOGGER, MIN_LABEL_AGREEMENT)
from liver_landmarks.model.artifact import load_artifact
import numpy as np
import torch

PRECISIONS = ('auto', 'fp32', 'bf16', 'fp16')

# The agreement check costs a few forward passes: decide once per weights, device and
# precision in a process (a node restarting its pipeline must not pay it again).
_PRECISION_DECISIONS: dict[tuple, tuple[bool, float]] = {}


def resolve_torch_device(device: str = 'auto') -> torch.device:
    """Map 'auto', 'cpu', 'cuda' or 'cuda:N' to a torch device, refusing absent CUDA."""
    text = str(device).lower()
    if text == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if text == 'gpu':
        text = 'cuda'
    if text.startswith('cuda'):
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                f'device {device!r} was requested but CUDA is not available here '
                f'(torch {torch.__version__}, CUDA build {torch.version.cuda or "none"}): '
                "use device 'cpu' or 'auto', or run on a machine with an NVIDIA GPU and driver")
        parsed = torch.device(text)
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f'device {device!r} was requested but only {torch.cuda.device_count()} '
                'CUDA device(s) exist')
        return parsed
    if text == 'cpu':
        return torch.device('cpu')
    raise ValueError(f"unknown device {device!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'")


def cpu_supports_bf16() -> bool:
    """Return True when oneDNN runs bfloat16 natively on this CPU (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class TorchBackend(InferenceBackend):
    """Runs a saved network with PyTorch."""

    name = 'torch'

    def __init__(self, card_path: Union[str, Path], device: str = 'auto',
                 precision: str = 'auto', channels_last: bool = True,
                 threads: Optional[int] = None,
                 min_agreement: float = MIN_LABEL_AGREEMENT):
        """Load the artifact at ``card_path`` onto ``device`` and choose the precision.

        ``precision``: 'auto', 'fp32', 'bf16' (CPU autocast) or 'fp16' (CUDA only).
        ``threads`` sets torch's intra-op thread count for this process when given.
        """
        if precision not in PRECISIONS:
            raise ValueError(f'unknown precision {precision!r}: expected one of {PRECISIONS}')
        torch_device = resolve_torch_device(device)
        if precision == 'fp16' and torch_device.type != 'cuda':
            raise ValueError("precision 'fp16' needs a CUDA device; use 'bf16' or 'fp32' on CPU")
        if threads is not None:
            torch.set_num_threads(int(threads))
        model, card = load_artifact(card_path, device=torch_device)
        self._memory_format = (torch.channels_last if channels_last
                               else torch.contiguous_format)
        self._model = model.to(memory_format=self._memory_format)
        self._torch_device = torch_device
        super().__init__(card, str(torch_device), 'fp32')
        #: Worst share of pixels where the reduced precision agreed with float32 (auto only).
        self.precision_agreement: Optional[float] = None
        self.precision = self._choose_precision(precision, min_agreement)
        if self.precision == 'fp16':
            self._model = self._model.half()

    def _choose_precision(self, requested: str, min_agreement: float) -> str:
        """Return the precision to run; 'auto' tries the reduced one against float32."""
        if requested != 'auto':
            if requested == 'bf16' and not cpu_supports_bf16():
                LOGGER.warning('bf16 requested on a CPU without native bf16: it runs, slowly')
            return requested
        if self._torch_device.type == 'cuda':
            candidate = 'fp16'
        elif cpu_supports_bf16():
            candidate = 'bf16'
        else:
            LOGGER.info('this CPU has no native bf16: using float32')
            return 'fp32'
        key = (self.model_card.weights_sha256, str(self._torch_device), candidate,
               float(min_agreement))
        if key not in _PRECISION_DECISIONS:
            # fp16 runs a half copy; bf16 autocasts the float32 model itself.
            candidate_model = (copy.deepcopy(self._model).half() if candidate == 'fp16'
                               else self._model)
            _PRECISION_DECISIONS[key] = check_reduced_precision(
                candidate,
                lambda batch: self._labels(self._model, batch, 'fp32'),
                lambda batch: self._labels(candidate_model, batch, candidate),
                agreement_sample_batches(self.model_card), min_agreement)
        accepted, self.precision_agreement = _PRECISION_DECISIONS[key]
        return candidate if accepted else 'fp32'

    def _autocast(self, precision: str):
        if precision == 'bf16' and self._torch_device.type == 'cpu':
            return torch.autocast('cpu', dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _run(self, model: torch.nn.Module, batch: np.ndarray, precision: str) -> torch.Tensor:
        tensor = torch.from_numpy(self.check_batch(batch)).to(self._torch_device)
        if precision == 'fp16':
            tensor = tensor.half()
        tensor = tensor.contiguous(memory_format=self._memory_format)
        with torch.inference_mode(), self._autocast(precision):
            return model(tensor)

    def _labels(self, model: torch.nn.Module, batch: np.ndarray, precision: str) -> np.ndarray:
        with torch.inference_mode():
            logits = self._run(model, batch, precision)
            return logits.argmax(dim=1).to(torch.uint8).cpu().numpy()

    def predict_logits(self, batch: np.ndarray) -> np.ndarray:
        """Return (N, classes, H, W) float32 logits."""
        with torch.inference_mode():
            logits = self._run(self._model, batch, self.precision)
            return logits.float().contiguous().cpu().numpy()

    def predict_labels(self, batch: np.ndarray) -> np.ndarray:
        """Return (N, H, W) uint8 class ids; the argmax runs on the device."""
        return self._labels(self._model, batch, self.precision)

    def close(self) -> None:
        """Drop the model (and the CUDA cache it used)."""
        self._model = None
        if self._torch_device.type == 'cuda':
            torch.cuda.empty_cache()

    def describe(self) -> dict:
        """Return the base description plus torch version, threads and GPU name."""
        description = super().describe()
        description.update({'torch_version': torch.__version__,
                            'threads': torch.get_num_threads(),
                            'channels_last': self._memory_format == torch.channels_last,
                            'precision_agreement': self.precision_agreement})
        if self._torch_device.type == 'cuda':
            description['gpu'] = torch.cuda.get_device_name(self._torch_device)
        return description

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT backend through torch-tensorrt: fp16 (or fp32) engine for the fixed input shape.

Follows torch-tensorrt's documented ahead-of-time path: ``torch.export.export`` the
network for the fixed 1x3x320x416 input, ``torch_tensorrt.dynamo.compile`` it, save
the compiled program with ``torch_tensorrt.save`` and load it on later starts with
``torch.export.load(path).module()``. The saved program is cached (see
:mod:`liver_landmarks.backends.engine_cache`) under a key of the weights' sha256, the
GPU's name and compute capability, the TensorRT, torch-tensorrt and torch versions,
the precision and the input shape: another GPU or version builds its own engine,
and an unreadable one is rebuilt.

Every start verifies the engine against eager PyTorch fp32 on fixed inputs (argmax
agreement at least 99.9 %, largest logit difference reported). A failing engine is
refused, or with ``allow_fallback=True`` replaced by the PyTorch CUDA backend (logged).
``torch_tensorrt`` is imported only inside this module's functions.
"""

from pathlib import Path
import time
from typing import Optional, Sequence, Union

from liver_landmarks.backends.base import (
    agreement_sample_batches, BackendError, InferenceBackend, label_agreement, LOGGER)
from liver_landmarks.backends.engine_cache import EngineCache
from liver_landmarks.backends.torch_backend import resolve_torch_device, TorchBackend
from liver_landmarks.model.artifact import load_artifact, load_model_card
import numpy as np

PRECISIONS = ('auto', 'fp16', 'fp32')
#: The engine must reproduce eager fp32's class ids on this share of pixels.
MIN_ENGINE_AGREEMENT = 0.999
ENGINE_FILE = 'model.ep'
INSTALL_HINT = ('pip install torch-tensorrt tensorrt-cu13-libs (on a machine with an NVIDIA '
                'GPU and a CUDA 13 driver; the versions must match the installed torch)')


def import_torch_tensorrt():
    """Import and return ``torch_tensorrt``, or raise BackendError saying what to install."""
    try:
        import torch_tensorrt
    except Exception as error:  # noqa: BLE001 - ImportError, or a broken CUDA/TensorRT library
        raise BackendError(f'the TensorRT backend needs torch_tensorrt, which does not import '
                           f'here ({type(error).__name__}: {error}): {INSTALL_HINT}') from error
    return torch_tensorrt


def tensorrt_version() -> str:
    """Return the TensorRT library version, or 'unknown' when only torch_tensorrt says."""
    try:
        import tensorrt
        return tensorrt.__version__
    except Exception:  # noqa: BLE001 - some builds bundle TensorRT without the Python module
        return 'unknown'


def engine_cache_components(weights_sha256: str, gpu_name: str, compute_capability: str,
                            tensorrt: str, torch_tensorrt: str, torch: str, precision: str,
                            input_shape: Sequence[int]) -> dict:
    """Return everything a TensorRT engine depends on: the engine cache key's components."""
    return {'weights_sha256': weights_sha256, 'gpu': gpu_name,
            'compute_capability': compute_capability, 'tensorrt': tensorrt,
            'torch_tensorrt': torch_tensorrt, 'torch': torch, 'precision': precision,
            'input_shape': [int(size) for size in input_shape]}


class TensorRtBackend(InferenceBackend):
    """Runs a saved network as a TensorRT engine compiled by torch-tensorrt."""

    name = 'tensorrt'

    def __init__(self, card_path: Union[str, Path], device: str = 'cuda',
                 precision: str = 'fp16', cache_dir: Union[None, str, Path] = None,
                 allow_fallback: bool = False,
                 min_agreement: float = MIN_ENGINE_AGREEMENT,
                 verification_batches: Optional[Sequence[np.ndarray]] = None):
        """Build (or load from the cache) and verify the engine for ``card_path``.

        ``precision``: 'fp16' (default; 'auto' means fp16) or 'fp32'. With
        ``allow_fallback``, an engine that cannot be built or fails verification is
        replaced by :class:`TorchBackend` on the same GPU instead of refusing.
        """
        if precision not in PRECISIONS:
            raise ValueError(f'unknown precision {precision!r}: expected one of {PRECISIONS}')
        precision = 'fp16' if precision == 'auto' else precision
        torch_device = resolve_torch_device('cuda' if str(device).lower() == 'auto' else device)
        if torch_device.type != 'cuda':
            raise ValueError(f'the TensorRT backend runs on an NVIDIA GPU; device {device!r} '
                             "is not one (use device 'cuda')")
        super().__init__(load_model_card(card_path), str(torch_device), precision)
        self._torch_device = torch_device
        self._module = None
        self._fallback: Optional[TorchBackend] = None
        self.agreement: Optional[float] = None
        self.max_logit_difference: Optional[float] = None
        self.fallback_reason = ''
        self.cache: Optional[EngineCache] = None
        started = time.monotonic()
        try:
            self._start(card_path, precision, cache_dir, min_agreement, verification_batches)
        except BackendError as error:
            if not allow_fallback:
                raise
            self.fallback_reason = str(error)
            LOGGER.warning('tensorrt backend: %s; falling back to PyTorch on %s',
                           error, torch_device)
            self._fallback = TorchBackend(card_path, device=str(torch_device))
            self.precision = self._fallback.precision
        self.startup_s = round(time.monotonic() - started, 2)

    def _start(self, card_path, precision, cache_dir, min_agreement, verification_batches):
        import torch

        torch_tensorrt = import_torch_tensorrt()
        model, card = load_artifact(card_path, device=self._torch_device)
        properties = torch.cuda.get_device_properties(self._torch_device)
        self.cache = EngineCache('tensorrt', engine_cache_components(
            card.weights_sha256, properties.name, f'{properties.major}.{properties.minor}',
            tensorrt_version(), torch_tensorrt.__version__, torch.__version__, precision,
            (1, *self.input_shape)), cache_dir)
        batches = (list(verification_batches) if verification_batches is not None
                   else agreement_sample_batches(card))
        with torch.inference_mode():
            references = [model(self._to_device(batch, torch.float32)).float().cpu().numpy()
                          for batch in batches]
        dtype = torch.float16 if precision == 'fp16' else torch.float32
        example = torch.zeros((1, *self.input_shape), dtype=dtype, device=self._torch_device)

        def build():
            LOGGER.info('tensorrt backend: building a %s engine for %s (takes a minute or more)',
                        precision, properties.name)
            # Weights and inputs in the target type: fp16 under the older
            # enabled_precisions API and under explicit typing alike.
            network = model.to(dtype).eval()
            exported = torch.export.export(network, (example,))
            # fp32 means fp32: TensorRT would otherwise use TF32 for convolutions.
            strict = {'disable_tf32': precision == 'fp32'}
            try:
                return torch_tensorrt.dynamo.compile(exported, inputs=[example],
                                                     enabled_precisions={dtype}, **strict)
            except (TypeError, ValueError) as error:
                LOGGER.info('tensorrt backend: compiling without enabled_precisions (%s)', error)
                return torch_tensorrt.dynamo.compile(exported, inputs=[example], **strict)

        def write(module, folder: Path):
            try:
                torch_tensorrt.save(module, str(folder / ENGINE_FILE), inputs=[example])
            except TypeError:
                torch_tensorrt.save(module, str(folder / ENGINE_FILE), arg_inputs=[example])

        def load(folder: Path):
            return torch.export.load(str(folder / ENGINE_FILE)).module()

        def verified(module):
            self._module, self._dtype = module, dtype
            agreement, difference = self._verify(batches, references)
            self.agreement, self.max_logit_difference = agreement, difference
            return agreement >= min_agreement

        try:
            module = self.cache.get_or_build(build, write, load)
        except BackendError:
            raise
        except Exception as error:  # noqa: BLE001 - a failed build is a backend failure
            raise BackendError(f'torch-tensorrt could not build the engine: '
                               f'{type(error).__name__}: {error}') from error
        if not verified(module) and self.cache.status == 'loaded':
            LOGGER.warning('tensorrt backend: the cached engine agrees with eager fp32 on only '
                           '%.3f%% of pixels; rebuilding it', 100 * self.agreement)
            self.cache.remove()
            module = self.cache.get_or_build(build, write, load)
            verified(module)
        if self.agreement < min_agreement:
            self._module = None
            raise BackendError(
                f'the {precision} TensorRT engine agrees with eager PyTorch fp32 on only '
                f'{self.agreement:.3%} of pixels (needs {min_agreement:.1%}; largest logit '
                f'difference {self.max_logit_difference:.3g}): refusing it. Try precision '
                "'fp32' or allow_fallback=True")
        LOGGER.info('tensorrt backend: %s engine (%s), agreement %.3f%%, largest logit '
                    'difference %.3g', precision, self.cache.status, 100 * self.agreement,
                    self.max_logit_difference)

    def _to_device(self, batch: np.ndarray, dtype):
        import torch
        return torch.from_numpy(self.check_batch(batch)).to(self._torch_device, dtype)

    def _run(self, batch: np.ndarray):
        import torch
        tensor = self._to_device(batch, self._dtype)
        with torch.inference_mode():
            # The engine has a static batch of one.
            return torch.cat([self._module(tensor[i:i + 1]) for i in range(tensor.shape[0])])

    def _verify(self, batches, references) -> tuple[float, float]:
        worst, largest = 1.0, 0.0
        for batch, reference in zip(batches, references):
            logits = self._run(batch).float().cpu().numpy()
            if not np.all(np.isfinite(logits)):
                return 0.0, float('inf')
            worst = min(worst, label_agreement(reference, logits))
            largest = max(largest, float(np.max(np.abs(reference - logits))))
        return worst, largest

    def predict_logits(self, batch: np.ndarray) -> np.ndarray:
        """Return (N, classes, H, W) float32 logits."""
        if self._fallback is not None:
            return self._fallback.predict_logits(batch)
        if self._module is None:
            raise BackendError('the TensorRT backend was closed')
        return self._run(batch).float().cpu().numpy()

    def predict_labels(self, batch: np.ndarray) -> np.ndarray:
        """Return (N, H, W) uint8 class ids; the argmax runs on the GPU."""
        if self._fallback is not None:
            return self._fallback.predict_labels(batch)
        if self._module is None:
            raise BackendError('the TensorRT backend was closed')
        import torch
        return self._run(batch).argmax(dim=1).to(torch.uint8).cpu().numpy()

    def close(self) -> None:
        """Release the engine (or the fallback backend)."""
        self._module = None
        if self._fallback is not None:
            self._fallback.close()
            self._fallback = None

    def describe(self) -> dict:
        """Return the base description plus agreement, versions, cache and any fallback."""
        description = super().describe()
        description.update({'agreement_with_fp32': self.agreement,
                            'max_logit_difference': self.max_logit_difference,
                            'startup_s': self.startup_s,
                            'fallback': self.fallback_reason or None})
        if self.cache is not None:
            description.update(self.cache.describe())
        if self._fallback is not None:
            description['running'] = self._fallback.describe()
        return description

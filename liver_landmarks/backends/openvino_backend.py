# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The fast CPU backend: OpenVINO, int8 (post-training quantised) or bf16, verified at start.

On a CPU it is several times faster than eager PyTorch fp32 (figures in
docs/benchmarks.md). The network is
converted straight from PyTorch (``openvino.convert_model``, no ONNX), quantised with
``nncf.quantize`` on calibration frames for int8, and compiled for the CPU with a
latency hint. The converted IR (.xml + .bin) is cached (see
:mod:`liver_landmarks.backends.engine_cache`) under a key of the weights' sha256, the
OpenVINO (and NNCF) version, the precision, the input shape and the calibration set.

Every construction checks the compiled model against eager PyTorch fp32 on fixed
inputs (the real sample frames when present, plus procedural ones): a reduced
precision must agree on at least 99 % of the pixels (argmax), float32 OpenVINO on
99.9 %. A precision that fails falls back to the next (int8, then bf16, then fp32),
logged with the agreement it reached; ``describe()`` reports the agreement and the
largest logit difference.

The compiled graph ends in the argmax over the classes (a second, uint8 output beside
the logits), so class ids come out of OpenVINO's own threads instead of a pass of
numpy over the float logits. :meth:`OpenVinoBackend.start_labels` uses asynchronous
infer requests: with ``in_flight=2`` the caller (the node's worker) post-processes the
last frame while OpenVINO infers the next. The default is one: OpenVINO's latency
mode already keeps every core busy during inference, so on a CPU the overlap only
moves work around and adds the next frame's pre-processing to each frame's latency
(docs/benchmarks.md has the paired measurements).
"""

from collections import deque
import hashlib
import logging
import math
import os
from pathlib import Path
import threading
import time
from typing import Optional, Sequence, Union

from liver_landmarks import calibration
from liver_landmarks.backends.base import (
    agreement_sample_batches, BackendError, DeviceUnavailableError, InferenceBackend,
    label_agreement, LOGGER, MIN_LABEL_AGREEMENT, PendingLabels)
from liver_landmarks.backends.engine_cache import EngineCache
from liver_landmarks.model.artifact import load_artifact
from liver_landmarks.preprocess import Preprocessor
import numpy as np

PRECISIONS = ('auto', 'int8', 'bf16', 'fp32')
#: Tried in this order by 'auto'; an explicit precision falls back along the same chain.
FALLBACK_CHAIN = ('int8', 'bf16', 'fp32')
#: float32 OpenVINO must match eager PyTorch float32 almost exactly.
MIN_FP32_AGREEMENT = 0.999
DEFAULT_CALIBRATION_FRAMES = 24
VERIFICATION_FRAMES = 2
VERIFICATION_SEED = 1000
PROCEDURAL_CALIBRATION = 'procedural-v1'
#: Infer requests by default; two let one frame infer while the caller finishes another.
IN_FLIGHT_REQUESTS = 1
LOGITS_OUTPUT, CLASS_IDS_OUTPUT = 0, 1


def calibration_batches(frames: Optional[Sequence[np.ndarray]],
                        preprocessor: Preprocessor) -> tuple[list[np.ndarray], str]:
    """Pre-process calibration frames; return (batches, fingerprint for the cache key).

    ``frames``: HxWx3 uint8 RGB frames of any size, (1, 3, h, w) float32 batches
    already pre-processed, or None for :func:`~liver_landmarks.calibration.calibration_frames`.
    """
    if frames is None:
        frames = calibration.calibration_frames(DEFAULT_CALIBRATION_FRAMES)
        fingerprint = f'{PROCEDURAL_CALIBRATION}:{DEFAULT_CALIBRATION_FRAMES}'
    else:
        fingerprint = None
    batches = []
    for frame in frames:
        frame = np.asarray(frame)
        if frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3:
            batches.append(preprocessor(frame))
        elif frame.dtype == np.float32 and frame.ndim == 4 and frame.shape[:2] == (1, 3):
            batches.append(np.ascontiguousarray(frame))
        else:
            raise ValueError('calibration frames must be HxWx3 uint8 RGB frames or '
                             f'(1, 3, H, W) float32 batches, got {frame.dtype} {frame.shape}')
    if not batches:
        raise ValueError('calibration_frames is empty: give frames or None for the default')
    if fingerprint is None:
        digest = hashlib.sha256()
        for batch in batches:
            digest.update(batch.tobytes())
        fingerprint = f'sha256:{digest.hexdigest()[:32]}:{len(batches)}'
    return batches, fingerprint


def cpu_has_native_bf16(core) -> bool:
    """Return True when OpenVINO's CPU plugin runs bf16 natively on this CPU."""
    try:
        return 'BF16' in core.get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
    except Exception:  # noqa: BLE001 - an unknown plugin: assume not
        return False


class OpenVinoBackend(InferenceBackend):
    """Runs a saved network with OpenVINO on the CPU (int8, bf16 or fp32)."""

    name = 'openvino'

    def __init__(self, card_path: Union[str, Path], device: str = 'cpu',
                 precision: str = 'auto', cache_dir: Union[None, str, Path] = None,
                 calibration_frames: Optional[Sequence[np.ndarray]] = None,
                 threads: Optional[int] = None, in_flight: int = IN_FLIGHT_REQUESTS,
                 min_agreement: float = MIN_LABEL_AGREEMENT,
                 verification_batches: Optional[Sequence[np.ndarray]] = None):
        """Convert (or load from the cache), compile and verify the network.

        ``precision``: 'auto' (int8 if it agrees, else bf16 where the CPU runs it
        natively, else fp32), 'int8', 'bf16' or 'fp32'; a precision that fails the
        agreement check falls back along int8, bf16, fp32. ``calibration_frames``
        (int8 only): RGB frames or pre-processed batches; default procedural frames.
        ``threads``: OpenVINO inference threads (default: all cores).
        ``in_flight``: infer requests, the batches :meth:`start_labels` runs at once (1 or 2).
        ``verification_batches``: pre-processed batches to verify on instead of the
        sample frames (tests).
        """
        if in_flight not in (1, 2):
            raise ValueError(f'in_flight must be 1 or 2, got {in_flight!r}')
        self.max_in_flight = in_flight
        if precision not in PRECISIONS:
            raise ValueError(f'unknown precision {precision!r}: expected one of {PRECISIONS}')
        if str(device).lower() not in ('cpu', 'auto'):
            raise DeviceUnavailableError(
                f'the OpenVINO backend runs on the CPU; device {device!r} is not supported '
                "(use device 'cpu', or the torch or tensorrt backend on a GPU)")
        try:
            import openvino
        except ImportError as error:
            raise BackendError('the OpenVINO backend needs the openvino package '
                               '(pip install openvino==2026.4.1 nncf==3.4.0)') from error
        started = time.monotonic()
        model, card = load_artifact(card_path, device='cpu')
        super().__init__(card, 'cpu', precision)
        self._ov = openvino
        self._core = openvino.Core()
        self._threads = threads
        self._cache_dir = cache_dir
        self._preprocessor = Preprocessor.from_model_card(card)
        self._calibration_frames = calibration_frames
        self._torch_model = model
        self.requested_precision = precision
        self.agreement: Optional[float] = None
        self.max_logit_difference: Optional[float] = None
        self.fallbacks: list[str] = []
        self.caches: dict[str, dict] = {}
        if verification_batches is not None:
            batches = list(verification_batches)
        else:
            # Held-out procedural frames (calibration uses seed 0) beside the real samples.
            batches = agreement_sample_batches(card) + [
                self._preprocessor(frame) for frame in calibration.calibration_frames(
                    VERIFICATION_FRAMES, 416, 320, seed=VERIFICATION_SEED)]
        references = [self._torch_logits(batch) for batch in batches]
        chain = FALLBACK_CHAIN[FALLBACK_CHAIN.index('int8' if precision == 'auto'
                                                    else precision):]
        if precision != 'bf16' and not cpu_has_native_bf16(self._core):
            chain = tuple(candidate for candidate in chain if candidate != 'bf16')
        self._compiled = None
        for candidate in chain:
            threshold = MIN_FP32_AGREEMENT if candidate == 'fp32' else min_agreement
            try:
                compiled = self._compile(candidate)
                agreement, difference = self._verify(compiled, batches, references)
            except Exception as error:  # noqa: BLE001 - a failing precision falls back
                self._fall_back(candidate, f'{type(error).__name__}: {error}')
                continue
            if agreement >= threshold:
                self._compiled, self.precision = compiled, candidate
                self.agreement, self.max_logit_difference = agreement, difference
                break
            self._fall_back(candidate, f'argmax agreement with eager fp32 {agreement:.4%} < '
                            f'{threshold:.1%} (largest logit difference {difference:.3g})')
        if self._compiled is None:
            raise BackendError('OpenVINO could not reproduce eager PyTorch fp32 at any '
                               f'precision: {"; ".join(self.fallbacks)}')
        self._pool = threading.Condition()
        self._free = deque(self._compiled.create_infer_request()
                           for _ in range(self.max_in_flight))
        self._in_flight: deque = deque()
        self._closed = False
        self._torch_model = None
        self.startup_s = round(time.monotonic() - started, 2)
        LOGGER.info('openvino backend: %s, agreement %.4f%%, largest logit difference %.3g, '
                    'started in %.1f s', self.precision, 100 * self.agreement,
                    self.max_logit_difference, self.startup_s)

    # -------------------------------------------------------------- building

    def _fall_back(self, candidate: str, reason: str):
        self.fallbacks.append(f'{candidate}: {reason}')
        LOGGER.warning('openvino backend: not using %s: %s', candidate, reason)

    def _torch_logits(self, batch: np.ndarray) -> np.ndarray:
        import torch
        with torch.inference_mode():
            return self._torch_model(torch.from_numpy(self.check_batch(batch))).float().numpy()

    def _key_components(self, precision: str) -> dict:
        components = {'weights_sha256': self.model_card.weights_sha256,
                      'architecture': self.model_card.architecture,
                      'encoder': self.model_card.encoder,
                      'openvino': self._ov.get_version(), 'precision': precision,
                      'input_shape': [1, *self.input_shape]}
        if precision == 'int8':
            import nncf
            components['nncf'] = nncf.__version__
        return components

    def _float_ir(self):
        """Return the float32 IR, converted from PyTorch or loaded from the cache."""
        cache = EngineCache('openvino', self._key_components('fp32'), self._cache_dir)
        model = cache.get_or_build(self._convert, self._write_ir, self._read_ir)
        self.caches['fp32'] = cache.describe()
        return model

    def _convert(self):
        import torch
        example = torch.zeros((1, *self.input_shape), dtype=torch.float32)
        with torch.no_grad():
            return self._ov.convert_model(self._torch_model, example_input=example,
                                          input=[(1, *self.input_shape)])

    def _write_ir(self, model, folder: Path):
        self._ov.save_model(model, str(folder / 'model.xml'), compress_to_fp16=False)

    def _read_ir(self, folder: Path):
        return self._core.read_model(str(folder / 'model.xml'))

    def _int8_ir(self):
        """Return the int8 IR, quantised on calibration frames or loaded from the cache."""
        float_model = self._float_ir()
        batches, fingerprint = calibration_batches(self._calibration_frames,
                                                   self._preprocessor)
        components = {**self._key_components('int8'), 'calibration': fingerprint}
        cache = EngineCache('openvino', components, self._cache_dir)

        def quantise():
            import nncf
            from nncf.common.logging import nncf_logger
            nncf_logger.setLevel(logging.WARNING)
            began = time.monotonic()
            quantised = nncf.quantize(float_model, nncf.Dataset(batches),
                                      preset=nncf.QuantizationPreset.PERFORMANCE,
                                      target_device=nncf.TargetDevice.CPU,
                                      subset_size=len(batches), fast_bias_correction=True)
            LOGGER.info('openvino backend: quantised to int8 on %d calibration frames in %.1f s',
                        len(batches), time.monotonic() - began)
            return quantised
        model = cache.get_or_build(quantise, self._write_ir, self._read_ir)
        self.caches['int8'] = cache.describe()
        return model

    def _with_class_ids(self, model):
        """Return ``model`` with a second output: the argmax over the classes, as uint8."""
        import openvino.opset13 as ops
        logits = model.get_results()[LOGITS_OUTPUT].input_value(0)
        # Stable: on a tie the lowest class wins, as with numpy's argmax (k=1: no real sort).
        top = ops.topk(logits, 1, axis=1, mode='max', sort='value', index_element_type='i32',
                       stable=True)
        ids = ops.convert(ops.squeeze(top.output(1), np.array([1], dtype=np.int64)), 'u8')
        return self._ov.Model([logits, ids.output(0)], model.get_parameters(),
                              f'{model.get_friendly_name()}_with_class_ids')

    def _compile(self, precision: str):
        model = self._int8_ir() if precision == 'int8' else self._float_ir()
        model = self._with_class_ids(model)
        # The CPU plugin runs float layers in bf16 by default on bf16-capable CPUs:
        # float32 must be asked for explicitly.
        config = {'PERFORMANCE_HINT': 'LATENCY',
                  'INFERENCE_PRECISION_HINT': 'bf16' if precision == 'bf16' else 'f32'}
        if self._threads:
            config['INFERENCE_NUM_THREADS'] = int(self._threads)
        return self._core.compile_model(model, 'CPU', config)

    def _verify(self, compiled, batches, references) -> tuple[float, float]:
        request = compiled.create_infer_request()
        worst, largest = 1.0, 0.0
        for batch, reference in zip(batches, references):
            logits = self._infer(request, batch)
            if not np.all(np.isfinite(logits)):
                return 0.0, math.inf
            worst = min(worst, label_agreement(reference, logits))
            largest = max(largest, float(np.max(np.abs(reference - logits))))
        return worst, largest

    # -------------------------------------------------------------- running

    @staticmethod
    def _infer(request, batch: np.ndarray) -> np.ndarray:
        # The IR has a static batch of one: the fastest shape on a CPU.
        outputs = []
        for index in range(batch.shape[0]):
            request.infer({0: batch[index:index + 1]})
            outputs.append(request.get_output_tensor(LOGITS_OUTPUT).data.copy())
        return np.concatenate(outputs, axis=0)

    def _acquire(self):
        """Return a free infer request, first waiting for the oldest running batch if none."""
        while True:
            with self._pool:
                if self._closed:
                    raise BackendError('the OpenVINO backend was closed')
                if self._free:
                    return self._free.popleft()
                oldest = self._in_flight[0] if self._in_flight else None
                if oldest is None:
                    # Another thread holds every request synchronously: wait for one back.
                    self._pool.wait()
                    continue
            oldest.result()

    def _release(self, request, pending: Optional[PendingLabels] = None):
        with self._pool:
            if pending is not None and pending in self._in_flight:
                self._in_flight.remove(pending)
            if not self._closed:
                self._free.append(request)
            self._pool.notify_all()

    def _collect(self, request, pending: PendingLabels) -> np.ndarray:
        try:
            request.wait()
            return request.get_output_tensor(CLASS_IDS_OUTPUT).data.copy()
        finally:
            self._release(request, pending)

    def predict_logits(self, batch: np.ndarray) -> np.ndarray:
        """Return (N, classes, H, W) float32 logits."""
        batch = self.check_batch(batch)
        request = self._acquire()
        try:
            return self._infer(request, batch).astype(np.float32, copy=False)
        finally:
            self._release(request)

    def start_labels(self, batch: np.ndarray) -> PendingLabels:
        """Start an asynchronous inference of (1, 3, H, W) ``batch``; return its pending ids.

        Up to :attr:`max_in_flight` batches run at once; one more waits for the oldest.
        The input is copied into the request, so the caller may reuse ``batch`` at once.
        A batch of several images is inferred before this returns.
        """
        batch = self.check_batch(batch)
        if batch.shape[0] != 1:
            return PendingLabels.ready(self.predict_labels(batch))
        request = self._acquire()
        try:
            request.start_async({0: batch}, share_inputs=False)
        except BaseException:
            self._release(request)
            raise
        pending = PendingLabels(lambda: self._collect(request, pending))
        with self._pool:
            self._in_flight.append(pending)
        return pending

    def predict_labels(self, batch: np.ndarray) -> np.ndarray:
        """Return (N, H, W) uint8 class ids, the argmax taken inside the compiled graph."""
        batch = self.check_batch(batch)
        return np.concatenate([self.start_labels(batch[index:index + 1]).result()
                               for index in range(batch.shape[0])], axis=0)

    def close(self) -> None:
        """Wait for running batches, then release the infer requests and the compiled model."""
        with self._pool:
            running = list(self._in_flight)
        for pending in running:
            try:
                pending.result()
            except Exception:  # noqa: BLE001 - closing: its caller sees the error
                pass
        with self._pool:
            self._closed = True
            self._free.clear()
            self._pool.notify_all()
        self._compiled = None

    def describe(self) -> dict:
        """Return the base description plus OpenVINO version, agreement, fallbacks and cache."""
        description = super().describe()
        description.update({
            'openvino_version': self._ov.get_version(),
            'requested_precision': self.requested_precision,
            'agreement_with_fp32': self.agreement,
            'max_logit_difference': self.max_logit_difference,
            'fallbacks': list(self.fallbacks),
            'threads': self._threads or os.cpu_count(),
            'in_flight': self.max_in_flight,
            'startup_s': self.startup_s,
            'cache': self.caches.get(self.precision, self.caches.get('fp32', {})),
        })
        return description

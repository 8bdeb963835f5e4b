# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Inference backends: the PyTorch backend, precision choice and create_backend()."""

import json
import shutil

import cv2
from liver_landmarks.backends import auto_candidates, BackendError, BACKENDS
from liver_landmarks.backends import create_backend, DeviceUnavailableError, InferenceBackend
from liver_landmarks.backends.base import label_agreement, MIN_LABEL_AGREEMENT
from liver_landmarks.backends.torch_backend import cpu_supports_bf16, TorchBackend
from liver_landmarks.calibration import calibration_frame
from liver_landmarks.model import ModelArtifactError
from liver_landmarks.preprocess import Preprocessor
import numpy as np
import pytest
import torch

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')


@pytest.fixture(scope='module')
def fp32_backend(random_model_card) -> TorchBackend:
    """Run the session's random model on the CPU in float32."""
    with TorchBackend(random_model_card, device='cpu', precision='fp32') as backend:
        yield backend


@pytest.fixture(scope='module')
def real_batch(p2ilf_frame_path) -> np.ndarray:
    """Return the real P2ILF frame, pre-processed."""
    return Preprocessor()(cv2.imread(str(p2ilf_frame_path)), 'bgr')


def test_labels_are_the_argmax_of_the_logits(fp32_backend, real_batch):
    logits = fp32_backend.predict_logits(real_batch)
    labels = fp32_backend.predict_labels(real_batch)
    assert logits.shape == (1, 4, 320, 416) and logits.dtype == np.float32
    assert labels.shape == (1, 320, 416) and labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, np.argmax(logits, axis=1))


def test_batches_of_several_frames_are_independent(fp32_backend, real_batch):
    synthetic = Preprocessor()(calibration_frame(832, 640))
    both = fp32_backend.predict_labels(np.concatenate([real_batch, synthetic]))
    assert both.shape == (2, 320, 416)
    np.testing.assert_array_equal(both[1], fp32_backend.predict_labels(synthetic)[0])


def test_channels_last_does_not_change_the_result(random_model_card, fp32_backend, real_batch):
    plain = TorchBackend(random_model_card, device='cpu', precision='fp32', channels_last=False)
    np.testing.assert_allclose(plain.predict_logits(real_batch),
                               fp32_backend.predict_logits(real_batch), atol=1e-4)


@pytest.mark.parametrize('shape', [(3, 320, 416), (1, 3, 416, 320), (1, 1, 320, 416),
                                   (0, 3, 320, 416)])
def test_wrong_batch_shapes_are_refused(fp32_backend, shape):
    with pytest.raises(ValueError, match='batch must have shape'):
        fp32_backend.predict_labels(np.zeros(shape, dtype=np.float32))


def test_describe_says_what_runs_where_as_json(fp32_backend, random_model_card):
    fp32_backend.warmup(1)
    description = fp32_backend.describe()
    json.dumps(description)
    assert description['backend'] == 'torch' and description['device'] == 'cpu'
    assert description['precision'] == 'fp32'
    assert description['model_card'] == str(random_model_card)
    assert isinstance(fp32_backend, InferenceBackend)


def test_auto_precision_uses_reduced_precision_only_when_it_agrees(random_model_card):
    backend = TorchBackend(random_model_card, device='cpu', precision='auto')
    if not cpu_supports_bf16():
        assert backend.precision == 'fp32' and backend.precision_agreement is None
        return
    assert 0.0 <= backend.precision_agreement <= 1.0
    accepted = backend.precision_agreement >= MIN_LABEL_AGREEMENT
    assert backend.precision == ('bf16' if accepted else 'fp32')
    strict = TorchBackend(random_model_card, device='cpu', precision='auto', min_agreement=1.01)
    assert strict.precision == 'fp32'


def test_bf16_runs_and_mostly_agrees_with_fp32(random_model_card, fp32_backend, real_batch):
    bf16 = TorchBackend(random_model_card, device='cpu', precision='bf16')
    agreement = label_agreement(fp32_backend.predict_labels(real_batch),
                                bf16.predict_labels(real_batch))
    assert bf16.precision == 'bf16'
    assert agreement > 0.9


def test_fp16_on_the_cpu_is_refused(random_model_card):
    with pytest.raises(ValueError, match='fp16'):
        TorchBackend(random_model_card, device='cpu', precision='fp16')


@NO_CUDA
@pytest.mark.parametrize('kind', ['torch', 'auto'])
def test_cuda_requested_but_absent_is_a_clear_error(random_model_card, kind):
    with pytest.raises(DeviceUnavailableError, match='CUDA is not available'):
        create_backend(kind, random_model_card, device='cuda')


@NO_CUDA
def test_auto_on_a_cpu_machine_prefers_openvino_then_torch():
    candidates = auto_candidates('auto')
    assert candidates[-1][:2] == ('torch', 'cpu')
    if len(candidates) == 2:
        assert candidates[0][:2] == ('openvino', 'cpu')


def test_auto_reports_what_it_chose_and_why(random_model_card):
    backend = create_backend('auto', random_model_card, device='cpu', precision='fp32')
    try:
        assert backend.name in ('openvino', 'torch')
        assert backend.selection_reason.startswith(f'{backend.name} on cpu')
        assert backend.describe()['selection_reason'] == backend.selection_reason
        labels = backend.predict_labels(np.zeros((1, 3, 320, 416), np.float32))
        assert labels.shape == (1, 320, 416)
    finally:
        backend.close()


def test_auto_does_not_hide_a_broken_model_behind_fallbacks(random_model_card, tmp_path):
    for path in random_model_card.parent.iterdir():
        shutil.copy(path, tmp_path / path.name)
    weights = next(tmp_path.glob('*.safetensors'))
    weights.write_bytes(weights.read_bytes()[:-1] + b'\x00')
    with pytest.raises(ModelArtifactError, match='sha256 mismatch'):
        create_backend('auto', tmp_path / random_model_card.name, device='cpu')


def test_unknown_kinds_and_devices_are_refused(random_model_card):
    with pytest.raises(ValueError, match='unknown backend'):
        create_backend('onnx', random_model_card)
    with pytest.raises(ValueError, match='unknown device'):
        create_backend('torch', random_model_card, device='tpu')
    assert set(BACKENDS) == {'torch', 'openvino', 'tensorrt'}
    assert issubclass(DeviceUnavailableError, BackendError)

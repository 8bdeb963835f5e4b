# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT backend: engine build, verification, cache reuse and rebuild, fallback.

The engine tests need an NVIDIA GPU and torch_tensorrt and skip with the reason
elsewhere; what a machine without them must do (refuse clearly) is tested everywhere.
The cache's key and file handling are tested on any machine in test_engine_cache.py.
"""

import importlib.util
import os

from liver_landmarks.backends import create_backend
from liver_landmarks.backends.base import BackendError, DeviceUnavailableError
from liver_landmarks.backends.engine_cache import cache_key
from liver_landmarks.backends.tensorrt_backend import (
    engine_cache_components, ENGINE_FILE, import_torch_tensorrt, MIN_ENGINE_AGREEMENT,
    TensorRtBackend)
from liver_landmarks.preprocess import Preprocessor
import numpy as np
import pytest
import torch

HAS_CUDA = torch.cuda.is_available()
HAS_TORCH_TENSORRT = importlib.util.find_spec('torch_tensorrt') is not None
needs_tensorrt = pytest.mark.skipif(
    not (HAS_CUDA and HAS_TORCH_TENSORRT),
    reason='needs an NVIDIA GPU and torch_tensorrt (pip install torch-tensorrt '
           'tensorrt-cu13-libs); unmeasured on this machine')


@pytest.mark.skipif(HAS_CUDA, reason='checks the refusal on a machine without CUDA')
def test_without_cuda_it_refuses_and_says_so(random_model_card):
    with pytest.raises(DeviceUnavailableError, match='CUDA is not available'):
        TensorRtBackend(random_model_card)
    with pytest.raises(DeviceUnavailableError):
        create_backend('tensorrt', random_model_card, device='cuda')


@pytest.mark.skipif(HAS_TORCH_TENSORRT, reason='torch_tensorrt is installed here')
def test_without_torch_tensorrt_the_error_says_what_to_install():
    with pytest.raises(BackendError, match='pip install torch-tensorrt tensorrt-cu13-libs'):
        import_torch_tensorrt()


def test_refuses_the_cpu_and_unknown_precisions(random_model_card):
    with pytest.raises(ValueError, match='unknown precision'):
        TensorRtBackend(random_model_card, precision='int8')
    with pytest.raises(ValueError, match='runs on an NVIDIA GPU'):
        TensorRtBackend(random_model_card, device='cpu')


def test_engine_key_depends_on_every_component():
    base = {'weights_sha256': '0' * 64, 'gpu_name': 'NVIDIA H100 80GB HBM3',
            'compute_capability': '9.0', 'tensorrt': '10.13.3', 'torch_tensorrt': '2.9.0',
            'torch': '2.9.0', 'precision': 'fp16', 'input_shape': (1, 3, 320, 416)}
    reference = cache_key(engine_cache_components(**base))
    changes = {'weights_sha256': '1' * 64, 'gpu_name': 'NVIDIA L4', 'compute_capability': '8.9',
               'tensorrt': '10.14.0', 'torch_tensorrt': '2.10.0', 'torch': '2.10.0',
               'precision': 'fp32', 'input_shape': (1, 3, 384, 512)}
    for name, value in changes.items():
        assert cache_key(engine_cache_components(**{**base, name: value})) != reference, name


@pytest.fixture(scope='module')
def verification():
    """Return two fixed pre-processed inputs (a liver-like frame and a dark one)."""
    from liver_landmarks.calibration import calibration_frames
    frames = calibration_frames(2, 416, 320, seed=4)
    return [Preprocessor()(frame) for frame in frames]


@needs_tensorrt
def test_fp32_engine_matches_eager_and_is_reused(random_model_card, verification, tmp_path):
    first = TensorRtBackend(random_model_card, precision='fp32', cache_dir=tmp_path,
                            verification_batches=verification)
    assert first.agreement >= MIN_ENGINE_AGREEMENT
    description = first.describe()
    assert description['cache_status'] == 'built'
    assert description['cache_components']['gpu'] == torch.cuda.get_device_name()
    engine = os.path.join(description['cache_dir'], ENGINE_FILE)
    mtime = os.stat(engine).st_mtime_ns
    labels = first.predict_labels(np.concatenate(verification))
    assert labels.shape == (2, 320, 416) and labels.dtype == np.uint8
    second = TensorRtBackend(random_model_card, precision='fp32', cache_dir=tmp_path,
                             verification_batches=verification)
    assert second.describe()['cache_status'] == 'loaded'
    assert os.stat(engine).st_mtime_ns == mtime
    np.testing.assert_array_equal(second.predict_labels(verification[0]), labels[:1])


@needs_tensorrt
def test_an_unreadable_engine_is_rebuilt(random_model_card, verification, tmp_path):
    first = TensorRtBackend(random_model_card, precision='fp32', cache_dir=tmp_path,
                            verification_batches=verification[:1])
    engine = os.path.join(first.describe()['cache_dir'], ENGINE_FILE)
    with open(engine, 'r+b') as stream:
        stream.truncate(os.path.getsize(engine) // 2)
    second = TensorRtBackend(random_model_card, precision='fp32', cache_dir=tmp_path,
                             verification_batches=verification[:1])
    assert second.describe()['cache_status'].startswith('rebuilt')
    assert second.agreement >= MIN_ENGINE_AGREEMENT


@needs_tensorrt
def test_fp16_is_verified_and_refused_or_replaced_when_it_disagrees(
        random_model_card, verification, tmp_path):
    # A random network's classes are nearly tied, so fp16 may miss 99.9 %: either way the
    # backend must report the agreement and never run an engine below the threshold.
    try:
        backend = TensorRtBackend(random_model_card, precision='fp16', cache_dir=tmp_path,
                                  verification_batches=verification)
    except BackendError as error:
        assert 'refusing it' in str(error)
        backend = TensorRtBackend(random_model_card, precision='fp16', cache_dir=tmp_path,
                                  allow_fallback=True, verification_batches=verification)
        assert backend.describe()['fallback']
        assert backend.describe()['running']['backend'] == 'torch'
    else:
        assert backend.agreement >= MIN_ENGINE_AGREEMENT
    assert backend.predict_labels(verification[0]).shape == (1, 320, 416)

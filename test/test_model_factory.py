# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The five architectures: shape, gradients, artifact round trip, hash check; encoder weights."""

import hashlib
import pickle

from liver_landmarks.model import (
    ARCHITECTURES, build_model, EncoderWeightsError, load_artifact, ModelArtifactError,
    ModelCard, save_artifact)
from liver_landmarks.model.unet3plus import UNet3Plus
from liver_landmarks_tools.support.models import build_random_model, TINY_ENCODER
import pytest
from safetensors.torch import save_file
import torch
import torchvision

INPUT_SHAPE = (1, 3, 320, 416)
OUTPUT_SHAPE = (1, 4, 320, 416)


@pytest.fixture(scope='module')
def frame_tensor() -> torch.Tensor:
    """Return a fixed random network input at the working size."""
    generator = torch.Generator().manual_seed(1)
    return torch.randn(INPUT_SHAPE, generator=generator)


@pytest.fixture(scope='class')
def model(architecture) -> torch.nn.Module:
    """Build a deterministic random model of the class's architecture, tiny encoder."""
    return build_random_model(architecture, TINY_ENCODER, seed=3)


@pytest.fixture(scope='class')
def logits(model, frame_tensor) -> torch.Tensor:
    """Return the model's eval-mode logits for ``frame_tensor``."""
    with torch.no_grad():
        return model.eval()(frame_tensor)


@pytest.mark.parametrize('architecture', ARCHITECTURES, scope='class')
class TestArchitecture:
    """One behaviour suite, run for every architecture (on the tiny encoder, for speed)."""

    def test_output_is_four_class_logits_at_input_size(self, logits):
        assert tuple(logits.shape) == OUTPUT_SHAPE
        assert logits.dtype == torch.float32
        assert torch.isfinite(logits).all()

    def test_gradients_reach_the_encoders_first_convolution(self, architecture):
        model = build_random_model(architecture, TINY_ENCODER, seed=4).train()
        first_conv = next(m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d))
        # Small frames keep the backward pass cheap; gradient flow does not depend on size.
        batch = torch.randn(2, 3, 128, 160, generator=torch.Generator().manual_seed(2))
        target = torch.randint(0, 4, (2, 128, 160), generator=torch.Generator().manual_seed(3))
        loss = torch.nn.functional.cross_entropy(model(batch), target)
        loss.backward()
        assert first_conv.weight.grad is not None
        assert first_conv.weight.grad.abs().sum() > 0

    def test_artifact_round_trip_gives_the_same_logits(self, architecture, model, logits,
                                                       frame_tensor, tmp_path):
        card_path = save_artifact(model, ModelCard(architecture, TINY_ENCODER), tmp_path, 'm')
        loaded, card = load_artifact(card_path)
        assert card.architecture == architecture and card.encoder == TINY_ENCODER
        assert not loaded.training
        with torch.no_grad():
            torch.testing.assert_close(loaded(frame_tensor), logits, rtol=0, atol=1e-5)

    def test_hash_mismatch_is_refused_naming_both_hashes_and_the_file(self, architecture, model,
                                                                      tmp_path):
        card_path = save_artifact(model, ModelCard(architecture, TINY_ENCODER), tmp_path, 'm')
        weights = tmp_path / 'm.safetensors'
        expected = load_artifact(card_path)[1].weights_sha256
        data = bytearray(weights.read_bytes())
        data[-5] ^= 0xFF  # one weight's byte: still a valid file, different numbers
        weights.write_bytes(bytes(data))
        with pytest.raises(ModelArtifactError) as raised:
            load_artifact(card_path)
        message = str(raised.value)
        assert expected in message and str(weights) in message
        assert hashlib.sha256(bytes(data)).hexdigest() in message


@pytest.mark.parametrize('architecture', ARCHITECTURES)
def test_default_encoder_is_resnet34_with_working_size_output(architecture):
    torch.manual_seed(0)
    model = build_model(architecture).eval()
    assert model.encoder_name == 'resnet34'
    with torch.no_grad():
        assert tuple(model(torch.zeros(INPUT_SHAPE)).shape) == OUTPUT_SHAPE


def test_unet3plus_deep_supervision_heads_in_training_only():
    model = UNet3Plus(TINY_ENCODER)
    batch = torch.randn(2, 3, 96, 128)
    main = model.train()(batch)
    assert tuple(main.shape) == (2, 4, 96, 128)
    assert len(model.aux_logits) == 4
    assert all(tuple(aux.shape) == (2, 4, 96, 128) for aux in model.aux_logits)
    model.eval()
    with torch.no_grad():
        logits, aux = model.forward_with_aux(batch)
        assert isinstance(model(batch), torch.Tensor)
    assert len(aux) == 4 and tuple(logits.shape) == (2, 4, 96, 128)


def test_unknown_architecture_and_hub_weights_are_refused():
    with pytest.raises(ValueError, match='unknown architecture'):
        build_model('segformer')
    with pytest.raises(EncoderWeightsError, match='local'):
        build_model('unet', encoder_weights='imagenet')


@pytest.fixture(scope='module')
def resnet18_state() -> dict:
    """Return a torchvision ResNet-18 state dict, as a user would export ImageNet weights."""
    torch.manual_seed(5)
    return torchvision.models.resnet18().state_dict()


@pytest.mark.parametrize('suffix', ['.pth', '.safetensors'])
def test_encoder_weights_load_from_a_local_torchvision_export(resnet18_state, tmp_path, suffix):
    path = tmp_path / f'resnet18{suffix}'
    if suffix == '.pth':
        torch.save(resnet18_state, path)
    else:
        save_file({k: v.contiguous() for k, v in resnet18_state.items()}, str(path))
    model = build_model('deeplabv3plus', 'resnet18', encoder_weights=path)
    encoder_state = model.encoder.state_dict()
    for key in ('conv1.weight', 'layer4.1.bn2.running_var'):
        torch.testing.assert_close(encoder_state[key], resnet18_state[key])


def test_encoder_weights_missing_or_for_another_encoder_are_refused(resnet18_state, tmp_path):
    with pytest.raises(EncoderWeightsError, match='not found'):
        build_model('unet', 'resnet18', encoder_weights=tmp_path / 'absent.pth')
    path = tmp_path / 'resnet18.pth'
    torch.save(resnet18_state, path)
    with pytest.raises(EncoderWeightsError, match="does not match encoder 'resnet34'") as raised:
        build_model('unet', 'resnet34', encoder_weights=path)
    assert str(path) in str(raised.value)


class _NotATensor:
    """A class a pickle can name, standing for arbitrary code in an untrusted file."""


def test_encoder_weights_never_unpickle_arbitrary_objects(tmp_path):
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as stream:
        pickle.dump({'conv1.weight': _NotATensor()}, stream, protocol=2)
    with pytest.raises(EncoderWeightsError, match='cannot read encoder weights'):
        build_model('unet', 'resnet18', encoder_weights=path)

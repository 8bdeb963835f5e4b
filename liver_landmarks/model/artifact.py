# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The model artifact: weights as safetensors plus a JSON model card beside them.

``STEM.safetensors`` holds the state dict (never pickle); ``STEM.json`` says what
network it is, how to feed it, what it was trained on, how good it is and the
sha256 of the weights file. Cards are validated against
``liver_landmarks/schemas/model_card.schema.json``; loading verifies the hash and
refuses a mismatch, a missing file, a truncated file or weights that do not fit
the architecture the card names, each with a message that says which file.

Loading is bounded before anything is read: the weights file must stay inside the
card's folder once symlinks are resolved, and must not be far larger than the
network the card names needs (a multi-gigabyte file would otherwise be hashed and
mapped whole). Every failure, running out of memory included, is raised as
:class:`ModelArtifactError` naming the file, never as a backend's error.
"""

import dataclasses
from dataclasses import dataclass, field
import hashlib
import json
import os
from pathlib import Path
import tempfile
from typing import Any, Optional, Union

import jsonschema
from liver_landmarks.landmarks import INPUT_HEIGHT, INPUT_WIDTH, Landmark
from liver_landmarks.model.factory import build_model
from liver_landmarks.preprocess import IMAGENET_MEAN, IMAGENET_STD
import torch
from torch import nn

FORMAT_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parents[1] / 'schemas' / 'model_card.schema.json'
#: A model card is a small JSON file; anything larger is refused before it is parsed.
MAX_CARD_BYTES = 1 << 20
_DTYPES = {'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16}
#: A weights file may exceed its tensors' bytes by this factor plus the slack below before it
#: is refused: room for another dtype's layout, never for a file of another order of size.
WEIGHTS_SIZE_FACTOR = 2
#: Allowance for the safetensors JSON header and its padding (hundreds of tensor entries).
WEIGHTS_HEADER_SLACK_BYTES = 1 << 20


class ModelArtifactError(ValueError):
    """A model card or its weights cannot be used; the message names the file and the fix."""


def default_classes() -> list[dict[str, Any]]:
    """Return the card's class list for this package's landmarks, in id order."""
    return [{'id': int(landmark), 'name': landmark.label} for landmark in Landmark]


@dataclass
class ModelCard:
    """Everything needed to rebuild, feed and judge a saved network."""

    architecture: str
    encoder: str = 'resnet34'
    classes: list[dict[str, Any]] = field(default_factory=default_classes)
    input_width: int = INPUT_WIDTH
    input_height: int = INPUT_HEIGHT
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    channel_order: str = 'rgb'
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    weights_file: str = ''
    weights_sha256: str = ''
    weights_dtype: str = 'float32'
    name: str = ''
    description: str = ''
    format_version: int = FORMAT_VERSION
    #: Where the card was read from (not serialised); weights_file is relative to it.
    path: Optional[Path] = field(default=None, compare=False, repr=False)

    @property
    def num_classes(self) -> int:
        """Return the number of output channels."""
        return len(self.classes)

    @property
    def weights_path(self) -> Optional[Path]:
        """Absolute path of the weights file as the card names it, or None without a card file.

        Symlinks are not resolved here, so that messages name the file the card names;
        :func:`load_artifact` resolves them and refuses a target outside the card's folder.
        """
        if self.path is None or not self.weights_file:
            return None
        return Path(os.path.abspath(self.path.parent / self.weights_file))

    def to_dict(self) -> dict[str, Any]:
        """Return the card as the JSON object the schema describes."""
        data = {
            'format_version': self.format_version,
            'architecture': self.architecture,
            'encoder': self.encoder,
            'classes': [dict(entry) for entry in self.classes],
            'input_size': {'width': int(self.input_width), 'height': int(self.input_height)},
            'normalisation': {'mean': [float(v) for v in self.mean],
                              'std': [float(v) for v in self.std]},
            'channel_order': self.channel_order,
            'training': dict(self.training),
            'metrics': dict(self.metrics),
            'weights': {'file': self.weights_file, 'sha256': self.weights_sha256,
                        'dtype': self.weights_dtype},
        }
        if self.name:
            data['name'] = self.name
        if self.description:
            data['description'] = self.description
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Optional[Path] = None) -> 'ModelCard':
        """Build a card from its (already validated) JSON object."""
        return cls(
            format_version=data['format_version'],
            architecture=data['architecture'],
            encoder=data['encoder'],
            classes=[dict(entry) for entry in data['classes']],
            input_width=data['input_size']['width'],
            input_height=data['input_size']['height'],
            mean=tuple(data['normalisation']['mean']),
            std=tuple(data['normalisation']['std']),
            channel_order=data['channel_order'],
            training=dict(data.get('training', {})),
            metrics=dict(data.get('metrics', {})),
            weights_file=data['weights']['file'],
            weights_sha256=data['weights']['sha256'],
            weights_dtype=data['weights']['dtype'],
            name=data.get('name', ''),
            description=data.get('description', ''),
            path=path,
        )


def file_sha256(path: Union[str, Path]) -> str:
    """Return the lower-case hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _schema() -> dict:
    with open(SCHEMA_PATH, encoding='utf-8') as stream:
        return json.load(stream)


def validate_card_dict(data: Any, source: Union[str, Path] = 'model card') -> None:
    """Raise ModelArtifactError listing every schema violation, by field path."""
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda error: list(error.absolute_path))
    if errors:
        lines = []
        for error in errors:
            where = '.'.join(str(part) for part in error.absolute_path) or '(top level)'
            lines.append(f'field {where}: {error.message}')
        raise ModelArtifactError(f'{source}: invalid model card: ' + '; '.join(lines))
    ids = [entry['id'] for entry in data['classes']]
    names = [entry['name'] for entry in data['classes']]
    expected = default_classes()
    if ids != [entry['id'] for entry in expected] or names != [e['name'] for e in expected]:
        raise ModelArtifactError(
            f'{source}: field classes: expected ids/names '
            f'{[(e["id"], e["name"]) for e in expected]} (liver_landmarks.landmarks), '
            f'got {list(zip(ids, names))}')


def _write_atomically(path: Path, write) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_artifact(model: nn.Module, card: ModelCard, directory: Union[str, Path], stem: str,
                  dtype: Union[None, str, torch.dtype] = None) -> Path:
    """Write ``STEM.safetensors`` and ``STEM.json`` into ``directory``; return the card path.

    ``dtype`` ('float16', torch.float16, ...) stores floating-point tensors in that
    type (recorded in the card); None keeps float32. ``card``'s weights fields are
    filled in on a copy; the caller's card is not changed.
    """
    from safetensors.torch import save_file

    if not stem or Path(stem).name != stem:
        raise ValueError(f'stem must be a plain file name without folders, got {stem!r}')
    dtype_name = _dtype_name(dtype)
    target = _DTYPES[dtype_name]
    directory = Path(directory).expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for key, value in model.state_dict().items():
        value = value.detach().to('cpu')
        if value.is_floating_point():
            value = value.to(target)
        tensors[key] = value.contiguous().clone()
    weights_path = directory / f'{stem}.safetensors'
    _write_atomically(weights_path, lambda temporary: save_file(
        tensors, temporary, metadata={'format': 'pt', 'architecture': card.architecture,
                                      'encoder': card.encoder}))
    card = dataclasses.replace(card, weights_file=weights_path.name,
                               weights_sha256=file_sha256(weights_path),
                               weights_dtype=dtype_name)
    data = card.to_dict()
    validate_card_dict(data, f'card for {weights_path}')
    card_path = directory / f'{stem}.json'

    def write_card(temporary):
        with open(temporary, 'w', encoding='utf-8') as stream:
            json.dump(data, stream, indent=2)
            stream.write('\n')
    _write_atomically(card_path, write_card)
    return card_path


def _dtype_name(dtype: Union[None, str, torch.dtype]) -> str:
    if dtype is None:
        return 'float32'
    for name, value in _DTYPES.items():
        if dtype in (name, value):
            return name
    raise ValueError(f'unsupported weights dtype {dtype!r}: expected one of {list(_DTYPES)}')


def load_model_card(card_path: Union[str, Path]) -> ModelCard:
    """Read and schema-validate a model card; ``card.path`` is the resolved card path."""
    path = Path(card_path).expanduser().resolve()
    if not path.is_file():
        raise ModelArtifactError(
            f'model card not found: {path} (pass the .json written beside the .safetensors)')
    try:
        size = path.stat().st_size
        if size > MAX_CARD_BYTES:
            raise ModelArtifactError(
                f'{path}: the model card is {_size_text(size)}; a card is a small JSON file '
                f'(at most {_size_text(MAX_CARD_BYTES)}): pass the .json written beside the '
                '.safetensors')
        with open(path, encoding='utf-8') as stream:
            data = json.load(stream)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelArtifactError(f'{path}: cannot read model card: {error}') from None
    validate_card_dict(data, path)
    return ModelCard.from_dict(data, path=path)


def state_dict_bytes(model: nn.Module, dtype_name: str = 'float32') -> int:
    """Return the bytes of ``model``'s tensors stored with floating point as ``dtype_name``."""
    itemsize = torch.empty((), dtype=_DTYPES[dtype_name]).element_size()
    return sum(value.numel() * (itemsize if value.is_floating_point() else value.element_size())
               for value in model.state_dict().values())


def _weights_file(card: ModelCard) -> Path:
    """Return the real path of the card's weights file, refusing one outside the card's folder."""
    named = card.weights_path
    if named is None or not named.exists():
        raise ModelArtifactError(
            f'{card.path}: weights file {named} not found; copy it beside the card '
            'or fix weights.file')
    folder = card.path.parent.resolve()
    real = named.resolve()
    if not real.is_relative_to(folder):
        raise ModelArtifactError(
            f'{named}: the weights file resolves to {real}, outside the folder of its card '
            f'{card.path}; copy the weights file beside the card instead of linking to it')
    if not real.is_file():
        raise ModelArtifactError(f'{named}: not a regular file (resolves to {real}); '
                                 'weights.file must name a .safetensors file beside the card')
    return real


def _build_for(card: ModelCard) -> nn.Module:
    try:
        return build_model(card.architecture, card.encoder, classes=card.num_classes)
    except (ValueError, KeyError, RuntimeError) as error:
        raise ModelArtifactError(
            f'{card.path}: cannot build the network the card names ({card.architecture!r} '
            f'with encoder {card.encoder!r}): {error}') from None


def _check_weights_size(card: ModelCard, path: Path, needed: int) -> None:
    """Refuse a weights file far larger than the card's network needs, before reading it."""
    size = path.stat().st_size
    limit = WEIGHTS_SIZE_FACTOR * needed + WEIGHTS_HEADER_SLACK_BYTES
    if size > limit:
        raise ModelArtifactError(
            f'{card.weights_path}: the weights file is {_size_text(size)}, but the network '
            f'the card names ({card.architecture!r} with encoder {card.encoder!r}, '
            f'{card.weights_dtype}) needs about {_size_text(needed)} (at most '
            f'{_size_text(limit)} is accepted): the file is not these weights; it was not '
            'read')


def _size_text(size: int) -> str:
    for unit, scale in (('GiB', 1 << 30), ('MiB', 1 << 20), ('KiB', 1 << 10)):
        if size >= scale:
            return f'{size / scale:.1f} {unit} ({size} bytes)'
    return f'{size} bytes'


def _read_weights(card: ModelCard, weights_path: Path) -> dict[str, torch.Tensor]:
    """Check the weights file has the card's hash, and parse it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    actual = file_sha256(weights_path)
    if actual != card.weights_sha256:
        raise ModelArtifactError(
            f'{weights_path}: sha256 mismatch: the card {card.path} expects '
            f'{card.weights_sha256} but the file has {actual}; the weights were changed or '
            'belong to another card')
    try:
        return load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ModelArtifactError(
            f'{card.weights_path}: corrupt or truncated safetensors file: {error}') from None


def _check_state_dict(card: ModelCard, model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    wanted = model.state_dict()
    missing = [key for key in wanted if key not in state]
    unexpected = [key for key in state if key not in wanted]
    mismatched = [f'{key} {tuple(state[key].shape)} != {tuple(wanted[key].shape)}'
                  for key in wanted if key in state and state[key].shape != wanted[key].shape]
    if missing or unexpected or mismatched:
        problems = []
        for label, keys in (('missing', missing), ('unexpected', unexpected),
                            ('shape mismatch', mismatched)):
            if keys:
                problems.append(f'{label} {len(keys)} (e.g. {", ".join(keys[:2])})')
        raise ModelArtifactError(
            f"{card.path}: the weights {card.weights_file} do not fit the card's "
            f'architecture {card.architecture!r} with encoder {card.encoder!r}: '
            + '; '.join(problems) + '. The card describes a different network than the weights')


def load_artifact(card_path: Union[str, Path], device: Union[str, torch.device] = 'cpu',
                  dtype: Union[None, str, torch.dtype] = None) -> tuple[nn.Module, ModelCard]:
    """Load a saved network in eval mode on ``device``; return (model, card).

    The weights' sha256 must equal the card's. ``dtype`` None gives float32 parameters
    whatever the stored type; otherwise the model is cast to it.
    """
    card = load_model_card(card_path)
    weights_path = _weights_file(card)
    try:
        model = _build_for(card)
        _check_weights_size(card, weights_path, state_dict_bytes(model, card.weights_dtype))
        state = _read_weights(card, weights_path)
        _check_state_dict(card, model, state)
        model.load_state_dict(state, strict=True)
        model = model.to(device=device, dtype=_DTYPES[_dtype_name(dtype)])
    except ModelArtifactError:
        raise
    except MemoryError:
        raise ModelArtifactError(
            f'{card.weights_path}: out of memory while loading the weights of {card.path} '
            f'({card.architecture!r}, encoder {card.encoder!r})') from None
    except OSError as error:
        raise ModelArtifactError(
            f'{card.weights_path}: cannot read the weights file: {error.strerror or error}'
        ) from None
    return model.eval(), card


def shipped_model_dirs() -> list[Path]:
    """Folders searched for the shipped model, in order: the source checkout, then installs.

    The command line, the bag tools and the node all search here, so they load the same
    model: a checkout's models/ (present only when running from source) wins over an
    ament share folder, which wins over the Python prefix's share folder.
    """
    import sys

    folders = [Path(__file__).resolve().parents[2] / 'models']
    try:
        from ament_index_python.packages import get_package_share_directory
        folders.append(Path(get_package_share_directory('liver_landmarks')) / 'models')
    except Exception:  # noqa: B902 - not installed in an ament prefix: the other folders
        pass
    folders.append(Path(sys.prefix) / 'share' / 'liver_landmarks' / 'models')
    return folders


def shipped_model_cards() -> list[Path]:
    """Return the model cards of the first folder of :func:`shipped_model_dirs` that has any."""
    for folder in shipped_model_dirs():
        cards = sorted(folder.glob('*.json')) if folder.is_dir() else []
        if cards:
            return [card.resolve() for card in cards]
    return []


def default_model_card() -> Path:
    """Return the first shipped model card, or raise ModelArtifactError saying where it looked."""
    cards = shipped_model_cards()
    if not cards:
        raise ModelArtifactError(
            'no model card given and none shipped (*.json) in '
            + ', '.join(str(folder) for folder in shipped_model_dirs())
            + ': pass --model CARD.json (a card written by save_artifact or the training tools)')
    return cards[0]

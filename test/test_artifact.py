# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Model artifact faults: each refused with a message naming the file and what is wrong."""

import json
from pathlib import Path
import re
import shutil

from liver_landmarks.model import ARCHITECTURES, load_artifact, load_model_card
from liver_landmarks.model import ModelArtifactError, ModelCard, save_artifact
from liver_landmarks.model.artifact import (
    default_model_card, file_sha256, SCHEMA_PATH, shipped_model_cards)
from liver_landmarks_tools.support.models import build_random_model, TINY_ENCODER
import pytest
import torch


@pytest.fixture
def artifact(random_model_card, tmp_path) -> Path:
    """Copy the session's random model artifact privately; return the copy's card path."""
    for path in random_model_card.parent.iterdir():
        shutil.copy(path, tmp_path / path.name)
    return tmp_path / random_model_card.name


def edit_card(card_path: Path, edit) -> None:
    """Apply ``edit`` to the card's JSON object in place."""
    data = json.loads(card_path.read_text())
    edit(data)
    card_path.write_text(json.dumps(data))


def weights_of(card_path: Path) -> Path:
    return card_path.parent / json.loads(card_path.read_text())['weights']['file']


def test_card_records_what_the_issue_asks_for(artifact):
    data = json.loads(artifact.read_text())
    assert data['architecture'] == 'unet' and data['encoder'] == TINY_ENCODER
    assert data['classes'] == [{'id': 0, 'name': 'background'}, {'id': 1, 'name': 'ridge'},
                               {'id': 2, 'name': 'ligament'}, {'id': 3, 'name': 'silhouette'}]
    assert data['input_size'] == {'width': 416, 'height': 320}
    assert data['channel_order'] == 'rgb'
    assert len(data['normalisation']['mean']) == 3 and len(data['normalisation']['std']) == 3
    assert {'training', 'metrics', 'format_version'} <= data.keys()
    assert data['weights']['sha256'] == file_sha256(weights_of(artifact))
    assert data['weights']['dtype'] == 'float32'


def test_schema_names_exactly_the_factory_architectures():
    schema = json.loads(SCHEMA_PATH.read_text())
    assert tuple(schema['properties']['architecture']['enum']) == ARCHITECTURES


def test_missing_card_is_refused(tmp_path):
    with pytest.raises(ModelArtifactError, match='model card not found') as raised:
        load_artifact(tmp_path / 'absent.json')
    assert str(tmp_path / 'absent.json') in str(raised.value)


def test_missing_weights_are_refused_naming_card_and_weights(artifact):
    weights = weights_of(artifact)
    weights.unlink()
    with pytest.raises(ModelArtifactError, match='not found') as raised:
        load_artifact(artifact)
    assert str(artifact) in str(raised.value) and str(weights) in str(raised.value)


def test_truncated_weights_fail_the_hash_check(artifact):
    weights = weights_of(artifact)
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelArtifactError, match='sha256 mismatch'):
        load_artifact(artifact)


@pytest.mark.parametrize('damage', ['truncated', 'garbage header', 'empty'])
def test_corrupt_safetensors_with_a_matching_hash_are_refused_naming_the_file(artifact,
                                                                              damage):
    weights = weights_of(artifact)
    data = weights.read_bytes()
    damaged = {'truncated': data[: len(data) // 3],
               'garbage header': b'\xff' * 8 + data[8:],
               'empty': b''}[damage]
    weights.write_bytes(damaged)
    # A card written for the damaged file: the hash passes, parsing must still refuse it.
    edit_card(artifact, lambda card: card['weights'].update(sha256=file_sha256(weights)))
    with pytest.raises(ModelArtifactError, match='corrupt or truncated') as raised:
        load_artifact(artifact)
    assert str(weights) in str(raised.value)


@pytest.mark.parametrize('field, value', [('architecture', 'deeplabv3plus'),
                                          ('encoder', 'resnet18')])
def test_card_describing_another_network_is_refused_naming_the_card(artifact, field, value):
    edit_card(artifact, lambda card: card.update({field: value}))
    with pytest.raises(ModelArtifactError, match='do not fit') as raised:
        load_artifact(artifact)
    assert str(artifact) in str(raised.value) and value in str(raised.value)


@pytest.mark.parametrize('edit, field', [
    (lambda card: card.pop('encoder'), "'encoder' is a required property"),
    (lambda card: card['input_size'].update(width='416'), 'field input_size.width'),
    (lambda card: card['normalisation'].update(std=[0.2, 0.2, 0.0]), 'field normalisation.std.2'),
    (lambda card: card.update(channel_order='rgba'), 'field channel_order'),
    (lambda card: card['weights'].update(sha256='abc'), 'field weights.sha256'),
    (lambda card: card['weights'].update(file='../elsewhere.safetensors'), 'field weights.file'),
    (lambda card: card['weights'].update(file='/etc/passwd.safetensors'), 'field weights.file'),
    (lambda card: card.update(architecture='segformer'), 'field architecture'),
    (lambda card: card.update(extra=1), "'extra' was unexpected"),
    (lambda card: card['classes'].reverse(), 'field classes'),
])
def test_schema_errors_name_the_field(artifact, edit, field):
    edit_card(artifact, edit)
    with pytest.raises(ModelArtifactError, match='invalid model card|field classes') as raised:
        load_model_card(artifact)
    assert field in str(raised.value) and str(artifact) in str(raised.value)


def test_unparsable_card_is_refused_naming_it(artifact):
    artifact.write_text('{"architecture": ')
    with pytest.raises(ModelArtifactError, match='cannot read model card') as raised:
        load_model_card(artifact)
    assert str(artifact) in str(raised.value)


def test_float16_weights_are_recorded_smaller_and_load_as_float32(tmp_path):
    model = build_random_model('unet', TINY_ENCODER, seed=1)
    full = save_artifact(model, ModelCard('unet', TINY_ENCODER), tmp_path, 'full')
    half = save_artifact(model, ModelCard('unet', TINY_ENCODER), tmp_path, 'half',
                         dtype=torch.float16)
    card = load_model_card(half)
    assert card.weights_dtype == 'float16'
    assert card.weights_path.stat().st_size < 0.6 * load_model_card(full).weights_path.stat(
    ).st_size
    loaded, _ = load_artifact(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    batch = torch.randn(1, 3, 320, 416, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference, converted = model(batch), loaded(batch)
    agreement = (reference.argmax(1) == converted.argmax(1)).float().mean().item()
    assert agreement > 0.98


def test_save_leaves_the_callers_card_alone_and_round_trips_its_fields(tmp_path):
    card = ModelCard('unet', TINY_ENCODER, training={'data': ['p2ilf'], 'epochs': 3},
                     metrics={'dice': 0.5}, name='demo', channel_order='bgr')
    model = build_random_model('unet', TINY_ENCODER)
    loaded = load_model_card(save_artifact(model, card, tmp_path, 'demo'))
    assert card.weights_sha256 == ''
    for field in ('training', 'metrics', 'name', 'channel_order', 'mean', 'std', 'classes'):
        assert getattr(loaded, field) == getattr(card, field)
    assert not list(tmp_path.glob('.*.tmp'))


def test_default_model_card_is_the_shipped_one_or_a_clear_error():
    if shipped_model_cards():
        assert default_model_card() == shipped_model_cards()[0]
    else:
        with pytest.raises(ModelArtifactError, match='--model'):
            default_model_card()


def _sparse_file(path: Path, size: int) -> Path:
    """Create a file of ``size`` bytes that takes no disk space (a hole)."""
    with open(path, 'wb') as stream:
        stream.truncate(size)
    return path


@pytest.mark.parametrize('how', ['file', 'symlink to a file beside it'])
def test_weights_far_larger_than_the_network_are_refused_before_reading(artifact, how):
    weights = weights_of(artifact)
    needed = weights.stat().st_size
    weights.unlink()
    huge = 16 << 30   # reading and hashing it whole is what this refuses
    if how == 'file':
        _sparse_file(weights, huge)
    else:
        weights.symlink_to(_sparse_file(artifact.parent / 'huge.bin', huge))
    with pytest.raises(ModelArtifactError) as raised:
        load_artifact(artifact)
    text = str(raised.value)
    assert str(weights) in text and f'({huge} bytes)' in text
    expected = re.search(r'needs about [\d.]+ MiB \((\d+) bytes\)', text)
    assert expected and abs(int(expected.group(1)) - needed) < 64 << 10, text
    assert 'MemoryError' not in text and 'sha256' not in text


def test_weights_file_resolving_outside_the_card_folder_is_refused(artifact, tmp_path_factory):
    weights = weights_of(artifact)
    elsewhere = tmp_path_factory.mktemp('elsewhere') / weights.name
    shutil.move(weights, elsewhere)
    weights.symlink_to(elsewhere)   # hash and size are right: only the place is wrong
    with pytest.raises(ModelArtifactError, match='outside the folder of its card') as raised:
        load_artifact(artifact)
    assert str(weights) in str(raised.value) and str(elsewhere) in str(raised.value)


def test_symlink_inside_the_card_folder_is_followed(artifact):
    weights = weights_of(artifact)
    real = weights.with_name('real_weights.bin')
    weights.rename(real)
    weights.symlink_to(real.name)
    model, card = load_artifact(artifact)
    assert card.weights_path == weights and not model.training


def test_oversized_or_special_card_and_weights_files_are_refused_naming_them(artifact):
    weights = weights_of(artifact)
    weights.unlink()
    weights.mkdir()
    with pytest.raises(ModelArtifactError, match='not a regular file') as raised:
        load_artifact(artifact)
    assert str(weights) in str(raised.value)
    artifact.write_text(' ' * (2 << 20) + artifact.read_text())
    with pytest.raises(ModelArtifactError, match='small JSON file') as raised:
        load_model_card(artifact)
    assert str(artifact) in str(raised.value) and '(2' in str(raised.value)


def test_auto_backend_names_the_weights_file_not_the_backends(artifact):
    from liver_landmarks.backends import create_backend

    weights = weights_of(artifact)
    weights.unlink()
    _sparse_file(weights, 16 << 30)
    with pytest.raises(ModelArtifactError) as raised:
        create_backend('auto', artifact, device='cpu')
    assert str(weights) in str(raised.value) and 'no backend' not in str(raised.value)

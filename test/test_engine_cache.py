# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The converted-model cache: keys, atomic entries, and rebuilding corrupt or foreign ones.

The payload is a plain file standing in for an OpenVINO IR or a TensorRT program:
what is tested is the cache's file handling, which is the same for every converter.
"""

import json
import threading

from liver_landmarks.backends.engine_cache import (
    CACHE_ENV, cache_key, CacheEntryError, default_cache_dir, EngineCache, MANIFEST)
import pytest

COMPONENTS = {'weights_sha256': 'a' * 64, 'gpu': 'NVIDIA H100 80GB HBM3',
              'compute_capability': '9.0', 'tensorrt': '10.13.0', 'torch_tensorrt': '2.9.0',
              'precision': 'fp16', 'input_shape': [1, 3, 320, 416]}


class PayloadConverter:
    """A converter whose 'model' is a bytes payload, counting builds and loads."""

    def __init__(self, payload=b'engine-bytes' * 100):
        self.payload = payload
        self.builds = 0
        self.loads = 0

    def build(self):
        self.builds += 1
        return self.payload

    @staticmethod
    def write(model, folder):
        (folder / 'model.engine').write_bytes(model)

    def load(self, folder):
        self.loads += 1
        return (folder / 'model.engine').read_bytes()

    def get(self, cache):
        return cache.get_or_build(self.build, self.write, self.load)


@pytest.mark.parametrize('component', sorted(COMPONENTS))
def test_key_changes_with_each_component(component):
    changed = dict(COMPONENTS)
    value = changed[component]
    changed[component] = value + [1] if isinstance(value, list) else value + 'x'
    assert cache_key(changed) != cache_key(COMPONENTS)


def test_key_is_stable_and_order_independent():
    reordered = dict(reversed(list(COMPONENTS.items())))
    assert cache_key(reordered) == cache_key(COMPONENTS)
    assert cache_key({**COMPONENTS, 'input_shape': (1, 3, 320, 416)}) == cache_key(COMPONENTS)
    assert len(cache_key(COMPONENTS)) == 32


def test_key_refuses_values_that_cannot_be_serialised():
    with pytest.raises(TypeError, match='not JSON-serialisable'):
        cache_key({'device': object()})


def test_build_then_load_from_a_second_cache_object(tmp_path):
    converter = PayloadConverter()
    first = EngineCache('tensorrt', COMPONENTS, tmp_path)
    assert converter.get(first) == converter.payload
    assert first.status == 'built'
    engine = first.path('model.engine')
    mtime = engine.stat().st_mtime_ns
    manifest = json.loads((first.directory / MANIFEST).read_text())
    assert manifest['components'] == first.components
    assert set(manifest['files']) == {'model.engine'}

    second = EngineCache('tensorrt', COMPONENTS, tmp_path)
    assert converter.get(second) == converter.payload
    assert second.status == 'loaded'
    assert (converter.builds, converter.loads) == (1, 1)
    assert engine.stat().st_mtime_ns == mtime
    assert second.describe()['cache_key'] == first.key


def test_another_gpu_or_version_gets_its_own_entry(tmp_path):
    converter = PayloadConverter()
    converter.get(EngineCache('tensorrt', COMPONENTS, tmp_path))
    other = EngineCache('tensorrt', {**COMPONENTS, 'gpu': 'NVIDIA L4',
                                     'compute_capability': '8.9'}, tmp_path)
    converter.get(other)
    assert other.status == 'built'
    assert converter.builds == 2
    assert len([p for p in (tmp_path / 'tensorrt').iterdir()
                if not p.name.startswith('.')]) == 2


@pytest.mark.parametrize('damage', ['truncate', 'flip_byte', 'delete_payload',
                                    'garbage_manifest', 'foreign_manifest'])
def test_a_damaged_entry_is_rebuilt(tmp_path, damage, caplog):
    converter = PayloadConverter()
    cache = EngineCache('openvino', COMPONENTS, tmp_path)
    converter.get(cache)
    engine = cache.path('model.engine')
    manifest = cache.directory / MANIFEST
    if damage == 'truncate':
        engine.write_bytes(converter.payload[:10])
    elif damage == 'flip_byte':
        data = bytearray(engine.read_bytes())
        data[5] ^= 0xFF
        engine.write_bytes(bytes(data))
    elif damage == 'delete_payload':
        engine.unlink()
    elif damage == 'garbage_manifest':
        manifest.write_text('{not json')
    else:
        content = json.loads(manifest.read_text())
        content['components']['tensorrt'] = '8.6.1'
        manifest.write_text(json.dumps(content))
    with pytest.raises(CacheEntryError):
        cache.verify()

    again = EngineCache('openvino', COMPONENTS, tmp_path)
    with caplog.at_level('WARNING', logger='liver_landmarks.backends.engine_cache'):
        assert converter.get(again) == converter.payload
    assert again.status.startswith('rebuilt: CacheEntryError')
    assert 'rebuilding' in caplog.text
    assert converter.builds == 2
    again.verify()
    assert engine.read_bytes() == converter.payload


def test_a_loader_failure_rebuilds_the_entry(tmp_path):
    converter = PayloadConverter()
    cache = EngineCache('tensorrt', COMPONENTS, tmp_path)
    converter.get(cache)

    def failing_load(folder):
        raise RuntimeError('deserialisation failed: engine built by another TensorRT')
    model = cache.get_or_build(converter.build, converter.write, failing_load)
    assert model == converter.payload
    assert 'deserialisation failed' in cache.status
    assert converter.builds == 2


def test_an_unwritable_cache_still_returns_the_model(tmp_path, caplog):
    blocker = tmp_path / 'not_a_folder'
    blocker.write_text('a file where the cache folder should be')
    converter = PayloadConverter()
    cache = EngineCache('openvino', COMPONENTS, blocker)
    with caplog.at_level('WARNING', logger='liver_landmarks.backends.engine_cache'):
        assert converter.get(cache) == converter.payload
    assert 'could not save the cache entry' in caplog.text
    assert cache.status == 'built'


def test_a_writer_that_fails_leaves_no_entry_and_no_staging_folder(tmp_path):
    cache = EngineCache('openvino', COMPONENTS, tmp_path)

    def broken_write(folder):
        (folder / 'model.xml').write_text('<half')
        raise OSError('disk full')
    with pytest.raises(OSError, match='disk full'):
        cache.save(broken_write)
    assert not cache.directory.exists()
    assert list((tmp_path / 'openvino').iterdir()) == []


def test_concurrent_builders_leave_one_valid_entry(tmp_path):
    errors = []
    converters = [PayloadConverter() for _ in range(4)]

    def build(converter):
        try:
            converter.get(EngineCache('tensorrt', COMPONENTS, tmp_path))
        except Exception as error:  # noqa: BLE001 - collected for the assertion below
            errors.append(error)
    threads = [threading.Thread(target=build, args=(c,)) for c in converters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    EngineCache('tensorrt', COMPONENTS, tmp_path).verify()
    assert [p.name for p in (tmp_path / 'tensorrt').iterdir()] == [cache_key(COMPONENTS)]


def test_default_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / 'custom'))
    assert default_cache_dir() == tmp_path / 'custom'
    assert EngineCache('openvino', COMPONENTS).directory.parent == tmp_path / 'custom' / 'openvino'
    monkeypatch.delenv(CACHE_ENV)
    assert default_cache_dir().parts[-2:] == ('.cache', 'liver_landmarks')


def test_kind_must_be_a_plain_name(tmp_path):
    with pytest.raises(ValueError, match='plain folder name'):
        EngineCache('../escape', COMPONENTS, tmp_path)

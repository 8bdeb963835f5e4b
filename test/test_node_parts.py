# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The node's parts without ROS traffic: newest-frame slot, worker, health, parameters."""

from dataclasses import fields
from pathlib import Path
import threading
import time

from liver_landmarks.pipeline import STAGES
from liver_landmarks.postprocess import PostProcessConfig
from liver_landmarks.ros.diagnostics import build_status, health_values, NodeHealth
from liver_landmarks.ros.frame_queue import FrameWorker, NewestFrameSlot
from liver_landmarks.ros.node_parameters import (
    ALL_PARAMETERS, ConfigurationError, parameters_table, postprocess_config, read_settings,
    resolve_model_card, SPECS)
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO_CONFIG = REPO_ROOT / 'config'


def test_slot_keeps_only_the_newest_item_and_reports_replacement():
    slot = NewestFrameSlot()
    assert slot.put('first') is False
    assert slot.put('second') is True
    assert slot.put('third') is True
    assert slot.take(timeout=0.1) == 'third'
    assert slot.take(timeout=0.05) is None
    assert slot.put('fourth') is False
    assert slot.clear() is True and slot.clear() is False


def test_close_wakes_a_waiting_take():
    slot = NewestFrameSlot()
    results = []
    waiter = threading.Thread(target=lambda: results.append(slot.take(timeout=30.0)))
    waiter.start()
    time.sleep(0.1)
    slot.close()
    waiter.join(timeout=5.0)
    assert not waiter.is_alive() and results == [None]


def test_worker_survives_a_failing_item_and_handles_the_next():
    slot, handled, errors = NewestFrameSlot(), [], []
    done = threading.Event()

    def handle(item):
        if item == 'bad':
            raise RuntimeError('bad frame')
        handled.append(item)
        done.set()

    worker = FrameWorker(slot, handle, errors.append)
    worker.start()
    slot.put('bad')
    deadline = time.monotonic() + 5.0
    while not errors and time.monotonic() < deadline:
        time.sleep(0.01)
    slot.put('good')
    assert done.wait(5.0)
    assert worker.stop(timeout=5.0)
    assert handled == ['good'] and [str(error) for error in errors] == ['bad frame']


def test_an_overlapping_worker_starts_the_waiting_item_before_finishing_the_last():
    slot, events, errors = NewestFrameSlot(), [], []
    finished = threading.Event()
    gate = threading.Event()

    def start(item):
        events.append(('start', item))
        if item == 'bad start':
            raise RuntimeError('start failed')
        if item == 1:
            gate.wait(5.0)  # item 2 arrives while item 1 is in hand
        return item

    def finish(item):
        events.append(('finish', item))
        if item == 'bad finish':
            raise RuntimeError('finish failed')
        if item == 3:
            finished.set()

    worker = FrameWorker(slot, start, errors.append, finish=finish,
                         ready=lambda item: events.append(('ready', item)))
    worker.start()
    slot.put(1)
    deadline = time.monotonic() + 5.0
    while not events and time.monotonic() < deadline:
        time.sleep(0.01)
    slot.put(2)
    gate.set()
    while ('finish', 2) not in events and time.monotonic() < deadline:
        time.sleep(0.01)
    for item in ('bad start', 'bad finish', 3):
        slot.put(item)
        while ('start', item) not in events and time.monotonic() < deadline:
            time.sleep(0.01)
    assert finished.wait(5.0)
    assert worker.stop(timeout=5.0)
    assert events[:6] == [('start', 1), ('ready', 1), ('start', 2), ('finish', 1),
                          ('ready', 2), ('finish', 2)]
    assert ('finish', 'bad start') not in events
    assert events.index(('finish', 'bad finish')) < events.index(('finish', 3))
    assert sorted(str(error) for error in errors) == ['finish failed', 'start failed']


def test_stopping_an_overlapping_worker_finishes_the_item_in_hand():
    slot, finished = NewestFrameSlot(), []
    started = threading.Event()

    def start(item):
        started.set()
        return item

    worker = FrameWorker(slot, start, lambda error: None, finish=finished.append)
    worker.start()
    slot.put('last')
    assert started.wait(5.0)
    assert worker.stop(timeout=5.0)
    assert finished == ['last']


def test_health_counts_latency_and_rates():
    now = [100.0]
    health = NodeHealth(clock=lambda: now[0])
    for latency in range(1, 101):
        health.frame_received()
        health.frame_processed({stage: float(latency) for stage in STAGES})
    health.frame_dropped('stale')
    health.frame_dropped('replaced')
    health.frame_dropped('replaced')
    assert health.frame_rejected('step_too_small') == 1
    assert health.frame_rejected('step_too_small') == 2
    assert health.processing_failed('postprocess', 'ValueError') == 1
    now[0] += 10.0
    counts = health.counts()
    assert counts['received'] == 100 and counts['processed'] == 100
    assert counts['dropped_stale'] == 1 and counts['dropped_replaced'] == 2
    assert counts['rejected'] == 2 and counts['rejected.step_too_small'] == 2
    assert counts['postprocess_errors'] == 1 and counts['errors.postprocess.ValueError'] == 1
    median, p95 = health.latency_summary()['inference']
    assert median == pytest.approx(50.5) and p95 == pytest.approx(95.05)
    input_rate, output_rate = health.rates()
    assert input_rate == pytest.approx(10.0) and output_rate == pytest.approx(10.0)
    assert health.seconds_without_input() == pytest.approx(10.0)
    values = health_values(health, {'backend': 'torch'})
    status = build_status('node: segmentation', b'\x00', 'ok', values)
    keys = [item.key for item in status.values]
    assert keys[0] == 'backend' and 'inference_p95_ms' in keys
    assert {item.key: item.value for item in status.values}['inference_median_ms'] == '50.50'


def test_latency_window_is_bounded():
    health = NodeHealth()
    for _ in range(10_000):
        health.frame_processed({'inference': 1.0})
    assert len(health._latency['inference']) <= 300


def test_shipped_parameters_file_declares_only_known_parameters_with_their_types():
    document = yaml.safe_load((REPO_CONFIG / 'segment.yaml').read_text())
    values = document['/**']['ros__parameters']
    specs = {spec.name: spec for spec in ALL_PARAMETERS}
    assert set(values) == set(specs)
    for name, value in values.items():
        assert type(value) is type(specs[name].default), name
        assert value == specs[name].default, f'{name}: yaml and declared default differ'
    assert values['input_reliability'] == 'best_effort'


def test_settings_validation_messages_say_how_to_fix(tmp_path):
    defaults = {spec.name: spec.default for spec in ALL_PARAMETERS}
    card = tmp_path / 'card.json'
    card.write_text('{}')
    settings = read_settings({**defaults, 'model_card': str(card)})
    assert settings.model_card == card.resolve()
    assert settings.postprocess == PostProcessConfig()
    with pytest.raises(ConfigurationError, match=r"backend 'x' is not one of auto, torch, "
                       r'openvino, tensorrt: set backend to one of them in config/segment.yaml'):
        read_settings({**defaults, 'model_card': str(card), 'backend': 'x'})
    with pytest.raises(ConfigurationError, match='outside'):
        postprocess_config({'line_thickness_px': 0.0})
    with pytest.raises(ConfigurationError, match='is not a file'):
        resolve_model_card(str(tmp_path / 'missing.json'))


def test_post_processing_parameters_are_declared_as_the_dataclass_fields_describe_them():
    for field in fields(PostProcessConfig):
        descriptor = SPECS[field.name].descriptor()
        assert descriptor.description == field.metadata['description']
        assert SPECS[field.name].default == field.default
        ranges = list(descriptor.integer_range) + list(descriptor.floating_point_range)
        if field.metadata['minimum'] is None:
            assert not ranges, field.name
        else:
            assert (ranges[0].from_value, ranges[0].to_value) == (
                field.metadata['minimum'], field.metadata['maximum']), field.name
        choices = field.metadata['choices']
        assert descriptor.additional_constraints == (
            'one of: ' + ', '.join(choices) if choices else ''), field.name


@pytest.mark.parametrize('name, value', [('sample_step_px', 0.05), ('fov_threshold', 256),
                                         ('rdp_epsilon_px', float('nan')),
                                         ('fov_method', 'oval')])
def test_the_dataclass_and_the_node_refuse_the_same_values(name, value):
    with pytest.raises(ValueError, match=name):
        PostProcessConfig(**{name: value})
    with pytest.raises(ConfigurationError, match=name):
        SPECS[name].check(value)


def test_the_docs_parameter_table_is_the_generated_one():
    docs = (REPO_ROOT / 'docs' / 'node.md').read_text()
    assert parameters_table() in docs, 'regenerate the table in docs/node.md (see its text)'

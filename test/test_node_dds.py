# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The segmentation node as a separate process over real (loopback) DDS.

The node is started once for the module, exactly as launch/segment.launch.py starts
it (``--ros-args --params-file config/segment.yaml -p ... -r image:=/camera/image``),
with a random-initialised network; these tests check behaviour, not accuracy. They
run in file order: the lifecycle walk and the Ctrl-C shutdown come last.
"""

import os
from pathlib import Path
import signal
import subprocess
import time

from liver_landmarks.calibration import calibration_frame as synthetic_frame
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.pipeline import Pipeline
from liver_landmarks.postprocess import PostProcessConfig
from liver_landmarks.ros.image_conversion import (
    decode_colour_frame, image_msg_to_numpy, numpy_to_image_msg)
from liver_landmarks.ros.messages import cloud_to_polylines, MASK_KEYS, OUTPUT_KEYS
from liver_landmarks_tools.support.node_client import (
    node_command, NodeClient, pad_rows, stop_node_process)
import numpy as np
import psutil
import pytest
from sensor_msgs.msg import Image

pytestmark = [pytest.mark.dds, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[1]
NODE = '/segmentation_node'
INPUT_TIMEOUT_S = 1.5


@pytest.fixture(scope='module')
def node_process(random_model_card, tmp_path_factory):
    """Start the node process as the launch file does; its log path rides along."""
    log_path = tmp_path_factory.mktemp('segmentation_node') / 'node.log'
    command = node_command(parameters={
        'model_card': random_model_card, 'backend': 'torch', 'device': 'cpu',
        # Generous: frames wait for a busy shared CPU; the stale case below is 30 s old.
        # Input reliability stays at its default, best effort (test_node_inprocess.py also
        # runs a reliable subscription).
        'max_frame_age_s': 5.0, 'input_timeout_s': INPUT_TIMEOUT_S})
    env = dict(os.environ, PYTHONUNBUFFERED='1', RCUTILS_LOGGING_BUFFERED_STREAM='0')
    with open(log_path, 'wb') as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=REPO_ROOT)
    process.log_path = log_path
    yield process
    stop_node_process(process, timeout=20)


def _log(process) -> str:
    return process.log_path.read_text(errors='replace')


@pytest.fixture(scope='module')
def client(node_process):
    """Connect a client subscribed to every output and /diagnostics."""
    node_client = NodeClient(NODE, keep=8)
    try:
        if not node_client.wait_until_connected(timeout=120.0):
            pytest.fail(f'node never connected; its log:\n{_log(node_process)}')
        yield node_client
    finally:
        node_client.close()


_FRAMES = {}


def frame_of(width, height, seed=0):
    """Return a liver-like RGB test frame, made once per size."""
    key = (width, height, seed)
    if key not in _FRAMES:
        _FRAMES[key] = synthetic_frame(width, height, seed=seed)
    return _FRAMES[key]


def _send_and_receive(client, process, image, encoding, padding=0, keys=None):
    stamp = client.publish_frame(image, encoding, frame_id='laparoscope', padding=padding)
    outputs = client.wait_for_outputs(stamp, keys=keys, timeout=60.0)
    assert outputs is not None, f'no outputs for the frame; node log:\n{_log(process)[-3000:]}'
    return stamp, outputs


def _assert_same_polylines(got, expected):
    for landmark in LANDMARKS:
        expected_lines = expected.get(landmark, [])
        assert len(got[landmark]) == len(expected_lines), landmark
        for points, expected_points in zip(got[landmark], expected_lines):
            np.testing.assert_array_equal(points, expected_points)


def test_autostart_walks_the_node_to_active(client):
    assert client.get_state() == 'active'


@pytest.mark.parametrize('width, height, encoding, padding', [
    (640, 480, 'rgb8', 0), (640, 480, 'bgr8', 0), (640, 480, 'rgb8', 16),
    (1920, 1080, 'rgb8', 0), (1920, 1080, 'bgr8', 0), (1920, 1080, 'bgr8', 64)])
def test_every_output_matches_the_offline_pipeline(client, node_process, offline, width, height,
                                                   encoding, padding):
    rgb = frame_of(width, height)
    image = rgb if encoding == 'rgb8' else np.ascontiguousarray(rgb[:, :, ::-1])
    stamp, outputs = _send_and_receive(client, node_process, image, encoding, padding)
    assert set(outputs) == set(OUTPUT_KEYS)
    for key, msg in outputs.items():
        header = msg.markers[0].header if key == 'markers' else msg.header
        assert header.frame_id == 'laparoscope', key
        assert header.stamp.sec * 10**9 + header.stamp.nanosec == stamp, key
    expected = offline(image, channel_order=encoding[:3]).result
    labels, label_encoding = image_msg_to_numpy(outputs['labels'])
    assert label_encoding == 'mono8' and labels.shape == (height, width)
    np.testing.assert_array_equal(labels, expected.labels)
    for key, landmark in MASK_KEYS.items():
        mask, _ = image_msg_to_numpy(outputs[key])
        np.testing.assert_array_equal(mask == 255, expected.labels == landmark)
    _assert_same_polylines(cloud_to_polylines(outputs['polylines']), expected.polylines)
    overlay, overlay_encoding = image_msg_to_numpy(outputs['overlay'])
    assert overlay_encoding == 'rgb8' and overlay.shape == (height, width, 3)
    strips = len(outputs['markers'].markers) - 1
    assert strips == sum(len(lines) for lines in expected.polylines.values())


@pytest.mark.parametrize('name, value, words', [
    ('backend', 'foo', "backend 'foo' is not one of auto, torch, openvino, tensorrt"),
    ('device', 'tpu', "device 'tpu' is not one of auto, cpu, cuda"),
    ('fov_method', 'square', 'is not one of threshold, circle, none'),
    ('fov_threshold', 300, 'out of range'),
    ('sample_step_px', -1.0, 'out of range'),
    ('input_reliability', 'best_effort', 'read-only'),
    ('model_card', '/tmp/other.json', 'read when the model loads'),
])
def test_a_wrong_parameter_is_refused_with_its_message(client, name, value, words):
    results = client.set_parameters(**{name: value})
    assert len(results) == 1
    assert not results[0].successful
    assert words in results[0].reason


def test_a_run_time_post_processing_change_takes_effect(client, node_process,
                                                        random_model_card):
    image = frame_of(640, 480)
    _, before = _send_and_receive(client, node_process, image, 'rgb8', keys=['polylines'])
    config = PostProcessConfig(sample_step_px=25.0)
    results = client.set_parameters(sample_step_px=25.0)
    try:
        assert results and results[0].successful, results
        _, after = _send_and_receive(client, node_process, image, 'rgb8', keys=['polylines'])
    finally:
        client.set_parameters(sample_step_px=PostProcessConfig().sample_step_px)
    with Pipeline.from_model_card(random_model_card, backend='torch', device='cpu',
                                  config=config) as coarse:
        expected = coarse(image).result
    _assert_same_polylines(cloud_to_polylines(after['polylines']), expected.polylines)
    assert after['polylines'].width < before['polylines'].width


def _image(width, height, encoding, step, data_length, big_endian=0):
    msg = Image(width=width, height=height, encoding=encoding, step=step,
                is_bigendian=big_endian)
    msg.data = bytes(np.random.default_rng(width + height).integers(
        0, 256, data_length, dtype=np.uint8).tobytes())
    msg.header.frame_id = 'laparoscope'
    return msg


def _colour(width, height, encoding='rgb8', padding=0, value=None):
    channels = 4 if encoding in ('rgba8', 'bgra8') else 3
    if value is None:
        pixels = synthetic_frame(width, height, seed=3)
        if channels == 4:
            pixels = np.concatenate([pixels, np.full((height, width, 1), 255, np.uint8)], 2)
    else:
        pixels = np.full((height, width, channels), value, dtype=np.uint8)
    msg = numpy_to_image_msg(pixels, encoding)
    return pad_rows(msg, padding) if padding else msg


#: (case, message factory, refusal reason or None for "processed correctly")
BAD_INPUTS = [
    ('float depth', lambda: _image(64, 48, '32FC1', 256, 256 * 48), 'unsupported_encoding'),
    ('8UC3', lambda: _image(64, 48, '8UC3', 192, 192 * 48), 'unsupported_encoding'),
    ('rgb16 wrongly sized', lambda: _image(64, 48, 'rgb16', 384, 384 * 48 - 2), 'data_too_short'),
    ('jpeg name', lambda: _image(64, 48, 'jpeg', 192, 192 * 48), 'unsupported_encoding'),
    ('empty encoding', lambda: _image(64, 48, '', 192, 192 * 48), 'unsupported_encoding'),
    ('mono8', lambda: _image(64, 48, 'mono8', 64, 64 * 48), 'not_colour'),
    ('mono16 big-endian', lambda: _image(64, 48, 'mono16', 128, 128 * 48, 1), 'not_colour'),
    ('16UC1', lambda: _image(64, 48, '16UC1', 128, 128 * 48), 'not_colour'),
    ('step too small', lambda: _image(64, 48, 'rgb8', 191, 191 * 48), 'step_too_small'),
    ('step zero', lambda: _image(64, 48, 'bgr8', 0, 0), 'step_too_small'),
    ('data too short', lambda: _image(64, 48, 'rgb8', 192, 192 * 48 - 1), 'data_too_short'),
    ('data empty', lambda: _image(64, 48, 'rgb8', 192, 0), 'data_too_short'),
    ('data too long', lambda: _image(64, 48, 'rgb8', 192, 192 * 48 + 7), 'data_too_long'),
    ('zero width', lambda: _image(0, 48, 'rgb8', 0, 0), 'zero_size'),
    ('zero height', lambda: _image(64, 0, 'rgb8', 192, 0), 'zero_size'),
    ('stale stamp', lambda: _colour(64, 48), 'stale'),
    ('stamp an hour ahead', lambda: _colour(64, 48), 'future'),
    ('1x1', lambda: _colour(1, 1), None),
    ('all black', lambda: _colour(320, 240, value=0), None),
    ('all white', lambda: _colour(320, 240, value=255), None),
    ('odd width, padded', lambda: _colour(333, 241, padding=7), None),
    ('bgra8 odd, padded', lambda: _colour(161, 97, 'bgra8', padding=3), None),
    ('rgba8', lambda: _colour(200, 150, 'rgba8'), None),
    ('encoding changes to bgr8', lambda: _colour(200, 150, 'bgr8'), None),
    ('yuv422 from a capture card', lambda: _image(64, 48, 'yuv422', 128, 128 * 48), None),
    ('bayer', lambda: _image(64, 48, 'bayer_rggb8', 64, 64 * 48), None),
    ('rgb16', lambda: _image(64, 48, 'rgb16', 384, 384 * 48), None),
]


def _counter(values, reason):
    key = f'dropped_{reason}' if reason in ('stale', 'future') else f'rejected.{reason}'
    return int(values.get(key, 0))


@pytest.mark.parametrize('case, make, reason', BAD_INPUTS, ids=[case for case, *_ in BAD_INPUTS])
def test_bad_input_is_counted_and_the_next_good_frame_processed(client, node_process, offline,
                                                                case, make, reason):
    before = _counter(_values_of(client.latest_status()), reason)
    msg = make()
    stamp = None
    if reason in ('stale', 'future'):
        stamp = client.node.get_clock().now().to_msg()
        stamp.sec += -30 if reason == 'stale' else 3600
    bad_stamp = client.publish_raw(msg, stamp=stamp)
    if reason is None:
        outputs = client.wait_for_outputs(bad_stamp, keys=['labels', 'polylines'], timeout=60.0)
        assert outputs is not None, f'{case} not processed; log:\n{_log(node_process)[-3000:]}'
        frame, order = decode_colour_frame(msg.width, msg.height, msg.encoding, msg.step,
                                           msg.is_bigendian, msg.data)
        expected = offline(np.ascontiguousarray(frame), channel_order=order).result
        np.testing.assert_array_equal(image_msg_to_numpy(outputs['labels'])[0], expected.labels)
        if case == 'all black':
            assert outputs['polylines'].width == 0  # nothing in the field of view
    else:
        # Let the node take the bad frame before the next one replaces it in the queue.
        time.sleep(0.3)
        assert client.wait_for_status(
            lambda values, status: _counter(values, reason) >= before + 1, timeout=10.0), \
            f'{case}: {reason} not counted; log:\n{_log(node_process)[-3000:]}'
    _send_and_receive(client, node_process, frame_of(160, 120), 'rgb8',
                      keys=['labels', 'polylines'])
    assert node_process.poll() is None


def _values_of(status):
    return {item.key: item.value for item in status.values} if status else {}


def test_bad_input_reasons_are_logged_by_name(node_process):
    log = _log(node_process)
    for reason in ('unsupported_encoding', 'not_colour', 'step_too_small', 'data_too_short',
                   'data_too_long', 'zero_size'):
        assert f'rejected frame ({reason}' in log, reason
    assert 'older than max_frame_age_s' in log
    assert 'ahead of this node clock' in log
    assert 'Traceback' not in log


def _recover(client, timeout=30.0):
    """Feed good frames until the node reports OK; return that status (None on timeout).

    The input keeps coming: after one frame the node would rightly warn again once
    ``input_timeout_s`` passes, perhaps before the next 1 Hz status.
    """
    recovered, deadline = None, time.monotonic() + timeout
    while recovered is None and time.monotonic() < deadline:
        client.publish_frame(frame_of(160, 120))
        recovered = client.wait_for_status(lambda values, status: status.level == b'\x00',
                                           timeout=0.3)
    return recovered


def test_diagnostics_warn_when_input_stops_and_recover(client, node_process):
    warning = client.wait_for_status(lambda values, status: status.level == b'\x01',
                                     timeout=INPUT_TIMEOUT_S + 10.0)
    assert warning is not None and 'no input on /camera/image' in warning.message
    _send_and_receive(client, node_process, frame_of(160, 120), 'rgb8', keys=['polylines'])
    recovered = _recover(client)
    assert recovered is not None
    values = _values_of(recovered)
    for key in ('input_rate_hz', 'output_rate_hz', 'backend', 'device', 'model',
                'model_sha256', 'dropped_stale', 'dropped_replaced', 'rejected',
                'postprocess_errors'):
        assert key in values, key
    for stage in ('decode', 'preprocess', 'inference', 'postprocess', 'publish'):
        assert float(values[f'{stage}_median_ms']) >= 0.0
        assert float(values[f'{stage}_p95_ms']) >= float(values[f'{stage}_median_ms'])
    assert values['backend'] == 'torch' and len(values['model_sha256']) == 64


def test_a_stream_of_refused_frames_warns_naming_the_reason_then_errors(client, node_process):
    refused = _image(64, 48, '32FC1', 256, 256 * 48)  # a depth image: no colour to segment
    levels = {}
    deadline = time.monotonic() + 60.0
    while b'\x02' not in levels and time.monotonic() < deadline:
        client.publish_raw(refused)
        time.sleep(0.1)
        status = client.latest_status()
        levels.setdefault(status.level, status.message)
    assert b'\x01' in levels and b'\x02' in levels, levels
    for message in (levels[b'\x01'], levels[b'\x02']):
        assert 'frames arrive on /camera/image but none was published' in message
        assert "were rejected as unsupported_encoding ('32FC1')" in message
    _send_and_receive(client, node_process, frame_of(160, 120), 'rgb8', keys=['polylines'])
    assert _recover(client) is not None


def test_a_flood_processes_the_newest_frame_counts_drops_and_keeps_memory_flat(
        client, node_process):
    node = psutil.Process(node_process.pid)
    image = frame_of(1920, 1080)
    replaced_before = int(_values_of(client.latest_status()).get('dropped_replaced', 0))

    def flood(seconds, rate_hz=40.0):
        stamps, period = [], 1.0 / rate_hz
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            stamps.append(client.publish_frame(image, 'rgb8'))
            time.sleep(period)
        return stamps

    flood(3.0)  # the first frames size the allocator's pools
    rss_start = node.memory_info().rss
    stamps = flood(8.0)
    rss_end = node.memory_info().rss
    last = client.wait_for_outputs(stamps[-1], keys=['polylines'], timeout=60.0)
    assert last is not None, 'the newest frame of the flood was not processed'
    processed = [stamp for stamp in client.output_stamps() if stamp in set(stamps)]
    assert len(processed) < len(stamps) / 2
    after = client.wait_for_status(
        lambda values, status: int(values.get('dropped_replaced', 0)) > replaced_before,
        timeout=5.0)
    assert after is not None, 'no frame was counted as replaced'
    growth_mib = (rss_end - rss_start) / 2**20
    assert growth_mib < 64, f'node memory grew by {growth_mib:.0f} MiB in an 8 s flood'


def test_lifecycle_transitions_in_order(client, node_process, random_model_card):
    image = frame_of(160, 120)
    assert client.get_state() == 'active'
    assert client.change_state('deactivate') and client.get_state() == 'inactive'
    stamp = client.publish_frame(image)
    assert client.wait_for_outputs(stamp, keys=['polylines'], timeout=2.0) is None
    assert client.change_state('cleanup') and client.get_state() == 'unconfigured'
    # Refused at run time, and at configure with a message saying how to fix it.
    assert client.set_parameters(backend='foo')[0].successful is False
    assert client.set_parameters(model_card='/nonexistent/card.json')[0].successful
    assert not client.change_state('configure')
    assert client.get_state() == 'unconfigured'
    words = "model_card '/nonexistent/card.json' is not a file"
    error = client.wait_for_status(lambda values, status: status.level == b'\x02', timeout=5.0)
    assert error is not None and words in error.message
    assert words in _log(node_process)
    assert client.set_parameters(model_card=str(random_model_card))[0].successful
    assert client.change_state('configure') and client.get_state() == 'inactive'
    assert client.change_state('activate') and client.get_state() == 'active'
    assert client.wait_until_connected(timeout=30.0)
    _send_and_receive(client, node_process, image, 'rgb8', keys=['polylines'])
    assert client.change_state('deactivate') and client.get_state() == 'inactive'
    assert client.change_state('inactive_shutdown') and client.get_state() == 'finalized'
    finalized = client.wait_for_status(lambda values, status: True, timeout=5.0)
    assert finalized.level == b'\x02' and finalized.message.startswith('finalized')


def test_ctrl_c_ends_the_process_cleanly(node_process):
    node_process.send_signal(signal.SIGINT)
    assert node_process.wait(timeout=30) == 0
    assert 'Traceback' not in _log(node_process)

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The node's frame processor without ROS: route, stamp checks, refusals, health, logs.

A real pipeline (random network) processes real ``sensor_msgs/Image`` messages; no ROS
context is created. Time for the health checks is a hand-driven clock, so the tests
never wait for a timeout to pass.
"""

import subprocess
import sys
import threading
import time

import cv2
from liver_landmarks.calibration import calibration_frame as synthetic_frame
from liver_landmarks.pipeline import Pipeline
from liver_landmarks.ros.diagnostics import ERROR, OK, WARN
from liver_landmarks.ros.frame_processor import (
    ERROR_AFTER_TIMEOUTS, FrameLimits, FrameProcessor, LOG_PERIOD_S, MAX_NAMED_ENCODINGS)
from liver_landmarks.ros.image_conversion import COLOUR_ENCODINGS, numpy_to_image_msg
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image

HOUR_NS = 3600 * 10**9
#: 2038-01-19, where 32-bit time ends: a stamp a broken camera clock might send.
Y2038_NS = 2**31 * 10**9


class HandClock:
    """A monotonic clock that moves only when told."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope='module')
def pipeline(random_model_card):
    """Load the random model on PyTorch/CPU."""
    with Pipeline.from_model_card(random_model_card, backend='torch', device='cpu') as built:
        yield built


class LogLines:
    """A logger with the node logger's three levels that keeps its lines."""

    def __init__(self):
        self.lines = []

    def info(self, message):
        """Keep an info line."""
        self.lines.append(('info', message))

    def warning(self, message):
        """Keep a warning line."""
        self.lines.append(('warning', message))

    def error(self, message):
        """Keep an error line."""
        self.lines.append(('error', message))

    def matching(self, words):
        """Return the lines that contain ``words``."""
        return [message for _, message in self.lines if words in message]


class Outputs:
    """The publish callable: keeps what it was handed, optionally failing."""

    def __init__(self):
        self.published = []
        self.arrived = threading.Event()
        self.fail = False

    def __call__(self, header, output):
        if self.fail:
            raise OSError('injected: publisher gone')
        self.published.append((header, output))
        self.arrived.set()


@pytest.fixture
def clock():
    """Give each test a fresh hand-driven clock."""
    return HandClock()


@pytest.fixture
def made(pipeline, clock):
    """Start a processor; yield it, its outputs and its log; stop it (the pipeline stays open)."""
    outputs = Outputs()
    logger = LogLines()
    processor = FrameProcessor(pipeline, outputs, time.time_ns, logger,
                               FrameLimits(max_frame_age_s=5.0, max_future_stamp_s=1.0,
                                           input_timeout_s=2.0), clock=clock)
    processor.start()
    yield processor, outputs, logger
    processor.stop()


def _frame(encoding='rgb8', stamp_ns=None, width=64, height=48):
    pixels = synthetic_frame(width, height)
    if encoding.startswith('bgr'):
        pixels = pixels[:, :, ::-1]
    if encoding.endswith('a8'):
        pixels = np.concatenate([pixels, np.full((height, width, 1), 255, np.uint8)], axis=2)
    msg = numpy_to_image_msg(np.ascontiguousarray(pixels), encoding)
    stamp_ns = time.time_ns() if stamp_ns is None else stamp_ns
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 10**9)
    msg.header.frame_id = 'laparoscope'
    return msg


def _refused(encoding):
    msg = Image(width=8, height=6, encoding=encoding, step=16, is_bigendian=0)
    msg.data = bytes(96)
    msg.header.stamp.sec = time.time_ns() // 10**9
    return msg


def _wait_processed(processor, count, timeout=60.0):
    deadline = time.monotonic() + timeout
    while processor.health.counts()['processed'] < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return processor.health.counts()


def test_a_frame_goes_from_submit_to_publish_with_its_header_in_rgb(made, pipeline):
    processor, outputs, lines = made
    msg = _frame('bgr8')
    processor.submit(msg)
    assert outputs.arrived.wait(60.0)
    header, output = outputs.published[0]
    assert header.frame_id == 'laparoscope' and header.stamp == msg.header.stamp
    np.testing.assert_array_equal(output.frame_rgb, synthetic_frame(64, 48))
    expected = pipeline(synthetic_frame(64, 48)).result.labels
    np.testing.assert_array_equal(output.result.labels, expected)
    counts = _wait_processed(processor, 1)
    assert counts['received'] == 1 and counts['processed'] == 1


@pytest.mark.parametrize('case, stamp_ns', [
    ('an hour ahead', lambda: time.time_ns() + HOUR_NS),
    ('in 2038', lambda: Y2038_NS),
])
def test_future_stamped_frames_are_dropped_counted_and_logged(made, case, stamp_ns):
    processor, outputs, lines = made
    for _ in range(3):
        processor.submit(_frame(stamp_ns=stamp_ns()))
    counts = processor.health.counts()
    assert counts['dropped_future'] == 3 and counts['processed'] == 0
    lines = lines.matching('max_future_stamp_s')
    assert len(lines) == 1 and 'synchronise the camera clock' in lines[0]
    processor.submit(_frame())
    assert _wait_processed(processor, 1)['processed'] == 1


def test_a_small_clock_difference_ahead_is_tolerated(made):
    processor, _, lines = made
    processor.submit(_frame(stamp_ns=time.time_ns() + 200_000_000))
    assert _wait_processed(processor, 1)['processed'] == 1
    assert processor.health.counts()['dropped_future'] == 0


def test_stale_frames_are_dropped_and_counted(made):
    processor, _, lines = made
    processor.submit(_frame(stamp_ns=time.time_ns() - 30 * 10**9))
    assert processor.health.counts()['dropped_stale'] == 1


def test_a_refused_stream_warns_naming_the_reason_then_errors(made, clock):
    processor, outputs, lines = made
    assert processor.assess('/camera/image') == (OK, 'active: processing')
    for _ in range(10):
        clock.now += 0.5
        processor.submit(_refused('32FC1'))
    processor.submit(_refused('mono8'))
    level, message = processor.assess('/camera/image')
    assert level == WARN, message
    assert "10 of the 11 frames lost since were rejected as unsupported_encoding ('32FC1')" \
        in message and 'none was published' in message
    clock.now += ERROR_AFTER_TIMEOUTS * 2.0
    processor.submit(_refused('32FC1'))
    assert processor.assess('/camera/image')[0] == ERROR
    processor.submit(_frame())
    _wait_processed(processor, 1)
    assert processor.assess('/camera/image') == (OK, 'active: processing')


def test_silence_is_reported_as_no_input(made, clock):
    processor, _, lines = made
    clock.now += 3.0
    level, message = processor.assess('/camera/image')
    assert level == WARN and message.startswith('no input on /camera/image for 3.0 s')
    assert processor.input_silent()


def test_a_model_too_slow_for_the_stream_is_named(made, clock):
    processor, _, lines = made
    processor.stop()  # as if the worker were stuck on a frame: newer ones replace each other
    processor.submit(_frame())
    clock.now += 3.0
    processor.submit(_frame())
    level, message = processor.assess('/image')
    assert level == WARN and '1 of the 1 frames lost since were dropped as replaced' in message


def test_refusals_name_each_encoding_once_and_advise_what_works(made):
    processor, _, lines = made
    refused = ('32FC1', '8SC3', 'mono8', 'jpeg', 'RGB8')
    for _ in range(50):
        for encoding in refused:
            processor.submit(_refused(encoding))
    lines = lines.matching('rejected frame')
    assert len(lines) == len(refused), lines
    for encoding in refused:
        assert sum(f'{encoding!r}' in line for line in lines) == 1, encoding
    for line in lines:
        advice = line.partition('publish one of ')[2]
        assert all(encoding in advice for encoding in COLOUR_ENCODINGS), line
        assert not any(name in advice.split(', ') for name in ('mono8', 'mono16', '16UC1'))
    for index, encoding in enumerate(('rgb8', 'bgr8', 'rgba8', 'bgra8')):
        processor.submit(_frame(encoding))
        assert _wait_processed(processor, index + 1)['processed'] == index + 1


def _compressed(codec='.jpg', format='bgr8; jpeg compressed bgr8'):  # noqa: A002
    msg = CompressedImage(format=format)
    msg.data = cv2.imencode(codec, synthetic_frame(64, 48)[:, :, ::-1])[1].tobytes()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(time.time_ns(), 10**9)
    return msg


def test_a_compressed_frame_takes_the_same_route(made, pipeline):
    processor, outputs, lines = made
    msg = _compressed('.png', 'rgb8; png compressed bgr8')
    processor.submit_compressed(msg)
    assert outputs.arrived.wait(60.0)
    _, output = outputs.published[0]
    np.testing.assert_array_equal(output.frame_rgb, synthetic_frame(64, 48))  # PNG: lossless
    np.testing.assert_array_equal(output.result.labels,
                                  pipeline(synthetic_frame(64, 48)).result.labels)
    broken = _compressed()
    broken.data = broken.data[:40]
    processor.submit_compressed(broken)
    processor.submit_compressed(_compressed(format='bgr8; webp compressed bgr8'))
    counts = processor.health.counts()
    assert counts['rejected.corrupt_compressed'] == 1
    assert counts['rejected.unsupported_compressed_format'] == 1
    assert len(lines.matching("'bgr8; webp compressed bgr8'")) == 1


def test_refusal_logs_stay_bounded_under_made_up_encodings(made):
    processor, _, lines = made
    for number in range(500):
        processor.submit(_refused(f'made_up_{number}'))
    lines = lines.matching('rejected frame')
    assert len(lines) == MAX_NAMED_ENCODINGS + 1
    assert processor.health.counts()['rejected.unsupported_encoding'] == 500


def test_the_throttled_log_says_how_many_lines_it_held_back(made, clock):
    processor, _, lines = made
    for _ in range(4):
        processor.submit(_frame(stamp_ns=Y2038_NS))
    clock.now += LOG_PERIOD_S
    processor.submit(_frame(stamp_ns=Y2038_NS))
    lines = lines.matching('max_future_stamp_s')
    assert len(lines) == 2 and lines[1].endswith('(3 similar since the last such line)')


def test_a_publish_failure_is_counted_under_publish_logged_once(made):
    processor, outputs, lines = made
    outputs.fail = True
    for attempt in range(2):
        processor.submit(_frame())
        deadline = time.monotonic() + 60.0
        while processor.health.counts()['publish_errors'] <= attempt \
                and time.monotonic() < deadline:
            time.sleep(0.01)
    counts = processor.health.counts()
    assert counts['errors.publish.OSError'] == 2 and counts['processed'] == 0
    assert len(lines.matching('publish of a frame raised OSError')) == 1
    outputs.fail = False
    processor.submit(_frame())
    assert _wait_processed(processor, 1)['processed'] == 1


def test_the_processor_does_not_import_rclpy():
    code = ('import sys, liver_landmarks.ros.frame_processor; '
            'sys.exit(int("rclpy" in sys.modules))')
    assert subprocess.run([sys.executable, '-c', code], timeout=120).returncode == 0


def test_with_asynchronous_inference_frames_overlap_and_keep_their_own_results(
        random_model_card, tmp_path):
    """With OpenVINO the next frame infers while the last is finished; nothing is mixed up."""
    pytest.importorskip('openvino')
    with Pipeline.from_model_card(random_model_card, backend='openvino', device='cpu',
                                  precision='fp32', cache_dir=tmp_path,
                                  in_flight=2) as pipeline:
        assert pipeline.backend.max_in_flight > 1
        outputs, frames = Outputs(), {}
        processor = FrameProcessor(pipeline, outputs, time.time_ns, LogLines(),
                                   FrameLimits(max_frame_age_s=0.0))
        processor.start()
        try:
            for seed in range(6):
                frame = synthetic_frame(64, 48, seed)
                msg = numpy_to_image_msg(frame, 'rgb8')
                msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(time.time_ns(), 10**9)
                msg.header.frame_id = f'frame{seed}'
                frames[msg.header.frame_id] = frame
                processor.submit(msg)
                time.sleep(0.01)
            deadline = time.monotonic() + 60.0
            while time.monotonic() < deadline:
                counts = processor.health.counts()
                dropped = sum(value for name, value in counts.items()
                              if name.startswith('dropped_'))
                if counts['processed'] + dropped >= 6:
                    break
                time.sleep(0.05)
        finally:
            processor.stop()
        assert outputs.published and counts['processed'] == len(outputs.published)
        assert outputs.published[-1][0].frame_id == 'frame5'  # the newest is never lost
        for header, output in outputs.published:
            frame = frames[header.frame_id]
            np.testing.assert_array_equal(output.frame_rgb, frame)
            np.testing.assert_array_equal(output.class_ids, pipeline(frame).class_ids)

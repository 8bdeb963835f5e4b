# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The demo's parts: the output recorder, the report, the demo bag and scripts/demo.sh."""

import json
import os
from pathlib import Path
import subprocess
import sys
import threading
import time

import cv2
from liver_landmarks.bag.recorder import node_output_topics, OutputRecorder
from liver_landmarks.bag.replay import recorded_qos
from liver_landmarks.bag.report import header_stamp_ns, write_report
from liver_landmarks.bag.storage import (create_writer, messages_by_topic, open_bag,
                                         read_messages, topic_counts, write_messages)
from liver_landmarks.ros.image_conversion import numpy_to_image_msg
import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

REPO = Path(__file__).resolve().parents[1]
DEMO_BAG = REPO / 'data' / 'demo_bag'
NODE = '/segmentation_node'


def _header(stamp_ns):
    header = Header(frame_id='camera')
    header.stamp.sec, header.stamp.nanosec = divmod(stamp_ns, 10**9)
    return header


@pytest.mark.dds
def test_recorder_and_report_pair_inputs_with_outputs(tmp_path):
    rclpy.init()
    try:
        camera = rclpy.create_node('fake_camera')
        publisher_node = rclpy.create_node('segmentation_node')
        recorder_node = rclpy.create_node('output_recorder')
        images = camera.create_publisher(
            Image, '/camera/image',
            QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))
        labels = publisher_node.create_publisher(Image, '~/labels', 10)
        overlay = publisher_node.create_publisher(Image, '~/overlay', 10)
        writer = create_writer(tmp_path / 'recorded', 'mcap')
        recorder = OutputRecorder(recorder_node, writer,
                                  ['/camera/image', *node_output_topics(NODE), '/diagnostics'])
        executor = SingleThreadedExecutor()
        executor.add_node(recorder_node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        deadline = time.monotonic() + 10
        while len(recorder.connections) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        while (images.get_subscription_count() < 1 or labels.get_subscription_count() < 1
               or overlay.get_subscription_count() < 1) and time.monotonic() < deadline:
            time.sleep(0.05)
        stamps = [1_800_000_000 * 10**9 + i * 10**8 for i in range(4)]
        for index, stamp in enumerate(stamps):
            frame = np.full((36, 48, 3), 40 * index, np.uint8)
            images.publish(numpy_to_image_msg(frame, 'rgb8', _header(stamp)))
            time.sleep(0.05)
            if index != 2:  # the node "dropped" frame 2
                ids = np.full((36, 48), index % 4, np.uint8)
                labels.publish(numpy_to_image_msg(ids, 'mono8', _header(stamp)))
                overlay.publish(numpy_to_image_msg(frame, 'rgb8', _header(stamp)))
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        while recorder.counts.get(f'{NODE}/overlay', 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        executor.shutdown()
        spinner.join(5)
        recorder.close()
        for node in (camera, publisher_node, recorder_node):
            node.destroy_node()
    finally:
        rclpy.try_shutdown()

    recorded = messages_by_topic(tmp_path / 'recorded')
    reader = open_bag(tmp_path / 'recorded')
    try:   # the publishers' offers are stored, so that a replay offers them again
        offered = {topic: recorded_qos(topic, [c for c in reader.connections if c.topic == topic])
                   for topic in ('/camera/image', f'{NODE}/labels')}
    finally:
        reader.close()
    assert offered['/camera/image'][0].reliability == ReliabilityPolicy.BEST_EFFORT
    assert offered[f'{NODE}/labels'][0].reliability == ReliabilityPolicy.RELIABLE
    assert {how for _, how in offered.values()} == {'as recorded'}
    assert [header_stamp_ns(m.data) for m in recorded['/camera/image']] == stamps
    assert [header_stamp_ns(m.data) for m in recorded[f'{NODE}/labels']] == [
        stamps[0], stamps[1], stamps[3]]
    text = write_report(tmp_path / 'recorded', tmp_path / 'report', tiles=3)
    summary = json.loads((tmp_path / 'report' / 'latency_summary.json').read_text())
    assert (summary['input_frames'], summary['output_frames']) == (4, 3)
    assert summary['frames_without_output'] == 1
    arrivals = {header_stamp_ns(m.data): m.log_time_ns for m in recorded['/camera/image']}
    latencies = [(m.log_time_ns - arrivals[header_stamp_ns(m.data)]) / 1e6
                 for m in recorded[f'{NODE}/labels']]
    assert summary['end_to_end_latency_ms']['max'] == pytest.approx(max(latencies))
    assert '1 frames dropped by the node' in text
    strip = cv2.imread(str(tmp_path / 'report' / 'overlay_strip.png'))
    assert strip.shape == (240, 4 * 320, 3)       # three 320x240 tiles and a blank one
    assert (tmp_path / 'report' / 'latency_summary.txt').read_text().strip() == text.strip()


def test_demo_bag_is_small_and_holds_the_documented_frames():
    if not DEMO_BAG.exists():
        pytest.skip('data/demo_bag has not been generated (scripts/make_demo_bag.py)')
    assert sum(path.stat().st_size for path in DEMO_BAG.iterdir()) < 10 * 2**20
    reader = open_bag(DEMO_BAG)
    try:
        assert topic_counts(reader) == {'/camera/image': ('sensor_msgs/msg/Image', 32)}
        messages = list(read_messages(reader))
    finally:
        reader.close()
    assert [header_stamp_ns(m.data) for m in messages] == [m.log_time_ns for m in messages]
    gaps = np.diff([m.log_time_ns for m in messages])
    assert set(gaps.tolist()) == {10**8}              # 10 Hz


@pytest.mark.slow
@pytest.mark.dds
def test_demo_script_runs_end_to_end(tmp_path, random_model_card):
    if not DEMO_BAG.exists():
        pytest.skip('data/demo_bag has not been generated (scripts/make_demo_bag.py)')
    out = tmp_path / 'demo'
    environment = dict(os.environ, LIVER_LANDMARKS_SKIP_SETUP='1')
    done = subprocess.run([str(REPO / 'scripts' / 'demo.sh'), '--model', str(random_model_card),
                           '--out', str(out)], capture_output=True, text=True, timeout=300,
                          env=environment)
    logs = '\n'.join((out / name).read_text()[-3000:] for name in ('node.log', 'replay.log')
                     if (out / name).exists())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + logs
    summary = json.loads((out / 'latency_summary.json').read_text())
    assert summary['input_frames'] == 32
    assert summary['output_frames'] >= 1
    assert summary['end_to_end_latency_ms']['p50'] > 0
    assert cv2.imread(str(out / 'overlay_strip.png')) is not None
    recorded = messages_by_topic(out / 'outputs_bag')
    inputs = {header_stamp_ns(m.data) for m in recorded['/camera/image']}
    for key in ('labels', 'ridge/mask', 'ligament/mask', 'silhouette/mask', 'polylines',
                'overlay'):
        stamps = [header_stamp_ns(m.data) for m in recorded[f'{NODE}/{key}']]
        assert stamps and set(stamps) <= inputs, key
    assert len(recorded[f'{NODE}/markers']) == summary['output_frames']
    assert 'results in' in done.stdout


def test_report_on_a_bag_without_node_outputs_says_so(tmp_path):
    frames = [('/camera/image', 1_800_000_000 * 10**9 + i * 10**8,
               numpy_to_image_msg(np.full((12, 16, 3), i, np.uint8), 'rgb8',
                                  _header(1_800_000_000 * 10**9 + i * 10**8)))
              for i in range(20)]
    bag = write_messages(tmp_path / 'inputs_only', frames)
    done = subprocess.run([sys.executable, '-m', 'liver_landmarks', 'bag', 'report', str(bag),
                           '--out', str(tmp_path / 'report')],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'input:  20 frames on /camera/image' in done.stdout
    assert f'holds no node outputs: no message on {NODE}/labels' in done.stdout
    assert 'dropped' not in done.stdout and '(its topics: /camera/image)' in done.stdout
    summary = json.loads((tmp_path / 'report' / 'latency_summary.json').read_text())
    assert summary['has_outputs'] is False and summary['output_frames'] == 0


def test_report_pairs_compressed_inputs_with_outputs(tmp_path):
    stamps = [1_800_000_000 * 10**9 + i * 10**8 for i in range(4)]
    jpeg = cv2.imencode('.jpg', np.zeros((12, 16, 3), np.uint8))[1].tobytes()
    inputs = [('/camera/image/compressed', stamp + 1000,
               CompressedImage(header=_header(stamp), format='jpeg', data=jpeg))
              for stamp in stamps]
    outputs = [(f'{NODE}/labels', stamp + 5 * 10**7,
                numpy_to_image_msg(np.zeros((12, 16), np.uint8), 'mono8', _header(stamp)))
               for stamp in stamps if stamp != stamps[2]]
    bag = write_messages(tmp_path / 'recorded', sorted(inputs + outputs, key=lambda m: m[1]))
    text = write_report(bag, tmp_path / 'report', image_topic='/camera/image/compressed')
    summary = json.loads((tmp_path / 'report' / 'latency_summary.json').read_text())
    assert (summary['input_frames'], summary['output_frames']) == (4, 3)
    assert summary['frames_without_output'] == 1 and '1 frames dropped by the node' in text
    assert summary['end_to_end_latency_ms']['max'] == pytest.approx(50.0 - 0.001)

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The segmentation node in this process: start-up faults, run-time faults, 8K, input QoS.

Frames are handed to the node's subscription callback directly where the test is
about what the node does with them, and go over real loopback DDS where it is about
the subscription's QoS.
"""

import shutil
import threading
import time

import cv2
from liver_landmarks.calibration import calibration_frame as synthetic_frame
from liver_landmarks.pipeline import Pipeline
from liver_landmarks.postprocess import PostProcessor
from liver_landmarks.ros import segmentation_node
from liver_landmarks.ros.frame_processor import load_pipeline, LOG_PERIOD_S
from liver_landmarks.ros.segmentation_node import make_executor, SegmentationNode
from liver_landmarks_tools.support.inprocess_node import feed, make_node
from liver_landmarks_tools.support.node_client import NodeClient, ros_context
import numpy as np
import pytest
import rclpy
from rclpy.exceptions import InvalidParameterValueException
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage
import torch

pytestmark = [pytest.mark.dds]

FAULT_VALUE = 7  # frames of this grey make the fault-injecting post-processor raise


@pytest.fixture
def active_node(context, random_model_card):
    """Yield an autostarted (active) node; shut it down afterwards."""
    node = make_node(context, random_model_card)
    assert node.autostart()
    yield node
    node.finish()
    node.destroy_node()


def test_without_autostart_the_node_waits_unconfigured(context, random_model_card):
    node = make_node(context, random_model_card, autostart=False)
    try:
        assert node.autostart() is False
        assert node.lifecycle_state == 'unconfigured' and node.processor is None
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.lifecycle_state == 'inactive' and node.processor is not None
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert node.lifecycle_state == 'active'
        assert node.trigger_shutdown() == TransitionCallbackReturn.SUCCESS
        assert node.lifecycle_state == 'finalized' and node.processor is None
    finally:
        node.destroy_node()


def _corrupt_weights(card_path, tmp_path):
    for path in card_path.parent.iterdir():
        shutil.copy(path, tmp_path / path.name)
    weights = next(tmp_path.glob('*.safetensors'))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    return tmp_path / card_path.name


@pytest.mark.parametrize('case, overrides, words', [
    ('unknown backend', {'backend': 'foo'},
     "backend 'foo' is not one of auto, torch, openvino, tensorrt: set backend"),
    ('unknown device', {'device': 'gpu0'}, "device 'gpu0' is not one of auto, cpu, cuda"),
    ('missing model card', {'model_card': '/nonexistent/model.json'},
     "model_card '/nonexistent/model.json' is not a file"),
    ('unknown fov method', {'fov_method': 'oval'}, 'is not one of threshold, circle, none'),
    ('weights hash mismatch', {'model_card': 'CORRUPT'}, 'sha256'),
    ('cuda absent', {'device': 'cuda'}, 'cuda'),
])
def test_configure_refuses_with_a_message_that_says_how_to_fix_it(
        context, random_model_card, tmp_path, case, overrides, words):
    if case == 'cuda absent' and torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    if overrides.get('model_card') == 'CORRUPT':
        overrides = {'model_card': str(_corrupt_weights(random_model_card, tmp_path))}
    node = make_node(context, random_model_card, **overrides)
    try:
        assert node.autostart() is False
        assert node.lifecycle_state == 'unconfigured' and node.processor is None
        assert words in node.configure_error
        status = node.diagnostic_status()
        assert status.level == status.ERROR and words in status.message
    finally:
        node.destroy_node()


def test_an_out_of_range_start_up_value_is_refused_naming_it(context, random_model_card):
    with pytest.raises(InvalidParameterValueException, match='fov_threshold'):
        make_node(context, random_model_card, fov_threshold=300)


class FaultInjectingPostProcessor(PostProcessor):
    """The real post-processor, except that it raises on frames of one grey level."""

    def __call__(self, class_ids, frame=None, output_size=None):
        """Raise ValueError for a frame of grey ``FAULT_VALUE``, else post-process it."""
        if frame is not None and frame.max() == FAULT_VALUE == frame.min():
            raise ValueError('injected fault')
        return super().__call__(class_ids, frame=frame, output_size=output_size)


def test_a_post_processing_fault_is_counted_logged_once_and_the_node_goes_on(
        active_node, capfd):
    real = active_node.processor.pipeline
    active_node.processor.pipeline = Pipeline(
        real.backend, real.preprocessor, FaultInjectingPostProcessor(real.postprocessor.config))
    faulty = np.full((48, 64, 3), FAULT_VALUE, dtype=np.uint8)
    feed(active_node, faulty)
    counts = feed(active_node, faulty)
    assert counts['postprocess_errors'] == 2
    assert counts['errors.postprocess.ValueError'] == 2
    processed = counts['processed']
    counts = feed(active_node, synthetic_frame(64, 48))
    assert counts['processed'] == processed + 1
    log = capfd.readouterr().err
    assert log.count('postprocess of a frame raised ValueError: injected fault') == 1


def test_an_8k_frame_is_processed(active_node):
    # Tiled: rendering a synthetic frame at 8K directly costs many seconds.
    counts = feed(active_node, np.tile(synthetic_frame(480, 270, seed=1), (16, 16, 1)))
    assert counts['processed'] == 1
    assert counts['rejected'] == 0 and counts['postprocess_errors'] == 0


@pytest.mark.parametrize('reliability', ['best_effort', 'reliable'])
def test_full_hd_frames_arrive_over_dds_with_either_input_reliability(
        context, random_model_card, reliability):
    overrides = {} if reliability == 'best_effort' else {'input_reliability': reliability}
    node = make_node(context, random_model_card, **overrides)
    assert node.get_parameter('input_reliability').value == reliability
    assert node.autostart()
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    # The client publishes reliably: a best-effort subscription matches it too.
    client = NodeClient('/segmentation_node', image_topic='/image',
                        keys=('labels', 'polylines'))
    try:
        assert client.wait_until_connected(timeout=60.0)
        # 1920x1080 rgb8 is 6.2 MB: over the loopback profile it travels through shared
        # memory (config/fastdds_localhost.xml says why that matters for best effort).
        frame = synthetic_frame(1920, 1080)
        for _ in range(5):
            stamp = client.publish_frame(frame)
            if client.wait_for_outputs(stamp, timeout=30.0) is not None:
                break
        else:
            pytest.fail(f'no 1920x1080 frame got through {reliability}: '
                        f'{node.processor.health.counts()}')
    finally:
        client.close()
        executor.shutdown(timeout_sec=5.0)
        node.finish()
        node.destroy_node()


def _spin(node, context):
    """Spin ``node`` on the executor ``main`` uses, in a thread; return the executor."""
    executor = make_executor(node, context)
    threading.Thread(target=executor.spin, daemon=True).start()
    return executor


def test_configure_keeps_services_and_diagnostics_answering(context, random_model_card,
                                                            monkeypatch):
    loading, release = threading.Event(), threading.Event()

    def slow_load(settings):
        # A model on a slow disk: configure stays in its transition until released.
        loading.set()
        release.wait(120.0)
        return load_pipeline(settings)

    monkeypatch.setattr(segmentation_node, 'load_pipeline', slow_load)
    # A name of its own: another test's node of the default name may linger in discovery.
    node = make_node(context, random_model_card, 'configuring_node', autostart=False)
    executor = _spin(node, context)
    client = NodeClient('/configuring_node', image_topic='/image', keys=())
    configured = []
    transition = threading.Thread(
        target=lambda: configured.append(client.change_state('configure')))
    try:
        transition.start()
        assert loading.wait(60.0)
        assert client.get_state() == 'configuring'
        assert client.set_parameters(sample_step_px=6.0)[0].successful
        refused = client.set_parameters(backend='torch')[0]
        assert not refused.successful and 'read when the model loads' in refused.reason
        status = client.wait_for_status(lambda values, status: True, timeout=10.0)
        assert status is not None and status.level == b'\x00'
        assert status.message.startswith('configuring')
        release.set()
        transition.join(120.0)
        assert configured == [True] and client.get_state() == 'inactive'
        assert node.settings.postprocess.sample_step_px == 6.0
    finally:
        release.set()
        client.close()
        executor.shutdown(timeout_sec=5.0)
        node.finish()
        node.destroy_node()


def test_a_finalized_node_never_reports_ok(active_node):
    feed(active_node, synthetic_frame(64, 48))
    assert active_node.diagnostic_status().level == b'\x00'
    assert active_node.trigger_shutdown() == TransitionCallbackReturn.SUCCESS
    status = active_node.diagnostic_status()
    assert status.level == b'\x02' and status.message.startswith('finalized')
    values = {item.key: item.value for item in status.values}
    assert values['state'] == 'finalized'


@pytest.fixture
def wrong_camera():
    """Yield a publisher of CompressedImage on /image, from a node in a context of its own."""
    with ros_context() as other:
        publisher_node = rclpy.create_node('wrong_camera', context=other)
        yield publisher_node.create_publisher(CompressedImage, '/image', 1)
        publisher_node.destroy_node()


def test_a_publisher_of_another_type_on_the_input_topic_is_reported(
        context, random_model_card, wrong_camera, capfd):
    node = make_node(context, random_model_card, input_timeout_s=0.5)
    assert node.autostart()
    executor = _spin(node, context)
    try:
        deadline = time.monotonic() + 30.0
        status = node.diagnostic_status()
        # Until discovery names the publishing node, the message names only the type.
        while '/wrong_camera' not in status.message and time.monotonic() < deadline:
            wrong_camera.publish(CompressedImage(format='jpeg'))
            time.sleep(0.2)
            status = node.diagnostic_status()
        assert status.level == b'\x02', status.message
        assert '/image carries sensor_msgs/msg/CompressedImage (from /wrong_camera), but ' \
            'this node takes sensor_msgs/msg/Image' in status.message
        assert node.processor.health.counts()['received'] == 0
        log = capfd.readouterr().err
        assert 'this node takes sensor_msgs/msg/Image' in log
    finally:
        executor.shutdown(timeout_sec=5.0)
        node.finish()
        node.destroy_node()


def test_parameter_change_logs_stay_bounded(active_node, capfd):
    started = time.monotonic()
    for step in range(200):
        assert active_node.set_parameters(
            [Parameter('sample_step_px', value=5.0 + step % 7)])[0].successful
        assert not active_node.set_parameters(
            [Parameter('backend', value='nope')])[0].successful
    periods = 1 + int((time.monotonic() - started) / LOG_PERIOD_S)
    log = capfd.readouterr().err
    applied = log.count('parameters applied: sample_step_px')
    refused = log.count('parameter change refused')
    assert 1 <= applied <= periods and 1 <= refused <= periods, (applied, refused, periods)
    assert active_node.processor.pipeline.postprocessor.config.sample_step_px == 5.0 + 199 % 7


def test_compressed_transport_takes_jpeg_from_the_remapped_topic_over_dds(
        context, random_model_card):
    values = {'model_card': str(random_model_card), 'backend': 'torch', 'device': 'cpu',
              'image_transport': 'compressed'}
    node = SegmentationNode('jpeg_node', context=context, parameter_overrides=[
        Parameter(name, value=value) for name, value in values.items()],
        cli_args=['--ros-args', '-r', 'image:=/laparoscope/image'])
    assert node.autostart()
    executor = _spin(node, context)
    client = NodeClient('/jpeg_node', image_topic='/unused', keys=('labels', 'polylines'))
    camera = client.node.create_publisher(
        CompressedImage, '/laparoscope/image/compressed',
        QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
    bgr = np.ascontiguousarray(synthetic_frame(320, 240, seed=5)[:, :, ::-1])
    msg = CompressedImage(format='bgr8; jpeg compressed bgr8',
                          data=cv2.imencode('.jpg', bgr)[1].tobytes())
    msg.header.frame_id = 'laparoscope'
    try:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline and not (camera.get_subscription_count() and all(
                sub.get_publisher_count() for sub in client.output_subscriptions)):
            time.sleep(0.05)
        outputs = None
        for _ in range(5):
            msg.header.stamp = client.node.get_clock().now().to_msg()
            camera.publish(msg)
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            outputs = client.wait_for_outputs(stamp, timeout=30.0)
            if outputs is not None:
                break
        assert outputs is not None, node.processor.health.counts()
        decoded = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_COLOR)
        with Pipeline.from_model_card(random_model_card, backend='torch',
                                      device='cpu') as offline:
            expected = offline(decoded, channel_order='bgr').result.labels
        labels = np.frombuffer(outputs['labels'].data, np.uint8).reshape(240, 320)
        np.testing.assert_array_equal(labels, expected)
        assert outputs['labels'].header.frame_id == 'laparoscope'
    finally:
        client.close()
        executor.shutdown(timeout_sec=5.0)
        node.finish()
        node.destroy_node()

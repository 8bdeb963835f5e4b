# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Drive a running ``segmentation_node`` from Python: frames in, outputs and diagnostics out.

Used by the node's DDS tests, soak and demo scripts, so each of them talks to the node
exactly as a camera driver, a registration node and ``ros2 lifecycle``/``ros2 param``
do. :func:`node_command` is the command line the launch file runs.

The caller must have put DDS where it wants it (tests and demos call
:func:`liver_landmarks_tools.support.loopback.use_loopback_dds`) before creating a client.
"""

from collections import OrderedDict
from contextlib import contextmanager
import signal
import subprocess
import sys
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from liver_landmarks.bag.storage import message_class
from liver_landmarks.ros.image_conversion import bytes_to_uint8_array, numpy_to_image_msg
from liver_landmarks.ros.messages import OUTPUT_MSGTYPES
from liver_landmarks_tools.support.data import REPOSITORY
from rcl_interfaces.srv import SetParameters
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

REPO_ROOT = REPOSITORY
TRANSITIONS = {'configure': Transition.TRANSITION_CONFIGURE,
               'activate': Transition.TRANSITION_ACTIVATE,
               'deactivate': Transition.TRANSITION_DEACTIVATE,
               'cleanup': Transition.TRANSITION_CLEANUP,
               'shutdown': Transition.TRANSITION_UNCONFIGURED_SHUTDOWN,
               'inactive_shutdown': Transition.TRANSITION_INACTIVE_SHUTDOWN,
               'active_shutdown': Transition.TRANSITION_ACTIVE_SHUTDOWN}


@contextmanager
def ros_context():
    """Yield a ROS context of its own (nodes in it never meet another test's); shut down after."""
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        yield context
    finally:
        if context.ok():
            rclpy.shutdown(context=context)


def node_command(params_file=None, image_topic='/camera/image', parameters=None,
                 node_name=None) -> list[str]:
    """Return the command that starts the node as ``launch/segment.launch.py`` does.

    ``parameters`` maps names to values given as ``-p name:=value`` overrides.
    """
    params_file = params_file or REPO_ROOT / 'config' / 'segment.yaml'
    command = [sys.executable, '-m', 'liver_landmarks.ros.segmentation_node',
               '--ros-args', '--params-file', str(params_file)]
    for name, value in (parameters or {}).items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        command += ['-p', f'{name}:={text}']
    command += ['-r', f'image:={image_topic}']
    if node_name:
        command += ['-r', f'__node:={node_name}']
    return command


def stop_node_process(process: subprocess.Popen, timeout: float = 30.0) -> int | None:
    """Stop a node started with :func:`node_command` as Ctrl-C would; kill it if it hangs.

    Return its exit status (0 for a clean shutdown).
    """
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def stamp_ns(header) -> int:
    """Nanoseconds of a header's stamp: the key outputs are matched to their input by."""
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


class NodeClient:
    """A ROS node in its own context that feeds frames to a segmentation node and listens.

    ``keys`` are the outputs to subscribe to (subscribing makes the node compute the
    optional ones); the last ``keep`` frames' outputs are kept, keyed by input stamp.
    """

    def __init__(self, node_name='/segmentation_node', image_topic='/camera/image',
                 keys=tuple(OUTPUT_MSGTYPES), keep=16, name='segmentation_client'):
        self.node_name = node_name.rstrip('/')
        self.keys = tuple(keys)
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self._condition = threading.Condition()
        self._outputs = OrderedDict()
        #: Input stamp (ns) -> seconds from the stamp to the frame's first output arriving.
        self.latencies_s = OrderedDict()
        self._keep = keep
        #: The node's latest statuses as (sequence number, DiagnosticStatus).
        self.diagnostics = []
        self._diagnostics_seen = 0
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.image_publisher = self.node.create_publisher(
            Image, image_topic, QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        self.output_subscriptions = [
            self.node.create_subscription(
                message_class(OUTPUT_MSGTYPES[key]), f'{self.node_name}/{key}',
                lambda msg, key=key: self._on_output(key, msg), reliable)
            for key in self.keys]
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                      reliable)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._spinner = threading.Thread(target=self._spin, daemon=True)
        self._spinner.start()

    def _spin(self):
        try:
            self._executor.spin()
        except Exception:  # noqa: BLE001 - the context was shut down by close()
            pass

    def _on_output(self, key, msg):
        header = msg.markers[0].header if key == 'markers' else msg.header
        arrival_ns = time.time_ns()
        with self._condition:
            stamp = stamp_ns(header)
            entry = self._outputs.setdefault(stamp, {})
            entry[key] = msg
            # Latency: first output of the frame on this host's clock, the stamp's clock.
            self.latencies_s.setdefault(stamp, (arrival_ns - stamp) / 1e9)
            while len(self._outputs) > self._keep:
                self._outputs.popitem(last=False)
            while len(self.latencies_s) > 10_000:
                self.latencies_s.popitem(last=False)
            self._condition.notify_all()

    def _on_diagnostics(self, msg):
        statuses = [status for status in msg.status
                    if status.name.startswith(self.node_name.lstrip('/').split('/')[-1] + ':')]
        if statuses:
            with self._condition:
                self._diagnostics_seen += 1
                self.diagnostics.append((self._diagnostics_seen, statuses[0]))
                del self.diagnostics[:-20]
                self._condition.notify_all()

    def wait(self, predicate, timeout: float):
        """Wait until ``predicate()`` (called under the lock) is truthy; return its value."""
        with self._condition:
            return self._condition.wait_for(predicate, timeout)

    def wait_until_connected(self, timeout: float = 30.0) -> bool:
        """Wait until the node subscribes to the images and publishes every wanted output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.image_publisher.get_subscription_count() > 0 and all(
                    sub.get_publisher_count() > 0 for sub in self.output_subscriptions):
                return True
            time.sleep(0.05)
        return False

    def publish_frame(self, image, encoding='rgb8', stamp=None, frame_id='camera',
                      padding=0) -> int:
        """Publish an image (rows padded by ``padding`` bytes); return its stamp in ns."""
        msg = numpy_to_image_msg(image, encoding)
        if padding:
            msg = pad_rows(msg, padding)
        msg.header.frame_id = frame_id
        msg.header.stamp = stamp if stamp is not None else self.node.get_clock().now().to_msg()
        self.image_publisher.publish(msg)
        return stamp_ns(msg.header)

    def publish_raw(self, msg: Image, stamp=None) -> int:
        """Publish a hand-made (possibly malformed) image message; return its stamp in ns."""
        msg.header.stamp = stamp if stamp is not None else self.node.get_clock().now().to_msg()
        self.image_publisher.publish(msg)
        return stamp_ns(msg.header)

    def wait_for_outputs(self, stamp: int, keys=None, timeout: float = 30.0) -> dict | None:
        """Return ``{key: msg}`` of the frame stamped ``stamp`` once all ``keys`` arrived."""
        keys = set(self.keys if keys is None else keys)

        def ready():
            entry = self._outputs.get(stamp, {})
            return dict(entry) if keys <= set(entry) else None
        return self.wait(ready, timeout)

    def output_stamps(self) -> list[int]:
        """Stamps of the frames whose outputs were received, oldest first."""
        with self._condition:
            return list(self._outputs)

    def wait_for_status(self, predicate, timeout: float = 10.0, fresh: bool = True):
        """Return the node's first diagnostics status that ``predicate(values, status)`` accepts.

        Only statuses published after this call count when ``fresh``; None on timeout.
        """
        with self._condition:
            start = self._diagnostics_seen if fresh else 0

        def match():
            for sequence, status in self.diagnostics:
                if sequence > start and predicate(status_values(status), status):
                    return status
            return None
        return self.wait(match, timeout)

    def latest_status(self, timeout: float = 10.0):
        """Return the node's most recent diagnostics status, waiting for one if none yet."""
        if self.wait(lambda: bool(self.diagnostics), timeout):
            with self._condition:
                return self.diagnostics[-1][1]
        return None

    def call(self, service_type, name: str, request, timeout: float = 30.0):
        """Call a service of the node and return its response (None on timeout)."""
        client = self.node.create_client(service_type, f'{self.node_name}/{name}')
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                return None
            future = client.call_async(request)
            deadline = time.monotonic() + timeout
            while not future.done() and time.monotonic() < deadline:
                time.sleep(0.02)
            return future.result() if future.done() else None
        finally:
            self.node.destroy_client(client)

    def get_state(self) -> str:
        """Return the node's lifecycle state label (``ros2 lifecycle get``)."""
        response = self.call(GetState, 'get_state', GetState.Request())
        return response.current_state.label if response else ''

    def change_state(self, transition: str) -> bool:
        """Trigger a lifecycle transition by name (``ros2 lifecycle set``); True on success."""
        request = ChangeState.Request()
        request.transition.id = TRANSITIONS[transition]
        response = self.call(ChangeState, 'change_state', request, timeout=120.0)
        return bool(response and response.success)

    def set_parameters(self, **values) -> list:
        """Set parameters (``ros2 param set``); return each result (successful, reason)."""
        request = SetParameters.Request(parameters=[
            Parameter(name, value=value).to_parameter_msg() for name, value in values.items()])
        response = self.call(SetParameters, 'set_parameters', request)
        return list(response.results) if response else []

    def close(self):
        """Stop spinning and release the client's context."""
        self._executor.shutdown(timeout_sec=5.0)
        self.node.destroy_node()
        if self.context.ok():
            rclpy.shutdown(context=self.context)
        self._spinner.join(timeout=5.0)


def status_values(status) -> dict:
    """Return a diagnostics status's values as a ``{key: value}`` dict of strings."""
    return {item.key: item.value for item in status.values}


def pad_rows(msg: Image, padding: int) -> Image:
    """Return ``msg`` with ``padding`` junk bytes added after every row (a larger ``step``)."""
    import numpy as np

    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.step)
    junk = np.full((msg.height, padding), 0x5A, dtype=np.uint8)
    msg.data = bytes_to_uint8_array(np.concatenate([rows, junk], axis=1))
    msg.step += padding
    return msg

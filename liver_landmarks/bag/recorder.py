# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Record what the segmentation node publishes into a rosbag2, as ``ros2 bag record`` would.

The demo needs a recorder and the ``.venv`` set-up has no ``ros2`` command line, so this
small node subscribes to the node's outputs (and, by default, to its input image and
``/diagnostics``) as raw bytes and writes them with the receive time as log time. The
log times of an input frame and of its outputs, both taken on this process's clock,
give the end-to-end latency through DDS (see :mod:`liver_landmarks.bag.report`).

Run: ``python -m liver_landmarks.bag.recorder --out OUT_BAG``; stops on Ctrl-C,
SIGTERM, ``--duration`` or ``--idle-exit``, always leaving a bag that opens. Each topic
is stored with the QoS its publishers offered, so that a replay offers it again. DDS
settings come from the environment it is started in, as for any ROS 2 process.
"""

import argparse
import signal
import sys
import threading
import time

from liver_landmarks.bag.storage import (add_topic, close_writer, create_writer, message_class,
                                         qos_for_bag)

DEFAULT_NODE = '/segmentation_node'
DEFAULT_IMAGE_TOPIC = '/camera/image'
DIAGNOSTICS_TOPIC = '/diagnostics'


def node_output_topics(node_name: str = DEFAULT_NODE) -> list[str]:
    """Return the fully qualified output topics of a segmentation node."""
    from liver_landmarks.ros.messages import OUTPUT_KEYS

    return [f'{node_name.rstrip("/")}/{key}' for key in OUTPUT_KEYS]


class OutputRecorder:
    """Subscribe to named topics as soon as they appear and write every message to a bag.

    Topic types and reliability come from the publishers seen in the ROS graph, so the
    recorder needs no message types up front and matches best-effort publishers too.
    """

    def __init__(self, node, writer, topics, graph_poll_s: float = 0.2):
        self.node = node
        self.writer = writer
        self.pending = list(dict.fromkeys(topics))
        self.connections = {}
        self.subscriptions = []
        self.counts = {}
        self.last_message_monotonic = None
        self._lock = threading.Lock()
        self._timer = node.create_timer(graph_poll_s, self.subscribe_to_new_topics)
        self.subscribe_to_new_topics()

    def subscribe_to_new_topics(self):
        """Subscribe to every wanted topic that now has a publisher."""
        if not self.pending:
            return
        advertised = dict(self.node.get_topic_names_and_types())
        for topic in list(self.pending):
            types = advertised.get(topic)
            if not types:
                continue
            cls = message_class(types[0])
            if cls is None:
                self.node.get_logger().warning(f'not recording {topic}: type {types[0]} '
                                               'is not installed')
                self.pending.remove(topic)
                continue
            offered = [qos_for_bag(info.qos_profile)
                       for info in self.node.get_publishers_info_by_topic(topic)]
            self.connections[topic] = add_topic(self.writer, topic, types[0],
                                                offered_qos=offered)
            self.subscriptions.append(self.node.create_subscription(
                cls, topic, self._make_callback(topic), self._qos_for(topic), raw=True))
            self.pending.remove(topic)
            self.node.get_logger().info(f'recording {topic} ({types[0]})')

    def _qos_for(self, topic):
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        publishers = self.node.get_publishers_info_by_topic(topic)
        best_effort = any(info.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
                          for info in publishers)
        reliability = ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE
        return QoSProfile(depth=100, reliability=reliability)

    def _make_callback(self, topic):
        connection = self.connections[topic]

        def record(data: bytes):
            received_ns = time.time_ns()
            with self._lock:
                if self.writer.storage is None:
                    return
                self.writer.write(connection, received_ns, data)
                self.counts[topic] = self.counts.get(topic, 0) + 1
                if topic != DIAGNOSTICS_TOPIC:  # a 1 Hz tick says nothing about frames
                    self.last_message_monotonic = time.monotonic()

        return record

    def close(self):
        """Stop recording and finish the bag so that it opens."""
        with self._lock:
            for subscription in self.subscriptions:
                self.node.destroy_subscription(subscription)
            self.subscriptions = []
            self.node.destroy_timer(self._timer)
            close_writer(self.writer)


def build_parser() -> argparse.ArgumentParser:
    """Return the recorder's command line parser."""
    parser = argparse.ArgumentParser(
        prog='python -m liver_landmarks.bag.recorder',
        description="Record the segmentation node's outputs into a rosbag2.")
    parser.add_argument('--out', required=True, help='bag directory to create (must not exist)')
    parser.add_argument('--node', default=DEFAULT_NODE,
                        help='fully qualified name of the node whose outputs to record '
                             f'(default {DEFAULT_NODE})')
    parser.add_argument('--image-topic', default=DEFAULT_IMAGE_TOPIC,
                        help=f'input image topic to record too (default {DEFAULT_IMAGE_TOPIC}; '
                             'empty: none)')
    parser.add_argument('--topics', nargs='*', default=None,
                        help="record exactly these topics instead of the node's outputs")
    parser.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap')
    parser.add_argument('--compress', action='store_true', help='zstd-compress the bag')
    parser.add_argument('--duration', type=float, default=0.0,
                        help='stop after this many seconds (0: run until Ctrl-C)')
    parser.add_argument('--idle-exit', type=float, default=0.0,
                        help='stop once no message other than /diagnostics arrived for this '
                             'many seconds after the first one (0: never)')
    return parser


def wanted_topics(args) -> list[str]:
    """Return the topics the command line asks for, in recording order."""
    if args.topics is not None:
        return list(args.topics)
    topics = node_output_topics(args.node) + [DIAGNOSTICS_TOPIC]
    if args.image_topic:
        topics.insert(0, args.image_topic)
    return topics


def main(argv=None) -> int:
    """Record until stopped; print per-topic counts; return the exit status."""
    args = build_parser().parse_args(argv)
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node('output_recorder')
    writer = create_writer(args.out, args.storage, args.compress)
    recorder = OutputRecorder(node, writer, wanted_topics(args))
    started = time.monotonic()
    try:
        print(f'recording to {args.out}', file=sys.stderr, flush=True)
        while not stop.is_set() and rclpy.ok():
            rclpy.spin_once(node, timeout_sec=0.1)
            now = time.monotonic()
            if args.duration and now - started >= args.duration:
                break
            if args.idle_exit and _idle_for(recorder, now) >= args.idle_exit:
                break
    finally:
        recorder.close()
        node.destroy_node()
        rclpy.try_shutdown()
    for topic, count in sorted(recorder.counts.items()):
        print(f'{count:6d}  {topic}')
    return 0


def _idle_for(recorder: OutputRecorder, now: float) -> float:
    """Seconds since the last message that was not a diagnostics tick (0 before any)."""
    if recorder.last_message_monotonic is None:
        return 0.0
    return now - recorder.last_message_monotonic


if __name__ == '__main__':
    sys.exit(main())

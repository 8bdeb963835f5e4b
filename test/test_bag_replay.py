# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``bag replay`` over real DDS (loopback): pacing, raw bytes, /clock, offsets, loop, Ctrl-C."""

from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

import cv2
from liver_landmarks.bag.replay import BagReplayer, recorded_qos, ReplayOptions
from liver_landmarks.bag.storage import (add_topic, close_writer, create_writer, open_bag,
                                         read_messages, write_messages)
from liver_landmarks.ros.image_conversion import decode_compressed_frame, numpy_to_image_msg
import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness, QosReliability,
                                QosTime)
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header, String

pytestmark = pytest.mark.dds

START_NS = 1_750_000_000 * 10**9
PERIOD_NS = 10**8  # 10 Hz
FRAMES = 11        # 1.0 s of bag time


@pytest.fixture(scope='module')
def recorded(tmp_path_factory):
    """Build a bag: 11 frames at 10 Hz, a String topic and a topic of an unknown type."""
    path = tmp_path_factory.mktemp('replay') / 'bag'
    writer = create_writer(path, 'mcap')
    try:
        images = add_topic(writer, '/camera/image', 'sensor_msgs/msg/Image')
        chatter = add_topic(writer, '/chatter', 'std_msgs/msg/String')
        unknown = writer.add_connection('/weird', 'no_such_pkg/msg/Weird', msgdef='int32 x',
                                        rihs01='RIHS01_' + '0' * 64)
        for index in range(FRAMES):
            stamp_ns = START_NS + index * PERIOD_NS
            header = Header(frame_id='camera')
            header.stamp.sec, header.stamp.nanosec = divmod(stamp_ns, 10**9)
            pixels = np.full((24, 32, 3), index * 20, np.uint8)
            writer.write(images, stamp_ns, serialize_message(
                numpy_to_image_msg(pixels, 'rgb8', header)))
            if index % 5 == 0:
                writer.write(chatter, stamp_ns + 1, serialize_message(String(data=str(index))))
                writer.write(unknown, stamp_ns + 2, b'\x00\x01\x00\x00\x07\x00\x00\x00')
    finally:
        close_writer(writer)
    reader = open_bag(path)
    try:
        raw = {}
        for message in read_messages(reader):
            raw.setdefault(message.topic, []).append(message.data)
    finally:
        reader.close()
    return path, raw


class Listener:
    """A node that keeps the raw bytes and arrival times of what the replay publishes."""

    def __init__(self, topics=('/camera/image', '/chatter'), use_sim_time=False):
        self.node = rclpy.create_node('replay_listener', parameter_overrides=[
            Parameter('use_sim_time', Parameter.Type.BOOL, use_sim_time)])
        self.arrivals = {topic: [] for topic in topics}
        self.clock = []
        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        for topic in topics:
            msg_type = Image if topic == '/camera/image' else String
            self.node.create_subscription(msg_type, topic, self._keep(topic), qos, raw=True)
        self.node.create_subscription(Clock, '/clock', self.clock.append, qos)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _keep(self, topic):
        return lambda data: self.arrivals[topic].append((time.monotonic(), data))

    def wait_for(self, topic, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while len(self.arrivals[topic]) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.arrivals[topic])

    def close(self):
        self.executor.shutdown()
        self.thread.join(5)
        self.node.destroy_node()


@pytest.fixture
def ros():
    rclpy.init()
    try:
        yield
    finally:
        rclpy.try_shutdown()


def _replay(path, options, stop_event=None):
    reader = open_bag(path)
    node = rclpy.create_node('bag_replay')
    try:
        replayer = BagReplayer(node, reader, options, stop_event=stop_event)
        try:
            return replayer.run()
        finally:
            replayer.destroy()
    finally:
        node.destroy_node()
        reader.close()


@pytest.mark.parametrize('rate', [1.0, 2.0])
def test_replay_keeps_recorded_pacing_bytes_and_clock(ros, recorded, rate):
    path, raw = recorded
    listener = Listener(use_sim_time=True)
    try:
        stats = _replay(path, ReplayOptions(rate=rate, wait_for_subscribers_s=10.0))
        assert listener.wait_for('/camera/image', FRAMES) == FRAMES
        listener.wait_for('/chatter', len(raw['/chatter']))
        last_bag_ns = START_NS + (FRAMES - 1) * PERIOD_NS + 1  # the last /chatter message
        deadline = time.monotonic() + 5
        while (listener.node.get_clock().now().nanoseconds != last_bag_ns
               and time.monotonic() < deadline):
            time.sleep(0.02)
        sim_now = listener.node.get_clock().now().nanoseconds
    finally:
        listener.close()
    assert stats.published == {'/camera/image': FRAMES, '/chatter': 3}
    assert stats.skipped_topics == {'/weird': 'its type no_such_pkg/msg/Weird is not installed'}
    images = listener.arrivals['/camera/image']
    assert [data for _, data in images] == raw['/camera/image']
    assert [data for _, data in listener.arrivals['/chatter']] == raw['/chatter']
    recorded_span = (FRAMES - 1) * PERIOD_NS / 1e9 / rate
    arrival_span = images[-1][0] - images[0][0]
    assert 0.7 * recorded_span <= arrival_span <= 1.3 * recorded_span
    clock_ns = [c.clock.sec * 10**9 + c.clock.nanosec for c in listener.clock]
    assert len(clock_ns) > FRAMES and clock_ns == sorted(clock_ns)
    assert START_NS <= clock_ns[0] and clock_ns[-1] == last_bag_ns
    assert sim_now == last_bag_ns  # a use_sim_time node runs on the bag's time


def test_start_offset_and_topic_selection(ros, recorded):
    path, raw = recorded
    listener = Listener(topics=('/camera/image',))
    try:
        options = ReplayOptions(rate=4.0, topics=('/camera/image',), start_offset_s=0.55,
                                publish_clock=False, wait_for_subscribers_s=10.0)
        stats = _replay(path, options)
        listener.wait_for('/camera/image', 5)
        time.sleep(0.2)
    finally:
        listener.close()
    assert stats.published == {'/camera/image': 5} and stats.clock_messages == 0
    assert [data for _, data in listener.arrivals['/camera/image']] == raw['/camera/image'][6:]
    assert listener.clock == []


def test_loop_repeats_until_stopped(ros, recorded):
    path, raw = recorded
    listener = Listener(topics=('/camera/image',))
    stop = threading.Event()
    result = {}
    options = ReplayOptions(rate=5.0, loop=True, topics=('/camera/image',),
                            wait_for_subscribers_s=10.0)
    replay = threading.Thread(target=lambda: result.update(stats=_replay(path, options, stop)))
    replay.start()
    try:
        assert listener.wait_for('/camera/image', 2 * FRAMES + 1, timeout=20) >= 2 * FRAMES + 1
    finally:
        stop.set()
        replay.join(10)
        listener.close()
    stats = result['stats']
    assert stats.interrupted and stats.loops >= 2
    data = [data for _, data in listener.arrivals['/camera/image']]
    assert data[:2 * FRAMES] == raw['/camera/image'] * 2


def test_options_are_checked():
    for bad, flag in [({'rate': 0}, '--rate'), ({'start_offset_s': -1}, '--start-offset'),
                      ({'clock_hz': 0}, '--clock-hz'), ({'reliability': 'x'}, '--reliability'),
                      ({'min_subscribers': 0}, '--min-subscribers'), ({'delay_s': -1}, '--delay')]:
        with pytest.raises(ValueError, match=flag):
            ReplayOptions(**bad)


def test_command_line_replay_stops_on_ctrl_c(ros, recorded):
    path, _ = recorded
    listener = Listener(topics=('/camera/image',))
    process = subprocess.Popen(
        [sys.executable, '-m', 'liver_landmarks', 'bag', 'replay', str(path), '--loop',
         '--no-progress', '--topics', '/camera/image', '--rate', '3'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert listener.wait_for('/camera/image', 3, timeout=60) >= 3, process.stderr.read()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        listener.close()
    assert process.returncode == 130, stderr
    assert 'published' in stdout and '(interrupted)' in stdout
    assert 'Traceback' not in stderr


SAMPLES = Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'rosbag2_samples'
BEST_EFFORT_LATCHED = Qos(QosHistory.KEEP_LAST, 1, QosReliability.BEST_EFFORT,
                          QosDurability.TRANSIENT_LOCAL, QosTime(0, 0), QosTime(0, 0),
                          QosLiveliness.AUTOMATIC, QosTime(0, 0), False)


def _connections(bag, topic):
    reader = open_bag(bag)
    try:
        return [c for c in reader.connections if c.topic == topic]
    finally:
        reader.close()


def _sample(name):
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f'shared sample bag not found at {path}')
    return path


@pytest.mark.parametrize('bag, topic, reliability, durability, lifespan_s', [
    ('foxy_talker_sqlite3/talker', '/topic', 'RELIABLE', 'VOLATILE', None),
    ('foxy_talker_sqlite3/talker', '/rosout', 'RELIABLE', 'TRANSIENT_LOCAL', 10),
    ('humble_mcap_base_msgs/base_msgs', '/one_shot/string', 'RELIABLE', 'TRANSIENT_LOCAL',
     None),
])
def test_recorded_qos_of_real_foxy_and_humble_bags(bag, topic, reliability, durability,
                                                   lifespan_s):
    profile, how = recorded_qos(topic, _connections(_sample(bag), topic))
    assert how == 'as recorded'
    assert (profile.reliability.name, profile.durability.name) == (reliability, durability)
    assert profile.history == HistoryPolicy.KEEP_LAST and profile.depth == 10
    infinite = 2**63 - 1     # Foxy's Fast DDS wrote 2147483647 s + 4294967295 ns for it
    assert profile.deadline.nanoseconds == infinite
    assert profile.lifespan.nanoseconds == (infinite if lifespan_s is None
                                            else lifespan_s * 10**9)


def test_recorded_qos_round_trips_through_the_newest_metadata_and_falls_back(tmp_path):
    writer = create_writer(tmp_path / 'bag', 'sqlite3')   # metadata v9: policies as words
    try:
        add_topic(writer, '/latched', 'std_msgs/msg/String', offered_qos=[BEST_EFFORT_LATCHED])
        add_topic(writer, '/mixed', 'std_msgs/msg/String',
                  offered_qos=[BEST_EFFORT_LATCHED,
                               BEST_EFFORT_LATCHED._replace(reliability=QosReliability.RELIABLE)])
        add_topic(writer, '/unrecorded', 'std_msgs/msg/String')
    finally:
        close_writer(writer)
    assert 'reliability: best_effort' in (tmp_path / 'bag' / 'metadata.yaml').read_text()
    latched, how = recorded_qos('/latched', _connections(tmp_path / 'bag', '/latched'))
    assert how == 'as recorded' and latched.reliability == ReliabilityPolicy.BEST_EFFORT
    assert latched.durability == DurabilityPolicy.TRANSIENT_LOCAL and latched.depth == 10
    for topic, why in [('/mixed', 'offered different QoS'), ('/unrecorded', 'records no QoS')]:
        profile, how = recorded_qos(topic, _connections(tmp_path / 'bag', topic))
        assert why in how and profile.reliability == ReliabilityPolicy.RELIABLE
        assert profile.durability == DurabilityPolicy.VOLATILE


def test_replay_offers_each_topic_its_recorded_qos(ros, tmp_path):
    writer = create_writer(tmp_path / 'bag', 'mcap')
    try:
        images = add_topic(writer, '/camera/image', 'sensor_msgs/msg/Image',
                           offered_qos=[BEST_EFFORT_LATCHED])
        chatter = add_topic(writer, '/chatter', 'std_msgs/msg/String')
        for index in range(3):
            writer.write(images, START_NS + index * PERIOD_NS, serialize_message(
                numpy_to_image_msg(np.zeros((4, 4, 3), np.uint8), 'rgb8')))
            writer.write(chatter, START_NS + index * PERIOD_NS, serialize_message(String()))
    finally:
        close_writer(writer)
    reader = open_bag(tmp_path / 'bag')
    node = rclpy.create_node('bag_replay')
    try:
        replayer = BagReplayer(node, reader, ReplayOptions(publish_clock=False))
        offered = {topic: node.get_publishers_info_by_topic(topic)[0].qos_profile
                   for topic in ('/camera/image', '/chatter')}
        overridden = BagReplayer(node, reader, ReplayOptions(publish_clock=False,
                                                             reliability='reliable'))
        stats = (replayer.stats.qos, overridden.stats.qos)
        replayer.destroy()
        overridden.destroy()
    finally:
        node.destroy_node()
        reader.close()
    assert offered['/camera/image'].reliability == ReliabilityPolicy.BEST_EFFORT
    assert offered['/camera/image'].durability == DurabilityPolicy.TRANSIENT_LOCAL
    assert offered['/chatter'].reliability == ReliabilityPolicy.RELIABLE
    assert offered['/chatter'].durability == DurabilityPolicy.VOLATILE
    assert stats[0]['/camera/image'] == 'best_effort, transient_local, depth 10 (as recorded)'
    assert stats[1]['/camera/image'].startswith('reliable, transient_local, depth 10')


def test_replay_of_a_real_foxy_bag_publishes_with_its_qos(ros):
    bag = _sample('foxy_talker_sqlite3/talker')
    listener = Listener(topics=('/topic',))
    try:
        stats = _replay(bag, ReplayOptions(rate=20.0, topics=('/topic',),
                                           wait_for_subscribers_s=10.0))
        listener.wait_for('/topic', 10)
    finally:
        listener.close()
    assert stats.published == {'/topic': 10} and stats.undecodable == 0
    assert [deserialize_message(data, String).data for _, data in listener.arrivals['/topic']
            ] == [f'Hello, world! {i}' for i in range(10)]


def test_bad_topic_names_and_undecodable_messages_are_reported_not_raised(ros, tmp_path):
    writer = create_writer(tmp_path / 'bag', 'mcap')
    messages = [serialize_message(String(data=str(index))) for index in range(5)]
    try:
        chatter = add_topic(writer, '/chatter', 'std_msgs/msg/String')
        bad_name = add_topic(writer, '/camera image', 'std_msgs/msg/String')
        for index, data in enumerate(messages):
            damaged = index in (1, 3)
            writer.write(chatter, START_NS + index * PERIOD_NS,
                         b'\x00\x01\x00\x00\xff\xff\xff\x7f' if damaged else data)
            writer.write(bad_name, START_NS + index * PERIOD_NS + 1, data)
    finally:
        close_writer(writer)
    command = [sys.executable, '-m', 'liver_landmarks', 'bag', 'replay', str(tmp_path / 'bag'),
               '--no-progress', '--no-clock', '--rate', '10']
    refused = subprocess.run(command + ['--topics', '/chatter', 'not a topic'],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and 'Traceback' not in refused.stderr
    assert refused.stderr.startswith(
        "error: --topics: 'not a topic' is not a valid ROS topic name")
    listener = Listener(topics=('/chatter',))
    try:
        done = subprocess.run(command + ['--wait-for-subscribers', '10'], capture_output=True,
                              text=True, timeout=120)
        listener.wait_for('/chatter', 3)
        time.sleep(0.3)
    finally:
        listener.close()
    assert done.returncode == 3, done.stderr
    assert 'skipping /camera image: not a valid ROS topic name' in done.stderr
    assert 'not published: 2 messages that do not deserialize' in done.stdout
    assert 'message #1 (/chatter)' in done.stdout and 'Traceback' not in done.stderr
    received = [deserialize_message(data, String).data
                for _, data in listener.arrivals['/chatter']]
    assert received == ['0', '2', '4']


def test_replay_publishes_compressed_images(ros, tmp_path):
    pixels = np.zeros((48, 64, 3), np.uint8)
    pixels[:, 32:] = (30, 90, 200)
    jpegs = [CompressedImage(format='bgr8; jpeg compressed bgr8',
                             data=cv2.imencode('.jpg', np.roll(pixels, index, axis=1))[1]
                             .tobytes()) for index in range(4)]
    bag = write_messages(tmp_path / 'bag', [('/camera/image/compressed',
                                             START_NS + index * PERIOD_NS, jpeg)
                                            for index, jpeg in enumerate(jpegs)])
    listener = Listener(topics=())
    received = []
    listener.node.create_subscription(CompressedImage, '/camera/image/compressed',
                                      received.append, 10)
    try:
        stats = _replay(bag, ReplayOptions(rate=10.0, publish_clock=False,
                                           wait_for_subscribers_s=10.0))
        deadline = time.monotonic() + 5
        while len(received) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        listener.close()
    assert stats.published == {'/camera/image/compressed': 4} and stats.undecodable == 0
    assert [bytes(message.data) for message in received] == [bytes(j.data) for j in jpegs]
    frame, order = decode_compressed_frame(received[0].format, received[0].data)
    assert frame.shape == (48, 64, 3) and order == 'bgr'

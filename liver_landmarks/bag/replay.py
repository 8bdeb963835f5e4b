# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Publish a recorded rosbag2 through rclpy at its recorded timing, with ``/clock``.

Messages go out as the raw serialized bytes read from the bag (rclpy publishers accept
``bytes`` and hand them to the middleware as they are), so a replayed message is
byte-for-byte what was recorded. Each message is deserialized first only to check it:
one that does not deserialize is not published but counted and named in a warning.
Each topic is offered with the QoS its recorded publishers offered, as ``ros2 bag
play`` does. ``/clock`` carries the bag's log time, so nodes started with
``use_sim_time:=true`` see the recording's time.

DDS settings (discovery range, Fast DDS profile) are the caller's: the environment
the replay is started in, as for any ROS 2 process.
"""

from dataclasses import dataclass, field
import threading
import time

from liver_landmarks.bag.storage import (deserialize, invalid_topic_names, message_class,
                                         read_messages, topic_counts, UndecodableMessage)
from rclpy.duration import Duration
from rclpy.qos import (DurabilityPolicy, LivelinessPolicy, QoSProfile,
                       ReliabilityPolicy)

CLOCK_TOPIC = '/clock'
#: How long the end of a replay waits for reliable subscribers to acknowledge the last data.
ACK_TIMEOUT_S = 2.0
#: History depth of every replayed topic, as ros2 bag play (the recorded depth is the
#: recorder's, which says nothing about the original publishers).
DEFAULT_DEPTH = 10
#: Undecodable messages named one by one in warnings; the rest are only counted.
NAMED_UNDECODABLE = 5
_INFINITE_NS = 2**63 - 1
#: How Foxy-era recorders wrote an infinite duration: Fast DDS's, Cyclone DDS's and
#: Connext's own values, from before rmw had RMW_DURATION_INFINITE.
_FOXY_INFINITE = {(0x7FFFFFFF, 0xFFFFFFFF), (9223372036, 854775807), (0x7FFFFFFF, 0x7FFFFFFF)}


def _duration(recorded) -> Duration:
    """Return a recorded QoS duration, mapping the infinities old recorders wrote."""
    if (recorded.sec, recorded.nsec) in _FOXY_INFINITE:
        return Duration(nanoseconds=_INFINITE_NS)
    return Duration(nanoseconds=min(recorded.sec * 1_000_000_000 + recorded.nsec, _INFINITE_NS))


def _policy(policy_class, recorded):
    """Return the rclpy policy of the same name as a recorded one; system default if none."""
    return getattr(policy_class, recorded.name, policy_class.SYSTEM_DEFAULT)


def recorded_qos(topic: str, connections, depth: int = DEFAULT_DEPTH) -> tuple[QoSProfile, str]:
    """Return the QoS to offer on ``topic`` and how it was chosen, as ros2 bag play does.

    When every recorded publisher offered the same compatibility-relevant policies
    (reliability, durability, deadline, liveliness and its lease), that offer is
    replayed with a keep-last history of ``depth``; with no recorded offers, or
    offers that differ, the default (reliable, volatile) is used and the note says why.
    """
    offers = [qos for connection in connections
              for qos in getattr(connection.ext, 'offered_qos_profiles', None) or []]
    if not offers:
        return QoSProfile(depth=depth), 'default: the bag records no QoS for it'
    key = [(qos.reliability, qos.durability, _duration(qos.deadline).nanoseconds,
            qos.liveliness, _duration(qos.liveliness_lease_duration).nanoseconds)
           for qos in offers]
    if len(set(key)) > 1:
        return QoSProfile(depth=depth), (
            f'default: its {len(offers)} recorded publishers offered different QoS')
    first = offers[0]
    profile = QoSProfile(
        depth=depth, reliability=_policy(ReliabilityPolicy, first.reliability),
        durability=_policy(DurabilityPolicy, first.durability),
        deadline=_duration(first.deadline), lifespan=_duration(first.lifespan),
        liveliness=_policy(LivelinessPolicy, first.liveliness),
        liveliness_lease_duration=_duration(first.liveliness_lease_duration))
    return profile, 'as recorded'


def describe_qos(profile: QoSProfile) -> str:
    """Return e.g. ``reliable, volatile, depth 10``."""
    return (f'{profile.reliability.name.lower()}, {profile.durability.name.lower()}, '
            f'depth {profile.depth}')


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay a bag; the command line maps one flag to each field."""

    rate: float = 1.0                  # 2.0 plays twice as fast as recorded
    loop: bool = False
    topics: tuple[str, ...] | None = None  # None: every topic whose type is installed
    start_offset_s: float = 0.0        # skip this much of the bag's beginning
    publish_clock: bool = True
    clock_hz: float = 40.0             # /clock rate between messages (ros2 bag play's default)
    reliability: str | None = None     # None: as recorded; else overrides every topic's
    queue_depth: int = DEFAULT_DEPTH
    wait_for_subscribers_s: float = 0.0  # wait up to this long for every topic to be heard
    min_subscribers: int = 1           # ... by at least this many subscribers
    delay_s: float = 0.0               # pause after the wait, before the first message

    def __post_init__(self):
        """Refuse values that cannot be replayed, saying which flag to fix."""
        if not self.rate > 0:
            raise ValueError(f'--rate must be above 0, not {self.rate}')
        if self.start_offset_s < 0:
            raise ValueError(f'--start-offset must be 0 or more, not {self.start_offset_s}')
        if not self.clock_hz > 0:
            raise ValueError(f'--clock-hz must be above 0, not {self.clock_hz}')
        if self.min_subscribers < 1:
            raise ValueError(f'--min-subscribers must be 1 or more, not {self.min_subscribers}')
        if self.delay_s < 0:
            raise ValueError(f'--delay must be 0 or more, not {self.delay_s}')
        invalid = invalid_topic_names(self.topics or ())
        if invalid:
            raise ValueError('--topics: ' + '; '.join(f'{name!r} is not a valid ROS topic name '
                                                      f'({why})'
                                                      for name, why in invalid.items()))
        if self.reliability not in (None, 'reliable', 'best_effort'):
            raise ValueError(f'--reliability must be reliable or best_effort, '
                             f'not {self.reliability!r}')


@dataclass
class ReplayStats:
    """What a replay published."""

    published: dict[str, int] = field(default_factory=dict)  # topic -> messages
    skipped_topics: dict[str, str] = field(default_factory=dict)  # topic -> why
    qos: dict[str, str] = field(default_factory=dict)  # topic -> offered QoS and why
    undecodable: int = 0               # messages not published: they do not deserialize
    first_undecodable: list[str] = field(default_factory=list)
    clock_messages: int = 0
    loops: int = 0
    wall_s: float = 0.0
    bag_s: float = 0.0                 # span of bag time replayed
    interrupted: bool = False

    @property
    def total(self) -> int:
        """Messages published, /clock not counted."""
        return sum(self.published.values())


class BagReplayer:
    """Publish one opened bag on a node; :meth:`run` blocks until done or stopped."""

    def __init__(self, node, reader, options: ReplayOptions = ReplayOptions(),
                 stop_event: threading.Event | None = None, progress=None):
        self.node = node
        self.reader = reader
        self.options = options
        self.stop_event = stop_event or threading.Event()
        self.progress = progress
        self.stats = ReplayStats()
        self.publishers = self._create_publishers()
        self.clock_publisher = None
        if options.publish_clock:
            from rosgraph_msgs.msg import Clock

            self._clock_class = Clock
            self.clock_publisher = node.create_publisher(
                Clock, CLOCK_TOPIC, QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))

    def _create_publishers(self) -> dict:
        counts = topic_counts(self.reader)
        wanted = self.options.topics
        if wanted is not None:
            for topic in sorted(set(wanted) - set(counts)):
                self.stats.skipped_topics[topic] = 'not in the bag'
        invalid = invalid_topic_names(counts)
        publishers = {}
        self.message_classes = {}
        for topic, (type_name, _) in counts.items():
            if wanted is not None and topic not in wanted:
                continue
            if topic == CLOCK_TOPIC and self.options.publish_clock:
                self.stats.skipped_topics[topic] = 'replaced by the replay clock'
                continue
            cls = message_class(type_name)
            reason = (f'not a valid ROS topic name ({invalid[topic]})' if topic in invalid
                      else f'its type {type_name} is not installed' if cls is None else None)
            if reason is not None:
                self.stats.skipped_topics[topic] = reason
                self.node.get_logger().warning(f'skipping {topic}: {reason}')
                continue
            qos, how = recorded_qos(topic, [c for c in self.reader.connections
                                            if c.topic == topic], self.options.queue_depth)
            if how.startswith('default: its'):
                self.node.get_logger().warning(f'{topic}: {how}; offering the default')
            if self.options.reliability is not None:
                qos.reliability = (ReliabilityPolicy.RELIABLE
                                   if self.options.reliability == 'reliable'
                                   else ReliabilityPolicy.BEST_EFFORT)
                how += f'; reliability {self.options.reliability} from --reliability'
            self.stats.qos[topic] = f'{describe_qos(qos)} ({how})'
            publishers[topic] = self.node.create_publisher(cls, topic, qos)
            self.message_classes[topic] = cls
        return publishers

    def message_total(self) -> int:
        """Messages one pass publishes (from the bag's index, before any start offset)."""
        counts = topic_counts(self.reader)
        return sum(counts[topic][1] for topic in self.publishers)

    def _unheard_topics(self) -> list[str]:
        return [topic for topic, publisher in self.publishers.items()
                if publisher.get_subscription_count() < self.options.min_subscribers]

    def wait_for_subscribers(self) -> bool:
        """Wait until every replayed topic has enough subscribers, up to the configured time."""
        deadline = time.monotonic() + self.options.wait_for_subscribers_s
        while not self.stop_event.is_set():
            if not self._unheard_topics():
                return True
            if time.monotonic() >= deadline:
                return False
            self.stop_event.wait(0.05)
        return False

    def run(self) -> ReplayStats:
        """Wait for subscribers as configured, then :meth:`play`."""
        self.prepare()
        return self.play()

    def prepare(self):
        """Wait for subscribers and pause, as the options say; return at once when stopped."""
        if self.options.wait_for_subscribers_s > 0 and not self.wait_for_subscribers():
            if not self.stop_event.is_set():
                self.node.get_logger().warning(
                    f'fewer than {self.options.min_subscribers} subscribers after '
                    f'{self.options.wait_for_subscribers_s:.1f} s on '
                    f'{", ".join(self._unheard_topics())}; replaying anyway')
        if self.options.delay_s > 0:
            self.stop_event.wait(self.options.delay_s)

    def play(self) -> ReplayStats:
        """Replay once, or until stopped with ``loop``; return what was published."""
        started = time.monotonic()
        while not self.stop_event.is_set():
            self._play_once()
            self.stats.loops += 1
            if not self.options.loop or not self.publishers:
                break
        self.stats.interrupted = self.stop_event.is_set()
        # A process that exits right after its last publish can take that message with it
        # (the last /clock too: a use_sim_time node must end on the bag's last time).
        for publisher in [*self.publishers.values(), self.clock_publisher]:
            if publisher is not None:
                publisher.wait_for_all_acked(Duration(seconds=ACK_TIMEOUT_S))
        self.stats.wall_s = time.monotonic() - started
        return self.stats

    def _play_once(self):
        start_ns = None
        if self.options.start_offset_s > 0:
            start_ns = self.reader.start_time + int(self.options.start_offset_s * 1e9)
        bag_origin = None
        wall_origin = None
        last_ns = None
        for message in read_messages(self.reader, self.publishers, start_ns):
            if bag_origin is None:
                bag_origin, wall_origin = message.log_time_ns, time.monotonic()
            due = wall_origin + (message.log_time_ns - bag_origin) / 1e9 / self.options.rate
            if not self._wait_until(due, bag_origin, wall_origin):
                break
            self._publish_clock(message.log_time_ns)
            if self._decodes(message):
                self.publishers[message.topic].publish(message.data)
                self.stats.published[message.topic] = (
                    self.stats.published.get(message.topic, 0) + 1)
            last_ns = message.log_time_ns
            if self.progress is not None:
                self.progress.update(1)
        if last_ns is not None:
            self.stats.bag_s += (last_ns - bag_origin) / 1e9

    def _decodes(self, message) -> bool:
        """Check that a message deserializes; count, name and warn about one that does not."""
        try:
            deserialize(message, self.message_classes[message.topic])
        except UndecodableMessage as error:
            self.stats.undecodable += 1
            if len(self.stats.first_undecodable) < NAMED_UNDECODABLE:
                self.stats.first_undecodable.append(str(error))
                self.node.get_logger().warning(f'not published: {error}')
            elif self.stats.undecodable == NAMED_UNDECODABLE + 1:
                self.node.get_logger().warning(
                    'more messages do not deserialize; they are counted in the summary')
            return False
        return True

    def _wait_until(self, due: float, bag_origin: int, wall_origin: float) -> bool:
        """Sleep until ``due`` (monotonic), ticking /clock; False when stopped."""
        tick = 1.0 / self.options.clock_hz
        while True:
            if self.stop_event.is_set():
                return False
            remaining = due - time.monotonic()
            if remaining <= 0:
                return True
            self.stop_event.wait(min(remaining, tick))
            if self.clock_publisher is not None and due - time.monotonic() > 0:
                elapsed = (time.monotonic() - wall_origin) * self.options.rate
                self._publish_clock(bag_origin + int(elapsed * 1e9))

    def _publish_clock(self, bag_time_ns: int):
        if self.clock_publisher is None:
            return
        clock = self._clock_class()
        clock.clock.sec, clock.clock.nanosec = divmod(int(bag_time_ns), 1_000_000_000)
        self.clock_publisher.publish(clock)
        self.stats.clock_messages += 1

    def destroy(self):
        """Remove this replayer's publishers from the node."""
        for publisher in [*self.publishers.values(), self.clock_publisher]:
            if publisher is not None:
                self.node.destroy_publisher(publisher)
        self.publishers = {}
        self.clock_publisher = None

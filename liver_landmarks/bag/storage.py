# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Reading and writing rosbag2 files for the bag tools, with errors that say what broke.

Reading goes through ``rosbags`` (mcap and sqlite3, zstd file or message compression,
metadata versions 4 to 9), writing through its ``Writer`` with raw CDR bytes, so a bag
written here opens in ``ros2 bag`` and in ``rosbags`` alike. Every failure to read is
raised as :class:`BagReadError`, whose message names the file and the last message that
was read intact, so a user with a truncated recording knows what is left of it.
"""

from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
import datetime
import importlib
from io import BytesIO
import os
from pathlib import Path
import shutil
import sqlite3
import struct
import tempfile
from typing import Iterable, Iterator

from rosbags.rosbag2 import Reader, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode, StoragePlugin
from rosbags.typesys import get_typestore, Stores

try:
    from compression import zstd
except ImportError:  # Python < 3.14: the backport rosbags depends on
    from backports import zstd

IMAGE_TYPE = 'sensor_msgs/msg/Image'
COMPRESSED_IMAGE_TYPE = 'sensor_msgs/msg/CompressedImage'
#: The message types the bag tools take camera frames from, as the node does.
FRAME_TYPES = (IMAGE_TYPE, COMPRESSED_IMAGE_TYPE)
CLOCK_TYPE = 'rosgraph_msgs/msg/Clock'
STORAGES = ('mcap', 'sqlite3')
#: Message definitions for topics this package writes: the distro the rclpy wheels are from.
_TYPESTORE_DISTRO = Stores.ROS2_KILTED
_MCAP_MAGIC = b'\x89MCAP0\r\n'
#: Bytes set aside inside a bag being written and freed to finish it when the disk fills:
#: room for the mcap summary (chunk indexes) or the sqlite3 journal, and metadata.yaml.
SPACE_RESERVE_BYTES = 4 << 20
RESERVE_FILE = '.space_reserve'


class BagReadError(Exception):
    """A bag that cannot be read, or can be read only up to some message."""


class BagWriteError(Exception):
    """Writing a bag failed; the message names the file, the cause and what the bag holds."""


class UndecodableMessage(Exception):
    """A message whose bytes do not deserialize as its topic's type; names where it is."""


@dataclass(frozen=True)
class BagMessage:
    """One raw message as read from a bag, with its position in the read order."""

    index: int          # 0-based, counting every message read, of any topic
    topic: str
    msgtype: str
    log_time_ns: int    # the time the recorder received it, as stored in the bag
    data: bytes         # serialized CDR, exactly as stored (after decompression)
    connection: object  # the rosbags Connection, for copying the topic into another bag


@dataclass(frozen=True)
class MessagePosition:
    """Where a message sits in a bag: enough to tell a user what was read intact."""

    index: int
    topic: str
    log_time_ns: int

    def describe(self) -> str:
        """Return e.g. ``message #41 (/camera/image) at log time 12.300000000 s (1970-...)``."""
        seconds = self.log_time_ns / 1e9
        when = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        return (f'message #{self.index} ({self.topic}) at log time '
                f'{self.log_time_ns // 1_000_000_000}.{self.log_time_ns % 1_000_000_000:09d} s '
                f'({when.isoformat(timespec="milliseconds")})')


def describe_last_good(position) -> str:
    """Say which message was the last one read intact, or that none was."""
    if position is None:
        return 'no message could be read before it'
    return f'the last good message was {position.describe()}'


def open_bag(path) -> Reader:
    """Open a rosbag2 directory (or a single .mcap/.db3 file) for reading.

    Raises :class:`BagReadError` naming the file and what is wrong with it.
    """
    path = Path(path)
    if not path.exists():
        raise BagReadError(f'{path}: no such bag directory or file')
    if path.is_dir() and not (path / 'metadata.yaml').is_file():
        storage_files = sorted(p.name for p in path.iterdir() if p.is_file())
        raise BagReadError(
            f'{path}: no metadata.yaml in the bag directory (files: '
            f'{", ".join(storage_files) or "none"}); if the recording was cut off, '
            f'rebuild it with `ros2 bag reindex {path}`, or open one storage file directly')
    reader = Reader(path)
    try:
        reader.open()
    except Exception as error:  # noqa: BLE001 - any failure here means an unreadable bag
        storage = _guess_storage_file(path)
        last_good = _scan_last_good(storage) if storage is not None else None
        raise BagReadError(
            f'{storage or path}: cannot open the bag: {_reason(error)}; '
            f'{describe_last_good(last_good)}') from error
    return reader


def read_messages(reader: Reader, topics: Iterable[str] | None = None,
                  start_ns: int | None = None) -> Iterator[BagMessage]:
    """Yield the bag's messages in recorded order, optionally only some topics.

    ``index`` counts every message of the selected topics from the start of the bag
    (or from ``start_ns``). A failure part way raises :class:`BagReadError` naming
    the storage file and the last message read intact.
    """
    wanted = None if topics is None else set(topics)
    connections = [c for c in reader.connections if wanted is None or c.topic in wanted]
    if not connections:
        return
    iterator = reader.messages(connections=connections, start=start_ns)
    last_good = None
    index = 0
    while True:
        try:
            connection, log_time_ns, data = next(iterator)
        except StopIteration:
            return
        except Exception as error:  # noqa: BLE001 - any failure while reading is corruption
            raise BagReadError(
                f'{_storage_description(reader)}: the bag is corrupt or truncated after '
                f'{index} good messages: {_reason(error)}; {describe_last_good(last_good)}'
            ) from error
        message = BagMessage(index, connection.topic, connection.msgtype, log_time_ns,
                             bytes(data), connection)
        last_good = MessagePosition(index, connection.topic, log_time_ns)
        index += 1
        yield message


def deserialize(message: BagMessage, message_type):
    """Return ``message`` deserialized as ``message_type`` (an rclpy message class).

    Raises :class:`UndecodableMessage` naming the message's index, topic and log time.
    """
    from rclpy.serialization import deserialize_message

    try:
        return deserialize_message(message.data, message_type)
    except Exception as error:  # noqa: BLE001 - any failure means the bytes are damaged
        where = MessagePosition(message.index, message.topic, message.log_time_ns)
        raise UndecodableMessage(
            f'{where.describe()} does not deserialize as {message.msgtype} '
            f'({len(message.data)} bytes): {_reason(error)}') from None


@dataclass
class CheckReport:
    """What reading and deserializing a whole bag found."""

    read: int = 0
    undecodable: int = 0
    first_undecodable: list[str] = field(default_factory=list)  # the first few, named
    not_checked: dict[str, str] = field(default_factory=dict)  # topic -> why only read

    def describe(self) -> str:
        """Return the ``bag info --check`` verdict."""
        if not self.undecodable:
            text = f'read all {self.read} messages intact'
        else:
            text = (f'{self.undecodable} of {self.read} messages do not deserialize or decode: '
                    + '; '.join(self.first_undecodable)
                    + ('; ...' if self.undecodable > len(self.first_undecodable) else ''))
        for topic, why in sorted(self.not_checked.items()):
            text += f'\n             {topic}: read, not deserialized ({why})'
        return text


def check_messages(reader: Reader, named: int = 5, check_content=None) -> CheckReport:
    """Read every message and deserialize each one whose type is installed.

    ``check_content(type name, message)``, if given, returns why a deserialized message's
    content is unusable (a corrupt JPEG in a CompressedImage), or None; such messages
    are counted with the undecodable ones.
    """
    report = CheckReport()
    classes = {}
    for message in read_messages(reader):
        report.read += 1
        if message.msgtype not in classes:
            classes[message.msgtype] = message_class(message.msgtype)
        message_type = classes[message.msgtype]
        if message_type is None:
            report.not_checked[message.topic] = f'type {message.msgtype} is not installed'
            continue
        try:
            decoded = deserialize(message, message_type)
            problem = None if check_content is None else check_content(
                normalise_type_name(message.msgtype), decoded)
            if problem is not None:
                where = MessagePosition(message.index, message.topic, message.log_time_ns)
                raise UndecodableMessage(f'{where.describe()}: {problem}')
        except UndecodableMessage as error:
            report.undecodable += 1
            if len(report.first_undecodable) < named:
                report.first_undecodable.append(str(error))
    return report


def messages_by_topic(path, topics: Iterable[str] | None = None) -> dict[str, list]:
    """Open a bag, read it whole (or only ``topics``) and return topic -> messages in order.

    For bags that fit in memory: reports, tests and small tools.
    """
    reader = open_bag(path)
    try:
        found = {}
        for message in read_messages(reader, topics):
            found.setdefault(message.topic, []).append(message)
        return found
    finally:
        reader.close()


def storage_files(reader: Reader) -> list[Path]:
    """Return the storage files of an open bag as they are on disk (compressed or not)."""
    storage = reader.storage
    inner = getattr(storage, 'storages', None)
    if inner is None:
        return [Path(storage.path)]
    files = []
    for each in inner:
        path = Path(each.path)
        if path.parent != Path(reader.path):  # a file-compressed split, unpacked to a temp dir
            path = Path(reader.path) / f'{path.name}.{reader.compression_format or "zstd"}'
        files.append(path)
    return files


def topic_counts(reader: Reader) -> dict[str, tuple[str, int]]:
    """Return topic name -> (type name, message count) as the bag's index says."""
    counts = {}
    for connection in reader.connections:
        msgtype, count = counts.get(connection.topic, (connection.msgtype, 0))
        counts[connection.topic] = (msgtype, count + connection.msgcount)
    return counts


def image_topics(reader: Reader) -> list[str]:
    """Return the names of the topics that hold camera frames (:data:`FRAME_TYPES`)."""
    return sorted({c.topic for c in reader.connections if normalise_type_name(c.msgtype)
                   in FRAME_TYPES})


def normalise_type_name(type_name: str) -> str:
    """Return ``pkg/msg/Name`` for ``pkg/msg/Name`` or the pre-Dashing ``pkg/Name``."""
    parts = type_name.split('/')
    if len(parts) == 2:
        return f'{parts[0]}/msg/{parts[1]}'
    return type_name


def message_class(type_name: str):
    """Return the rclpy message class for a type name, or None when it is not installed.

    The name comes from a bag, so only ``PKG.msg`` modules are imported, and only a
    generated ROS message class (one with type support) is returned.
    """
    parts = normalise_type_name(type_name).split('/')
    if len(parts) != 3 or parts[1] != 'msg' or not all(part.isidentifier() for part in parts):
        return None
    package, interface, name = parts
    try:
        module = importlib.import_module(f'{package}.{interface}')
    except ImportError:
        return None
    cls = getattr(module, name, None)
    if not isinstance(cls, type) or not hasattr(type(cls), '_TYPE_SUPPORT'):
        return None
    return cls


def invalid_topic_names(names) -> dict[str, str]:
    """Return name -> why, for each of ``names`` that is not a valid absolute ROS topic name."""
    from rclpy.validate_full_topic_name import validate_full_topic_name

    invalid = {}
    for name in names:
        try:
            validate_full_topic_name(name)
        except Exception as error:  # noqa: BLE001 - rclpy raises several kinds for bad names
            invalid[name] = str(error).splitlines()[0].rstrip(':')
    return invalid


def ros_type_name(msg_or_class) -> str:
    """Return ``pkg/msg/Name`` for an rclpy message or message class."""
    cls = msg_or_class if isinstance(msg_or_class, type) else type(msg_or_class)
    package = cls.__module__.split('.')[0]
    return f'{package}/msg/{cls.__name__}'


def create_writer(path, storage: str = 'mcap', compress: bool = False) -> Writer:
    """Create and open a new rosbag2 at ``path`` (which must not exist).

    ``compress`` uses zstd chunk compression in mcap, zstd per message in sqlite3;
    both are what ``ros2 bag record`` writes and ``ros2 bag play`` reads.
    """
    if storage not in STORAGES:
        raise ValueError(f'unknown storage {storage!r}: use one of {", ".join(STORAGES)}')
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    writer = Writer(Path(path), version=Writer.VERSION_LATEST, storage_plugin=plugin)
    if compress:
        mode = CompressionMode.STORAGE if storage == 'mcap' else CompressionMode.MESSAGE
        writer.set_compression(mode, CompressionFormat.ZSTD)
    writer.open()
    return writer


def close_writer(writer: Writer) -> None:
    """Finish a bag so that it opens with everything written so far; abort if that fails."""
    if writer.storage is None:
        return
    try:
        writer.close()
    except BaseException:
        with suppress(Exception):
            writer.abort()
        raise


def check_writable(path) -> None:
    """Raise :class:`BagWriteError` unless a file or folder can be created at ``path``.

    Checked before anything slow (loading a model) so that a read-only disk or a
    missing permission is reported at once, not after the work.
    """
    path = Path(path)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise BagWriteError(f'cannot create {path}: {folder} is not a folder')
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise BagWriteError(f'cannot create {path}: {folder} is not writable '
                            f'({error.strerror or error})') from None


class OutputBag:
    """A bag written in committed steps that stays readable when a write fails.

    Messages written since the last :meth:`commit` are pending; ``commit`` puts them on
    disk as a whole (an mcap chunk, an sqlite3 transaction). When a write or a commit
    fails (full disk, quota, I/O error) the pending messages are dropped, a space
    reserve made at the start is freed, the bag is finished with every committed
    message and its metadata.yaml, and :class:`BagWriteError` is raised.
    """

    def __init__(self, path, storage: str = 'mcap', compress: bool = False,
                 reserve_bytes: int = SPACE_RESERVE_BYTES):
        self.path = Path(path)
        self.writer = create_writer(self.path, storage, compress)
        self.committed_messages = 0
        self._pending = []          # connection ids of the messages since the last commit
        self._reserve = self.path / RESERVE_FILE
        self._mark_committed()
        try:
            with self._reserve.open('wb') as stream:
                stream.write(bytes(reserve_bytes))   # real blocks, not a hole
        except OSError as error:
            self._fail(error, 'cannot set aside space for finishing the bag')

    def add_topic(self, topic: str, type_name: str, like=None):
        """Add a topic (see :func:`add_topic`) and return its connection."""
        return add_topic(self.writer, topic, type_name, like)

    def write(self, connection, log_time_ns: int, data) -> None:
        """Write one message; it is on disk once :meth:`commit` returns."""
        try:
            self.writer.write(connection, int(log_time_ns), data)
        except (OSError, sqlite3.Error) as error:
            self._fail(error)
        self._pending.append(connection.id)

    def commit(self) -> None:
        """Put every message written since the last commit on disk, or none of them."""
        if not self._pending:
            return
        storage = self.writer.storage
        try:
            if hasattr(storage, 'close_chunk'):
                if storage.chunk.bio.tell():
                    storage.close_chunk()
                storage.bio.flush()
            else:
                storage.conn.commit()
        except (OSError, sqlite3.Error) as error:
            self._fail(error)
        self.committed_messages += len(self._pending)
        self._pending = []
        self._mark_committed()

    def close(self) -> None:
        """Finish the bag with every committed message; pending ones are dropped."""
        if self.writer.storage is None:
            return
        if self._pending:
            self._roll_back()
        self._reserve.unlink(missing_ok=True)
        try:
            close_writer(self.writer)
        except (OSError, sqlite3.Error) as error:
            raise BagWriteError(f'{self.path}: cannot finish the bag: '
                                f'{_reason(error)}') from None

    def _mark_committed(self):
        storage = self.writer.storage
        times = (self.writer.min_timestamp, self.writer.max_timestamp)
        if hasattr(storage, 'close_chunk'):
            self._committed = (storage.bio.tell(), len(storage.chunks), times,
                               (storage.message_start_time, storage.message_end_time))
        else:
            self._committed = (None, None, times, None)

    def _roll_back(self):
        """Forget the pending messages, in the file and in the writer's counts."""
        storage = self.writer.storage
        position, chunks, times, storage_times = self._committed
        if hasattr(storage, 'close_chunk'):
            with suppress(OSError):
                storage.bio.close()          # its buffer may still not fit
            if not storage.bio.closed:
                storage.bio.raw.close()
            os.truncate(storage.path, position)
            storage.bio = storage.path.open('r+b')
            storage.bio.seek(position)
            del storage.chunks[chunks:]
            storage.chunk = type(storage.chunk)(2**63 - 1, 0, BytesIO(), defaultdict(list))
            storage.message_start_time, storage.message_end_time = storage_times
        else:
            storage.conn.rollback()
        for connection_id in self._pending:
            self.writer.counts[connection_id] -= 1
        if hasattr(storage, 'channel_stats'):
            # A message whose write failed part way was counted by the storage only.
            storage.channel_stats.update({connection_id: self.writer.counts[connection_id]
                                          for connection_id in storage.channel_stats})
        self.writer.min_timestamp, self.writer.max_timestamp = times
        self._pending = []

    def _fail(self, error: BaseException, what: str = 'cannot write'):
        dropped = len(self._pending)
        try:
            self.close()
        except BagWriteError as closing:
            raise BagWriteError(f'{self.path}: {what}: {_reason(error)}; then {closing}') \
                from None
        raise BagWriteError(
            f'{self.path}: {what}: {_reason(error)}; the bag was closed with the '
            f'{self.committed_messages} messages written before'
            + (f' ({dropped} unfinished ones dropped)' if dropped else '')) from None


def write_messages(path, messages, storage: str = 'mcap', compress: bool = False) -> Path:
    """Write ``(topic, log_time_ns, rclpy message)`` triples, in order, into a new bag."""
    from rclpy.serialization import serialize_message

    writer = create_writer(path, storage, compress)
    try:
        connections = {}
        for topic, log_time_ns, message in messages:
            if topic not in connections:
                connections[topic] = add_topic(writer, topic, ros_type_name(message))
            writer.write(connections[topic], int(log_time_ns), serialize_message(message))
    finally:
        close_writer(writer)
    return Path(path)


def add_topic(writer: Writer, topic: str, type_name: str, like=None, offered_qos=()):
    """Add a topic to a bag being written and return its connection.

    ``like``: a connection read from another bag; its message definition, hash and
    offered QoS profiles are kept, so that a copied topic is what was recorded.
    ``offered_qos``: the QoS profiles (rosbags ``Qos``) its publishers offered, which a
    replay offers again.
    """
    type_name = normalise_type_name(type_name)
    if like is not None:
        offered_qos = getattr(like.ext, 'offered_qos_profiles', None) or offered_qos
    if like is not None and like.msgdef.data and like.digest:
        return writer.add_connection(topic, type_name, msgdef=like.msgdef.data,
                                     rihs01=like.digest, offered_qos_profiles=offered_qos)
    return writer.add_connection(topic, type_name, typestore=typestore(),
                                 offered_qos_profiles=offered_qos)


def qos_for_bag(profile):
    """Return an rclpy QoS profile as the rosbags ``Qos`` a bag's metadata records."""
    from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness,
                                    QosReliability, QosTime)

    def policy(enum, value):
        return enum.__members__.get(value.name, enum.UNKNOWN)

    def duration(value):
        return QosTime(*divmod(value.nanoseconds, 1_000_000_000))

    return Qos(policy(QosHistory, profile.history), profile.depth,
               policy(QosReliability, profile.reliability),
               policy(QosDurability, profile.durability), duration(profile.deadline),
               duration(profile.lifespan), policy(QosLiveliness, profile.liveliness),
               duration(profile.liveliness_lease_duration),
               profile.avoid_ros_namespace_conventions)


def typestore():
    """Return the rosbags type store of the ROS 2 distro this package's wheels come from.

    Its ``serialize_cdr`` writes zeros into CDR alignment padding, where rclpy's
    serializer leaves whatever was in memory, so bytes written through it reproduce.
    """
    if not hasattr(typestore, 'store'):
        typestore.store = get_typestore(_TYPESTORE_DISTRO)
    return typestore.store


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.rstrip('.')


def _storage_description(reader: Reader) -> str:
    files = storage_files(reader)
    if len(files) == 1:
        return str(files[0])
    return f'{reader.path} (one of {", ".join(path.name for path in files)})'


def _guess_storage_file(path: Path):
    if path.is_file():
        return path
    files = sorted(p for p in path.iterdir() if p.suffix in ('.mcap', '.db3'))
    return files[-1] if len(files) == 1 else None


def _scan_last_good(path: Path):
    """Find the last message of a storage file that reads intact, tolerating any damage."""
    try:
        if path.suffix == '.mcap':
            return _scan_mcap(path.read_bytes())
        if path.suffix == '.db3':
            return _scan_sqlite3(path)
    except Exception:  # noqa: BLE001 - the scan only adds detail to an error already raised
        return None
    return None


def _scan_mcap(data: bytes):
    """Walk MCAP records from the start until one is cut off or does not decode.

    A chunk cut off by truncation is still walked as far as its bytes go: uncompressed
    records are read in place and a zstd frame is decompressed as a stream.
    """
    if not data.startswith(_MCAP_MAGIC):
        return None
    topics = {}
    found = []

    def walk(buffer, offset):
        while offset + 9 <= len(buffer):
            opcode = buffer[offset]
            (length,) = struct.unpack_from('<Q', buffer, offset + 1)
            body = offset + 9
            complete = body + length <= len(buffer)
            if opcode == 0x06:
                walk(_chunk_records(buffer[body:body + length]), 0)
            if not complete:
                return
            if opcode == 0x04:
                (channel_id,) = struct.unpack_from('<H', buffer, body)
                (topic_length,) = struct.unpack_from('<I', buffer, body + 4)
                topics[channel_id] = bytes(buffer[body + 8:body + 8 + topic_length]).decode()
            elif opcode == 0x05:
                channel_id, _, log_time = struct.unpack_from('<HIQ', buffer, body)
                found.append(MessagePosition(
                    len(found), topics.get(channel_id, f'channel {channel_id}'), log_time))
            offset = body + length

    try:
        walk(memoryview(data), len(_MCAP_MAGIC))
    except Exception:  # noqa: BLE001 - stop at the first record that does not decode
        pass
    return found[-1] if found else None


def _chunk_records(chunk: memoryview) -> bytes:
    """Return the (possibly partial) records of an MCAP chunk record body."""
    (compression_length,) = struct.unpack_from('<I', chunk, 28)
    compression = bytes(chunk[32:32 + compression_length]).decode()
    records = bytes(chunk[32 + compression_length + 8:])
    if compression == 'zstd':
        return zstd.ZstdDecompressor().decompress(records)
    if compression:
        raise ValueError(f'cannot scan {compression} chunks')
    return records


def _scan_sqlite3(path: Path):
    """Read message rows in id order until the database gives out.

    A truncated database claims more pages than the file has, and SQLite then refuses
    every query; a temporary copy whose header gives the real size reads up to the cut.
    """
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / path.name
        shutil.copyfile(path, copy)
        with copy.open('r+b') as handle:
            (page_size,) = struct.unpack('>H', handle.read(18)[16:18])
            page_size = 65536 if page_size == 1 else page_size
            handle.seek(28)
            handle.write(struct.pack('>I', copy.stat().st_size // page_size))
        connection = sqlite3.connect(f'file:{copy}?mode=ro', uri=True)
        try:
            return _last_readable_row(connection)
        finally:
            connection.close()


def _last_readable_row(connection):
    topics = dict(connection.execute('SELECT id, name FROM topics'))
    ids = []
    with suppress(sqlite3.DatabaseError):
        ids.extend(row_id for (row_id,) in connection.execute('SELECT id FROM messages'))
    last = None
    for count, row_id in enumerate(ids):
        try:
            topic_id, timestamp, _ = connection.execute(
                'SELECT topic_id, timestamp, length(data) FROM messages WHERE id = ?',
                (row_id,)).fetchone()
        except sqlite3.DatabaseError:
            break
        last = MessagePosition(count, topics.get(topic_id, str(topic_id)), timestamp)
    return last

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""rosbag2 reading and writing: storages, compression, real sample bags, damaged bags."""

from pathlib import Path
import shutil
import subprocess
import sys

from liver_landmarks.bag.storage import (BagReadError, image_topics, message_class, open_bag,
                                         read_messages, storage_files, topic_counts,
                                         write_messages)
from liver_landmarks.ros.image_conversion import decode_image, numpy_to_image_msg
from liver_landmarks_tools.support.data import ROSBAG2_SAMPLES
import numpy as np
import pytest
from rclpy.serialization import deserialize_message
from rosbags.rosbag2.storage_mcap import McapReader
from sensor_msgs.msg import Image
from std_msgs.msg import Header, String

SAMPLES = ROSBAG2_SAMPLES
START_NS = 1_700_000_000 * 10**9


def _image(index, width=96, height=64, encoding='rgb8'):
    rng = np.random.default_rng(index)
    channels = 1 if encoding.startswith('mono') else 3
    pixels = rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8)
    header = Header(frame_id='camera')
    header.stamp.sec, header.stamp.nanosec = divmod(START_NS + index * 10**8, 10**9)
    return numpy_to_image_msg(pixels[:, :, 0] if channels == 1 else pixels, encoding, header)


def _mixed_messages(count=12):
    for index in range(count):
        yield '/camera/image', START_NS + index * 10**8, _image(index)
        if index % 3 == 0:
            yield '/chatter', START_NS + index * 10**8 + 1, String(data=f'hello {index}')


def _storage_file(bag: Path) -> Path:
    return next(path for path in bag.iterdir() if path.name != 'metadata.yaml')


def _read_all(bag):
    reader = open_bag(bag)
    try:
        return list(read_messages(reader))
    finally:
        reader.close()


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f'shared sample bag not found at {path}')
    return path


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
@pytest.mark.parametrize('compress', [False, True])
def test_written_bag_reads_back_in_order(tmp_path, storage, compress):
    written = list(_mixed_messages())
    bag = write_messages(tmp_path / 'bag', written, storage, compress)
    read = _read_all(bag)
    assert [(m.topic, m.log_time_ns) for m in read] == [(t, s) for t, s, _ in written]
    assert [deserialize_message(m.data, type(msg)) for m, (_, _, msg) in zip(read, written)] == [
        msg for _, _, msg in written]
    assert [m.index for m in read] == list(range(len(written)))
    reader = open_bag(bag)
    try:
        assert topic_counts(reader) == {'/camera/image': ('sensor_msgs/msg/Image', 12),
                                        '/chatter': ('std_msgs/msg/String', 4)}
        assert image_topics(reader) == ['/camera/image']
        assert storage_files(reader) == [_storage_file(bag)]
        images = list(read_messages(reader, ['/camera/image'], start_ns=START_NS + 5 * 10**8))
    finally:
        reader.close()
    assert [m.log_time_ns for m in images] == [START_NS + i * 10**8 for i in range(5, 12)]


def test_message_class_resolves_installed_types_only():
    assert message_class('sensor_msgs/msg/Image') is Image
    assert message_class('std_msgs/String') is String          # pre-Dashing spelling
    assert message_class('no_such_pkg/msg/Thing') is None
    assert message_class('os/msg/system') is None               # not a message module
    assert message_class('email/mime/text') is None             # only PKG.msg modules
    assert message_class('sensor_msgs/msg/Metaclass_Image') is None  # not a message class
    assert message_class('../../etc') is None


def test_real_mono8_sqlite3_bag_decodes():
    bag = _require(SAMPLES / 'ait_images_mono8_sqlite3' / 'images.bag')
    messages = _read_all(bag)
    assert [m.log_time_ns for m in messages] == [0, 10**9, 2 * 10**9]
    image = deserialize_message(messages[0].data, Image)
    pixels = decode_image(image.width, image.height, image.encoding, image.step,
                          image.is_bigendian, image.data)
    assert pixels.tolist() == [[0, 128], [128, 255]]


@pytest.mark.parametrize('name', ['humble_mcap_base_msgs/base_msgs',
                                  'humble_mcap_array_msgs/array_msgs',
                                  'foxy_talker_sqlite3/talker',
                                  'foxy_zstd_file_empty/compressed_bag'])
def test_real_sample_bags_read_as_indexed(name):
    bag = _require(SAMPLES / name)
    reader = open_bag(bag)
    try:
        expected = {topic: count for topic, (_, count) in topic_counts(reader).items()}
        read = {}
        for message in read_messages(reader):
            read[message.topic] = read.get(message.topic, 0) + 1
            if message_class(message.msgtype) is not None:  # every byte string decodes
                deserialize_message(message.data, message_class(message.msgtype))
    finally:
        reader.close()
    assert read == {topic: count for topic, count in expected.items() if count}


@pytest.mark.parametrize('mode', ['file_compression', 'message_compression'])
def test_real_zstd_split_bags_read_with_their_metadata(tmp_path, mode):
    source = _require(SAMPLES / 'foxy_zstd_reindex' / 'reindex_test_bags')
    bag = tmp_path / mode
    shutil.copytree(source / mode, bag)
    with pytest.raises(BagReadError, match='no metadata.yaml.*ros2 bag reindex'):
        open_bag(bag)
    shutil.copy(source / 'target_metadata' / mode / 'metadata.yaml', bag)
    reader = open_bag(bag)
    try:
        assert len(storage_files(reader)) == 4
        counts = topic_counts(reader)
        read = sum(1 for _ in read_messages(reader))
    finally:
        reader.close()
    assert read == sum(count for _, count in counts.values()) > 700


def _truncate(bag: Path, fraction: float) -> Path:
    storage = _storage_file(bag)
    with storage.open('r+b') as handle:
        handle.truncate(int(storage.stat().st_size * fraction))
    return storage


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
@pytest.mark.parametrize('compress', [False, True])
def test_truncated_bag_names_the_file_and_last_good_message(tmp_path, storage, compress):
    intact = write_messages(tmp_path / 'intact', _mixed_messages(), storage, compress)
    originals = _read_all(intact)
    damaged = tmp_path / 'damaged'
    shutil.copytree(intact, damaged)
    storage_file = _truncate(damaged, 0.6)
    with pytest.raises(BagReadError) as raised:
        _read_all(damaged)
    text = str(raised.value)
    assert str(storage_file) in text
    index = int(text.split('last good message was message #')[1].split()[0])
    assert 0 < index < len(originals) - 1
    last = originals[index]
    assert f'({last.topic}) at log time {last.log_time_ns // 10**9}.' in text
    assert f'{last.log_time_ns % 10**9:09d} s' in text


def test_corrupt_chunk_mid_bag_stops_with_the_last_good_message(tmp_path):
    # Frames of ~0.9 MB fill rosbags' 1 MiB chunks two at a time: three chunks.
    frames = [('/camera/image', START_NS + i * 10**8, _image(i, 640, 480)) for i in range(6)]
    bag = write_messages(tmp_path / 'bag', frames, 'mcap', compress=True)
    storage_file = _storage_file(bag)
    index = McapReader(storage_file)
    index.open()
    chunks = sorted(index.chunks, key=lambda chunk: chunk.chunk_start_offset)
    index.close()
    assert len(chunks) == 3
    messages_before = sum(chunks[0].channel_count.values())
    with storage_file.open('r+b') as handle:   # garbage over the second chunk's zstd frame
        handle.seek(chunks[1].chunk_start_offset + 9 + 40 + len('zstd') + 8)
        handle.write(b'\x00' * 64)
    reader = open_bag(bag)
    read = []
    try:
        with pytest.raises(BagReadError) as raised:
            read.extend(read_messages(reader))
    finally:
        reader.close()
    assert len(read) == messages_before
    text = str(raised.value)
    assert str(storage_file) in text and f'after {messages_before} good messages' in text
    assert f'message #{messages_before - 1} (/camera/image)' in text


def test_missing_and_foreign_paths_are_refused_clearly(tmp_path):
    with pytest.raises(BagReadError, match='no such bag'):
        open_bag(tmp_path / 'nothing')
    not_a_bag = tmp_path / 'notes.mcap'
    not_a_bag.write_bytes(b'these are not the bytes of an mcap file')
    with pytest.raises(BagReadError, match=f'{not_a_bag}: cannot open the bag'):
        open_bag(not_a_bag)


def test_info_command_lists_topics_and_reports_damage(tmp_path):
    bag = write_messages(tmp_path / 'bag', _mixed_messages(), 'mcap')
    command = [sys.executable, '-m', 'liver_landmarks', 'bag', 'info', '--check']
    done = subprocess.run(command + [str(bag)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '12  /camera/image  [sensor_msgs/msg/Image]' in done.stdout
    assert 'read all 16 messages intact' in done.stdout
    storage_file = _truncate(bag, 0.5)
    done = subprocess.run(command + [str(bag)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(f'error: {storage_file}') and 'last good message' in done.stderr
    assert 'Traceback' not in done.stderr

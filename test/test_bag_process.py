# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``bag process``: offline round trips, bad frames, real bags, Ctrl-C and crashes."""

import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading

import cv2
from liver_landmarks.bag.process import (BagProcessor, decode_frame, EXIT_SKIPPED_MESSAGES,
                                         ProcessError, ProcessOptions)
from liver_landmarks.bag.storage import (add_topic, BagReadError, close_writer,
                                         COMPRESSED_IMAGE_TYPE, create_writer, IMAGE_TYPE,
                                         messages_by_topic, open_bag, topic_counts,
                                         write_messages)
from liver_landmarks.calibration import calibration_frame
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.p2ilf_io import read_contours
from liver_landmarks.pipeline import Pipeline
from liver_landmarks.ros.image_conversion import decode_colour_frame, numpy_to_image_msg
from liver_landmarks.ros.messages import cloud_to_polylines, OUTPUT_KEYS
from liver_landmarks_tools.support.data import ROSBAG2_SAMPLES
import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.rosbag2.storage_mcap import McapReader
from sensor_msgs.msg import CompressedImage, Image, PointCloud2
from std_msgs.msg import Header, String

SAMPLES = ROSBAG2_SAMPLES
START_NS = 1_700_000_000 * 10**9
NODE = '/segmentation_node'


@pytest.fixture(scope='module')
def pipeline(random_model_card):
    with Pipeline.from_model_card(random_model_card, backend='torch', device='cpu') as built:
        yield built


def _header(index):
    header = Header(frame_id='laparoscope')
    header.stamp.sec, header.stamp.nanosec = divmod(START_NS + index * 10**8, 10**9)
    return header


def _image(index, encoding='rgb8', width=160, height=120, padding=0):
    """Make a liver-like frame as ``encoding``, rows padded with ``padding`` junk bytes."""
    rgb = calibration_frame(width, height, seed=index)
    channels = {'rgb8': rgb, 'bgr8': rgb[:, :, ::-1],
                'rgba8': np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]),
                'mono8': rgb[:, :, 0]}[encoding]
    message = numpy_to_image_msg(np.ascontiguousarray(channels), encoding, _header(index))
    if padding:
        rows = np.frombuffer(bytes(message.data), np.uint8).reshape(height, -1)
        junk = np.full((height, padding), 0xCD, np.uint8)
        message.data = np.concatenate([rows, junk], axis=1).tobytes()
        message.step += padding
    return message


def _bag(path, images, storage='mcap', compress=False, extra=()):
    messages = [('/camera/image', START_NS + i * 10**8 + 3, image)
                for i, image in enumerate(images)]
    return write_messages(path, [*messages, *extra], storage, compress)


def _process(source, out, pipeline, options):
    reader = open_bag(source)
    try:
        return BagProcessor(reader, out, pipeline, options).run()
    finally:
        reader.close()


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_process_round_trip_matches_the_offline_pipeline(tmp_path, pipeline, storage):
    images = [_image(0, 'rgb8'), _image(1, 'bgr8'), _image(2, 'rgba8', 101, 75, padding=5),
              _image(3, 'rgb8', 97, 64, padding=3)]
    chatter = [('/chatter', START_NS + 1, String(data='not an image'))]
    source = _bag(tmp_path / 'in', images, storage, extra=chatter)
    json_dir = tmp_path / 'json'
    options = ProcessOptions(storage=storage, p2ilf_json_dir=json_dir)
    reader = open_bag(source)
    try:
        summary = BagProcessor(reader, tmp_path / 'out', pipeline, options).run()
    finally:
        reader.close()
    assert (summary.frames, summary.processed, summary.rejected) == (4, 4, {})
    assert summary.image_topic == '/camera/image' and not summary.interrupted
    assert set(summary.stage_percentiles()) == {'decode', 'preprocess', 'inference',
                                                'postprocess', 'publish'}

    inputs = messages_by_topic(source)['/camera/image']
    outputs = messages_by_topic(tmp_path / 'out')
    assert set(outputs) == {'/camera/image'} | {f'{NODE}/{key}' for key in OUTPUT_KEYS}
    assert [m.data for m in outputs['/camera/image']] == [m.data for m in inputs]
    for key in OUTPUT_KEYS:
        written = outputs[f'{NODE}/{key}']
        assert [m.log_time_ns for m in written] == [m.log_time_ns for m in inputs], key
    json_files = sorted(json_dir.glob('*.json'))
    assert len(json_files) == 4
    for index, (image, raw) in enumerate(zip(images, inputs)):
        frame, order = decode_colour_frame(image.width, image.height, image.encoding,
                                           image.step, image.is_bigendian, image.data)
        expected = pipeline(np.ascontiguousarray(frame), channel_order=order).result
        labels = deserialize_message(outputs[f'{NODE}/labels'][index].data, Image)
        assert labels.header == image.header
        assert (labels.width, labels.height, labels.encoding) == (image.width, image.height,
                                                                  'mono8')
        assert np.array_equal(np.frombuffer(bytes(labels.data), np.uint8).reshape(
            image.height, image.width), expected.labels)
        cloud = deserialize_message(outputs[f'{NODE}/polylines'][index].data, PointCloud2)
        assert cloud.header == image.header
        decoded = cloud_to_polylines(cloud)
        for landmark in LANDMARKS:
            wanted = expected.polylines.get(landmark, [])
            assert len(decoded[landmark]) == len(wanted)
            for got, want in zip(decoded[landmark], wanted):
                np.testing.assert_allclose(got, want, atol=1e-4)
        stamp = f'{image.header.stamp.sec}.{image.header.stamp.nanosec:09d}'
        assert json_files[index].name == f'frame_{index:06d}_{stamp}.json'
        contours = read_contours(json_files[index])
        assert len(contours) == sum(len(expected.polylines.get(lm, [])) for lm in LANDMARKS)


def test_bad_frames_are_counted_and_the_rest_processed(tmp_path, pipeline):
    short_step = _image(2)
    short_step.step = short_step.width * 3 - 1
    images = [_image(0, 'mono8'), _image(1), short_step, _image(3)]
    source = _bag(tmp_path / 'in', images)
    summary = _process(source, tmp_path / 'out', pipeline, ProcessOptions(outputs=('labels',)))
    assert summary.rejected == {'not_colour': 1, 'step_too_small': 1}
    assert summary.processed == 2 and summary.frames == 4
    assert 'mono8' in summary.first_rejection['not_colour']
    assert 'rejected 1 x step_too_small' in summary.describe()
    outputs = messages_by_topic(tmp_path / 'out')
    labels = [deserialize_message(m.data, Image).header for m in outputs[f'{NODE}/labels']]
    assert labels == [images[1].header, images[3].header]
    assert len(outputs['/camera/image']) == 4


def test_real_mono8_bag_is_rejected_with_a_reason(tmp_path, pipeline):
    source = SAMPLES / 'ait_images_mono8_sqlite3' / 'images.bag'
    if not source.exists():
        pytest.skip(f'shared sample bag not found at {source}')
    reader = open_bag(source)
    try:
        summary = BagProcessor(reader, tmp_path / 'out', pipeline).run()
    finally:
        reader.close()
    assert (summary.frames, summary.processed, summary.rejected) == (3, 0, {'not_colour': 3})
    assert "'mono8' has no colour" in summary.first_rejection['not_colour']
    assert [len(v) for v in messages_by_topic(tmp_path / 'out').values()] == [3]


def test_refusals_name_what_to_change(tmp_path, pipeline):
    two = _bag(tmp_path / 'two', [_image(0)], extra=[('/other', START_NS, _image(1))])
    none = write_messages(tmp_path / 'none', [('/chatter', START_NS, String(data='x'))])
    cases = [(two, ProcessOptions(), 'several Image topics.*--image-topic'),
             (two, ProcessOptions(image_topic='/nope'), '/nope is not in the bag'),
             (none, ProcessOptions(), 'no sensor_msgs/msg/Image or .*CompressedImage topic'),
             (none, ProcessOptions(image_topic='/chatter'), 'holds std_msgs/msg/String'),
             (two, ProcessOptions(image_topic='/other', outputs=('labelz',)), 'labelz'),
             (two, ProcessOptions(image_topic='/other', node_name='/segmentation node'),
              "'/segmentation node/labels', which is not a valid ROS topic name")]
    for bag, options, message in cases:
        reader = open_bag(bag)
        try:
            with pytest.raises(ProcessError, match=message):
                BagProcessor(reader, tmp_path / 'out', pipeline, options)
        finally:
            reader.close()
    reader = open_bag(two)
    try:
        with pytest.raises(ProcessError, match='exists: choose a new --out'):
            BagProcessor(reader, none, pipeline, ProcessOptions(image_topic='/other'))
    finally:
        reader.close()


def test_input_damaged_mid_run_leaves_a_readable_output(tmp_path, pipeline):
    # 640x480 frames fill rosbags' 1 MiB mcap chunks two at a time.
    source = _bag(tmp_path / 'in', [_image(i, width=640, height=480) for i in range(4)],
                  compress=True)
    storage_file = source / 'in.mcap'
    index = McapReader(storage_file)
    index.open()
    second = sorted(index.chunks, key=lambda chunk: chunk.chunk_start_offset)[1]
    index.close()
    with storage_file.open('r+b') as handle:
        handle.seek(second.chunk_start_offset + 9 + 40 + len('zstd') + 8)
        handle.write(b'\x00' * 64)
    reader = open_bag(source)
    processor = BagProcessor(reader, tmp_path / 'out', pipeline,
                             ProcessOptions(outputs=('labels', 'polylines')))
    try:
        with pytest.raises(BagReadError, match='last good message was message #1 '):
            processor.run()
    finally:
        reader.close()
    assert processor.summary.processed == 2
    counts = {topic: count for topic, (_, count) in topic_counts_of(tmp_path / 'out').items()}
    assert counts == {'/camera/image': 2, f'{NODE}/labels': 2, f'{NODE}/polylines': 2}


def topic_counts_of(bag):
    """Open ``bag`` (proving it opens) and return its topic counts."""
    reader = open_bag(bag)
    try:
        return topic_counts(reader)
    finally:
        reader.close()


def test_ctrl_c_leaves_an_output_bag_with_every_finished_frame(tmp_path, random_model_card):
    total = 80
    source = _bag(tmp_path / 'in', [_image(i % 4, width=64, height=48) for i in range(total)])
    out = tmp_path / 'out'
    process = subprocess.Popen(
        [sys.executable, '-m', 'liver_landmarks', 'bag', 'process', str(source), '--out',
         str(out), '--model', str(random_model_card), '--backend', 'torch', '--device', 'cpu',
         '--outputs', 'labels', 'polylines', '--storage', 'sqlite3'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    progressed = threading.Event()
    stderr_text = []

    def watch_progress():
        buffer = ''
        while True:
            chunk = process.stderr.read(1)
            if not chunk:
                return
            buffer += chunk
            done = re.findall(rf'(\d+)/{total}', buffer[-200:])
            if done and int(done[-1]) >= 3:
                progressed.set()
            stderr_text.append(chunk)

    watcher = threading.Thread(target=watch_progress, daemon=True)
    watcher.start()
    try:
        assert progressed.wait(120), 'no progress: ' + ''.join(stderr_text)[-2000:]
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    watcher.join(10)
    assert process.returncode == 130, ''.join(stderr_text)[-2000:]
    assert '(interrupted)' in stdout
    counts = {topic: count for topic, (_, count) in topic_counts_of(out).items()}
    finished = counts[f'{NODE}/labels']
    assert 3 <= finished < total
    assert counts == {'/camera/image': finished, f'{NODE}/labels': finished,
                      f'{NODE}/polylines': finished}
    assert sum(1 for _ in messages_by_topic(out)[f'{NODE}/labels']) == finished


def _bag_with_damaged_images(path, images, damaged: dict, storage='mcap'):
    """Write ``images`` on /camera/image, replacing index -> bytes for those in ``damaged``."""
    writer = create_writer(path, storage)
    try:
        connection = add_topic(writer, '/camera/image', 'sensor_msgs/msg/Image')
        for index, image in enumerate(images):
            data = damaged.get(index, serialize_message(image))
            writer.write(connection, START_NS + index * 10**8 + 3, data)
    finally:
        close_writer(writer)
    return path


def _damaged_cases(images):
    whole = serialize_message(images[2])
    return {2: whole[:len(whole) // 2],            # cut off
            4: b'\x00\x01\x00\x00' + b'\xff' * 64}  # a length field that promises gigabytes


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_messages_that_do_not_deserialize_are_skipped_counted_and_named(
        tmp_path, pipeline, storage):
    images = [_image(i) for i in range(6)]
    source = _bag_with_damaged_images(tmp_path / 'in', images, _damaged_cases(images), storage)
    summary = _process(source, tmp_path / 'out', pipeline, ProcessOptions(outputs=('labels',)))
    assert (summary.frames, summary.processed, summary.skipped) == (6, 4, 2)
    assert 'message #2 (/camera/image)' in summary.first_skipped[0]
    assert 'message #4 (/camera/image)' in summary.first_skipped[1]
    assert 'does not deserialize as sensor_msgs/msg/Image' in summary.first_skipped[0]
    assert '2 skipped as undecodable' in summary.describe()
    outputs = messages_by_topic(tmp_path / 'out')
    labels = [deserialize_message(m.data, Image).header for m in outputs[f'{NODE}/labels']]
    assert labels == [images[i].header for i in (0, 1, 3, 5)]   # the frames after it too
    assert len(outputs['/camera/image']) == 6                    # the input copied whole


def test_command_line_exit_status_says_completed_with_skipped_messages(
        tmp_path, random_model_card):
    images = [_image(i, width=64, height=48) for i in range(6)]
    source = _bag_with_damaged_images(tmp_path / 'in', images, _damaged_cases(images))
    done = subprocess.run(
        [sys.executable, '-m', 'liver_landmarks', 'bag', 'process', str(source), '--out',
         str(tmp_path / 'out'), '--model', str(random_model_card), '--backend', 'torch',
         '--device', 'cpu', '--outputs', 'labels', '--no-progress'],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_SKIPPED_MESSAGES == 3, done.stderr
    assert '4 processed' in done.stdout and '2 skipped as undecodable' in done.stdout
    assert 'message #2 (/camera/image)' in done.stdout and 'Traceback' not in done.stderr
    check = subprocess.run([sys.executable, '-m', 'liver_landmarks', 'bag', 'info', '--check',
                            str(source)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 3, check.stdout + check.stderr
    assert '2 of 6 messages do not deserialize or decode' in check.stdout
    assert 'message #4 (/camera/image)' in check.stdout and 'intact' not in check.stdout


def _can_mount_tmpfs() -> bool:
    probe = subprocess.run(['unshare', '-m', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt'],
                           capture_output=True)
    return probe.returncode == 0


needs_mount_namespace = pytest.mark.skipif(
    not shutil.which('unshare') or not _can_mount_tmpfs(),
    reason='needs `unshare -m` and tmpfs mounts (root or user namespaces) for a small disk')


def _process_on_small_disk(tmp_path, source, disk_options, command_args, keep='out'):
    """Run ``bag process`` with its outputs on a private tmpfs; copy what it left out."""
    disk = tmp_path / 'disk'
    disk.mkdir()
    process = ' '.join(shlex.quote(str(part)) for part in [
        sys.executable, '-m', 'liver_landmarks', 'bag', 'process', source, *command_args])
    script = (f'mount -t tmpfs -o {disk_options} tmpfs {shlex.quote(str(disk))} || exit 99\n'
              f'{process}\nstatus=$?\n'
              f'cp -a {shlex.quote(str(disk))}/. {shlex.quote(str(tmp_path / keep))}/ '
              '2>/dev/null\nexit $status\n')
    (tmp_path / keep).mkdir()
    return subprocess.run(['unshare', '-m', 'sh', '-c', script], capture_output=True, text=True,
                          timeout=600), disk


@needs_mount_namespace
def test_read_only_output_is_refused_before_the_model_is_loaded(tmp_path):
    source = _bag(tmp_path / 'in', [_image(0)])
    for args in (['--out', '{disk}/out'],
                 ['--out', str(tmp_path / 'elsewhere'), '--p2ilf-json', '{disk}/json']):
        done, disk = _process_on_small_disk(
            tmp_path, source, 'ro,size=1m',
            [arg.format(disk=tmp_path / 'disk') for arg in args]
            + ['--model', str(tmp_path / 'no_such_card.json')])
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.startswith(f'error: cannot create {disk}/')
        assert 'Read-only file system' in done.stderr and 'no_such_card' not in done.stderr
        assert 'Traceback' not in done.stderr and not (tmp_path / 'elsewhere').exists()
        shutil.rmtree(tmp_path / 'disk')
        shutil.rmtree(tmp_path / 'out')


@needs_mount_namespace
@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_full_disk_stops_cleanly_with_a_readable_bag_and_whole_json_files(
        tmp_path, random_model_card, storage):
    total = 24
    source = _bag(tmp_path / 'in', [_image(i % 4, width=320, height=240) for i in range(total)])
    disk = tmp_path / 'disk'
    done, _ = _process_on_small_disk(
        tmp_path, source, 'size=7m',
        ['--out', f'{disk}/out', '--p2ilf-json', f'{disk}/json', '--model',
         str(random_model_card), '--backend', 'torch', '--device', 'cpu', '--storage', storage,
         '--no-progress'])
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and ('No space left on device' in errors[0]
                                 or 'disk is full' in errors[0]), done.stderr
    assert 'Traceback' not in done.stderr
    copied = tmp_path / 'out' / 'out'
    assert (copied / 'metadata.yaml').is_file()
    counts = {topic: count for topic, (_, count) in topic_counts_of(copied).items()}
    finished = counts['/camera/image']
    assert 0 < finished < total, counts
    assert counts == {topic: finished for topic in ['/camera/image', *(
        f'{NODE}/{key}' for key in OUTPUT_KEYS)]}
    assert all(len(v) == finished for v in messages_by_topic(copied).values())
    written = sorted((tmp_path / 'out' / 'json').iterdir())
    assert finished - 1 <= len(written) <= finished
    for path in written:
        assert path.suffix == '.json' and not path.name.startswith('.')
        read_contours(path)


def _compressed(index, fmt, data=None, width=160, height=120):
    """Return a CompressedImage of a liver-like frame, encoded as ``fmt`` says (or ``data``)."""
    if data is None:
        codec = '.png' if 'png' in fmt else '.jpg'
        bgr = np.ascontiguousarray(calibration_frame(width, height, seed=index)[:, :, ::-1])
        data = cv2.imencode(codec, bgr)[1].tobytes()
    return CompressedImage(header=_header(index), format=fmt, data=data)


def _frame_bag(path, topic, messages):
    return write_messages(path, [(topic, START_NS + i * 10**8 + 3, message)
                                 for i, message in enumerate(messages)])


def _expected_labels(pipeline, frame_type, message):
    frame, order = decode_frame(frame_type, message)
    return pipeline(np.ascontiguousarray(frame), channel_order=order).result.labels


def test_compressed_images_are_processed_and_a_corrupt_jpeg_is_a_named_skip(
        tmp_path, pipeline, p2ilf_frame_path):
    topic = '/camera/image/compressed'
    jpeg = _compressed(1, 'bgr8; jpeg compressed bgr8').data
    messages = [
        _compressed(0, 'bgr8; jpeg compressed bgr8', data=p2ilf_frame_path.read_bytes()),
        _compressed(1, 'bgr8; jpeg compressed bgr8'),
        _compressed(2, 'rgb8; png compressed bgr8'),
        _compressed(3, 'jpeg', data=jpeg[:len(jpeg) // 2]),          # cut off
        _compressed(4, 'jpeg', data=b'not a jpeg at all'),
        _compressed(5, 'bgr8; tiff compressed bgr8'),
        _compressed(6, 'jpeg')]
    source = _frame_bag(tmp_path / 'in', topic, messages)
    summary = _process(source, tmp_path / 'out', pipeline, ProcessOptions(outputs=('labels',)))
    assert summary.image_topic == topic
    assert (summary.frames, summary.processed, summary.skipped) == (7, 4, 2)
    assert summary.rejected == {'unsupported_compressed_format': 1}
    assert f'message #3 ({topic})' in summary.first_skipped[0]
    assert 'truncated or corrupt' in summary.first_skipped[0]
    assert f'message #4 ({topic})' in summary.first_skipped[1]
    outputs = messages_by_topic(tmp_path / 'out')
    assert [m.data for m in outputs[topic]] == [m.data for m in messages_by_topic(source)[topic]]
    labels = [deserialize_message(m.data, Image) for m in outputs[f'{NODE}/labels']]
    assert [label.header for label in labels] == [messages[i].header for i in (0, 1, 2, 6)]
    assert (labels[0].width, labels[0].height) == (1920, 1080)   # the real frame's size
    for label, index in zip(labels, (0, 1, 2, 6)):
        expected = _expected_labels(pipeline, COMPRESSED_IMAGE_TYPE, messages[index])
        assert np.array_equal(np.frombuffer(bytes(label.data), np.uint8).reshape(
            label.height, label.width), expected)
    check = subprocess.run([sys.executable, '-m', 'liver_landmarks', 'bag', 'info', '--check',
                            str(source)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 3, check.stdout + check.stderr
    assert '2 of 7 messages do not deserialize or decode' in check.stdout
    assert f'message #3 ({topic})' in check.stdout


def _tower_frame(index, encoding, width=64, height=48):
    """Return a raw frame in a capture card's encoding, bytes taken from a liver-like frame."""
    rgb = calibration_frame(width, height, seed=index)
    layouts = {'yuv422_yuy2': (2 * width, rgb[:, :, :2].tobytes()),
               'uyvy': (2 * width, rgb[:, :, 1:].tobytes()),
               'nv12': (width, rgb[:, :, 0].tobytes() + rgb[::2, :, 1].tobytes()),
               'bayer_rggb8': (width, rgb[:, :, 1].tobytes()),
               'rgb16': (6 * width, (rgb.astype('<u2') * 257).tobytes())}
    step, data = layouts[encoding]
    return Image(header=_header(index), width=width, height=height, encoding=encoding,
                 step=step, data=data)


def test_capture_card_encodings_are_processed_like_the_node(tmp_path, pipeline):
    encodings = ['yuv422_yuy2', 'uyvy', 'nv12', 'bayer_rggb8', 'rgb16']
    messages = [_tower_frame(i, encoding) for i, encoding in enumerate(encodings)]
    source = _frame_bag(tmp_path / 'in', '/camera/image', messages)
    summary = _process(source, tmp_path / 'out', pipeline, ProcessOptions(outputs=('labels',)))
    assert (summary.processed, summary.rejected, summary.skipped) == (5, {}, 0)
    labels = [deserialize_message(m.data, Image)
              for m in messages_by_topic(tmp_path / 'out')[f'{NODE}/labels']]
    for label, message in zip(labels, messages):
        assert label.header == message.header and (label.width, label.height) == (64, 48)
        assert np.array_equal(np.frombuffer(bytes(label.data), np.uint8).reshape(48, 64),
                              _expected_labels(pipeline, IMAGE_TYPE, message))

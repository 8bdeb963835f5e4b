# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``bag process``: offline round trips, bad frames, real bags, Ctrl-C and crashes."""

import re
import signal
import subprocess
import sys
import threading

from liver_landmarks.calibration import calibration_frame
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.p2ilf_io import read_contours
from liver_landmarks.pipeline import Pipeline
from liver_landmarks.ros.bag_io import (BagReadError, messages_by_topic, open_bag, topic_counts,
                                        write_messages)
from liver_landmarks.ros.bag_process import BagProcessor, ProcessError, ProcessOptions
from liver_landmarks.ros.image_conversion import decode_colour_frame, numpy_to_image_msg
from liver_landmarks.ros.messages import cloud_to_polylines, OUTPUT_KEYS
from liver_landmarks_tools.support.data import ROSBAG2_SAMPLES
import numpy as np
import pytest
from rclpy.serialization import deserialize_message
from rosbags.rosbag2.storage_mcap import McapReader
from sensor_msgs.msg import Image, PointCloud2
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
                                                'postprocess', 'write'}

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
    reader = open_bag(source)
    try:
        summary = BagProcessor(reader, tmp_path / 'out', pipeline,
                               ProcessOptions(outputs=('labels',))).run()
    finally:
        reader.close()
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
             (none, ProcessOptions(), 'no sensor_msgs/msg/Image topic'),
             (none, ProcessOptions(image_topic='/chatter'), 'holds std_msgs/msg/String'),
             (two, ProcessOptions(image_topic='/other', outputs=('labelz',)), 'labelz')]
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

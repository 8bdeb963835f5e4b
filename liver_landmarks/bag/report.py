# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Overlay strip and latency summary from a recording of the node's inputs and outputs.

The recorder (:mod:`liver_landmarks.bag.recorder`) stores each message with the
time it arrived, all on one clock. An input frame and its ``~/labels`` share a header
stamp, so the difference of their arrival times is the node's end-to-end latency as a
subscriber sees it: DDS transport of the frame, queueing, decode, inference,
post-processing, publishing and DDS transport of the result. Frames that never got a
result were dropped by the node (it keeps only the newest frame waiting); a bag with no
output at all is reported as holding no node outputs, not as every frame dropped.
"""

from contextlib import suppress
import json
from pathlib import Path
import struct

from liver_landmarks.bag.storage import (deserialize, MessagePosition, messages_by_topic,
                                         open_bag, topic_counts, UndecodableMessage)
import numpy as np

LATENCY_KEY = 'labels'
OVERLAY_KEY = 'overlay'
DIAGNOSTICS_TOPIC = '/diagnostics'


def header_stamp_ns(data: bytes) -> int:
    """Return the ``header.stamp`` of a serialized message that starts with a std_msgs/Header.

    CDR puts the header first: a 4-byte encapsulation (byte 1 odd: little endian), then
    ``int32 sec`` and ``uint32 nanosec``.
    """
    if len(data) < 12:
        raise ValueError(f'{len(data)} bytes are too few for a CDR header stamp')
    order = '<' if data[1] & 1 else '>'
    sec, nanosec = struct.unpack_from(f'{order}iI', data, 4)
    return sec * 1_000_000_000 + nanosec


def _percentiles(values) -> dict:
    if not values:
        return {}
    array = np.asarray(values, dtype=np.float64)
    return {'p50': float(np.percentile(array, 50)), 'p95': float(np.percentile(array, 95)),
            'p99': float(np.percentile(array, 99)), 'max': float(array.max()),
            'mean': float(array.mean())}


def summarise_recording(bag_path, image_topic='/camera/image',
                        node_name='/segmentation_node') -> dict:
    """Return counts, rates and end-to-end latency (ms) of a recorded run."""
    labels_topic = f'{node_name.rstrip("/")}/{LATENCY_KEY}'
    arrivals = {image_topic: {}, labels_topic: {}}
    recorded = messages_by_topic(bag_path, [image_topic, labels_topic, DIAGNOSTICS_TOPIC])
    undecodable = []
    for topic in (image_topic, labels_topic):
        for message in recorded.get(topic, []):
            try:
                stamp = header_stamp_ns(message.data)
            except ValueError as error:
                where = MessagePosition(message.index, message.topic, message.log_time_ns)
                undecodable.append(f'{where.describe()}: {error}')
                continue
            arrivals[topic].setdefault(stamp, message.log_time_ns)
    diagnostics = [(m.log_time_ns, m.data) for m in recorded.get(DIAGNOSTICS_TOPIC, [])]
    inputs, outputs = arrivals[image_topic], arrivals[labels_topic]
    latencies = [(outputs[stamp] - inputs[stamp]) / 1e6 for stamp in outputs if stamp in inputs]
    summary = {
        'input_topic': image_topic, 'output_topic': labels_topic,
        'input_frames': len(inputs), 'output_frames': len(outputs),
        'frames_without_output': len(set(inputs) - set(outputs)),
        'input_rate_hz': _rate(inputs.values()), 'output_rate_hz': _rate(outputs.values()),
        'end_to_end_latency_ms': _percentiles(latencies),
        'has_outputs': bool(recorded.get(labels_topic)),
        'undecodable': undecodable,
    }
    if not summary['has_outputs'] or not recorded.get(image_topic):
        reader = open_bag(bag_path)
        try:
            summary['bag_topics'] = sorted(topic_counts(reader))
        finally:
            reader.close()
    if diagnostics:
        # The last report while results still came, not one from after the input ended.
        last_output = max(outputs.values(), default=None)
        while_running = [data for at, data in diagnostics
                         if last_output is None or at <= last_output]
        chosen = while_running[-1] if while_running else diagnostics[-1][1]
        summary['node_diagnostics'] = _diagnostics_values(chosen, node_name)
    return summary


def _rate(times_ns) -> float:
    times = sorted(times_ns)
    if len(times) < 2 or times[-1] == times[0]:
        return 0.0
    return (len(times) - 1) / ((times[-1] - times[0]) / 1e9)


def _diagnostics_values(data: bytes, node_name: str) -> dict:
    """Return the key/values of the node's status in a serialized DiagnosticArray."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.serialization import deserialize_message

    array = deserialize_message(data, DiagnosticArray)
    short_name = node_name.strip('/').split('/')[-1]
    values = {}
    for status in array.status:
        if short_name in status.name or not values:
            values = {'name': status.name, 'message': status.message,
                      **{item.key: item.value for item in status.values}}
    return values


def format_summary(summary: dict) -> str:
    """Return the latency summary as the few lines the demo prints."""
    latency = summary['end_to_end_latency_ms']
    topics = ', '.join(summary.get('bag_topics', [])) or 'none'
    if summary['input_frames']:
        lines = [f'input:  {summary["input_frames"]} frames on {summary["input_topic"]} at '
                 f'{summary["input_rate_hz"]:.2f} Hz']
    else:
        lines = [f'input:  the bag holds no message on {summary["input_topic"]} (its topics: '
                 f'{topics}); choose the input with --image-topic']
    if summary.get('has_outputs', True):
        lines.append(f'output: {summary["output_frames"]} frames on {summary["output_topic"]} '
                     f'at {summary["output_rate_hz"]:.2f} Hz; '
                     f'{summary["frames_without_output"]} frames dropped by the node (only the '
                     'newest frame waits)')
    else:
        lines.append(f'output: the bag holds no node outputs: no message on '
                     f'{summary["output_topic"]} (its topics: {topics}); record the node '
                     'with python -m liver_landmarks.bag.recorder, or pass its --node-name')
    for text in summary.get('undecodable', [])[:5]:
        lines.append(f'skipped, no header stamp: {text}')
    if latency:
        lines.append('end-to-end latency through DDS (ms): ' + ', '.join(
            f'{key} {value:.1f}' for key, value in latency.items()))
    diagnostics = summary.get('node_diagnostics')
    if diagnostics:
        lines.append(f'last diagnostics of {diagnostics.get("name", "the node")}:')
        lines.extend(f'  {key}: {value}' for key, value in diagnostics.items() if key != 'name')
    return '\n'.join(lines)


def write_overlay_strip(bag_path, out_png, overlay_topic, tiles=8, tile_width=320,
                        columns=4) -> Path | None:
    """Tile ``tiles`` evenly spaced overlay frames of the bag into one PNG; None if none."""
    import cv2
    from liver_landmarks.ros.image_conversion import image_msg_to_numpy
    from sensor_msgs.msg import Image

    messages = []
    for message in messages_by_topic(bag_path, [overlay_topic]).get(overlay_topic, []):
        with suppress(UndecodableMessage):   # named in the summary's counts instead
            messages.append(deserialize(message, Image))
    if not messages:
        return None
    picks = np.unique(np.linspace(0, len(messages) - 1, min(tiles, len(messages))).round())
    images = []
    for index in picks.astype(int):
        image, encoding = image_msg_to_numpy(messages[index])
        image = np.ascontiguousarray(image[:, :, :3])
        if encoding.startswith('bgr'):
            image = image[:, :, ::-1]
        height = round(image.shape[0] * tile_width / image.shape[1])
        images.append(cv2.resize(image, (tile_width, height), interpolation=cv2.INTER_AREA))
    height = max(image.shape[0] for image in images)
    blank = np.zeros((height, tile_width, 3), np.uint8)
    padded = [np.pad(image, ((0, height - image.shape[0]), (0, 0), (0, 0))) for image in images]
    padded += [blank] * (-len(padded) % columns)
    rows = [np.concatenate(padded[i:i + columns], axis=1) for i in range(0, len(padded), columns)]
    strip = np.concatenate(rows, axis=0)
    out_png = Path(out_png)
    if not cv2.imwrite(str(out_png), np.ascontiguousarray(strip[:, :, ::-1])):
        raise OSError(f'cannot write {out_png}')
    return out_png


def write_report(bag_path, out_dir, image_topic='/camera/image',
                 node_name='/segmentation_node', tiles=8) -> str:
    """Write overlay_strip.png, latency_summary.json and .txt into ``out_dir``; return the text."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise_recording(bag_path, image_topic, node_name)
    overlay_topic = f'{node_name.rstrip("/")}/{OVERLAY_KEY}'
    strip = write_overlay_strip(bag_path, out_dir / 'overlay_strip.png', overlay_topic, tiles)
    summary['overlay_strip'] = str(strip) if strip else None
    text = format_summary(summary)
    (out_dir / 'latency_summary.json').write_text(json.dumps(summary, indent=2) + '\n')
    (out_dir / 'latency_summary.txt').write_text(text + '\n')
    if strip is None:
        text += f'\nno {overlay_topic} message was recorded: no overlay strip'
    return text

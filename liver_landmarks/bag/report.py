# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Overlay strip and latency summary from a recording of the node's inputs and outputs.

The recorder (:mod:`liver_landmarks.bag.recorder`) stores each message with the
time it arrived, all on one clock. An input frame and its ``~/labels`` share a header
stamp, so the difference of their arrival times is the node's end-to-end latency as a
subscriber sees it: DDS transport of the frame, queueing, decode, inference,
post-processing, publishing and DDS transport of the result. Frames that never got a
result were dropped by the node (it keeps only the newest frame waiting).
"""

import json
from pathlib import Path
import struct

from liver_landmarks.bag.storage import messages_by_topic
import numpy as np

LATENCY_KEY = 'labels'
OVERLAY_KEY = 'overlay'
DIAGNOSTICS_TOPIC = '/diagnostics'


def header_stamp_ns(data: bytes) -> int:
    """Return the ``header.stamp`` of a serialized message that starts with a std_msgs/Header.

    CDR puts the header first: a 4-byte encapsulation (byte 1 odd: little endian), then
    ``int32 sec`` and ``uint32 nanosec``.
    """
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
    for topic in (image_topic, labels_topic):
        for message in recorded.get(topic, []):
            arrivals[topic].setdefault(header_stamp_ns(message.data), message.log_time_ns)
    diagnostics = [(m.log_time_ns, m.data) for m in recorded.get(DIAGNOSTICS_TOPIC, [])]
    inputs, outputs = arrivals[image_topic], arrivals[labels_topic]
    latencies = [(outputs[stamp] - inputs[stamp]) / 1e6 for stamp in outputs if stamp in inputs]
    summary = {
        'input_topic': image_topic, 'output_topic': labels_topic,
        'input_frames': len(inputs), 'output_frames': len(outputs),
        'frames_without_output': len(set(inputs) - set(outputs)),
        'input_rate_hz': _rate(inputs.values()), 'output_rate_hz': _rate(outputs.values()),
        'end_to_end_latency_ms': _percentiles(latencies),
    }
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
    lines = [f'input:  {summary["input_frames"]} frames on {summary["input_topic"]} at '
             f'{summary["input_rate_hz"]:.2f} Hz',
             f'output: {summary["output_frames"]} frames on {summary["output_topic"]} at '
             f'{summary["output_rate_hz"]:.2f} Hz; {summary["frames_without_output"]} frames '
             'dropped by the node (only the newest frame waits)']
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
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Image

    recorded = messages_by_topic(bag_path, [overlay_topic]).get(overlay_topic, [])
    messages = [message.data for message in recorded]
    if not messages:
        return None
    picks = np.unique(np.linspace(0, len(messages) - 1, min(tiles, len(messages))).round())
    images = []
    for index in picks.astype(int):
        image, encoding = image_msg_to_numpy(deserialize_message(messages[index], Image))
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

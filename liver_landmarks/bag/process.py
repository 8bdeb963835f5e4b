# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Run the segmentation pipeline offline over every image of a bag, as fast as it goes.

No DDS is involved: images are read from the bag, run through the same
:class:`~liver_landmarks.pipeline.Pipeline` and output message builders as the node,
and written to a new rosbag2 under the node's topic names, with each input's header
and log time. Nothing stops a run but the end, Ctrl-C or a failing disk: a message
that does not deserialize is skipped, counted and named, and the run goes on. The
output bag is written frame by frame in committed steps and closed in every case
(end, Ctrl-C, a full disk, an exception), so it always opens and holds every frame
finished before the stop.
"""

from dataclasses import dataclass, field
import os
from pathlib import Path
import threading
import time

from liver_landmarks.bag.storage import (BagWriteError, check_writable, COMPRESSED_IMAGE_TYPE,
                                         deserialize, FRAME_TYPES, image_topics,
                                         invalid_topic_names, message_class,
                                         MessagePosition, normalise_type_name, OutputBag,
                                         read_messages, topic_counts, UndecodableMessage)
from liver_landmarks.pipeline import PIPELINE_STAGES, StageError, STAGES
from liver_landmarks.ros.image_conversion import (decode_colour_frame, decode_compressed_frame,
                                                  ImageFormatError)
from liver_landmarks.ros.messages import OUTPUT_KEYS, OUTPUT_MSGTYPES
import numpy as np
from rclpy.serialization import serialize_message

DEFAULT_NODE_NAME = '/segmentation_node'
#: Exit status of ``bag process`` (and ``info --check``, ``replay``) that ran to the end
#: but skipped messages that do not deserialize; 1 is kept for frames the pipeline failed,
#: 2 for errors that stopped the command, 130 for Ctrl-C.
EXIT_SKIPPED_MESSAGES = 3
#: Skipped messages named one by one in a summary; the rest are only counted.
NAMED_SKIPS = 5
#: Refusal reasons that mean damaged data rather than a format the network cannot take:
#: counted and named with the messages that do not deserialize.
DAMAGED_REASONS = ('corrupt_compressed',)


class ProcessError(Exception):
    """The bag cannot be processed as asked; the message says what to change."""


@dataclass(frozen=True)
class ProcessOptions:
    """What ``bag process`` writes."""

    image_topic: str | None = None        # None: the bag's only Image/CompressedImage topic
    storage: str = 'mcap'
    compress: bool = False
    outputs: tuple[str, ...] = OUTPUT_KEYS
    node_name: str = DEFAULT_NODE_NAME   # output topics are NODE_NAME/labels, ...
    p2ilf_json_dir: Path | None = None


@dataclass
class ProcessSummary:
    """What a run did: counts, rejections by reason, per-stage times."""

    image_topic: str = ''
    output_bag: Path | None = None
    frames: int = 0                       # images read
    processed: int = 0
    rejected: dict[str, int] = field(default_factory=dict)      # reason -> frames
    first_rejection: dict[str, str] = field(default_factory=dict)  # reason -> its message
    failed: dict[str, int] = field(default_factory=dict)        # exception type -> frames
    first_failure: dict[str, str] = field(default_factory=dict)
    skipped: int = 0                      # messages that do not deserialize
    first_skipped: list[str] = field(default_factory=list)     # the first few, named
    stage_ms: dict[str, list] = field(default_factory=lambda: {stage: [] for stage in STAGES})
    wall_s: float = 0.0
    interrupted: bool = False
    write_error: str = ''                 # why the run stopped early on writing, if it did

    @property
    def frames_per_second(self) -> float:
        """Frames read per wall-clock second, rejected ones included."""
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def stage_percentiles(self) -> dict[str, tuple[float, float]]:
        """Return stage -> (median ms, p95 ms) over the frames that reached the stage."""
        return {stage: (float(np.median(values)), float(np.percentile(values, 95)))
                for stage, values in self.stage_ms.items() if values}

    def describe(self) -> str:
        """Return the summary printed at the end of ``bag process``."""
        lines = [f'{self.frames} frames from {self.image_topic} in {self.wall_s:.2f} s '
                 f'({self.frames_per_second:.2f} frames/s): {self.processed} processed, '
                 f'{sum(self.rejected.values())} rejected, {sum(self.failed.values())} failed, '
                 f'{self.skipped} skipped as undecodable'
                 + (' (interrupted)' if self.interrupted else '')
                 + (' (stopped: the output could not be written)' if self.write_error else '')]
        if self.skipped:
            lines.append(f'  skipped {self.skipped} messages that do not deserialize or decode: '
                         + '; '.join(self.first_skipped)
                         + ('; ...' if self.skipped > len(self.first_skipped) else ''))
        for reason, count in sorted(self.rejected.items()):
            lines.append(f'  rejected {count} x {reason}: {self.first_rejection[reason]}')
        for kind, count in sorted(self.failed.items()):
            lines.append(f'  failed {count} x {kind}: {self.first_failure[kind]}')
        percentiles = self.stage_percentiles()
        if percentiles:
            lines.append('  stage          median ms    p95 ms')
            for stage, (median, p95) in percentiles.items():
                lines.append(f'  {stage:<12} {median:>11.2f} {p95:>9.2f}')
        if self.output_bag is not None:
            lines.append(f'  output bag: {self.output_bag}')
        return '\n'.join(lines)


def choose_image_topic(reader, wanted: str | None) -> str:
    """Return the image topic to process: ``wanted``, or the bag's only frame topic."""
    topics = image_topics(reader)
    kinds = ' or '.join(FRAME_TYPES)
    if wanted is not None:
        counts = topic_counts(reader)
        if wanted not in counts:
            raise ProcessError(f'topic {wanted} is not in the bag; its Image and '
                               f'CompressedImage topics are: {", ".join(topics) or "none"}')
        if normalise_type_name(counts[wanted][0]) not in FRAME_TYPES:
            raise ProcessError(f'topic {wanted} holds {counts[wanted][0]}, not {kinds}')
        return wanted
    if len(topics) == 1:
        return topics[0]
    if not topics:
        raise ProcessError(f'the bag holds no {kinds} topic (topics: '
                           f'{", ".join(topic_counts(reader)) or "none"})')
    raise ProcessError(f'the bag holds several Image topics ({", ".join(topics)}): '
                       'choose one with --image-topic')


def decode_frame(type_name: str, message) -> tuple:
    """Decode an Image or CompressedImage as the node does: ``(HxWx3 uint8, order)``.

    Raises :class:`~liver_landmarks.ros.image_conversion.ImageFormatError` with its reason.
    """
    if type_name == COMPRESSED_IMAGE_TYPE:
        return decode_compressed_frame(message.format, message.data)
    return decode_colour_frame(message.width, message.height, message.encoding, message.step,
                               message.is_bigendian, message.data)


def frame_content_problem(type_name: str, message) -> str | None:
    """Return why a deserialized frame message is damaged (a corrupt JPEG), or None."""
    if type_name not in FRAME_TYPES:
        return None
    try:
        decode_frame(type_name, message)
    except ImageFormatError as error:
        return str(error) if error.reason in DAMAGED_REASONS else None
    return None


def image_count(reader, topic: str) -> int:
    """Return how many messages the bag's index lists on ``topic``."""
    return topic_counts(reader).get(topic, ('', 0))[1]


class BagProcessor:
    """Process one opened bag into a new one; :meth:`run` returns a :class:`ProcessSummary`."""

    def __init__(self, reader, out_path, pipeline, options: ProcessOptions = ProcessOptions(),
                 stop_event: threading.Event | None = None, progress=None):
        unknown = set(options.outputs) - set(OUTPUT_KEYS)
        if unknown:
            raise ProcessError(f'unknown outputs {sorted(unknown)}: choose from '
                               f'{", ".join(OUTPUT_KEYS)}')
        self.reader = reader
        self.out_path = Path(out_path)
        self.pipeline = pipeline
        self.options = options
        self.stop_event = stop_event or threading.Event()
        self.progress = progress
        self.image_topic = choose_image_topic(reader, options.image_topic)
        invalid = invalid_topic_names(self.output_topic(key) for key in options.outputs)
        if invalid:
            name, why = next(iter(invalid.items()))
            raise ProcessError(f'--node-name {options.node_name!r} gives the output topic '
                               f'{name!r}, which is not a valid ROS topic name ({why})')
        if self.out_path.exists():
            raise ProcessError(f'{self.out_path} exists: choose a new --out, the output bag '
                               'is never overwritten')
        try:
            check_writable(self.out_path)
            if options.p2ilf_json_dir is not None:
                check_writable(Path(options.p2ilf_json_dir) / '.probe')
        except BagWriteError as error:
            raise ProcessError(str(error)) from None
        self.summary = ProcessSummary(image_topic=self.image_topic, output_bag=self.out_path)

    def output_topic(self, key: str) -> str:
        """Return the topic an output key is written under (``/segmentation_node/labels``)."""
        return f'{self.options.node_name.rstrip("/")}/{key}'

    def run(self) -> ProcessSummary:
        """Process every image until the end of the bag or a stop; always close the output.

        Raises :class:`~liver_landmarks.bag.storage.BagWriteError` (after closing the
        output with every finished frame) when the output cannot be written.
        """
        started = time.perf_counter()
        try:
            if self.options.p2ilf_json_dir is not None:
                Path(self.options.p2ilf_json_dir).mkdir(parents=True, exist_ok=True)
            output = OutputBag(self.out_path, self.options.storage, self.options.compress)
        except OSError as error:
            raise self._stopped(BagWriteError(f'{error.filename or self.out_path}: cannot '
                                              f'create: {error.strerror or error}'))
        except BagWriteError as error:
            raise self._stopped(error)
        try:
            input_connection = next(c for c in self.reader.connections
                                    if c.topic == self.image_topic)
            frame_type = normalise_type_name(input_connection.msgtype)
            frame_class = message_class(frame_type)
            image_out = output.add_topic(self.image_topic, frame_type, like=input_connection)
            outputs_out = {key: output.add_topic(self.output_topic(key), OUTPUT_MSGTYPES[key])
                           for key in self.options.outputs}
            for message in read_messages(self.reader, [self.image_topic]):
                if self.stop_event.is_set():
                    break
                # The input is copied as recorded, undecodable or not: nothing is lost.
                output.write(image_out, message.log_time_ns, message.data)
                self.summary.frames += 1
                image = self._deserialize(message, frame_class)
                analysed = (None if image is None
                            else self._analyse(frame_type, image, message))
                if analysed is not None:
                    tick = time.perf_counter()
                    self._write_outputs(output, outputs_out, image.header, message, *analysed)
                    self.summary.stage_ms['publish'].append((time.perf_counter() - tick) * 1e3)
                output.commit()
                if analysed is not None and self.options.p2ilf_json_dir is not None:
                    write_frame_json(self.options.p2ilf_json_dir, message.index, image.header,
                                     analysed[1].polylines)
                if self.progress is not None:
                    self.progress.update(1)
        except BagWriteError as error:
            raise self._stopped(error, started)
        except OSError as error:   # a P2ILF JSON file; the bag is closed below
            output.close()
            raise self._stopped(BagWriteError(
                f'{error.filename}: cannot write: {error.strerror or error}; the output bag '
                f'{self.out_path} was closed with every frame finished before'), started)
        finally:
            self.summary.interrupted = self.stop_event.is_set()
            self.summary.wall_s = time.perf_counter() - started
            output.close()
        return self.summary

    def _stopped(self, error: BagWriteError, started: float | None = None) -> BagWriteError:
        self.summary.write_error = str(error)
        if started is not None:
            self.summary.wall_s = time.perf_counter() - started
        return error

    def _deserialize(self, message, message_type):
        """Return the message, or None after counting and naming it as skipped."""
        try:
            return deserialize(message, message_type)
        except UndecodableMessage as error:
            self._skip(str(error))
            return None

    def _skip(self, description: str):
        self.summary.skipped += 1
        if len(self.summary.first_skipped) < NAMED_SKIPS:
            self.summary.first_skipped.append(description)

    def _analyse(self, frame_type: str, image, message):
        """Return ``(frame_rgb, pipeline result)``, or None when rejected or failed."""
        index = message.index
        tick = time.perf_counter()
        try:
            frame, channel_order = decode_frame(frame_type, image)
        except ImageFormatError as error:
            if error.reason in DAMAGED_REASONS:
                where = MessagePosition(index, message.topic, message.log_time_ns)
                self._skip(f'{where.describe()}: {error}')
            else:
                self._count(self.summary.rejected, self.summary.first_rejection, error.reason,
                            f'{error} (first at image #{index})')
            return None
        self.summary.stage_ms['decode'].append((time.perf_counter() - tick) * 1e3)
        try:
            result = self.pipeline(frame, channel_order=channel_order)
        except Exception as error:  # noqa: BLE001 - one bad frame must not end the run
            kind = (f'{error.stage}: {error.kind}' if isinstance(error, StageError)
                    else type(error).__name__)
            self._count(self.summary.failed, self.summary.first_failure, kind,
                        f'{error} (first at image #{index})')
            return None
        for stage in PIPELINE_STAGES:
            if stage in result.timings_ms:
                self.summary.stage_ms[stage].append(float(result.timings_ms[stage]))
        self.summary.processed += 1
        return result.frame_rgb, result.result

    def _write_outputs(self, output, connections, header, message, frame_rgb, result):
        """Write one frame's output messages at the input's log time."""
        for key, msg in build_messages(header, frame_rgb, result, self.options.outputs).items():
            output.write(connections[key], message.log_time_ns, serialize_message(msg))

    @staticmethod
    def _count(counts: dict, first: dict, kind: str, text: str):
        counts[kind] = counts.get(kind, 0) + 1
        first.setdefault(kind, text)


def build_messages(header, frame_rgb, result, outputs) -> dict:
    """Build the node's output messages for one frame (see :mod:`liver_landmarks.ros.messages`)."""
    from liver_landmarks.ros.messages import build_output_messages

    return build_output_messages(header, np.ascontiguousarray(frame_rgb), result, set(outputs))


def write_frame_json(directory, index: int, header, polylines) -> Path:
    """Write one frame's polylines as P2ILF 2D-contour JSON named by index and stamp.

    The file appears whole or not at all: it is written under a temporary name and
    renamed, and the temporary file is removed when writing fails (a full disk).
    """
    from liver_landmarks.p2ilf_io import contours_from_polylines, write_p2ilf_json

    stamp = f'{header.stamp.sec}.{header.stamp.nanosec:09d}'
    path = Path(directory) / f'frame_{index:06d}_{stamp}.json'
    temporary = path.with_name(f'.{path.name}.partial')
    try:
        write_p2ilf_json(contours_from_polylines(polylines), temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path

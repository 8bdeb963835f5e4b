# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The segmentation node's engine, without ROS: frames in, finished outputs out.

A frame's route: the node's subscription callback hands the message to
:meth:`FrameProcessor.submit` (``sensor_msgs/Image``) or
:meth:`FrameProcessor.submit_compressed` (``sensor_msgs/CompressedImage``), which decodes
it (a zero-copy view where the encoding allows), checks its stamp and
puts it in a :class:`~liver_landmarks.ros.frame_queue.NewestFrameSlot`; the worker
thread takes the newest frame, checks its stamp again, runs the
:class:`~liver_landmarks.pipeline.Pipeline` and hands the result to the one ``publish``
callable it was given. Nothing goes back to the node.

Everything that can happen to a frame is counted in :class:`NodeHealth` and logged at
most once per period per kind, and :meth:`FrameProcessor.assess` judges health by what
reaches the outputs, so a stream the node cannot use never looks healthy.
"""

from dataclasses import dataclass, replace
import threading
import time
from typing import Callable

from liver_landmarks.landmarks import INPUT_HEIGHT, INPUT_WIDTH
from liver_landmarks.pipeline import Pipeline, StageError
from liver_landmarks.ros.diagnostics import ERROR, NodeHealth, OK, WARN
from liver_landmarks.ros.frame_queue import FrameWorker, NewestFrameSlot
from liver_landmarks.ros.image_conversion import (
    decode_colour_frame, decode_compressed_frame, ImageFormatError)
import numpy as np

#: Seconds between two log lines about the same kind of event.
LOG_PERIOD_S = 5.0
#: Refused encodings are each named in the log at least once, up to this many names;
#: beyond that (a stream of made-up names) they share one throttled line.
MAX_NAMED_ENCODINGS = 32
#: Health turns from WARN to ERROR after this many ``input_timeout_s`` without output.
ERROR_AFTER_TIMEOUTS = 5.0
#: Refusal reasons about the encoding or format: each one refused is named in the log.
_ENCODING_REASONS = ('unsupported_encoding', 'not_colour', 'unsupported_compressed_format')


@dataclass(frozen=True)
class FrameLimits:
    """When frames are dropped by their stamp, and when missing output is reported."""

    max_frame_age_s: float = 1.0      # 0 disables the age check
    max_future_stamp_s: float = 1.0   # 0 disables the future-stamp check
    input_timeout_s: float = 2.0


@dataclass
class PendingFrame:
    """A decoded frame waiting for the worker; ``frame`` is a view over ``msg.data``."""

    msg: object
    frame: np.ndarray
    channel_order: str
    decode_ms: float


class ThrottledLog:
    """Log each kind of message at most once per period, saying how many were held back."""

    def __init__(self, logger, period_s: float = LOG_PERIOD_S, clock=time.monotonic):
        self._logger = logger
        self._period_s = period_s
        self._clock = clock
        self._lock = threading.Lock()
        self._logged_at = {}
        self._held_back = {}

    def __call__(self, kind: str, level: str, message: str) -> bool:
        """Log ``message`` at ``level`` ('info', 'warning', 'error') unless ``kind`` is muted."""
        with self._lock:
            now = self._clock()
            if now - self._logged_at.get(kind, -self._period_s) < self._period_s:
                self._held_back[kind] = self._held_back.get(kind, 0) + 1
                return False
            self._logged_at[kind] = now
            held_back = self._held_back.pop(kind, 0)
        if held_back:
            message += f' ({held_back} similar since the last such line)'
        # One call site per level: rclpy's logger refuses a call site that changes severity.
        if level == 'error':
            self._logger.error(message)
        elif level == 'warning':
            self._logger.warning(message)
        else:
            self._logger.info(message)
        return True


def stamp_ns(msg) -> int:
    """Nanoseconds of a message's header stamp."""
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


class FrameProcessor:
    """Newest-frame slot, worker thread, pipeline, stamp checks and health of one node.

    ``publish(msg_header, pipeline_result)`` is called on the worker thread with each
    finished frame; ``now_ns()`` reads the clock stamps are compared with (the node's,
    so simulated time works); ``logger`` has ``info``, ``warning`` and ``error``.
    """

    def __init__(self, pipeline: Pipeline, publish: Callable, now_ns: Callable[[], int],
                 logger, limits: FrameLimits = FrameLimits(), clock=time.monotonic):
        self.pipeline = pipeline
        self.health = NodeHealth(clock=clock)
        self.limits = limits
        self._publish = publish
        self._now_ns = now_ns
        self._logger = logger
        self.log = ThrottledLog(logger, clock=clock)
        self._slot = NewestFrameSlot()
        self._worker = None
        self._named_encodings = set()

    # Lifetime --------------------------------------------------------------------------

    def start(self):
        """Start the worker and the input/output timeouts (on activation)."""
        self._slot.clear()
        if self.pipeline.backend.max_in_flight > 1:
            self._worker = FrameWorker(self._slot, self._start_frame, self._failed,
                                       finish=self._finish_frame, ready=self._inferred)
        else:
            self._worker = FrameWorker(self._slot, self._process, self._failed)
        self._worker.start()
        self.health.watch_input()

    def stop(self):
        """Let the worker finish its frame and stop; drop the waiting frame."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self._slot.clear()

    def close(self):
        """Stop and release the pipeline (its model)."""
        self.stop()
        self.pipeline.close()

    def update(self, limits: FrameLimits, postprocess=None):
        """Apply new limits and, when given, new post-processing settings to the next frame."""
        self.limits = limits
        if postprocess is not None:
            self.pipeline.update_config(postprocess)

    # The frame's route -----------------------------------------------------------------

    def submit(self, msg):
        """Decode and check one ``sensor_msgs/Image``-like message; queue it for the worker.

        Runs on the executor thread and never raises for bad input: a refused frame is
        counted under its reason and logged (throttled).
        """
        self._accept(msg, msg.encoding, lambda: decode_colour_frame(
            msg.width, msg.height, msg.encoding, msg.step, msg.is_bigendian, msg.data))

    def submit_compressed(self, msg):
        """Decode and check one ``sensor_msgs/CompressedImage``-like message (JPEG or PNG)."""
        self._accept(msg, msg.format, lambda: decode_compressed_frame(msg.format, msg.data))

    def _accept(self, msg, encoding, decode):
        self.health.frame_received()
        started = time.perf_counter()
        try:
            frame, channel_order = decode()
        except ImageFormatError as error:
            self._refuse(encoding, error)
            return
        decode_ms = (time.perf_counter() - started) * 1000.0
        if self._dropped_by_stamp(msg):
            return
        if self._slot.put(PendingFrame(msg, frame, channel_order, decode_ms)):
            self.health.frame_dropped('replaced')

    def _process(self, pending: PendingFrame):
        """Run the pipeline on one frame and publish its outputs (worker thread)."""
        started = self._start_frame(pending)
        if started is not None:
            self._finish_frame(started)

    def _start_frame(self, pending: PendingFrame):
        """Pre-process a frame and start its inference; return what :meth:`_finish_frame` takes."""
        if self._dropped_by_stamp(pending.msg):
            return None
        return pending, self.pipeline.start(pending.frame, channel_order=pending.channel_order)

    @staticmethod
    def _inferred(token):
        """Wait until a started frame's inference is done (its failure is _finish_frame's)."""
        try:
            token[1].labels()
        except Exception:  # noqa: BLE001 - raised again, under its stage, by finish
            pass

    def _finish_frame(self, token):
        """Post-process a started frame and publish its outputs (worker thread)."""
        pending, in_flight = token
        output = self.pipeline.finish(in_flight)
        started = time.perf_counter()
        try:
            self._publish(pending.msg.header, output)
        except Exception as error:  # noqa: BLE001 - counted under its stage like any other
            raise StageError('publish', error) from error
        publish_ms = (time.perf_counter() - started) * 1000.0
        self.health.frame_processed(
            {'decode': pending.decode_ms, **output.timings_ms, 'publish': publish_ms})

    # Checks and counting ---------------------------------------------------------------

    def _dropped_by_stamp(self, msg) -> bool:
        now_ns = self._now_ns()
        if now_ns == 0:
            return False  # simulated time before the first /clock: nothing to compare with
        age_s = (now_ns - stamp_ns(msg)) / 1e9
        limits = self.limits
        if 0.0 < limits.max_frame_age_s < age_s:
            count = self.health.frame_dropped('stale')
            self.log('stale', 'warning', (
                f'dropping frames older than max_frame_age_s={limits.max_frame_age_s} s (this '
                f'one is {age_s:.3f} s old, {count} so far): the camera clock and this node '
                'clock disagree, or use_sim_time is off during replay'))
            return True
        if 0.0 < limits.max_future_stamp_s < -age_s:
            count = self.health.frame_dropped('future')
            self.log('future', 'warning', (
                f'dropping frames stamped more than max_future_stamp_s='
                f'{limits.max_future_stamp_s} s ahead of this node clock (this one by '
                f'{-age_s:.3f} s, {count} so far): synchronise the camera clock, or turn '
                'use_sim_time on during replay'))
            return True
        return False

    def _refuse(self, encoding, error: ImageFormatError):
        reason = error.reason
        named = reason in _ENCODING_REASONS
        count = self.health.frame_rejected(reason, repr(encoding) if named else '')
        kind = reason
        if named and (encoding in self._named_encodings
                      or len(self._named_encodings) < MAX_NAMED_ENCODINGS):
            self._named_encodings.add(encoding)
            kind = f'{reason} {encoding!r}'
        self.log(kind, 'warning', f'rejected frame ({reason}, {count} so far): {error}')

    def _failed(self, error: BaseException):
        stage = error.stage if isinstance(error, StageError) else 'processing'
        kind = error.kind if isinstance(error, StageError) else type(error).__name__
        cause = error.error if isinstance(error, StageError) else error
        if self.health.processing_failed(stage, kind) == 1:
            self._logger.error(
                f'{stage} of a frame raised {kind}: {cause}; the frame is skipped and later '
                f'{kind} errors in {stage} are only counted on /diagnostics')

    # Health ----------------------------------------------------------------------------

    def input_silent(self) -> bool:
        """Return True when no frame at all has arrived for ``input_timeout_s``."""
        return self.health.seconds_without_input() > self.limits.input_timeout_s

    def assess(self, input_topic: str) -> tuple[bytes, str]:
        """Return the diagnostic level and message of an active node, judged by its outputs."""
        timeout = self.limits.input_timeout_s
        silent_s = self.health.seconds_without_input()
        if silent_s > timeout:
            return WARN, (f'no input on {input_topic} for {silent_s:.1f} s '
                          f'(input_timeout_s={timeout})')
        no_output_s = self.health.seconds_without_output()
        if no_output_s <= timeout:
            return OK, 'active: processing'
        level = ERROR if no_output_s > ERROR_AFTER_TIMEOUTS * timeout else WARN
        reason, count, lost = self.health.dominant_loss()
        why = (f'{count} of the {lost} frames lost since were {reason}' if reason else
               'the frame in the pipeline has not finished (the model is slower than '
               'input_timeout_s)')
        return level, (f'frames arrive on {input_topic} but none was published for '
                       f'{no_output_s:.1f} s (input_timeout_s={timeout}): {why}')


def limits_of(settings) -> FrameLimits:
    """Return the :class:`FrameLimits` held by any object with the same attribute names."""
    return replace(FrameLimits(), **{name: float(getattr(settings, name))
                                     for name in FrameLimits.__dataclass_fields__})


def load_pipeline(settings) -> tuple[Pipeline, dict]:
    """Build and warm up the pipeline ``settings`` name; return it with its identity.

    ``settings`` has ``model_card``, ``backend``, ``device`` and ``postprocess``. The
    identity (backend, device, precision, model name, weights hash, card) is what the
    diagnostics report.
    """
    pipeline = Pipeline.from_model_card(settings.model_card, backend=settings.backend,
                                        device=settings.device, config=settings.postprocess)
    try:
        # The first runs allocate buffers and compile kernels: pay for them now, not on
        # the first frame of the operation.
        pipeline.backend.warmup()
        pipeline(np.full((INPUT_HEIGHT, INPUT_WIDTH, 3), 96, dtype=np.uint8))
    except BaseException:
        pipeline.close()
        raise
    described, card = pipeline.backend.describe(), pipeline.backend.model_card
    return pipeline, {
        'backend': described['backend'], 'device': described['device'],
        'precision': described.get('precision', ''),
        'model': card.name or settings.model_card.stem,
        'model_sha256': card.weights_sha256, 'model_card': str(settings.model_card)}

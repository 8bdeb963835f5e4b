# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""What the segmentation node reports on ``/diagnostics``: rates, stage latencies, counts.

:class:`NodeHealth` is fed from the subscription callback and the worker thread and
read by the node's 1 Hz timer, so every method takes its lock. Every window is bounded,
so a node that runs for days keeps the same few kilobytes here. Besides counting, it
remembers when an output last left the node and why the frames since then did not
make it, so that health is judged by what reaches the outputs, not by what arrives.
"""

from collections import Counter, deque
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from liver_landmarks.pipeline import STAGES
import numpy as np

#: Diagnostic levels, as the node's status reports them.
OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR

#: Stages whose faults are counted separately (``processing``: not attributable).
ERROR_STAGES = STAGES[1:] + ('processing',)

#: Ways a frame can be dropped after arriving intact, each counted as ``dropped_<why>``.
DROP_REASONS = ('stale', 'future', 'replaced')

#: At most this many distinct reasons for lost frames are told apart between two outputs
#: (a stream of ever new encoding names must not grow memory); later ones are pooled.
MAX_LOSS_REASONS = 64

#: How many recent frames the latency median and p95 are taken over.
LATENCY_WINDOW = 300


class NodeHealth:
    """Counters and latency windows of one node, safe to update from several threads."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._latency = {stage: deque(maxlen=LATENCY_WINDOW) for stage in STAGES}
        self._counts = Counter()
        self._rejected = Counter()
        self._errors = Counter()
        self._losses = Counter()
        self._last_input = None
        self._last_output = None
        self._watch_since = clock()
        self._last_tick = (clock(), 0, 0)

    def watch_input(self):
        """Start the input and output timeouts afresh (on activation)."""
        with self._lock:
            self._watch_since = self._clock()
            self._last_input = None
            self._last_output = None
            self._losses.clear()

    def _lost(self, why: str, detail: str = ''):
        key = f'{why} ({detail})' if detail else why
        if key not in self._losses and len(self._losses) >= MAX_LOSS_REASONS:
            key = why
        self._losses[key] += 1

    def frame_received(self):
        """Count a frame that arrived, whatever happens to it next."""
        with self._lock:
            self._counts['received'] += 1
            self._last_input = self._clock()

    def frame_processed(self, latencies_ms: dict):
        """Count a frame whose outputs were published, with its per-stage latencies."""
        with self._lock:
            self._counts['processed'] += 1
            self._last_output = self._clock()
            self._losses.clear()
            for stage, value in latencies_ms.items():
                if stage in self._latency:
                    self._latency[stage].append(float(value))

    def frame_dropped(self, why: str) -> int:
        """Count a frame dropped for one of :data:`DROP_REASONS`; return the count so far."""
        with self._lock:
            self._counts[f'dropped_{why}'] += 1
            self._lost(f'dropped as {why}')
            return self._counts[f'dropped_{why}']

    def frame_rejected(self, reason: str, detail: str = '') -> int:
        """Count a frame refused as bad input; return how many had this reason so far.

        ``detail`` (an encoding name, say) tells the reasons apart in the health message.
        """
        with self._lock:
            self._rejected[reason] += 1
            self._lost(f'rejected as {reason}', detail)
            return self._rejected[reason]

    def processing_failed(self, stage: str, kind: str) -> int:
        """Count a frame whose ``stage`` raised ``kind``; return the count of that pair."""
        with self._lock:
            self._errors[stage, kind] += 1
            self._lost(f'{stage} raised {kind}')
            return self._errors[stage, kind]

    def seconds_without_output(self) -> float:
        """Seconds since a frame's outputs were last published, or since watching began."""
        with self._lock:
            since = self._last_output if self._last_output is not None else self._watch_since
            return self._clock() - since

    def dominant_loss(self) -> tuple[str, int, int]:
        """Return (most frequent reason, its count, all lost) since the last output."""
        with self._lock:
            if not self._losses:
                return '', 0, 0
            (reason, count), = self._losses.most_common(1)
            return reason, count, sum(self._losses.values())

    def seconds_without_input(self) -> float:
        """Seconds since the last frame arrived, or since watching began if none has."""
        with self._lock:
            since = self._last_input if self._last_input is not None else self._watch_since
            return self._clock() - since

    def counts(self) -> dict:
        """Return a snapshot of every counter, flat, as reported in the diagnostics."""
        with self._lock:
            snapshot = {name: self._counts[name] for name in
                        ('received', 'processed', *(f'dropped_{why}' for why in DROP_REASONS))}
            snapshot['rejected'] = sum(self._rejected.values())
            snapshot.update({f'rejected.{reason}': count
                             for reason, count in sorted(self._rejected.items())})
            for stage in ERROR_STAGES:
                snapshot[f'{stage}_errors'] = sum(
                    count for (where, _), count in self._errors.items() if where == stage)
            snapshot.update({f'errors.{stage}.{kind}': count
                             for (stage, kind), count in sorted(self._errors.items())})
            return snapshot

    def latency_summary(self) -> dict:
        """Return ``{stage: (median_ms, p95_ms)}`` over the recent window; NaN when empty."""
        with self._lock:
            windows = {stage: np.array(values) for stage, values in self._latency.items()}
        return {stage: ((float(np.median(values)), float(np.percentile(values, 95)))
                        if len(values) else (float('nan'), float('nan')))
                for stage, values in windows.items()}

    def rates(self) -> tuple[float, float]:
        """Return (input, output) frames per second since the previous call."""
        with self._lock:
            now = self._clock()
            received, processed = self._counts['received'], self._counts['processed']
            then, received_then, processed_then = self._last_tick
            self._last_tick = (now, received, processed)
        elapsed = max(now - then, 1e-9)
        return (received - received_then) / elapsed, (processed - processed_then) / elapsed


def _format(value) -> str:
    if isinstance(value, float):
        return f'{value:.2f}'
    return str(value)


def build_status(name: str, level: bytes, message: str, values: dict,
                 hardware_id: str = '') -> DiagnosticStatus:
    """Build one ``DiagnosticStatus`` with its values as strings, in the given order."""
    return DiagnosticStatus(
        level=level, name=name, message=message, hardware_id=hardware_id,
        values=[KeyValue(key=key, value=_format(value)) for key, value in values.items()])


def health_values(health: NodeHealth, identity: dict) -> dict:
    """Return the diagnostics values of a node: identity first, then rates, latency, counts."""
    input_rate, output_rate = health.rates()
    values = dict(identity)
    values['input_rate_hz'] = input_rate
    values['output_rate_hz'] = output_rate
    for stage, (median, p95) in health.latency_summary().items():
        values[f'{stage}_median_ms'] = median
        values[f'{stage}_p95_ms'] = p95
    values.update(health.counts())
    return values


def lifecycle_status(state: str, configure_error: str = '') -> tuple[bytes, str]:
    """Return the level and message of a node in lifecycle ``state`` (active: refined later).

    A node that publishes nothing and will not again (finalized) or that could not load
    its model is an ERROR; every other state is OK until its outputs say otherwise.
    """
    if state == 'unconfigured' and configure_error:
        return ERROR, f'configure failed: {configure_error}'
    if state == 'configuring':
        return OK, 'configuring: loading and warming up the model'
    if state == 'finalized':
        return ERROR, 'finalized: shut down, publishes nothing; restart the node'
    return OK, state


def build_array(stamp, statuses) -> DiagnosticArray:
    """Wrap statuses in a ``DiagnosticArray`` stamped ``stamp``."""
    array = DiagnosticArray(status=list(statuses))
    array.header.stamp = stamp
    return array

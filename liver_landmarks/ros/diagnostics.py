# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""What the segmentation node reports on ``/diagnostics``: rates, stage latencies, counts.

:class:`NodeHealth` is fed from the subscription callback and the worker thread and
read by the node's 1 Hz timer, so every method takes its lock. Every window is bounded,
so a node that runs for days keeps the same few kilobytes here.
"""

from collections import Counter, deque
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np

#: The stages whose latency is reported, in the order a frame goes through them.
STAGES = ('decode', 'preprocess', 'inference', 'postprocess', 'publish')

#: Stages whose faults are counted separately (``processing``: not attributable).
ERROR_STAGES = ('preprocess', 'inference', 'postprocess', 'publish', 'processing')

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
        self._last_input = None
        self._watch_since = clock()
        self._last_tick = (clock(), 0, 0)

    def watch_input(self):
        """Start the input timeout afresh (on activation)."""
        with self._lock:
            self._watch_since = self._clock()
            self._last_input = None

    def frame_received(self):
        """Count a frame that arrived, whatever happens to it next."""
        with self._lock:
            self._counts['received'] += 1
            self._last_input = self._clock()

    def frame_processed(self, latencies_ms: dict):
        """Count a frame whose outputs were published, with its per-stage latencies."""
        with self._lock:
            self._counts['processed'] += 1
            for stage, value in latencies_ms.items():
                if stage in self._latency:
                    self._latency[stage].append(float(value))

    def frame_dropped(self, why: str):
        """Count a frame dropped as ``'stale'`` or ``'replaced'``."""
        with self._lock:
            self._counts[f'dropped_{why}'] += 1

    def frame_rejected(self, reason: str) -> int:
        """Count a frame refused as bad input; return how many had this reason so far."""
        with self._lock:
            self._rejected[reason] += 1
            return self._rejected[reason]

    def processing_failed(self, stage: str, kind: str) -> int:
        """Count a frame whose ``stage`` raised ``kind``; return the count of that pair."""
        with self._lock:
            self._errors[stage, kind] += 1
            return self._errors[stage, kind]

    def seconds_without_input(self) -> float:
        """Seconds since the last frame arrived, or since watching began if none has."""
        with self._lock:
            since = self._last_input if self._last_input is not None else self._watch_since
            return self._clock() - since

    def counts(self) -> dict:
        """Return a snapshot of every counter, flat, as reported in the diagnostics."""
        with self._lock:
            snapshot = {name: self._counts[name] for name in
                        ('received', 'processed', 'dropped_stale', 'dropped_replaced')}
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


def build_array(stamp, statuses) -> DiagnosticArray:
    """Wrap statuses in a ``DiagnosticArray`` stamped ``stamp``."""
    array = DiagnosticArray(status=list(statuses))
    array.header.stamp = stamp
    return array

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Soak the segmentation node under camera load at twice its rate and measure it.

Starts ``segmentation_node`` as the launch file does, then publishes 1920x1080 rgb8
frames over loopback DDS at twice the camera rate (30 Hz camera -> 60 Hz) for
``--duration`` seconds while a client subscribes to the outputs a registration node
uses. Every second it samples the node's resident memory and CPU (psutil); at the end
it reports, as Markdown (stdout and ``soak.md``) and JSON (``soak.json``):

* the memory slope in MiB/min (least squares over the samples after ``--warmup``) of
  the resident set read at each second and of each second's mean of ten readings (which
  frame buffers living a fraction of a second move less), and the same for its
  anonymous (heap) part, which leaves out the DDS shared-memory segments and libraries;
* frames published, received by the node, processed, dropped (replaced, stale) and
  rejected, from the node's own diagnostics counters;
* end-to-end latency (input stamp to first output arriving) p50/p99 per ``--window``.

Usage: ``python -m liver_landmarks_tools soak [--duration 600] [--camera-rate 30]
[--model CARD.json] [--backend auto] [--out out/soak]``. Without ``--model`` a randomly
initialised UNet (ResNet-34) is made: the load is real, the segmentations are noise.
The soak runs in a fresh network namespace with only ``lo`` up where ``unshare -n``
works (``--no-netns``: never, e.g. when the caller is already inside one).
"""

import json
import os
from pathlib import Path
import platform
import subprocess
import sys
import threading
import time

from liver_landmarks_tools.dds_bench import netns_available, summarise_latencies
from liver_landmarks_tools.support.data import REPOSITORY
from liver_landmarks_tools.support.loopback import use_loopback_dds
import numpy as np
import psutil

REPO_ROOT = REPOSITORY
NODE_NAME = '/segmentation_node'
IMAGE_TOPIC = '/camera/image'
_NETNS_MARKER = 'LIVER_LANDMARKS_SOAK_IN_NETNS'
#: Diagnostics counters copied into the report.
COUNTERS = ('received', 'processed', 'dropped_replaced', 'dropped_stale', 'rejected',
            'preprocess_errors', 'inference_errors', 'postprocess_errors', 'publish_errors',
            'processing_errors')


def add_parser(subparsers):
    """Add the ``soak`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser(
        'soak', help='run the node for minutes under camera load; report memory and latency',
        description=__doc__.splitlines()[0])
    parser.add_argument('--duration', type=float, default=600.0,
                        help='seconds of load after the node is warm (default 600)')
    parser.add_argument('--warmup', type=float, default=60.0,
                        help='seconds at the start left out of the memory slope (default 60)')
    parser.add_argument('--camera-rate', type=float, default=30.0,
                        help='camera rate in Hz; frames are published at twice it')
    parser.add_argument('--width', type=int, default=1920)
    parser.add_argument('--height', type=int, default=1080)
    parser.add_argument('--window', type=float, default=60.0,
                        help='seconds per latency row (default 60: p50/p99 per minute)')
    parser.add_argument('--model', type=Path, default=None,
                        help='model card JSON (default: a random UNet-ResNet34)')
    parser.add_argument('--backend', default='auto')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--outputs', default='labels,polylines',
                        help='outputs the client subscribes to (comma separated)')
    parser.add_argument('--param', action='append', default=[], metavar='NAME=VALUE',
                        help='extra node parameter, as -p NAME:=VALUE (repeatable)')
    parser.add_argument('--startup-timeout', type=float, default=180.0)
    parser.add_argument('--out', type=Path, default=REPO_ROOT / 'out' / 'soak')
    parser.add_argument('--no-netns', action='store_true',
                        help='do not enter a fresh network namespace')
    parser.set_defaults(func=run)
    return parser


def least_squares_slope(times_s, values) -> float | None:
    """Slope of the least-squares line through ``values`` over ``times_s``, per minute."""
    if len(times_s) < 3:
        return None
    slope_per_s = np.polyfit(np.asarray(times_s, np.float64) / 60.0,
                             np.asarray(values, np.float64), 1)[0]
    return round(float(slope_per_s), 3)


class NodeSampler:
    """Samples a process's resident memory and CPU once per ``period`` on its own thread.

    Memory is read ``readings`` times per period: each sample keeps the reading at its
    instant (``rss_mib``) and the period's mean (``rss_mean_mib``).
    """

    def __init__(self, pid: int, period: float = 1.0, readings: int = 10, extra=dict):
        self._process = psutil.Process(pid)
        self._period = period
        self._readings = readings
        self._extra = extra
        self._stop = threading.Event()
        self.samples = []
        self._started = time.monotonic()
        self._process.cpu_percent(None)
        self._thread = threading.Thread(target=self._run, name='soak-sampler', daemon=True)

    def start(self, started: float):
        """Sample from now on; times are seconds since ``started`` (monotonic)."""
        self._started = started
        self._thread.start()

    def stop(self):
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=5.0)

    def _run(self):
        next_tick = time.monotonic()
        while not self._stop.is_set():
            readings = []
            for _ in range(self._readings):
                next_tick += self._period / self._readings
                self._stop.wait(max(0.0, next_tick - time.monotonic()))
                try:
                    memory = self._process.memory_info()
                except psutil.Error:
                    return  # the node is gone; the caller reports it
                readings.append((memory.rss / 2**20, (memory.rss - memory.shared) / 2**20))
            try:
                cpu = self._process.cpu_percent(None)
            except psutil.Error:
                return
            (rss, anon), (rss_mean, anon_mean) = readings[-1], np.mean(readings, axis=0)
            self.samples.append({
                't_s': round(time.monotonic() - self._started, 3),
                'rss_mib': round(rss, 2), 'rss_mean_mib': round(float(rss_mean), 2),
                'anon_mib': round(anon, 2), 'anon_mean_mib': round(float(anon_mean), 2),
                'cpu_percent': round(cpu, 1), 'load1': round(os.getloadavg()[0], 2),
                **self._extra()})


def make_frames(width: int, height: int, count: int = 4) -> list:
    """Build ``count`` different liver-like rgb8 messages once; only their stamps change."""
    from liver_landmarks.ros.image_conversion import numpy_to_image_msg
    from liver_landmarks.calibration import calibration_frame

    messages = []
    for seed in range(count):
        msg = numpy_to_image_msg(calibration_frame(width, height, seed=seed), 'rgb8')
        msg.header.frame_id = 'laparoscope'
        messages.append(msg)
    return messages


def _model_card(args) -> Path:
    if args.model is not None:
        return args.model.resolve()
    from liver_landmarks_tools.support.models import make_random_model_artifact
    print('soak: no --model: using a RANDOMLY INITIALISED UNet-ResNet34 (load is real, '
          'segmentations are noise)', file=sys.stderr)
    return make_random_model_artifact(args.out / 'random_model', 'unet', 'resnet34', seed=0)


def _start_node(args, card: Path, log_path: Path) -> subprocess.Popen:
    from liver_landmarks_tools.support.node_client import node_command

    parameters = {'model_card': card, 'backend': args.backend, 'device': args.device}
    for item in args.param:
        name, _, value = item.partition('=')
        parameters[name] = value
    env = dict(os.environ, PYTHONUNBUFFERED='1', RCUTILS_LOGGING_BUFFERED_STREAM='0')
    with open(log_path, 'wb') as log:
        return subprocess.Popen(node_command(image_topic=IMAGE_TOPIC, parameters=parameters),
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)


class Publisher:
    """Publishes the prepared frames at ``rate_hz`` from its own thread, counting them."""

    def __init__(self, client, frames, rate_hz: float):
        self._client = client
        self._frames = frames
        self._period = 1.0 / rate_hz
        self._stop = threading.Event()
        self.published = 0
        self.late_ticks = 0
        self.stamps = []
        self._thread = threading.Thread(target=self._run, name='soak-camera', daemon=True)

    def start(self):
        """Start publishing."""
        self._thread.start()

    def stop(self):
        """Stop publishing."""
        self._stop.set()
        self._thread.join(timeout=10.0)

    def _run(self):
        next_tick = time.monotonic()
        while not self._stop.is_set():
            msg = self._frames[self.published % len(self._frames)]
            self.stamps.append(self._client.publish_raw(msg))
            self.published += 1
            next_tick += self._period
            delay = next_tick - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                # Behind schedule (a busy CPU): publish at once, but do not burst to catch up.
                self.late_ticks += 1
                next_tick = time.monotonic()


def latency_windows(latencies_s: dict, first_stamp_ns: int, window_s: float) -> list:
    """Group ``{stamp_ns: latency_s}`` by the stamp's window; p50/p99 (ms) per window."""
    by_window = {}
    for stamp, latency in latencies_s.items():
        if stamp >= first_stamp_ns:
            index = int((stamp - first_stamp_ns) / 1e9 // window_s)
            by_window.setdefault(index, []).append(latency * 1e3)
    return [{'start_s': round(index * window_s, 1), 'frames': len(values),
             **summarise_latencies(values)} for index, values in sorted(by_window.items())]


def _window_resources(samples, windows, window_s):
    for row in windows:
        inside = [s for s in samples if row['start_s'] <= s['t_s'] < row['start_s'] + window_s]
        if inside:
            row['rss_mib_end'] = inside[-1]['rss_mib']
            row['cpu_percent_mean'] = round(float(np.mean([s['cpu_percent'] for s in inside])), 1)
            row['load1_mean'] = round(float(np.mean([s['load1'] for s in inside])), 2)


def summarise(samples, warmup_s: float) -> dict:
    """Memory slopes after the warm-up and CPU figures from the per-second samples.

    ``rss`` is the least-squares slope of the reading at each second; ``rss_mean`` that
    of each second's mean reading, which buffers living for a fraction of a second
    (a 1080p frame in flight takes tens of MiB) move less.
    """
    steady = [sample for sample in samples if sample['t_s'] >= warmup_s]
    times = [sample['t_s'] for sample in steady]
    figures = {
        'samples': len(samples), 'steady_samples': len(steady),
        **{f'{key}_slope_mib_per_min': least_squares_slope(
            times, [sample[f'{key}_mib'] for sample in steady])
           for key in ('rss', 'rss_mean', 'anon', 'anon_mean')},
    }
    if samples:
        cpu = [sample['cpu_percent'] for sample in samples]
        figures.update(
            rss_mib_first=samples[0]['rss_mib'], rss_mib_last=samples[-1]['rss_mib'],
            rss_mib_max=max(sample['rss_mib'] for sample in samples),
            anon_mib_first=samples[0]['anon_mib'], anon_mib_last=samples[-1]['anon_mib'],
            cpu_percent_mean=round(float(np.mean(cpu)), 1), cpu_percent_max=max(cpu),
            load1_mean=round(float(np.mean([sample['load1'] for sample in samples])), 2))
    if steady:
        figures['rss_mib_at_warmup_end'] = steady[0]['rss_mib']
    return figures


def run_soak(args) -> dict:
    """Start the node, load it, sample it; return the report as a dict."""
    use_loopback_dds()
    from liver_landmarks_tools.support.node_client import (
        NodeClient, status_values, stop_node_process)

    args.out.mkdir(parents=True, exist_ok=True)
    card = _model_card(args)
    frames = make_frames(args.width, args.height)
    node_log = args.out / 'node.log'
    node = _start_node(args, card, node_log)
    report = {'config': {
        'duration_s': args.duration, 'warmup_s': args.warmup, 'camera_rate_hz': args.camera_rate,
        'publish_rate_hz': 2 * args.camera_rate, 'width': args.width, 'height': args.height,
        'model_card': str(card), 'backend': args.backend, 'device': args.device,
        'outputs': args.outputs, 'params': args.param, 'node_log': str(node_log),
        'window_s': args.window,
        'machine': {'cpus': os.cpu_count(), 'platform': platform.platform(),
                    'python': platform.python_version(),
                    'load1_at_start': round(os.getloadavg()[0], 2)}}}
    client = NodeClient(NODE_NAME, image_topic=IMAGE_TOPIC,
                        keys=tuple(key for key in args.outputs.split(',') if key), keep=4)
    publisher = None
    sampler = None
    try:
        if not client.wait_until_connected(timeout=args.startup_timeout):
            raise RuntimeError(f'the node did not come up within {args.startup_timeout:.0f} s; '
                               f'see {node_log}')
        warm = _wait_warm(client, frames, args.startup_timeout)
        if not warm:
            raise RuntimeError(f'no output for a 1080p frame within {args.startup_timeout:.0f} s'
                               f'; see {node_log}')
        status = client.latest_status()
        before = status_values(status) if status else {}
        publisher = Publisher(client, frames, 2 * args.camera_rate)
        sampler = NodeSampler(node.pid, extra=lambda: {'published': publisher.published,
                                                       'outputs': len(client.latencies_s)})
        started = time.monotonic()
        sampler.start(started)
        publisher.start()
        while time.monotonic() - started < args.duration:
            if node.poll() is not None:
                raise RuntimeError(f'the node exited with {node.returncode} during the soak; '
                                   f'see {node_log}')
            time.sleep(0.5)
        sampler.stop()  # before the load ends: only loaded seconds count
        publisher.stop()
        time.sleep(2.0)  # the last frame's outputs and one more diagnostics message
        status = client.wait_for_status(lambda values, status: True, timeout=5.0)
        after = status_values(status) if status else {}
        report['counts'] = _counts(before, after, publisher)
        report['node_diagnostics'] = after
        report['memory_cpu'] = summarise(sampler.samples, args.warmup)
        first_stamp = publisher.stamps[0] if publisher.stamps else 0
        latencies = {stamp: latency for stamp, latency in list(client.latencies_s.items())
                     if stamp >= first_stamp}
        report['latency_ms'] = summarise_latencies([value * 1e3 for value in latencies.values()])
        report['latency_windows'] = latency_windows(latencies, first_stamp, args.window)
        _window_resources(sampler.samples, report['latency_windows'], args.window)
        report['publisher'] = {'published': publisher.published,
                               'rate_hz': round(publisher.published / args.duration, 2),
                               'late_ticks': publisher.late_ticks}
        report['samples'] = sampler.samples
    finally:
        if publisher is not None:
            publisher.stop()
        if sampler is not None:
            sampler.stop()
        client.close()
        report['node_exit_code'] = stop_node_process(node)
        report['config']['machine']['load1_at_end'] = round(os.getloadavg()[0], 2)
    return report


def _wait_warm(client, frames, timeout_s: float) -> bool:
    """Publish frames until one comes back: the node is active and its model warm."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stamp = client.publish_raw(frames[0])
        if client.wait_for_outputs(stamp, timeout=5.0) is not None:
            return True
    return False


def _counts(before: dict, after: dict, publisher) -> dict:
    """Node counters over the soak (after minus before the load began)."""
    counts = {name: int(after.get(name, 0)) - int(before.get(name, 0)) for name in COUNTERS}
    counts['published'] = publisher.published
    # Frames that never reached the node's callback: DDS replaced them in the depth-1
    # input queue (best effort, by design) or lost them on the way.
    counts['not_received'] = publisher.published - counts['received']
    return counts


def to_markdown(report: dict) -> str:
    """Render the report as Markdown."""
    config, counts = report['config'], report.get('counts', {})
    memory, latency = report.get('memory_cpu', {}), report.get('latency_ms', {})
    machine = config['machine']
    lines = [
        f'# Soak: {config["duration_s"]:.0f} s at {config["publish_rate_hz"]:.0f} Hz, '
        f'{config["width"]}x{config["height"]} rgb8',
        '',
        f'Model `{Path(config["model_card"]).name}`, backend `{config["backend"]}` '
        f'(ran as `{report.get("node_diagnostics", {}).get("backend", "?")}` on '
        f'`{report.get("node_diagnostics", {}).get("device", "?")}`), client subscribed to '
        f'`{config["outputs"]}`. Machine: {machine["cpus"]} CPUs, load average '
        f'{machine["load1_at_start"]} at start, {machine.get("load1_at_end", "?")} at end. '
        f'Node exit code {report.get("node_exit_code")}.',
        '',
        '| figure | value |', '|---|---|',
        f'| RSS slope after {config["warmup_s"]:.0f} s warm-up | '
        f'{memory.get("rss_slope_mib_per_min")} MiB/min |',
        f'| slope of each second\'s mean RSS | {memory.get("rss_mean_slope_mib_per_min")} '
        'MiB/min |',
        f'| anonymous (heap) memory slope, instant / mean | '
        f'{memory.get("anon_slope_mib_per_min")} / '
        f'{memory.get("anon_mean_slope_mib_per_min")} MiB/min |',
        f'| RSS first / at warm-up end / last / max | {memory.get("rss_mib_first")} / '
        f'{memory.get("rss_mib_at_warmup_end")} / {memory.get("rss_mib_last")} / '
        f'{memory.get("rss_mib_max")} MiB |',
        f'| node CPU mean / max | {memory.get("cpu_percent_mean")} / '
        f'{memory.get("cpu_percent_max")} % of one core |',
        f'| published (rate) | {counts.get("published")} '
        f'({report.get("publisher", {}).get("rate_hz")} Hz) |',
        f'| received by the node / not received (DDS depth-1 replacement) | '
        f'{counts.get("received")} / {counts.get("not_received")} |',
        f'| processed | {counts.get("processed")} |',
        f'| dropped replaced / stale / rejected | {counts.get("dropped_replaced")} / '
        f'{counts.get("dropped_stale")} / {counts.get("rejected")} |',
        '| processing errors | '
        + str(sum(counts.get(name, 0) for name in COUNTERS if name.endswith('_errors'))) + ' |',
        f'| end-to-end latency p50 / p99 / max | {latency.get("p50_ms")} / '
        f'{latency.get("p99_ms")} / {latency.get("max_ms")} ms |',
        '',
        f'Latency over time (input stamp to first output), per {config["window_s"]:.0f} s:',
        '',
        '| from s | frames | p50 ms | p99 ms | RSS at end MiB | node CPU % | load avg |',
        '|---|---|---|---|---|---|---|',
    ]
    for row in report.get('latency_windows', []):
        lines.append(f'| {row["start_s"]:.0f} | {row["frames"]} | {row.get("p50_ms")} | '
                     f'{row.get("p99_ms")} | {row.get("rss_mib_end", "")} | '
                     f'{row.get("cpu_percent_mean", "")} | {row.get("load1_mean", "")} |')
    return '\n'.join(lines) + '\n'


def run(args) -> int:
    """Run the soak (inside a fresh network namespace where possible) and write the report."""
    if not args.no_netns and not os.environ.get(_NETNS_MARKER) and netns_available():
        env = dict(os.environ, **{_NETNS_MARKER: '1'})
        command = [sys.executable, '-m', 'liver_landmarks_tools', 'soak', *args.command_argv]
        return subprocess.call(['unshare', '-n', 'bash', '-c', 'ip link set lo up && exec "$@"',
                                '_', *command], env=env)
    args.out = args.out.resolve()
    try:
        report = run_soak(args)
    except RuntimeError as error:
        print(f'soak: {error}', file=sys.stderr)
        return 1
    markdown = to_markdown(report)
    (args.out / 'soak.json').write_text(json.dumps(report, indent=1))
    (args.out / 'soak.md').write_text(markdown)
    print(markdown)
    return 0 if report.get('node_exit_code') == 0 else 1

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""End-to-end rate and latency of a segmentation node through real DDS.

Three processes, as in the operating room: a camera-like publisher of 1920x1080
``rgb8`` frames, the node under test, and a subscriber of the node's outputs. Every
output carries its input's header, so latency is the subscriber's receive time minus
the header stamp (one host, one clock). The publisher first sends ``warmup`` frames
until the subscriber has seen an output (the node is up and its model warm), then
``bench`` frames for the measured period; only those are counted.

All three run with the loopback DDS profile
(:func:`liver_landmarks_tools.support.loopback.use_loopback_dds`) and, where ``unshare -n``
works, inside a fresh network namespace whose only interface is ``lo``.

This module imports only the standard library and numpy at module level (rclpy is
imported by the roles), so ``gpu-bench`` can use it on a machine where the
package's other dependencies are missing. Roles run as
``python -m liver_landmarks_tools.dds_bench {publish,subscribe,harness} ...``.
"""

import argparse
import contextlib
import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

WARMUP_ID = 'warmup'
BENCH_ID = 'bench'
#: Output key (last part of the topic) -> message type; everything else is an Image.
_OUTPUT_TYPES = {'polylines': ('sensor_msgs.msg', 'PointCloud2'),
                 'markers': ('visualization_msgs.msg', 'MarkerArray')}


def summarise_latencies(values_ms) -> dict:
    """Median, p95, p99 and max of a list of latencies in ms (empty-safe)."""
    if not len(values_ms):
        return {'count': 0}
    values = np.asarray(values_ms, dtype=np.float64)
    return {'count': int(values.size),
            **{f'p{q}_ms': round(float(np.percentile(values, q)), 2) for q in (50, 95, 99)},
            'max_ms': round(float(values.max()), 2)}


def netns_available() -> bool:
    """Return True when ``unshare -n`` and ``ip`` can make a private namespace with ``lo`` up."""
    # Without `ip` the namespace's lo would stay down and DDS could not discover anything.
    if shutil.which('unshare') is None or shutil.which('ip') is None:
        return False
    try:
        return subprocess.run(['unshare', '-n', 'true'], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def loopback_env(domain_id=None) -> dict:
    """Return this process's environment plus loopback DDS variables and a private domain."""
    from liver_landmarks_tools.support.loopback import use_loopback_dds
    env = use_loopback_dds(dict(os.environ))
    env['ROS_DOMAIN_ID'] = str(domain_id if domain_id is not None
                               else env.get('ROS_DOMAIN_ID') or 30 + os.getpid() % 70)
    env.setdefault('PYTHONUNBUFFERED', '1')
    return env


def run_dds_benchmark(node_command, duration_s: float = 10.0, rate_hz: float = 30.0,
                      output_topics=('/segmentation_node/labels',),
                      startup_timeout_s: float = 90.0, width: int = 1920, height: int = 1080,
                      out_dir=None, isolate: bool = True, domain_id=None) -> dict:
    """Run publisher, ``node_command`` and subscriber as processes; return the figures.

    ``rate_hz`` is the publisher's rate (a node slower than that drops frames; its
    output rate is then its throughput). Raises RuntimeError, with the tail of each
    process's log, when no output arrives within ``startup_timeout_s``.
    """
    spec = {'node_command': [str(part) for part in node_command], 'duration_s': duration_s,
            'rate_hz': rate_hz, 'output_topics': list(output_topics),
            'startup_timeout_s': startup_timeout_s, 'width': width, 'height': height}
    work = Path(tempfile.mkdtemp(prefix='dds_bench_', dir=out_dir))
    env = loopback_env(domain_id)
    (work / 'spec.json').write_text(json.dumps(spec))
    use_netns = isolate and netns_available()
    harness = [sys.executable, '-m', 'liver_landmarks_tools.dds_bench', 'harness', str(work)]
    if use_netns:
        harness = ['unshare', '-n', 'bash', '-c', 'ip link set lo up && exec "$@"', '_',
                   *harness]
    timeout = startup_timeout_s + duration_s + 120.0
    completed = subprocess.run(harness, env=env, capture_output=True, text=True,
                               timeout=timeout)
    result_path = work / 'result.json'
    if not result_path.is_file():
        raise RuntimeError(f'DDS benchmark harness failed (exit {completed.returncode}): '
                           f'{(completed.stderr or completed.stdout)[-3000:]}')
    result = json.loads(result_path.read_text())
    result['network_namespace'] = use_netns
    result['work_dir'] = str(work)
    if 'error' in result:
        raise RuntimeError(result['error'])
    return result


def _harness(work: Path) -> int:
    """Start subscriber, node and publisher; collect their figures into result.json."""
    spec = json.loads((work / 'spec.json').read_text())
    ready = work / 'first_output'
    python = [sys.executable, '-m', 'liver_landmarks_tools.dds_bench']
    logs = {name: open(work / f'{name}.log', 'w') for name in ('subscriber', 'node', 'publisher')}
    processes = {}
    result = {'spec': spec}
    try:
        processes['subscriber'] = _start(
            python + ['subscribe', '--ready-file', str(ready), '--result',
                      str(work / 'subscriber.json'), *spec['output_topics']], logs['subscriber'])
        processes['node'] = _start(spec['node_command'], logs['node'])
        processes['publisher'] = _start(
            python + ['publish', '--ready-file', str(ready), '--result',
                      str(work / 'publisher.json'), '--rate', str(spec['rate_hz']),
                      '--duration', str(spec['duration_s']), '--width', str(spec['width']),
                      '--height', str(spec['height']), '--startup-timeout',
                      str(spec['startup_timeout_s'])], logs['publisher'])
        node_cpu = _node_cpu_sampler(processes['node'].pid)
        wait_s = spec['startup_timeout_s'] + spec['duration_s'] + 60.0
        try:
            processes['publisher'].wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            result['error'] = f'publisher did not finish within {wait_s:.0f} s'
        time.sleep(1.0)  # outputs of the last frames still in flight
        result['node_cpu_percent'] = node_cpu()
        for name in ('subscriber', 'node'):
            _stop(processes[name])
        published = _read_json(work / 'publisher.json')
        received = _read_json(work / 'subscriber.json')
        if published is None or not published.get('measured', False):
            result.setdefault('error', 'no output arrived from the node in time; '
                              + published.get('reason', '') if published else
                              'the publisher wrote no result')
        else:
            result.update(_figures(published, received or {}))
    except Exception as error:  # noqa: BLE001 - reported to the caller through the file
        result['error'] = f'{type(error).__name__}: {error}'
    finally:
        for process in processes.values():
            _stop(process)
        for handle in logs.values():
            handle.close()
        if 'error' in result:
            result['error'] += ''.join(
                f'\n--- {name} log tail:\n{_tail(work / f"{name}.log")}' for name in logs)
        (work / 'result.json').write_text(json.dumps(result, indent=1))
    return 0


def _figures(published: dict, received: dict) -> dict:
    """Rates, latencies and drops from the publisher's and subscriber's records."""
    duration = published['measured_s']
    sent = published['published']
    topics = {}
    complete = None
    for topic, record in received.get('topics', {}).items():
        stamps = set(record['stamps'])
        complete = stamps if complete is None else complete & stamps
        topics[topic] = {'received': len(stamps), 'rate_hz': round(len(stamps) / duration, 2),
                         'drop_fraction': round(1.0 - len(stamps) / sent, 4) if sent else None,
                         'latency': summarise_latencies(record['latencies_ms'])}
    summary = ', '.join(
        f'{topic.rsplit("/", 1)[-1]} {figures["rate_hz"]} Hz p50 '
        f'{figures["latency"].get("p50_ms", "-")} ms p95 {figures["latency"].get("p95_ms", "-")}'
        f' ms' for topic, figures in topics.items())
    return {'published': sent, 'publish_rate_hz': round(sent / duration, 2),
            'measured_s': round(duration, 2), 'topics': topics,
            'complete_frames': len(complete or ()),
            'end_to_end_hz': round(len(complete or ()) / duration, 2),
            'summary': f'published {sent / duration:.1f} Hz; {summary}'}


def _node_cpu_sampler(pid: int):
    """Return a function giving the node's mean CPU % since now (None without psutil)."""
    try:
        import psutil
        process = psutil.Process(pid)
        process.cpu_percent(None)
    except Exception:  # noqa: BLE001 - psutil is optional for this figure
        return lambda: None

    def read():
        with contextlib.suppress(Exception):
            return round(process.cpu_percent(None), 1)
        return None
    return read


def _start(command, log) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen, grace_s: float = 10.0):
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace_s)


def _read_json(path: Path):
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text())
    return None


def _tail(path: Path, size: int = 1500) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors='replace')[-size:]
    return ''


def _publish(args) -> int:
    """Publish (role): warm-up frames until the first output, then the measured period."""
    from liver_landmarks.calibration import calibration_frame
    from liver_landmarks_tools.support.loopback import use_loopback_dds
    use_loopback_dds()
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    frame = calibration_frame(args.width, args.height)
    rclpy.init()
    node = rclpy.create_node('bench_camera')
    publisher = node.create_publisher(
        Image, args.topic, QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
    msg = Image(height=args.height, width=args.width, encoding='rgb8', step=args.width * 3)
    msg.data = _uint8_array(frame)
    ready = Path(args.ready_file)
    period = 1.0 / args.rate
    result = {'measured': False, 'rate_hz': args.rate}
    deadline = time.monotonic() + args.startup_timeout

    def send(frame_id):
        msg.header.frame_id = frame_id
        msg.header.stamp = node.get_clock().now().to_msg()
        publisher.publish(msg)

    try:
        while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        first_output = None
        for _ in _ticks(period, lambda: time.monotonic() < deadline):
            send(WARMUP_ID)
            if first_output is None and ready.exists():
                first_output = time.monotonic()
            if first_output is not None and time.monotonic() - first_output > 1.0:
                break
        if first_output is None:
            result['reason'] = (f'no output within {args.startup_timeout:.0f} s '
                                f'({publisher.get_subscription_count()} subscriber(s) to '
                                f'{args.topic})')
            return 1
        count = 0
        publish_ms = []
        began = time.monotonic()
        for _ in _ticks(period, lambda: time.monotonic() - began < args.duration):
            started = time.perf_counter()
            send(BENCH_ID)
            publish_ms.append((time.perf_counter() - started) * 1e3)
            count += 1
        result.update(measured=True, published=count, measured_s=time.monotonic() - began,
                      publish_call=summarise_latencies(publish_ms))
        return 0
    finally:
        Path(args.result).write_text(json.dumps(result))
        node.destroy_node()
        rclpy.try_shutdown()


def _ticks(period: float, keep_going):
    """Yield at ``period`` intervals while ``keep_going()``; late ticks are not made up."""
    next_tick = time.monotonic()
    while keep_going():
        yield
        next_tick += period
        delay = next_tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_tick = time.monotonic()


def _uint8_array(frame: np.ndarray):
    import array
    buffer = array.array('B')
    buffer.frombytes(np.ascontiguousarray(frame).reshape(-1).view(np.uint8))
    return buffer


def _subscribe(args) -> int:
    """Subscribe (role): record receive time minus stamp of every ``bench`` output."""
    from liver_landmarks_tools.support.loopback import use_loopback_dds
    use_loopback_dds()
    import importlib
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    rclpy.init()
    node = rclpy.create_node('bench_sink')
    ready = Path(args.ready_file)
    records = {topic: {'stamps': [], 'latencies_ms': []} for topic in args.topics}
    # Reliable, as a registration node would subscribe; the node's keep-last history means
    # a slow subscriber loses old outputs instead of stalling it.
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)

    def callback(topic):
        record = records[topic]

        def on_message(msg):
            received_ns = node.get_clock().now().nanoseconds
            header = msg.markers[0].header if hasattr(msg, 'markers') and msg.markers \
                else getattr(msg, 'header', None)
            if header is None:
                return
            if not ready.exists():
                ready.touch()
            if header.frame_id == BENCH_ID:
                stamp = header.stamp.sec * 1_000_000_000 + header.stamp.nanosec
                record['stamps'].append(stamp)
                record['latencies_ms'].append((received_ns - stamp) / 1e6)
        return on_message

    for topic in args.topics:
        module, name = _OUTPUT_TYPES.get(topic.rsplit('/', 1)[-1], ('sensor_msgs.msg', 'Image'))
        msg_type = getattr(importlib.import_module(module), name)
        node.create_subscription(msg_type, topic, callback(topic), qos)
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    try:
        while not stop and rclpy.ok():
            rclpy.spin_once(node, timeout_sec=0.1)
    finally:
        Path(args.result).write_text(json.dumps({'topics': records}))
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def main(argv=None) -> int:
    """Run one role of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    roles = parser.add_subparsers(dest='role', required=True)
    publish = roles.add_parser('publish')
    publish.add_argument('--topic', default='/camera/image')
    publish.add_argument('--rate', type=float, default=30.0)
    publish.add_argument('--duration', type=float, default=10.0)
    publish.add_argument('--width', type=int, default=1920)
    publish.add_argument('--height', type=int, default=1080)
    publish.add_argument('--startup-timeout', type=float, default=90.0)
    publish.add_argument('--ready-file', required=True)
    publish.add_argument('--result', required=True)
    subscribe = roles.add_parser('subscribe')
    subscribe.add_argument('topics', nargs='+')
    subscribe.add_argument('--ready-file', required=True)
    subscribe.add_argument('--result', required=True)
    harness = roles.add_parser('harness')
    harness.add_argument('work_dir')
    args = parser.parse_args(argv)
    if args.role == 'publish':
        return _publish(args)
    if args.role == 'subscribe':
        return _subscribe(args)
    return _harness(Path(args.work_dir))


if __name__ == '__main__':
    sys.exit(main())

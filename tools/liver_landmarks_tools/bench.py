# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Per-stage latency of the pipeline for each backend and architecture, and the machine.

The stages are the node's, timed one frame at a time on 1920x1080 ``rgb8`` frames:
``decode`` (``sensor_msgs/Image`` to an array view), ``preprocess`` (resize and
normalise to 1x3x320x416), ``inference`` (the backend's class ids), ``postprocess``
(polylines and re-drawn labels at 1920x1080) and ``message_build`` (the labels,
mask, polyline-cloud and marker messages). Each is reported as median and p95 over
the frames after two warm-up frames. Beside them, ``overlapped`` is the rate of the
pipeline's three stages in the node worker's order (the next frame started before the
last is finished), which gains when the backend infers asynchronously.

Models are random-initialised unless a trained model card is given: latency does
not depend on the weights, but post-processing time does a little (a random network
paints noise that the post-processor has more to clean up in), and int8 quantisation
cannot keep 99 % agreement on a random network, so OpenVINO falls back to bf16 or
fp32 on one (the report says which precision ran).

The end-to-end DDS figures come from :mod:`liver_landmarks_tools.dds_bench`.
"""

import contextlib
import importlib.util
import os
from pathlib import Path
import platform
import subprocess
import time
from typing import Optional, Sequence

import numpy as np

STAGES = ('decode', 'preprocess', 'inference', 'postprocess', 'message_build')
#: What the node publishes to a typical consumer (the overlay is for display only).
MESSAGE_KEYS = ('labels', 'ridge/mask', 'ligament/mask', 'silhouette/mask', 'polylines',
                'markers')
WARMUP_FRAMES = 2
FRAME_WIDTH = 1920
FRAME_HEIGHT = 1080


def summarise(values_ms: Sequence[float]) -> dict:
    """Return median, p95, mean and count of a list of milliseconds (rounded to 0.01 ms)."""
    values = np.asarray(values_ms, dtype=np.float64)
    if values.size == 0:
        return {'n': 0}
    return {'median_ms': round(float(np.median(values)), 2),
            'p95_ms': round(float(np.percentile(values, 95)), 2),
            'mean_ms': round(float(values.mean()), 2), 'n': int(values.size)}


def describe_machine() -> dict:
    """Return CPU model, cores, memory, load, OS, Python and library versions, GPU and driver."""
    info = {'cpu': cpu_model(), 'logical_cores': os.cpu_count(),
            'platform': platform.platform(), 'python': platform.python_version()}
    with contextlib.suppress(Exception):
        import psutil
        info['physical_cores'] = psutil.cpu_count(logical=False)
        info['memory_gib'] = round(psutil.virtual_memory().total / 2**30, 1)
    with contextlib.suppress(OSError, AttributeError):
        info['load_average'] = [round(value, 2) for value in os.getloadavg()]
    for module in ('torch', 'openvino', 'nncf', 'torch_tensorrt', 'segmentation_models_pytorch'):
        info[f'{module}_version'] = _version(module)
    info.update(_gpu())
    return info


def cpu_model() -> str:
    """Return the CPU's model name from /proc/cpuinfo (or what platform knows)."""
    with contextlib.suppress(OSError):
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    return platform.processor() or 'unknown'


def _version(module: str) -> Optional[str]:
    if importlib.util.find_spec(module) is None:
        return None
    try:
        imported = __import__(module)
    except Exception as error:  # noqa: BLE001 - installed but broken is worth reporting
        return f'does not import: {type(error).__name__}'
    if module == 'openvino':
        return imported.get_version()
    return getattr(imported, '__version__', 'unknown')


def _gpu() -> dict:
    import torch
    if not torch.cuda.is_available():
        return {'gpu': None}
    info = {'gpu': torch.cuda.get_device_name(0), 'cuda_runtime': torch.version.cuda}
    with contextlib.suppress(Exception):
        smi = subprocess.run(['nvidia-smi', '--query-gpu=driver_version',
                              '--format=csv,noheader'], capture_output=True, text=True,
                             timeout=20)
        info['gpu_driver'] = smi.stdout.strip() or None
    return info


def available_backends(device: str = 'auto') -> list[str]:
    """Backends that can run here: torch always, openvino if importable, tensorrt on CUDA."""
    import torch
    backends = ['torch']
    if importlib.util.find_spec('openvino') is not None and device in ('auto', 'cpu'):
        backends.append('openvino')
    if (torch.cuda.is_available() and device != 'cpu'
            and importlib.util.find_spec('torch_tensorrt') is not None):
        backends.append('tensorrt')
    return backends


def bench_frames(count: int = 4) -> list[tuple[str, np.ndarray]]:
    """Return (name, 1920x1080 RGB frame): the real P2ILF sample if present, then synthetic."""
    import cv2
    from liver_landmarks.backends.base import sample_frame_paths
    from liver_landmarks.calibration import calibration_frame
    from liver_landmarks_tools.support.data import P2ILF_IMAGES

    frames = []
    for path in sample_frame_paths(P2ILF_IMAGES)[:count]:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None:
            image = cv2.resize(image, (FRAME_WIDTH, FRAME_HEIGHT), interpolation=cv2.INTER_AREA)
            frames.append((path.name, np.ascontiguousarray(image[:, :, ::-1])))
    seed = 0
    while len(frames) < count:
        frames.append((f'synthetic_{seed}', calibration_frame(FRAME_WIDTH, FRAME_HEIGHT, seed)))
        seed += 1
    return frames


class MessageStage:
    """The node's message building, or a no-op with a reason when ROS messages are absent."""

    def __init__(self):
        """Import the ROS message builders if they are available."""
        try:
            from builtin_interfaces.msg import Time
            from liver_landmarks.ros.image_conversion import numpy_to_image_msg
            from liver_landmarks.ros.messages import build_output_messages
            from std_msgs.msg import Header
        except ImportError as error:
            self.unavailable = f'ROS messages do not import: {error}'
            return
        self.unavailable = ''
        self._build = build_output_messages
        self._to_msg = numpy_to_image_msg
        self._header = Header(frame_id='camera', stamp=Time(sec=1, nanosec=0))

    def image_message(self, frame: np.ndarray):
        """Return the frame as the node receives it (an Image message, or its raw fields)."""
        if self.unavailable:
            return _RawImage(frame)
        return self._to_msg(frame, 'rgb8', self._header)

    def build(self, frame: np.ndarray, result) -> int:
        """Build the output messages; return how many were built."""
        if self.unavailable:
            return 0
        return len(self._build(self._header, frame, result, set(MESSAGE_KEYS)))


class _RawImage:
    """The fields of an rgb8 ``sensor_msgs/Image`` without ROS."""

    def __init__(self, frame: np.ndarray):
        self.height, self.width = frame.shape[:2]
        self.encoding, self.step, self.is_bigendian = 'rgb8', frame.shape[1] * 3, 0
        self.data = frame.tobytes()


def measure_stages(pipeline, frames: Sequence[np.ndarray], count: int,
                   messages: Optional[MessageStage] = None) -> dict:
    """Time every stage over ``count`` frames (cycling through ``frames``) after warm-up.

    Returns ``{stage: summary}`` plus ``'total'``; ``message_build`` is absent when
    ROS messages are not importable.
    """
    from liver_landmarks.ros.image_conversion import decode_colour_frame

    messages = messages or MessageStage()
    incoming = [messages.image_message(frame) for frame in frames]
    times = {stage: [] for stage in STAGES + ('total',)}
    for index in range(count + WARMUP_FRAMES):
        msg = incoming[index % len(incoming)]
        clock = [time.perf_counter()]
        frame, order = decode_colour_frame(msg.width, msg.height, msg.encoding, msg.step,
                                           msg.is_bigendian, msg.data)
        clock.append(time.perf_counter())
        batch = pipeline.preprocessor(frame, order)
        clock.append(time.perf_counter())
        class_ids = pipeline.backend.predict_labels(batch)[0]
        clock.append(time.perf_counter())
        result = pipeline.postprocessor(class_ids, frame=frame, output_size=frame.shape[:2])
        clock.append(time.perf_counter())
        messages.build(frame, result)
        clock.append(time.perf_counter())
        if index < WARMUP_FRAMES:
            continue
        for stage, start, end in zip(STAGES, clock, clock[1:]):
            times[stage].append(1000.0 * (end - start))
        times['total'].append(1000.0 * (clock[-1] - clock[0]))
    if messages.unavailable:
        del times['message_build']
    return {stage: summarise(values) for stage, values in times.items()}


def measure_overlapped(pipeline, frames: Sequence[np.ndarray], count: int) -> dict:
    """Frames per second through the node's worker order: start the next, finish the last.

    Pre-processing to post-processing only (no decoding, no message building). Every
    frame is ready at once (a camera faster than the node), so this is the rate the
    worker's pipeline part can reach when inference overlaps post-processing; without
    asynchronous inference it is the rate of those three stages in turn.
    """
    for frame in frames[:WARMUP_FRAMES]:
        pipeline(frame)
    started = time.perf_counter()
    in_flight = None
    for index in range(count):
        if in_flight is not None:
            in_flight.labels()  # as the worker: take the next frame once inference is free
        following = pipeline.start(frames[index % len(frames)])
        if in_flight is not None:
            pipeline.finish(in_flight)
        in_flight = following
    pipeline.finish(in_flight)
    elapsed = time.perf_counter() - started
    return {'frames_per_s': round(count / elapsed, 2), 'n': count,
            'max_in_flight': pipeline.backend.max_in_flight}


def measure_reference_postprocess(count: int) -> Optional[dict]:
    """Time post-processing of the real sample's ground truth (416x320 ids, 1080p output).

    A random network paints noise, which costs the post-processor more than real
    landmarks do; this row gives the representative figure. None without the sample.
    """
    import cv2
    from liver_landmarks.backends.base import sample_frame_paths
    from liver_landmarks.landmarks import INPUT_HEIGHT, INPUT_WIDTH
    from liver_landmarks.p2ilf_io import read_label_image
    from liver_landmarks.postprocess import PostProcessor
    from liver_landmarks.preprocess import resize_labels
    from liver_landmarks_tools.support.data import P2ILF_IMAGES

    for frame_path in sample_frame_paths(P2ILF_IMAGES):
        label_path = frame_path.parent.parent / 'labels' / f'{frame_path.stem}_GT.jpg'
        frame = cv2.imread(str(frame_path), cv2.IMREAD_COLOR)
        if not label_path.is_file() or frame is None:
            continue
        frame = np.ascontiguousarray(frame[:, :, ::-1])
        class_ids = resize_labels(read_label_image(label_path), INPUT_HEIGHT, INPUT_WIDTH)
        postprocessor = PostProcessor()
        times = []
        for index in range(count + WARMUP_FRAMES):
            started = time.perf_counter()
            postprocessor(class_ids, frame=frame, output_size=frame.shape[:2])
            if index >= WARMUP_FRAMES:
                times.append(1000.0 * (time.perf_counter() - started))
        return {'labels': label_path.name, 'postprocess': summarise(times)}
    return None


def prepare_model_cards(architectures: Sequence[str], encoder: str, directory: Path,
                        trained: Sequence[Path] = ()) -> dict[str, tuple[Path, str]]:
    """Return ``{architecture: (card, 'trained' or 'random')}``: trained cards first."""
    from liver_landmarks.model.artifact import load_model_card
    from liver_landmarks_tools.support.models import make_random_model_artifact

    cards = {}
    for card_path in trained:
        card = load_model_card(card_path)
        cards.setdefault(card.architecture, (Path(card_path), 'trained'))
    for architecture in architectures:
        if architecture not in cards:
            cards[architecture] = (make_random_model_artifact(directory, architecture, encoder,
                                                              seed=0), 'random')
    return {architecture: cards[architecture] for architecture in architectures}


def run_stage_benchmarks(cards: dict, backends: Sequence[str], device: str, count: int,
                         backend_options: Optional[dict] = None, log=print) -> list[dict]:
    """Measure every (architecture, backend); a backend that cannot start is reported."""
    from liver_landmarks.pipeline import Pipeline

    frames = [frame for _, frame in bench_frames()]
    messages = MessageStage()
    rows = []
    for architecture, (card_path, weights) in cards.items():
        for backend in backends:
            row = {'architecture': architecture, 'backend': backend, 'weights': weights,
                   'card': str(card_path), 'load_average': _load_average()}
            started = time.monotonic()
            try:
                options = dict((backend_options or {}).get(backend, {}))
                with Pipeline.from_model_card(card_path, backend=backend, device=device,
                                              **options) as pipeline:
                    row['startup_s'] = round(time.monotonic() - started, 1)
                    description = pipeline.describe()
                    row.update(device=description.get('device'),
                               precision=description.get('precision'),
                               backend_description=description)
                    row['stages'] = measure_stages(pipeline, frames, count, messages)
                    row['overlapped'] = measure_overlapped(pipeline, frames, count)
            except Exception as error:  # noqa: BLE001 - one failing backend is a result too
                row['error'] = f'{type(error).__name__}: {error}'
            if messages.unavailable:
                row['message_build_skipped'] = messages.unavailable
            rows.append(row)
            log(_row_line(row))
    return rows


def _load_average() -> Optional[float]:
    """Return the 1-minute load average (other work on a shared machine), if known."""
    with contextlib.suppress(OSError, AttributeError):
        return round(os.getloadavg()[0], 2)
    return None


def _row_line(row: dict) -> str:
    if 'error' in row:
        return f'{row["architecture"]:>12} {row["backend"]:>9}: failed: {row["error"][:200]}'
    stages = row['stages']
    parts = ' '.join(f'{stage} {stages[stage]["median_ms"]:.1f}' for stage in stages
                     if stage != 'total')
    overlapped = row.get('overlapped', {}).get('frames_per_s')
    return (f'{row["architecture"]:>12} {row["backend"]:>9} {row["precision"]:>5}: '
            f'total {stages["total"]["median_ms"]:.1f} ms (median; {parts}; '
            f'load {row["load_average"]}); overlapped {overlapped} frames/s')


def dds_node_command(card_path: Path, backend: str, device: str,
                     parameters: Optional[dict] = None) -> list[str]:
    """Return the command that starts the package's node on ``card_path`` and ``/camera/image``.

    ``parameters`` override the node's parameters file (``-p name:=value``).
    """
    from liver_landmarks_tools.support.node_client import node_command
    return node_command(image_topic='/camera/image', parameters={
        'model_card': str(card_path), 'backend': backend, 'device': device,
        **(parameters or {})})


def run_dds_benchmarks(card_path: Path, backends: Sequence[str], device: str,
                       duration_s: float, rate_hz: float, work_dir: Path,
                       parameters: Optional[dict] = None, log=print) -> list[dict]:
    """Run the three-process DDS benchmark for each backend; failures are reported rows."""
    from liver_landmarks_tools.dds_bench import run_dds_benchmark

    rows = []
    for backend in backends:
        row = {'backend': backend, 'card': str(card_path), 'rate_hz': rate_hz,
               'duration_s': duration_s, 'frame': f'{FRAME_WIDTH}x{FRAME_HEIGHT} rgb8',
               'node_parameters': dict(parameters or {})}
        try:
            row.update(run_dds_benchmark(
                dds_node_command(card_path, backend, device, parameters),
                duration_s=duration_s,
                rate_hz=rate_hz, output_topics=('/segmentation_node/labels',
                                                '/segmentation_node/polylines'),
                width=FRAME_WIDTH, height=FRAME_HEIGHT, out_dir=work_dir))
            log(f'dds {backend}: {row["summary"]}')
        except Exception as error:  # noqa: BLE001 - reported in the results
            row['error'] = f'{type(error).__name__}: {error}'
            log(f'dds {backend}: failed: {row["error"][:300]}')
        rows.append(row)
    return rows


def add_pipeline_ratios(stages: Sequence[dict], dds: Sequence[dict]) -> None:
    """Give each DDS row the single-frame pipeline rate of its backend and model, and the ratio.

    ``pipeline_hz`` is 1 / (median total of the per-stage row with the same backend and
    card); ``ratio`` is ``end_to_end_hz / pipeline_hz``: the share of the node's possible
    rate that reaches the subscriber (above 1 when inference overlaps the other stages).
    """
    for row in dds:
        if 'error' in row:
            continue
        match = next((stage for stage in stages if 'error' not in stage
                      and stage['backend'] == row['backend']
                      and stage['card'] == row['card']), None)
        median = match['stages']['total'].get('median_ms') if match else None
        if median:
            row['pipeline_hz'] = round(1000.0 / median, 2)
            row['ratio'] = round(row['end_to_end_hz'] / row['pipeline_hz'], 3)


def markdown_report(results: dict) -> str:
    """Render the results as Markdown: machine, per-stage table, DDS table, notes."""
    machine = results['machine']
    lines = ['# liver_landmarks benchmark', '',
             f'Run {results["started"]}, {results["settings"]["frames"]} frames per row '
             f'(median / p95 ms, after {WARMUP_FRAMES} warm-up frames), 1920x1080 rgb8 input.',
             '', '## Machine', '', '| | |', '|---|---|']
    for key, value in machine.items():
        lines.append(f'| {key} | {value} |')
    lines += ['', '## Per-stage latency (ms, median / p95)', '',
              '| architecture | weights | backend | precision | ' + ' | '.join(STAGES)
              + ' | total | Hz (1/median total) | overlapped frames/s | load |',
              '|' + '---|' * (len(STAGES) + 8)]
    for row in results['stages']:
        if 'error' in row:
            lines.append(f'| {row["architecture"]} | {row["weights"]} | {row["backend"]} | '
                         f'failed: {row["error"][:120]} |' + ' |' * (len(STAGES) + 4))
            continue
        stages = row['stages']
        cells = [_cell(stages.get(stage)) for stage in STAGES + ('total',)]
        rate = 1000.0 / stages['total']['median_ms'] if stages['total'].get('median_ms') else 0
        lines.append(f'| {row["architecture"]} | {row["weights"]} | {row["backend"]} | '
                     f'{row["precision"]} | ' + ' | '.join(cells)
                     + f' | {rate:.1f} | {row.get("overlapped", {}).get("frames_per_s", "-")} | '
                     f'{row.get("load_average")} |')
    if results.get('dds'):
        lines += ['', '## End to end through DDS (publisher, node, subscriber processes)', '',
                  '| backend | node parameters | published Hz | labels Hz | '
                  'labels latency p50 / p95 / p99 ms | polylines latency p50 / p95 / p99 ms | '
                  'complete frames Hz | pipeline Hz | ratio | node CPU % | netns |',
                  '|---|---|---|---|---|---|---|---|---|---|---|']
        for row in results['dds']:
            parameters = ' '.join(f'{key}={value}' for key, value in
                                  row.get('node_parameters', {}).items()) or 'defaults'
            if 'error' in row:
                lines.append(f'| {row["backend"]} | {parameters} | failed: '
                             f'{row["error"][:150]} |' + ' |' * 8)
                continue
            labels = row['topics'].get('/segmentation_node/labels', {})
            polylines = row['topics'].get('/segmentation_node/polylines', {})
            lines.append(
                f'| {row["backend"]} | {parameters} | {row["publish_rate_hz"]} | '
                f'{labels.get("rate_hz")} | {_latencies(labels)} | {_latencies(polylines)} | '
                f'{row["end_to_end_hz"]} | {row.get("pipeline_hz", "-")} | '
                f'{row.get("ratio", "-")} | {row.get("node_cpu_percent")} | '
                f'{row.get("network_namespace")} |')
    reference = results.get('postprocess_reference')
    if reference:
        lines += ['', f'Post-processing the real ground truth ({reference["labels"]}, 416x320 ids '
                  f'to 1920x1080 polylines and labels): '
                  f'{_cell(reference["postprocess"])} ms (median / p95).']
    lines += ['', '## Notes', ''] + [f'- {note}' for note in results.get('notes', [])]
    return '\n'.join(lines) + '\n'


def _latencies(topic: dict) -> str:
    latency = topic.get('latency', {})
    if not latency.get('count'):
        return '-'
    return f'{latency["p50_ms"]} / {latency["p95_ms"]} / {latency["p99_ms"]}'


def _cell(summary: Optional[dict]) -> str:
    if not summary or not summary.get('n'):
        return '-'
    return f'{summary["median_ms"]:.1f} / {summary["p95_ms"]:.1f}'

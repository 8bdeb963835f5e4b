# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""GPU figures: one bounded run on a lent CUDA machine.

The three figures a deployment asks for: (a) end-to-end latency through DDS at
1920x1080 30 Hz, from the input header stamp to the polylines received by a separate
subscriber process (``dds``); (b) offline ``bag process`` throughput at 1080p, through
the package's bag processor and through the GPU frame path with post-processing on a
thread pool across frames (``bag_process``, ``gpu_frame_path``); (c) the per-stage
split of that frame path (upload, resize and normalise on the GPU, inference, class
ids back to pinned host memory, post-processing).

Beside them it measures the CUDA PyTorch paths (fp16 and bf16 autocast, half
precision, channels_last, hand-captured CUDA graphs, ``torch.compile`` with and
without CUDA graphs) for UNet and UNet++ (ResNet34, 1x3x320x416), checks each
against eager fp32 (argmax agreement, largest logit difference), and tries TensorRT
only if ``torch_tensorrt`` imports; the DDS section runs only if ``rclpy`` imports.

Every section runs under its own time limit and inside ``try``: a failure is recorded
and the run moves on. Results are written to ``OUT/gpu_bench.json`` after every
section (so a killed run still leaves what it measured) and a compact table is
printed at the end. Run on the GPU machine, from a checkout, as::

    PYTHONPATH=.:tools python3 -m liver_landmarks_tools gpu-bench --out "$OUT"

and here, to check that every section runs before it costs GPU time (the tests do)::

    python -m liver_landmarks_tools gpu-bench --dry-run --out /tmp/gpu_bench

No trained weights are needed for latency. So that the precision checks mean something
(a random network's classes are nearly tied everywhere, and any rounding flips its
argmax), each model is random-initialised, its batch-norm statistics re-estimated on
procedural frames, and then trained for up to 200 steps or 25 s per model on a
toy task of tinted curves. Pass ``--card`` to use a trained model artifact instead.
"""

import argparse
import contextlib
import copy
import json
import os
from pathlib import Path
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback

from liver_landmarks_tools.support.data import REPOSITORY
import numpy as np
import torch

INPUT_HEIGHT = 320
INPUT_WIDTH = 416
NUM_CLASSES = 4
FRAME_HEIGHT = 1080
FRAME_WIDTH = 1920
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ARCHITECTURES = {'unet': 'Unet', 'unetplusplus': 'UnetPlusPlus'}
RESULT_FILE = 'gpu_bench.json'
#: The issue's goals for the lent GPU, reported beside the figures.
TARGETS = {'dds_polylines_p50_ms': 10.0, 'dds_polylines_p99_ms': 20.0,
           'bag_frames_per_s': 200.0}
IMAGE_TOPIC = '/camera/image'


class SectionTimeout(Exception):
    """A section ran past its time limit."""


class Recorder:
    """Collect results and errors, write them to JSON after every section."""

    def __init__(self, out_dir: Path, budget_s: float):
        self.out_dir = out_dir
        self.started = time.monotonic()
        self.deadline = self.started + budget_s
        self.data = {'machine': {}, 'config': {}, 'targets': dict(TARGETS), 'inference': [],
                     'pipeline': [], 'frame_path': [], 'bag': [], 'dds': [], 'tensorrt': [],
                     'skipped': [], 'errors': []}
        out_dir.mkdir(parents=True, exist_ok=True)

    def remaining(self) -> float:
        """Seconds left of the whole run's budget."""
        return self.deadline - time.monotonic()

    def save(self):
        """Write everything recorded so far; never raise."""
        self.data['elapsed_s'] = round(time.monotonic() - self.started, 1)
        try:
            path = self.out_dir / RESULT_FILE
            tmp = path.with_suffix('.tmp')
            tmp.write_text(json.dumps(self.data, indent=1, default=str))
            os.replace(tmp, path)
        except Exception as error:  # noqa: BLE001 - results must not kill the run
            log(f'could not write results: {error}')

    @contextlib.contextmanager
    def section(self, name: str, limit_s: float, minimum_s: float = 5.0):
        """Run a block under ``limit_s`` (and the global budget); record any failure.

        Yields False (and skips the work) when the budget has less than ``minimum_s``
        left, so the caller writes ``with rec.section(...) as ok: if ok: ...``.
        """
        allowed = min(limit_s, self.remaining())
        if allowed < minimum_s:
            self.data['skipped'].append({'section': name, 'reason': 'time budget spent'})
            log(f'[skip] {name}: time budget spent')
            yield False
            return
        log(f'[start] {name} (limit {allowed:.0f} s)')
        began = time.monotonic()
        use_alarm = hasattr(signal, 'SIGALRM')
        if use_alarm:
            previous = signal.signal(signal.SIGALRM, _raise_timeout)
            signal.setitimer(signal.ITIMER_REAL, allowed)
        try:
            yield True
        except Exception as error:  # noqa: BLE001 - record and move on, by design
            self.data['errors'].append({
                'section': name, 'error': f'{type(error).__name__}: {error}'[:2000],
                'traceback': traceback.format_exc()[-3000:]})
            log(f'[error] {name}: {type(error).__name__}: {str(error)[:300]}')
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
            log(f'[done] {name} in {time.monotonic() - began:.1f} s')
            self.save()


def _raise_timeout(signum, frame):
    raise SectionTimeout('section time limit reached')


def log(message: str):
    """Print one progress line at once (the device tool shows only the output's tail)."""
    print(message, flush=True)


def percentile(values, q: float) -> float:
    """Return the q-th percentile of ``values`` (linear interpolation), rounded to 1 us."""
    return round(float(np.percentile(np.asarray(values, dtype=np.float64), q)), 4)


# ---------------------------------------------------------------- machine


def describe_machine(device: torch.device) -> dict:
    """CPU, GPU, driver and library versions, without importing anything optional."""
    info = {'python': platform.python_version(), 'torch': torch.__version__,
            'cuda_runtime': torch.version.cuda, 'cudnn': None, 'platform': platform.platform(),
            'cpu': _cpu_model(), 'cpu_count': os.cpu_count(), 'device': str(device)}
    with contextlib.suppress(Exception):
        info['cudnn'] = torch.backends.cudnn.version()
    with contextlib.suppress(Exception):
        import segmentation_models_pytorch as smp
        info['segmentation_models_pytorch'] = smp.__version__
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, compute_capability=f'{props.major}.{props.minor}',
                    gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    multiprocessors=props.multi_processor_count)
        with contextlib.suppress(Exception):
            smi = subprocess.run(
                ['nvidia-smi', '--query-gpu=name,driver_version,clocks.max.sm,power.limit',
                 '--format=csv,noheader'], capture_output=True, text=True, timeout=20)
            info['nvidia_smi'] = smi.stdout.strip()
    return info


def _cpu_model() -> str:
    try:
        from liver_landmarks_tools.bench import cpu_model  # stdlib and numpy only
        return cpu_model()
    except Exception:  # noqa: BLE001 - the repository root is not on PYTHONPATH
        return platform.processor() or 'unknown'


# ---------------------------------------------------------------- inputs and models


def procedural_frame(seed: int) -> np.ndarray:
    """Return the package's calibration frame ``seed`` at the benchmark's frame size."""
    from liver_landmarks.calibration import calibration_frame
    return calibration_frame(FRAME_WIDTH, FRAME_HEIGHT, seed)


def frame_to_tensor(frame: np.ndarray) -> torch.Tensor:
    """Resize and normalise an RGB uint8 frame to the 1x3x320x416 float32 network input."""
    tensor = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255.0
    tensor = torch.nn.functional.interpolate(
        tensor, size=(INPUT_HEIGHT, INPUT_WIDTH), mode='bilinear', antialias=True,
        align_corners=False)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((tensor - mean) / std).contiguous()


def build_model(architecture: str, seed: int, calibration: list,
                encoder: str = 'resnet34') -> torch.nn.Module:
    """Build a random-initialised smp model and re-estimate its batch-norm statistics."""
    import segmentation_models_pytorch as smp
    torch.manual_seed(seed)
    model = getattr(smp, ARCHITECTURES[architecture])(
        encoder_name=encoder, encoder_weights=None, in_channels=3, classes=NUM_CLASSES)
    model = model.to(calibration[0].device)
    # Eval-mode batch norm with untouched running statistics lets activations grow layer
    # by layer; a cumulative re-estimate on frames gives a trained network's scale.
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        for batch in calibration:
            model(batch)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = 0.1
    return model.eval()


def synthetic_batch(generator: torch.Generator, batch: int, device) -> tuple:
    """Draw a batch of a learnable toy task: smooth tissue with three kinds of curves on it.

    Returns normalised images (N,3,320,416) and class ids (N,320,416); each landmark is a
    band around a random sinusoid, tinted so that the network can find it.
    """
    height, width = INPUT_HEIGHT, INPUT_WIDTH

    def uniform(*shape):
        return torch.rand(*shape, generator=generator, device=device)
    coarse = uniform(batch, 3, 6, 8)
    images = torch.nn.functional.interpolate(coarse, size=(height, width), mode='bicubic',
                                             align_corners=False) * 0.35
    images += torch.tensor([0.55, 0.25, 0.2], device=device).view(1, 3, 1, 1)
    rows = torch.arange(height, device=device, dtype=torch.float32).view(1, height, 1)
    cols = torch.arange(width, device=device, dtype=torch.float32).view(1, 1, width)
    labels = torch.zeros(batch, height, width, dtype=torch.long, device=device)
    tints = torch.tensor([[0.25, -0.1, -0.1], [-0.15, -0.05, 0.3], [0.25, 0.3, -0.1]],
                         device=device)
    for class_id in range(1, NUM_CLASSES):
        offset = uniform(batch, 1, 1) * height
        amplitude = uniform(batch, 1, 1) * 60.0
        frequency = 0.005 + uniform(batch, 1, 1) * 0.02
        phase = uniform(batch, 1, 1) * 6.28
        centre = offset + amplitude * torch.sin(cols * frequency + phase)
        band = (rows - centre).abs() < (3.0 + 2.0 * class_id)
        labels[band] = class_id
        images += band[:, None].float() * tints[class_id - 1].view(1, 3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return ((images.clamp(0, 1) - mean) / std).contiguous(), labels


def train_briefly(model: torch.nn.Module, steps: int, time_limit_s: float, device,
                  batch: int = 8) -> dict:
    """Train on the toy task so that logits have a trained network's margins.

    A random network's classes are nearly tied at most pixels, so any rounding flips
    its argmax; a briefly trained one separates them as a real model does, which makes
    the precision checks meaningful. Bounded by ``steps`` and ``time_limit_s``.
    """
    generator = torch.Generator(device=device).manual_seed(1)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    began = time.monotonic()
    done = 0
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    loss = torch.zeros(())
    while done < steps and time.monotonic() - began < time_limit_s:
        images, labels = synthetic_batch(generator, batch, device)
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimiser.step()
        done += 1
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    model.eval()
    images, labels = synthetic_batch(torch.Generator(device=device).manual_seed(99), 2, device)
    with torch.no_grad():
        accuracy = float((model(images).argmax(1) == labels).float().mean())
    return {'train_steps': done, 'train_s': round(time.monotonic() - began, 1),
            'final_loss': round(float(loss.detach()), 4), 'toy_pixel_accuracy': round(accuracy, 4)}


def load_card_model(card_path: str):
    """Load a trained model artifact through the package (only with ``--card``)."""
    from liver_landmarks.model import load_artifact
    model, card = load_artifact(card_path, device='cpu')
    return model.eval(), {'card': str(card_path),
                          'architecture': getattr(card, 'architecture', '?')}


# ---------------------------------------------------------------- timing


def time_callable(run, inputs, device: torch.device, iterations: int, warmup: int) -> dict:
    """Latency of ``run(inputs)``: CUDA-event GPU time and synchronised wall time, in ms."""
    synchronise = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    for _ in range(warmup):
        run(inputs)
    synchronise()
    result = {'iterations': iterations}
    if device.type == 'cuda':
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(iterations)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(iterations)]
        for start, end in zip(starts, ends):
            start.record()
            run(inputs)
            end.record()
        synchronise()
        gpu = [start.elapsed_time(end) for start, end in zip(starts, ends)]
        result.update(gpu_p50_ms=percentile(gpu, 50), gpu_p95_ms=percentile(gpu, 95))
    wall = []
    for _ in range(iterations):
        began = time.perf_counter()
        run(inputs)
        synchronise()
        wall.append((time.perf_counter() - began) * 1e3)
    result.update(wall_p50_ms=percentile(wall, 50), wall_p95_ms=percentile(wall, 95),
                  wall_mean_ms=round(float(np.mean(wall)), 4))
    began = time.perf_counter()
    for _ in range(iterations):
        run(inputs)
    synchronise()
    result['throughput_hz'] = round(iterations / (time.perf_counter() - began), 1)
    return result


def compare(reference: list, candidate: list) -> dict:
    """Argmax agreement and largest absolute logit difference against the fp32 reference."""
    agree = total = 0
    largest = 0.0
    for ref, out in zip(reference, candidate):
        out = out.float()
        if not torch.isfinite(out).all():
            return {'agreement': 0.0, 'max_logit_diff': float('inf'), 'finite': False}
        agree += int((ref.argmax(1) == out.argmax(1)).sum())
        total += ref.shape[0] * ref.shape[2] * ref.shape[3]
        largest = max(largest, float((ref - out).abs().max()))
    return {'agreement': round(agree / total, 6), 'max_logit_diff': round(largest, 5),
            'finite': True}


# ---------------------------------------------------------------- variants


def make_runner(name: str, model: torch.nn.Module, example: torch.Tensor, device):
    """Return ``(run, prepared_input)`` for a variant; ``run(x)`` returns logits."""
    cuda = device.type == 'cuda'
    if name == 'eager_fp32':
        return _plain(model), example
    if name == 'eager_tf32_cl':
        cl_model = _copy(model, torch.float32)
        return _with_tf32(_plain(cl_model), cuda), example.to(memory_format=torch.channels_last)
    if name in ('autocast_fp16', 'autocast_bf16', 'autocast_fp16_cl', 'autocast_bf16_cl'):
        dtype = torch.float16 if 'fp16' in name else torch.bfloat16
        if name.endswith('_cl'):
            model = _copy(model, torch.float32)
            example = example.to(memory_format=torch.channels_last)
        return _autocast(model, device, dtype), example
    if name in ('half_fp16_cl', 'half_bf16_cl'):
        dtype = torch.float16 if 'fp16' in name else torch.bfloat16
        low = _copy(model, dtype)
        return _plain(low), example.to(dtype).to(memory_format=torch.channels_last)
    if name in ('cudagraph_fp16_cl', 'cudagraph_bf16_cl'):
        dtype = torch.float16 if 'fp16' in name else torch.bfloat16
        low = _copy(model, dtype)
        return _captured_graph(low, example.to(dtype).to(memory_format=torch.channels_last))
    if name.startswith('compile_'):
        dtype = torch.bfloat16 if '_bf16' in name else torch.float16
        mode = 'reduce-overhead' if name.endswith('_cudagraphs') else None
        low = _copy(model, dtype)
        compiled = torch.compile(low, mode=mode)
        x = example.to(dtype).to(memory_format=torch.channels_last)
        return _cloning(compiled, mode is not None), x
    raise ValueError(f'unknown variant {name}')


def _copy(model, dtype):
    """Return a channels_last copy in ``dtype`` (``Module.to`` would change the shared model)."""
    return copy.deepcopy(model).to(dtype).to(memory_format=torch.channels_last)


def _plain(model):
    def run(x):
        with torch.inference_mode():
            return model(x)
    return run


def _with_tf32(run, cuda: bool):
    def wrapped(x):
        if not cuda:
            return run(x)
        old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            return run(x)
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
    return wrapped


def _autocast(model, device, dtype):
    def run(x):
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype):
            return model(x)
    return run


def _cloning(compiled, cudagraphs: bool):
    # CUDA-graph outputs live in a static buffer overwritten by the next replay.
    def run(x):
        with torch.inference_mode():
            if cudagraphs:
                torch.compiler.cudagraph_mark_step_begin()
            out = compiled(x)
            return out.clone() if cudagraphs else out
    return run


def _captured_graph(model, example):
    """Capture one forward pass in a CUDA graph; replays copy the input into its buffer."""
    if example.device.type != 'cuda':
        raise RuntimeError('CUDA graphs need a CUDA device')
    static_input = example.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.inference_mode():
        with torch.cuda.stream(stream):
            for _ in range(3):
                model(static_input)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_output = model(static_input)

    def run(x):
        if x.data_ptr() != static_input.data_ptr():
            static_input.copy_(x)
        graph.replay()
        # The next replay overwrites static_output: hand out a copy, as _cloning does.
        # On the H200 run of 2026-11-27 this variant's outputs were not finite (fp16) or
        # wrong (bf16) while torch.compile's CUDA graphs agreed: its timings are not used.
        return static_output.clone()
    return run, static_input


# ---------------------------------------------------------------- sections


EAGER_VARIANTS = ('eager_fp32', 'eager_tf32_cl', 'autocast_fp16', 'autocast_bf16',
                  'autocast_fp16_cl', 'half_fp16_cl', 'half_bf16_cl', 'cudagraph_fp16_cl',
                  'cudagraph_bf16_cl')
COMPILE_VARIANTS = ('compile_fp16_cl_cudagraphs', 'compile_fp16_cl', 'compile_bf16_cl_cudagraphs')
CUDA_ONLY = ('eager_tf32_cl', 'cudagraph_fp16_cl', 'cudagraph_bf16_cl',
             'compile_fp16_cl_cudagraphs', 'compile_bf16_cl_cudagraphs')


def run_variant(rec: Recorder, ctx: dict, architecture: str, variant: str, limit_s: float):
    """Build, check against fp32 and time one variant of one architecture."""
    device = ctx['device']
    if device.type != 'cuda' and (variant in CUDA_ONLY or 'fp16' in variant):
        rec.data['skipped'].append({'section': f'{architecture}/{variant}',
                                    'reason': 'needs CUDA (fp16 on a CPU is emulated, slowly)'})
        return
    with rec.section(f'{architecture}/{variant}', limit_s) as ok:
        if not ok:
            return
        row = {'architecture': architecture, 'variant': variant}
        model = ctx['models'][architecture]
        inputs = ctx['inputs']
        began = time.monotonic()
        run, prepared = make_runner(variant, model, inputs[0], device)
        outputs = []
        for x in inputs:
            x = x.to(prepared.dtype).to(memory_format=_memory_format(prepared))
            outputs.append(run(x).detach().float().clone())
        row['build_s'] = round(time.monotonic() - began, 1)
        row.update(compare(ctx['reference'][architecture], outputs))
        row.update(time_callable(run, prepared, device, ctx['iterations'], ctx['warmup']))
        rec.data['inference'].append(row)
        log(f'    {architecture:13s} {variant:28s} p50 {_ms(row)} agreement {row["agreement"]}')


def _memory_format(tensor):
    if tensor.dim() == 4 and tensor.is_contiguous(memory_format=torch.channels_last) \
            and not tensor.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def _ms(row) -> str:
    value = row.get('gpu_p50_ms', row.get('wall_p50_ms'))
    return f'{value:.3f} ms' if value is not None else '-'


def reference_outputs(ctx: dict, architecture: str) -> list:
    """Eager fp32 logits with TF32 off: what every variant is compared against."""
    model = ctx['models'][architecture]
    with torch.inference_mode():
        return [model(x).float().clone() for x in ctx['inputs']]


def run_pipeline(rec: Recorder, ctx: dict, architecture: str, variant: str, limit_s: float):
    """Time the whole GPU frame path: 1920x1080 uint8 upload to uint8 class ids on the host."""
    with rec.section(f'pipeline/{architecture}/{variant}', limit_s) as ok:
        if not ok:
            return
        device = ctx['device']
        run, prepared = make_runner(variant, ctx['models'][architecture], ctx['inputs'][0],
                                    device)
        frame = torch.from_numpy(procedural_frame(7))
        if device.type == 'cuda':
            frame = frame.pin_memory()
        mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255.0
        inv_std = 1.0 / (torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255.0)
        host_ids = torch.empty((INPUT_HEIGHT, INPUT_WIDTH), dtype=torch.uint8,
                               pin_memory=device.type == 'cuda')

        def frame_to_ids(host_frame):
            with torch.inference_mode():
                on_device = host_frame.to(device, non_blocking=True)
                x = on_device.permute(2, 0, 1)[None].float()
                x = torch.nn.functional.interpolate(x, size=(INPUT_HEIGHT, INPUT_WIDTH),
                                                    mode='bilinear', antialias=True)
                x = ((x - mean) * inv_std).to(prepared.dtype)
                x = x.contiguous(memory_format=_memory_format(prepared))
                ids = run(x).argmax(1)[0].to(torch.uint8)
                host_ids.copy_(ids, non_blocking=True)
                return host_ids

        timing = time_callable(frame_to_ids, frame, device, ctx['iterations'], ctx['warmup'])
        row = {'architecture': architecture, 'variant': variant,
               'stage': 'frame 1920x1080 -> ids 320x416 on host', **timing}
        rec.data['pipeline'].append(row)
        log(f'    pipeline {architecture} {variant}: wall p50 {timing["wall_p50_ms"]:.3f} ms')
        ctx['pipeline_runner'] = frame_to_ids


def run_postprocess(rec: Recorder, ctx: dict, limit_s: float):
    """CPU post-processing time on this machine's CPU, if the package's post-processor imports."""
    with rec.section('postprocess_cpu', limit_s) as ok:
        if not ok:
            return
        from liver_landmarks.postprocess import PostProcessor
        labels = _synthetic_labels()
        processor = PostProcessor()
        processor(labels, output_size=(FRAME_HEIGHT, FRAME_WIDTH))
        times = []
        for _ in range(max(5, ctx['iterations'] // 4)):
            began = time.perf_counter()
            processor(labels, output_size=(FRAME_HEIGHT, FRAME_WIDTH))
            times.append((time.perf_counter() - began) * 1e3)
        rec.data['pipeline'].append({'stage': 'postprocess (CPU, 416x320 labels)',
                                     'wall_p50_ms': percentile(times, 50),
                                     'wall_p95_ms': percentile(times, 95),
                                     'iterations': len(times)})


def _synthetic_labels() -> np.ndarray:
    """Ground-truth-like labels at 416x320: thick curves for each landmark."""
    try:
        from liver_landmarks_training.synthetic import render_frame
        import cv2
        labels = render_frame(3).labels
        return cv2.resize(labels, (INPUT_WIDTH, INPUT_HEIGHT), interpolation=cv2.INTER_NEAREST)
    except Exception:  # noqa: BLE001 - the training package is optional here
        labels = np.zeros((INPUT_HEIGHT, INPUT_WIDTH), np.uint8)
        cols = np.arange(INPUT_WIDTH)
        for class_id, (offset, amplitude) in enumerate(((90, 30), (160, 20), (250, 25)), 1):
            rows = (offset + amplitude * np.sin(cols / 60.0 + class_id)).astype(int)
            for thickness in range(-2, 3):
                labels[np.clip(rows + thickness, 0, INPUT_HEIGHT - 1), cols] = class_id
        return labels


def run_tensorrt(rec: Recorder, ctx: dict, architecture: str, limit_s: float):
    """Compile with torch-tensorrt (fp16) and time it, only where torch_tensorrt imports."""
    try:
        import torch_tensorrt
    except Exception as error:  # noqa: BLE001 - absent is the normal case on the device
        rec.data['skipped'].append({'section': f'tensorrt/{architecture}',
                                    'reason': f'torch_tensorrt does not import: {error}'})
        log(f'[skip] tensorrt: {error}')
        return
    with rec.section(f'tensorrt/{architecture}', limit_s) as ok:
        if not ok:
            return
        device = ctx['device']
        # Half weights and inputs: fp16 under both the older enabled_precisions API and
        # the newer explicit typing (where enabled_precisions is deprecated).
        model = copy.deepcopy(ctx['models'][architecture]).half().eval()
        example = ctx['inputs'][0].half()
        began = time.monotonic()
        exported = torch.export.export(model, (example,))
        try:
            compiled = torch_tensorrt.dynamo.compile(
                exported, inputs=[example], enabled_precisions={torch.half})
        except (TypeError, ValueError, AssertionError) as error:
            log(f'    retrying without enabled_precisions ({error})')
            compiled = torch_tensorrt.dynamo.compile(exported, inputs=[example])
        build_s = round(time.monotonic() - began, 1)

        def run(x):
            with torch.inference_mode():
                return compiled(x)
        outputs = [run(x.half()).float().clone() for x in ctx['inputs']]
        row = {'architecture': architecture, 'variant': 'tensorrt_fp16',
               'torch_tensorrt': torch_tensorrt.__version__, 'build_s': build_s,
               **compare(ctx['reference'][architecture], outputs),
               **time_callable(run, example, device, ctx['iterations'], ctx['warmup'])}
        rec.data['tensorrt'].append(row)
        rec.data['inference'].append(row)


# ---------------------------------------------------------------- frames, bag and frame path


def write_frame_bag(path: Path, count: int, width: int = FRAME_WIDTH,
                    height: int = FRAME_HEIGHT) -> Path:
    """Write ``count`` rgb8 frames (a few distinct calibration frames, cycled) as a bag."""
    from builtin_interfaces.msg import Time
    from liver_landmarks.bag.storage import write_messages
    from liver_landmarks.calibration import calibration_frame
    from liver_landmarks.ros.image_conversion import numpy_to_image_msg
    from std_msgs.msg import Header

    frames = [calibration_frame(width, height, seed) for seed in range(min(count, 4))]

    def messages():
        for index in range(count):
            stamp_ns = 1_000_000_000 + index * 33_333_333
            header = Header(frame_id='camera', stamp=Time(sec=stamp_ns // 10**9,
                                                          nanosec=stamp_ns % 10**9))
            yield IMAGE_TOPIC, stamp_ns, numpy_to_image_msg(frames[index % len(frames)],
                                                            'rgb8', header)
    return write_messages(path, messages())


def run_bag_process(rec: Recorder, args, ctx: dict, limit_s: float):
    """(b) ``bag process`` at 1080p: the package's bag processor on the device, all outputs."""
    with rec.section('bag_process', limit_s, minimum_s=20.0) as ok:
        if not ok:
            return
        from liver_landmarks.bag.process import BagProcessor
        from liver_landmarks.bag.storage import open_bag
        from liver_landmarks.pipeline import Pipeline
        scratch = ctx['scratch']
        bag = ctx.get('bag')
        if bag is None:
            began = time.monotonic()
            bag = ctx['bag'] = write_frame_bag(scratch / 'frames_1080p', args.bag_frames)
            log(f'    wrote {args.bag_frames} frames in {time.monotonic() - began:.1f} s')
        card = ctx.get('card') or _write_random_card(scratch / 'card', args.encoder)
        ctx['card'] = card
        pipeline = Pipeline.from_model_card(card, backend=args.dds_backend, device=args.device)
        reader = open_bag(bag)
        try:
            pipeline(procedural_frame(0))  # lazy initialisation is not the bag's cost
            summary = BagProcessor(reader, scratch / f'processed_{len(rec.data["bag"])}',
                                   pipeline).run()
        finally:
            reader.close()
            pipeline.close()
        row = {'path': 'liver_landmarks.bag.process.BagProcessor (bag process)',
               'backend': args.dds_backend, 'device': args.device,
               'frames': summary.frames, 'processed': summary.processed,
               'frames_per_s': round(summary.frames_per_second, 1),
               'stage_median_ms': {stage: round(median, 3) for stage, (median, _) in
                                   summary.stage_percentiles().items()}}
        rec.data['bag'].append(row)
        log(f'    bag process: {row["frames_per_s"]} frames/s {row["stage_median_ms"]}')


def bag_frames(path: Path) -> list:
    """Return the bag's frames as (header, HxWx3 uint8 rgb) through the package's decoder."""
    from liver_landmarks.bag.process import decode_frame
    from liver_landmarks.bag.storage import (deserialize, message_class, normalise_type_name,
                                             open_bag, read_messages)
    reader = open_bag(path)
    try:
        connection = next(c for c in reader.connections if c.topic == IMAGE_TOPIC)
        frame_type = normalise_type_name(connection.msgtype)
        frame_class = message_class(frame_type)
        frames = []
        for message in read_messages(reader, [IMAGE_TOPIC]):
            image = deserialize(message, frame_class)
            frame, order = decode_frame(frame_type, image)
            frames.append((image.header, frame if order == 'rgb' else frame[:, :, ::-1]))
        return frames
    finally:
        reader.close()


class GpuFramePath:
    """1080p uint8 frame to class ids on the device: the GPU half of the frame path.

    The frame is copied into a pinned host buffer, uploaded without blocking, resized
    (antialiased bilinear, as the CPU pre-processor's area average) and normalised on
    the device, inferred by ``run`` and its argmax copied back into pinned memory.
    With ``timed`` each step is bracketed by CUDA events for the per-stage split.
    """

    def __init__(self, run, prepared: torch.Tensor, device: torch.device):
        """Hold the runner, its input's dtype and layout, and the reusable buffers."""
        self.run, self.device = run, device
        self.dtype, self.memory_format = prepared.dtype, _memory_format(prepared)
        cuda = device.type == 'cuda'
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255.0
        self.inv_std = 1.0 / (torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
                              * 255.0)
        self.host_frame = torch.empty((FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=torch.uint8,
                                      pin_memory=cuda)
        self.host_ids = torch.empty((INPUT_HEIGHT, INPUT_WIDTH), dtype=torch.uint8,
                                    pin_memory=cuda)
        self.split = {stage: [] for stage in ('upload', 'preprocess', 'inference', 'download')}

    def __call__(self, frame: np.ndarray, timed: bool = False) -> np.ndarray:
        """Return a copy of the frame's (320, 416) class ids."""
        cuda = self.device.type == 'cuda'
        marks = []

        def mark():
            if timed:
                if cuda:
                    event = torch.cuda.Event(enable_timing=True)
                    event.record()
                    marks.append(event)
                else:
                    marks.append(time.perf_counter())
        with torch.inference_mode():
            self.host_frame.numpy()[...] = frame
            mark()
            on_device = self.host_frame.to(self.device, non_blocking=True)
            mark()
            x = on_device.permute(2, 0, 1)[None].float()
            x = torch.nn.functional.interpolate(x, size=(INPUT_HEIGHT, INPUT_WIDTH),
                                                mode='bilinear', antialias=True)
            x = ((x - self.mean) * self.inv_std).to(self.dtype)
            x = x.contiguous(memory_format=self.memory_format)
            mark()
            ids = self.run(x).argmax(1)[0].to(torch.uint8)
            mark()
            self.host_ids.copy_(ids, non_blocking=True)
            mark()
            if cuda:
                torch.cuda.current_stream().synchronize()
        if timed:
            for stage, start, end in zip(self.split, marks, marks[1:]):
                self.split[stage].append(start.elapsed_time(end) if cuda
                                         else (end - start) * 1e3)
        return self.host_ids.numpy().copy()


def choose_frame_path_variant(rec: Recorder, ctx: dict, architecture: str) -> str:
    """Return the fastest variant that agreed with fp32 on 99 % of pixels, else eager fp32."""
    agreed = [row for row in rec.data['inference'] if row['architecture'] == architecture
              and row.get('agreement', 0) >= 0.99 and row.get('variant') in
              EAGER_VARIANTS + COMPILE_VARIANTS]
    if not agreed:
        return 'eager_fp32'
    best = min(agreed, key=lambda row: row.get('gpu_p50_ms', row.get('wall_p50_ms', 1e9)))
    return best['variant']


def run_frame_path(rec: Recorder, args, ctx: dict, architecture: str, limit_s: float):
    """(b) and (c): bag frames through the GPU frame path, post-processing on a thread pool."""
    with rec.section(f'gpu_frame_path/{architecture}', limit_s, minimum_s=20.0) as ok:
        if not ok:
            return
        from concurrent.futures import ThreadPoolExecutor
        from liver_landmarks.postprocess import PostProcessor
        from liver_landmarks.ros.messages import build_output_messages
        device = ctx['device']
        bag = ctx.get('bag') or write_frame_bag(ctx['scratch'] / 'frames_1080p',
                                                args.bag_frames)
        ctx['bag'] = bag
        frames = bag_frames(bag)
        variant = choose_frame_path_variant(rec, ctx, architecture)
        run, prepared = make_runner(variant, ctx['models'][architecture], ctx['inputs'][0],
                                    device)
        path = GpuFramePath(run, prepared, device)
        for header, frame in frames[:3]:
            path(frame)
        for header, frame in frames:
            path(frame, timed=True)
        postprocessor = PostProcessor()
        outputs = {'labels', 'polylines'}

        def finish(header, frame, ids):
            began = time.perf_counter()
            result = postprocessor(ids, frame=frame, output_size=frame.shape[:2])
            built = time.perf_counter()
            build_output_messages(header, frame, result, outputs)
            return (built - began) * 1e3, (time.perf_counter() - built) * 1e3

        workers = max(1, (os.cpu_count() or 2) - 1)
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(finish, header, frame, path(frame))
                       for header, frame in frames]
            finished = [future.result() for future in futures]
        wall = time.perf_counter() - began
        row = {'architecture': architecture, 'variant': variant, 'frames': len(frames),
               'postprocess_workers': workers, 'outputs': sorted(outputs),
               'frames_per_s': round(len(frames) / wall, 1),
               'split_p50_ms': {stage: percentile(values, 50)
                                for stage, values in path.split.items()},
               'split_p95_ms': {stage: percentile(values, 95)
                                for stage, values in path.split.items()}}
        row['split_p50_ms']['postprocess'] = percentile([f[0] for f in finished], 50)
        row['split_p50_ms']['message_build'] = percentile([f[1] for f in finished], 50)
        rec.data['frame_path'].append(row)
        log(f'    frame path {architecture} {variant}: {row["frames_per_s"]} frames/s, '
            f'p50 split {row["split_p50_ms"]}')


# ---------------------------------------------------------------- DDS


def run_dds(rec: Recorder, args, limit_s: float):
    """End-to-end rate and latency through DDS with the node as its own process."""
    try:
        import rclpy  # noqa: F401
        from sensor_msgs.msg import Image  # noqa: F401
    except Exception as error:  # noqa: BLE001 - rclpy is carried only sometimes
        rec.data['skipped'].append({'section': 'dds', 'reason': f'rclpy does not import: {error}'})
        log(f'[skip] dds: {error}')
        return
    with rec.section('dds', limit_s, minimum_s=30.0) as ok:
        if not ok:
            return
        from liver_landmarks_tools.dds_bench import run_dds_benchmark
        # Scratch (a 100 MB model card, logs) stays out of OUT: only 8 files come back.
        scratch = Path(tempfile.mkdtemp(prefix='gpu_bench_dds_'))
        node_kind, node_command, outputs = _node_command(args, scratch)
        log(f'    node: {node_kind}')
        result = run_dds_benchmark(
            node_command, duration_s=args.dds_seconds, rate_hz=args.dds_rate,
            output_topics=outputs, startup_timeout_s=min(75.0, limit_s / 2),
            width=FRAME_WIDTH, height=FRAME_HEIGHT, out_dir=scratch)
        result['node'] = node_kind
        result['input_reliability'] = args.dds_input_reliability
        latency = result.get('topics', {}).get('/segmentation_node/polylines', {}).get(
            'latency', {})
        result['polylines_meets_targets'] = (
            latency.get('p50_ms', float('inf')) <= TARGETS['dds_polylines_p50_ms']
            and latency.get('p99_ms', float('inf')) <= TARGETS['dds_polylines_p99_ms'])
        rec.data['dds'].append(result)


def _node_command(args, scratch: Path):
    """Use the package's node when a model card can be written, else this script's node."""
    python = sys.executable
    card = None
    if args.dds_node in ('auto', 'package'):
        try:
            card = _write_random_card(scratch / 'card', args.encoder)
        except Exception as error:  # noqa: BLE001 - fall back to the script's own node
            if args.dds_node == 'package':
                raise
            log(f'    package node unavailable ({type(error).__name__}: {error}); '
                'using the minimal node in this script')
    if card is not None:
        command = [python, '-m', 'liver_landmarks.ros.segmentation_node', '--ros-args',
                   '-p', f'model_card:={card}', '-p', f'backend:={args.dds_backend}',
                   '-p', f'device:={args.device}', '-p',
                   f'input_reliability:={args.dds_input_reliability}',
                   '-r', 'image:=/camera/image']
        params = REPOSITORY / 'config' / 'segment.yaml'
        if params.is_file():
            command[4:4] = ['--params-file', str(params)]
        return 'liver_landmarks.ros.segmentation_node', command, [
            '/segmentation_node/labels', '/segmentation_node/polylines']
    command = [python, '-m', 'liver_landmarks_tools', 'gpu-bench', '--dds-role', 'node',
               '--device', args.device, '--architectures', args.architectures[0]]
    return 'gpu-bench minimal node (fp16 CUDA graph, labels only)', command, [
        '/segmentation_node/labels']


def _write_random_card(directory: Path, encoder: str = 'resnet34') -> Path:
    from liver_landmarks_tools.support.models import make_random_model_artifact
    directory.mkdir(parents=True, exist_ok=True)
    return Path(make_random_model_artifact(directory, 'unet', encoder, 0))


def minimal_node(args) -> int:
    """Subscribe to /camera/image, segment on the GPU, publish mono8 labels at input size."""
    from liver_landmarks_tools.support.loopback import use_loopback_dds
    use_loopback_dds()
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    device = torch.device(args.device)
    calibration = [frame_to_tensor(procedural_frame(seed)) for seed in range(2)]
    model = build_model(args.architectures[0], 0, calibration, args.encoder).to(device)
    variant = 'cudagraph_fp16_cl' if device.type == 'cuda' else 'eager_fp32'
    run, prepared = make_runner(variant, model, calibration[0].to(device), device)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255.0
    inv_std = 1.0 / (torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255.0)
    rclpy.init()
    node = rclpy.create_node('segmentation_node')
    publisher = node.create_publisher(Image, '~/labels', 5)

    def on_image(msg):
        frame = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)
        frame = frame[:, :msg.width * 3].reshape(msg.height, msg.width, 3)
        with torch.inference_mode():
            x = torch.from_numpy(frame).to(device).permute(2, 0, 1)[None].float()
            x = torch.nn.functional.interpolate(x, size=(INPUT_HEIGHT, INPUT_WIDTH),
                                                mode='bilinear', antialias=True)
            x = ((x - mean) * inv_std).to(prepared.dtype)
            x = x.contiguous(memory_format=_memory_format(prepared))
            ids = run(x).argmax(1, keepdim=True).to(torch.uint8)
            ids = torch.nn.functional.interpolate(ids, size=(msg.height, msg.width),
                                                  mode='nearest')[0, 0].cpu().numpy()
        out = Image(header=msg.header, height=msg.height, width=msg.width,
                    encoding='mono8', step=msg.width)
        out.data = ids.tobytes()
        publisher.publish(out)

    # Depth 1: a busy node takes the newest frame instead of working through a backlog.
    reliability = (ReliabilityPolicy.RELIABLE if args.dds_input_reliability == 'reliable'
                   else ReliabilityPolicy.BEST_EFFORT)
    newest_only = QoSProfile(depth=1, reliability=reliability)
    node.create_subscription(Image, '/camera/image', on_image, newest_only)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, Exception):  # noqa: BLE001 - stopped by the harness
        pass
    finally:
        with contextlib.suppress(Exception):
            node.destroy_node()
            rclpy.try_shutdown()
    return 0


# ---------------------------------------------------------------- report


def print_table(data: dict):
    """Print the compact summary the lead copies into docs/benchmarks.md."""
    machine = data.get('machine', {})
    log('')
    log(f'== gpu_bench: {machine.get("gpu", machine.get("cpu", "?"))} | '
        f'torch {machine.get("torch")} cuda {machine.get("cuda_runtime")} | '
        f'{machine.get("nvidia_smi", "")}')
    log(f'{"arch":13s} {"variant":28s} {"gpu p50":>8s} {"gpu p95":>8s} {"wall p50":>8s} '
        f'{"wall p95":>8s} {"Hz":>7s} {"agree":>8s} {"maxdiff":>8s} {"build s":>7s}')
    for row in data.get('inference', []):
        log(f'{row["architecture"]:13s} {row["variant"]:28s} {_num(row, "gpu_p50_ms")} '
            f'{_num(row, "gpu_p95_ms")} {_num(row, "wall_p50_ms")} {_num(row, "wall_p95_ms")} '
            f'{row.get("throughput_hz", 0):7.1f} {row.get("agreement", 0):8.5f} '
            f'{row.get("max_logit_diff", 0):8.4f} {row.get("build_s", 0):7.1f}')
    for row in data.get('pipeline', []):
        name = f'{row.get("architecture", "")} {row.get("variant", "")}'.strip()
        log(f'pipeline {name} [{row["stage"]}]: wall p50 {_num(row, "wall_p50_ms")} '
            f'p95 {_num(row, "wall_p95_ms")} ms')
    for row in data.get('frame_path', []):
        log(f'(b) frame path {row["architecture"]} {row["variant"]}: {row["frames_per_s"]} '
            f'frames/s over {row["frames"]} bag frames (target '
            f'{TARGETS["bag_frames_per_s"]:.0f})')
        log(f'(c) split p50 ms: {row["split_p50_ms"]}')
    for row in data.get('bag', []):
        log(f'(b) bag process [{row["backend"]} {row["device"]}]: {row["frames_per_s"]} '
            f'frames/s; stage medians {row["stage_median_ms"]}')
    for row in data.get('dds', []):
        polylines = row.get('topics', {}).get('/segmentation_node/polylines', {})
        latency = polylines.get('latency', {})
        log(f'(a) dds [{row.get("node")}]: {row.get("summary", row)}')
        if latency:
            log(f'(a) polylines latency p50 {latency.get("p50_ms")} ms p99 '
                f'{latency.get("p99_ms")} ms (targets {TARGETS["dds_polylines_p50_ms"]:.0f} / '
                f'{TARGETS["dds_polylines_p99_ms"]:.0f} ms)')
    for row in data.get('skipped', []):
        log(f'skipped {row["section"]}: {row["reason"][:150]}')
    for row in data.get('errors', []):
        log(f'ERROR {row["section"]}: {row["error"][:200]}')
    log(f'elapsed {data.get("elapsed_s")} s')


def _num(row, key) -> str:
    value = row.get(key)
    return f'{value:8.3f}' if isinstance(value, (int, float)) else f'{"-":>8s}'


def _put_repository_on_path():
    """Make the runtime and the tools importable in the processes this command starts.

    On a bare GPU machine neither is installed: the command runs from a checkout with
    ``PYTHONPATH=.:tools``, and the node and DDS roles it starts need the same.
    """
    roots = [str(REPOSITORY), str(REPOSITORY / 'tools')]
    paths = os.environ.get('PYTHONPATH', '').split(os.pathsep)
    missing = [root for root in roots if root not in paths]
    if missing:
        os.environ['PYTHONPATH'] = os.pathsep.join(missing + [p for p in paths if p])


def add_parser(subparsers):
    """Add the ``gpu-bench`` sub-command to ``subparsers``."""
    parser = subparsers.add_parser('gpu-bench', help='GPU figures on a CUDA machine',
                                   description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=os.environ.get('OUT', 'gpu_bench_out'),
                        help='directory for gpu_bench.json (default $OUT)')
    parser.add_argument('--device', default='cuda', help="'cuda' (default) or 'cpu'")
    parser.add_argument('--quick', action='store_true',
                        help='few iterations, no torch.compile: a smoke test of the script')
    parser.add_argument('--dry-run', action='store_true',
                        help='every section but DDS on the CPU with a tiny encoder, a few '
                        'frames and eager fp32 only: checks the script before GPU time')
    parser.add_argument('--encoder', default='resnet34',
                        help='encoder of the random models (default resnet34, the shipped one)')
    parser.add_argument('--bag-frames', type=int, default=None,
                        help='1080p frames in the bag of (b) (default 240, dry run 3)')
    parser.add_argument('--budget-s', type=float, default=300.0,
                        help='whole-run time budget in seconds (default 300)')
    parser.add_argument('--iterations', type=int, default=None,
                        help='timed iterations per variant (default 200, quick 3)')
    parser.add_argument('--architectures', nargs='+', default=list(ARCHITECTURES),
                        choices=list(ARCHITECTURES))
    parser.add_argument('--compile', choices=('auto', 'yes', 'no'), default='auto',
                        help='torch.compile variants (auto: yes on CUDA unless --quick)')
    parser.add_argument('--card', default=None, help='a trained model card instead of random')
    parser.add_argument('--train-steps', type=int, default=None,
                        help='toy-task training steps per model (default 200, quick 1; 0: none)')
    parser.add_argument('--no-dds', action='store_true', help='skip the DDS section')
    parser.add_argument('--dds-seconds', type=float, default=10.0)
    parser.add_argument('--dds-rate', type=float, default=30.0,
                        help='publisher rate in Hz (default 30, a camera; the node drops what '
                        'it cannot keep up with)')
    parser.add_argument('--dds-backend', default='torch', help='backend parameter of the node')
    parser.add_argument('--dds-input-reliability', choices=('reliable', 'best_effort'),
                        default='best_effort',
                        help="QoS of the node's image subscription (default best_effort, "
                        "the node's default)")
    parser.add_argument('--dds-node', choices=('auto', 'package', 'minimal'), default='auto',
                        help="the package's segmentation_node (auto: when its model card "
                        "can be written) or this script's minimal GPU node")
    parser.add_argument('--dds-role', choices=('node',), default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Run every section within the budget, save JSON, print the table."""
    _put_repository_on_path()
    if args.dry_run:
        from liver_landmarks_tools.support.models import TINY_ENCODER
        args.device, args.quick, args.no_dds, args.compile = 'cpu', True, True, 'no'
        args.encoder = TINY_ENCODER
        args.architectures = args.architectures[:1]
        args.bag_frames = args.bag_frames or 3
    if args.dds_role == 'node':
        return minimal_node(args)
    rec = Recorder(Path(args.out), args.budget_s)
    try:
        _run_all(rec, args)
    except BaseException as error:  # noqa: BLE001 - keep whatever was measured
        rec.data['errors'].append({'section': 'main', 'error': f'{type(error).__name__}: '
                                   f'{error}', 'traceback': traceback.format_exc()[-3000:]})
    rec.save()
    print_table(rec.data)
    log(f'results: {Path(args.out) / RESULT_FILE}')
    return 0


def _run_all(rec: Recorder, args):
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('CUDA requested but torch.cuda.is_available() is False')
    quick = args.quick
    iterations = args.iterations or (3 if quick else 200)
    compile_wanted = args.compile == 'yes' or (
        args.compile == 'auto' and device.type == 'cuda' and not quick)
    args.bag_frames = args.bag_frames or (3 if quick else 240)
    rec.data['config'] = {'device': args.device, 'quick': quick, 'dry_run': args.dry_run,
                          'iterations': iterations, 'architectures': args.architectures,
                          'budget_s': args.budget_s, 'bag_frames': args.bag_frames,
                          'input': [1, 3, INPUT_HEIGHT, INPUT_WIDTH], 'encoder': args.encoder,
                          'weights': args.card or 'random init, briefly trained on a toy task'}
    with rec.section('machine', 60) as ok:
        if ok:
            rec.data['machine'] = describe_machine(device)
    try:
        import segmentation_models_pytorch  # noqa: F401
    except ImportError as error:
        raise RuntimeError(
            'segmentation_models_pytorch does not import; carry its wheel '
            '(segmentation_models_pytorch-0.6.0-py3-none-any.whl, pip install --no-deps) '
            f'first: {error}') from error
    if device.type == 'cuda':
        # The fp32 reference must be true fp32; variants opt in to TF32 themselves.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    ctx = {'device': device, 'iterations': iterations, 'warmup': 2 if quick else 30,
           'models': {}, 'reference': {},
           'scratch': Path(tempfile.mkdtemp(prefix='gpu_bench_scratch_'))}
    if args.card:
        ctx['card'] = Path(args.card)
    train_steps = args.train_steps if args.train_steps is not None else (1 if quick else 200)
    with rec.section('models', 150) as ok:
        if not ok:
            return
        frames = [procedural_frame(seed) for seed in range(1 if quick else 2)]
        toy, _ = synthetic_batch(torch.Generator(device=device).manual_seed(5),
                                 1 if quick else 2, device)
        ctx['inputs'] = [frame_to_tensor(frame).to(device) for frame in frames]
        ctx['inputs'] += [image[None].contiguous() for image in toy]
        calibration = [frame_to_tensor(procedural_frame(100 + seed)).to(device)
                       for seed in range(2 if quick else 4)]
        for architecture in args.architectures:
            if args.card:
                model, info = load_card_model(args.card)
                rec.data['config']['card'] = info
                model = model.to(device)
            else:
                model = build_model(architecture, 0, calibration, args.encoder)
                if train_steps:
                    info = train_briefly(model, train_steps, 20 if quick else 25, device,
                                         batch=1 if quick else 8)
                    rec.data['config'][f'training_{architecture}'] = info
                    log(f'    trained {architecture}: {info}')
            ctx['models'][architecture] = model
            ctx['reference'][architecture] = reference_outputs(ctx, architecture)
    if not ctx['models']:
        return
    limit = 20 if quick else 45
    first = args.architectures[0]
    # The three figures first, so that a run cut short still brings them back.
    variants = ('eager_fp32',) if args.dry_run else ('eager_fp32', 'half_fp16_cl')
    for variant in variants:
        run_variant(rec, ctx, first, variant, limit)
    if compile_wanted:
        run_variant(rec, ctx, first, COMPILE_VARIANTS[0], 150)
    run_frame_path(rec, args, ctx, first, 90)
    if not args.no_dds:
        run_dds(rec, args, args.dds_seconds + 120)
    run_bag_process(rec, args, ctx, 90)
    if args.dry_run:
        return
    for architecture in args.architectures:
        for variant in EAGER_VARIANTS:
            if architecture != first or variant not in variants:
                run_variant(rec, ctx, architecture, variant, limit)
    fast = 'cudagraph_fp16_cl' if device.type == 'cuda' else 'eager_fp32'
    run_pipeline(rec, ctx, first, fast, limit)
    run_postprocess(rec, ctx, limit)
    if compile_wanted:
        for architecture in args.architectures[1:]:
            run_variant(rec, ctx, architecture, COMPILE_VARIANTS[0], 150)
    for architecture in args.architectures:
        run_tensorrt(rec, ctx, architecture, 150)
    if compile_wanted:
        for variant in COMPILE_VARIANTS[1:]:
            run_variant(rec, ctx, first, variant, 120)

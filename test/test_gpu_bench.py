# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``gpu-bench --dry-run``: the GPU script's sections run on the CPU before they cost GPU time.

Correctness only (benchmarks are not tests): a tiny random network, three 1080p
frames in a real rosbag2 bag, eager fp32; no timing is asserted.
"""

import json

from liver_landmarks_tools import gpu_bench
from liver_landmarks_tools.cli import main
import pytest

pytest.importorskip('segmentation_models_pytorch')


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
    """Run the dry run once for the module; return (exit status, results)."""
    out = tmp_path_factory.mktemp('gpu_bench')
    status = main(['gpu-bench', '--dry-run', '--out', str(out)])
    return status, json.loads((out / gpu_bench.RESULT_FILE).read_text())


def test_dry_run_records_every_section_without_errors(dry_run):
    status, results = dry_run
    assert status == 0
    assert results['errors'] == [], results['errors']
    assert results['config']['dry_run'] and results['config']['device'] == 'cpu'
    assert results['targets'] == gpu_bench.TARGETS
    (inference,) = results['inference']
    assert (inference['variant'], inference['agreement']) == ('eager_fp32', 1.0)


def test_frame_path_reports_throughput_and_the_per_stage_split(dry_run):
    _, results = dry_run
    (row,) = results['frame_path']
    assert row['frames'] == 3 and row['frames_per_s'] > 0
    assert set(row['split_p50_ms']) == {'upload', 'preprocess', 'inference', 'download',
                                        'postprocess', 'message_build'}
    assert all(value >= 0 for value in row['split_p50_ms'].values())
    assert row['postprocess_workers'] >= 1


def test_bag_process_runs_the_package_bag_processor_on_every_frame(dry_run):
    _, results = dry_run
    (row,) = results['bag']
    assert row['frames'] == row['processed'] == 3
    assert row['frames_per_s'] > 0
    assert {'decode', 'preprocess', 'inference', 'postprocess', 'publish'} <= set(
        row['stage_median_ms'])


def test_gpu_frame_path_gives_the_cpu_pipelines_class_ids_on_a_clear_frame():
    """The device-side resize and normalise feed the network what the CPU path feeds it."""
    import torch
    from liver_landmarks.preprocess import Preprocessor

    frame = gpu_bench.procedural_frame(3)
    model = torch.nn.Conv2d(3, gpu_bench.NUM_CLASSES, 1).eval()
    with torch.no_grad():
        model.weight.copy_(torch.eye(gpu_bench.NUM_CLASSES, 3)[:, :, None, None])
        model.bias.zero_()
    run = gpu_bench._plain(model)
    example = torch.zeros((1, 3, gpu_bench.INPUT_HEIGHT, gpu_bench.INPUT_WIDTH))
    path = gpu_bench.GpuFramePath(run, example, torch.device('cpu'))
    ids = path(frame, timed=True)
    with torch.no_grad():
        expected = run(torch.from_numpy(Preprocessor()(frame))).argmax(1)[0].numpy()
    assert ids.shape == expected.shape and ids.dtype.name == 'uint8'
    assert (ids == expected).mean() > 0.97
    assert all(len(values) == 1 for values in path.split.values())

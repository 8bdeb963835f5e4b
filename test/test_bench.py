# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m liver_landmarks_tools bench``: it runs, and writes consistent JSON and Markdown.

Correctness only (benchmarks are not tests): three frames on PyTorch CPU with a tiny
random network; no timing is asserted.
"""

import json

from liver_landmarks_tools import bench
from liver_landmarks_tools.cli import main
from liver_landmarks_tools.support.models import TINY_ENCODER
import numpy as np
import pytest


@pytest.fixture(scope='module')
def bench_run(tmp_path_factory):
    """Run the command once for the module; return (exit status, output folder)."""
    out = tmp_path_factory.mktemp('bench')
    status = main(['bench', '--frames', '3', '--backends', 'torch', '--architectures', 'unet',
                   '--encoder', TINY_ENCODER, '--device', 'cpu', '--out', str(out)])
    return status, out


def test_bench_writes_json_with_every_stage(bench_run):
    status, out = bench_run
    assert status == 0
    results = json.loads((out / 'bench.json').read_text())
    assert results['settings']['frames'] == 3
    assert results['machine']['logical_cores'] >= 1 and results['machine']['cpu']
    (row,) = results['stages']
    assert 'error' not in row, row.get('error')
    assert (row['architecture'], row['backend'], row['weights']) == ('unet', 'torch', 'random')
    assert row['device'] == 'cpu'
    assert set(row['stages']) == set(bench.STAGES) | {'total'}
    for stage, summary in row['stages'].items():
        assert summary['n'] == 3, stage
        assert 0 <= summary['median_ms'] <= summary['p95_ms'], stage
    assert row['overlapped']['n'] == 3 and row['overlapped']['frames_per_s'] > 0
    assert row['overlapped']['max_in_flight'] == 1  # PyTorch infers synchronously
    stage_sum = sum(row['stages'][stage]['mean_ms'] for stage in bench.STAGES)
    assert stage_sum == pytest.approx(row['stages']['total']['mean_ms'], rel=0.05, abs=0.1)
    assert results['dds'] == []
    reference = results['postprocess_reference']
    if reference is not None:  # the real sample is present
        assert reference['postprocess']['n'] == 3
        assert reference['labels'].endswith('_GT.jpg')


def test_bench_markdown_has_the_machine_and_a_row_per_run(bench_run):
    _, out = bench_run
    text = (out / 'bench.md').read_text()
    results = json.loads((out / 'bench.json').read_text())
    assert '## Machine' in text and results['machine']['cpu'] in text
    row = next(line for line in text.splitlines() if line.startswith('| unet |'))
    total = results['stages'][0]['stages']['total']
    assert f'{total["median_ms"]:.1f} / {total["p95_ms"]:.1f}' in row
    assert row.count('|') == len(bench.STAGES) + 9
    if results['postprocess_reference'] is not None:
        assert 'Post-processing the real ground truth' in text


def test_bench_refuses_bad_arguments(tmp_path, capsys):
    assert main(['bench', '--frames', '0', '--out', str(tmp_path)]) == 2
    assert main(['bench', '--architectures', 'vgg', '--out', str(tmp_path)]) == 2
    assert main(['bench', '--model', str(tmp_path / 'missing.json'),
                 '--out', str(tmp_path)]) == 2
    errors = capsys.readouterr().err
    assert '--frames must be at least 1' in errors
    assert "unknown architectures ['vgg']" in errors
    assert 'missing.json' in errors


def test_summarise_and_failed_rows_in_the_report():
    assert bench.summarise([]) == {'n': 0}
    summary = bench.summarise([1.0, 2.0, 3.0, 4.0, 100.0])
    assert summary['median_ms'] == 3.0 and summary['n'] == 5
    assert summary['p95_ms'] == pytest.approx(np.percentile([1, 2, 3, 4, 100], 95))
    results = {'started': 'now', 'machine': {'cpu': 'test cpu'}, 'notes': ['a note'],
               'settings': {'frames': 1},
               'stages': [{'architecture': 'unet', 'weights': 'random', 'backend': 'tensorrt',
                           'error': 'DeviceUnavailableError: no CUDA'}],
               'dds': [{'backend': 'openvino', 'error': 'RuntimeError: no output'}]}
    text = bench.markdown_report(results)
    assert 'failed: DeviceUnavailableError: no CUDA' in text
    assert 'failed: RuntimeError: no output' in text
    assert '- a note' in text


def test_available_backends_always_include_torch():
    backends = bench.available_backends('cpu')
    assert backends[0] == 'torch' and 'tensorrt' not in backends


@pytest.mark.dds
@pytest.mark.slow
def test_dds_benchmark_measures_the_node_end_to_end(random_model_card, tmp_path):
    """Publisher, node and subscriber as three processes over real DDS (small frames)."""
    from liver_landmarks_tools.dds_bench import run_dds_benchmark

    command = bench.dds_node_command(random_model_card, 'torch', 'cpu',
                                     {'input_reliability': 'reliable'})
    result = run_dds_benchmark(command, duration_s=2.0, rate_hz=4.0,
                               output_topics=('/segmentation_node/labels',
                                              '/segmentation_node/polylines'),
                               startup_timeout_s=90.0, width=416, height=320,
                               out_dir=tmp_path)
    assert result['published'] >= 4
    labels = result['topics']['/segmentation_node/labels']
    assert 1 <= labels['received'] <= result['published']
    assert labels['latency']['count'] == labels['received']
    assert labels['latency']['p50_ms'] > 0
    assert 1 <= result['complete_frames'] <= labels['received']
    assert result['summary'].startswith('published')


def test_the_runtime_command_line_names_where_bench_went(capsys):
    from liver_landmarks.cli import main as runtime_main

    assert runtime_main(['bench', '--frames', '3']) == 2
    assert 'python -m liver_landmarks_tools bench --frames 3' in capsys.readouterr().err


def test_dds_rows_get_the_pipeline_rate_and_ratio_of_their_backend_and_model():
    stages = [{'backend': 'torch', 'card': 'a.json', 'stages': {'total': {'median_ms': 100.0}}},
              {'backend': 'openvino', 'card': 'a.json',
               'stages': {'total': {'median_ms': 50.0}}},
              {'backend': 'openvino', 'card': 'b.json', 'error': 'failed'}]
    latency = {'count': 3, 'p50_ms': 60.0, 'p95_ms': 70.0, 'p99_ms': 75.0}
    dds = [{'backend': 'openvino', 'card': 'a.json', 'end_to_end_hz': 18.0,
            'publish_rate_hz': 30.0, 'topics': {
                '/segmentation_node/labels': {'rate_hz': 18.0, 'latency': latency},
                '/segmentation_node/polylines': {'rate_hz': 18.0, 'latency': latency}}},
           {'backend': 'openvino', 'card': 'b.json', 'end_to_end_hz': 5.0},
           {'backend': 'torch', 'card': 'a.json', 'error': 'RuntimeError: no output'}]
    bench.add_pipeline_ratios(stages, dds)
    assert (dds[0]['pipeline_hz'], dds[0]['ratio']) == (20.0, 0.9)
    assert 'ratio' not in dds[1] and 'ratio' not in dds[2]
    text = bench.markdown_report({'started': 'now', 'machine': {}, 'settings': {'frames': 1},
                                  'stages': [], 'dds': dds[:1]})
    row = next(line for line in text.splitlines() if line.startswith('| openvino |'))
    assert '| 60.0 / 70.0 / 75.0 | 60.0 / 70.0 / 75.0 | 18.0 | 20.0 | 0.9 |' in row

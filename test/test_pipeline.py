# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Pipeline: a real frame through a real (random) network and the post-processing."""

import dataclasses
import threading

import cv2
from liver_landmarks.backends.base import PendingLabels
from liver_landmarks.calibration import calibration_frame as synthetic_frame
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.pipeline import Pipeline, PIPELINE_STAGES, PipelineResult, StageError
from liver_landmarks.postprocess import PostProcessor
from liver_landmarks.preprocess import Preprocessor
import numpy as np
import pytest


@pytest.fixture(scope='module')
def pipeline(random_model_card) -> Pipeline:
    """Random model on the CPU PyTorch backend with the default post-processing."""
    with Pipeline.from_model_card(random_model_card, backend='torch', device='cpu',
                                  precision='fp32') as built:
        yield built


@pytest.fixture(scope='module')
def real_frame_bgr(p2ilf_frame_path) -> np.ndarray:
    """Read the real 1920x1080 P2ILF frame as OpenCV does (BGR)."""
    return cv2.imread(str(p2ilf_frame_path))


@pytest.fixture(scope='module')
def real_result(pipeline, real_frame_bgr) -> PipelineResult:
    """Run the pipeline on the real frame."""
    return pipeline(real_frame_bgr, channel_order='bgr')


def test_results_are_at_the_frames_size(real_result):
    assert real_result.class_ids.shape == (320, 416)
    assert real_result.result.labels.shape == (1080, 1920)
    assert real_result.result.labels.dtype == np.uint8
    for landmark, polylines in real_result.result.polylines.items():
        assert landmark in LANDMARKS
        for points in polylines:
            assert points.dtype == np.float32 and points.shape[1] == 2
            assert np.all(points >= -0.5) and np.all(points[:, 0] <= 1919.5)
            assert np.all(points[:, 1] <= 1079.5)


def test_each_stage_is_timed(real_result):
    assert set(PIPELINE_STAGES) <= set(real_result.timings_ms)
    assert all(real_result.timings_ms[stage] > 0 for stage in PIPELINE_STAGES)


def test_the_frame_comes_back_in_rgb(pipeline, real_frame_bgr, real_result):
    np.testing.assert_array_equal(real_result.frame_rgb, real_frame_bgr[:, :, ::-1])
    rgb = np.ascontiguousarray(real_frame_bgr[:, :, ::-1])
    assert pipeline(rgb, channel_order='rgb').frame_rgb is rgb


class _Broken(Exception):
    """What the broken stages below raise."""


class BrokenPreprocessor(Preprocessor):
    """A real pre-processor that fails."""

    def __call__(self, frame, channel_order='rgb'):
        """Raise."""
        raise _Broken('preprocess broke')


class BrokenBackend:
    """A real backend whose inference fails."""

    def __init__(self, backend):
        self._backend = backend

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def predict_labels(self, batch):
        """Raise."""
        raise _Broken('inference broke')


class BrokenPostProcessor(PostProcessor):
    """A real post-processor that fails."""

    def __call__(self, class_ids, frame=None, output_size=None):
        """Raise."""
        raise _Broken('postprocess broke')


def _broken(pipeline, stage):
    used = pipeline.preprocessor
    parts = {'preprocess': BrokenPreprocessor(used.mean, used.std, used.size,
                                              used.model_channel_order),
             'inference': BrokenBackend(pipeline.backend),
             'postprocess': BrokenPostProcessor(pipeline.postprocessor.config)}
    return Pipeline(parts.get('inference') if stage == 'inference' else pipeline.backend,
                    parts['preprocess'] if stage == 'preprocess' else used,
                    parts['postprocess'] if stage == 'postprocess' else pipeline.postprocessor)


@pytest.mark.parametrize('stage', PIPELINE_STAGES)
def test_a_failing_stage_is_named_with_what_it_raised(pipeline, stage):
    with pytest.raises(StageError) as caught:
        _broken(pipeline, stage)(synthetic_frame(64, 48))
    assert caught.value.stage == stage and caught.value.kind == '_Broken'
    assert isinstance(caught.value.error, _Broken) and caught.value.__cause__ is caught.value.error
    assert str(caught.value) == f'{stage} raised _Broken: {stage} broke'


def test_an_inference_failing_while_in_flight_is_named_inference(pipeline):
    class FailsLater(BrokenBackend):
        max_in_flight = 2

        def start_labels(self, batch):
            def wait():
                raise _Broken('inference broke')
            return PendingLabels(wait)

    in_flight = Pipeline(FailsLater(pipeline.backend), pipeline.preprocessor,
                         pipeline.postprocessor).start(synthetic_frame(64, 48))
    with pytest.raises(StageError) as caught:
        pipeline.finish(in_flight)
    assert caught.value.stage == 'inference' and caught.value.kind == '_Broken'


def test_started_frames_finish_in_any_order_with_their_own_results(pipeline):
    frames = [synthetic_frame(64, 48, seed) for seed in (1, 2)]
    expected = [pipeline(frame) for frame in frames]
    started = [pipeline.start(frame) for frame in frames]
    for index in (1, 0):
        output = pipeline.finish(started[index])
        np.testing.assert_array_equal(output.class_ids, expected[index].class_ids)
        np.testing.assert_array_equal(output.result.labels, expected[index].result.labels)
        assert set(output.timings_ms) == set(expected[index].timings_ms)
        assert output.frame_rgb is frames[index]


def test_rgb_and_bgr_input_give_the_same_result(pipeline, real_frame_bgr, real_result):
    from_rgb = pipeline(np.ascontiguousarray(real_frame_bgr[:, :, ::-1]), channel_order='rgb')
    np.testing.assert_array_equal(from_rgb.class_ids, real_result.class_ids)
    np.testing.assert_array_equal(from_rgb.result.labels, real_result.result.labels)


def test_class_ids_are_the_backends_labels(pipeline, real_frame_bgr, real_result):
    batch = pipeline.preprocessor(real_frame_bgr, 'bgr')
    np.testing.assert_array_equal(real_result.class_ids, pipeline.backend.predict_labels(batch)[0])


def test_bad_frames_are_refused_before_inference(pipeline):
    with pytest.raises(ValueError, match='uint8'):
        pipeline(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError, match='channel_order'):
        pipeline(np.zeros((10, 10, 3), np.uint8), channel_order='yuv')


def test_update_config_changes_the_post_processing(pipeline):
    frame = synthetic_frame(416, 320)
    original = pipeline.postprocessor.config
    try:
        thin = pipeline(frame).result
        pipeline.update_config(dataclasses.replace(original, line_thickness_px=40.0))
        thick = pipeline(frame).result
    finally:
        pipeline.update_config(original)
    assert pipeline.postprocessor.config == original
    if any(thin.polylines.values()):
        assert np.count_nonzero(thick.labels) > np.count_nonzero(thin.labels)


def test_update_config_from_another_thread_while_frames_run(pipeline):
    frame = synthetic_frame(208, 160, seed=2)
    original = pipeline.postprocessor.config
    configs = [dataclasses.replace(original, join_gap_px=float(gap)) for gap in range(5, 40, 5)]
    errors = []
    stop = threading.Event()

    def keep_updating():
        try:
            while not stop.is_set():
                for config in configs:
                    pipeline.update_config(config)
        except Exception as error:  # noqa: B902 - any failure is the test's finding
            errors.append(error)

    updater = threading.Thread(target=keep_updating)
    updater.start()
    try:
        results = [pipeline(frame) for _ in range(3)]
    finally:
        stop.set()
        updater.join()
        pipeline.update_config(original)
    assert not errors
    assert all(result.result.labels.shape == (160, 208) for result in results)
    pipeline.update_config(configs[-1])
    assert pipeline.postprocessor.config == configs[-1]
    pipeline.update_config(original)


def test_describe_includes_backend_and_input_size(pipeline):
    description = pipeline.describe()
    assert description['backend'] == 'torch' and description['input_size'] == [416, 320]

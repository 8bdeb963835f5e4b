# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``Pipeline``: pre-process, infer, post-process one frame, with per-stage timings.

The node, the bag tools, the CLI and the benchmark all run frames through this one
object, so what is tested offline is what runs in the operating room. A stage that
raises is reported as :class:`StageError` naming the stage, so every caller counts
faults under the same names without guessing them from a traceback.
"""

from dataclasses import dataclass
import threading
import time
from typing import Any, Callable, Optional, TYPE_CHECKING

from liver_landmarks.postprocess import LandmarkPolylines, PostProcessConfig, PostProcessor
from liver_landmarks.preprocess import check_channel_order, check_frame, Preprocessor
import numpy as np

if TYPE_CHECKING:  # the backends import torch, which callers of STAGES need not load
    from liver_landmarks.backends.base import InferenceBackend

#: The stages a frame goes through, in order: decoding the message, the pipeline's own
#: three, and handing the outputs on (publishing them, or writing them to a bag).
#: Latencies and faults are reported under these names by the node's diagnostics, the
#: benchmark and bag processing.
STAGES = ('decode', 'preprocess', 'inference', 'postprocess', 'publish')
#: The stages :class:`Pipeline` itself runs.
PIPELINE_STAGES = STAGES[1:4]


class StageError(RuntimeError):
    """A stage of the pipeline raised; ``stage`` names it, ``error`` is what it raised."""

    def __init__(self, stage: str, error: BaseException):
        super().__init__(f'{stage} raised {type(error).__name__}: {error}')
        self.stage = stage
        self.error = error

    @property
    def kind(self) -> str:
        """Type name of the original exception, as faults are counted by."""
        return type(self.error).__name__


@dataclass
class PipelineResult:
    """One frame's results."""

    class_ids: np.ndarray          # raw network argmax at the network's 320x416
    result: LandmarkPolylines      # polylines and re-drawn labels at the frame's size
    timings_ms: dict[str, float]   # 'preprocess', 'inference', 'postprocess', 'total'
    frame_rgb: np.ndarray          # the input frame in RGB order (a view when it was RGB)


@dataclass
class InFlightFrame:
    """A frame pre-processed and handed to the backend: :meth:`Pipeline.finish` completes it."""

    frame_rgb: np.ndarray
    output_size: tuple
    labels: Callable[[], np.ndarray]   # waits for and returns the (1, H, W) class ids
    postprocessor: PostProcessor
    timings_ms: dict[str, float]
    started: float
    inference_started: float


class Pipeline:
    """Frame in, landmarks out: Preprocessor -> InferenceBackend -> PostProcessor.

    ``pipeline(frame)`` runs the three stages in turn. :meth:`start` and :meth:`finish`
    split them around the inference, so that a caller can pre-process the next frame
    or post-process the last one while a backend with asynchronous inference
    (``backend.max_in_flight`` above one) infers.
    """

    def __init__(self, backend: 'InferenceBackend', preprocessor: Preprocessor,
                 postprocessor: PostProcessor):
        """Compose the three stages; the pipeline closes the backend in :meth:`close`."""
        self.backend = backend
        self.preprocessor = preprocessor
        self._postprocessor = postprocessor
        self._config_lock = threading.Lock()

    @classmethod
    def from_model_card(cls, card_path, backend: str = 'auto', device: str = 'auto',
                        config: Optional[PostProcessConfig] = None,
                        **backend_options) -> 'Pipeline':
        """Build the pipeline for a saved model: backend by kind, pre-processing from its card."""
        from liver_landmarks.backends import create_backend

        inference = create_backend(backend, card_path, device=device, **backend_options)
        try:
            preprocessor = Preprocessor.from_model_card(inference.model_card)
            postprocessor = PostProcessor(config if config is not None else PostProcessConfig())
        except BaseException:
            inference.close()
            raise
        return cls(inference, preprocessor, postprocessor)

    @property
    def postprocessor(self) -> PostProcessor:
        """Return the post-processor in use now."""
        with self._config_lock:
            return self._postprocessor

    def update_config(self, config: PostProcessConfig) -> None:
        """Swap post-processing settings; safe to call from another thread while frames run.

        A frame already being post-processed finishes with the settings it started with.
        """
        postprocessor = PostProcessor(config)
        with self._config_lock:
            self._postprocessor = postprocessor

    def __call__(self, frame: np.ndarray, channel_order: str = 'rgb') -> PipelineResult:
        """Segment one HxWx3 uint8 frame; results are at the frame's size.

        A frame that is not HxWx3 uint8, or an unknown ``channel_order``, raises
        ValueError before any stage runs; a stage that fails raises :class:`StageError`.
        """
        return self.finish(self.start(frame, channel_order))

    def start(self, frame: np.ndarray, channel_order: str = 'rgb') -> InFlightFrame:
        """Pre-process ``frame`` and start its inference; :meth:`finish` returns its result.

        Raises as :meth:`__call__` does for the stages it runs.
        """
        check_frame(frame)
        check_channel_order(channel_order)
        started = time.perf_counter()
        batch = _stage('preprocess', self.preprocessor, frame, channel_order)
        inference_started = time.perf_counter()
        if self.backend.max_in_flight > 1:
            labels = _stage('inference', self.backend.start_labels, batch).result
        else:
            # Inferred here through predict_labels, the one method every backend has.
            ids = _stage('inference', self.backend.predict_labels, batch)
            labels = lambda: ids  # noqa: E731 - the same call as an asynchronous result
        return InFlightFrame(
            frame_rgb=frame if channel_order == 'rgb' else frame[:, :, ::-1],
            output_size=frame.shape[:2], labels=labels, postprocessor=self.postprocessor,
            timings_ms={'preprocess': 1000.0 * (inference_started - started)},
            started=started, inference_started=inference_started)

    def finish(self, in_flight: InFlightFrame) -> PipelineResult:
        """Wait for a started frame's class ids and post-process them.

        Its ``inference`` time runs from the start of the inference to the ids being
        ready, so with overlapping frames it includes the wait behind the previous one.
        """
        class_ids = _stage('inference', in_flight.labels)[0]
        inferred = time.perf_counter()
        result = _stage('postprocess', in_flight.postprocessor, class_ids,
                        frame=in_flight.frame_rgb, output_size=in_flight.output_size)
        done = time.perf_counter()
        timings_ms = {**in_flight.timings_ms,
                      'inference': 1000.0 * (inferred - in_flight.inference_started),
                      'postprocess': 1000.0 * (done - inferred),
                      'total': 1000.0 * (done - in_flight.started)}
        return PipelineResult(class_ids=class_ids, result=result, timings_ms=timings_ms,
                              frame_rgb=in_flight.frame_rgb)

    def describe(self) -> dict[str, Any]:
        """Backend description plus the pre-processing settings, for diagnostics."""
        description = dict(self.backend.describe())
        description['input_size'] = list(self.preprocessor.size)
        return description

    def close(self) -> None:
        """Release the backend."""
        self.backend.close()

    def __enter__(self) -> 'Pipeline':
        """Use as a context manager that closes the backend."""
        return self

    def __exit__(self, *exc_info) -> None:
        """Close the backend."""
        self.close()


def _stage(stage: str, step, *args, **kwargs):
    """Run one stage; re-raise what it raises as a :class:`StageError` naming the stage."""
    try:
        return step(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - re-raised naming its stage
        raise StageError(stage, error) from error

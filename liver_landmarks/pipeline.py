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
from typing import Any, Optional, TYPE_CHECKING

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


class Pipeline:
    """Frame in, landmarks out: Preprocessor -> InferenceBackend -> PostProcessor."""

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
        check_frame(frame)
        check_channel_order(channel_order)
        frame_rgb = frame if channel_order == 'rgb' else frame[:, :, ::-1]
        postprocessor = self.postprocessor
        steps = (('preprocess', lambda _: self.preprocessor(frame, channel_order)),
                 ('inference', lambda batch: self.backend.predict_labels(batch)[0]),
                 ('postprocess', lambda ids: postprocessor(
                     ids, frame=frame_rgb, output_size=frame.shape[:2])))
        timings_ms, value, outputs = {}, None, []
        started = time.perf_counter()
        for stage, step in steps:
            stage_start = time.perf_counter()
            try:
                value = step(value)
            except Exception as error:  # noqa: BLE001 - re-raised naming its stage
                raise StageError(stage, error) from error
            timings_ms[stage] = 1000.0 * (time.perf_counter() - stage_start)
            outputs.append(value)
        timings_ms['total'] = 1000.0 * (time.perf_counter() - started)
        return PipelineResult(class_ids=outputs[1], result=outputs[2], timings_ms=timings_ms,
                              frame_rgb=frame_rgb)

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

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""``Pipeline``: pre-process, infer, post-process one frame, with per-stage timings.

The node, the bag tools, the CLI and the benchmark all run frames through this one
object, so what is tested offline is what runs in the operating room.
"""

from dataclasses import dataclass
import threading
import time
from typing import Any, Optional

from liver_landmarks.backends.base import InferenceBackend
from liver_landmarks.postprocess import LandmarkPolylines, PostProcessConfig, PostProcessor
from liver_landmarks.preprocess import check_channel_order, check_frame, Preprocessor
import numpy as np


@dataclass
class PipelineResult:
    """One frame's results."""

    class_ids: np.ndarray          # raw network argmax at the network's 320x416
    result: LandmarkPolylines      # polylines and re-drawn labels at the frame's size
    timings_ms: dict[str, float]   # 'preprocess', 'inference', 'postprocess', 'total'


class Pipeline:
    """Frame in, landmarks out: Preprocessor -> InferenceBackend -> PostProcessor."""

    def __init__(self, backend: InferenceBackend, preprocessor: Preprocessor,
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

    @property
    def config(self) -> Any:
        """Return the post-processing configuration in use now."""
        return getattr(self.postprocessor, 'config', None)

    def update_config(self, config: PostProcessConfig) -> None:
        """Swap post-processing settings; safe to call from another thread while frames run.

        A frame already being post-processed finishes with the settings it started with.
        """
        postprocessor = PostProcessor(config)
        with self._config_lock:
            self._postprocessor = postprocessor

    def __call__(self, frame: np.ndarray, channel_order: str = 'rgb') -> PipelineResult:
        """Segment one HxWx3 uint8 frame; results are at the frame's size."""
        check_frame(frame)
        check_channel_order(channel_order)
        start = time.perf_counter()
        batch = self.preprocessor(frame, channel_order)
        preprocessed = time.perf_counter()
        class_ids = self.backend.predict_labels(batch)[0]
        inferred = time.perf_counter()
        frame_rgb = frame if channel_order == 'rgb' else frame[:, :, ::-1]
        result = self.postprocessor(class_ids, frame=frame_rgb, output_size=frame.shape[:2])
        done = time.perf_counter()
        timings_ms = {
            'preprocess': 1000.0 * (preprocessed - start),
            'inference': 1000.0 * (inferred - preprocessed),
            'postprocess': 1000.0 * (done - inferred),
            'total': 1000.0 * (done - start),
        }
        return PipelineResult(class_ids=class_ids, result=result, timings_ms=timings_ms)

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

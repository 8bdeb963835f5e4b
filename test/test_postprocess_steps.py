# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The post-processor is its named steps: what runs, in the order the docs list."""

from pathlib import Path
import re

import cv2
from liver_landmarks.landmarks import Landmark
from liver_landmarks.postprocess import FrameState, PostProcessConfig, PostProcessor, STEPS
import numpy as np
import pytest

DOCS = Path(__file__).resolve().parents[1] / 'docs' / 'postprocessing.md'


def _mask() -> np.ndarray:
    ids = np.zeros((120, 160), np.uint8)
    cv2.line(ids, (10, 40), (150, 45), int(Landmark.RIDGE), 3)
    cv2.line(ids, (10, 90), (70, 95), int(Landmark.SILHOUETTE), 3)
    cv2.line(ids, (76, 95), (150, 92), int(Landmark.SILHOUETTE), 3)   # a gap to join
    cv2.line(ids, (80, 50), (82, 85), int(Landmark.LIGAMENT), 3)
    return ids


def test_the_docs_table_lists_the_steps_in_the_order_they_run():
    rows = re.findall(r'^\| (\d+) \| ([a-f, ]+) \| `(\w+)`', DOCS.read_text(), re.MULTILINE)
    assert [(int(order), letter, name) for order, letter, name in rows] == [
        (index, step.letter, step.__name__) for index, step in enumerate(STEPS, 1)]


def test_the_processor_runs_exactly_its_steps_in_order():
    processor = PostProcessor()
    assert [type(step) for step in processor.steps] == list(STEPS)
    assert [step.letter for step in processor.steps] == ['a', 'b', 'd, c', 'e', 'f', 'f']


@pytest.mark.parametrize('config', [PostProcessConfig(),
                                    PostProcessConfig(ligament_cull=False, join_gap_px=0.0),
                                    PostProcessConfig(sample_step_px=2.0, rdp_epsilon_px=3.0)])
def test_running_the_steps_by_hand_gives_the_processors_result(config):
    ids = _mask()
    frame = np.full((240, 320, 3), 120, np.uint8)
    expected = PostProcessor(config)(ids, frame=frame, output_size=(240, 320))
    state = FrameState(class_ids=ids, frame=frame, output_size=(240, 320),
                       scale=config.length_scale(ids.shape[0]))
    for step_class in STEPS:
        state = step_class(config)(state)
    np.testing.assert_array_equal(state.labels, expected.labels)
    for landmark, lines in expected.polylines.items():
        assert len(state.polylines[landmark]) == len(lines)
        for got, want in zip(state.polylines[landmark], lines):
            np.testing.assert_array_equal(got, want)


def test_setting_the_config_rebuilds_the_steps():
    processor = PostProcessor()
    processor.config = PostProcessConfig(ligament_cull=False)
    assert all(step.config is processor.config for step in processor.steps)
    ids = _mask()
    assert processor(ids).polylines[Landmark.LIGAMENT]

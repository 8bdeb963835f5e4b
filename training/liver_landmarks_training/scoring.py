# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Scoring at the ground truth's own resolution, the way the challenge's code does.

The network works at 416x320, but the P2ILF ground truth is a 1920x1080 line drawing,
and a line rasterised at one size and resized to another is not the same line. So
every frame is scored at the size of its image:

* the ground truth is the annotation drawn at the image's size, lines
  :func:`liver_landmarks.drawing.line_thickness` of
  ``p2ilf_io.LINE_THICKNESS_AT_1080`` wide (12 px at 1080 rows), or the colour label
  image as stored;
* ``raw``: the network's argmax, enlarged to that size by nearest neighbour;
* ``post``: :class:`liver_landmarks.postprocess.PostProcessor` on the argmax (with
  the frame for the field-of-view cull), its polylines mapped to that size and
  drawn exactly as wide as the ground truth's lines, so that ``post`` measures the
  post-processing and not a difference of line widths.

Scores are :func:`liver_landmarks.metrics.landmark_scores` averaged as the
challenge does (:func:`~liver_landmarks.metrics.mean_over_images`). The paper's G is
``francois_norm``: the François score divided by ``d_max`` (10 px at full
resolution), 0 perfect and 1 for a landmark missed entirely.
"""

from dataclasses import replace

from liver_landmarks import p2ilf_io
from liver_landmarks.landmarks import INPUT_HEIGHT, INPUT_WIDTH
from liver_landmarks.metrics import landmark_scores, mean_over_images
from liver_landmarks.postprocess import PostProcessConfig, PostProcessor
from liver_landmarks.preprocess import resize_image, resize_labels
from liver_landmarks_training.datasets import labels_at_size, LandmarkDataset, read_rgb
import numpy as np
import torch

#: The paper's columns: (header, score key); G is the normalised François score.
PAPER_COLUMNS = (('P', 'precision'), ('D', 'dice'), ('G', 'francois_norm'))
STAGES = ('raw', 'post')


def ground_truth_at_image_size(sample) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(image RGB, ground-truth ids)`` of a sample, both at the image's size."""
    image = read_rgb(sample.image)
    return image, labels_at_size(sample, image.shape[1], image.shape[0])


def postprocessor_for(rows: int, config: PostProcessConfig = PostProcessConfig()
                      ) -> PostProcessor:
    """Return a post-processor whose re-drawn lines are the ground truth's width at ``rows``.

    The re-drawn labels and the rasterised annotation share one width formula
    (:func:`liver_landmarks.drawing.line_thickness`), so the annotation's width at 1080
    rows gives the same width at every size.
    """
    return PostProcessor(replace(config, line_thickness_px=p2ilf_io.LINE_THICKNESS_AT_1080))


def predict_ids(network, dataset, batch_size: int = 4) -> list[np.ndarray]:
    """Argmax class ids (320x416 uint8) of every sample of an unaugmented dataset."""
    predictions = []
    with torch.inference_mode():
        for start in range(0, len(dataset), batch_size):
            stop = min(start + batch_size, len(dataset))
            batch = torch.stack([dataset[index][0] for index in range(start, stop)])
            predictions.extend(network(batch).argmax(dim=1).to(torch.uint8).numpy())
    return predictions


def full_size_outputs(predicted, image, shape, config: PostProcessConfig = PostProcessConfig()
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(raw, post)`` id masks of one working-size prediction at the ``shape`` (H, W).

    ``raw`` is the prediction enlarged by nearest neighbour; ``post`` the post-processor's
    polylines (field of view culled on ``image``, any size) drawn at ``shape`` as wide
    as the ground truth's lines.
    """
    rows, columns = shape
    raw = resize_labels(predicted, rows, columns)
    working_frame = resize_image(image, predicted.shape[1], predicted.shape[0])
    post = postprocessor_for(rows, config)(predicted, frame=working_frame,
                                           output_size=(rows, columns)).labels
    return raw, post


def score_predictions(predictions, frames, config: PostProcessConfig = PostProcessConfig()
                      ) -> dict:
    """Score working-size predictions against full-size ground truth, raw and post-processed.

    ``frames`` holds ``(image RGB, ground-truth ids)`` pairs at the image's size, one per
    prediction. Returns ``{'raw': aggregate, 'post': aggregate}`` of
    :func:`~liver_landmarks.metrics.mean_over_images`.
    """
    scores = {stage: [] for stage in STAGES}
    for predicted, (image, truth) in zip(predictions, frames):
        outputs = full_size_outputs(predicted, image, truth.shape, config)
        for stage, output in zip(STAGES, outputs):
            scores[stage].append(landmark_scores(output, truth))
    return {stage: mean_over_images(values) for stage, values in scores.items()}


def frames_at_image_size(dataset) -> list:
    """Return ``(image, ground truth)`` of every sample at its own size.

    Datasets read from disk give the image and annotation at the image's size;
    generated ones (no files) give their stored working-size pair.
    """
    samples = getattr(dataset, 'samples', None)
    if samples:
        return [ground_truth_at_image_size(sample) for sample in samples]
    return [dataset.arrays(index) for index in range(len(dataset))]


def score_network(network, samples, config: PostProcessConfig = PostProcessConfig(),
                  cache_dir=None) -> dict:
    """Score a network on samples at their own resolution; see :func:`score_predictions`."""
    dataset = LandmarkDataset(samples, cache_dir=cache_dir)
    if dataset.size != (INPUT_WIDTH, INPUT_HEIGHT):
        raise ValueError(f'the network input size is {INPUT_WIDTH}x{INPUT_HEIGHT}, '
                         f'the dataset serves {dataset.size}')
    return score_predictions(predict_ids(network, dataset), frames_at_image_size(dataset),
                             config)


def paper_means(aggregate: dict) -> dict:
    """Return ``{'P': .., 'D': .., 'G': ..}``: the means over landmarks of an aggregate."""
    mean = aggregate['mean']
    return {header: mean[key] for header, key in PAPER_COLUMNS}

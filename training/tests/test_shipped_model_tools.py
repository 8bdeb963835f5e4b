# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The shipped model's training and reporting tools: frozen-encoder training, frame report."""

import json

import cv2
from liver_landmarks import p2ilf_io
from liver_landmarks.landmarks import Landmark
from liver_landmarks.model import build_model, ModelCard, save_artifact
from liver_landmarks_training.frozen_encoder import FreezeEncoder
from liver_landmarks_training.sample_frame_report import markdown_table, score_models
import numpy as np
import torch

TINY_ENCODER = 'tu-mobilenetv3_small_100'


class _Holder(torch.nn.Module):
    """Stands in for the Lightning module: the callback only reads ``.model``."""

    def __init__(self):
        super().__init__()
        self.model = build_model('unet', TINY_ENCODER)


def test_freeze_encoder_stops_gradients_and_batch_norm_updates():
    holder = _Holder()
    holder.train()
    callback = FreezeEncoder()
    callback.on_fit_start(None, holder)
    holder.train()                      # as a fit loop may do at an epoch's start
    callback.on_train_epoch_start(None, holder)
    encoder, decoder = holder.model.encoder, holder.model.decoder
    assert not any(parameter.requires_grad for parameter in encoder.parameters())
    assert all(parameter.requires_grad for parameter in decoder.parameters())
    statistics = [buffer.clone() for name, buffer in encoder.named_buffers()
                  if name.endswith('running_mean')]
    loss = holder.model(torch.rand(2, 3, 64, 64)).mean()
    loss.backward()
    after = [buffer for name, buffer in encoder.named_buffers() if name.endswith('running_mean')]
    assert all(torch.equal(a, b) for a, b in zip(statistics, after))
    assert all(parameter.grad is None for parameter in encoder.parameters())


def test_frame_report_scores_raw_and_post_processed_labels(tmp_path):
    model = build_model('unet', TINY_ENCODER).eval()
    card = save_artifact(model, ModelCard(architecture='unet', encoder=TINY_ENCODER,
                                          name='tiny', description='random, for tests'),
                         tmp_path / 'model', 'tiny')
    frame = np.full((270, 480, 3), 120, np.uint8)
    cv2.circle(frame, (240, 135), 90, (60, 80, 160), -1)
    ground_truth = np.zeros((270, 480), np.uint8)
    cv2.circle(ground_truth, (240, 135), 90, int(Landmark.SILHOUETTE), 3)
    cv2.line(ground_truth, (180, 150), (300, 150), int(Landmark.RIDGE), 3)
    cv2.imwrite(str(tmp_path / 'frame.png'), frame)
    p2ilf_io.write_label_image(tmp_path / 'frame_GT.png', ground_truth)
    results = score_models(tmp_path / 'frame.png', tmp_path / 'frame_GT.png',
                           {'tiny': card}, tmp_path / 'report')
    for stage in ('raw', 'post'):
        scores = results['tiny'][stage]
        assert set(scores) >= {'ridge', 'ligament', 'silhouette', 'mean'}
        assert 0.0 <= scores['mean']['dice'] <= 1.0
        labels = p2ilf_io.read_label_image(tmp_path / 'report' / f'tiny_{stage}_labels.png')
        assert labels.shape == ground_truth.shape
    assert json.loads((tmp_path / 'report' / 'scores.json').read_text()) == results
    assert cv2.imread(str(tmp_path / 'report' / 'overlays.jpg')) is not None
    table = markdown_table(results)
    assert table.count('| tiny |') == 2 and 'silhouette P' in table

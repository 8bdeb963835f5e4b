# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""The LightningModule: network, composite loss, AdamW, plateau schedule, P2ILF validation.

Validation scores argmax predictions with :func:`liver_landmarks.metrics.landmark_scores`
and aggregates them as :func:`liver_landmarks.metrics.mean_over_images` does (per
landmark over the images where it is present, then over landmarks). The selection
score ``val/score`` is mean precision + mean Dice, the paper's rule for the best
checkpoint, the plateau schedule and early stopping. Under DDP the per-landmark sums
and counts are reduced over all processes before the means are taken.
"""

import lightning as L
from liver_landmarks.landmarks import LANDMARKS
from liver_landmarks.metrics import landmark_scores
from liver_landmarks.model import build_model
from liver_landmarks_training.config import NO_ENCODER_WEIGHTS
from liver_landmarks_training.losses import loss_from_config
import torch
from torch import nn

#: Per-landmark scores logged during validation; ``francois_norm`` is the paper's G
#: (here at the 416x320 working size; reproduced tables score at full resolution).
VALIDATION_KEYS = ('precision', 'dice', 'francois_norm')
SELECTION_METRIC = 'val/score'


class LandmarkSegmentationModule(L.LightningModule):
    """Train one ``build_model`` network with the recipe's loss and optimiser."""

    def __init__(self, config: dict, class_weights=None, load_encoder_weights: bool = True):
        """Build the network from ``config['model']`` and the loss from ``config['loss']``.

        ``load_encoder_weights=False`` skips the local ImageNet file, as when the
        weights come from a checkpoint anyway (resume, export, evaluation).
        """
        super().__init__()
        self.save_hyperparameters({'config': config, 'class_weights': class_weights})
        model_config = config['model']
        weights_file = model_config['encoder_weights'] if load_encoder_weights else None
        if weights_file == NO_ENCODER_WEIGHTS:
            weights_file = None
        self.model = build_model(model_config['architecture'], model_config['encoder'],
                                 encoder_weights=weights_file)
        self.criterion = loss_from_config(config['loss'], class_weights)
        self.deep_supervision_weight = float(model_config['deep_supervision_weight'])
        self.optim_config = config['optim']
        self._validation_sums = None
        #: Validation aggregates of every epoch, appended at each epoch's end.
        self.validation_history: list[dict] = []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return (N, C, H, W) logits of the main head."""
        return self.model(images)

    def _training_outputs(self, images):
        """Return the main logits and, for networks with deep-supervision heads, their logits."""
        if self.deep_supervision_weight > 0 and hasattr(self.model, 'forward_with_aux'):
            return self.model.forward_with_aux(images)
        return self.model(images), []

    def training_step(self, batch, batch_index):
        """Composite loss of the main head plus the weighted mean over auxiliary heads."""
        images, masks = batch
        logits, aux_logits = self._training_outputs(images)
        terms = self.criterion.terms(logits, masks)
        loss = terms['total']
        if aux_logits:
            aux_loss = torch.stack([self.criterion(aux, masks) for aux in aux_logits]).mean()
            loss = loss + self.deep_supervision_weight * aux_loss
            self.log('train/aux_loss', aux_loss, on_step=False, on_epoch=True, sync_dist=True)
        batch_size = images.shape[0]
        for name, value in terms.items():
            if name != 'total':
                self.log(f'train/{name}', value, on_step=False, on_epoch=True,
                         batch_size=batch_size, sync_dist=True)
        self.log('train/loss', loss, prog_bar=True, on_step=True, on_epoch=True,
                 batch_size=batch_size, sync_dist=True)
        return loss

    def on_validation_epoch_start(self):
        """Reset the per-landmark score sums (one row per landmark: keys..., count)."""
        self._validation_sums = torch.zeros(len(LANDMARKS), len(VALIDATION_KEYS) + 1,
                                            dtype=torch.float64, device=self.device)

    def validation_step(self, batch, batch_index):
        """Loss on the batch, and P2ILF scores of its argmax predictions."""
        images, masks = batch
        logits = self(images)
        loss = self.criterion(logits, masks)
        self.log('val/loss', loss, prog_bar=True, on_epoch=True, batch_size=images.shape[0],
                 sync_dist=True)
        predictions = logits.argmax(dim=1).to(torch.uint8).cpu().numpy()
        ground_truth = masks.to(torch.uint8).cpu().numpy()
        for predicted, truth in zip(predictions, ground_truth):
            scores = landmark_scores(predicted, truth)
            for row, landmark in enumerate(LANDMARKS):
                landmark_score = scores[landmark.label]
                if landmark_score is None:
                    continue
                values = [landmark_score[key] for key in VALIDATION_KEYS] + [1.0]
                self._validation_sums[row] += torch.tensor(values, dtype=torch.float64,
                                                           device=self.device)
        return loss

    def on_validation_epoch_end(self):
        """Log per-landmark and mean scores and ``val/score`` = mean precision + mean Dice."""
        sums = self.trainer.strategy.reduce(self._validation_sums, reduce_op='sum')
        aggregates = validation_aggregates(sums)
        for name, value in aggregates.items():
            self.log(name, value, prog_bar=name == SELECTION_METRIC, sync_dist=False)
        if not self.trainer.sanity_checking:
            self.validation_history.append({'epoch': int(self.current_epoch), **aggregates})

    def configure_optimizers(self):
        """Use AdamW with a plateau schedule on the selection score (mode max)."""
        optimiser = torch.optim.AdamW(self.parameters(), lr=float(self.optim_config['lr']),
                                      weight_decay=float(self.optim_config['weight_decay']))
        scheduler = plateau_scheduler(optimiser, self.optim_config)
        return {'optimizer': optimiser,
                'lr_scheduler': {'scheduler': scheduler, 'monitor': SELECTION_METRIC,
                                 'interval': 'epoch', 'strict': True}}


def plateau_scheduler(optimiser, optim_config: dict):
    """Return a ReduceLROnPlateau that cuts on the ``plateau_patience``-th stagnant epoch.

    The paper cuts "after three epochs of stagnation"; torch's ``patience`` counts the
    stagnant epochs it tolerates and cuts on the next one, hence the minus one.
    """
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimiser, mode='max', factor=float(optim_config['plateau_factor']),
        patience=int(optim_config['plateau_patience']) - 1)


def validation_aggregates(sums: torch.Tensor) -> dict[str, float]:
    """Turn per-landmark (score sums..., count) rows into logged means.

    A landmark absent from every validation image is left out of the means; with
    no landmark at all the scores are 0 so that the selection still has a number.
    """
    aggregates = {}
    means = {key: [] for key in VALIDATION_KEYS}
    for row, landmark in enumerate(LANDMARKS):
        count = float(sums[row, -1])
        if count == 0:
            continue
        for column, key in enumerate(VALIDATION_KEYS):
            value = float(sums[row, column]) / count
            aggregates[f'val/{landmark.label}/{key}'] = value
            means[key].append(value)
    for key, values in means.items():
        aggregates[f'val/{key}'] = sum(values) / len(values) if values else 0.0
    aggregates[SELECTION_METRIC] = aggregates['val/precision'] + aggregates['val/dice']
    return aggregates


def network_from_checkpoint(checkpoint_path) -> tuple[nn.Module, dict]:
    """Return (network in eval mode on the CPU, training config) from a Lightning checkpoint."""
    module = LandmarkSegmentationModule.load_from_checkpoint(
        str(checkpoint_path), map_location='cpu', weights_only=True, load_encoder_weights=False)
    return module.model.eval(), module.hparams['config']

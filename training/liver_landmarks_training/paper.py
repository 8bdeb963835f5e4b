# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Borgars et al.'s published numbers and search space, as data (../shared/paper/).

The reproduction (:mod:`liver_landmarks_training.reproduce`) prints these beside the
measured values. Nothing here is measured by this package: every number is copied
from the paper's tables or Section 4.3.
"""

from dataclasses import dataclass
from itertools import product

#: Section 4.3: the ablation's learning rates and batch sizes.
LEARNING_RATES = (0.1, 0.05, 0.01, 0.005, 0.001, 0.0005, 0.0001)
BATCH_SIZES = (2, 4, 8, 16, 32)
#: "UNet3+ was only ablated up to batch size 8 due to VRAM constraints".
MAX_BATCH_SIZE = {'unet3plus': 8}
#: The five architectures, in the paper's order (liver_landmarks.model names).
ARCHITECTURES = ('unet', 'unetplusplus', 'unet3plus', 'deeplabv3plus', 'resunetplusplus')
ARCHITECTURE_NAMES = {'unet': 'UNet', 'unetplusplus': 'UNet++', 'unet3plus': 'UNet3+',
                      'deeplabv3plus': 'DeepLabV3+', 'resunetplusplus': 'ResUNet++'}
#: Loss coefficient keys of Eq. 2 in the order alpha, beta, gamma, delta.
LOSS_KEYS = ('ce', 'dice', 'huber', 'focal_tversky')
#: Candidates kept from the ablation (Section 4.4): ten, at least one per architecture.
CANDIDATE_COUNT = 10


def loss_settings(step: float = 0.25) -> list[dict]:
    """Every split of 1 into multiples of ``step`` over wCE, Dice, Huber, Focal-Tversky.

    With 0.25 that is C(7, 3) = 35 settings: the paper's "35 ablations ... per model
    on the composite loss function".
    """
    parts = round(1 / step)
    settings = []
    for counts in product(range(parts + 1), repeat=len(LOSS_KEYS)):
        if sum(counts) == parts:
            settings.append({key: count * step for key, count in zip(LOSS_KEYS, counts)})
    return sorted(settings, key=lambda setting: [-setting[key] for key in LOSS_KEYS])


@dataclass(frozen=True)
class Candidate:
    """One row of the paper's Table 3."""

    number: int
    architecture: str
    lr: float
    batch_size: int
    loss: tuple[float, float, float, float]   # alpha / beta / gamma / delta of Eq. 2

    def loss_dict(self) -> dict:
        """Return the loss coefficients as recipe keys."""
        return dict(zip(LOSS_KEYS, self.loss))


#: Table 3, verbatim. Candidate 8's batch 64 lies outside the stated grid; the
#: reproduction follows the table.
TABLE3 = (
    Candidate(1, 'unet', 0.0001, 32, (1.00, 0.00, 0.00, 0.00)),
    Candidate(2, 'unet', 0.0001, 8, (1.00, 0.00, 0.00, 0.00)),
    Candidate(3, 'unetplusplus', 0.001, 32, (0.25, 0.25, 0.00, 0.50)),
    Candidate(4, 'unetplusplus', 0.0005, 16, (0.50, 0.00, 0.50, 0.00)),
    Candidate(5, 'unetplusplus', 0.0005, 16, (0.75, 0.25, 0.00, 0.00)),
    Candidate(6, 'unet3plus', 0.001, 8, (0.50, 0.00, 0.00, 0.50)),
    Candidate(7, 'unet3plus', 0.001, 8, (0.50, 0.25, 0.00, 0.25)),
    Candidate(8, 'deeplabv3plus', 0.0001, 64, (0.25, 0.00, 0.25, 0.50)),
    Candidate(9, 'resunetplusplus', 0.0005, 16, (0.50, 0.00, 0.00, 0.50)),
    Candidate(10, 'resunetplusplus', 0.0005, 8, (0.75, 0.00, 0.00, 0.25)),
)

#: Table 1: pixels of each class in the P2ILF training set (full resolution).
TABLE1 = {'background': 244_679_040, 'silhouette': 1_872_457, 'ridge': 1_765_372,
          'ligament': 515_071}

#: Table 2: the P2ILF teams re-scored; per landmark (ridge, ligament, silhouette) and mean.
TABLE2 = {
    'BHL': {'P': (0.24, 0.41, 0.46, 0.37), 'D': (0.22, 0.43, 0.50, 0.38),
            'G': (0.70, 0.43, 0.40, 0.51)},
    'NCT': {'P': (0.20, 0.31, 0.41, 0.31), 'D': (0.24, 0.32, 0.52, 0.36),
            'G': (0.52, 0.51, 0.32, 0.45)},
    'UCL': {'P': (0.11, 0.43, 0.38, 0.31), 'D': (0.13, 0.48, 0.40, 0.34),
            'G': (0.73, 0.63, 0.42, 0.59)},
    'VIP': {'P': (0.11, 0.23, 0.19, 0.18), 'D': (0.16, 0.33, 0.29, 0.26),
            'G': (0.71, 0.44, 0.62, 0.59)},
    'VOR': {'P': (0.10, 0.15, 0.16, 0.13), 'D': (0.15, 0.24, 0.25, 0.21),
            'G': (0.70, 0.65, 0.66, 0.67)},
}

#: Table 4: mean P, D, G of candidate 2 after L3D training, per cross-entropy weighting.
TABLE4 = {'proportional': (0.05, 0.00, 1.00), 'log': (0.19, 0.22, 0.76),
          'eq1': (0.41, 0.29, 0.54)}
TABLE4_NAMES = {'proportional': 'Proportional', 'log': 'Logarithmic', 'eq1': 'Ours (Eq. 1)'}

#: Tables 5 and 6: per candidate, mean (P, D, G) after L3D training (init), P2ILF
#: fine-tuning (tune) and post-processing (post). Table 5 tunes with CE, Table 6
#: with CE 0.75 + Focal-Tversky 0.25.
_TABLE5_ROWS = (
    (0.39, 0.22, 0.69, 0.45, 0.23, 0.67, 0.44, 0.26, 0.67),
    (0.41, 0.29, 0.54, 0.44, 0.33, 0.52, 0.45, 0.35, 0.53),
    (0.35, 0.28, 0.59, 0.38, 0.30, 0.56, 0.43, 0.32, 0.57),
    (0.42, 0.25, 0.64, 0.43, 0.30, 0.55, 0.45, 0.32, 0.57),
    (0.39, 0.28, 0.61, 0.38, 0.31, 0.56, 0.39, 0.32, 0.57),
    (0.36, 0.24, 0.60, 0.51, 0.31, 0.51, 0.52, 0.33, 0.54),
    (0.32, 0.31, 0.56, 0.42, 0.25, 0.62, 0.44, 0.28, 0.63),
    (0.34, 0.23, 0.65, 0.36, 0.21, 0.69, 0.36, 0.22, 0.72),
    (0.38, 0.27, 0.63, 0.30, 0.15, 0.80, 0.30, 0.15, 0.79),
    (0.32, 0.17, 0.70, 0.43, 0.17, 0.70, 0.45, 0.21, 0.72),
)
_TABLE6_ROWS = (
    (0.39, 0.22, 0.69, 0.35, 0.37, 0.47, 0.45, 0.37, 0.44),
    (0.41, 0.29, 0.54, 0.38, 0.40, 0.40, 0.48, 0.43, 0.39),
    (0.35, 0.28, 0.59, 0.35, 0.37, 0.47, 0.47, 0.39, 0.45),
    (0.42, 0.25, 0.64, 0.31, 0.36, 0.53, 0.40, 0.37, 0.48),
    (0.39, 0.28, 0.61, 0.36, 0.39, 0.46, 0.44, 0.39, 0.45),
    (0.36, 0.24, 0.60, 0.33, 0.41, 0.47, 0.44, 0.42, 0.40),
    (0.32, 0.31, 0.56, 0.33, 0.40, 0.54, 0.45, 0.42, 0.43),
    (0.34, 0.23, 0.65, 0.31, 0.29, 0.60, 0.40, 0.30, 0.56),
    (0.38, 0.27, 0.63, 0.31, 0.29, 0.66, 0.35, 0.28, 0.56),
    (0.32, 0.17, 0.70, 0.32, 0.34, 0.51, 0.39, 0.34, 0.50),
)
#: Column stages of Tables 5 and 6.
TABLE56_STAGES = ('init', 'tune', 'post')


def _stage_table(rows) -> dict:
    return {number: {stage: dict(zip('PDG', row[3 * index:3 * index + 3]))
                     for index, stage in enumerate(TABLE56_STAGES)}
            for number, row in enumerate(rows, start=1)}


TABLE5 = _stage_table(_TABLE5_ROWS)
TABLE6 = _stage_table(_TABLE6_ROWS)

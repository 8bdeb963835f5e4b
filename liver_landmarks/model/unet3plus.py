# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""UNet3+ (Huang et al., ICASSP 2020) on a segmentation_models_pytorch encoder.

Every decoder node fuses all scales at once ("full-scale skip connections"):
encoder features at the same and finer scales (max-pooled down), and decoder
features plus the deepest encoder feature at coarser scales (up-sampled)::

    E1 (1/2) ──pool──┐
    E2 (1/4) ──pool──┤
    E3 (1/8) ────────┼─> D3 (1/8): conv each to ``cat_channels``, concatenate, conv
    D4 (1/16) ───up──┤
    E5 (1/32) ───up──┘

Coarser inputs are convolved at their own resolution before up-sampling (not after,
as the paper draws it): the same operator up to interpolation order, at a quarter
to a 256th of the multiply-adds, which matters on an operating-room CPU.

Deep supervision: each decoder node and E5 have a side head. In training mode
``forward`` also stores their up-sampled logits in ``aux_logits`` (finest first);
:meth:`UNet3Plus.forward_with_aux` returns them explicitly. In eval mode the side
heads do not run and ``forward`` returns only the (N, classes, H, W) logits.
"""

import segmentation_models_pytorch as smp
import torch
from torch import nn
import torch.nn.functional as F


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution, batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class FullScaleNode(nn.Module):
    """One UNet3+ decoder node: every scale brought to this one, concatenated, fused."""

    def __init__(self, level: int, encoder_channels: list[int], decoder_channels: int,
                 cat_channels: int):
        """Build the node at ``level`` (1 = 1/2 scale) over five encoder levels."""
        super().__init__()
        self.level = level
        deepest = len(encoder_channels)
        branches = []
        for source in range(1, deepest + 1):
            if source <= level or source == deepest:
                in_channels = encoder_channels[source - 1]
            else:
                in_channels = decoder_channels
            branches.append(conv_bn_relu(in_channels, cat_channels))
        self.branches = nn.ModuleList(branches)
        self.fuse = conv_bn_relu(cat_channels * deepest, decoder_channels)

    def forward(self, encoder_features: list[torch.Tensor],
                decoder_features: dict[int, torch.Tensor]) -> torch.Tensor:
        """Fuse encoder levels 1..5 and coarser decoder nodes into this level's features."""
        target = encoder_features[self.level - 1].shape[-2:]
        deepest = len(encoder_features)
        parts = []
        for source, branch in zip(range(1, deepest + 1), self.branches):
            if source < self.level:
                parts.append(branch(F.adaptive_max_pool2d(encoder_features[source - 1], target)))
            elif source == self.level:
                parts.append(branch(encoder_features[source - 1]))
            else:
                feature = (encoder_features[source - 1] if source == deepest
                           else decoder_features[source])
                parts.append(F.interpolate(branch(feature), size=target, mode='bilinear',
                                           align_corners=False))
        return self.fuse(torch.cat(parts, dim=1))


class UNet3Plus(nn.Module):
    """UNet3+ with full-scale skip connections and deep-supervision side heads."""

    def __init__(self, encoder_name: str = 'resnet34', classes: int = 4,
                 cat_channels: int = 32, in_channels: int = 3):
        """Build the network on the smp encoder ``encoder_name`` (random weights)."""
        super().__init__()
        self.encoder = smp.encoders.get_encoder(encoder_name, in_channels=in_channels,
                                                depth=5, weights=None)
        encoder_channels = list(self.encoder.out_channels[1:])
        decoder_channels = cat_channels * len(encoder_channels)
        levels = range(len(encoder_channels) - 1, 0, -1)
        self.nodes = nn.ModuleDict({
            str(level): FullScaleNode(level, encoder_channels, decoder_channels, cat_channels)
            for level in levels})
        self.head = nn.Conv2d(decoder_channels, classes, 3, padding=1)
        side_channels = [decoder_channels] * (len(encoder_channels) - 2) + [encoder_channels[-1]]
        self.side_heads = nn.ModuleList(
            nn.Conv2d(channels, classes, 3, padding=1) for channels in side_channels)
        self.aux_logits: list[torch.Tensor] = []

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Return the main logits and the side heads' logits (levels 2..4, then E5)."""
        return self._run(x, with_aux=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return (N, classes, H, W) logits; in training mode also fill ``aux_logits``."""
        logits, aux = self._run(x, with_aux=self.training)
        if self.training:
            self.aux_logits = aux
        return logits

    def _run(self, x: torch.Tensor, with_aux: bool):
        size = x.shape[-2:]
        encoder_features = self.encoder(x)[1:]
        decoder_features: dict[int, torch.Tensor] = {}
        for level, node in self.nodes.items():
            decoder_features[int(level)] = node(encoder_features, decoder_features)
        logits = F.interpolate(self.head(decoder_features[1]), size=size, mode='bilinear',
                               align_corners=False)
        if not with_aux:
            return logits, []
        side_inputs = [decoder_features[level] for level in range(2, len(encoder_features))]
        side_inputs.append(encoder_features[-1])
        aux = [F.interpolate(head(feature), size=size, mode='bilinear', align_corners=False)
               for head, feature in zip(self.side_heads, side_inputs)]
        return logits, aux

# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""ResUNet++ (Jha et al., ISM 2019) on a segmentation_models_pytorch encoder.

The paper's residual encoder is replaced by an smp encoder (ResNet-34 by default,
itself residual) so that ImageNet weights can be used; the rest follows the paper::

    encoder E1..E4 ──squeeze-excite──> skips S1..S4
    E5 ──ASPP (bridge)──> D5
    for i = 4..1:  A = attention(S_i, D_{i+1})      # D gated (sigmoid) by the finer skip
                   D_i = residual_block(concat(up(A), S_i))
    up(D1) ──ASPP──> 1x1 conv ──> logits

The bridge's atrous rates are scaled down to the 1/32 feature map (10x13 at
416x320); the paper's (6, 12, 18) suits its 1/16 map of a 256x256 input.
"""

from typing import Sequence

import segmentation_models_pytorch as smp
import torch
from torch import nn
import torch.nn.functional as F


def bn_relu_conv(in_channels: int, out_channels: int, dilation: int = 1) -> nn.Sequential:
    """Pre-activation 3x3 convolution: batch norm, ReLU, convolution."""
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(inplace=False),
        nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation,
                  bias=False),
    )


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al. 2018): global pooling, bottleneck, sigmoid gate."""

    def __init__(self, channels: int, reduction: int = 8):
        """Gate ``channels`` through a bottleneck ``reduction`` times narrower."""
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale each channel by its learned gate."""
        return x * self.gate(x)


class ResidualBlock(nn.Module):
    """Two pre-activation 3x3 convolutions plus a 1x1 projection shortcut."""

    def __init__(self, in_channels: int, out_channels: int):
        """Map ``in_channels`` to ``out_channels`` at the same resolution."""
        super().__init__()
        self.body = nn.Sequential(bn_relu_conv(in_channels, out_channels),
                                  bn_relu_conv(out_channels, out_channels))
        self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                      nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return body(x) + shortcut(x)."""
        return self.body(x) + self.shortcut(x)


class AtrousSpatialPyramidPooling(nn.Module):
    """Parallel dilated 3x3 convolutions, summed and projected (as ResUNet++ does)."""

    def __init__(self, in_channels: int, out_channels: int, rates: Sequence[int]):
        """One branch per dilation rate in ``rates``."""
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=rate, dilation=rate,
                                    bias=False),
                          nn.BatchNorm2d(out_channels),
                          nn.ReLU(inplace=True))
            for rate in rates)
        self.project = nn.Conv2d(out_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Sum the branches and project."""
        total = self.branches[0](x)
        for branch in self.branches[1:]:
            total = total + branch(x)
        return self.project(total)


class AttentionGate(nn.Module):
    """ResUNet++ attention: decoder features re-weighted by the finer encoder skip.

    The weight passes through a sigmoid. The paper's code multiplies by the raw
    convolution instead, which squares the activations' scale at each of the four
    decoder stages (logits near 1e22 from a randomly initialised network, beyond
    float16's range); a gate in [0, 1] is what attention gates (Oktay et al. 2018) use.
    """

    def __init__(self, skip_channels: int, decoder_channels: int):
        """Gate decoder features of ``decoder_channels`` by a skip of ``skip_channels``."""
        super().__init__()
        self.skip_path = bn_relu_conv(skip_channels, decoder_channels)
        self.decoder_path = bn_relu_conv(decoder_channels, decoder_channels)
        self.attention = bn_relu_conv(decoder_channels, decoder_channels)

    def forward(self, skip: torch.Tensor, decoder: torch.Tensor) -> torch.Tensor:
        """Return ``decoder`` multiplied by attention computed from both inputs."""
        pooled = F.adaptive_max_pool2d(self.skip_path(skip), decoder.shape[-2:])
        return decoder * torch.sigmoid(self.attention(pooled + self.decoder_path(decoder)))


class ResUNetPlusPlus(nn.Module):
    """ResUNet++: SE skips, ASPP bridge, attention-gated residual decoder, ASPP head."""

    def __init__(self, encoder_name: str = 'resnet34', classes: int = 4,
                 decoder_channels: Sequence[int] = (256, 128, 64, 32), head_channels: int = 16,
                 bridge_rates: Sequence[int] = (1, 2, 4), head_rates: Sequence[int] = (1, 6, 12),
                 in_channels: int = 3):
        """Build the network on the smp encoder ``encoder_name`` (random weights)."""
        super().__init__()
        self.encoder = smp.encoders.get_encoder(encoder_name, in_channels=in_channels,
                                                depth=5, weights=None)
        skip_channels = list(self.encoder.out_channels[1:-1])
        deepest = self.encoder.out_channels[-1]
        self.squeeze_excite = nn.ModuleList(SqueezeExcitation(c) for c in skip_channels)
        self.bridge = AtrousSpatialPyramidPooling(deepest, decoder_channels[0], bridge_rates)
        coarser = [decoder_channels[0]] + list(decoder_channels[:-1])
        # Decoder stages run from the coarsest skip (level 4) to the finest (level 1).
        self.attention = nn.ModuleList(
            AttentionGate(skip, gated)
            for skip, gated in zip(reversed(skip_channels), coarser))
        self.decoder = nn.ModuleList(
            ResidualBlock(gated + skip, out)
            for gated, skip, out in zip(coarser, reversed(skip_channels), decoder_channels))
        self.head_aspp = AtrousSpatialPyramidPooling(decoder_channels[-1], head_channels,
                                                     head_rates)
        self.head = nn.Conv2d(head_channels, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return (N, classes, H, W) logits."""
        features = self.encoder(x)
        skips = [se(feature) for se, feature in zip(self.squeeze_excite, features[1:-1])]
        decoded = self.bridge(features[-1])
        for gate, block, skip in zip(self.attention, self.decoder, reversed(skips)):
            gated = gate(skip, decoded)
            upsampled = F.interpolate(gated, size=skip.shape[-2:], mode='bilinear',
                                      align_corners=False)
            decoded = block(torch.cat([upsampled, skip], dim=1))
        decoded = F.interpolate(decoded, size=x.shape[-2:], mode='bilinear', align_corners=False)
        return self.head(self.head_aspp(decoded))

"""MobileNet-v1-style CNN: depthwise 3x3 + pointwise 1x1 blocks with BatchNorm and ReLU6.

Chosen because it is known to be hard for per-tensor static int8: after BatchNorm folding the
depthwise filters' ranges differ by orders of magnitude between channels, so one scale per
tensor wastes most of the int8 grid on a few channels.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(),
    )


class DepthwiseSeparable(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__(conv_bn(c_in, c_in, 3, stride, groups=c_in), conv_bn(c_in, c_out, 1, 1))


class MobileNet(nn.Module):
    def __init__(self, stem: int, blocks: tuple[tuple[int, int], ...], num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_bn(1, stem, 3, 1)]
        c_in = stem
        for c_out, stride in blocks:
            layers.append(DepthwiseSeparable(c_in, c_out, stride))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def build_torch(entry) -> nn.Module:
    blocks = tuple((int(c), int(s)) for c, s in entry.recipe["blocks"])
    return MobileNet(int(entry.recipe["stem"]), blocks, entry.num_classes)

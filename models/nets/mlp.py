"""MLP for 8x8 digits: the smallest entry, fast enough to train inside the default test run."""

from __future__ import annotations

from torch import nn


def build_torch(entry) -> nn.Module:
    widths = (64, *entry.recipe["widths"])
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(w_in, w_out), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], entry.num_classes))
    return nn.Sequential(*layers)

"""Small LeNet-style CNN for 28x28 MNIST: two conv+pool stages and a two-layer classifier."""

from __future__ import annotations

from torch import nn


def build_torch(entry) -> nn.Module:
    c1, c2, hidden = entry.recipe["channels"][0], entry.recipe["channels"][1], entry.recipe["hidden"]
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 14x14
        nn.Conv2d(c1, c2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 7x7
        nn.Flatten(),
        nn.Linear(c2 * 7 * 7, hidden),
        nn.ReLU(),
        nn.Linear(hidden, entry.num_classes),
    )

"""Small torch models on sklearn's digits for mixed-precision tests: a normal MLP and two built to break
in low precision with the same fp32 function (ReLU is positively homogeneous, biases compensate).

- ``overflow``: fc1's outputs scaled by 1e5 (fc2's weights by 1e-5): hidden activations far beyond
  fp16's 65504, so fp16 overflows to inf; fp32 is unchanged.
- ``cancellation``: fc2's outputs shifted by +4096 in every channel, which the LayerNorm after it removes
  exactly; in bf16 (8 significant bits, spacing 32 at 4096) fc2's output is rounded away first.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class Digits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def loader(self, batch: int = 64) -> list:
        return [(self.x_test[i : i + batch], self.y_test[i : i + batch]) for i in range(0, len(self.y_test), batch)]


def digits() -> Digits:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1200], order[1200:]
    return Digits(x[train], y[train], x[test], y[test])


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(64, 48), nn.Linear(48, 32), nn.Linear(32, 10)
        self.norm = nn.LayerNorm(32)  # never converted: numerically sensitive ops stay fp32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(x))
        h = torch.relu(self.norm(self.fc2(h)))
        return torch.log_softmax(self.fc3(h), dim=1)


def train_mlp(data: Digits, seed: int = 0) -> MLP:
    torch.manual_seed(seed)
    model = MLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    for _ in range(80):
        optimizer.zero_grad()
        nn.functional.nll_loss(model(x), y).backward()
        optimizer.step()
    return model.eval()


def overflow(model: MLP, factor: float = 1e5) -> MLP:
    broken = copy.deepcopy(model)
    with torch.no_grad():
        broken.fc1.weight *= factor
        broken.fc1.bias *= factor
        broken.fc2.weight /= factor
    return broken


def cancellation(model: MLP, shift: float = 4096.0) -> MLP:
    broken = copy.deepcopy(model)
    with torch.no_grad():
        broken.fc2.bias += shift
    return broken


def accuracy(model: nn.Module, data: Digits) -> float:
    with torch.no_grad():
        out = model(torch.from_numpy(data.x_test))
    return float((out.argmax(1).numpy() == data.y_test).mean())


def export_onnx(model: nn.Module, path) -> str:
    torch.onnx.export(
        model, (torch.zeros(2, 64),), str(path), dynamo=False, opset_version=17, input_names=["x"],
        output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
    )  # fmt: skip
    return str(path)

"""Tiny digits models and data shared by the distillation tests (one thread: the machine is shared)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

torch.set_num_threads(1)


class MLP(nn.Module):
    """64 -> hidden -> hidden -> 10; ``fc1``/``fc2`` have the same output width for self-KD pairs."""

    def __init__(self, hidden: int = 16, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(64, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 10)
        self.drop = nn.Dropout(dropout)
        self.bn = nn.BatchNorm1d(hidden)

    def forward(self, x):
        h = torch.relu(self.bn(self.fc1(x)))
        h = torch.relu(self.fc2(self.drop(h)))
        return self.fc3(h)


@pytest.fixture(scope="session")
def digits():
    """Standardised sklearn digits: (x_train, y_train, x_test, y_test) tensors."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    data = sklearn_datasets.load_digits()
    x = torch.tensor(data.data, dtype=torch.float32) / 16.0
    y = torch.tensor(data.target, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(y), generator=g)
    x, y = x[order], y[order]
    return x[:1400], y[:1400], x[1400:], y[1400:]


def train_plain(model, x, y, epochs: int = 20, lr: float = 0.05, seed: int = 0):
    torch.manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for _ in range(epochs):
        for i in range(0, len(y), 64):
            loss = nn.functional.cross_entropy(model(x[i : i + 64]), y[i : i + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(-1) == y).float().mean())


@pytest.fixture(scope="session")
def trained_teacher(digits):
    x, y, _, _ = digits
    torch.manual_seed(1)
    return train_plain(MLP(hidden=64), x, y, epochs=15)


@pytest.fixture(scope="session")
def kit():
    """Helpers for test modules (importlib import mode: tests cannot import conftest directly)."""
    from types import SimpleNamespace

    return SimpleNamespace(MLP=MLP, train=train_plain, accuracy=accuracy)

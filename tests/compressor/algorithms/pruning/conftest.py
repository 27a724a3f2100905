"""Small models and the two seed-001 training-loop shapes, driven through a pruning component."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from compressor.algorithms.pruning import make_component  # noqa: E402
from compressor.config import WeightPruningConfig  # noqa: E402

torch.set_num_threads(1)


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 32)
        self.head = nn.Linear(32, 8)

    def forward(self, x):
        return self.head(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class CNN(nn.Module):
    """conv → bn → relu → conv → bn → relu → pool → flatten → fc → fc (all chains shrinkable)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 4 * 4, 32)
        self.out = nn.Linear(32, 4)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.pool(torch.relu(self.bn2(self.conv2(x))))
        return self.out(torch.relu(self.fc(torch.flatten(x, 1))))


class ResidualCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(4, 8, 3, padding=1)
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        y = self.conv2(torch.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.relu(x + y).mean(dim=(2, 3)))


def make(model_cls, seed: int = 0):
    torch.manual_seed(seed)
    return model_cls()


def batches(model: nn.Module, n: int, seed: int = 1, batch: int = 8):
    g = torch.Generator().manual_seed(seed)
    shape = (batch, 16) if isinstance(model, MLP) else (batch, 4, 8, 8)
    classes = 8 if isinstance(model, MLP) else 4
    return [(torch.randn(shape, generator=g), torch.randint(0, classes, (batch,), generator=g)) for _ in range(n)]


def loop_2x(model, component, steps: int, epochs: int = 1, optimizer=None, on_step=None):
    """Seed 001's 2.x loop: on_step_begin(step) restarts per epoch, no on_step_end/on_epoch_*."""
    optimizer = optimizer or torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    data = batches(model, steps)
    component.on_train_begin(model)
    for _ in range(epochs):
        model.train()
        for step, (x, y) in enumerate(data):
            component.on_step_begin(step)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            component.on_before_optimizer_step()
            optimizer.step()
            component.on_after_optimizer_step()
            model.zero_grad()
            if on_step is not None:
                on_step(component)
    return component.on_train_end(model)


def loop_1x(model, component, steps: int, epochs: int = 1, accumulation: int = 1):
    """Seed 001's 1.x loop: epochs, on_step_end, optimizer hook only every ``accumulation`` batches."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    data = batches(model, steps)
    for epoch in range(epochs):
        model.train()
        component.on_epoch_begin(epoch)
        for step, (x, y) in enumerate(data):
            component.on_step_begin(step)
            loss = nn.functional.cross_entropy(model(x), y) / accumulation
            loss.backward()
            if (step + 1) % accumulation == 0:
                component.on_before_optimizer_step()
                optimizer.step()
                model.zero_grad()
            component.on_step_end()
        component.on_epoch_end()
    return component.on_train_end(model)


def recording(record: list, probe):
    """A 2.x loop that appends ``probe(model, component)`` to ``record`` after every step."""

    def loop(model, component, steps):
        return loop_2x(model, component, steps, on_step=lambda comp: record.append(probe(model, comp)))

    return loop


def reached(model, component) -> float:
    return component.summary()["pruners"][0]["reached_sparsity"]


def prune(model, steps: int = 8, loop=loop_2x, **config):
    """Build a config, validate against ``model`` and run ``loop``; returns (component, returned model)."""
    cfg = WeightPruningConfig(**config)
    component = make_component(cfg, model, "torch")
    component.validate(model)
    return component, loop(model, component, steps)


def sparsity(t) -> float:
    return float((t == 0).float().mean())


@pytest.fixture
def h():
    """Gives tests the helpers above without importing this conftest by path."""
    import types

    return types.SimpleNamespace(
        MLP=MLP, CNN=CNN, ResidualCNN=ResidualCNN, make=make, batches=batches, loop_2x=loop_2x,
        loop_1x=loop_1x, recording=recording, reached=reached, prune=prune, sparsity=sparsity, WeightPruningConfig=WeightPruningConfig,
        make_component=make_component,
    )  # fmt: skip

"""Orchestration through one CompressionManager (seed 001): distillation + pruning, pruning during QAT."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchao")
nn = torch.nn

from compressor.algorithms.ptq.torch_backend import TorchPTQBackend  # noqa: E402
from compressor.config import (  # noqa: E402
    DistillationConfig,
    KnowledgeDistillationLossConfig,
    QuantizationAwareTrainingConfig,
    WeightPruningConfig,
)
from compressor.training import prepare_compression  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    x, y = torch.tensor(data.data / 16.0, dtype=torch.float32), torch.tensor(data.target)
    return x[:1400], y[:1400], x[1400:], y[1400:]


def mlp(hidden: int = 64) -> nn.Module:
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def plain_train(model, x, y, epochs):
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(epochs):
        for first in range(0, len(y), 50):
            loss = nn.functional.cross_entropy(model(x[first : first + 50]), y[first : first + 50])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def seed_loop(manager, model, optimizer, x, y, epochs):
    """Seed 001's orchestration loop, verbatim in shape (callbacks.on_train_begin, then the hooks)."""
    manager.callbacks.on_train_begin()
    manager.on_train_begin()
    for epoch in range(epochs):
        model.train()
        manager.on_epoch_begin(epoch)
        for i, first in enumerate(range(0, len(y), 50)):
            manager.on_step_begin(i)
            batch = x[first : first + 50]
            output = model(batch)
            loss = nn.functional.cross_entropy(output, y[first : first + 50])
            loss = manager.on_after_compute_loss(batch, output, loss)
            optimizer.zero_grad()
            loss.backward()
            manager.on_before_optimizer_step()
            optimizer.step()
            manager.on_after_optimizer_step()
            manager.on_step_end()
        manager.on_epoch_end()
    manager.on_train_end()


def test_distillation_and_pruning_in_one_run(digits):
    x, y, xv, yv = digits
    torch.manual_seed(0)
    teacher = mlp(128)
    plain_train(teacher, x, y, 20)
    teacher_acc = accuracy(teacher, xv, yv)
    assert teacher_acc > 0.85

    torch.manual_seed(1)
    student = mlp(64)
    d_conf = DistillationConfig(teacher, KnowledgeDistillationLossConfig(temperature=2.0, loss_types=["CE", "KL"]))
    p_conf = WeightPruningConfig(target_sparsity=0.6, pattern="1x1", pruning_type="magnitude", end_step=150)
    manager = prepare_compression(model=student, confs=[d_conf, p_conf])
    seed_loop(manager, student, torch.optim.Adam(student.parameters(), 3e-3), x, y, 8)

    distill, prune = manager.summary()["techniques"]
    assert prune["target_met"], prune["pruners"]
    weights = torch.cat([m.weight.flatten() for m in student.modules() if isinstance(m, nn.Linear)])
    assert float((weights == 0).float().mean()) == pytest.approx(0.6, abs=0.03)
    assert distill["steps"] > 0 and accuracy(student.eval(), xv, yv) > teacher_acc - 0.06


def test_pruning_during_qat_ends_in_a_sparse_int8_model(digits):
    x, y, xv, yv = digits
    torch.manual_seed(2)
    model = mlp(64)
    fp32_acc = accuracy(plain_train(model, x, y, 8), xv, yv)

    p_conf = WeightPruningConfig(
        target_sparsity=0.5, pattern="4x1", pruning_type="magnitude", end_step=60, excluded_op_names=["4"]
    )
    manager = prepare_compression(model, [QuantizationAwareTrainingConfig(), p_conf])  # QAT first on purpose
    seed_loop(manager, model, torch.optim.SGD(model.parameters(), 0.01, momentum=0.9), x, y, 4)

    # the user's fp32 model: pruned, fake quantization gone
    first = model[0].weight
    assert not hasattr(model[0], "parametrizations")
    assert float((first == 0).float().mean()) == pytest.approx(0.5, abs=0.05)
    # what the manager hands out: int8 kernels, accuracy kept
    int8 = manager.model
    assert TorchPTQBackend().quantized_op_names(int8) == ["0", "2", "4"]
    assert accuracy(int8, xv, yv) >= fp32_acc - 0.04

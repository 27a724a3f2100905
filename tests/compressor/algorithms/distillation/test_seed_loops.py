"""Seed 001's training-loop shapes (2.x distillation and self-distillation, orchestration with the
model as its own teacher, the 1.x loop with precomputed teacher logits) on digits, through
``training.prepare_compression``."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from compressor.algorithms.distillation import build_optimizer  # noqa: E402
from compressor.config import (  # noqa: E402
    DistillationConfig,
    KnowledgeDistillationLossConfig,
    SelfKnowledgeDistillationLossConfig,
)
from compressor.training import prepare_compression  # noqa: E402


def Manager(model, conf):
    """The real ``CompressionManager``, as seed 001 builds it."""
    return prepare_compression(model, conf)


def _batches(x, y, size=64):
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(y), size)]


def test_2x_distillation_loop_student_learns_from_teacher(kit, digits, trained_teacher):
    x, y, xt, yt = digits
    torch.manual_seed(0)
    model = kit.MLP(hidden=8)
    teacher_state = {k: v.clone() for k, v in trained_teacher.state_dict().items()}
    crit = KnowledgeDistillationLossConfig(temperature=2.0, loss_types=["CE", "KL"], loss_weights=[0.5, 0.5])
    conf = DistillationConfig(
        teacher_model=trained_teacher, criterion=crit, optimizer={"SGD": {"learning_rate": 0.05, "momentum": 0.9}}
    )
    criterion = nn.CrossEntropyLoss()
    compression_manager = Manager(model, conf)
    optimizer = build_optimizer(conf.optimizer, model.parameters())
    model = compression_manager.model
    epochs = 6

    def training_func(model, dataloader):
        compression_manager.on_train_begin()
        for epoch in range(epochs):
            model.train()
            compression_manager.on_epoch_begin(epoch)
            for i, (batch, target) in enumerate(dataloader):
                compression_manager.on_step_begin(i)
                optimizer.zero_grad()
                output = model(batch)
                loss = criterion(output, target)
                loss = compression_manager.on_after_compute_loss(batch, output, loss)
                loss.backward()
                compression_manager.on_before_optimizer_step()
                optimizer.step()
                compression_manager.on_step_end()
            compression_manager.on_epoch_end()
        compression_manager.on_train_end()
        return compression_manager.model

    model = training_func(model, _batches(x, y))
    assert kit.accuracy(model, xt, yt) > 0.85
    for k, v in trained_teacher.state_dict().items():
        assert torch.equal(v, teacher_state[k])
    summary = compression_manager.components[0].summary()
    assert summary["epochs"] == epochs and summary["steps"] == epochs * len(_batches(x, y))
    assert set(summary["loss_terms_last_epoch"]) == {"student_loss", "distillation_loss", "total"}


def test_2x_self_distillation_loop(kit, digits):
    x, y, xt, yt = digits
    torch.manual_seed(0)
    model = kit.MLP(hidden=16)
    distil_loss = SelfKnowledgeDistillationLossConfig(
        layer_mappings=[[["fc1", "fc2"]]], loss_types=["L2"], loss_weights=[0.01], add_origin_loss=True
    )
    conf = DistillationConfig(teacher_model=model, criterion=distil_loss)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    compression_manager = Manager(model, conf)
    model = compression_manager.model
    compression_manager.on_train_begin()
    for epoch in range(4):
        compression_manager.on_epoch_begin(epoch)
        for i, (batch, target) in enumerate(_batches(x, y)):
            compression_manager.on_step_begin(i)
            output = model(batch)
            loss = criterion(output, target)
            loss = compression_manager.on_after_compute_loss(batch, output, loss)
            optimizer.zero_grad()
            loss.backward()
            compression_manager.on_before_optimizer_step()
            optimizer.step()
            compression_manager.on_step_end()
        compression_manager.on_epoch_end()
    compression_manager.on_train_end()
    assert kit.accuracy(model, xt, yt) > 0.85
    terms = compression_manager.components[0].summary()["loss_terms_last_epoch"]
    assert set(terms) == {"group0_L2", "origin_loss", "total"}
    assert not model.fc1._forward_hooks


def test_seed_self_distillation_snippet_with_defaults_trains_the_model(kit, digits):
    """Seed 001 as written: ``SelfKnowledgeDistillationLossConfig()`` with no argument."""
    x, y, xt, yt = digits
    torch.manual_seed(0)
    model = kit.MLP(hidden=16)
    distil_loss = SelfKnowledgeDistillationLossConfig()
    conf = DistillationConfig(teacher_model=model, criterion=distil_loss)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    compression_manager = prepare_compression(model, conf)
    model = compression_manager.model
    compression_manager.on_train_begin()
    for epoch in range(4):
        compression_manager.on_epoch_begin(epoch)
        for i, (batch, target) in enumerate(_batches(x, y)):
            compression_manager.on_step_begin(i)
            output = model(batch)
            loss = compression_manager.on_after_compute_loss(batch, output, criterion(output, target))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            compression_manager.on_step_end()
        compression_manager.on_epoch_end()
    compression_manager.on_train_end()
    assert kit.accuracy(model, xt, yt) > 0.85  # plain training: the loop's own loss was kept
    assert compression_manager.summary()["techniques"][0]["distilling"] is False


def test_orchestration_loop_model_as_its_own_teacher(kit, digits, trained_teacher):
    x, y, xt, yt = digits
    model = kit.MLP(hidden=64)
    model.load_state_dict(trained_teacher.state_dict())
    d_conf = DistillationConfig(model, KnowledgeDistillationLossConfig())
    compression_manager = Manager(model, d_conf)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    compression_manager.callbacks.on_train_begin()
    compression_manager.on_train_begin()  # the seed calls it twice
    for epoch in range(1):
        compression_manager.on_epoch_begin(epoch)
        for i, (batch, target) in enumerate(_batches(x, y)):
            compression_manager.on_step_begin(i)
            output = model(batch)
            loss = nn.functional.cross_entropy(output, target)
            loss = compression_manager.on_after_compute_loss(batch, output, loss)
            optimizer.zero_grad()
            loss.backward()
            compression_manager.on_before_optimizer_step()
            optimizer.step()
            compression_manager.on_step_end()
        compression_manager.on_epoch_end()
    compression_manager.on_train_end()
    summary = compression_manager.components[0].summary()
    assert summary["teacher_is_snapshot_of_student"] and summary["teacher_forward_passes"] == len(_batches(x, y))
    assert all(p.requires_grad for p in model.parameters())
    assert kit.accuracy(model, xt, yt) > 0.9


def test_1x_loop_with_precomputed_teacher_logits(kit, digits, trained_teacher):
    x, y, xt, yt = digits
    with torch.no_grad():
        teacher_logits_all = trained_teacher(x)
    torch.manual_seed(0)
    model = kit.MLP(hidden=8)
    crit = KnowledgeDistillationLossConfig(temperature=1.0, loss_types=["CE", "KL"], loss_weights=[0.5, 0.5])
    distiller = Manager(model, DistillationConfig(teacher_model=trained_teacher, criterion=crit))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    dataloader = [(teacher_logits_all[i : i + 64], x[i : i + 64], y[i : i + 64]) for i in range(0, len(y), 64)]
    distiller.on_train_begin()
    for _nepoch in range(5):
        model.train()
        for teacher_logits, inputs, target in dataloader:
            output = model(inputs)
            loss = criterion(output, target)
            loss = distiller.on_after_compute_loss({"x": inputs}, output, loss, teacher_logits)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        distiller.on_epoch_end()
    distiller.on_train_end()
    summary = distiller.components[0].summary()
    assert summary["teacher_forward_passes"] == 0 and summary["precomputed_teacher_steps"] == 5 * len(dataloader)
    assert kit.accuracy(model, xt, yt) > 0.85

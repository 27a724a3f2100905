"""The KD component around the teacher: frozen, eval, no grad, inputs of every shape, outputs of
every kind, precomputed teacher outputs, teacher == student, repeated hooks, summary."""

from __future__ import annotations

import copy
from collections import OrderedDict
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from compressor.algorithms.distillation import make_component  # noqa: E402
from compressor.config import DistillationConfig, KnowledgeDistillationLossConfig  # noqa: E402
from compressor.errors import CompressorError, ConfigError  # noqa: E402


def _component(teacher, student, **crit):
    crit = KnowledgeDistillationLossConfig(**crit) if crit else KnowledgeDistillationLossConfig()
    comp = make_component(DistillationConfig(teacher_model=teacher, criterion=crit), student, "torch")
    comp.validate(student)
    return comp


def test_teacher_frozen_eval_no_grad_and_unchanged_while_student_trains(kit, digits):
    x, y, _, _ = digits
    teacher = kit.MLP(hidden=32, dropout=0.5)
    student = kit.MLP(hidden=8)
    before = copy.deepcopy(teacher.state_dict())
    comp = _component(teacher, student, temperature=2.0, loss_types=("CE", "KL"))
    comp.on_train_begin(student)
    assert all(not p.requires_grad for p in teacher.parameters())
    opt = torch.optim.SGD(list(student.parameters()) + list(teacher.parameters()), lr=0.1)
    seen_modes = []
    teacher.register_forward_pre_hook(lambda m, i: seen_modes.append((m.training, torch.is_grad_enabled())))
    for _ in range(3):
        student.train()
        teacher.train()  # a user (or a parent module's .train()) flips it back: the component re-applies eval
        out = student(x[:32])
        loss = comp.on_after_compute_loss(x[:32], out, nn.functional.cross_entropy(out, y[:32]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert seen_modes == [(False, False)] * 3
    assert all(p.grad is None for p in teacher.parameters())
    for k, v in teacher.state_dict().items():  # includes BatchNorm running stats
        assert torch.equal(v, before[k]), k
    assert any(p.grad is not None for p in student.parameters())
    comp.on_train_end(student)
    assert all(p.requires_grad for p in teacher.parameters())  # flags restored for the user
    assert teacher.training  # the train/eval mode it had at on_train_begin is restored


class Towers(nn.Module):
    """Takes two tensors (positional) or keywords ``a``/``b``; returns a chosen output kind."""

    def __init__(self, kind: str = "tensor") -> None:
        super().__init__()
        self.fa, self.fb, self.kind = nn.Linear(3, 4), nn.Linear(2, 4), kind

    def forward(self, a, b):
        logits = self.fa(a) + self.fb(b)
        if self.kind == "tuple":
            return logits, a.sum()
        if self.kind == "dict":
            return OrderedDict(logits=logits, hidden=a)
        if self.kind == "object":
            return SimpleNamespace(logits=logits, loss=None)
        return logits


@pytest.mark.parametrize("how", ["tuple", "list", "dict"])
@pytest.mark.parametrize("kind", ["tensor", "tuple", "dict", "object"])
def test_inputs_and_outputs_of_every_shape(how, kind):
    torch.manual_seed(0)
    teacher, student = Towers(kind), Towers(kind)
    a, b = torch.randn(5, 3), torch.randn(5, 2)
    inputs = {"tuple": (a, b), "list": [a, b], "dict": {"a": a, "b": b}}[how]
    comp = _component(teacher, student, loss_types=("CE", "MSE"), loss_weights=(0.0, 1.0))
    comp.on_train_begin(student)
    loss = comp.on_after_compute_loss(inputs, student(a, b), None)
    with torch.no_grad():
        expected = nn.functional.mse_loss(student.fa(a) + student.fb(b), teacher.fa(a) + teacher.fb(b))
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-6)


def test_single_tensor_input():
    teacher, student = nn.Linear(3, 4), nn.Linear(3, 4)
    x = torch.randn(2, 3)
    comp = _component(teacher, student, loss_types=("CE", "MSE"), loss_weights=(0.0, 1.0))
    comp.on_train_begin(student)
    loss = comp.on_after_compute_loss(x, student(x), None)
    assert float(loss.detach()) == pytest.approx(
        float(nn.functional.mse_loss(student(x), teacher(x)).detach()), rel=1e-6
    )


def test_precomputed_teacher_outputs_replace_the_teacher_forward():
    calls = []
    teacher, student = nn.Linear(3, 4), nn.Linear(3, 4)
    teacher.register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(2, 3)
    given = torch.randn(2, 4)
    comp = _component(teacher, student, loss_types=("CE", "MSE"), loss_weights=(0.0, 1.0))
    comp.on_train_begin(student)
    out = student(x)
    loss = comp.on_after_compute_loss(x, out, None, teacher_outputs=(given,))
    assert calls == []
    assert loss.item() == pytest.approx(nn.functional.mse_loss(out, given).item(), rel=1e-6)
    loss_np = comp.on_after_compute_loss(x, out, None, teacher_outputs=given.numpy())
    assert loss_np.item() == pytest.approx(loss.item(), rel=1e-6)
    assert comp.summary()["precomputed_teacher_steps"] == 2


def test_teacher_equal_to_student_distils_from_a_frozen_snapshot():
    torch.manual_seed(0)
    model = nn.Linear(3, 4)
    comp = _component(model, model, loss_types=("CE", "MSE"), loss_weights=(0.0, 1.0))
    comp.on_train_begin(model)
    comp.on_train_begin(model)  # seed 001's orchestration loop calls it twice: one snapshot only
    snapshot = comp.teacher
    assert snapshot is not model and all(p.requires_grad for p in model.parameters())
    x = torch.randn(8, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    first = None
    for _ in range(3):
        with torch.no_grad():
            model.weight.add_(0.1)  # drift away from the snapshot
        loss = comp.on_after_compute_loss(x, model(x), None)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert comp.teacher is snapshot and comp.summary()["teacher_is_snapshot_of_student"]
    assert first > 0  # the student moved away from the frozen copy and is pulled back


def test_summary_averages_last_epoch(kit):
    teacher, student = nn.Linear(3, 4), nn.Linear(3, 4)
    comp = _component(teacher, student, loss_types=("CE", "MSE"), loss_weights=(1.0, 0.0))
    comp.on_train_begin(student)
    for epoch, values in enumerate([(1.0, 3.0), (10.0, 20.0, 30.0)]):
        comp.on_epoch_begin(epoch)
        for v in values:
            comp.on_after_compute_loss(None, torch.zeros(1, 4), torch.tensor(v))
        comp.on_epoch_end()
    s = comp.summary()
    assert s["loss_terms_last_epoch"]["student_loss"] == pytest.approx(20.0)
    assert s["steps"] == 5 and s["epochs"] == 2 and s["teacher_params"] == 16
    assert s["loss_types"] == ["CE", "MSE"] and s["temperature"] == 1.0
    import json

    json.dumps(s)


# --- errors ----------------------------------------------------------------------------------------


def test_missing_teacher_is_a_config_error_at_validate():
    comp = make_component(DistillationConfig(), nn.Linear(3, 4))
    with pytest.raises(ConfigError, match=r"teacher_model: invalid value None.*SelfKnowledgeDistillationLossConfig"):
        comp.validate(nn.Linear(3, 4))


def test_teacher_of_another_framework_is_rejected():
    comp = make_component(DistillationConfig(teacher_model="teacher.onnx"), nn.Linear(3, 4))
    with pytest.raises(ConfigError, match="teacher_model.*torch.nn.Module"):
        comp.validate(nn.Linear(3, 4))


def test_kl_against_labels_is_rejected():
    crit = KnowledgeDistillationLossConfig(loss_types=("KL", "CE"))
    comp = make_component(DistillationConfig(teacher_model=nn.Linear(3, 4), criterion=crit), nn.Linear(3, 4))
    with pytest.raises(ConfigError, match=r"criterion.loss_types\[0\].*'KL'.*allowed: 'CE', 'MSE'"):
        comp.validate(nn.Linear(3, 4))


def test_class_count_mismatch_names_both_shapes():
    comp = _component(nn.Linear(3, 5), nn.Linear(3, 4))
    comp.on_train_begin(None)
    x = torch.randn(2, 3)
    with pytest.raises(ConfigError, match=r"teacher_model.*\(2, 5\).*\(2, 4\)"):
        comp.on_after_compute_loss(x, torch.zeros(2, 4), torch.tensor(1.0))


def test_inputs_with_labels_give_an_actionable_error():
    comp = _component(nn.Linear(3, 4), nn.Linear(3, 4))
    comp.on_train_begin(None)
    x = torch.randn(2, 3)
    with pytest.raises(TypeError, match=r"model\(\*inputs\).*not an \(inputs, labels\) batch"):
        comp.on_after_compute_loss((x, torch.tensor([0, 1])), torch.zeros(2, 4), torch.tensor(1.0))


def test_unrecognised_output_and_missing_user_loss():
    comp = _component(nn.Linear(3, 4), nn.Linear(3, 4))
    comp.on_train_begin(None)
    with pytest.raises(TypeError, match="cannot find logits in the student output of type str"):
        comp.on_after_compute_loss(torch.randn(2, 3), "oops", torch.tensor(1.0))
    with pytest.raises(CompressorError, match="loss=None"):
        comp.on_after_compute_loss(torch.randn(2, 3), torch.zeros(2, 4), None)

"""Loss values against hand-written formulas: KD (CE/KL/MSE, temperature, weights) and self-KD."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from compressor.algorithms.distillation import make_component  # noqa: E402
from compressor.config import (  # noqa: E402
    DistillationConfig,
    KnowledgeDistillationLossConfig,
    SelfKnowledgeDistillationLossConfig,
)


def _logits(seed: int, shape=(6, 10)) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _kd(types=("CE", "CE"), weights=(0.5, 0.5), temperature=1.0, teacher=None):
    teacher = teacher if teacher is not None else torch.nn.Linear(4, 10)
    crit = KnowledgeDistillationLossConfig(temperature=temperature, loss_types=types, loss_weights=weights)
    student = torch.nn.Linear(4, 10)
    comp = make_component(DistillationConfig(teacher_model=teacher, criterion=crit), student, "torch")
    comp.validate(student)
    comp.on_train_begin(student)
    return comp


def _hand_soft_ce(s, t, T):
    total = 0.0
    for row_s, row_t in zip(s.tolist(), t.tolist(), strict=True):
        zs = [v / T for v in row_s]
        zt = [v / T for v in row_t]
        ls = math.log(sum(math.exp(v) for v in zs))
        lt = math.log(sum(math.exp(v) for v in zt))
        total += -sum(math.exp(b - lt) * (a - ls) for a, b in zip(zs, zt, strict=True))
    return total / len(s)


def _hand_kl(s, t, T):
    total = 0.0
    for row_s, row_t in zip(s.tolist(), t.tolist(), strict=True):
        zs = [v / T for v in row_s]
        zt = [v / T for v in row_t]
        ls = math.log(sum(math.exp(v) for v in zs))
        lt = math.log(sum(math.exp(v) for v in zt))
        total += sum(math.exp(b - lt) * ((b - lt) - (a - ls)) for a, b in zip(zs, zt, strict=True))
    return total / len(s)


def _hand_mse(s, t):
    flat = [(a - b) ** 2 for rs, rt in zip(s.tolist(), t.tolist(), strict=True) for a, b in zip(rs, rt, strict=True)]
    return sum(flat) / len(flat)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.5])
@pytest.mark.parametrize("kind", ["CE", "KL", "MSE"])
def test_kd_loss_matches_formula(kind, temperature):
    s, t = _logits(0), _logits(1)
    user_loss = torch.tensor(0.7)
    comp = _kd(types=("CE", kind), weights=(0.3, 0.7), temperature=temperature)
    got = comp.on_after_compute_loss(torch.zeros(6, 4), s, user_loss, teacher_outputs=t)
    if kind == "CE":
        distill = _hand_soft_ce(s, t, temperature) * temperature**2
    elif kind == "KL":
        distill = _hand_kl(s, t, temperature) * temperature**2
    else:
        distill = _hand_mse(s, t)  # T**2 * MSE(s/T, t/T) is the plain logit MSE
    assert got.item() == pytest.approx(0.3 * 0.7 + 0.7 * distill, rel=1e-5)
    terms = comp.summary()["loss_terms_last_epoch"]
    assert terms["distillation_loss"] == pytest.approx(distill, rel=1e-5)
    assert terms["student_loss"] == pytest.approx(0.7)


def test_kl_equals_ce_minus_teacher_entropy_and_same_gradient():
    s, t, T = _logits(2).requires_grad_(), _logits(3), 3.0
    ce = _kd(types=("CE", "CE"), weights=(0.0, 1.0), temperature=T)
    kl = _kd(types=("CE", "KL"), weights=(0.0, 1.0), temperature=T)
    loss_ce = ce.on_after_compute_loss(None, s, None, teacher_outputs=t)
    (g_ce,) = torch.autograd.grad(loss_ce, s)
    loss_kl = kl.on_after_compute_loss(None, s, None, teacher_outputs=t)
    (g_kl,) = torch.autograd.grad(loss_kl, s)
    q = F.softmax(t / T, dim=-1)
    entropy = -(q * q.log()).sum(-1).mean() * T * T
    assert float((loss_ce - loss_kl).detach()) == pytest.approx(float(entropy), rel=1e-5)
    assert torch.allclose(g_ce, g_kl, atol=1e-6)


def test_kl_agrees_with_torch_batchmean():
    s, t, T = _logits(4), _logits(5), 2.0
    comp = _kd(types=("CE", "KL"), weights=(0.0, 1.0), temperature=T)
    got = comp.on_after_compute_loss(None, s, None, teacher_outputs=t)
    ref = F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean") * T * T
    assert got.item() == pytest.approx(float(ref), rel=1e-5)


def test_zero_teacher_weight_skips_teacher_and_returns_weighted_user_loss():
    calls = []
    teacher = torch.nn.Linear(4, 10)
    teacher.register_forward_hook(lambda *a: calls.append(1))
    comp = _kd(weights=(1.0, 0.0), teacher=teacher)
    loss = torch.tensor(1.25)
    assert float(comp.on_after_compute_loss(torch.zeros(6, 4), _logits(0), loss)) == pytest.approx(1.25)
    assert calls == [] and comp.summary()["teacher_forward_passes"] == 0


def test_zero_label_weight_drops_user_loss():
    s, t = _logits(6), _logits(7)
    comp = _kd(types=("CE", "MSE"), weights=(0.0, 2.0))
    got = comp.on_after_compute_loss(None, s, torch.tensor(100.0), teacher_outputs=t)
    assert got.item() == pytest.approx(2.0 * _hand_mse(s, t), rel=1e-5)


def test_weights_need_not_sum_to_one():
    s, t = _logits(8), _logits(9)
    comp = _kd(types=("MSE", "MSE"), weights=(2.0, 3.0))
    got = comp.on_after_compute_loss(None, s, torch.tensor(0.5), teacher_outputs=t)
    assert got.item() == pytest.approx(2.0 * 0.5 + 3.0 * _hand_mse(s, t), rel=1e-5)


# --- self-distillation -----------------------------------------------------------------------------


class Tower(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = torch.nn.Linear(5, 7), torch.nn.Linear(7, 7), torch.nn.Linear(7, 7)

    def forward(self, x):
        return self.c(self.b(self.a(x)))


def _self_kd(mappings, types=(), weights=(), temperature=1.0, add_origin_loss=False):
    model = Tower()
    crit = SelfKnowledgeDistillationLossConfig(
        layer_mappings=mappings,
        loss_types=types,
        loss_weights=weights,
        temperature=temperature,
        add_origin_loss=add_origin_loss,
    )
    comp = make_component(DistillationConfig(teacher_model=model, criterion=crit), model)
    comp.validate(model)
    comp.on_train_begin(model)
    return model, comp


def test_self_kd_per_group_formulas_weights_and_origin_loss():
    mappings = [[["a", "c"]], [["b", "c"], ["a", "b"]], [["a", "c"]]]
    model, comp = _self_kd(mappings, ("L2", "CE", "KL"), (0.5, 0.25, 2.0), temperature=2.0, add_origin_loss=True)
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = model.a(x)
        b = model.b(a)
        c = model.c(b)
    out = model(x)
    got = comp.on_after_compute_loss(x, out, torch.tensor(0.4))
    T = 2.0
    l2 = math.sqrt(float(((a - c) ** 2).sum()))
    ce = _hand_soft_ce(b, c, T) + _hand_soft_ce(a, b, T)  # no T**2 factor, as INC
    kl = _hand_kl(a, c, T)
    assert got.item() == pytest.approx(0.5 * l2 + 0.25 * ce + 2.0 * kl + 0.4, rel=1e-5)
    terms = comp.summary()["loss_terms_last_epoch"]
    assert terms["group0_L2"] == pytest.approx(l2, rel=1e-5)
    assert terms["group1_CE"] == pytest.approx(ce, rel=1e-5)
    assert terms["origin_loss"] == pytest.approx(0.4)


def test_self_kd_defaults_are_ce_and_equal_weights():
    model, comp = _self_kd([[["a", "c"]], [["b", "c"]]])
    summary = comp.summary()
    assert summary["loss_types"] == ["CE", "CE"] and summary["loss_weights"] == [0.5, 0.5]
    x = torch.randn(4, 5)
    got = comp.on_after_compute_loss(x, model(x), torch.tensor(9.0))  # add_origin_loss=False: ignored
    with torch.no_grad():
        a = model.a(x)
        b = model.b(a)
        c = model.c(b)
    assert got.item() == pytest.approx(0.5 * _hand_soft_ce(a, c, 1.0) + 0.5 * _hand_soft_ce(b, c, 1.0), rel=1e-5)

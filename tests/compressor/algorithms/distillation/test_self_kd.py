"""Self-distillation through forward hooks: recorded layers, detached teachers, errors, cleanup."""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from compressor.algorithms.distillation import make_component  # noqa: E402
from compressor.config import DistillationConfig, SelfKnowledgeDistillationLossConfig  # noqa: E402
from compressor.errors import CompressorError, ConfigError  # noqa: E402


def _component(model, mappings, teacher="same", **kw):
    crit = SelfKnowledgeDistillationLossConfig(layer_mappings=mappings, **kw)
    teacher = model if teacher == "same" else teacher
    return make_component(DistillationConfig(teacher_model=teacher, criterion=crit), model)


def test_hooks_record_the_current_pass_and_teacher_side_gets_no_gradient(kit):
    model = kit.MLP(hidden=16)
    comp = _component(model, [[["fc1", "fc2"]]], loss_types=["L2"], loss_weights=[1.0])
    comp.validate(model)
    comp.on_train_begin(model)
    x = torch.randn(8, 64)
    loss = comp.on_after_compute_loss(x, model(x), None)
    loss.backward()
    # the L2 pulls fc1 towards fc2's (detached) output: fc1 gets gradient, fc2 and fc3 do not
    assert model.fc1.weight.grad is not None and model.fc1.weight.grad.abs().sum() > 0
    assert model.fc2.weight.grad is None and model.fc3.weight.grad is None


def test_whole_model_output_is_named_by_empty_string(kit):
    model = kit.MLP(hidden=10)  # fc2 outputs 10 features, like the logits
    comp = _component(model, [[["fc2", ""]]], loss_types=["KL"], loss_weights=[1.0], temperature=2.0)
    comp.validate(model)
    comp.on_train_begin(model)
    x = torch.randn(4, 64)
    assert comp.on_after_compute_loss(x, model(x), None).item() >= 0


def test_outputs_are_forgotten_after_each_step_and_hooks_removed_at_train_end(kit):
    model = kit.MLP()
    comp = _component(model, [[["fc1", "fc2"]]])
    comp.validate(model)
    comp.on_train_begin(model)
    comp.on_train_begin(model)  # idempotent: one hook per layer
    x = torch.randn(4, 64)
    comp.on_after_compute_loss(x, model(x), None)
    with pytest.raises(CompressorError, match="no output recorded for layer 'fc1'.*did not run"):
        comp.on_after_compute_loss(x, None, None)  # no new forward pass: stale outputs are never reused
    assert comp.on_train_end(model) is model
    assert not model.fc1._forward_hooks and not model.fc2._forward_hooks


def test_loss_before_train_begin_is_explained(kit):
    model = kit.MLP()
    comp = _component(model, [[["fc1", "fc2"]]])
    with pytest.raises(CompressorError, match="on_train_begin"):
        comp.on_after_compute_loss(torch.randn(2, 64), model(torch.randn(2, 64)), None)


def test_unknown_layer_suggests_the_closest_module_name(kit):
    model = kit.MLP()
    comp = _component(model, [[["fc1", "fc2"]], [["fc_2", "fc3"]]])
    with pytest.raises(ConfigError) as info:
        comp.validate(model)
    text = str(info.value)
    assert r"criterion.layer_mappings[1][0][0]: invalid value 'fc_2'" in text
    assert "did you mean 'fc2'?" in text and "'fc3'" in text


def test_empty_layer_mappings_pass_the_loss_through_and_say_what_to_set(kit, caplog):
    model = kit.MLP()
    comp = _component(model, [])  # seed 001: SelfKnowledgeDistillationLossConfig()
    with caplog.at_level(logging.WARNING):
        comp.validate(model)
    assert "no layer_mappings: nothing is distilled" in caplog.text and "layer_mappings=[[[" in caplog.text
    comp.on_train_begin(model)
    assert not any(m._forward_hooks for m in model.modules())
    x = torch.randn(4, 64)
    loss = nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 3]))
    assert comp.on_after_compute_loss(x, model(x), loss) is loss  # add_origin_loss=False does not zero it
    summary = comp.summary()
    assert summary["distilling"] is False and "nothing is distilled" in summary["note"]
    assert summary["loss_terms_last_epoch"]["total"] == pytest.approx(loss.item())


def test_incomparable_shapes_fail_at_the_first_step_naming_the_pair(kit):
    model = kit.MLP(hidden=16)
    comp = _component(model, [[["fc1", "fc3"]]], loss_types=["L2"], loss_weights=[1.0])
    comp.validate(model)
    comp.on_train_begin(model)
    x = torch.randn(4, 64)
    with pytest.raises(ConfigError, match=r"layer_mappings\[0\]\[0\].*'fc1', 'fc3'.*\(4, 16\).*\(4, 10\)"):
        comp.on_after_compute_loss(x, model(x), None)


def test_another_teacher_is_ignored_with_a_warning(kit, caplog):
    model = kit.MLP()
    comp = _component(model, [[["fc1", "fc2"]]], teacher=kit.MLP())
    with caplog.at_level(logging.WARNING):
        comp.validate(model)
    assert "teacher_model (MLP) is not used" in caplog.text

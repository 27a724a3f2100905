"""Config-vs-model mistakes are ConfigErrors raised by validate(), before any training."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from compressor.errors import ConfigError  # noqa: E402


def _validate(h, model, **config):
    comp = h.make_component(h.WeightPruningConfig(**config), model, "torch")
    comp.validate(model)
    return comp


@pytest.mark.parametrize("requested", ["head", "^head$"])
def test_pattern_that_cannot_cut_an_op_named_exactly_names_op_shape_and_pattern(h, requested):
    with pytest.raises(ConfigError) as err:
        _validate(h, h.make(h.MLP), pattern="16x1", op_names=["fc1", requested])
    msg = str(err.value)
    assert err.value.field == "pattern" and "'16x1'" in msg
    assert "'head'" in msg and "[8, 32]" in msg and "drop the op from op_names" in msg


def test_n_in_m_needs_input_channels_divisible_by_m(h):
    with pytest.raises(ConfigError, match=r"op 'conv1' \(Conv2d, weight shape \[8, 4, 3, 3\]\)") as err:
        _validate(h, h.make(h.CNN), pattern="3:8", op_names=["conv1"])
    assert "groups of 8" in str(err.value)


def test_ops_matched_implicitly_that_the_pattern_cannot_cut_are_skipped_and_listed(h, caplog):
    # seed 001: WeightPruningConfig() (4x1 on every Conv/Linear) on a model with a 10-class classifier
    model = h.make(h.MLP)
    model.head = torch.nn.Linear(32, 10)
    with caplog.at_level("WARNING", logger="compressor.algorithms.pruning.selection"):
        comp = _validate(h, model)
    assert [op.name for op in comp.plans[0].ops] == ["fc1", "fc2"]
    (skipped,) = comp.summary()["skipped_ops"]
    assert skipped["op"] == "head" and skipped["shape"] == [10, 32] and skipped["pattern"] == "4x1"
    assert "does not divide into 4x1 blocks" in skipped["reason"]
    assert "pattern 4x1 cannot cut 1 op(s), left dense" in caplog.text and "head [10, 32]" in caplog.text
    # a regex that matches it among others is implicit too; the skipped op stays free for a later pruner
    comp = _validate(h, model, pruning_configs=[{"op_names": [".*"]}, {"op_names": ["head"], "pattern": "1x1"}])
    assert [[op.name for op in plan.ops] for plan in comp.plans] == [["fc1", "fc2"], ["head"]]


def test_pattern_that_cuts_none_of_its_ops_is_an_error(h):
    with pytest.raises(ConfigError, match=r"cuts none of the 3 op\(s\).*op 'fc1'") as err:
        _validate(h, h.make(h.MLP), pattern="64x1")
    assert err.value.field == "pattern"


def test_regex_matching_no_op_suggests_a_name(h):
    with pytest.raises(ConfigError) as err:
        _validate(h, h.make(h.MLP), op_names=["fc_2"])
    assert err.value.field == "op_names" and err.value.suggestion == "fc2"
    assert "matches no Conv/Linear op" in str(err.value) and "did you mean 'fc2'?" in str(err.value)


def test_excluded_regex_matching_nothing_is_an_error_with_the_pruner_path(h):
    with pytest.raises(ConfigError) as err:
        _validate(h, h.make(h.MLP), pruning_configs=[{"excluded_op_names": ["haed"]}, {"op_names": ["x"]}])
    assert err.value.field == "pruning_configs[0].excluded_op_names" and err.value.suggestion == "head"


def test_pruner_selecting_no_op_is_an_error(h):
    with pytest.raises(ConfigError, match="selects no op") as err:
        _validate(h, h.make(h.MLP), op_names=["fc1"], excluded_op_names=["fc1"])
    assert err.value.field == "op_names"
    with pytest.raises(ConfigError, match="pruning_op_types=\\['Conv'\\]"):
        _validate(h, h.make(h.MLP), pruning_op_types=["Conv"])


def test_op_fully_claimed_by_an_earlier_pruner_leaves_the_later_one_empty(h):
    with pytest.raises(ConfigError, match="already taken by an earlier pruner") as err:
        _validate(h, h.make(h.MLP), pruning_configs=[{}, {"op_names": ["fc1"]}])
    assert err.value.field == "pruning_configs[1].op_names"


def test_errors_come_before_any_weight_changes(h):
    model = h.make(h.MLP)
    before = model.fc1.weight.detach().clone()
    with pytest.raises(ConfigError):
        _validate(h, model, pattern="16x1", op_names=["head"])
    assert torch.equal(model.fc1.weight, before)

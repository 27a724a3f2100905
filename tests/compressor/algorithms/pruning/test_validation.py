"""Config-vs-model mistakes are ConfigErrors raised by validate(), before any training."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from compressor.errors import ConfigError  # noqa: E402


def _validate(h, model, **config):
    comp = h.make_component(h.WeightPruningConfig(**config), model, "torch")
    comp.validate(model)
    return comp


def test_pattern_that_does_not_divide_names_op_shape_and_pattern(h):
    with pytest.raises(ConfigError) as err:
        _validate(h, h.make(h.MLP), pattern="16x1")
    msg = str(err.value)
    assert err.value.field == "pattern" and "'16x1'" in msg
    assert "'head'" in msg and "[8, 32]" in msg and "excluded_op_names" in msg


def test_n_in_m_needs_input_channels_divisible_by_m(h):
    with pytest.raises(ConfigError, match=r"op 'conv1' \(Conv2d, weight shape \[8, 4, 3, 3\]\)") as err:
        _validate(h, h.make(h.CNN), pattern="3:8")
    assert "groups of 8" in str(err.value)


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
        _validate(h, model, pattern="16x1")
    assert torch.equal(model.fc1.weight, before)

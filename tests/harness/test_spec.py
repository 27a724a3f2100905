"""Suite validation: line numbers in errors, did-you-mean for keys, techniques, models."""

from __future__ import annotations

import pytest

from harness.spec import SuiteError, load_suite, parse_suite

VALID = """\
name: t
models: [mlp_digits]
frameworks: [onnxrt]
techniques:
  - {name: fp32, kind: fp32}
  - name: tuned
    kind: tuned
    strategy: basic
"""


def test_valid_suite_parses_with_documented_defaults():
    suite = parse_suite(VALID)
    assert suite.settings.batch_size == 1
    assert suite.technique("tuned").strategy == "basic"
    for model in (type(suite), type(suite.settings), type(suite.techniques[0])):
        assert all(f.description for f in model.model_fields.values()), model


def test_repo_suites_validate():
    for path in ("suites/smoke.yaml", "suites/bench-cpu.yaml"):
        assert load_suite(path).techniques


def test_misspelled_key_names_line_and_suggests():
    text = VALID.replace("    strategy: basic", "    stratgy: basic")
    with pytest.raises(SuiteError) as err:
        parse_suite(text, source="s.yaml")
    msg = str(err.value)
    assert "line 8" in msg and "'stratgy'" in msg and "did you mean 'strategy'" in msg


def test_misspelled_top_level_key():
    with pytest.raises(SuiteError) as err:
        parse_suite(VALID + "timout_s: 5\n")
    assert "line 9" in str(err.value) and "did you mean 'timeout_s'" in str(err.value)


def test_unknown_technique_kind_names_line_and_suggests():
    text = VALID.replace("kind: fp32}", "kind: int8_minmx}")
    with pytest.raises(SuiteError) as err:
        parse_suite(text)
    msg = str(err.value)
    assert "line 5" in msg and "did you mean 'int8_minmax'" in msg


def test_unknown_model_and_strategy():
    text = VALID.replace("[mlp_digits]", "[mlp_digit]").replace("strategy: basic", "strategy: bsic")
    with pytest.raises(SuiteError) as err:
        parse_suite(text)
    msg = str(err.value)
    assert "line 2" in msg and "did you mean 'mlp_digits'" in msg
    assert "line 8" in msg and "did you mean 'basic'" in msg


def test_tuned_needs_strategy_and_bad_types_name_line():
    text = VALID.replace("    strategy: basic\n", "") + "settings:\n  iterations: many\n"
    with pytest.raises(SuiteError) as err:
        parse_suite(text)
    msg = str(err.value)
    assert "needs a strategy" in msg and "line 9" in msg and "settings.iterations" in msg


def test_not_yaml_and_missing_file(tmp_path):
    with pytest.raises(SuiteError, match="not valid YAML"):
        parse_suite("name: [unclosed")
    with pytest.raises(SuiteError, match="cannot read suite"):
        load_suite(tmp_path / "none.yaml")


def test_model_settings_are_checked():
    with pytest.raises(SuiteError) as err:
        parse_suite(VALID + "model_settings:\n  mlp_digits: {eval_sample: 10}\n  cnn_mnist: {}\n")
    msg = str(err.value)
    assert "line 10: model_settings.mlp_digits.eval_sample" in msg and "did you mean 'eval_samples'" in msg
    with pytest.raises(SuiteError, match="model_settings names model 'cnn_mnist'"):
        parse_suite(VALID + "model_settings:\n  cnn_mnist: {}\n")


def test_misspelled_technique_setting():
    with pytest.raises(SuiteError) as err:
        parse_suite(VALID.replace("kind: fp32}", "kind: fp32, settings: {iteration: 3}}"))
    assert "line 5" in str(err.value) and "did you mean 'iterations'" in str(err.value)


def test_overrides_keep_constraints():
    with pytest.raises(SuiteError, match="line 5: techniques.0.settings.iterations: Input should be greater"):
        parse_suite(VALID.replace("kind: fp32}", "kind: fp32, settings: {iterations: 0}}"))

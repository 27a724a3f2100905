"""suites/strategies.yaml compares every strategy on the hard tier; bench-cpu carries a slice of it."""

from __future__ import annotations

import compressor
import models
from harness.matrix import expand
from harness.spec import load_suite

HARD = {e.name for e in models.list_entries() if "hard-int8" in e.tags}


def test_every_strategy_runs_on_every_hard_model_with_a_users_budget_and_the_full_eval_set():
    suite = load_suite("suites/strategies.yaml")
    tuned = [t for t in suite.techniques if t.kind == "tuned"]
    builtin = ("auto", "basic", "conservative", "mse", "mse_v2", "bayesian", "exhaustive", "random", "tpe")
    assert sorted(t.strategy for t in tuned) == sorted(builtin) and set(builtin) <= set(
        compressor.available_strategies()
    )
    assert all(t.max_trials == 30 and t.tolerable_loss == 0.01 for t in tuned)
    assert suite.settings.eval_samples is None and not suite.model_settings  # full eval sets
    assert all(t.settings.eval_samples is None for t in suite.techniques)
    jobs = expand(suite).jobs
    onnxrt = {(j.model, j.technique["name"]) for j in jobs if j.framework == "onnxrt"}
    for model in HARD | {"cnn_mnist"}:  # cnn_mnist: the control
        assert {(model, t.name) for t in suite.techniques} <= onnxrt, model
    assert max(t.max_trials for t in tuned) * 20 < suite.timeout_s  # a torch trial recompiles, ~7-15 s


def test_the_minilm_suite_runs_every_strategy_on_the_full_eval_set_with_time_for_30_trials():
    suite = load_suite("suites/strategies-minilm.yaml")
    tuned = [t for t in suite.techniques if t.kind == "tuned"]
    assert {t.strategy for t in tuned} == set(load_strategies())
    assert all(t.max_trials == 30 and t.settings.eval_samples is None for t in tuned)
    assert suite.settings.eval_samples is None and {j.model for j in expand(suite).jobs} == {"minilm_wordnet"}
    assert max(t.max_trials for t in tuned) * 40 < suite.timeout_s  # a full-set MiniLM trial takes ~37 s


def load_strategies() -> list[str]:
    return [t.strategy for t in load_suite("suites/strategies.yaml").techniques if t.kind == "tuned"]


def test_bench_cpu_runs_naive_and_tuned_int8_on_one_hard_model():
    jobs = expand(load_suite("suites/bench-cpu.yaml")).jobs
    hard = {j.technique["name"] for j in jobs if j.model in HARD}
    assert {"int8_minmax", "tuned_basic"} <= hard and len(hard) <= 5

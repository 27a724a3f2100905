"""The JSON-lines history: header, atomic appends, torn last lines, damage and schema checks."""

from __future__ import annotations

import json

import digits_models as dm
import pytest
from tuning_helpers import Counter, make_conf

from compressor.tuning import HistoryError, read_history
from compressor.tuning.history import SCHEMA_VERSION


def lines_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_history_records_every_trial_with_the_run_identity(tune, fragile, tmp_path):
    conf = make_conf(strategy="basic", seed=11)
    result = tune(fragile, conf=conf)
    records = lines_of(tmp_path / "ws" / "history.jsonl")
    meta, trials = records[0], [r for r in records if r["kind"] == "trial"]
    assert meta["kind"] == "meta" and meta["schema"] == SCHEMA_VERSION
    assert meta["config"] == json.loads(conf.to_json())
    assert meta["baseline_accuracy"] == result.baseline_accuracy
    assert meta["fp32_latency_ms"] == result.fp32_latency_ms
    assert meta["ops"] == ["fc1", "fc2", "fc3"] and meta["calibration_file"] == "calibration.npz"
    assert len(trials) == len(result.trials)
    for record, trial in zip(trials, result.trials, strict=True):
        assert set(record) >= {
            "plan",
            "key",
            "accuracy",
            "latency_ms",
            "size_bytes",
            "seconds",
            "seed",
            "strategy",
            "met",
            "index",
        }
        assert record["key"] == trial.key and record["index"] == trial.index
        assert record["seed"] == 11 and record["strategy"] == "basic"
    assert [r["index"] for r in trials] == list(range(len(trials)))


def test_read_history_round_trips_trials(tune, fragile, tmp_path):
    result = tune(fragile, strategy="mse")
    history = read_history(result.history_path)
    assert [t.plan for t in history.trials] == [t.plan for t in result.trials]
    assert [t.accuracy for t in history.trials] == [t.accuracy for t in result.trials]
    assert history.sensitivity  # mse's op ranking is recorded too
    assert history.trial(1).fallback_ops == ("fc2",)
    with pytest.raises(HistoryError, match="no trial with index 7"):
        history.trial(7)


def test_torn_last_line_is_ignored_by_readers_and_cut_before_resuming(tune, fragile, digits, tmp_path):
    conf = make_conf(strategy="basic", timeout=3600, max_trials=12)
    full = tune(fragile, conf=conf, workspace=tmp_path / "full")
    path = tmp_path / "ws" / "history.jsonl"
    tune(fragile, conf=conf, workspace=tmp_path / "ws")
    # Simulate a crash mid-append: keep the header + 4 trials and half of the 5th line.
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:5]) + lines[5][: len(lines[5]) // 2])
    assert len(read_history(path).trials) == 4
    counter = Counter(lambda m: dm.accuracy(m, digits))
    resumed = tune(fragile, conf=conf, workspace=tmp_path / "ws", eval_func=counter)
    assert counter.calls == 1 + len(resumed.trials) - 4  # the baseline is re-measured, recorded trials are not
    assert [t.key for t in resumed.trials] == [t.key for t in full.trials]
    assert resumed.best_plan == full.best_plan
    assert all(json.loads(line) for line in path.read_text().splitlines())  # no torn line left behind


def test_damaged_line_in_the_middle_is_refused(tune, fragile, tmp_path):
    result = tune(fragile, strategy="basic")
    path = tmp_path / "ws" / "history.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2][:10] + "\n"
    path.write_text("".join(lines))
    with pytest.raises(HistoryError, match=r"history.jsonl:3: damaged record"):
        read_history(result.history_path)


def test_other_schema_is_refused(tune, mlp, tmp_path):
    tune(mlp, strategy="basic")
    path = tmp_path / "ws" / "history.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    meta = json.loads(lines[0])
    meta["schema"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(meta) + "\n" + "".join(lines[1:]))
    with pytest.raises(HistoryError, match="schema"):
        tune(mlp, strategy="basic")


def test_not_a_history_is_refused(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text('{"kind": "trial"}\n')
    with pytest.raises(HistoryError, match="not a history header"):
        read_history(path)
    with pytest.raises(HistoryError, match="no such history"):
        read_history(tmp_path / "missing.jsonl")


def test_history_from_another_config_is_refused_with_the_difference(tune, mlp, tmp_path):
    tune(mlp, strategy="basic", max_trials=30)
    with pytest.raises(HistoryError) as info:
        tune(mlp, strategy="basic", max_trials=31)
    text = str(info.value)
    assert "different tuning run" in text
    assert "conf.tuning_criterion.max_trials: 30 recorded vs 31 now" in text
    assert "resume=False" in text


def test_history_from_another_model_is_refused(tune, mlp, tmp_path):
    tune(mlp, strategy="basic")
    import numpy_backend as nb

    smaller = nb.MLP(mlp.layers[:2])
    with pytest.raises(HistoryError, match="model ops"):
        tune(smaller, strategy="basic", eval_func=lambda m: 0.5)


def test_resume_false_starts_over_and_keeps_the_old_history(tune, mlp, digits, tmp_path):
    tune(mlp, strategy="basic", max_trials=30)
    counter = Counter(lambda m: dm.accuracy(m, digits))
    result = tune(mlp, strategy="basic", max_trials=31, resume=False, eval_func=counter)
    assert counter.calls == 1 + len(result.trials)  # baseline + every trial evaluated again
    assert (tmp_path / "ws" / "history.jsonl.old").exists()
    assert read_history(result.history_path).meta.config["tuning_criterion"]["max_trials"] == 31

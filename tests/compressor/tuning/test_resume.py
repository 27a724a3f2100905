"""Resume after SIGKILL, and recover any trial's model from the history."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import digits_models as dm
import numpy as np
import pytest
from tuning_helpers import HERE, Counter, make_conf

import compressor
from compressor.tuning import read_history, recover

REPO = Path(compressor.__file__).resolve().parent.parent


def trial_lines(path: Path) -> int:
    if not path.exists():
        return 0
    return path.read_bytes().count(b'"kind": "trial"')


# Where the SIGKILL lands: right after the header (during the first trial) and at a trial drawn at
# random (seeded, so a failure reproduces; change the seed to explore other points).
KILL_SEED = 20240611


@pytest.mark.parametrize("kill_point", ["first", "random"])
def test_resume_after_sigkill_does_not_reevaluate_finished_trials(tune, fragile, digits, tmp_path, kill_point):
    conf = make_conf(strategy="basic", timeout=0, max_trials=30)
    reference = tune(fragile, conf=conf, workspace=tmp_path / "uninterrupted")
    assert len(reference.trials) >= 6 and reference.met_criterion
    kill_after = 0 if kill_point == "first" else random.Random(KILL_SEED).randint(1, len(reference.trials) - 2)

    model_path, conf_path = tmp_path / "model.npz", tmp_path / "conf.json"
    dm.save_mlp(fragile, model_path)
    conf_path.write_text(conf.to_json())
    workspace = tmp_path / "killed"
    history_path = workspace / "history.jsonl"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "tune_in_subprocess.py"),
            str(REPO),
            str(workspace),
            str(model_path),
            str(conf_path),
            "0.15",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while not history_path.exists() or trial_lines(history_path) < kill_after:
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the tuning subprocess made no progress"
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    recorded = read_history(history_path).trials
    assert kill_after <= len(recorded) < len(reference.trials)

    counter = Counter(lambda m: dm.accuracy(m, digits))
    resumed = tune(fragile, conf=conf, workspace=workspace, eval_func=counter)

    # Finished trials are replayed from the history, not re-evaluated; only the fp32 baseline is measured
    # again (one call), to check that the history belongs to this model and evaluation.
    assert resumed.resumed_trials == len(recorded)
    assert counter.calls == 1 + len(resumed.trials) - len(recorded)
    assert [t.replayed for t in resumed.trials] == [True] * len(recorded) + [False] * (counter.calls - 1)
    # And the run ends exactly where an uninterrupted one does.
    assert [t.key for t in resumed.trials] == [t.key for t in reference.trials]
    assert resumed.best_plan == reference.best_plan
    assert resumed.accuracy == reference.accuracy and resumed.met_criterion
    assert resumed.baseline_accuracy == reference.baseline_accuracy
    assert [t.index for t in read_history(history_path).trials] == list(range(len(reference.trials)))


def test_resume_of_a_finished_run_evaluates_nothing(tune, fragile, digits, tmp_path):
    conf = make_conf(strategy="mse_v2", timeout=3600, max_trials=6)
    first = tune(fragile, conf=conf)
    counter = Counter(lambda m: dm.accuracy(m, digits))
    again = tune(fragile, conf=conf, eval_func=counter)
    assert counter.calls == 1  # the fp32 baseline only, re-measured to check the history is this run's
    assert again.best_plan == first.best_plan and again.resumed_trials == len(first.trials)
    assert dm.accuracy(again.model, digits) == again.accuracy  # the model is rebuilt from the plan


@pytest.mark.parametrize("strategy", ["basic", "tpe"])
def test_recover_rebuilds_the_model_evaluated_in_a_trial(tune, fragile, digits, backend, tmp_path, strategy):
    outputs = []

    def recording_eval(model):
        outputs.append(model(digits.x_test))
        return dm.accuracy(model, digits)

    result = tune(fragile, strategy=strategy, timeout=3600, max_trials=8, eval_func=recording_eval)
    assert len(outputs) == 1 + len(result.trials)  # baseline, then one call per trial in order
    for trial in (result.trials[0], result.trials[-1], result.trials[len(result.trials) // 2]):
        model = recover(backend, fragile, result.history_path, trial.index)
        assert np.array_equal(model(digits.x_test), outputs[1 + trial.index])
        assert dm.accuracy(model, digits) == trial.accuracy


def test_recover_needs_only_the_workspace(tune, fragile, digits, backend, tmp_path):
    result = tune(fragile, strategy="mse")
    moved = tmp_path / "elsewhere"
    (tmp_path / "ws").rename(moved)
    model = recover(backend, fragile, moved / "history.jsonl", result.best_trial_index)
    assert dm.accuracy(model, digits) == result.accuracy


def test_resume_without_a_dataloader_uses_the_saved_calibration(backend, fragile, digits, tmp_path):
    from compressor.tuning import Tuner

    conf = make_conf(strategy="basic", timeout=3600, max_trials=4)
    eval_func = lambda m: dm.accuracy(m, digits)  # noqa: E731
    first = Tuner(backend, fragile, conf, dm.calibration_batches(digits), eval_func, workspace=tmp_path).run()
    conf_more = make_conf(strategy="basic", timeout=3600, max_trials=4)
    again = Tuner(backend, fragile, conf_more, None, eval_func, workspace=tmp_path).run()
    assert again.best_plan == first.best_plan and again.resumed_trials == 4


def test_resume_with_different_calibration_data_is_refused(backend, fragile, digits, tmp_path):
    from compressor.tuning import HistoryError, Tuner

    conf = make_conf(strategy="basic", max_trials=2)
    eval_func = lambda m: dm.accuracy(m, digits)  # noqa: E731
    Tuner(backend, fragile, conf, dm.calibration_batches(digits), eval_func, workspace=tmp_path).run()
    other = [(b[0] + 1.0,) for b in dm.calibration_batches(digits)]
    with pytest.raises(HistoryError, match="calibration data differs"):
        Tuner(backend, fragile, conf, other, eval_func, workspace=tmp_path).run()


def test_resume_reads_recorded_op_sensitivity_instead_of_recomputing(fragile, digits, tmp_path):
    import numpy_backend as nb

    from compressor.tuning import Tuner

    class CountingBackend(nb.NumpyBackend):
        op_output_calls = 0

        def op_outputs(self, model, batches, op_names):
            CountingBackend.op_output_calls += 1
            return super().op_outputs(model, batches, op_names)

    backend = CountingBackend(latency_model=nb.modeled_latency())
    conf = make_conf(strategy="mse_v2", timeout=3600, max_trials=5)
    eval_func = lambda m: dm.accuracy(m, digits)  # noqa: E731
    first = Tuner(backend, fragile, conf, dm.calibration_batches(digits), eval_func, workspace=tmp_path).run()
    assert CountingBackend.op_output_calls > 0
    CountingBackend.op_output_calls = 0
    again = Tuner(backend, fragile, conf, dm.calibration_batches(digits), eval_func, workspace=tmp_path).run()
    assert CountingBackend.op_output_calls == 0
    assert [t.key for t in again.trials] == [t.key for t in first.trials]


def test_no_temporary_files_are_left_in_the_workspace(tune, fragile, tmp_path):
    tune(fragile, strategy="basic")
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == ["calibration.npz", "history.jsonl"]

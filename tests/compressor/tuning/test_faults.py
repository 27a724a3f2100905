"""Fault-injection battery for resuming a tuning run.

Each fault ends with the numbers of an uninterrupted run or with a clear refusal (file, line or what
differs, and how to proceed), and nothing already recorded is lost. Covered here: torn and damaged
history files, damaged or replaced calibration data, a stale workspace of another model (same
architecture, other weights), a changed eval function, a history from before weights were recorded,
repeated restarts with ``resume=False``. kill -9 at a random trial is in ``test_resume.py``.
"""

from __future__ import annotations

import json
import logging

import digits_models as dm
import numpy as np
import pytest
from tuning_helpers import Counter, make_conf

from compressor.errors import CompressorError, HistoryError, StaleWorkspaceError
from compressor.tuning import read_history, recover


def conf():
    return make_conf(strategy="basic", timeout=3600, max_trials=8)


def same_numbers(result, reference):
    assert [t.key for t in result.trials] == [t.key for t in reference.trials]
    assert [t.accuracy for t in result.trials] == [t.accuracy for t in reference.trials]
    assert result.best_plan == reference.best_plan and result.accuracy == reference.accuracy
    assert result.met_criterion == reference.met_criterion


@pytest.fixture
def reference(tune, fragile, tmp_path):
    return tune(fragile, conf=conf(), workspace=tmp_path / "reference")


@pytest.fixture
def history(tune, fragile, tmp_path):
    tune(fragile, conf=conf(), workspace=tmp_path / "ws")
    return tmp_path / "ws" / "history.jsonl"


# --- truncated and damaged history files ---------------------------------------------------------


def test_a_zero_filled_tail_is_dropped_with_a_warning_and_the_run_resumes(
    tune, fragile, digits, history, reference, caplog
):
    # After a crash some filesystems leave the appended block zero-filled: bytes, no newline.
    lines = history.read_bytes().splitlines(keepends=True)
    history.write_bytes(b"".join(lines[:4]) + b"\0" * 300)
    counter = Counter(lambda m: dm.accuracy(m, digits))
    with caplog.at_level(logging.WARNING):
        resumed = tune(fragile, conf=conf(), workspace=history.parent, eval_func=counter)
    assert "torn last line" in caplog.text
    same_numbers(resumed, reference)
    assert resumed.resumed_trials == 3 and counter.calls == 1 + len(reference.trials) - 3
    assert b"\0" not in history.read_bytes()


DAMAGE = {
    "not JSON": b"{'kind': trial,\n",
    "not UTF-8": b'{"kind": "trial", "x": "\xff\xfe"}\n',
    "incomplete trial record": b'{"kind": "trial", "index": 1}\n',
    "not an object": b"[1, 2, 3]\n",
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damage_before_the_last_line_is_refused_with_file_and_line(tune, fragile, history, reference, damage):
    lines = history.read_bytes().splitlines(keepends=True)
    lines[2] = DAMAGE[damage]
    damaged = b"".join(lines)
    history.write_bytes(damaged)
    with pytest.raises(HistoryError) as info:
        tune(fragile, conf=conf(), workspace=history.parent)
    text = str(info.value)
    assert f"{history}:3: damaged record" in text and "resume=False" in text
    assert history.read_bytes() == damaged  # refused untouched
    # The way out the message names: start over; the damaged file is kept, not overwritten.
    fresh = tune(fragile, conf=conf(), workspace=history.parent, resume=False)
    same_numbers(fresh, reference)
    assert (history.parent / "history.jsonl.old").read_bytes() == damaged


def test_a_torn_header_is_refused(tune, fragile, history):
    header = history.read_bytes().split(b"\n")[0]
    history.write_bytes(header[: len(header) // 2])
    with pytest.raises(HistoryError, match="not a history header"):
        tune(fragile, conf=conf(), workspace=history.parent)


# --- the calibration batches saved next to the history --------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "other data"])
def test_damaged_or_replaced_calibration_is_refused_by_resume_and_recover(
    tune, fragile, backend, digits, history, damage
):
    saved = history.parent / "calibration.npz"
    if damage == "garbage":
        saved.write_bytes(saved.read_bytes()[:100])
        expected = "calibration batches are damaged"
    else:
        np.savez(saved, arity=np.array([1]), b0_0=digits.x_test[:50])
        expected = "not those the history records"
    with pytest.raises(HistoryError, match=expected) as info:
        tune(fragile, conf=conf(), workspace=history.parent)
    assert "calibration.npz" in str(info.value) and "resume=False" in str(info.value)
    with pytest.raises(HistoryError, match=expected):
        recover(backend, fragile, history, 0)


# --- a stale workspace: other weights, another evaluation ----------------------------------------


def test_a_workspace_of_the_same_architecture_with_other_weights_is_refused(tune, mlp, fragile, digits, tmp_path):
    # fragile computes the same function as mlp (same fp32 accuracy) with other weights, and breaks in
    # per-tensor int8: reusing mlp's trials would report mlp's int8 accuracy for it.
    workspace = tmp_path / "ws"
    tune(mlp, conf=conf(), workspace=workspace)
    before = (workspace / "history.jsonl").read_bytes()
    with pytest.raises(StaleWorkspaceError) as info:
        tune(fragile, conf=conf(), workspace=workspace)
    text = str(info.value)
    assert isinstance(info.value, HistoryError) and isinstance(info.value, CompressorError)
    assert "different tuning run" in text and "weights: model fingerprint" in text
    assert "resume=False" in text and "workspace=" in text
    assert (workspace / "history.jsonl").read_bytes() == before  # nothing of the other run is lost

    fresh = tune(fragile, conf=conf(), workspace=workspace, resume=False)
    same_numbers(fresh, tune(fragile, conf=conf(), workspace=tmp_path / "reference"))
    assert dm.accuracy(fresh.model, digits) == fresh.accuracy  # the reported number is the model's
    assert (workspace / "history.jsonl.old").read_bytes() == before


def test_a_changed_eval_func_is_refused_with_both_baselines(tune, mlp, digits, tmp_path):
    first = tune(mlp, conf=conf())
    half = dm.Digits(digits.x_train, digits.y_train, digits.x_test[::2], digits.y_test[::2])
    measured = dm.accuracy(mlp, half)
    assert measured != first.baseline_accuracy
    with pytest.raises(StaleWorkspaceError) as info:
        tune(mlp, conf=conf(), eval_func=lambda m: dm.accuracy(m, half))
    text = str(info.value)
    assert f"fp32 baseline accuracy: {first.baseline_accuracy!r} recorded vs {measured!r} measured now" in text
    assert "eval_func changed" in text and "resume=False" in text


def test_float_noise_in_the_re_measured_baseline_is_tolerated(tune, mlp, digits):
    first = tune(mlp, conf=conf())
    again = tune(mlp, conf=conf(), eval_func=lambda m: dm.accuracy(m, digits) * (1 + 1e-12))
    assert again.resumed_trials == len(first.trials) and again.best_plan == first.best_plan


def test_a_history_without_a_weights_fingerprint_is_refused(tune, mlp, tmp_path):
    tune(mlp, conf=conf())
    path = tmp_path / "ws" / "history.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    del header["model_sha256"]  # as written before the weights were recorded
    path.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    assert read_history(path).meta.model_sha256 == ""  # still readable (recover works)
    with pytest.raises(StaleWorkspaceError, match=r"weights: model fingerprint none \(written by an older"):
        tune(mlp, conf=conf())


def test_restarting_twice_keeps_every_previous_history(tune, mlp, tmp_path):
    budgets = (2, 3, 4)
    runs = [tune(mlp, conf=make_conf(strategy="basic", max_trials=n), resume=False) for n in budgets]
    workspace = tmp_path / "ws"
    kept = [workspace / "history.jsonl.old", workspace / "history.jsonl.old.1", workspace / "history.jsonl"]
    for path, run, budget in zip(kept, runs, budgets, strict=True):
        history = read_history(path)
        assert history.meta.config["tuning_criterion"]["max_trials"] == budget
        assert [t.key for t in history.trials] == [t.key for t in run.trials]


def test_a_model_that_cannot_run_is_a_failed_trial_not_the_end_of_tuning(tune, fragile, digits):
    """A backend whose quantized model refuses to run (as torch's inductor may, at its first call) whenever
    fc1 is int8: those trials are recorded as failed, the tuner goes on, and the result runs."""
    import numpy_backend as nb

    from compressor.errors import BackendError

    class Refusing:
        def __init__(self, model):
            self.model = model

        def __call__(self, x):
            raise BackendError("test backend: this graph does not compile")

    class RefusingBackend(nb.NumpyBackend):
        def quantize(self, model, plan, calibration):
            built = super().quantize(model, plan, calibration)
            return Refusing(built) if plan.ops["fc1"].quantized else built

    backend = RefusingBackend(latency_model=lambda m: 1.0 if isinstance(m, Refusing) else 2.0)
    # the latency model never runs a Refusing model, so the eval function is what meets the refusal
    result = tune(fragile, strategy="basic", tuner_backend=backend, eval_func=lambda m: dm.accuracy(m, digits))
    failed = [t for t in result.trials if t.error]
    assert failed and all("does not compile" in t.error for t in failed)
    assert all(t.plan.ops["fc1"].quantized for t in failed)
    assert result.met_criterion
    assert "fc1" in result.fallback_ops and dm.accuracy(result.model, digits) == result.accuracy

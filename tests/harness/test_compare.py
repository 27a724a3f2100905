import math

import pandas as pd
import pytest

from harness.compare import Check, CheckSyntaxError, compare, parse_check
from harness.results import write_frame


def run(rows: list[tuple], repeats: int = 1, jitter: float = 0.0) -> pd.DataFrame:
    """Rows (job_id, status, accuracy, throughput); ``repeats`` copies spread by +-``jitter`` (relative)."""
    out = []
    for r in range(repeats):
        factor = 1.0 + (jitter * (1 if r % 2 else -1) if repeats > 1 else 0.0)
        for job_id, status, acc, thr in rows:
            ok = status == "ok"
            out.append(
                {
                    "job_id": job_id,
                    "model": "resnet",
                    "technique": "tuned" if job_id.startswith("tuned") else job_id,
                    "strategy": job_id.split("-")[1] if job_id.startswith("tuned") else None,
                    "status": status,
                    "error": None if ok else "RuntimeError: boom",
                    "accuracy": acc if ok else None,
                    "throughput": thr * factor if ok else None,
                    "latency_ms_p50": 1000.0 / (thr * factor) if ok else None,
                }
            )
    return pd.DataFrame(out)


BASE = [("fp32", "ok", 0.770, 100.0), ("int8_minmax", "ok", 0.760, 400.0), ("tuned-mse", "ok", 0.769, 380.0)]
DEFAULT = [parse_check("accuracy:0.5"), parse_check("throughput:5%")]


def with_change(job: str, accuracy: float | None = None, throughput: float | None = None, status: str | None = None):
    rows = []
    for job_id, st, acc, thr in BASE:
        if job_id == job:
            st, acc, thr = (
                status or st,
                acc if accuracy is None else accuracy,
                thr if throughput is None else throughput,
            )
        rows.append((job_id, st, acc, thr))
    return rows


def verdicts(result) -> dict[str, str]:
    return {j.job_id: j.status for j in result.jobs}


def test_identical_runs_pass(tmp_path):
    base, cur = tmp_path / "base", tmp_path / "cur"
    for path in (base, cur):
        path.mkdir()
        write_frame(path, run(BASE))
    result = compare(base, cur, DEFAULT)
    assert not result.regressed
    assert set(verdicts(result).values()) == {"unchanged"}
    assert "no regression: 3 unchanged" in result.to_markdown()


def test_accuracy_drop_beyond_threshold_regresses():
    result = compare(run(BASE), run(with_change("tuned-mse", accuracy=0.760)), DEFAULT)  # -0.9 points
    assert result.regressed and verdicts(result)["tuned-mse"] == "regressed"
    job = next(j for j in result.jobs if j.job_id == "tuned-mse")
    assert "accuracy 76.9 -> 76: worse by 0.90 points > 0.50 points" in job.messages[0]
    assert "**regressed**" in result.to_markdown() and "REGRESSION" in result.to_markdown()
    # within the limit: not a regression
    assert not compare(run(BASE), run(with_change("tuned-mse", accuracy=0.766)), DEFAULT).regressed


def test_throughput_drop_beyond_threshold_regresses_without_repeats():
    result = compare(run(BASE), run(with_change("int8_minmax", throughput=360.0)), DEFAULT)  # -10 %
    assert verdicts(result)["int8_minmax"] == "regressed"
    assert result.regressed


def test_throughput_drop_within_measured_spread_does_not_fail():
    # Repeats scatter +-8 % run to run: a 10 % drop is noise at k=3, a 60 % drop is not.
    base = run(BASE, repeats=4, jitter=0.08)
    noisy = run(with_change("int8_minmax", throughput=360.0), repeats=4, jitter=0.08)
    result = compare(base, noisy, DEFAULT)
    assert not result.regressed, result.to_markdown()
    assert "widened to 3x measured spread" in " ".join(
        next(j for j in result.jobs if j.job_id == "int8_minmax").messages
    )
    crashed = run(with_change("int8_minmax", throughput=160.0), repeats=4, jitter=0.08)
    assert verdicts(compare(base, crashed, DEFAULT))["int8_minmax"] == "regressed"


def test_statuses_new_failure_fixed_new_job_missing_improved():
    base = run(BASE[:2] + [("dynamic", "failed", None, None)])
    cur = run(
        [("fp32", "ok", 0.770, 130.0), ("int8_minmax", "crashed", None, None)]
        + [("dynamic", "ok", 0.75, 300.0), ("tuned-basic", "ok", 0.768, 370.0)]
    )
    result = compare(base, cur, DEFAULT)
    assert verdicts(result) == {
        "fp32": "improved",
        "int8_minmax": "new failure",
        "dynamic": "fixed",
        "tuned-basic": "new job",
    }
    assert result.regressed  # the new failure alone fails the gate
    assert "crashed: RuntimeError: boom" in result.to_markdown()

    missing = compare(run(BASE), run(BASE[:2]), DEFAULT)
    assert verdicts(missing)["tuned-mse"] == "missing" and missing.regressed  # cannot compare: the gate fails
    assert not compare(run(BASE), run(BASE[:2]), DEFAULT, fail_on_missing=False).regressed  # --allow-missing


def test_the_gate_fails_when_it_cannot_compare():
    holes = run(BASE)
    holes.loc[holes.job_id == "int8_minmax", "throughput"] = None  # a row with a missing value
    result = compare(run(BASE), holes, DEFAULT)
    assert verdicts(result)["int8_minmax"] == "not comparable" and result.regressed
    assert "throughput: missing value" in result.to_markdown()

    crashed_new = run(BASE + [("tuned-tpe", "crashed", None, None)])
    result = compare(run(BASE), crashed_new, DEFAULT)
    assert verdicts(result)["tuned-tpe"] == "new failure" and result.regressed

    still = compare(
        run(BASE + [("dynamic", "failed", None, None)]), run(BASE + [("dynamic", "timeout", None, None)]), DEFAULT
    )
    assert verdicts(still)["dynamic"] == "still failing" and still.regressed


def test_accuracy_on_other_eval_examples_is_not_comparable():
    base, cur = run(BASE), run(BASE)
    base["eval_digest"], base["eval_examples"] = "aaaa", 1000
    cur["eval_digest"], cur["eval_examples"] = "aaaa", 1000
    cur.loc[cur.job_id == "fp32", ["eval_digest", "eval_examples"]] = ["bbbb", 500]
    result = compare(base, cur, DEFAULT)
    assert verdicts(result)["fp32"] == "not comparable" and result.regressed
    assert "measured on other eval examples (1000 examples vs 500 examples" in result.to_markdown()
    assert verdicts(result)["int8_minmax"] == "unchanged"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accuracy:0.5", Check("accuracy", 0.5, relative=False)),
        ("throughput:5%", Check("throughput", 0.05, relative=True)),
        (" Latency : 10% ", Check("latency", 0.10, relative=True)),
        ("accuracy:1%", Check("accuracy", 0.01, relative=True)),
    ],
)
def test_parse_check(text, expected):
    check = parse_check(text)
    assert check.metric == expected.metric and check.relative == expected.relative
    assert math.isclose(check.threshold, expected.threshold)
    assert parse_check(str(check)) == check


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("acuracy:0.5", "'acuracy:0.5': unknown metric 'acuracy' (did you mean 'accuracy'?)"),
        ("throughput", "'throughput'"),
        ("throughput:five%", "'five%' is not a number"),
        ("accuracy:-1", "finite number >= 0"),
    ],
)
def test_parse_errors_name_the_value_and_the_syntax(text, names):
    with pytest.raises(CheckSyntaxError) as info:
        parse_check(text)
    message = str(info.value)
    assert names in message
    if "finite" not in names:
        assert "METRIC:NUMBER" in message and "accuracy, throughput, latency" in message


@pytest.mark.parametrize(("within_run_spread", "regressed"), [(0.08, False), (0.005, True)])
def test_single_runs_use_their_own_round_to_round_spread(within_run_spread, regressed):
    """Nightly rows carry the spread of their A/B rounds; a 10% drop inside 3x that spread is noise."""
    base, cur = run(BASE), run(with_change("int8_minmax", throughput=360.0))
    for frame in (base, cur):
        frame["throughput_rounds_rel_std"] = within_run_spread
        frame["throughput_rounds"] = 3
    result = compare(base, cur, DEFAULT)
    assert result.regressed is regressed
    assert verdicts(result)["int8_minmax"] == ("regressed" if regressed else "unchanged")

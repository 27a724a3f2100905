import json

import pandas as pd

from reports.frame import aggregate_repeats, load_results
from reports.render import write_report
from reports.strategies import ROW_HEADER, int8_ops, strategy_summary


def summary_of(frame: pd.DataFrame):
    jobs = aggregate_repeats(load_results(frame)).sort_values("suite_position", kind="stable")
    return strategy_summary(jobs)


def rows_by(summary, model: str, strategy: str) -> dict[str, str]:
    found = [r for r in summary.rows if r[0] == model and r[3] == strategy]
    assert len(found) == 1, summary.rows
    return dict(zip(ROW_HEADER, found[0], strict=True))


def test_every_tuned_job_is_a_row_and_a_timed_out_search_says_so(results_frame):
    summary = summary_of(results_frame)
    assert [(r[0], r[3]) for r in summary.rows] == [
        (model, strategy)
        for model in ("resnet50_v2", "bert_mini")
        for strategy in ("basic", "mse", "mycustom", "bayesian")
    ]  # suite order: models as run, strategies as listed
    mse = rows_by(summary, "resnet50_v2", "mse")
    assert mse == {
        "Model": "resnet50_v2", "Framework": "mxnet", "Technique": "tuned", "Strategy": "mse",
        "Met criterion": "yes", "Trials": "4", "Tuning [s]": "106.50", "Speedup vs fp32": "6.36",
        "Int8 ops": "fp32 ops kept: 1", "Top 1 accuracy": "0.7692", "Relative loss [%]": "0.09",
    }  # fmt: skip
    bayesian = rows_by(summary, "bert_mini", "bayesian")
    assert bayesian["Met criterion"] == "failed: timeout"
    assert (bayesian["Trials"], bayesian["Tuning [s]"], bayesian["Speedup vs fp32"]) == ("500", "3600.00", "—")
    assert summary.failed == [False, False, False, True] * 2
    assert not summary.total_ops_known


def test_per_strategy_aggregate_counts_failures_as_not_met_and_their_cost(results_frame):
    frame = results_frame.copy()
    missed = (frame["model"] == "bert_mini") & (frame["strategy"] == "mse")
    frame.loc[missed, "met_criterion"] = False
    frame.loc[missed, "trials"] = 10
    aggregate = {row[0]: row[1:] for row in summary_of(frame).aggregate}
    # jobs, met, success rate, median trials, median tuning seconds, median speedup of the finished ones
    assert list(aggregate) == ["basic", "mse", "mycustom", "bayesian"]
    assert aggregate["basic"] == ["2", "2 of 2", "100%", "12", "266.50", "6.55"]
    assert aggregate["mse"] == ["2", "1 of 2", "50%", "7", "106.50", "6.36"]
    assert aggregate["bayesian"] == ["2", "0 of 2", "0%", "500", "3600.00", "—"]
    assert rows_by(summary_of(frame), "bert_mini", "mse")["Met criterion"] == "no"


def test_a_job_that_missed_its_criterion_is_a_row_that_says_so_in_the_report(results_frame, tmp_path):
    frame = results_frame.copy()
    frame.loc[frame["strategy"] == "mse", "met_criterion"] = False
    crashed = frame["strategy"] == "mycustom"  # a failed row records no measurement
    frame.loc[crashed, "status"] = "failed"
    frame.loc[crashed, ["accuracy", "relative_loss", "latency_ms_p50", "speedup_vs_fp32"]] = None
    md = write_report(frame, tmp_path / "out").markdown.read_text()
    summary = md[md.index("## Strategy summary") :]
    assert "| resnet50_v2 | mxnet | tuned | mse | no | 4 | 106.50 | 6.36 |" in summary
    assert "| bert_mini | torch | tuned | mycustom | failed | 30 | 370.29 |" in summary
    assert "| mse | 2 | 0 of 2 | 0% | 4 | 106.50 | 6.36 |" in summary
    assert summary.index("## Strategy summary") < summary.index("(strategies.png)")
    model_table = md[: md.index("## bert_mini (torch)")]
    assert "| tuned (mse) | 0.7692 |" in model_table and "| criterion not met |" in model_table
    assert "| tuned (mycustom) | — |" in model_table and "| failed |" in model_table


def test_int8_ops_need_the_total_op_count_and_say_so_without_it():
    def row(fp32_ops, notes=None):
        return pd.Series({"fp32_ops": json.dumps(fp32_ops), "notes": json.dumps(notes or {})})

    assert int8_ops(row(["conv0"], {"quantizable_ops": 53})) == ("52", True)
    assert int8_ops(row(["a", "b"], {"all_fp32": True})) == ("0 (every op fp32: not a quantized model)", True)
    assert int8_ops(row(["conv0", "fc"])) == ("fp32 ops kept: 2", False)
    assert int8_ops(pd.Series({"fp32_ops": None, "notes": None})) == ("—", True)


def test_the_report_explains_fp32_ops_kept_only_when_a_count_is_unknown(results_frame, tmp_path):
    note = "do not record the model's total quantizable op count"
    md = write_report(results_frame, tmp_path / "a").markdown.read_text()
    assert note in md
    frame = results_frame.copy()
    frame["notes"] = json.dumps({"quantizable_ops": 53})
    md = write_report(frame, tmp_path / "b").markdown.read_text()
    assert note not in md and "| resnet50_v2 | mxnet | tuned | mycustom | yes | 30 | 370.29 | 4.52 | 50 |" in md


def test_tuned_jobs_are_found_by_kind_and_technique_names_stay_apart(results_frame):
    """Real rows: technique is the suite's name (tuned_auto_small), technique_kind is 'tuned'."""
    frame = results_frame[results_frame["model"] == "resnet50_v2"].copy()
    tuned = frame["technique"] == "tuned"
    frame.loc[tuned, "technique"] = "tuned_" + frame.loc[tuned, "strategy"]
    small = frame[frame["strategy"] == "mse"].assign(technique="tuned_mse_small", job_id="small", trials=2)
    frame = pd.concat([frame, small.assign(started_at="2024-01-01T01:00:00Z")], ignore_index=True)
    frame["strategy"] = frame["strategy"].where(frame["technique_kind"] == "tuned", None)
    summary = summary_of(frame)
    assert [r[2] for r in summary.rows] == [
        "tuned_basic",
        "tuned_mse",
        "tuned_mycustom",
        "tuned_bayesian",
        "tuned_mse_small",
    ]
    assert {row[0]: row[1] for row in summary.aggregate}["mse"] == "2"
    no_kind = results_frame.drop(columns=["technique_kind"])  # rows of a frame that has no kind: a strategy says tuned
    assert len(summary_of(no_kind).rows) == 8


def test_no_tuned_jobs_no_strategy_section(results_frame, tmp_path):
    untuned = results_frame[results_frame["technique"] != "tuned"]
    assert summary_of(untuned) is None
    files = write_report(untuned, tmp_path / "out")
    assert "Strategy summary" not in files.markdown.read_text() and "strategy-summary" not in files.html.read_text()
    assert "strategies.png" not in [p.name for p in files.images]


def test_the_report_says_when_trials_were_screened_on_a_subset(results_frame, tmp_path):
    sentence = "rejected on an evenly spread quarter of the eval set"
    assert sentence not in write_report(results_frame, tmp_path / "a").markdown.read_text()
    frame = results_frame.copy()
    frame["notes"] = json.dumps({"screened_trials": 3})
    report = write_report(frame, tmp_path / "b")
    tuned = len(summary_of(frame).rows)
    assert f"{3 * tuned} trials of these jobs were {sentence}" in report.markdown.read_text()
    assert sentence in report.html.read_text()

import base64
import re

import pandas as pd
import pytest

from harness.errors import ResultsError
from reports.frame import aggregate_repeats, load_results, method_label
from reports.render import write_report


def test_report_writes_markdown_and_self_contained_html(results_dir, tmp_path):
    files = write_report(results_dir, tmp_path / "out")
    md = files.markdown.read_text()
    html = files.html.read_text()

    assert "## resnet50_v2 (mxnet)" in md and "## bert_mini (torch)" in md
    assert "| Optimization method | Top 1 accuracy | Top 1 relative accuracy loss [%]" in md
    # seed 002 row: naive int8 keeps nothing in fp32, loses 71.33 %, is 6.91x faster than fp32
    assert "| int8_minmax | 0.2207 | 71.33 | 11.29 | 1 | 45.810 | 6.91 | 3.23 | 0 |" in md
    assert "| tuned (mycustom) | 0.7699 | 0.00 | 370.29 | 30 | 70.070 | 4.52 | 2.11 | 3 |" in md
    assert "**tuned (bayesian)**" in md and "no plan met 1.5% relative loss" in md
    assert "RuntimeError: unsupported op \\| Gemm" in md  # a pipe in an error must not break the list
    assert "3a19f0e50d75" in md and "Xeon(R) Platinum 8375C" in md and "mxnet 2.0.0b20220902" in md
    assert "has avx2 fma avx512f avx512bw avx512_vnni" in md

    for method in ("fp32_optimized", "int8_entropy", "tuned (basic)", "tuned (mse)"):
        assert f"<td>{method}</td>" in html
    assert not re.search(r"""(src|href)=["'](?!data:)""", html), "HTML must not reference external files"
    assert "<link" not in html and "<script" not in html
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(uris) == 4  # two Pareto plots, the tuning cost chart and the strategy summary chart
    assert all(base64.b64decode(u).startswith(b"\x89PNG") for u in uris)
    assert sorted(p.name for p in files.images) == [
        "pareto_bert_mini_torch.png",
        "pareto_resnet50_v2_mxnet.png",
        "strategies.png",
        "tuning_cost.png",
    ]
    assert "(pareto_resnet50_v2_mxnet.png)" in md


def test_repeats_fold_into_medians(results_frame, tmp_path):
    repeated = pd.concat([results_frame, results_frame.assign(latency_ms_p50=results_frame["latency_ms_p50"] * 3)])
    repeated = pd.concat([repeated, results_frame])
    jobs = aggregate_repeats(load_results(repeated))
    assert len(jobs) == len(results_frame)
    fp32 = jobs[jobs["job_id"] == "resnet50_v2-mxnet-fp32-none"].iloc[0]
    assert fp32["latency_ms_p50"] == pytest.approx(316.50) and fp32["repeats"] == 3
    md = write_report(repeated, tmp_path / "out").markdown.read_text()
    assert "medians over up to 3 repeated measurements" in md


def test_report_without_tuned_or_ok_jobs_still_renders(results_frame, tmp_path):
    only_failed = results_frame[results_frame["status"] != "ok"]
    files = write_report(only_failed, tmp_path / "out")
    assert "No successful jobs." in files.markdown.read_text()
    # the timed-out bayesian search still cost time, and is a strategy that met nothing: no Pareto plot
    assert [p.name for p in files.images] == ["tuning_cost.png", "strategies.png"]


def test_unreadable_results_raise_an_actionable_error(tmp_path):
    with pytest.raises(ResultsError, match="results not found"):
        load_results(tmp_path / "nope")
    with pytest.raises(ResultsError, match=r"lack required columns \['status'\]"):
        load_results(pd.DataFrame({"job_id": ["a"], "model": ["m"], "technique": ["fp32"]}))


def test_training_and_mixed_precision_rows_show_their_cost_sparsity_and_hardware_verdict(results_frame, tmp_path):
    base = results_frame[(results_frame["model"] == "bert_mini") & (results_frame["technique"] == "fp32")].iloc[0]
    extra = [
        {**base, "job_id": "bert_mini-torch-prune", "technique": "prune", "train_seconds": 12.34,
         "train_epochs": 4, "sparsity": 0.7952},
        {**base, "job_id": "bert_mini-torch-bf16", "technique": "bf16",
         "hardware_verdict": "emulated: no speedup expected (no avx512_bf16 or amx_bf16)"},
    ]  # fmt: skip
    frame = pd.concat([results_frame, pd.DataFrame(extra)], ignore_index=True)
    md = write_report(frame, tmp_path / "out").markdown.read_text()
    assert "| Ops kept in fp32 | Training [s] | Notes |" in md
    assert "| prune | 0.7699 |" in md and "| 12.3 (4 ep) | sparsity 79.5% |" in md
    assert "| — | emulated |" in md


def test_rows_measured_on_other_eval_examples_get_their_own_table(results_frame, tmp_path):
    """Issue 14.5: a tuned row measured on 500 examples never sits in the table of a 1000-example fp32 row."""
    frame = results_frame[results_frame.model == "resnet50_v2"].copy()
    frame["eval_digest"], frame["eval_examples"] = "a" * 16, 1000
    small = frame.technique == "int8_entropy"
    frame.loc[small, ["eval_digest", "eval_examples"]] = ["b" * 16, 500]
    frame.loc[frame.status != "ok", ["eval_digest", "eval_examples"]] = [None, None]
    md = write_report(frame, tmp_path / "out").markdown.read_text()
    big, _, rest = md.partition("## resnet50_v2 (mxnet) — 500 eval examples (bbbbbbbb)")
    assert "## resnet50_v2 (mxnet) — 1000 eval examples (aaaaaaaa)" in big
    assert "| int8_entropy |" not in big and "| int8_minmax |" in big and "tuned (bayesian)" in big
    assert "| int8_entropy |" in rest and "| int8_minmax |" not in rest


def table_methods(md: str, title: str) -> list[str]:
    """The Optimization method cells of the table under ``## title``, top to bottom."""
    section = md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Optim")]
    return [row.split(" | ")[0][2:] for row in rows]


def test_rows_and_sections_follow_the_suite_not_a_fixed_technique_order(results_frame, tmp_path):
    """The harness runs jobs in suite order: rows come in the order jobs first started, whatever their kind."""
    suite = [
        "tuned (basic)", "tuned (mse)", "tuned (mycustom)", "tuned (bayesian)", "fp32", "fp32_optimized",
        "int8_minmax", "int8_entropy", "int8_percentile", "dynamic",
    ]  # fmt: skip  # this suite lists the tuned jobs first, and runs bert_mini before resnet50_v2
    frame = results_frame.copy()
    methods = [method_label(t, s) for t, s in zip(frame["technique"], frame["strategy"], strict=True)]
    minute = (frame["model"] == "resnet50_v2").astype(int)
    frame["started_at"] = [f"2024-01-01T00:{m:02d}:{suite.index(x):02d}Z" for m, x in zip(minute, methods, strict=True)]
    # a later run repeats fp32 and int8_minmax: a rerun keeps the job's first place
    rerun = frame[frame["technique"].isin(["fp32", "int8_minmax"])].assign(run_id="run-2")
    frame = pd.concat([rerun, frame], ignore_index=True)  # read order is not what decides
    md = write_report(frame, tmp_path / "out").markdown.read_text()
    assert table_methods(md, "resnet50_v2 (mxnet)") == suite
    assert table_methods(md, "bert_mini (torch)") == suite
    assert md.index("## bert_mini (torch)") < md.index("## resnet50_v2 (mxnet)")
    summary = md[md.index("### Tuned jobs") :]
    assert summary.index("| bert_mini |") < summary.index("| resnet50_v2 |")


def test_jobs_started_in_the_same_second_fall_back_to_the_technique_kind_order(results_frame, tmp_path):
    frame = results_frame[results_frame["model"] == "resnet50_v2"].iloc[::-1].assign(started_at="2024-01-01T00:00:00Z")
    md = write_report(frame, tmp_path / "out").markdown.read_text()
    methods = table_methods(md, "resnet50_v2 (mxnet)")
    assert methods[:6] == ["fp32", "fp32_optimized", "int8_minmax", "int8_entropy", "int8_percentile", "dynamic"]
    # the tuned jobs share a kind: read order (reversed here) decides among them
    assert methods[6:] == ["tuned (bayesian)", "tuned (mycustom)", "tuned (mse)", "tuned (basic)"]


def test_fp32_speedup_is_one_by_definition_and_the_measurement_is_kept(results_frame, tmp_path):
    frame = results_frame.copy()
    fp32 = frame["technique"] == "fp32"
    frame.loc[fp32, "speedup_vs_fp32"] = 0.98  # A/B against itself: noise
    frame.loc[frame["technique"] == "fp32_optimized", "speedup_vs_fp32_optimized"] = 1.031
    # a suite may call its baseline anything: the kind says it is fp32
    frame.loc[fp32 & (frame["model"] == "bert_mini"), "technique"] = "baseline"
    md = write_report(frame, tmp_path / "out").markdown.read_text()
    assert "| fp32 | 0.7699 | 0.00 | 0.00 | 0 | 316.500 | 1.00 | 0.47 |" in md
    assert "| baseline | 0.7699 | 0.00 | 0.00 | 0 | 316.500 | 1.00 | 0.47 |" in md
    assert "1.00 by definition (A/B vs itself: 0.98)" in md
    assert "| fp32_optimized | 0.7699 | 0.00 | 0.03 | 0 | 147.770 | 2.14 | 1.00 |" in md
    assert "1.00 by definition (A/B vs itself: 1.03)" in md
    assert " 0.98 |" not in md
    jobs = aggregate_repeats(load_results(frame))
    assert set(jobs.loc[jobs["technique_kind"] == "fp32", "speedup_vs_fp32"]) == {0.98}  # the data is untouched


def test_job_index_is_the_suite_order_whatever_the_start_times():
    from reports.frame import suite_positions

    frame = pd.DataFrame(
        {
            "job_id": ["b", "a", "c"],
            "technique": ["int8_minmax", "fp32", "tuned"],
            "job_index": [1, 2, 0],
            "run_id": ["r", "r", "r"],
            "started_at": ["2026-01-01T00:00:00", "2026-01-01T00:00:01", "2026-01-01T00:00:02"],
        }
    )
    assert suite_positions(frame) == {"c": 0, "b": 1, "a": 2}

"""The ``report`` and ``compare`` commands through ``harness.cli`` (which prints user errors, exit 2)."""

import pandas as pd
import pytest

from harness.cli import main
from harness.results import write_frame


def write_run(path, accuracy=0.77, throughput=100.0, status="ok"):
    path.mkdir()
    row = {"job_id": "m-tuned-mse", "model": "m", "framework": "torch", "technique": "tuned", "strategy": "mse"}
    row |= {"status": status, "accuracy": accuracy, "relative_loss": 0.0, "throughput": throughput}
    row |= {"latency_ms_p50": 10.0, "speedup_vs_fp32": 3.0, "tuning_seconds": 5.0, "trials": 3}
    write_frame(path, pd.DataFrame([row]))
    return str(path)


def test_compare_exit_codes(tmp_path, capsys):
    base = write_run(tmp_path / "base")
    same = write_run(tmp_path / "same")
    worse = write_run(tmp_path / "worse", accuracy=0.76)
    slower = write_run(tmp_path / "slower", throughput=80.0)
    assert main(["compare", base, same]) == 0
    assert "| `m-tuned-mse` | m | tuned (mse) | unchanged |" in capsys.readouterr().out
    assert main(["compare", base, worse]) == 1
    assert main(["compare", base, worse, "--accuracy", "2"]) == 0
    assert main(["compare", base, slower]) == 1
    assert main(["compare", base, slower, "--throughput", "25%"]) == 0
    assert main(["compare", base, slower, "--fail-on", "throughput:30%,latency:1%"]) == 0


def test_compare_usage_errors_are_one_line_exit_2(tmp_path, capsys):
    base = write_run(tmp_path / "base")
    assert main(["compare", base, str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: results not found") and err.count("\n") == 1 and "Traceback" not in err
    assert main(["compare", base, base, "--throughput", "fast"]) == 2
    assert "'fast' is not a number" in capsys.readouterr().err
    assert main(["compare", base, base, "--fail-on", "speed:5%"]) == 2
    assert "cannot parse check 'speed:5%'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # argparse's own usage errors keep code 2
        main(["compare", base])
    assert info.value.code == 2


def test_report_command_writes_files(tmp_path, capsys):
    results = write_run(tmp_path / "results")
    assert main(["report", results, "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.md").exists() and (tmp_path / "out" / "report.html").exists()
    assert "tuned (mse)" in (tmp_path / "out" / "report.md").read_text()
    assert main(["report", str(tmp_path / "nope"), "-o", str(tmp_path / "out2")]) == 2
    assert "results not found" in capsys.readouterr().err


def test_report_strict_writes_the_report_then_fails_on_failed_jobs(tmp_path, capsys):
    results = write_run(tmp_path / "results", status="crashed")
    assert main(["report", results, "-o", str(tmp_path / "lenient")]) == 0
    assert main(["report", results, "-o", str(tmp_path / "out"), "--strict"]) == 1
    assert (tmp_path / "out" / "report.md").exists() and (tmp_path / "out" / "report.html").exists()
    assert "1 job(s) did not finish ok: m-tuned-mse" in capsys.readouterr().err

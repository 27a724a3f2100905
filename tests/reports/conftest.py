"""Result frames shaped like harness.results rows (built here: the reports must not need a real run)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from harness.results import SCHEMA_VERSION, write_frame

# (technique, strategy, status, accuracy, latency p50 ms, tuning s, trials, fp32 ops, error) after seed 002
SEED_002 = [
    ("fp32", None, "ok", 0.7699, 316.50, 0.0, 0, None, None),
    ("fp32_optimized", None, "ok", 0.7699, 147.77, 0.03, 0, None, None),
    ("int8_minmax", None, "ok", 0.2207, 45.81, 11.29, 1, [], None),
    ("int8_entropy", None, "ok", 0.6933, 46.39, 80.23, 1, [], None),
    ("int8_percentile", None, "ok", 0.6928, 45.98, 79.75, 1, [], None),
    ("tuned", "basic", "ok", 0.7692, 48.32, 266.50, 12, ["conv0"], None),
    ("tuned", "mse", "ok", 0.7692, 49.76, 106.50, 4, ["conv0"], None),
    ("tuned", "mycustom", "ok", 0.7699, 70.07, 370.29, 30, ["conv0", "fc", "pool"], None),
    ("tuned", "bayesian", "timeout", None, None, 3600.0, 500, None, "no plan met 1.5% relative loss in 500 trials"),
    ("dynamic", None, "crashed", None, None, None, None, None, "RuntimeError: unsupported op | Gemm"),
]


def build_rows(
    model: str = "resnet50_v2", framework: str = "mxnet", run_id: str = "run-1", start: int = 0
) -> list[dict]:
    """One row per SEED_002 job, started one second apart from ``start`` seconds after midnight (suite order)."""
    fp32_acc, fp32_lat, opt_lat = 0.7699, 316.50, 147.77
    rows = []
    for i, (technique, strategy, status, acc, lat, cost, trials, ops, error) in enumerate(SEED_002):
        ok = status == "ok"
        started = start + i
        rows.append(
            {
                "schema_version": SCHEMA_VERSION,
                "run_id": run_id,
                "job_id": f"{model}-{framework}-{technique}-{strategy or 'none'}",
                "model": model,
                "framework": framework,
                "technique": technique,
                "technique_kind": technique,
                "strategy": strategy,
                "met_criterion": ok if technique == "tuned" else None,
                "status": status,
                "error": error,
                "accuracy": acc,
                "fp32_accuracy": fp32_acc,
                "relative_loss": (fp32_acc - acc) / fp32_acc if ok else None,
                "trials": trials,
                "tuning_seconds": cost,
                "latency_ms_p50": lat,
                "latency_ms_p90": lat * 1.05 if ok else None,
                "latency_ms_p99": lat * 1.1 if ok else None,
                "throughput": 1000.0 / lat if ok else None,
                "batch_size": 1,
                "model_size_bytes": 100_000_000 if technique.startswith("fp32") else 25_000_000,
                "speedup_vs_fp32": fp32_lat / lat if ok else None,
                "speedup_vs_fp32_optimized": opt_lat / lat if ok else None,
                "fp32_ops": json.dumps(ops) if ops is not None else None,
                "seed": 9527,
                "pinning": "numactl -C 0-15",
                "cpus": "0-15",
                "git_sha": "3a19f0e50d75",
                "package_versions": json.dumps({"mxnet": "2.0.0b20220902", "numpy": "1.23.5"}),
                "cpu_model": "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
                "cpu_flags": "fpu sse4_2 avx2 fma avx512f avx512bw avx512_vnni",
                "cores_used": 16,
                "python": "3.11.7",
                "hostname": "bench-1",
                "started_at": f"2024-01-01T00:{started // 60:02d}:{started % 60:02d}Z",
                "wall_seconds": 10.0,
            }
        )
    return rows


@pytest.fixture
def results_frame() -> pd.DataFrame:
    """Two models, seed-002 numbers, two failed jobs each."""
    return pd.DataFrame(build_rows() + build_rows(model="bert_mini", framework="torch", start=len(SEED_002)))


@pytest.fixture
def results_dir(tmp_path, results_frame):
    path = tmp_path / "results"
    path.mkdir()
    write_frame(path, results_frame)
    return path

"""The results store: one parquet dataset per results directory, one file per finished job.

Each job's row is written as soon as the job ends, atomically (temporary file + rename), as
``<run_id>__<job id with / → _>.parquet``; an interrupted run therefore leaves every finished row
readable, and ``pandas.read_parquet(DIR)`` (or ``load_results(DIR)``) reads them all. Running a suite
again into the same directory adds rows (repeats); ``--resume`` skips job ids that already have one.

Schema (``SCHEMA_VERSION`` = 1; ``SCHEMA`` maps each column to its description, ``ARROW_SCHEMA`` to
its type). Missing values are nulls: a failed job keeps its identity, status, error and environment.

"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed", "timeout", "crashed")

_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("schema_version", pa.int32(), "Version of this schema; readers refuse versions they do not know."),
    ("run_id", pa.string(), "One `harness run` invocation: '<suite>-<UTC time>-<random>'."),
    ("job_id", pa.string(), "'<model>/<framework>/<technique name>', stable across runs."),
    ("suite", pa.string(), "Suite name."),
    ("model", pa.string(), "Zoo model name."),
    ("framework", pa.string(), "onnxrt | torch."),
    ("technique", pa.string(), "Technique name from the suite (e.g. int8_minmax, tuned_mse)."),
    (
        "technique_kind",
        pa.string(),
        "Registered technique kind (fp32, fp32_optimized, int8_minmax, dynamic, tuned, ...).",
    ),
    ("strategy", pa.string(), "Tuning strategy for kind 'tuned', else null."),
    ("status", pa.string(), "ok | failed (exception, see error) | timeout (killed at the limit) | crashed (died)."),
    ("error", pa.string(), "Why the job did not finish ok (exception text, signal, exit code + stderr tail)."),
    ("accuracy", pa.float64(), "Metric of the measured model on the eval split (subset if eval_samples), fraction."),
    ("fp32_accuracy", pa.float64(), "Same metric of the fp32 model on the same examples."),
    ("relative_loss", pa.float64(), "(fp32_accuracy - accuracy) / fp32_accuracy; positive = worse."),
    ("met_criterion", pa.bool_(), "Tuned jobs: whether the tuner met its accuracy criterion."),
    ("trials", pa.int64(), "Tuning trials evaluated (1 for a fixed plan, null for fp32)."),
    ("tuning_seconds", pa.float64(), "Seconds spent quantizing/tuning."),
    ("train_epochs", pa.int64(), "Training-time techniques (qat, prune, distill): fine-tuning epochs, else null."),
    ("train_seconds", pa.float64(), "Training-time techniques: seconds spent in the training loop."),
    ("sparsity", pa.float64(), "Pruning: zero fraction of the measured model's Conv/Linear weights."),
    ("latency_ms_p50", pa.float64(), "Median latency in ms at batch_size, warmup excluded, over all rounds."),
    ("latency_ms_p90", pa.float64(), "90th percentile latency in ms at batch_size."),
    ("latency_ms_p99", pa.float64(), "99th percentile latency in ms at batch_size."),
    ("throughput", pa.float64(), "Samples/s at throughput_batch (median run)."),
    (
        "throughput_rounds_rel_std",
        pa.float64(),
        "Relative std of throughput across the job's A/B rounds (run-to-run spread).",
    ),
    ("throughput_rounds", pa.int64(), "Rounds behind throughput_rounds_rel_std."),
    ("batch_size", pa.int64(), "Batch size of the latency columns."),
    ("throughput_batch", pa.int64(), "Batch size of the throughput column."),
    ("model_size_bytes", pa.int64(), "Serialized size of the measured model."),
    ("fp32_latency_ms_p50", pa.float64(), "Median batch latency of the fp32 model, measured in the same job (A/B)."),
    ("speedup_vs_fp32", pa.float64(), "fp32 p50 / this p50, from alternating rounds in the same process."),
    ("speedup_vs_fp32_optimized", pa.float64(), "fp32-graph-optimized p50 / this p50 (onnxrt only)."),
    ("fp32_ops", pa.string(), "JSON list of quantizable op names kept fp32 (null: not a quantized model)."),
    (
        "hardware_verdict",
        pa.string(),
        "bf16/fp16 jobs: 'native ...' or 'emulated: no speedup expected (...)' (CPU flags + runtime kernels).",
    ),
    ("seed", pa.int64(), "Seed of the suite (tuning strategies, subsets)."),
    ("pinning", pa.string(), "How the job's process was pinned: numactl | sched_setaffinity | none."),
    ("cpus", pa.string(), "Cpus_allowed_list the worker actually ran on (from /proc/self/status)."),
    ("image_id", pa.string(), "Container image the job ran in (docker executor: sha256 id); null for local runs."),
    ("threads", pa.int64(), "Intra-op threads of the runtime."),
    ("git_sha", pa.string(), "Commit of the source tree ('-dirty' when modified)."),
    ("package_versions", pa.string(), "JSON object package → version."),
    ("cpu_model", pa.string(), "CPU model name."),
    ("cpu_flags", pa.string(), "Relevant ISA flags present (avx2, avx512*, vnni, amx ...)."),
    ("cores_used", pa.int64(), "Number of cores the worker could run on."),
    ("python", pa.string(), "Python version."),
    ("hostname", pa.string(), "Machine name."),
    ("started_at", pa.string(), "UTC ISO-8601 start time of the job."),
    ("wall_seconds", pa.float64(), "Wall time of the whole job (load, compress, evaluate, benchmark)."),
    ("notes", pa.string(), "JSON object of technique-specific extras."),
]

SCHEMA: dict[str, str] = {name: description for name, _, description in _COLUMNS}
ARROW_SCHEMA = pa.schema([pa.field(name, kind) for name, kind, _ in _COLUMNS])
__doc__ += "\n".join(f"- ``{name}``: {description}" for name, _, description in _COLUMNS)


class ResultsSchemaError(ValueError):
    """Results written with a schema this code cannot read."""


def row_file_name(run_id: str, job_id: str) -> str:
    return f"{run_id}__{job_id.replace('/', '_')}.parquet"


def normalize_row(row: dict[str, Any]) -> dict[str, Any]:
    """Every schema column present (missing → null), lists/dicts JSON-encoded, unknown keys refused."""
    unknown = sorted(set(row) - set(SCHEMA))
    if unknown:
        raise KeyError(f"row has columns outside the schema: {unknown}")
    out = {name: row.get(name) for name in SCHEMA}
    out["schema_version"] = SCHEMA_VERSION
    for key in ("fp32_ops", "package_versions", "notes"):
        if isinstance(out[key], (list, tuple, dict)):
            out[key] = json.dumps(list(out[key]) if isinstance(out[key], tuple) else out[key], sort_keys=True)
    return out


def write_row(results_dir: str | os.PathLike, row: dict[str, Any]) -> Path:
    """Write one job's row atomically; returns the file."""
    directory = Path(results_dir)
    directory.mkdir(parents=True, exist_ok=True)
    row = normalize_row(row)
    table = pa.Table.from_pylist([row], schema=ARROW_SCHEMA)
    target = directory / row_file_name(row["run_id"], row["job_id"])
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=directory)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def result_files(results_dir: str | os.PathLike) -> list[Path]:
    directory = Path(results_dir)
    return sorted(p for p in directory.glob("*.parquet") if not p.name.startswith(".")) if directory.is_dir() else []


def finished_job_ids(results_dir: str | os.PathLike) -> set[str]:
    """Job ids that already have a row (any status) in ``results_dir``."""
    if not result_files(results_dir):
        return set()
    return set(load_results(results_dir)["job_id"])


def load_results(path: str | os.PathLike):
    """All rows of a results directory (or one file) as a DataFrame; refuses unknown schema versions."""
    path = Path(path)
    files = [path] if path.is_file() else result_files(path)
    if not files:
        raise FileNotFoundError(f"no results in {str(path)!r} (expected *.parquet written by `harness run`)")
    versions = set()
    for file in files:
        metadata = pq.read_schema(file)
        if "schema_version" not in metadata.names:
            raise ResultsSchemaError(f"{file}: no schema_version column; not a harness results file")
        versions.update(pq.read_table(file, columns=["schema_version"]).column(0).to_pylist())
    unknown = sorted(v for v in versions if v != SCHEMA_VERSION)
    if unknown:
        raise ResultsSchemaError(
            f"{str(path)!r} holds results with schema_version {unknown}; this harness reads version "
            f"{SCHEMA_VERSION}. Use the harness version that wrote them, or re-run the suite."
        )
    tables = [pq.read_table(file, schema=ARROW_SCHEMA) for file in files]
    return pa.concat_tables(tables).to_pandas()

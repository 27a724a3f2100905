"""The results store and the one definition of a result row; the only module that reads or writes them.

One parquet dataset per results directory, one file per finished job. Each job's row is written as soon
as the job ends, atomically (temporary file + rename), as ``<run_id>__<job id with / → _>.parquet``; an
interrupted run therefore leaves every finished row readable. Running a suite again into the same
directory adds rows (repeats); ``--resume`` skips job ids that already have one.

Executors build rows with ``ResultRow`` (every column typed, unknown names refused) and
``failure_row(job, status, reason, ...)``; ``load_results`` refuses files of another
``schema_version`` or with other columns, naming both versions (or the columns) and what to do. The
reports and the regression gate read results only through ``load_results`` / ``results_frame``.

Schema (``SCHEMA_VERSION`` = 2; ``SCHEMA`` maps each column to its description, ``ARROW_SCHEMA`` to
its type). Missing values are nulls: a failed job keeps its identity, status, error and environment.

"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from compressor.errors import did_you_mean_hint

from .errors import ResultsError, ResultsSchemaError

if TYPE_CHECKING:
    import pandas as pd

    from .matrix import Job

WORK_DIR = "_work"  # <results>/_work/<job content key>/: each job's tuning workspace, kept for reproduce
SCHEMA_VERSION = 2  # 2: eval_examples, eval_digest, workspace, job_index
STATUSES = ("ok", "failed", "timeout", "crashed")

_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("schema_version", pa.int32(), "Version of this schema; readers refuse versions they do not know."),
    ("run_id", pa.string(), "One `harness run` invocation: '<suite>-<UTC time>-<random>'."),
    ("job_id", pa.string(), "'<model>/<framework>/<technique name>', stable across runs."),
    ("suite", pa.string(), "Suite name."),
    ("job_index", pa.int64(), "Position of the job in its suite's job matrix (0-based): reports list rows in it."),
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
    ("eval_examples", pa.int64(), "Number of eval examples behind accuracy and fp32_accuracy."),
    (
        "eval_digest",
        pa.string(),
        "sha256 (16 hex) of the eval inputs and labels: rows are comparable only on the same digest.",
    ),
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
    (
        "speedup_vs_fp32_optimized",
        pa.float64(),
        "fp32-graph-optimized p50 / this p50 (onnxrt: ORT graph optimizations; tensorflow: float TFLite).",
    ),
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
    (
        "workspace",
        pa.string(),
        "Tuned jobs: the job's tuning workspace (history, calibration, job.json) relative to the results "
        "directory; `harness reproduce` rebuilds the row's model from it.",
    ),
]


SCHEMA: dict[str, str] = {name: description for name, _, description in _COLUMNS}
ARROW_SCHEMA = pa.schema([pa.field(name, kind) for name, kind, _ in _COLUMNS])
# Measurements that repeated rows of a job are folded over (median) by the reports and the gate.
MEASURED_COLUMNS = (
    "accuracy", "fp32_accuracy", "relative_loss", "trials", "tuning_seconds", "latency_ms_p50",
    "latency_ms_p90", "latency_ms_p99", "throughput", "model_size_bytes", "speedup_vs_fp32",
    "speedup_vs_fp32_optimized", "wall_seconds",
)  # fmt: skip
JSON_COLUMNS = ("fp32_ops", "package_versions", "notes")
__doc__ += "\n".join(f"- ``{name}``: {description}" for name, _, description in _COLUMNS)

_PY_TYPES = {pa.int32(): int, pa.int64(): int, pa.float64(): float, pa.bool_(): bool, pa.string(): str}


def _row_class() -> type:
    fields = [(name, _PY_TYPES[kind] | None, dataclasses.field(default=None)) for name, kind, _ in _COLUMNS]
    cls = dataclasses.make_dataclass("ResultRow", fields, namespace={"__module__": __name__})
    cls.__doc__ = "One result row: a field per ``SCHEMA`` column (None = missing value)."
    return cls


ResultRow = _row_class()


def make_row(**columns: Any) -> ResultRow:  # type: ignore[valid-type]
    """A ``ResultRow`` from column values; a name outside the schema is refused with the closest column."""
    return row_from_dict(columns)


def row_from_dict(columns: dict[str, Any]) -> ResultRow:  # type: ignore[valid-type]
    unknown = sorted(set(columns) - set(SCHEMA))
    if unknown:
        hints = [repr(name) + did_you_mean_hint(name, SCHEMA) for name in unknown]
        raise KeyError(f"row has columns outside the schema: {', '.join(hints)}")
    row = ResultRow(**columns)
    row.schema_version = SCHEMA_VERSION
    return row


def row_dict(row: ResultRow | dict[str, Any]) -> dict[str, Any]:  # type: ignore[valid-type]
    """Every schema column present (missing → null), lists/dicts JSON-encoded, schema version set."""
    out = dataclasses.asdict(row_from_dict(row) if isinstance(row, dict) else row)
    out["schema_version"] = SCHEMA_VERSION
    for key in JSON_COLUMNS:
        if isinstance(out[key], (list, tuple, dict)):
            out[key] = json.dumps(list(out[key]) if isinstance(out[key], tuple) else out[key], sort_keys=True)
    return out


def identity_columns(job: Job) -> dict[str, Any]:
    """The columns that say which job a row belongs to (written by every executor, ok or not)."""
    spec = job.technique
    return {
        "job_id": job.job_id, "suite": job.suite, "model": job.model, "framework": job.framework,
        "technique": spec["name"], "technique_kind": spec["kind"], "strategy": spec.get("strategy"),
        "seed": job.seed, "threads": job.settings.get("threads"), "job_index": job.index,
    }  # fmt: skip


def failure_row(
    job: Job, status: str, reason: str, *, started_at: str, wall_seconds: float, cpus: tuple[int, ...], **extra: Any
) -> ResultRow:  # type: ignore[valid-type]
    """The row of a job that produced none itself (crash, timeout, image missing, ...): who, where, why."""
    from .environment import environment_columns

    if status not in STATUSES or status == "ok":
        raise ValueError(f"failure_row: status {status!r} is not a failure; allowed: {', '.join(STATUSES[1:])}")
    columns = {**identity_columns(job), **environment_columns(), "started_at": started_at, "cores_used": len(cpus)}
    columns.update(status=status, error=reason, wall_seconds=wall_seconds, cpus=",".join(map(str, cpus)), **extra)
    return row_from_dict(columns)


def row_file_name(run_id: str, job_id: str) -> str:
    return f"{run_id}__{job_id.replace('/', '_')}.parquet"


def write_row(results_dir: str | os.PathLike, row: ResultRow | dict[str, Any]) -> Path:  # type: ignore[valid-type]
    """Write one job's row atomically; returns the file."""
    directory = Path(results_dir)
    directory.mkdir(parents=True, exist_ok=True)
    columns = row_dict(row)
    table = pa.Table.from_pylist([columns], schema=ARROW_SCHEMA)
    target = directory / row_file_name(columns["run_id"], columns["job_id"])
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=directory)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def write_frame(results_dir: str | os.PathLike, frame: pd.DataFrame, name: str = "part-0") -> Path:
    """Write the rows of ``frame`` (each checked like a ``ResultRow``; missing columns null) as one file."""
    rows = [row_dict({k: (None if is_missing(v) else v) for k, v in rec.items()}) for rec in frame.to_dict("records")]
    directory = Path(results_dir)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=ARROW_SCHEMA), target)
    return target


def is_missing(value: Any) -> bool:
    """None, NaN, pd.NA or NaT: a missing cell. Lists and arrays are values, never missing."""
    import pandas as pd

    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists/arrays are not missing
        return False


def result_files(results_dir: str | os.PathLike) -> list[Path]:
    directory = Path(results_dir)
    return sorted(p for p in directory.glob("*.parquet") if not p.name.startswith(".")) if directory.is_dir() else []


def latest_statuses(results_dir: str | os.PathLike) -> dict[str, str]:
    """job id → status of its latest row (by start time, then run id) in ``results_dir``; {} when empty."""
    if not result_files(results_dir):
        return {}
    rows = load_results(results_dir).sort_values(["started_at", "run_id"], na_position="first", kind="stable")
    return dict(zip(rows["job_id"], rows["status"], strict=True))


def finished_job_ids(results_dir: str | os.PathLike, *, keep_failed: bool = False) -> set[str]:
    """Job ids whose latest row in ``results_dir`` is ok (any status with ``keep_failed``): what a resume skips."""
    return {job for job, status in latest_statuses(results_dir).items() if keep_failed or status == "ok"}


def load_results(path: str | os.PathLike) -> pd.DataFrame:
    """All rows of a results directory (or one file) as a DataFrame with every schema column.

    Refuses (``ResultsSchemaError``) a file of another ``schema_version``, naming both versions, and a
    file whose columns are not this version's (renamed, missing or extra), naming them.
    """
    path = Path(path)
    if not path.exists():
        raise ResultsError(
            f"results not found: {str(path)!r} (expected a directory or a parquet file of `harness run`)"
        )
    files = [path] if path.is_file() else result_files(path)
    if not files:
        raise ResultsError(f"no results in {str(path)!r} (expected *.parquet written by `harness run`)")
    return pa.concat_tables([_read_file(file) for file in files]).to_pandas()


def _read_file(file: Path) -> pa.Table:
    try:
        _check_file(file)
        return pq.read_table(file, schema=ARROW_SCHEMA)
    except ResultsError:
        raise
    except Exception as exc:  # pyarrow raises several unrelated types for unreadable input
        raise ResultsError(
            f"cannot read results file {str(file)!r}: {exc}. `harness run` writes each row atomically, so this "
            "file was damaged afterwards (or is not a harness result): move it out of the directory and rerun "
            "with --resume to measure its job again"
        ) from None


def _check_file(file: Path) -> None:
    names = pq.read_schema(file).names
    if "schema_version" not in names:
        raise ResultsSchemaError(f"{file}: no schema_version column; not a harness results file")
    versions = sorted(set(pq.read_table(file, columns=["schema_version"]).column(0).to_pylist()))
    if versions != [SCHEMA_VERSION]:
        raise ResultsSchemaError(
            f"{str(file)!r} holds results of schema_version {', '.join(map(str, versions))}; this harness reads "
            f"schema_version {SCHEMA_VERSION}. Use the harness version that wrote them, or re-run the suite."
        )
    missing, extra = sorted(set(SCHEMA) - set(names)), sorted(set(names) - set(SCHEMA))
    if missing or extra:
        raise ResultsSchemaError(
            f"{str(file)!r} says schema_version {SCHEMA_VERSION} but its columns differ: missing {missing}, "
            f"unknown {extra}; it was not written by this harness's `harness run`"
        )


def results_frame(source: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """Rows as a DataFrame with every schema column: read from a path (checked), or a frame completed.

    A frame must at least say which job each row is and how it ended (``job_id``, ``model``, ``technique``,
    ``status``); columns it lacks read as missing values, columns outside the schema are refused.
    """
    import pandas as pd

    if not isinstance(source, pd.DataFrame):
        return load_results(source)
    frame = source.copy()
    missing = [c for c in ("job_id", "model", "technique", "status") if c not in frame.columns]
    if missing:
        raise ResultsError(f"results lack required columns {missing}; found {sorted(map(str, frame.columns))}")
    unknown = sorted(set(map(str, frame.columns)) - set(SCHEMA))
    if unknown:
        raise ResultsSchemaError(f"results have columns outside schema_version {SCHEMA_VERSION}: {unknown}")
    for column in SCHEMA:
        if column not in frame.columns:
            frame[column] = None
    for column in MEASURED_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame

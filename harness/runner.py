"""One job, inside its own (pinned) worker process: prepare → compress → validate → bench → collect.

    python -m harness.executors.worker JOB.json ROW.json

runs ``worker_main``, which writes the job's measurement columns (see ``harness.results.SCHEMA``) to ROW.json, with status
``failed`` and the exception when the job raises. A crash or a kill leaves no ROW.json; the executor
then records the job as crashed or timed out.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from compressor.timing import percentile, time_calls

from .environment import allowed_cpus, environment_columns
from .matrix import Job
from .results import WORK_DIR, identity_columns
from .spec import BenchSettings, TechniqueSpec
from .techniques import Compressed, get_technique
from .techniques.runtimes import runtime

log = logging.getLogger(__name__)
EVAL_BATCH = 256
CALIB_BATCH = 32


@dataclass
class JobContext:
    """What a technique sees of its job (built by ``prepare``)."""

    entry: Any
    framework: str
    technique: TechniqueSpec
    settings: BenchSettings
    seed: int
    fp32_model: Any
    runtime: Any  # harness.techniques.runtimes: loads and runs the framework's models
    calibration: list[tuple[np.ndarray, ...]]  # static calibration batches (inputs only)
    calib_loader: list[tuple[tuple[np.ndarray, ...], np.ndarray]]  # the same as (inputs, labels)
    eval_fn: Any  # model -> accuracy on the job's eval examples
    eval_inputs: Any  # the eval examples' inputs (latency and throughput batches are taken from them)
    fp32_predict: Any  # the fp32 model's predictor (one session, shared by evaluation and timing)
    fp32_accuracy: float  # measured before any technique touches the model
    eval_set: dict[str, Any]  # eval_examples and eval_digest: which examples accuracy was measured on
    workspace: Path

    @property
    def backend_options(self) -> dict[str, Any]:
        """compressor's ``backend_options`` for this job (the runtime's thread count, any framework)."""
        return {"threads": self.settings.threads}


def _as_tuple(entry: Any, x: Any) -> tuple[np.ndarray, ...]:
    if isinstance(x, dict):
        return tuple(x[spec.name] for spec in entry.input_signature)
    return (x,)


def measure(
    predictors: dict[str, Any], batch: Any, settings: BenchSettings, iterations: int, *, rewarm: int | None = None
) -> dict[str, list[float]]:
    """Alternating A/B rounds: each round times every predictor in turn (rotating the order), so slow
    drifts of a shared machine hit all of them alike. Returns ms per run, warmup excluded.

    The first round warms each predictor up with ``settings.warmup`` calls (at least one); later rounds with
    ``rewarm`` calls (default: ``settings.warmup`` again)."""
    names = list(predictors)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(settings.rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            later = settings.warmup if rewarm is None else rewarm
            warmup = later if round_index else max(settings.warmup, 1)
            samples[name].extend(time_calls(predictors[name], batch, warmup=warmup, iterations=iterations))
    return samples


def data_digest(x: Any, y: np.ndarray) -> str:
    """sha256 (16 hex) of the examples' inputs (every array, by name) and labels."""
    import hashlib

    digest = hashlib.sha256()
    arrays = sorted(x.items()) if isinstance(x, dict) else [("x", x)]
    for name, array in [*arrays, ("y", y)]:
        array = np.ascontiguousarray(array)
        digest.update(f"{name}:{array.dtype}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def prepare(job: Job, workspace: Path) -> JobContext:
    """Load the job's fp32 model and data; build its calibration batches and its evaluation function."""
    import models
    from models.evaluation import evaluate, spread, take

    settings, spec = job.bench_settings(), job.technique_spec()
    entry = models.get(job.model)
    rt = runtime(job.framework, settings.threads)
    fp32_model = rt.load_fp32(entry)
    x_eval, y_eval = entry.load_data("eval")
    if settings.eval_samples is not None and settings.eval_samples < len(y_eval):
        picked = spread(len(y_eval), settings.eval_samples)  # a split may be sorted by label: never a prefix
        x_eval, y_eval = take(x_eval, picked), y_eval[picked]
    x_cal, y_cal = entry.load_data("calib")
    n_cal = min(settings.calib_samples, len(y_cal))
    # Equal-sized batches: ORT's histogram calibrators (entropy, percentile) fail on a short last batch.
    n_cal = max(CALIB_BATCH, n_cal - n_cal % CALIB_BATCH) if n_cal >= CALIB_BATCH else n_cal
    calib_loader = [
        (_as_tuple(entry, take(x_cal, slice(s, min(s + CALIB_BATCH, n_cal)))), y_cal[s : min(s + CALIB_BATCH, n_cal)])
        for s in range(0, n_cal, CALIB_BATCH)
    ]
    fp32_predict = rt.predictor(fp32_model)
    eval_set = {"eval_examples": int(len(y_eval)), "eval_digest": data_digest(x_eval, y_eval)}

    def eval_fn(model: Any, subset: float | None = None) -> float:
        """Accuracy on the eval set; ``subset`` (compressor's trial screening): on that fraction of it,
        evenly spread."""
        predict = fp32_predict if model is fp32_model else rt.predictor(model)
        return evaluate(
            predict, x_eval, y_eval, entry.metric, batch_size=EVAL_BATCH, reference_fn=fp32_predict, subset=subset
        )

    return JobContext(
        entry, job.framework, spec, settings, job.seed, fp32_model, rt, [inputs for inputs, _ in calib_loader],
        calib_loader, eval_fn, x_eval, fp32_predict, eval_fn(fp32_model), eval_set, workspace,
    )  # fmt: skip


def compress(ctx: JobContext) -> Compressed:
    """The technique turns the fp32 model into the model that is measured."""
    return get_technique(ctx.technique.kind).apply(ctx)


def validate(ctx: JobContext, compressed: Compressed) -> dict[str, Any]:
    """Accuracy of the measured model and of fp32 on the same examples."""
    fp32_accuracy = ctx.fp32_accuracy
    if compressed.accuracy is not None:
        accuracy = compressed.accuracy
    elif compressed.model is ctx.fp32_model:  # the fp32 row: the same model on the same examples
        accuracy = fp32_accuracy
    else:
        accuracy = ctx.eval_fn(compressed.model)
    return {
        "accuracy": float(accuracy),
        "fp32_accuracy": float(fp32_accuracy),
        "relative_loss": (fp32_accuracy - accuracy) / fp32_accuracy if fp32_accuracy else None,
        "met_criterion": compressed.notes.get("met_criterion"),
        **ctx.eval_set,
    }


def bench(ctx: JobContext, compressed: Compressed) -> dict[str, Any]:
    """Latency (A/B rounds against fp32 and, where it exists, fp32 + graph optimization: ONNX Runtime's graph
    optimizations, TensorFlow's float TFLite model) and throughput."""
    import compressor
    from models.evaluation import num_examples, take

    settings, rt = ctx.settings, ctx.runtime
    is_optimized = ctx.technique.kind == "fp32_optimized"
    predictors = {"fp32": ctx.fp32_predict}
    if ctx.framework in get_technique("fp32_optimized").frameworks:  # ONNX Runtime; TensorFlow: float TFLite
        optimized = compressed.model if is_optimized else compressor.optimize_fp32(ctx.fp32_model)
        predictors["fp32_optimized"] = rt.predictor(optimized)
    # A measured model that is one of its baselines is timed once, as that baseline (speedup 1 by definition).
    alias = "fp32" if compressed.model is ctx.fp32_model else "fp32_optimized" if is_optimized else None
    if alias is None:
        predictors = {"model": rt.predictor(compressed.model), **predictors}
    n = num_examples(ctx.eval_inputs)
    latency_batch = take(ctx.eval_inputs, np.arange(settings.batch_size) % n)
    lat = measure(predictors, latency_batch, settings, settings.iterations)
    if alias is not None:
        predictors["model"], lat["model"] = predictors[alias], lat[alias]
    tp_batch = take(ctx.eval_inputs, np.arange(settings.throughput_batch) % n)
    tp_iterations = max(3, settings.iterations // 5)
    # One predictor, already warm after the first round: a large batch needs no second warmup.
    tp = measure({"model": predictors["model"]}, tp_batch, settings, tp_iterations, rewarm=1)
    per_round = [
        settings.throughput_batch / (statistics.median(tp["model"][i : i + tp_iterations]) / 1e3)
        for i in range(0, len(tp["model"]), tp_iterations)
    ]
    p50 = statistics.median(lat["model"])
    return {
        "latency_ms_p50": p50,
        "latency_ms_p90": percentile(lat["model"], 90),
        "latency_ms_p99": percentile(lat["model"], 99),
        "throughput": settings.throughput_batch / (statistics.median(tp["model"]) / 1e3),
        "throughput_rounds_rel_std": (
            statistics.stdev(per_round) / statistics.mean(per_round) if len(per_round) > 1 else None
        ),
        "throughput_rounds": len(per_round),
        "batch_size": settings.batch_size,
        "throughput_batch": settings.throughput_batch,
        "fp32_latency_ms_p50": statistics.median(lat["fp32"]),
        "speedup_vs_fp32": statistics.median(lat["fp32"]) / p50,
        "speedup_vs_fp32_optimized": (
            statistics.median(lat["fp32_optimized"]) / p50 if "fp32_optimized" in lat else None
        ),
    }


def collect(
    ctx: JobContext, compressed: Compressed, accuracy: dict[str, Any], timing: dict[str, Any]
) -> dict[str, Any]:
    """The job's measurement columns: accuracy, timing, and what the technique reports."""
    import compressor

    try:
        size = compressor.model_size_bytes(compressed.model, framework=ctx.framework)
    except Exception as exc:  # a size we cannot compute is a missing value, not a failed job
        log.warning("model size unavailable: %s", exc)
        size = None
    notes = dict(compressed.notes)
    if notes.get("all_fp32"):
        notes["warning"] = "every op fell back to fp32: not a quantized model"
    return {
        **accuracy,
        **timing,
        "trials": compressed.trials,
        "tuning_seconds": compressed.tuning_seconds,
        "train_epochs": compressed.train_epochs,
        "train_seconds": compressed.train_seconds,
        "sparsity": compressed.sparsity,
        "model_size_bytes": size,
        "fp32_ops": json.dumps(compressed.fp32_ops) if compressed.fp32_ops is not None else None,
        "hardware_verdict": notes.get("hardware_note"),
        "notes": json.dumps(notes, sort_keys=True, default=str),
    }


def run_job(job: Job, workspace: Path) -> dict[str, Any]:
    """Measurement columns of ``job``: prepare → compress → validate → bench → collect (raises on failure)."""
    ctx = prepare(job, workspace)
    compressed = compress(ctx)
    return collect(ctx, compressed, validate(ctx, compressed), bench(ctx, compressed))


def worker_main(job_file: str, row_file: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    job = Job.from_json(Path(job_file).read_text())
    started = time.perf_counter()
    row: dict[str, Any] = {
        **identity_columns(job),
        **environment_columns(),
        "cpus": allowed_cpus(),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        if job.work_dir:  # kept with the results: a rerun resumes, `harness reproduce` rebuilds the model
            workspace = Path(job.work_dir)
            workspace.mkdir(parents=True, exist_ok=True)
            (workspace / "job.json").write_text(job.to_json())
            row.update(run_job(job, workspace))
            row["workspace"] = f"{WORK_DIR}/{workspace.name}"
        else:
            with tempfile.TemporaryDirectory(prefix="harness-job-") as scratch:
                row.update(run_job(job, Path(scratch)))
        row["status"] = "ok"
    except Exception as exc:
        log.error("job %s failed:\n%s", job.job_id, traceback.format_exc())
        row["status"] = "failed"
        row["error"] = f"{type(exc).__name__}: {exc}"
    row["wall_seconds"] = time.perf_counter() - started
    tmp = Path(row_file).with_suffix(".tmp")
    tmp.write_text(json.dumps(row, default=str))
    os.replace(tmp, row_file)
    return 0

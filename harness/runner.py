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

from .environment import allowed_cpus, environment_columns
from .matrix import Job
from .spec import BenchSettings, TechniqueSpec
from .techniques import Compressed, get_technique
from .techniques.runtimes import runtime

log = logging.getLogger(__name__)
EVAL_BATCH = 256
CALIB_BATCH = 32


@dataclass
class JobContext:
    """What a technique sees of its job."""

    entry: Any
    framework: str
    technique: TechniqueSpec
    settings: BenchSettings
    seed: int
    fp32_model: Any
    backend: Any  # compressor PTQ backend of the framework
    calibration: list[tuple[np.ndarray, ...]]  # static calibration batches (inputs only)
    calib_loader: list[tuple[tuple[np.ndarray, ...], np.ndarray]]  # the same as (inputs, labels)
    eval_fn: Any  # model -> accuracy on the job's eval examples
    workspace: Path


def _as_tuple(entry: Any, x: Any) -> tuple[np.ndarray, ...]:
    if isinstance(x, dict):
        return tuple(x[spec.name] for spec in entry.input_signature)
    return (x,)


def _percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def measure(predictors: dict[str, Any], batch: Any, settings: BenchSettings, iterations: int) -> dict[str, list[float]]:
    """Alternating A/B rounds: each round times every predictor in turn (rotating the order), so slow
    drifts of a shared machine hit all of them alike. Returns ms per run, warmup excluded."""
    names = list(predictors)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(settings.rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            predict = predictors[name]
            for _ in range(settings.warmup if round_index else max(settings.warmup, 1)):
                predict(batch)
            for _ in range(iterations):
                start = time.perf_counter_ns()
                predict(batch)
                samples[name].append((time.perf_counter_ns() - start) / 1e6)
    return samples


def run_job(job: Job, workspace: Path) -> dict[str, Any]:
    """Measurement columns of ``job`` (raises on failure; the caller records it)."""
    import models
    from compressor.algorithms.ptq.registry import ptq_backend
    from models.evaluation import evaluate, num_examples, take

    settings, spec = job.bench_settings(), job.technique_spec()
    entry = models.get(job.model)
    rt = runtime(job.framework, settings.threads)
    fp32_model = rt.load_fp32(entry)
    option = "intra_op_num_threads" if job.framework == "onnxrt" else "num_threads"
    backend = ptq_backend(rt.backend_name, **{option: settings.threads})

    x_eval, y_eval = entry.load_data("eval")
    if settings.eval_samples is not None and settings.eval_samples < len(y_eval):
        x_eval, y_eval = take(x_eval, slice(0, settings.eval_samples)), y_eval[: settings.eval_samples]
    x_cal, y_cal = entry.load_data("calib")
    n_cal = min(settings.calib_samples, len(y_cal))
    # Equal-sized batches: ORT's histogram calibrators (entropy, percentile) fail on a short last batch.
    n_cal = max(CALIB_BATCH, n_cal - n_cal % CALIB_BATCH) if n_cal >= CALIB_BATCH else n_cal
    calib_loader = [
        (_as_tuple(entry, take(x_cal, slice(s, min(s + CALIB_BATCH, n_cal)))), y_cal[s : min(s + CALIB_BATCH, n_cal)])
        for s in range(0, n_cal, CALIB_BATCH)
    ]
    fp32_predict = rt.predictor(fp32_model)

    def eval_fn(model: Any) -> float:
        predict = fp32_predict if model is fp32_model else rt.predictor(model)
        return evaluate(predict, x_eval, y_eval, entry.metric, batch_size=EVAL_BATCH, reference_fn=fp32_predict)

    fp32_accuracy = eval_fn(fp32_model)
    ctx = JobContext(
        entry, job.framework, spec, settings, job.seed, fp32_model, backend,
        [inputs for inputs, _ in calib_loader], calib_loader, eval_fn, workspace,
    )  # fmt: skip
    compressed: Compressed = get_technique(spec.kind).apply(ctx)
    accuracy = compressed.accuracy if compressed.accuracy is not None else eval_fn(compressed.model)

    predictors = {"model": rt.predictor(compressed.model), "fp32": fp32_predict}
    if job.framework == "onnxrt":
        predictors["fp32_optimized"] = rt.predictor(backend.fp32_optimized(fp32_model))
    n = num_examples(x_eval)
    latency_batch = take(x_eval, np.arange(settings.batch_size) % n)
    lat = measure(predictors, latency_batch, settings, settings.iterations)
    tp_batch = take(x_eval, np.arange(settings.throughput_batch) % n)
    tp_iterations = max(3, settings.iterations // 5)
    tp = measure({"model": predictors["model"]}, tp_batch, settings, tp_iterations)
    per_round = [
        settings.throughput_batch / (statistics.median(tp["model"][i : i + tp_iterations]) / 1e3)
        for i in range(0, len(tp["model"]), tp_iterations)
    ]
    p50 = statistics.median(lat["model"])
    try:
        size = int(backend.size_bytes(compressed.model))
    except Exception as exc:  # a size we cannot compute is a missing value, not a failed job
        log.warning("model size unavailable: %s", exc)
        size = None
    notes = dict(compressed.notes)
    if notes.get("all_fp32"):
        notes["warning"] = "every op fell back to fp32: not a quantized model"
    return {
        "accuracy": float(accuracy),
        "fp32_accuracy": float(fp32_accuracy),
        "relative_loss": (fp32_accuracy - accuracy) / fp32_accuracy if fp32_accuracy else None,
        "met_criterion": notes.get("met_criterion"),
        "trials": compressed.trials,
        "tuning_seconds": compressed.tuning_seconds,
        "train_epochs": compressed.train_epochs,
        "train_seconds": compressed.train_seconds,
        "sparsity": compressed.sparsity,
        "latency_ms_p50": p50,
        "latency_ms_p90": _percentile(lat["model"], 90),
        "latency_ms_p99": _percentile(lat["model"], 99),
        "throughput": settings.throughput_batch / (statistics.median(tp["model"]) / 1e3),
        "throughput_rounds_rel_std": (
            statistics.stdev(per_round) / statistics.mean(per_round) if len(per_round) > 1 else None
        ),
        "throughput_rounds": len(per_round),
        "batch_size": settings.batch_size,
        "throughput_batch": settings.throughput_batch,
        "model_size_bytes": size,
        "fp32_latency_ms_p50": statistics.median(lat["fp32"]),
        "speedup_vs_fp32": statistics.median(lat["fp32"]) / p50,
        "speedup_vs_fp32_optimized": (
            statistics.median(lat["fp32_optimized"]) / p50 if "fp32_optimized" in lat else None
        ),
        "fp32_ops": json.dumps(compressed.fp32_ops) if compressed.fp32_ops is not None else None,
        "hardware_verdict": notes.get("hardware_note"),
        "notes": json.dumps(notes, sort_keys=True, default=str),
    }


def job_identity(job: Job) -> dict[str, Any]:
    spec = job.technique
    return {
        "job_id": job.job_id,
        "suite": job.suite,
        "model": job.model,
        "framework": job.framework,
        "technique": spec["name"],
        "technique_kind": spec["kind"],
        "strategy": spec.get("strategy"),
        "seed": job.seed,
        "threads": job.settings.get("threads"),
    }


def worker_main(job_file: str, row_file: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    job = Job.from_json(Path(job_file).read_text())
    started = time.perf_counter()
    row: dict[str, Any] = {
        **job_identity(job),
        **environment_columns(),
        "cpus": allowed_cpus(),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        with tempfile.TemporaryDirectory(prefix="harness-job-") as workspace:
            row.update(run_job(job, Path(workspace)))
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

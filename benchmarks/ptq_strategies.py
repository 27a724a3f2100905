"""PTQ per backend and strategy on zoo models: fp32 vs tuned int8 latency (batch 1 and 64, one core),
accuracy, trials and tuning wall time.

    python benchmarks/ptq_strategies.py [--models mlp_digits cnn_mnist] [--backends onnxrt torch]
        [--strategies auto basic mse ...] [--minilm] [--out results.md]

Timing on shared cores is noisy: latencies are medians of alternating fp32/int8 rounds.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

STRATEGIES = ("auto", "basic", "conservative", "mse", "mse_v2", "bayesian", "exhaustive", "random", "tpe")


def _inputs(entry: Any, split: str) -> tuple[list[tuple[np.ndarray, ...]], np.ndarray]:
    x, y = entry.load_data(split)
    arrays = tuple(x.values()) if isinstance(x, dict) else (x,)
    return arrays, y


def _batches(arrays: tuple, labels: np.ndarray, size: int, limit: int | None = None) -> list:
    n = len(labels) if limit is None else min(limit, len(labels))
    return [(tuple(a[i : i + size] for a in arrays), labels[i : i + size]) for i in range(0, n, size)]


def _native(entry: Any, backend: str) -> Any:
    prepared = entry.prepare(backend)
    return prepared.model


def _latency_pair(backend_name: str, fp32: Any, int8: Any, batch: tuple, rounds: int = 5) -> tuple[float, float]:
    from compressor.timing import median, time_calls
    from harness.techniques.runtimes import runtime

    rt = runtime(backend_name, threads=1)
    predict_a, predict_b = rt.predictor(fp32), rt.predictor(int8)
    x = batch[0] if len(batch) == 1 else batch
    a, b = [], []
    for _ in range(rounds):  # alternate A/B so machine load hits both alike
        a.append(median(time_calls(predict_a, x, warmup=3, iterations=20)))
        b.append(median(time_calls(predict_b, x, warmup=3, iterations=20)))
    return float(np.median(a)), float(np.median(b))


def run_one(entry: Any, backend_name: str, strategy: str, recipes: dict, max_trials: int) -> dict[str, Any]:
    from compressor import quantization
    from compressor.config import PostTrainingQuantConfig, TuningCriterion

    model = _native(entry, backend_name)
    arrays, labels = _inputs(entry, "calib")
    calib = _batches(arrays, labels, 32, limit=128)
    eval_arrays, eval_labels = _inputs(entry, "eval")
    evaluation = _batches(eval_arrays, eval_labels, 100)
    conf = PostTrainingQuantConfig(
        recipes=recipes, tuning_criterion=TuningCriterion(strategy=strategy, max_trials=max_trials)
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workspace:
        q = quantization.fit(model, conf, calib_dataloader=calib, eval_dataloader=evaluation, workspace=workspace)
    wall = time.perf_counter() - start
    fp32 = model if backend_name == "torch" else __import__("onnx").load(model)
    row = {
        "model": entry.name,
        "backend": backend_name,
        "strategy": strategy,
        "fp32_acc": q.tuning.baseline_accuracy,
        "int8_acc": q.tuning.accuracy,
        "met": q.met_criterion,
        "trials": len(q.tuning.trials),
        "fallback": len(q.plan.fallback_ops),
        "ops": len(q.plan.ops),
        "tuning_s": wall,
    }
    for size in (1, 64):
        batch = tuple(a[:size] for a in eval_arrays)
        row[f"fp32_ms_b{size}"], row[f"int8_ms_b{size}"] = _latency_pair(backend_name, fp32, q.model, batch)
    return row


def render(rows: list[dict[str, Any]]) -> str:
    head = (
        "| model | backend | strategy | fp32 acc | int8 acc | met | trials | fp32 ops | tuning s "
        "| b1 fp32/int8 ms | b1 speedup | b64 fp32/int8 ms | b64 speedup |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['backend']} | {r['strategy']} | {r['fp32_acc']:.4f} | {r['int8_acc']:.4f} "
            f"| {'yes' if r['met'] else 'NO'} | {r['trials']} | {r['fallback']}/{r['ops']} | {r['tuning_s']:.1f} "
            f"| {r['fp32_ms_b1']:.3f}/{r['int8_ms_b1']:.3f} | {r['fp32_ms_b1'] / r['int8_ms_b1']:.2f}x "
            f"| {r['fp32_ms_b64']:.3f}/{r['int8_ms_b64']:.3f} | {r['fp32_ms_b64'] / r['int8_ms_b64']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp_digits", "cnn_mnist"])
    parser.add_argument("--backends", nargs="+", default=["onnxrt", "torch"], choices=["onnxrt", "torch"])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--max-trials", type=int, default=15)
    parser.add_argument("--minilm", action="store_true", help="also tune minilm_wordnet (ONNX, SmoothQuant on)")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    jobs = [(m, b, s, {}) for m in args.models for b in args.backends for s in args.strategies]
    if args.minilm:
        jobs.append(("minilm_wordnet", "onnxrt", "auto", {"smooth_quant": True}))
    rows = []
    for name, backend, strategy, recipes in jobs:
        row = run_one(models.get(name), backend, strategy, recipes, args.max_trials)
        rows.append(row)
        print(render([row]).splitlines()[-1], flush=True)
    table = render(rows)
    print()
    print(table)
    if args.out:
        args.out.write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

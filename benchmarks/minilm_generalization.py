"""MiniLM-L6 classifiers on the zoo task and on held-out WordNet tasks: compressor's tuned static int8 next
to dynamic int8 and (optionally) NNCF's one-shot transformer preset, in one run, on the same data.

    python benchmarks/minilm_generalization.py [--tasks zoo nouns10b verbs10] [--strategy auto]
        [--max-trials 15] [--nncf-python /path/to/venv/bin/python] [--out DIR]

Held-out tasks (models/wordnet.py HELD_OUT): 10 other noun supersenses, and 10 verb supersenses, with their
own splits; a linear head is trained on the frozen pretrained encoder exactly as the zoo's is, but these
models are not zoo entries and no tuning default was developed on them. Per task: fp32, then
``quantization.fit`` (ONNX Runtime, 1 % relative, ``max_trials``, ``timeout=0``, the eval function takes
``subset=`` so trials are screened on a quarter of the eval set; the reported accuracy is the full set),
dynamic int8, and NNCF (``nncf.quantize(model, calibration, model_type=TRANSFORMER)``, run by
``--nncf-python``, an interpreter with nncf installed, so its dependencies stay out of this environment).
Calibration: the same 128 examples for every method. Latency: batch 20, sequence 32, one thread, every
model timed in alternating rounds (A/B), speedup = fp32 median / model median.

Writes DIR/minilm_generalization.md (default results/minilm-generalization) and prints it.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np

TASKS = {"zoo": None, "nouns10b": "wordnet-nouns10b", "verbs10": "wordnet-verbs10"}
CALIB_EXAMPLES = 128
LATENCY_BATCH = 20

NNCF_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, onnx, nncf
    source, calibration, target = sys.argv[1:4]
    data = np.load(calibration)
    items = [{"input_ids": data["input_ids"][i:i + 32], "attention_mask": data["attention_mask"][i:i + 32]}
             for i in range(0, len(data["input_ids"]), 32)]
    model = onnx.load(source)
    quantized = nncf.quantize(model, nncf.Dataset(items), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(data["input_ids"]))
    onnx.save(quantized, target)
    """
)


def entry_for(task: str) -> Any:
    import models
    from models.entry import ModelEntry

    base = models.get("minilm_wordnet")
    dataset = TASKS[task]
    if dataset is None:
        return base
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    fields.update(
        name=f"minilm_{task}",
        description=f"held-out: the zoo's MiniLM encoder + a head trained on {dataset}",
        dataset=dataset,
        recipe={**base.recipe, "train_size": None},
        expected_accuracy=0.5,
        tolerance=0.5,
        tags=("held-out",),
    )
    return ModelEntry(**fields)


def run_task(task: str, args: argparse.Namespace) -> dict[str, Any]:
    import onnx

    from compressor import quantization
    from compressor.config import AccuracyCriterion, PostTrainingQuantConfig, TuningCriterion
    from harness.runner import measure
    from harness.spec import BenchSettings
    from harness.techniques.runtimes import runtime
    from models.evaluation import evaluate, take

    entry = entry_for(task)
    path = entry.prepare(framework="onnxrt").model
    fp32 = onnx.load(str(path))
    x_eval, y_eval = entry.load_data("eval")
    x_cal, _ = entry.load_data("calib")
    calib = [
        tuple(take(x_cal, slice(i, i + 32))[spec.name] for spec in entry.input_signature)
        for i in range(0, CALIB_EXAMPLES, 32)
    ]
    rt = runtime("onnxrt", threads=1)
    fp32_predict = rt.predictor(fp32)

    def eval_func(model: Any, subset: float | None = None) -> float:
        predict = fp32_predict if model is fp32 else rt.predictor(model)
        return evaluate(predict, x_eval, y_eval, entry.metric, subset=subset)

    started = time.perf_counter()
    fp32_accuracy = eval_func(fp32)
    full_eval_s = time.perf_counter() - started
    row: dict[str, Any] = {"task": task, "examples": len(y_eval), "fp32": fp32_accuracy, "full_eval_s": full_eval_s}
    models_by_name: dict[str, Any] = {"fp32": fp32}

    conf = PostTrainingQuantConfig(
        calibration_sampling_size=(CALIB_EXAMPLES,),
        recipes={"smooth_quant": args.smooth_quant} if args.smooth_quant is not None else {},
        tuning_criterion=TuningCriterion(strategy=args.strategy, max_trials=args.max_trials, timeout=0),
        accuracy_criterion=AccuracyCriterion(tolerable_loss=0.01),
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="minilm-gen-") as workspace:
        q = quantization.fit(
            fp32, conf, calib_dataloader=calib, eval_func=eval_func, workspace=workspace, backend_options={"threads": 1}
        )
    result = q.tuning
    row.update(
        ours=result.accuracy,
        ours_met=bool(result.met_criterion and not result.all_fp32),
        ours_trials=len(result.trials),
        ours_screened=result.screened_trials,
        ours_seconds=time.perf_counter() - started,
        ours_fp32_ops=len(result.fallback_ops),
        ours_dynamic_ops=len(result.best_plan.dynamic_ops) if result.best_plan is not None else 0,
        ours_ops=len(result.best_plan.ops) if result.best_plan is not None else 0,
        # what the same trials would have cost with every evaluation on the full set
        ours_full_eval_seconds=time.perf_counter() - started + result.screened_trials * 0.75 * full_eval_s,
    )
    models_by_name["ours"] = q.model

    dynamic = quantization.fit(
        fp32,
        PostTrainingQuantConfig(approach="dynamic", performance_only=True),
        calib_dataloader=calib,
        backend_options={"threads": 1},
        workspace=tempfile.mkdtemp(prefix="minilm-gen-dyn-"),
    )
    row["dynamic"] = eval_func(dynamic.model)
    models_by_name["dynamic"] = dynamic.model

    if args.nncf_python:
        with tempfile.TemporaryDirectory(prefix="minilm-nncf-") as tmp:
            data = Path(tmp) / "calibration.npz"
            np.savez(
                data, **{spec.name: take(x_cal, slice(0, CALIB_EXAMPLES))[spec.name] for spec in entry.input_signature}
            )
            target = Path(tmp) / "nncf.onnx"
            started = time.perf_counter()
            subprocess.run(
                [args.nncf_python, "-c", NNCF_SCRIPT, str(path), str(data), str(target)], check=True, timeout=1800
            )
            row["nncf_seconds"] = time.perf_counter() - started
            models_by_name["nncf"] = onnx.load(str(target))
        row["nncf"] = eval_func(models_by_name["nncf"])

    settings = BenchSettings(warmup=2, iterations=10, rounds=5, threads=1)
    batch = take(x_eval, np.arange(LATENCY_BATCH))
    latency = measure({name: rt.predictor(m) for name, m in models_by_name.items()}, batch, settings, 10)
    medians = {name: statistics.median(samples) for name, samples in latency.items()}
    for name in models_by_name:
        row[f"{name}_ms"] = medians[name]
        row[f"{name}_speedup"] = medians["fp32"] / medians[name]
    return row


def render(rows: list[dict[str, Any]]) -> str:
    def loss(row, key):
        return f"{100 * (row['fp32'] - row[key]) / row['fp32']:.2f}%"

    lines = [
        "| task | eval examples | fp32 | ours: accuracy (loss) | met 1 % | trials (screened) | tuning s (all full-set) "
        "| ops fp32 / dynamic int8 / all | speedup | dynamic: accuracy (loss) | speedup | NNCF: accuracy (loss) | speedup |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        nncf = f"{r['nncf']:.4f} ({loss(r, 'nncf')}) | {r['nncf_speedup']:.2f}x" if "nncf" in r else "not run | -"
        lines.append(
            f"| {r['task']} | {r['examples']} | {r['fp32']:.4f} | {r['ours']:.4f} ({loss(r, 'ours')}) "
            f"| {'yes' if r['ours_met'] else 'NO'} | {r['ours_trials']} ({r['ours_screened']}) "
            f"| {r['ours_seconds']:.0f} ({r['ours_full_eval_seconds']:.0f}) "
            f"| {r['ours_fp32_ops']} / {r.get('ours_dynamic_ops', 0)} / {r['ours_ops']} "
            f"| {r['ours_speedup']:.2f}x | {r['dynamic']:.4f} ({loss(r, 'dynamic')}) | {r['dynamic_speedup']:.2f}x "
            f"| {nncf} |"
        )
    if rows:
        lines.append("")
        lines.append(
            f"Median over {len(rows)} task(s): ours {statistics.median(r['ours_speedup'] for r in rows):.2f}x in "
            f"{statistics.median(r['ours_trials'] for r in rows):g} trials, met on "
            f"{sum(r['ours_met'] for r in rows)}/{len(rows)}"
            + (
                f"; NNCF {statistics.median(r['nncf_speedup'] for r in rows if 'nncf' in r):.2f}x"
                if any("nncf" in r for r in rows)
                else ""
            )
            + "."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--strategy", default="auto")
    parser.add_argument("--max-trials", type=int, default=15)
    parser.add_argument(
        "--smooth-quant",
        type=lambda v: {"on": True, "off": False}[v],
        default=None,
        help="on/off: set recipes={'smooth_quant': ...} (default: unset, the tuner decides)",
    )
    parser.add_argument("--nncf-python", help="a Python interpreter with nncf, onnx and onnxruntime installed")
    parser.add_argument("--out", type=Path, default=Path("results/minilm-generalization"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rows = []
    for task in args.tasks:
        rows.append(run_task(task, args))
        print(render(rows[-1:]).splitlines()[2], flush=True)  # the task's table row
    table = render(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "minilm_generalization.md").write_text(table)
    print()
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Every tuning strategy on a held-out battery of fragile models: does it meet 1 % relative with int8 ops kept,
within ``max_trials=50``, on ONNX Runtime and PyTorch?

    python benchmarks/fragile_battery.py [--frameworks onnxrt torch] [--strategies auto basic ...]
        [--variants NAME ...] [--max-trials 50] [--out DIR]

The battery is NOT the zoo's hard tier (models/catalog.py) and not the tuning unit tests' models: ten
variants of the zoo's trained cnn_mnist and mlp_digits, built here with models/outliers.py's seeded,
fp32-exact culprits at other layers, ratios, seeds and combinations (single culprit, several culprits, a
weight outlier only per-channel weights fix, spikes only a calibration method fixes, a weight outlier and an
activation outlier together), and an MLP trained here whose outlier activation feeds two consumers. The tuner's defaults are judged on models nobody tuned them on. Each run:
``quantization.fit`` with the strategy, ``max_trials``, ``timeout=0`` (stop at the first passing plan), the
full eval split (the eval function takes ``subset=``, so trials are screened on a quarter of it first) and
the first 128 calibration examples (what the variants' probe sizes their culprits on).

Prints, then writes to DIR (default results/fragile-battery): runs.csv (one row per run: naive int8 loss,
met, int8 ops kept, trials, screened trials, tuning seconds, speedup of the result) and summary.md (per
strategy and framework: success rate, median trials, median tuning seconds, median speedup).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import logging
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

STRATEGIES = ("auto", "basic", "conservative", "mse", "mse_v2", "bayesian", "exhaustive", "random", "tpe")
CALIB_EXAMPLES = 128  # the culprits' probe: the spikes sit in these examples

# (name, parent, seed, culprits). cnn_mnist: 0 conv1, 3 conv2, 7 fc1, 9 classifier; mlp_digits: 0, 2, 4 Linear.
BATTERY: tuple[tuple[str, str, int, tuple[dict, ...]], ...] = (
    ("cnn_massive_conv1", "cnn_mnist", 101, ({"kind": "massive_channel", "layer": 0, "ratio": 600.0},)),
    ("cnn_massive_conv2", "cnn_mnist", 102, ({"kind": "massive_channel", "layer": 3, "ratio": 800.0},)),
    (
        "cnn_massive_x3",
        "cnn_mnist",
        103,
        tuple({"kind": "massive_channel", "layer": layer, "ratio": 300.0} for layer in (0, 3, 7)),
    ),
    ("cnn_weight_fc1", "cnn_mnist", 104, ({"kind": "weight_outlier", "layer": 7, "ratio": 500.0},)),
    ("cnn_weight_conv1", "cnn_mnist", 105, ({"kind": "weight_outlier", "layer": 0, "ratio": 300.0},)),
    ("cnn_spikes_conv2", "cnn_mnist", 106, ({"kind": "spike_channel", "layer": 3, "ratio": 800.0, "spikes": 3},)),
    (
        "cnn_weight_and_massive",
        "cnn_mnist",
        107,
        (
            {"kind": "weight_outlier", "layer": 3, "ratio": 200.0},
            {"kind": "massive_channel", "layer": 7, "ratio": 500.0},
        ),
    ),
    ("mlp_massive_fc1", "mlp_digits", 108, ({"kind": "massive_channel", "layer": 0, "ratio": 500.0},)),
    ("mlp_weight_fc2", "mlp_digits", 109, ({"kind": "weight_outlier", "layer": 2, "ratio": 400.0},)),
    ("mlp_spikes_fc1", "mlp_digits", 110, ({"kind": "spike_channel", "layer": 0, "ratio": 1000.0, "spikes": 2},)),
)


def variant(name: str, parent_name: str, seed: int, culprits: tuple[dict, ...]) -> Any:
    """An unregistered zoo entry: the parent's trained weights with ``culprits`` (cached like any entry)."""
    import models
    from models.entry import ModelEntry

    parent = models.get(parent_name)
    fields = {f.name: getattr(parent, f.name) for f in dataclasses.fields(parent)}
    fields.update(
        name=f"battery_{name}",
        description=f"held-out fragile variant of {parent_name}: {list(culprits)}",
        recipe={"seed": seed, "probe_examples": CALIB_EXAMPLES, "culprits": culprits},
        builders={"torch": "models.outliers:build_torch"},
        tags=("held-out",),
        parent=parent,
    )
    return ModelEntry(**fields)


TWO_CONSUMERS = "mlp_two_consumers"


def two_consumer_model(seed: int = 111, ratio: float = 500.0) -> Any:
    """A digits MLP whose hidden activation ``h`` feeds two Linear layers (``a`` and ``b``, summed before the
    head), trained here, then given a massive constant channel in ``h`` (one new fc1 row: zero weights, a bias
    ``ratio`` times h's largest value; zero columns in ``a`` and ``b``): fp32-exact, but both consumers read a
    tensor whose per-tensor scale leaves the real channels a few int8 levels. Not a zoo model (the zoo's
    culprits live in nn.Sequential models, where no activation has two consumers)."""
    import torch
    from torch import nn

    import models

    class TwoConsumers(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.a, self.b, self.head = (
                nn.Linear(64, 64),
                nn.Linear(64, 48),
                nn.Linear(64, 48),
                nn.Linear(48, 10),
            )

        def forward(self, x):
            h = torch.relu(self.fc1(x))
            return self.head(torch.relu(self.a(h)) + torch.relu(self.b(h)))

    torch.manual_seed(seed)
    x, y = models.get("mlp_digits").load_data("train")
    inputs, labels = torch.from_numpy(x), torch.from_numpy(y)
    model = TwoConsumers()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
    with torch.no_grad():
        top = float(torch.relu(model.fc1(inputs)).max())
        fc1 = nn.Linear(64, 65)
        fc1.weight[:64], fc1.bias[:64] = model.fc1.weight, model.fc1.bias
        fc1.weight[64], fc1.bias[64] = 0.0, ratio * top
        model.fc1 = fc1
        for name in ("a", "b"):
            old = getattr(model, name)
            wider = nn.Linear(65, old.out_features)
            wider.weight[:, :64], wider.weight[:, 64], wider.bias[:] = old.weight, 0.0, old.bias
            setattr(model, name, wider)
    return model.eval()


def _two_consumer_native(framework: str) -> tuple[Any, Any]:
    """(zoo entry whose data and signature it uses, the native fp32 model for ``framework``)."""
    import onnx

    import models

    entry = models.get("mlp_digits")
    module = two_consumer_model()
    if framework == "torch":
        return entry, module
    with tempfile.TemporaryDirectory(prefix="battery-two-") as tmp:
        path = entry.export_onnx(module, Path(tmp) / "two_consumers.onnx")
        return entry, onnx.load(str(path))


def _data(entry: Any) -> tuple[list, Any, Any]:
    from models.evaluation import take

    x_cal, _ = entry.load_data("calib")
    x_eval, y_eval = entry.load_data("eval")
    arrays = tuple(x_cal.values()) if isinstance(x_cal, dict) else (x_cal,)
    calib = [tuple(a[i : i + 32] for a in arrays) for i in range(0, CALIB_EXAMPLES, 32)]
    return calib, (x_eval, y_eval), take


def run_one(
    entry: Any, framework: str, strategy: str, max_trials: int, fp32: Any = None, name: str = ""
) -> dict[str, Any]:
    """One tuning run; ``fp32`` (a native model) replaces the entry's own, ``name`` its name in the row."""
    from compressor import quantization
    from compressor.config import AccuracyCriterion, PostTrainingQuantConfig, TuningCriterion
    from harness.techniques.runtimes import runtime
    from models.evaluation import evaluate

    calib, (x_eval, y_eval), take = _data(entry)
    rt = runtime(framework, threads=1)
    fp32 = rt.load_fp32(entry) if fp32 is None else fp32
    fp32_predict = rt.predictor(fp32)

    def eval_func(model: Any, subset: float | None = None) -> float:
        predict = fp32_predict if model is fp32 else rt.predictor(model)
        return evaluate(predict, x_eval, y_eval, entry.metric, subset=subset)

    conf = PostTrainingQuantConfig(
        calibration_sampling_size=(CALIB_EXAMPLES,),
        tuning_criterion=TuningCriterion(strategy=strategy, max_trials=max_trials, timeout=0),
        accuracy_criterion=AccuracyCriterion(tolerable_loss=0.01),
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="battery-") as workspace:
        q = quantization.fit(
            fp32, conf, calib_dataloader=calib, eval_func=eval_func, workspace=workspace, backend_options={"threads": 1}
        )
    result = q.tuning
    first = result.trials[0] if result.trials else None
    return {
        "variant": name or entry.name.removeprefix("battery_"),
        "framework": framework,
        "strategy": strategy,
        "fp32_accuracy": result.baseline_accuracy,
        "naive_loss": first.loss if first is not None and not first.plan.fallback_ops else math.nan,
        "accuracy": result.accuracy,
        "loss": result.relative_loss,
        "met": bool(result.met_criterion and not result.all_fp32),
        "int8_ops": len(result.best_plan.quantized_ops) if result.best_plan is not None else 0,
        "ops": len(result.best_plan.ops) if result.best_plan is not None else 0,
        "trials": len(result.trials),
        "screened": result.screened_trials,
        "seconds": time.perf_counter() - start,
        "speedup": result.speedup,
    }


def summarize(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| framework | strategy | met 1 % with int8 ops | median trials | median tuning s | median speedup |",
        "|---|---|---:|---:|---:|---:|",
    ]
    keys = sorted({(r["framework"], r["strategy"]) for r in rows}, key=lambda k: (k[0], STRATEGIES.index(k[1])))
    for framework, strategy in keys:
        runs = [r for r in rows if r["framework"] == framework and r["strategy"] == strategy]
        met = [r for r in runs if r["met"]]
        speedups = [r["speedup"] for r in met if math.isfinite(r["speedup"])]
        lines.append(
            f"| {framework} | {strategy} | {len(met)}/{len(runs)} | {statistics.median(r['trials'] for r in runs):g} "
            f"| {statistics.median(r['seconds'] for r in runs):.1f} "
            f"| {(f'{statistics.median(speedups):.2f}x' if speedups else '-')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", default=["onnxrt", "torch"], choices=["onnxrt", "torch"])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    names = [name for name, *_ in BATTERY] + [TWO_CONSUMERS]
    parser.add_argument("--variants", nargs="+", default=names, choices=names)
    parser.add_argument("--max-trials", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("results/fragile-battery"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    runs = [(name, variant(name, parent, seed, culprits), None) for name, parent, seed, culprits in BATTERY]
    runs.append((TWO_CONSUMERS, None, _two_consumer_native))
    for name, entry, native in runs:
        if name not in args.variants:
            continue
        for framework in args.frameworks:
            model = None
            if native is not None:
                entry, model = native(framework)
            for strategy in args.strategies:
                row = run_one(entry, framework, strategy, args.max_trials, fp32=model, name=name)
                rows.append(row)
                print(
                    f"{row['variant']:24} {framework:7} {strategy:12} naive loss {100 * row['naive_loss']:6.1f}% "
                    f"-> {'MET ' if row['met'] else 'miss'} loss {100 * row['loss']:5.2f}% int8 {row['int8_ops']}/"
                    f"{row['ops']} trials {row['trials']:2d} (screened {row['screened']:2d}) "
                    f"{row['seconds']:6.1f} s speedup {row['speedup']:.2f}x",
                    flush=True,
                )
    with (args.out / "runs.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = summarize(rows)
    (args.out / "summary.md").write_text(summary)
    print()
    print(summary)
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

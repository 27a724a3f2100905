"""benchmark.fit overhead against a bare timing loop, and 2-instance scaling, for torch and ONNX Runtime.

    python benchmarks/bench_overhead_scaling.py [--iterations 200] [--rounds 5]

(1) overhead: benchmark.fit throughput / bare-loop throughput on the same model and batches, A/B alternated,
    ratio of medians (target >= 0.98).
(2) scaling: aggregate throughput of 2 instances x 1 core / 1 instance x 1 core (target >= 1.85).
Model: MLP 512-2048-2048-10 at batch 32, big enough that compute dominates. Timing on shared cores is noisy:
only ratios of medians of alternating rounds are meaningful.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from compressor import benchmark
from compressor.config import BenchmarkConfig


def make_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(512, 2048),
        torch.nn.ReLU(),
        torch.nn.Linear(2048, 2048),
        torch.nn.ReLU(),
        torch.nn.Linear(2048, 10),
    ).eval()


def export_onnx(model: torch.nn.Module, folder: Path) -> Path:
    path = folder / "mlp.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (torch.zeros(2, 512),), str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "batch"}}
        )
    return path


def bare_loop(kind: str, model, batches: list[np.ndarray], warmup: int, iterations: int) -> float:
    """The leanest loop we can write by hand: samples per second."""
    if kind == "torch":
        args = [torch.from_numpy(b) for b in batches]
        call = model
        ctx = torch.inference_mode()
    else:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        args = [{"x": b} for b in batches]

        def call(feed):
            return sess.run(None, feed)

        ctx = torch.inference_mode()  # harmless for ORT; keeps both branches alike
    n = len(args)
    with ctx:
        for i in range(warmup):
            call(args[i % n])
        start = time.perf_counter_ns()
        for i in range(iterations):
            call(args[i % n])
        wall = time.perf_counter_ns() - start
    return sum(len(batches[i % n]) for i in range(iterations)) / (wall / 1e9)


def fit_throughput(model, batches, warmup, iterations, **cores) -> float:
    config = BenchmarkConfig(warmup=warmup, iteration=iterations, **cores)
    return benchmark.fit(model, config, b_dataloader=[(b, None) for b in batches]).throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scaling-rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    batches = [rng.random((args.batch, 512), dtype=np.float32) for _ in range(8)]
    torch_model = make_model()
    with tempfile.TemporaryDirectory() as tmp:
        onnx_model = export_onnx(torch_model, Path(tmp))
        for kind, model in (("torch", torch_model), ("onnxrt", onnx_model)):
            fits, bares = [], []
            for _ in range(args.rounds):  # alternate A/B so machine load hits both alike
                fits.append(fit_throughput(model, batches, 5, args.iterations))
                bares.append(bare_loop(kind, model, batches, 5, args.iterations))
            ratio = statistics.median(fits) / statistics.median(bares)
            print(
                f"[{kind}] overhead: fit {statistics.median(fits):.1f} vs bare {statistics.median(bares):.1f} samples/s "
                f"(medians of {args.rounds}); ratio {ratio:.3f} (target >= 0.98) "
                f"rounds fit={[round(x) for x in fits]} bare={[round(x) for x in bares]}"
            )
            ones, twos = [], []
            for _ in range(args.scaling_rounds):
                ones.append(fit_throughput(model, batches, 5, args.iterations, cores_per_instance=1, num_of_instance=1))
                twos.append(fit_throughput(model, batches, 5, args.iterations, cores_per_instance=1, num_of_instance=2))
            scale = statistics.median(twos) / statistics.median(ones)
            print(
                f"[{kind}] scaling: 2x1 {statistics.median(twos):.1f} vs 1x1 {statistics.median(ones):.1f} samples/s "
                f"(medians of {args.scaling_rounds}); ratio {scale:.3f} (target >= 1.85) "
                f"rounds 1x1={[round(x) for x in ones]} 2x1={[round(x) for x in twos]}",
                flush=True,
            )


if __name__ == "__main__":
    main()

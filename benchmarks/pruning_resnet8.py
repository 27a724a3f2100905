"""Pruning ResNet-8 (zoo ``resnet8_fashion``) with fine-tuning: 4x1 blocks, 2:4, and channel shrink.

    python benchmarks/pruning_resnet8.py [--train-size 59000] [--epochs 3] [--rounds 15]  (~15 min, 1 thread)

Each run starts from the cached fp32 model, builds a ``WeightPruningConfig``, and drives the pruning
component with the seed-001 2.x hook order (on_train_begin, per batch on_step_begin → backward →
on_before_optimizer_step → optimizer.step → on_after_optimizer_step, on_train_end) over a seeded
(sub)set of the training split (all 59k by default); pruning runs inside the first ~60 % of the
steps, the rest recovers accuracy. A 20k subset for 3 epochs lost 1.8 points at 80 % 4x1.

- ``4x1``: snip_momentum, global scope, target 0.8 (``fc``, 10 outputs, is excluded: 10 % 4 != 0).
- ``2:4``: snip_momentum, target 0.5 (the stem, one input channel, is excluded: 1 % 4 != 0).
- ``1xchannel``: half of the output channels of each block's ``conv1`` (the only convs whose output
  does not feed a residual add), then the shrunk model is timed against the dense fp32 one at
  batch 1 and 32 (1 thread, warmup, medians of alternating A/B rounds, perf_counter_ns).
Timings on shared cores are noisy: compare the ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import copy
import logging
import statistics
import time

import numpy as np
import torch
from torch import nn

import models
from compressor.config import WeightPruningConfig
from compressor.training import prepare_compression

RUNS = {
    "4x1 @ 0.80": dict(pattern="4x1", target_sparsity=0.8, excluded_op_names=["^fc$"]),
    "2:4 @ 0.50": dict(pattern="2:4", target_sparsity=0.5, excluded_op_names=["^stem"]),
    "1xchannel @ 0.50": dict(
        pattern="1xchannel", target_sparsity=0.5, op_names=[r"^blocks\.\d\.conv1$"], pruning_scope="local"
    ),
}


def accuracy(entry, model: nn.Module) -> float:
    return entry.evaluate(entry.predict_fn(model))


def fine_tune(model: nn.Module, config: WeightPruningConfig, x: np.ndarray, y: np.ndarray, args) -> tuple:
    batch = 128
    steps_per_epoch = len(y) // batch
    total = steps_per_epoch * args.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)  # built before pruning
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    manager = prepare_compression(model, config)  # validates the config against the model
    rng = np.random.default_rng(0)
    labels = torch.from_numpy(y)
    manager.on_train_begin()
    for epoch in range(args.epochs):
        model.train()
        manager.on_epoch_begin(epoch)
        order = rng.permutation(len(y))
        for step in range(steps_per_epoch):
            idx = order[step * batch : (step + 1) * batch]
            manager.on_step_begin(step)
            loss = nn.functional.cross_entropy(model(torch.from_numpy(x[idx])), labels[idx])
            loss.backward()
            manager.on_before_optimizer_step()
            optimizer.step()
            manager.on_after_optimizer_step()
            manager.on_step_end()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
        manager.on_epoch_end()
    manager.on_train_end()
    return manager.model.eval(), manager.summary()


def pruning_config(run: dict, total_steps: int) -> WeightPruningConfig:
    end = int(total_steps * 0.6)
    return WeightPruningConfig(
        pruning_configs=[run], pruning_type="snip_momentum", start_step=0, end_step=end,
        pruning_frequency=max(1, end // 20), sparsity_decay_type="exp",
    )  # fmt: skip


def time_ab(a: nn.Module, b: nn.Module, x: torch.Tensor, rounds: int) -> tuple[list[float], list[float]]:
    """Per-forward ms of a and b, alternating which goes first each round; warmup excluded."""
    iters = max(5, int(200 / x.shape[0]))
    with torch.inference_mode():
        for m in (a, b):
            for _ in range(10):
                m(x)
        times = {id(a): [], id(b): []}
        for r in range(rounds):
            for m in (a, b) if r % 2 == 0 else (b, a):
                t0 = time.perf_counter_ns()
                for _ in range(iters):
                    m(x)
                times[id(m)].append((time.perf_counter_ns() - t0) / iters / 1e6)
    return times[id(a)], times[id(b)]


def p90(values: list[float]) -> float:
    return float(np.percentile(values, 90))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-size", type=int, default=59000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--runs", nargs="*", default=list(RUNS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    torch.manual_seed(0)

    entry = models.get("resnet8_fashion")
    dense = entry.prepare("torch").model.eval()
    x_all, y_all = entry.load_data("train")
    pick = np.random.default_rng(0).permutation(len(y_all))[: args.train_size]
    x, y = x_all[pick], y_all[pick]
    fp32 = accuracy(entry, dense)
    total = (len(y) // 128) * args.epochs
    print(f"resnet8_fashion fp32 top1 {fp32:.4f}; fine-tune {args.epochs} epochs x {len(y)} examples = {total} steps")

    for name in args.runs:
        model = copy.deepcopy(dense)
        t0 = time.perf_counter()
        final, summary = fine_tune(model, pruning_config(RUNS[name], total), x, y, args)
        seconds = time.perf_counter() - t0
        acc = accuracy(entry, final)
        p = summary["pruners"][0]
        print(
            f"{name:18s} pruned top1 {acc:.4f}  loss {100 * (fp32 - acc):+.2f} points  "
            f"sparsity {p['reached_sparsity']:.3f} of {len(p['ops'])} ops (target met: {p['target_met']})  "
            f"{seconds:.0f}s"
        )
        if summary["shrink"].get("applied"):
            s = summary["shrink"]
            print(
                f"    shrunk: params {s['params_before']} -> {s['params_after']}; chains "
                + ", ".join(
                    f"{c['producer']}->{c['consumer']} {c['channels_before']}->{c['channels_after']}"
                    for c in s["chains"]
                )
            )
            if s["skipped"]:
                print("    not shrunk: " + "; ".join(f"{k['op']}: {k['reason']}" for k in s["skipped"]))
            xe, _ = entry.load_data("eval")
            for batch in (1, 32):
                xb = torch.from_numpy(xe[:batch])
                with torch.inference_mode():
                    diff = (final(xb) - model.eval()(xb)).abs().max().item()
                d, s_ = time_ab(dense, final, xb, args.rounds)
                print(
                    f"    batch {batch:2d}: dense {statistics.median(d):.3f} ms (p90 {p90(d):.3f}), shrunk "
                    f"{statistics.median(s_):.3f} ms (p90 {p90(s_):.3f}), speedup {statistics.median(d) / statistics.median(s_):.2f}x"
                    f"  (max |shrunk - masked| {diff:.1e})"
                )


if __name__ == "__main__":
    main()

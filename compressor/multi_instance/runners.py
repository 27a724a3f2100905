"""Per-framework preparation for ``compressor.timing``'s loop, shared by in-process runs and worker processes.

Everything that can be done once is done before the loop — inputs converted to tensors / feed dicts,
sessions built, inference mode entered — so each timed iteration is the model call and two clock reads.
Frameworks are imported inside the functions: a worker pins itself before torch or onnxruntime loads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..timing import timed_run


@dataclass
class Prepared:
    call: Callable[[Any], Any]
    args: list[Any]  # one pre-converted argument per batch
    sizes: list[int]  # samples per batch
    context: Callable[[], Any] = contextlib.nullcontext
    threads: dict[str, int | None] = field(default_factory=dict)
    restore: Callable[[], None] = lambda: None
    warnings: list[str] = field(default_factory=list)


def _batch_size(batch: tuple[np.ndarray, ...]) -> int:
    first = batch[0]
    return int(first.shape[0]) if getattr(first, "ndim", 0) else 1


def prepare_torch(model: Any, batches: list[tuple[np.ndarray, ...]], intra: int | None, inter: int | None) -> Prepared:
    import torch

    warnings: list[str] = []
    previous = torch.get_num_threads()
    if intra:
        torch.set_num_threads(intra)
    if inter:
        try:
            torch.set_num_interop_threads(inter)
        except RuntimeError as exc:  # only allowed before any inter-op work has started in this process
            warnings.append(f"inter_num_of_threads={inter} not applied: {exc}")
    if hasattr(model, "eval"):
        model.eval()
    args = [tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in b) for b in batches]
    return Prepared(
        call=lambda a: model(*a),
        args=args,
        sizes=[_batch_size(b) for b in batches],
        context=torch.inference_mode,
        threads={"intra": torch.get_num_threads(), "inter": torch.get_num_interop_threads()},
        restore=lambda: torch.set_num_threads(previous),
        warnings=warnings,
    )


def prepare_onnx(model: Any, batches: list[tuple[np.ndarray, ...]], intra: int | None, inter: int | None) -> Prepared:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if intra:
        options.intra_op_num_threads = intra
    if inter:
        options.inter_op_num_threads = inter
    source = model if isinstance(model, (str, bytes)) else model.SerializeToString()
    sess = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    metas = sess.get_inputs()
    feeds = []
    for batch in batches:
        feed = {}
        for meta, array in zip(metas, batch, strict=False):
            want = np.int64 if "int64" in meta.type else np.float32 if "float)" in meta.type else None
            feed[meta.name] = np.ascontiguousarray(array.astype(want) if want and array.dtype != want else array)
        feeds.append(feed)
    run = sess.run
    return Prepared(
        call=lambda f: run(None, f),
        args=feeds,
        sizes=[_batch_size(b) for b in batches],
        threads={"intra": intra, "inter": inter},
    )


PREPARERS = {"torch": prepare_torch, "onnxrt": prepare_onnx}


def timed_loop(
    prepared: Prepared, warmup: int, iterations: int, barrier: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Warm up, wait at ``barrier`` (all instances start together), then time ``iterations`` calls."""
    with prepared.context():
        run = timed_run(prepared.call, prepared.args, warmup=warmup, iterations=iterations, before_timing=barrier)
    n = len(prepared.args)
    samples = sum(prepared.sizes[i % n] for i in range(iterations))
    return {"latencies_ns": run.latencies_ns, "samples": samples, "wall_ns": run.wall_ns, "threads": prepared.threads}

"""ONNX Runtime sessions: build them, run batches through them, time them, save optimized graphs."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ....errors import BackendError
from ....quiet import quiet_session_options
from ....timing import median, time_calls
from . import deps
from . import graph as g
from .calibration import feeds

LEVELS = {
    "disabled": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


def make_session(
    model: Any, *, threads: int | None = None, level: str = "all", optimized_path: Path | None = None
) -> Any:
    """A CPU session; ``threads`` pins intra- and inter-op pools (None: ORT's default pool size)."""
    ort = deps.ort()
    options = quiet_session_options(ort.SessionOptions())
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, LEVELS[level])
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # the default sequential executor uses no inter-op pool anyway
    if optimized_path is not None:
        options.optimized_model_filepath = str(optimized_path)
    data = model if isinstance(model, bytes) else model.SerializeToString()
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph classes
        raise BackendError(f"ONNX Runtime cannot load this model: {type(exc).__name__}: {exc}") from exc


def run_batches(
    model: Any, batches: Sequence[Any], names: Sequence[str], *, threads: int | None = None
) -> Iterator[dict[str, np.ndarray]]:
    """Outputs ``names`` (graph outputs or exposed intermediates) for each batch, one dict per batch."""
    probed = g.with_outputs(model, list(names))
    session = make_session(probed, threads=threads)
    signature = g.input_signature(model)
    for batch in batches:
        values = session.run(list(names), feeds(signature, batch))
        yield dict(zip(names, values, strict=True))


def latency_ms(model: Any, batch: Any, *, threads: int | None, warmup: int, iterations: int) -> float:
    """Median wall time of ``session.run`` in ms, warmup excluded (``compressor.timing``; noise: ±30-50 %)."""
    if iterations < 1:
        raise BackendError(f"latency needs iterations >= 1, got {iterations}")
    session = make_session(model, threads=threads, level="all")
    feed = feeds(g.input_signature(model), batch)
    return median(time_calls(lambda f: session.run(None, f), feed, warmup=max(warmup, 0), iterations=iterations))


def optimized_model(model: Any, level: str) -> Any:
    """The graph ORT runs after its ``level`` optimizations, as a ModelProto.

    ``"all"`` adds layout transforms tuned to this CPU (NCHWc), so ORT's docs advise saving at
    ``"extended"`` for a portable file; both run here.
    """
    onnx = deps.onnx()
    with tempfile.TemporaryDirectory(prefix="compressor-ort-opt-") as tmp:
        path = Path(tmp) / "optimized.onnx"
        make_session(model, level=level, optimized_path=path)
        return onnx.load(str(path))

"""Framework-neutral metric computation: everything is numpy in, numpy out.

The same helper scores a torch model, an ONNX Runtime session, a Keras or a Gluon model (or a
quantized variant of any of them), so accuracy numbers are comparable across frameworks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

Inputs = np.ndarray | dict[str, np.ndarray]


def num_examples(x: Inputs) -> int:
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


def take(x: Inputs, idx: np.ndarray | slice) -> Inputs:
    """Index every input array the same way (models with several inputs get a dict)."""
    if isinstance(x, dict):
        return {name: np.ascontiguousarray(arr[idx]) for name, arr in x.items()}
    return np.ascontiguousarray(x[idx])


def spread(total: int, count: int) -> np.ndarray:
    """``count`` indices of ``range(total)`` evenly spread over it (deterministic): a sample of a split that
    keeps its class mix even when the split is sorted by label, as the MNIST eval split is (its first
    quarter holds only digits 0-2)."""
    if not 0 < count <= total:
        raise ValueError(f"spread needs 0 < count <= total, got count={count}, total={total}")
    return (np.arange(count, dtype=np.int64) * total) // count


def iterate_batches(x: Inputs, y: np.ndarray, batch_size: int) -> Iterator[tuple[Inputs, np.ndarray]]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    for start in range(0, num_examples(x), batch_size):
        sl = slice(start, start + batch_size)
        yield take(x, sl), y[sl]


def predict_all(predict_fn: Callable[[Inputs], np.ndarray], x: Inputs, batch_size: int) -> np.ndarray:
    outs = [np.asarray(predict_fn(take(x, slice(s, s + batch_size)))) for s in range(0, num_examples(x), batch_size)]
    return np.concatenate(outs, axis=0)


def top1(logits: np.ndarray, labels: np.ndarray) -> float:
    if logits.ndim != 2 or len(logits) != len(labels):
        raise ValueError(f"expected logits of shape ({len(labels)}, classes), got {logits.shape}")
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def evaluate(
    predict_fn: Callable[[Inputs], np.ndarray],
    x: Inputs,
    y: np.ndarray,
    metric: str,
    batch_size: int = 256,
    reference_fn: Callable[[Inputs], np.ndarray] | None = None,
    subset: float | None = None,
) -> float:
    """top1: fraction of argmax == label. agreement: fraction of argmax == reference argmax.

    Agreement is the metric where no labels exist (or to measure a compressed model against its
    fp32 parent); it needs ``reference_fn``, normally the fp32 model's predict function.
    ``subset`` (a fraction below 1, compressor's trial screening): only that share of the examples,
    evenly spread (``spread``), the same ones every call.
    """
    if subset is not None and subset < 1:
        picked = spread(len(y), max(1, math.ceil(subset * len(y))))
        x, y = take(x, picked), y[picked]
    logits = predict_all(predict_fn, x, batch_size)
    if metric == "top1":
        return top1(logits, y)
    if metric == "agreement":
        if reference_fn is None:
            raise ValueError("metric 'agreement' needs reference_fn (the fp32 model's predict function)")
        reference = np.argmax(predict_all(reference_fn, x, batch_size), axis=1)
        return top1(logits, reference)
    raise ValueError(f"unknown metric {metric!r}; allowed: top1, agreement")

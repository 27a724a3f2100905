"""Built-in evaluation metrics for ``eval_dataloader`` + ``eval_metric`` (instead of ``eval_func``).

``eval_metric`` may be a name (``"topk"``/``"accuracy"``), the 1.x dict form (``{"topk": 1}``), or any
callable ``metric(outputs, labels) -> float`` over the concatenated outputs and labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .backends.batches import split_batch
from .errors import ConfigError


def topk(k: int = 1) -> Callable[[np.ndarray, np.ndarray], float]:
    def metric(outputs: np.ndarray, labels: np.ndarray) -> float:
        if outputs.ndim != 2:
            raise ConfigError(
                "eval_metric",
                f"topk({k})",
                "model outputs of shape (batch, classes)",
                reason=f"got outputs of shape {outputs.shape}",
            )
        best = np.argsort(-outputs, axis=1)[:, :k]
        return float(np.mean(np.any(best == labels.reshape(-1, 1), axis=1)))

    return metric


_NAMED = {"topk": lambda k=1: topk(int(k)), "accuracy": lambda: topk(1)}


def resolve_metric(eval_metric: Any) -> Callable[[np.ndarray, np.ndarray], float]:
    if callable(eval_metric):
        return eval_metric
    if isinstance(eval_metric, str) and eval_metric in _NAMED:
        return _NAMED[eval_metric]()
    if isinstance(eval_metric, Mapping) and len(eval_metric) == 1:
        ((name, arg),) = eval_metric.items()
        if name in _NAMED:
            return _NAMED[name](arg) if arg is not None else _NAMED[name]()
    raise ConfigError("eval_metric", eval_metric, "'topk', 'accuracy', {'topk': k} or a callable(outputs, labels)")


def make_eval_func(framework_basics: Any, eval_dataloader: Iterable[Any], eval_metric: Any) -> Callable[..., float]:
    """An ``eval_func(model, subset=None) -> float`` that runs ``eval_dataloader`` through the model;
    ``subset`` (a fraction, for the tuner's trial screening) runs only that share of the batches, evenly
    spread over the loader (batch ``i`` when ``floor((i + 1) * subset)`` steps up): a loader sorted by label
    still gives a sample of every class."""
    metric = resolve_metric(eval_metric)

    def eval_func(model: Any, subset: float | None = None) -> float:
        run = framework_basics.runner(model)
        outputs, labels = [], []
        for i, item in enumerate(eval_dataloader):
            if subset is not None and subset < 1 and math.floor((i + 1) * subset) == math.floor(i * subset):
                continue
            inputs, y = split_batch(item, with_labels=True)
            outputs.append(np.asarray(run(inputs)))
            labels.append(np.asarray(y))
        if not outputs:
            raise ConfigError("eval_dataloader", eval_dataloader, "a dataloader with at least one batch")
        return float(metric(np.concatenate(outputs), np.concatenate(labels)))

    return eval_func

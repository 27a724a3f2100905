"""Dataloader batches → tuples of numpy arrays, the one batch shape every backend consumes.

Users hand over whatever their framework's loader yields: ``(inputs, labels)``, bare inputs, tensors,
arrays, lists, or dicts of named inputs. Only numpy leaves this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError


def to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    detach = getattr(value, "detach", None)
    if detach is not None:  # torch tensors, without importing torch
        return detach().cpu().numpy()
    as_numpy = getattr(value, "numpy", None)
    if as_numpy is not None:  # tensorflow / mxnet arrays
        return np.asarray(as_numpy())
    return np.asarray(value)


def split_batch(
    batch: Any, *, with_labels: bool | None = None, arity: int | None = None
) -> tuple[tuple[np.ndarray, ...], Any]:
    """``(inputs, labels)`` from a loader item; labels is None when the item carries none.

    A 2-tuple is read as (inputs, labels) — the convention of torch/gluon loaders and seed 001 — unless
    the model is known (``arity``) to take exactly two inputs and the item holds two plain arrays. Pass
    ``with_labels=False`` for loaders that yield several positional inputs and no labels.
    """
    labels = None
    if with_labels is None and arity == 2 and isinstance(batch, (tuple, list)) and len(batch) == 2:
        with_labels = isinstance(batch[0], (tuple, list, Mapping))
    if isinstance(batch, (tuple, list)) and len(batch) == 2 and with_labels is not False:
        batch, labels = batch
        labels = to_numpy(labels)
    elif with_labels:
        raise ConfigError("dataloader item", type(batch).__name__, "an (inputs, labels) pair")
    if isinstance(batch, Mapping):
        inputs = tuple(to_numpy(v) for v in batch.values())
    elif isinstance(batch, (tuple, list)):
        inputs = tuple(to_numpy(v) for v in batch)
    else:
        inputs = (to_numpy(batch),)
    return inputs, labels


def calibration_batches(
    dataloader: Iterable[Any], sampling_size: int, arity: int | None = None
) -> list[tuple[np.ndarray, ...]]:
    """Batches from ``dataloader`` until ``sampling_size`` samples are collected (the last one trimmed)."""
    if dataloader is None:
        raise ConfigError(
            "calib_dataloader",
            None,
            "a dataloader of calibration batches",
            reason="static quantization calibrates activation ranges; pass calib_dataloader= or use approach='dynamic'",
        )
    out: list[tuple[np.ndarray, ...]] = []
    seen = 0
    for item in dataloader:
        inputs, _ = split_batch(item, arity=arity)
        take = min(len(inputs[0]), sampling_size - seen)
        out.append(tuple(a[:take] for a in inputs))
        seen += take
        if seen >= sampling_size:
            break
    if not out:
        raise ConfigError(
            "calib_dataloader", dataloader, "a dataloader that yields at least one batch", reason="it is empty"
        )
    return out

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
    dataloader: Iterable[Any], sampling_size: int, arity: int | None = None, *, field: str = "calib_dataloader"
) -> list[tuple[np.ndarray, ...]]:
    """Batches from ``dataloader`` until ``sampling_size`` samples are collected (the last one trimmed).

    Every batch is checked before any backend sees it (``check_batch``): a batch that is not numeric
    arrays, has no batch dimension, holds a different number of inputs than the model takes (``arity``,
    when known) or than batch 0, or differs from batch 0 in any dimension but the first is a
    ``ConfigError`` naming ``field[index]``, what was found and what was expected. ``field`` names the
    argument the loader came in (``calib_dataloader``; ``eval_dataloader`` where that one serves).
    """
    if dataloader is None:
        raise ConfigError(
            field,
            None,
            "a dataloader of calibration batches",
            reason="static quantization calibrates activation ranges; pass calib_dataloader= or use approach='dynamic'",
        )
    out: list[tuple[np.ndarray, ...]] = []
    seen = 0
    for index, item in enumerate(dataloader):
        inputs = _inputs_of(item, arity, f"{field}[{index}]")
        check_batch(inputs, f"{field}[{index}]", first=out[0] if out else None, arity=arity)
        take = min(len(inputs[0]), sampling_size - seen)
        out.append(tuple(a[:take] for a in inputs))
        seen += take
        if seen >= sampling_size:
            break
    if not out:
        raise ConfigError(field, dataloader, "a dataloader that yields at least one batch", reason="it is empty")
    return out


def _inputs_of(item: Any, arity: int | None, where: str) -> tuple[np.ndarray, ...]:
    try:
        inputs, _ = split_batch(item, arity=arity)
    except ConfigError:  # already says what is wrong (ConfigError is a ValueError too)
        raise
    except (TypeError, ValueError) as exc:  # ragged nested lists, objects numpy cannot convert
        raise ConfigError(
            where, f"a {type(item).__name__} numpy cannot convert", _NUMERIC, reason=f"{type(exc).__name__}: {exc}"
        ) from None
    return inputs


_NUMERIC = "numeric arrays or tensors (float, int or bool), batch dimension first"


def check_batch(
    inputs: tuple[np.ndarray, ...], where: str, *, first: tuple[np.ndarray, ...] | None = None, arity: int | None = None
) -> None:
    """Raises ``ConfigError`` at ``where`` (``calib_dataloader[3]``) unless ``inputs`` are numeric arrays
    with a non-empty batch dimension, ``arity`` of them (when known), shaped like ``first`` but for
    the batch size."""
    count = len(first) if first is not None else arity
    if count is not None and len(inputs) != count:
        source = f"like batch 0 ({_describe_all(first)})" if first is not None else "one per model input"
        raise ConfigError(
            where, f"{len(inputs)} input array(s): {_describe_all(inputs)}", f"{count} input array(s), {source}"
        )
    for j, array in enumerate(inputs):
        label = f"input {j}: " if len(inputs) > 1 else ""
        if array.dtype.kind not in "biuf":
            like = f", like batch 0 ({_describe_all(first)})" if first is not None else ""
            raise ConfigError(where, label + _describe(array), _NUMERIC + like)
        if array.ndim == 0 or len(array) == 0:
            what = "a scalar" if array.ndim == 0 else "an empty batch"
            raise ConfigError(where, f"{label}{what} ({_describe(array)})", _NUMERIC + ", at least one sample")
        if first is not None and array.shape[1:] != first[j].shape[1:]:
            raise ConfigError(
                where,
                f"{label}shape {tuple(array.shape)}",
                f"shape {('N', *first[j].shape[1:])} like batch 0's {tuple(first[j].shape)}: only the batch "
                "dimension may differ",
            )


def _describe(array: np.ndarray) -> str:
    if array.dtype.kind == "O":
        kinds = sorted({type(v).__name__ for v in array.ravel()[:8]}) if array.size else []
        held = "None" if kinds == ["NoneType"] else f"{'/'.join(kinds) or 'no'} objects"
        return f"{held} (an object array of shape {tuple(array.shape)})"
    if array.dtype.kind in "US":
        return f"strings (dtype {array.dtype}, shape {tuple(array.shape)})"
    return f"{array.dtype} {tuple(array.shape)}"


def _describe_all(arrays: tuple[np.ndarray, ...]) -> str:
    return ", ".join(_describe(a) for a in arrays)

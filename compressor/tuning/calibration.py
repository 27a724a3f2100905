"""Calibration batches: collected once, saved in the workspace as ``.npz`` (no pickle), reloaded on
resume and by ``recover`` so neither needs the user's dataloader.

A batch is a tuple of numpy arrays: the model's positional inputs.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .history import HistoryError, write_atomic

log = logging.getLogger(__name__)

Batch = tuple  # tuple[np.ndarray, ...]


def as_batch(item: Any) -> Batch:
    """``x`` / ``(x,)`` / ``[x, y]`` / ``(inputs, label)`` → a tuple of numeric arrays.

    A ``(inputs, label)`` pair from a dataloader is not special-cased: the tuner cannot know which
    elements are inputs, so the caller passes input batches only.
    """
    parts = item if isinstance(item, (tuple, list)) else (item,)
    arrays = []
    for part in parts:
        array = np.asarray(part)
        if array.dtype == object:
            raise ConfigError(
                "calibration batch", type(part).__name__, "numeric numpy arrays (object arrays would need pickle)"
            )
        arrays.append(array)
    return tuple(arrays)


def collect(calibration: Iterable[Any], sampling_size: int, *, allow_empty: bool = False) -> list[Batch]:
    """Batches from ``calibration`` until ``sampling_size`` samples (first dimension) are taken.

    ``allow_empty``: dynamic quantization needs no calibration data.
    """
    batches: list[Batch] = []
    taken = 0
    for item in calibration:
        batch = as_batch(item)
        batches.append(batch)
        taken += len(batch[0]) if batch and batch[0].ndim else 1
        if taken >= sampling_size:
            break
    if not batches and not allow_empty:
        raise ConfigError("calibration", "an empty iterable", "at least one batch of model inputs")
    log.info("calibration: %d batches, %d samples", len(batches), taken)
    return batches


def fingerprint(batches: Sequence[Batch]) -> str:
    digest = hashlib.sha256()
    for batch in batches:
        digest.update(f"batch{len(batch)}".encode())
        for array in batch:
            contiguous = np.ascontiguousarray(array)
            digest.update(f"{contiguous.dtype.str}{contiguous.shape}".encode())
            digest.update(contiguous.tobytes())
    return digest.hexdigest()


def save(path: str | Path, batches: Sequence[Batch]) -> None:
    """``b{i}_{j}`` holds input ``j`` of batch ``i``; written atomically."""
    arrays = {f"b{i}_{j}": np.ascontiguousarray(a) for i, batch in enumerate(batches) for j, a in enumerate(batch)}
    arrays["arity"] = np.array([len(batch) for batch in batches], dtype=np.int64).reshape(-1)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomic(Path(path), buffer.getvalue())


def load(path: str | Path, sha256: str = "") -> list[Batch]:
    """The batches ``save`` wrote; with ``sha256`` (the history's record of them) they must match it."""
    path = Path(path)
    if not path.exists():
        raise HistoryError(f"{path}: the saved calibration batches are missing; the workspace is incomplete")
    try:
        with np.load(path, allow_pickle=False) as data:
            arity = data["arity"]
            batches = [tuple(data[f"b{i}_{j}"] for j in range(int(n))) for i, n in enumerate(arity)]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise HistoryError(f"{path}: the saved calibration batches are damaged ({exc!r}); {_FRESH}") from None
    if sha256 and fingerprint(batches) != sha256:
        raise HistoryError(
            f"{path}: the saved calibration batches are not those the history records (damaged, or replaced "
            f"by a later run in this workspace); {_FRESH}"
        )
    return batches


_FRESH = "to tune again, pass resume=False (with calibration data) or another workspace="

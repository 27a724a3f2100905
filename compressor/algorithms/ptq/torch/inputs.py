"""Calibration and evaluation batches (tuples of numpy arrays) as forward arguments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def to_args(batch: Any) -> tuple[torch.Tensor, ...]:
    """A batch (one array or a tuple of arrays, the positional forward inputs) as tensors.

    float64 arrays become float32: numpy's default float type would otherwise fail against float32
    weights, and no model here is trained in float64.
    """
    items = batch if isinstance(batch, (tuple, list)) else (batch,)
    args = []
    for item in items:
        if isinstance(item, torch.Tensor):
            args.append(item)
            continue
        array = np.asarray(item)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        args.append(torch.from_numpy(np.ascontiguousarray(array)))
    return tuple(args)


def export_example(batches: Sequence[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
    """An example for torch.export: the first 2 rows of the first batch.

    export specialises a dimension of size 1 to a constant, which would pin the batch size of the
    quantized graph to 1, so a single row is repeated; more than 2 rows would only grow saved files.
    """
    first = batches[0]
    # clone: a view would drag its whole base storage into the saved sample inputs
    return tuple(t if t.dim() == 0 else (t[:2].clone() if t.shape[0] > 1 else torch.cat([t, t])) for t in first)


def batch_dims(args: tuple[torch.Tensor, ...]):
    """dynamic_shapes for torch.export: dimension 0 of every input is the batch, sized at run time."""
    return tuple({0: torch.export.Dim.AUTO} if t.dim() > 0 else None for t in args)

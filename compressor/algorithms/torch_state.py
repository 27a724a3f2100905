"""Saving and reloading trained torch models as plain tensors (no pickled objects).

Channel pruning shrinks layers, so a saved state dict may not fit the architecture the user builds to
reload it. ``load_state`` resizes Linear / Conv / BatchNorm layers to the saved shapes (their size
attributes included) before loading; any other shape mismatch is an error that names the tensor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import BackendError


def save_state(model: Any, path: Path) -> None:
    import torch

    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, path)


def _resize(module: Any, shapes: dict[str, tuple[int, ...]]) -> None:
    import torch
    from torch import nn

    for name, shape in shapes.items():
        old = getattr(module, name)
        if tuple(old.shape) == shape:
            continue
        fresh = torch.empty(shape, dtype=old.dtype)
        if isinstance(old, nn.Parameter):
            setattr(module, name, nn.Parameter(fresh, requires_grad=old.requires_grad))
        else:
            setattr(module, name, fresh)
    weight = shapes.get("weight")
    if isinstance(module, nn.Linear) and weight:
        module.out_features, module.in_features = weight
    elif isinstance(module, nn.modules.conv._ConvNd) and weight:
        module.out_channels = weight[0]
        module.in_channels = weight[1] * module.groups
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        module.num_features = (shapes.get("running_mean") or shapes.get("weight"))[0]


def load_state(path: Path, model: Any) -> Any:
    import torch
    from torch import nn

    state = torch.load(path, weights_only=True, map_location="cpu")
    current = model.state_dict()
    unknown = sorted(set(state) - set(current))
    if unknown:
        raise BackendError(f"{path}: tensors this model does not have: {unknown[:8]}")
    by_module: dict[str, dict[str, tuple[int, ...]]] = {}
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(current[key].shape):
            owner, _, leaf = key.rpartition(".")
            by_module.setdefault(owner, {})[leaf] = tuple(tensor.shape)
    resizable = (nn.Linear, nn.modules.conv._ConvNd, nn.modules.batchnorm._BatchNorm)
    for owner, shapes in by_module.items():
        module = model.get_submodule(owner)
        if not isinstance(module, resizable):
            raise BackendError(f"{path}: {owner} ({type(module).__name__}) has other shapes than saved: {shapes}")
        _resize(module, shapes)
    model.load_state_dict(state)
    return model

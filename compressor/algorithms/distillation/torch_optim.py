"""``DistillationConfig.optimizer`` ({"SGD": {"learning_rate": …}}) → a ``torch.optim`` optimizer.

Keys the config leaves out take torch's own defaults (as INC's PyTorch mapping does: it only passes
what the user set). ``beta_1``/``beta_2`` become ``betas``, ``epsilon`` becomes ``eps``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from ...errors import ConfigError

_RENAMES = {"learning_rate": "lr", "epsilon": "eps", "momentum": "momentum", "nesterov": "nesterov",
            "weight_decay": "weight_decay", "amsgrad": "amsgrad"}  # fmt: skip


def _adam_kwargs(params: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = {_RENAMES[k]: v for k, v in params.items() if k in _RENAMES}
    if "beta_1" in params or "beta_2" in params:
        kwargs["betas"] = (params.get("beta_1", 0.9), params.get("beta_2", 0.999))
    return kwargs


def _sgd_kwargs(params: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = {_RENAMES[k]: v for k, v in params.items() if k in _RENAMES}
    if kwargs.get("nesterov") and not kwargs.get("momentum"):
        raise ConfigError(
            "optimizer.SGD.nesterov", True, "False unless momentum > 0", reason="Nesterov momentum needs momentum"
        )
    return kwargs


# name -> (torch class, config params -> torch kwargs)
OPTIMIZERS: dict[str, tuple[Callable[..., torch.optim.Optimizer], Callable[[Mapping[str, Any]], dict]]] = {
    "SGD": (torch.optim.SGD, _sgd_kwargs),
    "Adam": (torch.optim.Adam, _adam_kwargs),
    "AdamW": (torch.optim.AdamW, _adam_kwargs),
}


def build_torch_optimizer(optimizer_conf: Mapping[str, Mapping[str, Any]], params: Any) -> torch.optim.Optimizer:
    ((name, settings),) = optimizer_conf.items()
    cls, to_kwargs = OPTIMIZERS[name]
    return cls(params, **to_kwargs(dict(settings)))

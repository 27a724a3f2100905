"""The accuracy-aware tuning engine: search space, strategies, tuner loop and trial history.

``compressor.config`` imports ``tuning.registry`` to validate strategy names, so the engine's modules are
imported on first attribute access (PEP 562) and importing the config stays cheap; only ``recover``
(and the history/calibration modules it needs, numpy included) is imported eagerly, see below.
"""

from __future__ import annotations

import importlib
from typing import Any

# Eager on purpose: the function shares its name with its module, and a lazy import would leave the
# module, not the function, as ``compressor.tuning.recover`` once anything imported the module.
from .recover import recover
from .registry import available_strategies, get_strategy, register_strategy

_LAZY = {
    "History": "history",
    "HistoryError": "history",
    "HistoryMeta": "history",
    "StaleWorkspaceError": "history",
    "read_history": "history",
    "OpChoices": "space",
    "TuningSpace": "space",
    "build_space": "space",
    "SequentialStrategy": "strategies.base",
    "TuneStrategy": "strategies.base",
    "Trial": "trial",
    "Tuner": "tuner",
    "TuningResult": "result",
    "accuracy_loss": "criterion",
    "meets": "criterion",
}

__all__ = [
    "History",
    "HistoryError",
    "HistoryMeta",
    "OpChoices",
    "SequentialStrategy",
    "StaleWorkspaceError",
    "Trial",
    "TuneStrategy",
    "Tuner",
    "TuningResult",
    "TuningSpace",
    "accuracy_loss",
    "available_strategies",
    "build_space",
    "get_strategy",
    "meets",
    "read_history",
    "recover",
    "register_strategy",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

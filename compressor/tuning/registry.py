"""Strategies registered by name.

Built-in strategies live one per module in ``compressor.tuning.strategies`` and are imported only when
asked for, so validating ``TuningCriterion(strategy="mse")`` never imports a framework. Users add their
own with ``@register_strategy("mycustom")``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError

BUILTIN_STRATEGIES = (
    "auto",
    "basic",
    "bayesian",
    "conservative",
    "exhaustive",
    "mse",
    "mse_v2",
    "random",
    "tpe",
)

_registered: dict[str, Any] = {}


def register_strategy(name: str) -> Callable[[Any], Any]:
    """Class decorator: make a strategy available as ``TuningCriterion(strategy=name)``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError("strategy name", name, "a Python identifier such as 'mycustom'")

    def decorate(cls: Any) -> Any:
        existing = _registered.get(name)
        if existing is not None and existing is not cls:
            qualname = f"{existing.__module__}.{existing.__qualname__}"
            raise ConfigError("strategy name", name, reason=f"already registered by {qualname}")
        _registered[name] = cls
        return cls

    return decorate


def available_strategies() -> tuple[str, ...]:
    return tuple(sorted(set(BUILTIN_STRATEGIES) | set(_registered)))


def get_strategy(name: str) -> Any:
    """The strategy class registered as ``name``, importing a built-in module on first use."""
    if name not in _registered and name in BUILTIN_STRATEGIES:
        importlib.import_module(f"{__package__}.strategies.{name}")
    if name not in _registered:
        raise ConfigError("strategy", name, available_strategies())
    return _registered[name]

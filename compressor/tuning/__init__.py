"""The accuracy-aware tuning engine: search space, strategies, tuner loop and trial history."""

from .registry import available_strategies, get_strategy, register_strategy

__all__ = ["available_strategies", "get_strategy", "register_strategy"]

"""Field validators for config dataclasses.

Each validator is ``check(field, value) -> normalised value`` and raises ``ConfigError`` naming the
field, the value and what is allowed. They are attached to dataclass fields through
``metadata={"check": ...}`` and run by ``base.Config.__post_init__``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import ConfigError, UnknownKeyError
from .frozen import freeze

Check = Callable[[str, Any], Any]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


def choice(*allowed: Any) -> Check:
    """One of ``allowed`` exactly (strings compare case-sensitively; the error suggests the right case)."""

    def check(field: str, value: Any) -> Any:
        if isinstance(value, (str, int, float, bool, type(None))) and any(
            value == a and type(value) is type(a) for a in allowed
        ):
            return value
        raise ConfigError(field, value, allowed)

    return check


def dynamic_choice(allowed: Callable[[], Iterable[str]]) -> Check:
    """Like ``choice`` but the allowed set is read at validation time (registries grow)."""

    def check(field: str, value: Any) -> Any:
        names = sorted(allowed())
        if isinstance(value, str) and value in names:
            return value
        raise ConfigError(field, value, names)

    return check


def boolean(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigError(field, value, "True or False")


def string(field: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ConfigError(field, value, "a string")


def integer(minimum: int | None = None, maximum: int | None = None, also: tuple = ()) -> Check:
    """An int (not a bool) within [minimum, maximum], or one of the sentinel values in ``also``."""

    def check(field: str, value: Any) -> int:
        if any(value == a and type(value) is type(a) for a in also):
            return value
        ok = _is_int(value)
        ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
        if ok:
            return value
        raise ConfigError(field, value, _range_text("an integer", minimum, maximum, also))

    return check


def number(
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> Check:
    """A finite int or float within the given bounds; ints are kept as given."""

    def check(field: str, value: Any) -> float:
        ok = _is_number(value)
        if ok and minimum is not None:
            ok = value >= minimum if min_inclusive else value > minimum
        if ok and maximum is not None:
            ok = value <= maximum if max_inclusive else value < maximum
        if ok:
            return value
        lo = "" if minimum is None else ("[" if min_inclusive else "(") + f"{minimum}"
        hi = "" if maximum is None else f"{maximum}" + ("]" if max_inclusive else ")")
        if minimum is not None and maximum is not None:
            allowed = f"a number in {lo}, {hi}"
        elif minimum is not None:
            allowed = f"a number {'>=' if min_inclusive else '>'} {minimum}"
        elif maximum is not None:
            allowed = f"a number {'<=' if max_inclusive else '<'} {maximum}"
        else:
            allowed = "a finite number"
        raise ConfigError(field, value, allowed)

    return check


def optional(inner: Check) -> Check:
    def check(field: str, value: Any) -> Any:
        return None if value is None else inner(field, value)

    return check


def one_or_many(item: Check, *, split_commas: bool = False, allow_empty: bool = True) -> Check:
    """A single item or a list/tuple of items, normalised to a tuple of checked items.

    With ``split_commas`` a string ``"a,b"`` means ``("a", "b")``: 1.x yaml wrote tensor names that way.
    """

    def check(field: str, value: Any) -> tuple:
        if isinstance(value, str) and split_commas:
            items: list = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            items = [value]
        else:
            raise ConfigError(field, value, "a value or a list of values")
        if not items and not allow_empty:
            raise ConfigError(field, value, "a non-empty list")
        return tuple(item(f"{field}[{i}]", v) for i, v in enumerate(items))

    return check


#: model input/output tensor names: a name, a list of names or 1.x's comma-separated string
tensor_names = one_or_many(string, split_commas=True)


def regex(field: str, value: Any) -> str:
    """A string that compiles as a Python regular expression (kept as the string)."""
    if not isinstance(value, str):
        raise ConfigError(field, value, "a regular expression string")
    try:
        re.compile(value)
    except re.error as exc:
        raise ConfigError(field, value, "a valid regular expression", reason=str(exc)) from None
    return value


def mapping_of(key: Check, val: Check) -> Check:
    """A mapping with checked keys and values, frozen."""

    def check(field: str, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ConfigError(field, value, "a dict")
        return freeze({key(f"{field} key", k): val(f"{field}[{k!r}]", v) for k, v in value.items()})

    return check


def keyed(spec: Mapping[str, Check], *, required: Iterable[str] = ()) -> Check:
    """A dict whose keys must come from ``spec``; each value checked by its own validator."""

    def check(field: str, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ConfigError(field, value, f"a dict with keys from {sorted(spec)}")
        out = {}
        for k, v in value.items():
            if k not in spec:
                raise UnknownKeyError(field, k, spec)
            out[k] = spec[k](f"{field}.{k}", v)
        missing = [k for k in required if k not in out]
        if missing:
            raise ConfigError(field, dict(value), f"a dict that sets {missing}", reason="missing keys")
        return freeze(out)

    return check


def anything(field: str, value: Any) -> Any:
    """Objects such as models or example inputs: stored as they are."""
    return value


def _range_text(kind: str, minimum: Any, maximum: Any, also: tuple) -> str:
    parts = [kind]
    if minimum is not None:
        parts.append(f">= {minimum}")
    if maximum is not None:
        parts.append(f"<= {maximum}")
    text = " ".join(parts)
    if also:
        text += " or " + " or ".join(repr(a) for a in also)
    return text

"""Every error the library raises on purpose, in one hierarchy.

Messages are written for the person who made the mistake: they name the field, the value, what is
allowed and, when the value is a near miss, what was probably meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CompressorError(Exception):
    """Base class of the library's own errors; the CLIs print these without a traceback."""


def did_you_mean(value: object, candidates: Iterable[object], *, cutoff: float = 0.6) -> str | None:
    """The candidate ``value`` was probably meant to be, or None when none is close enough.

    The one spelling-suggestion helper of the project (harness and zoo errors use it too). A match that
    differs only in case wins; otherwise the closest ``difflib`` spelling with a similarity ratio of at
    least ``cutoff`` (0..1, higher is stricter), compared as typed, then lower-cased. Candidates are
    compared as strings; a non-string ``value`` gets None.

    >>> did_you_mean("statc", ["static", "dynamic"])
    'static'
    """
    if not isinstance(value, str):
        return None
    names = [str(c) for c in candidates]
    lowered = {n.lower(): n for n in names}
    if value.lower() in lowered:
        return lowered[value.lower()]
    close = difflib.get_close_matches(value, names, n=1, cutoff=cutoff)
    if not close:
        close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=cutoff)
        close = [lowered[c] for c in close]
    return close[0] if close else None


def did_you_mean_hint(value: object, candidates: Iterable[object], *, cutoff: float = 0.6) -> str:
    """``" (did you mean 'static'?)"`` to append to a message, or ``""`` when ``did_you_mean`` finds none."""
    close = did_you_mean(value, candidates, cutoff=cutoff)
    return f" (did you mean {close!r}?)" if close is not None else ""


class ConfigError(CompressorError, ValueError):
    """A configuration value is invalid.

    ``field`` is a dotted path (``tuning_criterion.max_trials``, ``tuning.exit_policy``),
    ``value`` the offending value, ``allowed`` a description or list of what would be accepted.
    """

    def __init__(
        self,
        field: str,
        value: object,
        allowed: str | Iterable[object] | None = None,
        *,
        reason: str | None = None,
        suggestion: str | None = None,
        location: str | None = None,
    ) -> None:
        self.field = field
        self.value = value
        if allowed is not None and not isinstance(allowed, str):
            allowed = list(allowed)
            if suggestion is None:
                suggestion = did_you_mean(value, allowed)
            allowed = ", ".join(repr(a) for a in allowed)
        self.allowed = allowed
        self.reason = reason
        self.suggestion = suggestion
        self.location = location
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.field}: invalid value {_short_repr(self.value)}"
        if self.reason:
            text += f" ({self.reason})"
        if self.allowed:
            text += f"; allowed: {self.allowed}"
        if self.suggestion is not None:
            text += f"; did you mean {self.suggestion!r}?"
        return text

    def with_prefix(self, prefix: str, location: str | None = None) -> ConfigError:
        """The same error re-rooted under ``prefix`` (a parent field or yaml path)."""
        field = f"{prefix}.{self.field}" if prefix else self.field
        return ConfigError(
            field,
            self.value,
            self.allowed,
            reason=self.reason,
            suggestion=self.suggestion,
            location=location or self.location,
        )


class UnknownKeyError(ConfigError):
    """A key that no schema knows: always an error, never silently dropped.

    ``field`` is the full path of the unknown key (``tuning.exit_polcy``).
    """

    def __init__(self, parent: str, key: str, known: Iterable[str], location: str | None = None):
        known = sorted(str(k) for k in known)
        self.key = key
        self.known = known
        super().__init__(
            f"{parent}.{key}" if parent else str(key),
            key,
            allowed=", ".join(known) if known else "no keys",
            reason="unknown key",
            suggestion=did_you_mean(key, known),
            location=location,
        )

    def _render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.field}: unknown key; allowed here: {self.allowed}"
        if self.suggestion is not None:
            text += f"; did you mean {self.suggestion!r}?"
        return text

    def with_prefix(self, prefix: str, location: str | None = None) -> ConfigError:
        parent = self.field.rsplit(".", 1)[0] if "." in self.field else ""
        parent = f"{prefix}.{parent}" if prefix and parent else (prefix or parent)
        return UnknownKeyError(parent, self.key, self.known, location=location or self.location)


class UnknownArgumentError(UnknownKeyError, TypeError):
    """An unexpected keyword argument to a config class.

    A ``ConfigError`` (the class, the argument, the closest known name, every allowed one) that is still
    the ``TypeError`` Python raises for an unexpected keyword, so ``except TypeError`` keeps working.
    ``field`` is ``<Class>.<argument>``.
    """

    def __init__(self, owner: str, key: str, known: Iterable[str]) -> None:
        self.owner = owner
        super().__init__(owner, key, known)

    def _render(self) -> str:
        text = f"{self.owner}() got an unexpected keyword argument {self.key!r}"
        if self.suggestion is not None:
            text += f" (did you mean {self.suggestion!r}?)"
        return f"{text}; allowed arguments: {self.allowed}"


class BackendError(CompressorError):
    """A framework is missing or cannot do what the configuration asks for."""


class HistoryError(CompressorError):
    """A tuning history cannot be used: damaged, from another schema, or from a different run."""


class StaleWorkspaceError(HistoryError):
    """A workspace's history was written for other weights, calibration data, config or evaluation.

    Resuming it would report another run's numbers, so it is refused; the message names what differs
    (recorded vs now) and how to proceed (``resume=False`` or another ``workspace=``).
    """


class UnsupportedFrameworkError(ConfigError, BackendError):
    """A technique has no implementation for a model's framework.

    Both a ``ConfigError`` (the framework value is not allowed here, with a did-you-mean) and a
    ``BackendError`` (no backend can do it), so callers catching either keep working.
    """

    def __init__(self, technique: str, framework: str, supported: Iterable[str]) -> None:
        self.technique = technique
        super().__init__("framework", framework, sorted(supported), reason=f"{technique} does not support it")

    def _render(self) -> str:
        text = (
            f"{self.technique} does not support framework {_short_repr(self.value)}; "
            f"supported frameworks: {self.allowed or 'none'}"
        )
        if self.suggestion is not None:
            text += f"; did you mean {self.suggestion!r}?"
        return text

    def with_prefix(self, prefix: str, location: str | None = None) -> ConfigError:
        return self  # the message names the technique; there is no parent field to add


def _short_repr(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

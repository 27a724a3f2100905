"""Name → zoo entry. Entries register themselves (``models.catalog``); a miss suggests a name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compressor.errors import did_you_mean
from models.errors import EntryDefinitionError, UnknownModelError

if TYPE_CHECKING:
    from models.entry import ModelEntry

_REGISTRY: dict[str, ModelEntry] = {}


def register_model(entry: ModelEntry) -> ModelEntry:
    """Add an entry under ``entry.name``. Returns it, so it can be used as ``X = register_model(...)``.

    Also usable as a decorator on a zero-argument factory function returning an entry.
    """
    if callable(entry) and not hasattr(entry, "name"):
        factory = entry
        register_model(factory())
        return factory
    if entry.name in _REGISTRY and _REGISTRY[entry.name] is not entry:
        raise EntryDefinitionError(f"model {entry.name!r} is already registered")
    _REGISTRY[entry.name] = entry
    return entry


def unregister_model(name: str) -> None:
    """Remove an entry (tests register throwaway entries and clean up after themselves)."""
    _REGISTRY.pop(name, None)


def names() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        close = did_you_mean(name, names(), cutoff=0.5)
        hint = f" (did you mean {close!r}?)" if close else ""
        known = ", ".join(names()) or "(none)"
        raise UnknownModelError(f"unknown model {name!r}{hint}; known models: {known}") from None


def list_entries() -> list[ModelEntry]:
    return [_REGISTRY[n] for n in names()]

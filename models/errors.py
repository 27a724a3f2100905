"""Every error the zoo raises, defined once so callers (the harness CLI) can catch one base class."""

from __future__ import annotations


class ModelsError(Exception):
    """Base class: a user-facing problem with a one-line, actionable message."""


class UnknownModelError(ModelsError, KeyError):
    """A model name that is not registered; the message lists the known names."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a user-facing message should read as plain text.
        return str(self.args[0]) if self.args else ""


class EntryDefinitionError(ModelsError, ValueError):
    """A zoo entry declared with invalid metadata (caught at registration, not at training time)."""


class DatasetUnavailableError(ModelsError):
    """A dataset's source package is missing; the message names the package and the install command."""


class FrameworkUnavailableError(ModelsError):
    """The framework an entry was asked for is not installed or not supported by that entry."""


class CacheError(ModelsError):
    """A cached weight file cannot be read (corrupt or from an incompatible format)."""


class PretrainedUnavailableError(ModelsError):
    """Pretrained weights are shipped by a package that is not installed; the message says which."""

"""Every user error of the harness, defined once; ``harness.cli`` catches ``HarnessError`` in one place.

A user error (a misspelled suite key, a results directory of another schema, an image that is not built)
prints one clear line and exits 2, with no traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class: a user-facing problem whose message says what is wrong and how to fix it."""


class SuiteError(HarnessError, ValueError):
    """A suite that cannot be loaded; the message names the file, the line and the fix."""


class ExecutorError(HarnessError, ValueError):
    """An unknown executor, or options an executor does not take."""


class ResultsError(HarnessError, ValueError):
    """A results directory or frame that cannot be read; the message says what to do about it."""


class ResultsSchemaError(ResultsError):
    """Results written with a schema (version or columns) this harness cannot read."""


class CheckSyntaxError(HarnessError, ValueError):
    """A regression check that does not parse; the message names the value and the allowed syntax."""


class ContainerError(HarnessError, ValueError):
    """A container image cannot be found, built or run; the message says which command fixes it."""

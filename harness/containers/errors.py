"""The one error of the containers package: what went wrong, with the value and the fix.

A ValueError like ``SuiteError``: user-fixable, so `harness run` prints it without a traceback.
"""

from __future__ import annotations


class ContainerError(ValueError):
    """A container image cannot be found, built or run; the message says which command fixes it."""

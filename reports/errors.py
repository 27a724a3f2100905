"""Errors the report and compare commands raise for user mistakes (bad path, unreadable results)."""

from __future__ import annotations


class ResultsError(ValueError):
    """A results directory or frame that cannot be read; the message says what to do about it."""

"""Rendering of harness results: tables (Markdown/HTML), plots and the environment block."""

from .tables import ResultRow, markdown_table

__all__ = ["ResultRow", "markdown_table"]

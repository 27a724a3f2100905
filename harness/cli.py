"""The ``harness`` command line: one parser, each command group registered by the package that owns it."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    from models.cli import add_models_commands

    from .containers.cli import add_containers_command
    from .report_cli import add_compare_command, add_report_command
    from .run_cli import add_run_command

    parser = argparse.ArgumentParser(prog="harness", description="Benchmark and validate model compression.")
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_run_command(sub)
    add_models_commands(sub)
    add_report_command(sub)
    add_compare_command(sub)
    add_containers_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

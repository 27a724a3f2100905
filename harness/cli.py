"""The ``harness`` command line: one parser, each command group registered by the package that owns it.

User errors (``harness.errors.HarnessError``, the zoo's ``ModelsError``, compressor's ``CompressorError``)
are caught here, once: one line on stderr and exit code 2, no traceback. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    from models.cli import add_models_commands

    from .images.cli import add_containers_command
    from .report_cli import add_compare_command, add_report_command
    from .reproduce_cli import add_reproduce_command
    from .run_cli import add_run_command
    from .setup_cli import add_setup_command

    parser = argparse.ArgumentParser(prog="harness", description="Benchmark and validate model compression.")
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_run_command(sub)
    add_models_commands(sub)
    add_report_command(sub)
    add_compare_command(sub)
    add_reproduce_command(sub)
    add_setup_command(sub)
    add_containers_command(sub)
    return parser


def user_errors() -> tuple[type[BaseException], ...]:
    from compressor.errors import CompressorError
    from models.errors import ModelsError

    from .errors import HarnessError

    return (HarnessError, ModelsError, CompressorError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except user_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``compressor`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .errors import CompressorError, ConfigError


def _migrate(args: argparse.Namespace) -> int:
    from .compat import load_yaml, migrate_code

    path = Path(args.conf)
    if not path.is_file():
        raise ConfigError("conf", args.conf, "an existing 1.x conf.yaml file", reason="file not found")
    loaded = load_yaml(path)
    code = migrate_code(loaded)
    if args.output:
        Path(args.output).write_text(code, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(code)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compressor",
        description="Model compression: quantization with accuracy-aware tuning, pruning, distillation.",
    )
    parser.add_argument("--version", action="version", version=f"compressor {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log diagnostics to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    migrate = sub.add_parser(
        "migrate",
        help="print the 2.x Python configuration equivalent to a 1.x conf.yaml",
        description="Read a 1.x conf.yaml and print the equivalent 2.x Python configuration code.",
    )
    migrate.add_argument("conf", help="path to the 1.x conf.yaml")
    migrate.add_argument("-o", "--output", help="write the code to this file instead of stdout")
    migrate.set_defaults(func=_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except CompressorError as exc:
        print(f"compressor {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"compressor {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

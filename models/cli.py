"""``models list`` and ``models prepare``: mounted under ``harness models`` or run as ``python -m models``.

User errors (unknown name, missing dataset package, ...) print one line and exit with code 2;
a prepared model that misses its stated accuracy exits with 1 after printing every result.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from models import registry
from models.cache import resolve_cache_dir
from models.entry import FRAMEWORKS
from models.errors import ModelsError

EXIT_USER_ERROR, EXIT_ACCURACY = 2, 1
# The zoo's spellings before it adopted compressor.vocabulary; still accepted, with a note.
DEPRECATED_FRAMEWORKS = {"onnx": "onnxrt", "tf": "tensorflow"}


def _framework(value: str) -> str:
    if value in DEPRECATED_FRAMEWORKS:
        new = DEPRECATED_FRAMEWORKS[value]
        print(f"note: --framework {value} is deprecated, use --framework {new}", file=sys.stderr)
        return new
    return value


def add_models_commands(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``models {list,prepare}``; each parsed namespace carries ``func(args) -> int``."""
    parser = subparsers.add_parser("models", help="list or prepare (train/cache) zoo models")
    sub = parser.add_subparsers(dest="models_command", metavar="{list,prepare}", required=True)

    p_list = sub.add_parser("list", help="show the zoo: frameworks, dataset, fp32 accuracy, size, cached")
    p_list.add_argument("--cache-dir", help="weights cache (default: $COMPRESSOR_CACHE_DIR or XDG cache)")
    p_list.set_defaults(func=cmd_list)

    p_prep = sub.add_parser("prepare", help="train or load weights into the cache")
    p_prep.add_argument("names", nargs="*", metavar="NAME", help="model names (see `models list`)")
    p_prep.add_argument("--all", action="store_true", help="every model that supports --framework")
    p_prep.add_argument("--framework", default="torch", type=_framework, choices=FRAMEWORKS, help="default: torch")
    p_prep.add_argument("--cache-dir", help="weights cache (default: $COMPRESSOR_CACHE_DIR or XDG cache)")
    p_prep.add_argument("--force", action="store_true", help="retrain even when cached weights exist")
    p_prep.add_argument("--verify", action="store_true", help="re-measure accuracy of cached weights")
    p_prep.set_defaults(func=cmd_prepare)
    return parser


def _console():
    try:
        from rich.console import Console
    except ImportError:  # plain output keeps `models` usable in a minimal environment
        return None
    console = Console()
    # Piped output has no terminal width; rich would wrap at 80 columns and split every name.
    return console if console.is_terminal else Console(width=160)


def cmd_list(args: argparse.Namespace) -> int:
    cache_dir = resolve_cache_dir(args.cache_dir)
    header = ("name", "frameworks", "dataset", "metric", "fp32", "±", "params", "MB", "cached")
    rows = []
    for entry in registry.list_entries():
        cached = [fw for fw in entry.frameworks if entry.is_cached(fw, cache_dir)]
        rows.append(
            (
                entry.name,
                ",".join(entry.frameworks),
                entry.dataset,
                entry.metric,
                f"{entry.expected_accuracy:.3f}",
                f"{entry.tolerance:.3f}",
                f"{entry.params:,}",
                f"{entry.size_mb:.1f}",
                ",".join(cached) or "-",
            )
        )
    console = _console()
    if console is None:
        for row in (header, *rows):
            print("  ".join(row))
        return 0
    from rich.table import Table

    table = Table(title=f"model zoo (cache: {cache_dir})")
    for col in header:
        table.add_column(col, no_wrap=True, justify="right" if col in ("fp32", "±", "params", "MB") else "left")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    if args.all == bool(args.names):
        raise ModelsError("give model names or --all (not both)")
    if args.all:
        entries = [e for e in registry.list_entries() if args.framework in e.frameworks]
    else:
        entries = [registry.get(name) for name in args.names]  # raises with "did you mean"
    missed = []
    for i, entry in enumerate(entries, 1):
        cached = entry.is_cached(args.framework, args.cache_dir) and not args.force
        making = f"deriving from {entry.parent.name}" if entry.parent else "training (may take minutes)"
        doing = ("verifying" if args.verify else "loading") if cached else making
        print(f"[{i}/{len(entries)}] {entry.name} ({args.framework}): {doing} ...", file=sys.stderr, flush=True)
        result = entry.prepare(args.framework, cache_dir=args.cache_dir, force=args.force, verify=args.verify)
        status = "ok" if result.accuracy_ok else "MISSED"
        source = "cache" if result.from_cache else ("derived" if entry.parent else "trained")
        print(
            f"{entry.name:<20} {args.framework:<6} {entry.metric} {result.accuracy:.4f} "
            f"(expected {result.expected_accuracy:.3f}±{result.tolerance:.3f}, {status})  "
            f"{source}: train {result.train_seconds:.1f}s, this run {result.elapsed_seconds:.1f}s  "
            f"{result.cache_path}",
            flush=True,
        )
        if not result.accuracy_ok:
            missed.append(entry.name)
    if missed:
        print(f"error: fp32 accuracy outside tolerance for: {', '.join(missed)}", file=sys.stderr)
        return EXIT_ACCURACY
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch a parsed namespace, turning user errors into one line on stderr and exit code 2."""
    try:
        return args.func(args)
    except ModelsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models", description="the compressor model zoo")
    add_models_commands(parser.add_subparsers(dest="command", required=True))
    raw = list(sys.argv[1:] if argv is None else argv)
    # `python -m models list` reads better than `python -m models models list`.
    args = parser.parse_args(raw if raw[:1] == ["models"] else ["models", *raw])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run(args)

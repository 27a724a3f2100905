"""``harness containers``: per-framework images for the docker executor.

harness containers bootstrap-base            # offline base image from Debian packages (no registry needed)
harness containers lock torch-ort            # regenerate containers/torch-ort/requirements.lock
harness containers build [NAME ...]          # build (or skip when up to date) with streamed logs
harness containers list                      # images, their frameworks and build state
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from ..errors import ContainerError
from .specs import CONTAINERS_DIR, LABEL, discover, get_image


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _bootstrap(args: argparse.Namespace) -> int:
    script = CONTAINERS_DIR / "bootstrap-base.sh"
    argv = [str(script), "--suite", args.suite]
    argv += ["--tag", args.tag] if args.tag else []
    argv += ["--mirror", args.mirror] if args.mirror else []
    argv += ["--force"] if args.force else []
    start = time.perf_counter()
    code = subprocess.call(argv)  # its output goes straight to the terminal
    _console().print(f"bootstrap-base: exit {code} after {time.perf_counter() - start:.0f} s")
    return code


def _lock(args: argparse.Namespace) -> int:
    from .lock import write_lock

    for name in args.names or list(discover()):
        start = time.perf_counter()
        path = write_lock(get_image(name))
        _console().print(f"{path}: written in {time.perf_counter() - start:.0f} s")
    return 0


def _build(args: argparse.Namespace) -> int:
    from .build import build_image, connect

    client = connect()
    console = _console()
    names = args.names or list(discover())
    for name in names:
        result = build_image(
            get_image(name), client=client, pip_mode=args.pip_source, wheelhouse_dir=args.wheelhouse,
            ca_bundle=args.ca_bundle, base_image=args.base_image, force=args.force, no_cache=args.no_cache,
            on_log=lambda text: (sys.stderr.write(text), sys.stderr.flush()),
        )  # fmt: skip
        size = client.images.get(result.id).attrs.get("Size", 0) / 1e6
        state = "built" if result.built else "up to date"
        console.print(
            f"[bold]{result.tag}[/bold] {state} in {result.seconds:.1f} s: {result.id[:19]}, {size:.0f} MB, "
            f"base {result.base.ref} ({result.base.how})"
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    from rich.table import Table

    table = Table("image", "frameworks", "extras", "tag", "built from")
    client = None
    try:
        from .build import connect

        client = connect(timeout=10)
    except ContainerError as exc:
        _console().print(f"[yellow]{exc}")
    for image in discover().values():
        state = "-"
        if client is not None:
            try:
                labels = client.images.get(image.tag).labels
                state = f"{labels.get(LABEL + '.git-sha', '?')[:12]} lock {labels.get(LABEL + '.lock-sha256', '?')[:8]}"
            except Exception:
                state = "not built"
        table.add_row(image.name, ",".join(image.spec.frameworks), ",".join(image.spec.extras), image.tag, state)
    _console().print(table)
    return 0


def _guard(func):
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except ContainerError as exc:  # user-facing: no traceback
            _console().print(f"[red]error:[/red] {exc}")
            return 2

    return run


def add_containers_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``containers`` (and its subcommands) on the harness CLI's subparsers."""
    parser = subparsers.add_parser("containers", help="build per-framework images", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="containers_command", metavar="SUBCOMMAND", required=True)

    boot = sub.add_parser("bootstrap-base", help="build the offline base image from Debian packages")
    boot.add_argument("--suite", default="bookworm", help="Debian release (its python3 decides the stand-in)")
    boot.add_argument("--tag", help="image tag (default: compressor/base:<suite>)")
    boot.add_argument("--mirror", help="Debian mirror URL (default: $DEBIAN_MIRROR or deb.debian.org)")
    boot.add_argument("--force", action="store_true", help="rebuild even when the tag exists")
    boot.set_defaults(func=_guard(_bootstrap))

    lock = sub.add_parser("lock", help="resolve and write containers/NAME/requirements.lock")
    lock.add_argument("names", nargs="*", metavar="NAME", help="image folders (default: all)")
    lock.set_defaults(func=_guard(_lock))

    build = sub.add_parser("build", help="build images (skipped when git sha, lock and sources are unchanged)")
    build.add_argument("names", nargs="*", metavar="NAME", help="image folders under containers/ (default: all)")
    build.add_argument(
        "--pip-source", choices=("wheelhouse", "network"), default="wheelhouse",
        help="wheelhouse: the lock's wheels downloaded on the host, no network in the build (default); "
        "network: pip reaches the index over the host network with the host CA bundle",
    )  # fmt: skip
    build.add_argument("--wheelhouse", metavar="DIR", help="wheel cache (default: ~/.cache/compressor/wheelhouse/NAME)")
    build.add_argument("--ca-bundle", metavar="PEM", help="CA bundle for --pip-source network (default: pip's cert)")
    build.add_argument("--base-image", metavar="IMAGE", help="FROM this image instead of the Dockerfile's default")
    build.add_argument("--force", action="store_true", help="build even when the image is up to date")
    build.add_argument("--no-cache", action="store_true", help="do not reuse Docker's layer cache")
    build.set_defaults(func=_guard(_build))

    listing = sub.add_parser("list", help="images, their frameworks and what they were built from")
    listing.set_defaults(func=_guard(_list))
    return parser

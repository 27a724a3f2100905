"""``harness setup``: install what the project needs from Debian (the zoo's data packages, numactl).

The Python packages come from pip (tox installs them); a few things only Debian ships: the Fashion-MNIST
and WordNet data the zoo trains on, and numactl, which pins benchmark processes. This command finds
what is missing and, when it runs as root on a machine with apt-get, installs it (``apt-get update``
once, then ``apt-get install``); otherwise it prints the exact commands and exits 1. ``--check`` only
reports. The tox environments that need the data run it first, and so does ``.ci/run``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

COMMANDS = {"numactl": ("numactl",), "chromium": ("chromium", "chromium-browser")}  # found on PATH


@dataclass(frozen=True)
class Requirement:
    name: str
    debian: str
    why: str

    def present(self) -> bool:
        if self.name in COMMANDS:
            return any(shutil.which(exe) for exe in COMMANDS[self.name])
        from models.datasets import is_available

        return is_available(self.name)


def requirements(browser: bool = False) -> list[Requirement]:
    from models.dataset_sources import DATASETS

    needed = [Requirement("numactl", "numactl", "pins benchmark processes to cores")]
    if browser:
        needed.append(Requirement("chromium", "chromium", "headless browser of the HTML report test (slow set)"))
    needed += [
        Requirement(info.name, info.debian, f"dataset of the zoo: {info.description}")
        for info in DATASETS.values()
        if info.debian
    ]
    return needed


def can_install() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt_install(packages: list[str]) -> int:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]):
        print("+ " + " ".join(argv), flush=True)
        done = subprocess.run(argv, env=env, check=False)
        if done.returncode != 0:
            return done.returncode
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    wanted = requirements(browser=args.browser)
    missing = [req for req in wanted if not req.present()]
    if not missing:
        print("harness setup: everything is present (" + ", ".join(r.name for r in wanted) + ")")
        return 0
    packages = sorted({req.debian for req in missing})
    for req in missing:
        print(f"missing: {req.name} (Debian package {req.debian}: {req.why})")
    if args.check or not can_install():
        why = "--check given" if args.check else "not root or no apt-get here"
        print(
            f"install them with ({why}):\n  apt-get update && apt-get install -y {' '.join(packages)}", file=sys.stderr
        )
        return 1
    code = apt_install(packages)
    still = [req.name for req in missing if not req.present()]
    if code != 0 or still:
        print(f"error: apt-get exited {code}; still missing: {', '.join(still) or 'none'}", file=sys.stderr)
        return 1
    print(f"harness setup: installed {' '.join(packages)}")
    return 0


def add_setup_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "setup",
        help="install the Debian packages the zoo and pinning need (data sets, numactl)",
        description="Find the Debian packages the project needs and install the missing ones with apt-get "
        "(as root); otherwise print the commands and exit 1.",
    )
    parser.add_argument("--check", action="store_true", help="only report what is missing (exit 1 if anything is)")
    parser.add_argument("--browser", action="store_true", help="also chromium, for the HTML report's browser test")
    parser.set_defaults(func=cmd_setup)
    return parser

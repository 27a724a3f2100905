"""Entry point of a job's subprocess: pin (sched_setaffinity), watch the parent, then run the job."""

from __future__ import annotations

import os
import sys
import threading
import time

PIN_ENV = "HARNESS_PIN_CPUS"


def _pin_from_env() -> None:
    cpus = os.environ.get(PIN_ENV)
    if cpus:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})


def _exit_with_parent() -> None:
    """A harness killed with SIGKILL cannot reap its workers: each notices and exits by itself."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(70)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


if __name__ == "__main__":
    _pin_from_env()  # before numpy/onnxruntime size their thread pools
    _exit_with_parent()
    from harness.runner import worker_main

    sys.exit(worker_main(*sys.argv[1:3]))

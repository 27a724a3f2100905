"""Run each job in its own subprocess on this machine, pinned to its cores.

A crash (any death without a row), an OOM kill or a timeout (the suite's per-job limit, enforced
by killing the worker's process group) becomes that job's row with its reason; the next job goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from compressor import pinning

from ..matrix import Job
from ..results import ResultRow, failure_row, row_from_dict
from . import Executor

PIN_ENV = "HARNESS_PIN_CPUS"
REPO = Path(__file__).resolve().parents[2]
STDERR_TAIL = 1500


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, pin: str | None = None, log_dir: str | os.PathLike | None = None) -> None:
        """``pin`` forces a pinning method (numactl | sched_setaffinity | none); default: the best available.
        ``log_dir`` keeps each worker's output (default: a temporary directory)."""
        super().__init__(log_dir)
        self.method = pinning.method(pin)
        self._live: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._cancelled = False

    def run(self, job: Job, cpus: tuple[int, ...]) -> ResultRow:  # type: ignore[valid-type]
        plan = pinning.Pinning(tuple(cpus), self.method)
        stem = job.job_id.replace("/", "_")
        job_file, row_file = self.log_dir / f"{stem}.job.json", self.log_dir / f"{stem}.row.json"
        log_file = self.log_dir / f"{stem}.log"
        job_file.write_text(job.to_json())
        row_file.unlink(missing_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        if plan.method == "sched_setaffinity":
            env[PIN_ENV] = ",".join(map(str, plan.cpus))
        argv = [*plan.argv_prefix, sys.executable, "-m", "harness.executors.worker", str(job_file), str(row_file)]
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        start = time.perf_counter()
        status, error = None, None
        with open(log_file, "wb") as log, self._lock:
            if self._cancelled:  # Ctrl-C came before this job started: start nothing
                return failure_row(job, "crashed", _death_reason(None, True), started_at=started_at,
                                   wall_seconds=0.0, cpus=cpus)  # fmt: skip
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            self._live[proc.pid] = proc
        try:
            proc.wait(timeout=job.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            status, error = "timeout", f"killed after the per-job limit of {job.timeout_s:g} s"
        finally:
            with self._lock:
                self._live.pop(proc.pid, None)
        wall = time.perf_counter() - start
        if status is None and row_file.exists() and proc.returncode == 0:
            row = row_from_dict(json.loads(row_file.read_text()))
        else:
            if status is None:
                status = "crashed"
                error = _death_reason(proc.returncode, self._cancelled) + _tail(log_file)
            row = failure_row(job, status, error, started_at=started_at, wall_seconds=wall, cpus=cpus)
        row.cpus = row.cpus or ",".join(map(str, cpus))
        row.pinning = plan.method
        return row

    def cancel(self) -> None:
        """Kill every running worker (Ctrl-C): finished rows are already on disk."""
        self._cancelled = True
        with self._lock:
            procs = list(self._live.values())
        for proc in procs:
            _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _death_reason(returncode: int | None, cancelled: bool) -> str:
    if cancelled:
        return "cancelled (harness interrupted)"
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"worker killed by {name}{hint}"
    return f"worker exited with code {returncode} without writing a result"


def _tail(log_file: Path) -> str:
    try:
        text = log_file.read_bytes()[-STDERR_TAIL:].decode(errors="replace").strip()
    except OSError:
        return ""
    return f"; output tail:\n{text}" if text else ""

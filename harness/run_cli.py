"""Expand a suite into its jobs, run them through an executor and store each row as it ends.

harness run suites/smoke.yaml --jobs 2 --results results/smoke
harness run suites/bench-cpu.yaml --resume --results results/nightly
"""

from __future__ import annotations

import argparse
import logging
import queue
import secrets
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from .executors import executor_names, get_executor
from .matrix import Job, expand
from .results import WORK_DIR, finished_job_ids, latest_statuses, write_row
from .spec import load_suite

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    run_id: str
    results_dir: Path
    statuses: dict[str, str] = field(default_factory=dict)  # job id → status
    skipped_done: list[str] = field(default_factory=list)  # already finished (--resume)
    failures_in_results: dict[str, str] = field(default_factory=dict)  # job id → status, this suite's jobs
    skipped_unsupported: list[tuple[str, str]] = field(default_factory=list)
    wall_seconds: float = 0.0
    interrupted: bool = False


def new_run_id(suite: str) -> str:
    return f"{suite}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def run_suite(
    suite_path: str | Path,
    *,
    executor: str | None = None,
    jobs: int | None = None,
    resume: bool = False,
    keep_failed: bool = False,
    results_dir: str | Path | None = None,
    progress: bool = True,
) -> RunSummary:
    """Run every job of the suite; each finished row is on disk before the next job is scheduled.

    ``executor``/``jobs`` override the suite's ``executor:`` section (its options then apply only when the
    kind is the suite's own). The executor prepares what the jobs need and says which core sets may run a
    job at once; this function only hands each free slot to the next job and stores the rows.
    """
    suite = load_suite(suite_path)
    matrix = expand(suite)
    results = Path(results_dir) if results_dir is not None else Path("results") / suite.name
    run_id = new_run_id(suite.name)
    summary = RunSummary(run_id, results, skipped_unsupported=list(matrix.skipped))
    done = finished_job_ids(results, keep_failed=keep_failed) if resume else set()
    work = results.resolve() / WORK_DIR
    todo = [replace(job, work_dir=str(work / job.content_key())) for job in matrix.jobs if job.job_id not in done]
    summary.skipped_done = [job.job_id for job in matrix.jobs if job.job_id in done]
    start = time.perf_counter()
    kind = executor or suite.executor.kind
    options = suite.executor.options if kind == suite.executor.kind else {}
    if options != suite.executor.options:
        log.info("--executor %s overrides the suite's executor %r: its options are not used", kind, suite.executor.kind)
    runner = get_executor(kind, log_dir=results / "_logs" / run_id, **options)
    runner.prepare(todo, progress)
    slots: queue.Queue = queue.Queue()
    for cores in runner.slots(todo, jobs or suite.executor.jobs):
        slots.put(cores)
    display = _Display(len(matrix.jobs), len(summary.skipped_done), enabled=progress)
    lock = threading.Lock()
    interrupted = threading.Event()

    def one(job: Job) -> None:
        cores = slots.get()
        display.started(job.job_id)
        try:
            row = runner.run(job, cores)
            if interrupted.is_set() and row.status != "ok":
                return  # killed by the interrupt, not by its own fault: no row, so --resume reruns it
            row.run_id = run_id
            write_row(results, row)
            with lock:
                summary.statuses[job.job_id] = row.status
            display.finished(job.job_id, row.status)
        finally:
            slots.put(cores)

    pool = ThreadPoolExecutor(max_workers=slots.qsize(), thread_name_prefix="harness-job")
    try:
        with display:
            futures = [pool.submit(one, job) for job in todo]
            for future in futures:
                while not future.done():
                    time.sleep(0.2)
                    display.tick()
                future.result()
    except KeyboardInterrupt:
        summary.interrupted = True
        interrupted.set()
        pool.shutdown(wait=False, cancel_futures=True)
        runner.cancel()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    summary.wall_seconds = time.perf_counter() - start
    mine = {job.job_id for job in matrix.jobs}
    summary.failures_in_results = {
        job: status for job, status in latest_statuses(results).items() if job in mine and status != "ok"
    }
    return summary


class _Display:
    """rich progress: jobs done/total, the jobs running now, elapsed time."""

    def __init__(self, total: int, already: int, enabled: bool) -> None:
        self.enabled = enabled
        self.running: list[str] = []
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("[bold]harness run"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}"),
            )  # fmt: skip
            self.task = self.progress.add_task("", total=total, completed=already)

    def __enter__(self):
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.progress.stop()

    def started(self, job_id: str) -> None:
        self.running.append(job_id)
        self._describe()

    def finished(self, job_id: str, status: str) -> None:
        self.running.remove(job_id)
        if self.enabled:
            self.progress.advance(self.task)
            if status != "ok":
                self.progress.console.print(f"[red]{job_id}: {status}")
        self._describe()

    def tick(self) -> None:
        if self.enabled:
            self.progress.refresh()

    def _describe(self) -> None:
        if self.enabled:
            self.progress.update(self.task, description="running: " + ", ".join(self.running))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _command(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops like Ctrl-C: workers killed, rows kept
    summary = run_suite(
        args.suite,
        executor=args.executor,
        jobs=args.jobs,
        resume=args.resume,
        keep_failed=args.keep_failed,
        results_dir=args.results,
        progress=not args.no_progress,
    )  # fmt: skip  (user errors are HarnessErrors: harness.cli prints them, exit 2)
    counts: dict[str, int] = {}
    for status in summary.statuses.values():
        counts[status] = counts.get(status, 0) + 1
    console.print(
        f"run {summary.run_id}: {len(summary.statuses)} job(s) in {summary.wall_seconds:.1f} s "
        f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items())) or 'none run'}); "
        f"{len(summary.skipped_done)} already done; results in {summary.results_dir}"
    )
    for job_id, reason in summary.skipped_unsupported:
        console.print(f"  skipped {job_id}: {reason}")
    if summary.interrupted:
        console.print("[yellow]interrupted: finished rows are kept; rerun with --resume")
        return 130
    earlier = {j: s for j, s in summary.failures_in_results.items() if j not in summary.statuses}
    for job_id, status in sorted(earlier.items()):
        console.print(f"  [red]{job_id}: {status}[/red] (an earlier run's row, kept by --keep-failed)")
    return 0 if not summary.failures_in_results else 1


def add_run_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``run`` on the harness CLI's subparsers."""
    parser = subparsers.add_parser("run", help="run a benchmark suite", description=__doc__.splitlines()[0])
    parser.add_argument("suite", metavar="SUITE", help="suite YAML file (see suites/)")
    parser.add_argument(
        "--executor", choices=executor_names(), help="where jobs run (default: the suite's executor.kind, else local)"
    )
    parser.add_argument(
        "--jobs", type=_positive, metavar="K", help="jobs run at once on disjoint cores (default: the suite's, else 1)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="skip jobs whose latest row in --results is ok; rerun the others"
    )
    parser.add_argument(
        "--keep-failed",
        action="store_true",
        help="with --resume: skip failed, crashed and timed-out jobs too (the exit code still counts them)",
    )
    parser.add_argument("--results", metavar="DIR", help="results directory (default: results/<suite name>)")
    parser.add_argument("--no-progress", action="store_true", help="no live progress display")
    parser.set_defaults(func=_command)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.run_cli SUITE ...``: the same as ``harness run SUITE ...``."""
    from .cli import main as harness_main

    return harness_main(["run", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    raise SystemExit(main())

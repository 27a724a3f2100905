"""``harness report`` and ``harness compare``: registered on the harness parser by ``harness.cli``.

Each parsed namespace carries ``func(args) -> int``. User errors (bad path, unreadable results,
unparseable check) print one line to stderr and return 2; ``compare`` returns 1 on a regression.
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_REGRESSION, EXIT_USER_ERROR = 0, 1, 2


def add_report_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report",
        help="render report.md and a self-contained report.html (tables, Pareto and cost charts)",
        description="Render RESULTS (a parquet results directory) to Markdown and HTML with PNG charts.",
    )
    parser.add_argument("results", metavar="RESULTS", help="results directory or parquet file")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="directory to write the report into")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 (after writing the report) when any job did not finish ok"
    )
    parser.set_defaults(func=cmd_report)
    return parser


def add_compare_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare",
        help="regression gate: diff two result sets job by job; exit 1 on a regression",
        description=(
            "Compare CURRENT against BASELINE, matching jobs by job_id. Exit codes: 0 no regression, "
            "1 the gate fails (a regression, a new or persisting failure, a job absent from CURRENT, or a value "
            "that cannot be compared: missing, or measured on other eval examples), 2 usage error (including "
            "results of another schema). Check syntax: METRIC:NUMBER (absolute; accuracy in percentage points) "
            "or METRIC:NUMBER% (relative), METRIC one of accuracy, throughput, latency."
        ),
    )
    parser.add_argument("baseline", metavar="BASELINE", help="baseline results directory or parquet file")
    parser.add_argument("current", metavar="CURRENT", help="current results directory or parquet file")
    parser.add_argument(
        "--accuracy", default="0.5", metavar="LIMIT", help="max accuracy drop: points, or N%% relative (default 0.5)"
    )
    parser.add_argument(
        "--throughput", default="5%", metavar="LIMIT", help="max throughput drop: N%% or samples/s (default 5%%)"
    )
    parser.add_argument(
        "--fail-on",
        action="append",
        default=[],
        metavar="CHECK[,CHECK]",
        help="extra or overriding checks, e.g. latency:10%%",
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="jobs of BASELINE absent from CURRENT do not fail the gate (a partial rerun); still listed",
    )
    parser.add_argument(
        "--noise-k",
        type=float,
        default=3.0,
        metavar="K",
        help="timing limits widen to K x the run-to-run spread measured from repeats (default 3)",
    )
    parser.set_defaults(func=cmd_compare)
    return parser


def cmd_report(args: argparse.Namespace) -> int:
    from reports.render import write_report

    try:
        files = write_report(args.results, args.output)
    except OSError as exc:
        return _user_error(exc)
    print(f"wrote {files.markdown} and {files.html} ({len(files.images)} charts)")
    if files.failed_jobs:
        print(f"{len(files.failed_jobs)} job(s) did not finish ok: {', '.join(files.failed_jobs)}", file=sys.stderr)
        if args.strict:
            return EXIT_REGRESSION
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """User errors (bad check, unreadable results) are HarnessErrors: ``harness.cli`` prints them, exit 2."""
    from .compare import compare
    from .errors import CheckSyntaxError

    checks, fail_on_missing = build_checks(args.accuracy, args.throughput, args.fail_on)
    fail_on_missing = fail_on_missing or not args.allow_missing  # `--fail-on missing` is the default now
    if args.noise_k < 0:
        raise CheckSyntaxError(f"--noise-k must be >= 0, got {args.noise_k:g}")
    result = compare(args.baseline, args.current, checks, noise_k=args.noise_k, fail_on_missing=fail_on_missing)
    print(result.to_markdown(), end="")
    return EXIT_REGRESSION if result.regressed else EXIT_OK


def build_checks(accuracy: str, throughput: str, fail_on: list[str]) -> tuple[list, bool]:
    """Checks from ``--accuracy``/``--throughput`` then ``--fail-on`` (a later check on a metric replaces the earlier)."""
    from .compare import parse_check

    by_metric = {}
    fail_on_missing = False
    specs = [f"accuracy:{accuracy}", f"throughput:{throughput}"]
    specs += [part for item in fail_on for part in item.split(",") if part.strip()]
    for spec in specs:
        if spec.strip().lower() == "missing":
            fail_on_missing = True
            continue
        check = parse_check(spec)
        by_metric[check.metric] = check
    return list(by_metric.values()), fail_on_missing


def _user_error(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return EXIT_USER_ERROR

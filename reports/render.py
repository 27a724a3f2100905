"""``report.md`` and a self-contained ``report.html`` (PNG charts inlined as data URIs) from results."""

from __future__ import annotations

import base64
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from jinja2 import Environment as Jinja
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape

from .cells import MISSING, fmt
from .environment import summarize_environment
from .frame import aggregate_repeats, fp32_ops_count, is_fp32_baseline, load_results
from .plots import pareto_plot, strategy_plot, tuning_cost_plot
from .strategies import AGGREGATE_HEADER, ROW_HEADER, strategy_summary

TEMPLATES = Path(__file__).with_name("templates")
TABLE_HEADER = (
    "Optimization method",
    "Top 1 accuracy",
    "Top 1 relative accuracy loss [%]",
    "Tuning cost [s]",
    "Trials",
    "Latency p50 [ms]",
    "Speedup vs fp32",
    "Speedup vs fp32 optimized",
    "Ops kept in fp32",
    "Training [s]",
    "Notes",
)


# Left-aligned (text) columns of the HTML and Markdown tables; every other column holds numbers.
TEXT_COLUMNS = frozenset(
    {"Optimization method", "Notes", "Model", "Framework", "Technique", "Strategy", "Met criterion"}
)


@dataclass(frozen=True)
class TableRow:
    cells: list[str]
    failed: bool = False  # the job did not finish ok: the row says so (Notes) instead of going missing


@dataclass(frozen=True)
class ModelSection:
    title: str
    slug: str
    rows: list[TableRow]  # every job of the table in suite order, failed ones included
    n_ok: int
    failed: list[dict[str, str]]
    pareto_png: str | None
    max_repeats: int


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    html: Path
    images: list[Path]
    failed_jobs: tuple[str, ...] = ()  # jobs whose (folded) row is not ok; listed in the report


def write_report(results: pd.DataFrame | str | os.PathLike, out_dir: str | os.PathLike) -> ReportFiles:
    """Render ``report.md``, ``report.html`` and the PNGs they show into ``out_dir`` (created)."""
    jobs = aggregate_repeats(load_results(results)).sort_values("suite_position", kind="stable")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images: list[Path] = []
    sections = []
    for (model, framework), by_model in jobs.groupby(["model", _framework_key(jobs)], sort=False, dropna=False):
        for suffix, group in eval_sets(by_model):  # one table per set of eval examples
            title = (f"{model} ({framework})" if framework else str(model)) + suffix
            slug = _slug(title)
            shown = fp32_speedups_by_definition(group)
            png = pareto_plot(shown, f"{title}: accuracy loss vs speedup", out / f"pareto_{slug}.png")
            if png:
                images.append(png)
            ok = group["status"] == "ok"
            sections.append(
                ModelSection(
                    title=title,
                    slug=slug,
                    rows=[TableRow(table_row(row), row["status"] != "ok") for _, row in shown.iterrows()],
                    n_ok=int(ok.sum()),
                    failed=[_failure(row) for _, row in group[~ok].iterrows()],
                    pareto_png=png.name if png else None,
                    max_repeats=int(group["repeats"].max()),
                )
            )
    cost_png = tuning_cost_plot(jobs, out / "tuning_cost.png")
    if cost_png:
        images.append(cost_png)
    summary = strategy_summary(jobs)
    strategy_png = strategy_plot(summary.frame, out / "strategies.png") if summary else None
    if strategy_png:
        images.append(strategy_png)
    context = {
        "header": TABLE_HEADER,
        "sections": sections,
        "cost_png": cost_png.name if cost_png else None,
        "strategies": summary,
        "strategy_header": ROW_HEADER,
        "aggregate_header": AGGREGATE_HEADER,
        "strategy_png": strategy_png.name if strategy_png else None,
        "env": summarize_environment(jobs),
        "run_ids": sorted({str(r) for r in jobs["run_id"].dropna()}),
        "n_jobs": len(jobs),
        "n_failed": int((jobs["status"] != "ok").sum()),
    }
    md_path, html_path = out / "report.md", out / "report.html"
    md_path.write_text(_jinja(autoescape=False).get_template("report.md.j2").render(**context), encoding="utf-8")
    html = _jinja(autoescape=True).get_template("report.html.j2")
    inline = {p.name: _data_uri(p) for p in images}
    html_path.write_text(html.render(images=inline, **context), encoding="utf-8")
    failed = tuple(sorted(str(j) for j in jobs.loc[jobs["status"] != "ok", "job_id"]))
    return ReportFiles(markdown=md_path, html=html_path, images=images, failed_jobs=failed)


def eval_sets(group: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``group`` split by the eval examples its rows were measured on (``eval_digest``), largest set first:
    accuracy, relative loss and the Pareto front only compare rows of one set. Rows without a digest
    (failed jobs) go with the first set; with a single set the title gets no suffix."""
    digests = group["eval_digest"].dropna()
    order = list(digests.value_counts(sort=True).index) if len(digests) else []
    if len(order) <= 1:
        return [("", group)]
    out = []
    for i, digest in enumerate(order):
        part = group[(group["eval_digest"] == digest) | (group["eval_digest"].isna() if i == 0 else False)]
        n = part["eval_examples"].dropna()
        size = f"{int(n.iloc[0])} eval examples" if len(n) else "eval examples"
        out.append((f" — {size} ({digest[:8]})", part))
    return out


def fp32_speedups_by_definition(jobs: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``jobs`` for display: the fp32 row's speedup vs fp32 (and the fp32_optimized row's speedup
    vs fp32 optimized) is 1 by definition. Both are measured A/B against the model itself, so noise can make
    them read 0.98; the measured value stays in ``self_speedup_measured`` (a note) and in the results."""
    shown = jobs.copy()
    shown["self_speedup_measured"] = math.nan
    for column, kind in (("speedup_vs_fp32", "fp32"), ("speedup_vs_fp32_optimized", "fp32_optimized")):
        self_rows = [row["status"] == "ok" and is_fp32_baseline(row, kind) for _, row in shown.iterrows()]
        mask = pd.Series(self_rows, index=shown.index, dtype=bool)
        shown.loc[mask, "self_speedup_measured"] = shown.loc[mask, column]
        shown.loc[mask, column] = 1.0
    return shown


def table_row(row: pd.Series) -> list[str]:
    """One seed-002 table row as display strings; unknown values show as an em dash."""
    ops = fp32_ops_count(row.get("fp32_ops"))
    return [
        str(row["method"]),
        fmt(row["accuracy"], "{:.4f}"),
        fmt(100.0 * row["relative_loss"], "{:.2f}"),
        fmt(row["tuning_seconds"], "{:.2f}"),
        fmt(row["trials"], "{:.0f}"),
        fmt(row["latency_ms_p50"], "{:.3f}"),
        fmt(row["speedup_vs_fp32"], "{:.2f}"),
        fmt(row["speedup_vs_fp32_optimized"], "{:.2f}"),
        MISSING if ops is None else str(ops),
        _training(row),
        _notes(row),
    ]


def _training(row: pd.Series) -> str:
    seconds = fmt(row.get("train_seconds"), "{:.1f}")
    epochs = fmt(row.get("train_epochs"), "{:.0f}")
    return seconds if epochs == MISSING else f"{seconds} ({epochs} ep)"


def _notes(row: pd.Series) -> str:
    """A job that did not finish or did not meet its criterion; sparsity of pruned models; whether bf16/fp16
    runs natively or is emulated (no speedup expected); what a baseline's A/B against itself measured."""
    notes = []
    status = str(row["status"])
    if status != "ok":
        notes.append("failed" if status == "failed" else f"failed: {status}")
    elif _is_false(row.get("met_criterion")):
        notes.append("criterion not met")
    sparsity = fmt(row.get("sparsity"), "{:.1%}")
    if sparsity != MISSING:
        notes.append(f"sparsity {sparsity}")
    verdict = row.get("hardware_verdict")
    if isinstance(verdict, str) and verdict:
        notes.append(verdict.split(":", 1)[0])  # "native bf16" / "emulated"
    measured = fmt(row.get("self_speedup_measured"), "{:.2f}")
    if measured not in (MISSING, "1.00"):
        notes.append(f"1.00 by definition (A/B vs itself: {measured})")
    return "; ".join(notes) or MISSING


def _is_false(value: object) -> bool:
    return value is not None and not pd.isna(value) and not bool(value)


def _failure(row: pd.Series) -> dict[str, str]:
    error = row.get("error")
    reason = "no error recorded" if error is None or (isinstance(error, float) and math.isnan(error)) else str(error)
    return {"method": str(row["method"]), "job_id": str(row["job_id"]), "status": str(row["status"]), "error": reason}


def _framework_key(jobs: pd.DataFrame) -> pd.Series:
    return jobs["framework"].fillna("").astype(str)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "model"


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _md_cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _jinja(autoescape: bool) -> Jinja:
    env = Jinja(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html.j2"]) if autoescape else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md_cell
    env.filters["numeric"] = lambda header: [name not in TEXT_COLUMNS for name in header]
    return env

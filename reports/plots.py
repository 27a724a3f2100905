"""PNG charts for the report: a Pareto plot per model, the tuning cost per strategy and the strategy summary.

Uses the Agg backend explicitly so rendering works headless and never opens a window.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .pareto import pareto_front  # noqa: E402


def pareto_plot(jobs: pd.DataFrame, title: str, path: Path) -> Path | None:
    """Accuracy loss [%] against speedup vs fp32 for one model's ok jobs; None when nothing to plot."""
    data = jobs[(jobs["status"] == "ok")].dropna(subset=["relative_loss", "speedup_vs_fp32"])
    if data.empty:
        return None
    speedups = [float(s) for s in data["speedup_vs_fp32"]]
    losses = [100.0 * float(v) for v in data["relative_loss"]]
    labels = list(data["method"])
    front = pareto_front(list(zip(speedups, losses, strict=True)))

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    on_front = set(front)
    for i, (x, y) in enumerate(zip(speedups, losses, strict=True)):
        ax.scatter(x, y, s=46, zorder=3, color="tab:red" if i in on_front else "tab:blue", edgecolor="black", lw=0.5)
    if len(front) > 1:
        ax.plot([speedups[i] for i in front], [losses[i] for i in front], "--", color="tab:red", lw=1.2, zorder=2)
    ax.plot([], [], "--o", color="tab:red", label="Pareto front")
    ax.scatter([], [], color="tab:blue", edgecolor="black", lw=0.5, label="dominated")

    if max(losses) > 20 and min(abs(v) for v in losses) < 2:
        # A naive int8 at 70 % loss would squash every useful point onto the x axis.
        ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("speedup vs fp32 [x] (higher is better)")
    ax.set_ylabel("top-1 relative accuracy loss [%] (lower is better)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.axhline(0, color="grey", lw=0.6)
    _pad_limits(ax, speedups, losses)
    _place_labels(fig, ax, speedups, losses, labels)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def tuning_cost_plot(jobs: pd.DataFrame, path: Path) -> Path | None:
    """Grouped bars of tuning seconds and trials per strategy (one bar per model); None without tuned jobs."""
    tuned = jobs[jobs["strategy"].notna() & (jobs["strategy"] != "")]
    tuned = tuned.dropna(subset=["tuning_seconds"], how="all")
    if tuned.empty:
        return None
    # in the order the jobs come (the report passes them in suite order)
    strategies = list(dict.fromkeys(tuned["strategy"].astype(str)))
    models = list(dict.fromkeys(tuned["model"].astype(str)))
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.6 * len(strategies) + 5), 4.5), dpi=110)
    width = 0.8 / len(models)
    any_failed = False
    for metric, ax, unit in ((("tuning_seconds"), axes[0], "tuning cost [s]"), ("trials", axes[1], "trials")):
        for m, model in enumerate(models):
            sub = tuned[tuned["model"].astype(str) == model]
            heights, failed = [], []
            for strategy in strategies:
                cell = sub[sub["strategy"].astype(str) == strategy]
                vals = cell[metric].dropna()
                # No job for this (model, strategy): no bar, rather than a bar at 0 that reads as "free".
                heights.append(float(vals.median()) if len(vals) else math.nan)
                failed.append(bool(len(cell)) and bool((cell["status"] != "ok").all()))
            xs = [k + (m - (len(models) - 1) / 2) * width for k in range(len(strategies))]
            bars = ax.bar(xs, heights, width=width * 0.95, label=model, color=f"C{m}", edgecolor="black", lw=0.4)
            # A strategy that timed out still cost this much: show it, hatched, rather than hide it.
            for bar, fail in zip(bars, failed, strict=True):
                if fail:
                    bar.set_hatch("///")
            labels = [
                "" if math.isnan(h) else f"{h:.0f}" if metric == "trials" or h >= 100 else f"{h:.1f}" for h in heights
            ]
            ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
            any_failed = any_failed or any(failed)
        ax.set_xticks(range(len(strategies)), strategies, rotation=20 if len(strategies) > 5 else 0)
        ax.set_ylabel(unit)
        ax.set_title(unit.split(" [")[0] + " by strategy")
        ax.grid(True, axis="y", alpha=0.3)
        ax.margins(y=0.15)
    handles, labels = axes[1].get_legend_handles_labels()
    if any_failed:
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="///"))
        labels.append("no passing plan (failed/timeout)")
    axes[1].legend(handles, labels, title="model", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def strategy_plot(tuned: pd.DataFrame, path: Path) -> Path | None:
    """Criterion met per strategy (bars, "k/n") beside trials against speedup of each finished tuned job.

    ``tuned`` is ``StrategySummary.frame``: columns ``strategy_label``, ``met``, ``finished``, ``trials``,
    ``speedup_vs_fp32``. A job that did not meet the criterion is a hollow marker; one that did not finish
    has no speedup and shows only in the bars (its n). None without tuned jobs.
    """
    if tuned.empty:
        return None
    strategies = list(dict.fromkeys(tuned["strategy_label"].astype(str)))
    fig, (bars_ax, scatter_ax) = plt.subplots(1, 2, figsize=(max(9, 1.2 * len(strategies) + 6), 4.5), dpi=110)
    rates, labels = [], []
    for strategy in strategies:
        group = tuned[tuned["strategy_label"] == strategy]
        met, n = int(group["met"].sum()), len(group)
        rates.append(100.0 * met / n)
        labels.append(f"{met}/{n}")
    bars = bars_ax.bar(
        range(len(strategies)), rates, color=[f"C{i}" for i in range(len(strategies))], edgecolor="black"
    )
    bars_ax.bar_label(bars, labels=labels, fontsize=8, padding=2)
    bars_ax.set_xticks(range(len(strategies)), strategies, rotation=20 if len(strategies) > 5 else 0)
    bars_ax.set_ylim(0, 115)
    bars_ax.set_ylabel("jobs that met the accuracy criterion [%]")
    bars_ax.set_title("criterion met by strategy")
    bars_ax.grid(True, axis="y", alpha=0.3)

    finished = tuned[tuned["finished"]].dropna(subset=["trials", "speedup_vs_fp32"])
    for i, strategy in enumerate(strategies):
        group = finished[finished["strategy_label"] == strategy]
        label = strategy
        for met, face in ((True, f"C{i}"), (False, "none")):
            part = group[group["met"] == met]
            if len(part):
                scatter_ax.scatter(
                    part["trials"], part["speedup_vs_fp32"], s=48, facecolors=face, edgecolors=f"C{i}", lw=1.4,
                    label=label, zorder=3,
                )  # fmt: skip
                label = None
    if len(finished) and finished["trials"].max() / max(finished["trials"].min(), 1) > 20:
        scatter_ax.set_xscale("log")
    scatter_ax.margins(0.12)
    scatter_ax.axhline(1.0, color="grey", lw=0.6)
    scatter_ax.set_xlabel("trials")
    scatter_ax.set_ylabel("speedup vs fp32 [x]")
    scatter_ax.set_title("trials vs speedup (hollow: criterion not met)")
    scatter_ax.grid(True, alpha=0.3)
    if len(finished):
        scatter_ax.legend(title="strategy", fontsize=8)
    else:
        scatter_ax.text(0.5, 0.5, "no tuned job finished", ha="center", va="center", transform=scatter_ax.transAxes)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _pad_limits(ax, xs: list[float], ys: list[float]) -> None:
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or max(hi, 1.0) * 0.2
    # Labels go to the right of points: leave room for them.
    ax.set_xlim(lo - 0.08 * span, hi + 0.45 * span)
    if ax.get_yscale() == "linear":
        ylo, yhi = min(ys + [0.0]), max(ys + [0.0])
        yspan = (yhi - ylo) or 1.0
        ax.set_ylim(ylo - 0.1 * yspan, yhi + 0.15 * yspan)
    else:
        ax.set_ylim(min(min(ys), 0.0) - 0.3, max(ys) * 1.8)


def _place_labels(fig, ax, xs: list[float], ys: list[float], labels: list[str]) -> None:
    """Label each point to its right, then push overlapping labels down until none overlap."""
    texts = [
        ax.annotate(label, (x, y), xytext=(7, 0), textcoords="offset points", fontsize=8, va="center")
        for x, y, label in zip(xs, ys, labels, strict=True)
    ]
    renderer = fig.canvas.get_renderer()
    px_per_pt = fig.dpi / 72.0
    # Top-to-bottom in screen space, so each label only has to avoid those already placed above it.
    order = sorted(range(len(texts)), key=lambda i: -ax.transData.transform((xs[i], ys[i]))[1])
    placed = []
    for i in order:
        text = texts[i]
        for _ in range(60):
            box = text.get_window_extent(renderer).expanded(1.0, 1.1)
            clash = next((b for b in placed if box.overlaps(b)), None)
            if clash is None:
                break
            shift_pt = (box.y1 - clash.y0 + 1) / px_per_pt
            dx, dy = text.xyann
            text.xyann = (dx, dy - shift_pt)
        placed.append(text.get_window_extent(renderer))
        if abs(text.xyann[1]) > 3:
            ax.annotate(
                "",
                xy=(xs[i], ys[i]),
                xytext=text.xyann,
                textcoords="offset points",
                arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.5},
            )

"""The report of a benchmark: results.md (table, rliable statistics, curves), results.csv, results.json."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.harness.aggregate import across_seeds
from agents.harness.evaluation import format_ci, t_interval
from agents.harness.rundir import path_inside, read_eval_rows, write_atomic, write_figure
from hrm_mazes.seeds import TEST

METRIC_NAMES = {"success_rate": "greedy success", "mean_length": "mean episode length"}
# The learning curves of a benchmark report: (metric, x axis).
CURVES = (
    ("success_rate", "env_steps"),
    ("success_rate", "optimizer_steps"),
    ("success_rate", "wall_time_s"),
    ("mean_length", "optimizer_steps"),
    ("mean_length", "wall_time_s"),
)


def write_report(
    out: Path, suite: dict[str, Any], runs: list[dict], references: list[dict], device: str, missing: Sequence[str] = ()
) -> None:
    """results.md, results.csv, results.json and the learning curves of :data:`CURVES` in curves/.

    Next to the mean and t interval of each label, the rliable statistics over seeds (:mod:`agents.harness.aggregate`):
    IQM with its stratified-bootstrap CI, and P(X > Y) for the suite's ``compare`` pairs (default: every pair).
    ``missing`` names the suite's trials not finished yet (a partial report, ``--report-only``): the report says
    so at its top and in results.json, and compares only pairs whose labels both have runs.
    """
    from agents.harness.aggregate import aggregate_runs, markdown_sections

    compare = suite.get("compare")
    if compare is not None:
        present = {r["label"] for r in runs}
        compare = [pair for pair in compare if all(label in present for label in pair)]
    aggregates = aggregate_runs(runs, compare)
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["label"], r["env_id"]), []).append(r)
    rows = []
    for (label, env_id), members in groups.items():
        agg = across_seeds(members)
        rows.append(
            {
                "label": label,
                "env_id": env_id,
                "n_seeds": len(members),
                "env_steps": int(np.mean([m["env_steps"] for m in members])),
                "optimizer_steps": int(np.mean([m["optimizer_steps"] for m in members])),
                "train_wall_time_s": float(np.mean([m["train_wall_time_s"] for m in members])),
                "device": members[0]["device"],
                **{k: agg[k] for k in ("success_rate", "mean_length", "path_efficiency") if k in agg},
            }
        )
    rows += [summary_row(ref["label"], ref["env_id"], ref) for ref in references]
    md = [f"# Benchmark: {suite['name']}", ""]
    if missing:
        md += [f"**Partial report: {len(runs)} of {len(runs) + len(missing)} trials finished.** Not run yet: "
               f"{'; '.join(missing)}. `hrm-mazes benchmark --resume` on this suite and folder runs them and rewrites "
               "this report.", ""]  # fmt: skip
    md.append(
        f"Greedy evaluation on {suite['final_episodes']} held-out seeded episodes per run (test seeds {TEST.start:,}+); "
        f"mean and 95% CI over training seeds (Student-t; a single seed shows its within-run Wilson / bootstrap CI). "
        f"Path efficiency = oracle steps / agent steps on the same episode, over episodes both solved. "
        f"Device: {device}. Wall-clock: training time per run."
    )
    for env_id in suite["envs"]:
        md += ["", f"## {env_id}", "", markdown_table([r for r in rows if r["env_id"] == env_id])]
        md += markdown_sections(aggregates, env_id)
        curves = {label: [read_eval_rows(Path(m["run_dir"]) / "evaluations.csv") for m in members] for (label, e), members in groups.items() if e == env_id}
        curve_dir = out / "curves"
        for metric, x_key in CURVES:
            refs = {r["label"]: r[metric] for r in references if r["env_id"] == env_id}
            png = curve_dir / (f"{env_id}_{x_key}.png" if metric == "success_rate" else f"{env_id}_{metric}_{x_key}.png")
            what = METRIC_NAMES[metric]
            plot_curves(curves, refs, png, x_key, f"{env_id}: {what} vs {x_key.replace('_', ' ')}", metric=metric)
            md += ["", f"![{env_id} {what} vs {x_key}](curves/{png.name})"]
    write_atomic(out / "results.md", "\n".join(md) + "\n")
    table = io.StringIO()
    fields = ["label", "env_id", "seed", "env_steps", "optimizer_steps", "train_wall_time_s", "device", "episodes",
              "success_rate", "success_lo", "success_hi", "mean_length", "path_efficiency"]  # fmt: skip
    writer = csv.DictWriter(table, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for r in [*runs, *references]:
        writer.writerow({**r, "success_lo": r["success_ci"][0], "success_hi": r["success_ci"][1]})
    write_atomic(out / "results.csv", table.getvalue())
    write_atomic(
        out / "results.json",
        json.dumps(
            {"suite": suite, "device": device, "summary": rows, "aggregates": aggregates,
             "runs": [{**r, "run_dir": path_inside(r["run_dir"], out)} for r in runs], "references": references,
             "missing": list(missing)},
            indent=1,
            default=str,
        ),
    )


def summary_row(label: str, env_id: str, summary: dict[str, Any], budget: dict[str, Any] | None = None) -> dict[str, Any]:
    """The table row of one evaluation ``summary`` (a reference player's, or one trained agent's with its
    ``budget``: ``env_steps``, ``optimizer_steps``, ``train_wall_time_s``, optionally ``device``)."""
    budget = budget or {}
    return {
        "label": label,
        "env_id": env_id,
        "n_seeds": 1 if budget else 0,
        "env_steps": budget.get("env_steps", 0),
        "optimizer_steps": budget.get("optimizer_steps", 0),
        "train_wall_time_s": budget.get("train_wall_time_s", 0.0),
        "device": budget.get("device", "-"),
        "success_rate": {"mean": summary["success_rate"], "ci": summary["success_ci"]},
        "mean_length": {"mean": summary["mean_length"], "ci": summary["length_ci"]},
        "path_efficiency": {"mean": summary["path_efficiency"], "ci": summary["efficiency_ci"]},
    }


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """One line per agent: success, length, path efficiency (mean [95% CI]), budget and wall-clock."""
    lines = [
        "| agent | seeds | env steps | optimizer steps | success rate | mean length | path efficiency | train time |",
        "| --- | ---: | ---: | ---: | --- | --- | --- | ---: |",
    ]
    def cell(r: dict[str, Any], metric: str, percent: bool = False, digits: int = 1) -> str:
        m = r.get(metric)
        return "-" if not m else format_ci(m["mean"], m["ci"], percent=percent, digits=digits)

    for r in rows:

        budget = (f"{r['env_steps']:,}", f"{r['optimizer_steps']:,}", f"{r['train_wall_time_s']:.0f} s") if r["n_seeds"] else ("-", "-", "-")
        lines.append(
            f"| {r['label']} | {r['n_seeds'] or '-'} | {budget[0]} | {budget[1]} | {cell(r, 'success_rate', True)} | "
            f"{cell(r, 'mean_length')} | {cell(r, 'path_efficiency', digits=3)} | {budget[2]} |"
        )
    return "\n".join(lines)


def plot_curves(
    curves: dict[str, list[list[dict[str, float]]]],
    references: dict[str, dict[str, Any] | float],
    path: Path,
    x_key: str,
    title: str,
    metric: str = "success_rate",
) -> Path:
    """``metric`` (greedy success, or mean episode length) vs ``x_key``: per label the mean over seeds with a 95%
    t band (one seed: its Wilson band for success); references as horizontal lines. The PNG is written whole
    (:func:`~agents.harness.rundir.write_whole`): a full disk is a one-line :class:`UserError` naming ``path``.

    :param curves: label -> one list of evaluation rows (``evaluations.csv``) per seed.
    :param references: label -> the reference's value of ``metric`` (a number, or a dict with ``mean``).
    """
    if metric not in METRIC_NAMES:
        raise ValueError(f"metric must be one of {list(METRIC_NAMES)}, got {metric!r}")
    scale = 100.0 if metric == "success_rate" else 1.0
    from matplotlib.figure import Figure  # (not pyplot: no global figure to close, no backend to switch)

    fig = Figure(figsize=(6.4, 4.0), dpi=110)
    ax = fig.subplots()
    for label, seeds in curves.items():
        seeds = [s for s in seeds if s]
        if not seeds:
            continue
        n = min(len(s) for s in seeds)
        x = np.mean([[row[x_key] for row in s[:n]] for s in seeds], axis=0)
        y = np.array([[row[metric] for row in s[:n]] for s in seeds])
        mean = y.mean(axis=0)
        (line,) = ax.plot(x, scale * mean, marker="o", markersize=3, label=f"{label} (n={len(seeds)})")
        if len(seeds) >= 2:
            bands = np.array([t_interval(y[:, j]) for j in range(n)])
            if metric == "success_rate":
                bands = np.clip(bands, 0.0, 1.0)
            ax.fill_between(x, scale * bands[:, 0], scale * bands[:, 1], color=line.get_color(), alpha=0.2)
        elif metric == "success_rate":
            ax.fill_between(x, [100 * r["success_lo"] for r in seeds[0][:n]], [100 * r["success_hi"] for r in seeds[0][:n]],
                            color=line.get_color(), alpha=0.15)  # fmt: skip
    styles = {"oracle": ("black", "--"), "random": ("grey", ":")}
    for label, value in references.items():
        mean = value["mean"] if isinstance(value, dict) else float(value)
        if not math.isnan(mean):
            colour, style = styles.get(label, ("grey", "-."))
            ax.axhline(scale * mean, color=colour, linestyle=style, linewidth=1, label=label)
    ax.set_xlabel(x_key.replace("_", " "))
    if metric == "success_rate":
        ax.set_ylabel("greedy success rate (%)")
        ax.set_ylim(-2, 102)
    else:
        ax.set_ylabel("mean episode length (steps)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()

    return write_figure(fig, path)

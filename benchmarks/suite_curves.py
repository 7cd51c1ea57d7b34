"""The learning curves of a committed benchmark as numbers: mean greedy success over seeds at every periodic
evaluation, the IQM over seeds at every evaluation with its stratified-bootstrap band, the updates each seed
needed to first reach given success rates, and the area under each seed's curve compared across labels with
rliable's statistics.

"Learns faster" is a statement about the whole curve, not its last point. The area under a seed's curve is
summarised as the mean of its periodic success rates (every evaluation counts the same; they are equally spaced
in env steps); over seeds it gets the same IQM, stratified-bootstrap CI and P(X > Y) as the final evaluations in
the benchmark's own report (:mod:`agents.harness.aggregate`). Reads ``DIR/runs/<label>/<env id>/seed*/
evaluations.csv`` and ``DIR/results.json`` (for the suite's ``compare`` pairs); prints markdown, and with
``--plot`` draws the IQM curves with their 95% bands (one PNG per env, ``<env id>_iqm.png`` in that folder)::

    python benchmarks/suite_curves.py --suite results/carry-cpu [--plot results/carry-cpu/curves]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agents.errors import UserError
from agents.harness.aggregate import aggregate_runs, ci_text, iqm, iqm_interval
from agents.harness.rundir import read_eval_rows, write_figure


def load_curves(suite: Path, finished_only: bool = True) -> dict[str, dict[str, dict[int, list[dict]]]]:
    """``{env id: {label: {seed: evaluation rows}}}`` of the suite's runs. With ``finished_only`` and a report
    (``results.json``, also a partial one of ``--report-only``), only the runs the report holds: a suite still
    running (or stopped) has trials with half a curve, which would read as seeds that never learned."""
    report = suite / "results.json"
    finished = None
    if finished_only and report.is_file() and "runs" in (data := json.loads(report.read_text())):
        finished = {(r["label"], r["env_id"], int(r["seed"])) for r in data["runs"]}
    curves: dict[str, dict[str, dict[int, list[dict]]]] = {}
    for path in sorted(suite.glob("runs/*/*/seed*/evaluations.csv")):
        label, env_id, seed = path.parts[-4], path.parts[-3], int(path.parts[-2].removeprefix("seed"))
        if finished is None or (label, env_id, seed) in finished:
            curves.setdefault(env_id, {}).setdefault(label, {})[seed] = read_eval_rows(path)
    return curves


def point_table(runs: dict[str, dict[int, list[dict]]], heading: str, cell: Callable[[str, int], str]) -> list[str]:
    """A table with one row per evaluation point (optimizer steps, env steps) and one column per label, headed
    ``<label>: <heading>``; ``cell(label, env_steps)`` writes each cell."""
    labels = sorted(runs)
    lines = ["| optimizer steps | env steps | " + " | ".join(f"{label}: {heading}" for label in labels) + " |",
             "| ---: | ---: | " + " | ".join("---" for _ in labels) + " |"]  # fmt: skip
    for env_steps, updates in points(runs):
        lines.append(f"| {updates:,} | {env_steps:,} | " + " | ".join(cell(label, env_steps) for label in labels) + " |")
    return lines


def curve_table(runs: dict[str, dict[int, list[dict]]]) -> list[str]:
    """One row per evaluation point: optimizer steps, env steps, and per label the mean success over its seeds
    with the lowest and highest seed."""

    def cell(label: str, env_steps: int) -> str:
        values = [r["success_rate"] for rows in runs[label].values() for r in rows if r["env_steps"] == env_steps]
        return "-" if not values else f"{np.mean(values):.1%} [{min(values):.1%}, {max(values):.1%}] ({len(values)})"

    return point_table(runs, "mean [min, max]", cell)


def points(runs: dict[str, dict[int, list[dict]]]) -> list[tuple[int, int]]:
    """Every (env steps, optimizer steps) at which some seed of some label was evaluated, in order."""
    return sorted({(int(r["env_steps"]), int(r["optimizer_steps"])) for seeds in runs.values() for rows in seeds.values() for r in rows})


def iqm_curves(runs: dict[str, dict[int, list[dict]]]) -> dict[str, list[dict]]:
    """Per label, at every evaluation point where all its seeds were evaluated: the IQM of their success rates and
    its 95% stratified-bootstrap interval (None with one seed), as rliable draws sample-efficiency curves."""
    out: dict[str, list[dict]] = {}
    for label, seeds in runs.items():
        by_point: dict[tuple[int, int], list[float]] = {}
        for rows in seeds.values():
            for r in rows:
                by_point.setdefault((int(r["env_steps"]), int(r["optimizer_steps"])), []).append(float(r["success_rate"]))
        out[label] = [{"env_steps": e, "optimizer_steps": u, "n_seeds": len(v), "iqm": iqm(v), "ci": iqm_interval(v)}
                      for (e, u), v in sorted(by_point.items()) if len(v) == len(seeds)]  # fmt: skip
    return out


def iqm_table(runs: dict[str, dict[int, list[dict]]]) -> list[str]:
    """One row per evaluation point: per label the IQM over its seeds [95% stratified-bootstrap CI]."""
    curves = iqm_curves(runs)

    def cell(label: str, env_steps: int) -> str:
        point = next((c for c in curves[label] if c["env_steps"] == env_steps), None)
        return "-" if point is None else f"{point['iqm']:.1%} {ci_text(point['ci'], 100, 1)}"

    return point_table(runs, "IQM [95% CI]", cell)


def first_reach(rows: list[dict], threshold: float) -> int | None:
    """The optimizer steps of a seed's first evaluation at or above ``threshold``; None if it never got there."""
    return next((int(r["optimizer_steps"]) for r in rows if float(r["success_rate"]) >= threshold), None)


def reach_table(runs: dict[str, dict[int, list[dict]]], thresholds: tuple[float, ...] = (0.5, 0.8)) -> list[str]:
    """Per label and threshold: the updates each seed needed to first reach it on its validation episodes
    ("never" within the budget), and how many seeds got there."""
    lines = ["| agent | success | updates to first reach it, per seed | seeds that reached it |",
             "| --- | ---: | --- | ---: |"]  # fmt: skip
    for label in sorted(runs):
        seeds = runs[label]
        for threshold in thresholds:
            reached = {s: first_reach(seeds[s], threshold) for s in sorted(seeds)}
            per_seed = ", ".join(f"{s}: {'never' if u is None else f'{u:,}'}" for s, u in reached.items())
            hits = sum(u is not None for u in reached.values())
            lines.append(f"| {label} | {threshold:.0%} | {per_seed} | {hits} of {len(seeds)} |")
    return lines


def plot_iqm(runs: dict[str, dict[int, list[dict]]], title: str, path: Path) -> Path:
    """The IQM curves of every label against optimizer steps, with their 95% stratified-bootstrap bands; the PNG is
    written whole (:func:`~agents.harness.rundir.write_whole`)."""
    from matplotlib.figure import Figure  # (not pyplot: no global figure to close, no backend to switch)

    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for label, curve in sorted(iqm_curves(runs).items()):
        x = [c["optimizer_steps"] for c in curve]
        n = max(len(runs[label]), 1)
        (line,) = ax.plot(x, [100 * c["iqm"] for c in curve], marker="o", markersize=3, label=f"{label} ({n} seeds)")
        banded = [c for c in curve if c["ci"] is not None]
        if banded:
            ax.fill_between([c["optimizer_steps"] for c in banded], [100 * c["ci"][0] for c in banded],
                            [100 * c["ci"][1] for c in banded], color=line.get_color(), alpha=0.2)  # fmt: skip
    ax.set_xlabel("optimizer steps")
    ax.set_ylabel("greedy success (%), IQM over seeds")
    ax.set_ylim(-2, 102)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")

    return write_figure(fig, path, dpi=110, bbox_inches="tight")


def areas(runs: dict[str, dict[int, list[dict]]]) -> dict[str, list[float]]:
    """Per label, each seed's mean periodic success rate (its normalised area under the curve), in seed order."""
    return {label: [float(np.mean([r["success_rate"] for r in seeds[s]])) for s in sorted(seeds)] for label, seeds in runs.items()}


def area_tables(scores: dict[str, list[float]], pairs: list[list[str]] | None) -> list[str]:
    """IQM per label and P(X > Y) per pair (default: every pair) of the seeds' areas, by the report's own
    statistics (:func:`~agents.harness.aggregate.aggregate_runs`); pairs naming a label without runs are left out."""
    rows = [{"label": label, "env_id": "", "success_rate": area} for label, areas_ in scores.items() for area in areas_]
    compare = None if pairs is None else [pair for pair in pairs if all(label in scores for label in pair)]
    stats = aggregate_runs(rows, compare)
    lines = ["| agent | seeds | area per seed | IQM | 95% CI |", "| --- | ---: | --- | ---: | --- |"]
    for r in sorted(stats["iqm"], key=lambda r: r["label"]):
        per_seed = ", ".join(f"{v:.1%}" for v in r["scores"])
        lines.append(f"| {r['label']} | {r['n_seeds']} | {per_seed} | {r['iqm']:.1%} | {ci_text(r['ci'], 100, 1)} |")
    lines += ["", "| X | Y | P(X > Y) on the area | 95% CI |", "| --- | --- | ---: | --- |"]
    for p in stats["probability_of_improvement"]:
        lines.append(f"| {p['x']} | {p['y']} | {p['probability']:.2f} | {ci_text(p['ci'], 1, 2)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/suite_curves.py", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", required=True, help="a benchmark output directory (results/<suite>)")
    parser.add_argument("--plot", metavar="DIR", help="also draw each env's IQM curves with 95%% bands into DIR")
    args = parser.parse_args(argv)
    suite = Path(args.suite)
    curves = load_curves(suite)
    everything = load_curves(suite, finished_only=False)
    left_out = [f"{label} seed {seed}" for env_id, runs in everything.items() for label, seeds in runs.items()
                for seed in seeds if seed not in curves.get(env_id, {}).get(label, {})]  # fmt: skip
    if left_out:
        print(f"Left out, not in {suite / 'results.json'} (unfinished): {', '.join(left_out)}\n")
    if not curves:
        parser.error(f"no runs/<label>/<env id>/seed*/evaluations.csv under {suite}")
    report = suite / "results.json"
    compare = json.loads(report.read_text())["suite"].get("compare") if report.is_file() else None
    for env_id, runs in curves.items():
        print(f"## {env_id}\n")
        print("\n".join(curve_table(runs)) + "\n")
        print("IQM over seeds at every evaluation, with its 95% stratified-bootstrap CI (rliable):\n")
        print("\n".join(iqm_table(runs)) + "\n")
        print("Updates to first reach 50% and 80% greedy success on the validation episodes:\n")
        print("\n".join(reach_table(runs)) + "\n")
        if args.plot:
            try:
                png = plot_iqm(runs, f"{env_id} ({suite.name}): IQM greedy success, 95% bands", Path(args.plot) / f"{env_id}_iqm.png")
            except UserError as err:  # a full disk, a file where the folder should be
                parser.exit(2, f"{parser.prog}: error: {err}\n")
            print(f"![{env_id}: IQM curves]({png})\n")
        print("Area under the curve (mean periodic greedy success of each seed):\n")
        print("\n".join(area_tables(areas(runs), compare)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

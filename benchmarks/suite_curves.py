"""The learning curves of a committed benchmark as numbers: mean greedy success over seeds at every periodic
evaluation, and the area under each seed's curve compared across labels with rliable's statistics.

"Learns faster" is a statement about the whole curve, not its last point. The area under a seed's curve is
summarised as the mean of its periodic success rates (every evaluation counts the same; they are equally spaced
in env steps); over seeds it gets the same IQM, stratified-bootstrap CI and P(X > Y) as the final evaluations in
the benchmark's own report (:mod:`agents.harness.aggregate`). Reads ``DIR/runs/<label>/<env id>/seed*/
evaluations.csv`` and ``DIR/results.json`` (for the suite's ``compare`` pairs); prints markdown::

    python benchmarks/suite_curves.py --suite results/carry-cpu
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agents.harness.aggregate import aggregate_runs, ci_text
from agents.harness.rundir import read_eval_rows


def load_curves(suite: Path) -> dict[str, dict[str, dict[int, list[dict]]]]:
    """``{env id: {label: {seed: evaluation rows}}}`` of the suite's runs."""
    curves: dict[str, dict[str, dict[int, list[dict]]]] = {}
    for path in sorted(suite.glob("runs/*/*/seed*/evaluations.csv")):
        label, env_id, seed = path.parts[-4], path.parts[-3], int(path.parts[-2].removeprefix("seed"))
        curves.setdefault(env_id, {}).setdefault(label, {})[seed] = read_eval_rows(path)
    return curves


def curve_table(runs: dict[str, dict[int, list[dict]]]) -> list[str]:
    """One row per evaluation point: optimizer steps, env steps, and per label the mean success over its seeds
    with the lowest and highest seed."""
    labels = sorted(runs)
    points = sorted({(int(r["env_steps"]), int(r["optimizer_steps"])) for seeds in runs.values() for rows in seeds.values() for r in rows})
    lines = ["| optimizer steps | env steps | " + " | ".join(f"{label}: mean [min, max]" for label in labels) + " |",
             "| ---: | ---: | " + " | ".join("---" for _ in labels) + " |"]  # fmt: skip
    for env_steps, updates in points:
        cells = []
        for label in labels:
            values = [r["success_rate"] for rows in runs[label].values() for r in rows if r["env_steps"] == env_steps]
            cells.append("-" if not values else f"{np.mean(values):.1%} [{min(values):.1%}, {max(values):.1%}] ({len(values)})")
        lines.append(f"| {updates:,} | {env_steps:,} | " + " | ".join(cells) + " |")
    return lines


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
    args = parser.parse_args(argv)
    suite = Path(args.suite)
    curves = load_curves(suite)
    if not curves:
        parser.error(f"no runs/<label>/<env id>/seed*/evaluations.csv under {suite}")
    report = suite / "results.json"
    compare = json.loads(report.read_text())["suite"].get("compare") if report.is_file() else None
    for env_id, runs in curves.items():
        print(f"## {env_id}\n")
        print("\n".join(curve_table(runs)) + "\n")
        print("Area under the curve (mean periodic greedy success of each seed):\n")
        print("\n".join(area_tables(areas(runs), compare)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

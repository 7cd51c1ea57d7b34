"""Learning curves of the committed runs: greedy success vs env steps, optimizer steps and wall-clock.

Reads ``results/<preset>/<env id>/seed*/evaluations.csv`` (copied from the run directories of
``hrm-mazes train``) and the reference players' ``results/references/ref-{random,oracle}-<env id>.json``
(``hrm-mazes evaluate --agent ... --episodes 1000 --json ...``), and writes one PNG per env and x axis::

    python benchmarks/plot_results.py                    # -> docs/results/<env id>_<x>.png
    python benchmarks/plot_results.py --results results --out docs/results

``--suite DIR`` redraws a committed benchmark instead (``DIR/runs/<label>/<env id>/seed*/evaluations.csv`` and
the references of ``DIR/results.json``): the report's curves (success and mean length, :data:`CURVES`) into
``--out`` as ``<suite>_<env id>_<metric>_<x>.png``::

    python benchmarks/plot_results.py --suite results/carry-cpu --out docs/results
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agents.errors import UserError
from agents.harness.benchmark.report import CURVES, METRIC_NAMES, plot_curves
from agents.harness.rundir import read_eval_rows

X_AXES = ("env_steps", "optimizer_steps", "wall_time_s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/plot_results.py", description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="folder of committed runs (default results/)")
    parser.add_argument("--out", default="docs/results", help="where the PNGs go (default docs/results/)")
    parser.add_argument("--suite", help="a committed benchmark output directory to redraw instead")
    args = parser.parse_args(argv)
    try:
        if args.suite:
            return plot_suite(Path(args.suite), Path(args.out))
        return plot_runs(Path(args.results), Path(args.out))
    except UserError as err:  # a full disk, a file where the folder should be
        parser.exit(2, f"{parser.prog}: error: {err}\n")


def plot_runs(results: Path, out: Path) -> int:
    """The committed runs' curves: one PNG per env and x axis, with the reference players as lines."""
    envs = sorted({p.parent.parent.name for p in results.glob("*/*/seed*/evaluations.csv")})
    for env_id in envs:
        curves = {
            preset.name: [read_eval_rows(p) for p in sorted(preset.glob(f"{env_id}/seed*/evaluations.csv"))]
            for preset in sorted(results.iterdir())
            if any(preset.glob(f"{env_id}/seed*/evaluations.csv"))
        }
        references = {}
        for name in ("oracle", "random"):
            path = results / "references" / f"ref-{name}-{env_id}.json"
            if path.is_file():
                references[name] = json.loads(path.read_text())["summary"]["success_rate"]
        for x_key in X_AXES:
            label = {"wall_time_s": "wall-clock seconds (1 CPU thread)"}.get(x_key, x_key.replace("_", " "))
            png = plot_curves(curves, references, out / f"{env_id}_{x_key}.png", x_key, f"{env_id}: greedy success vs {label}")
            print(f"wrote {png}")
    return 0


def plot_suite(suite: Path, out: Path) -> int:
    report = json.loads((suite / "results.json").read_text())
    for env_id in report["suite"]["envs"]:
        curves = {
            entry["label"]: [read_eval_rows(p) for p in sorted((suite / "runs" / entry["label"]).glob(f"{env_id}/seed*/evaluations.csv"))]
            for entry in report["suite"]["algos"]
        }  # fmt: skip
        for metric, x_key in CURVES:
            refs = {r["label"]: r[metric] for r in report["references"] if r["env_id"] == env_id}
            title = f"{env_id}: {METRIC_NAMES[metric]} vs {x_key.replace('_', ' ')} ({report['suite']['name']})"
            png = plot_curves(curves, refs, out / f"{suite.name}_{env_id}_{metric}_{x_key}.png", x_key, title, metric=metric)
            print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

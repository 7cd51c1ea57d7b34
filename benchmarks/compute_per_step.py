"""Does the carry save computation? Success of a benchmark's HRM-DQN models acting with fewer (or more) segments
per env step than they were trained with: the paper's second claim is that a carried state already holds part of
the plan, so a Carry Z model should lose less than a Reset Z model when given less recurrent computation per step.

For every finished HRM-DQN trial of a suite (``DIR/runs/<label>/<env id>/seed<S>/model.zip``), each ``--segments``
value is played greedily on the same held-out test episodes; the table gives, per label and env, the recurrent
updates per env step (segments x H cycles x (L cycles + 1)) and the success over seeds (mean, and each seed).
Writes ``DIR/compute_per_step.json`` (every seed's summary) unless ``--json`` says where, and with ``--plot DIR``
one PNG per env of success vs recurrent updates per env step (``<env id>_compute.png``, Wilson bands);
``--report-only`` redraws the table and plots from that JSON without the models (which are not committed)::

    python benchmarks/compute_per_step.py --suite results/carry-segments-cpu --segments 1 2 3 --episodes 500 \
        --plot docs/results/carry-segments-cpu

The suite that trains the models for it: ``benchmarks/suites/carry-segments-cpu.yaml``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agents.harness.evaluation import evaluate
from agents.harness.loading import load_agent
from agents.harness.rundir import write_atomic, write_figure
from agents.harness.runtime import fresh_compile_caches
from hrm_mazes.seeds import TEST


def trained_models(suite: Path) -> list[tuple[str, str, int, Path]]:
    """``(label, env id, seed, model.zip)`` of every finished trial under ``suite/runs``, in path order."""
    found = []
    for model in sorted(suite.glob("runs/*/*/seed*/model.zip")):
        label, env_id, seed = model.parts[-4], model.parts[-3], int(model.parts[-2].removeprefix("seed"))
        found.append((label, env_id, seed, model))
    return found


def play(model: Path, env_id: str, segments: list[int], episodes: int, progress: bool) -> list[dict]:
    """One row per ``segments`` value: the model's greedy summary on the first ``episodes`` test episodes."""
    fresh_compile_caches()  # one compiled segment per model, not eager fallbacks after the eighth
    agent = load_agent(model, env_id=env_id, algo="hrm-dqn", device="cpu")
    policy = getattr(agent.model, "policy", None)
    if not hasattr(policy, "set_acting_segments"):
        raise SystemExit(f"{model}: not an HRM-DQN model (--segments applies to hrm-dqn only)")
    cfg = policy.config
    rows = []
    for n in segments:
        policy.set_acting_segments(n)
        summary = evaluate(agent.player, agent.env_id, episodes, env_fn=agent.env_fn,
                           env_kwargs=agent.encoding["env_kwargs"], seed_offset=TEST.start, n_parallel=64,
                           progress=progress).summary  # fmt: skip
        rows.append({"segments": n, "trained_segments": cfg.segments, "carry": policy.carry_mode,
                     "updates_per_step": n * cfg.H_cycles * (cfg.L_cycles + 1), "summary": summary})  # fmt: skip
    policy.set_acting_segments(None)
    return rows


def table(results: list[dict], segments: list[int]) -> str:
    """Markdown: one line per (env, label), one column per segments value: mean success [each seed]."""
    lines = ["| env | agent (carry) | trained segments | " + " | ".join(f"{n} segment{'s' * (n > 1)}" for n in segments) + " |",
             "| --- | --- | ---: | " + " | ".join("---" for _ in segments) + " |"]  # fmt: skip
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        groups.setdefault((r["env_id"], r["label"]), []).append(r)
    for (env_id, label), runs in sorted(groups.items()):
        cells = []
        for k in range(len(segments)):
            rates = [run["rows"][k]["summary"]["success_rate"] for run in runs]
            updates = runs[0]["rows"][k]["updates_per_step"]
            cells.append(f"{np.mean(rates):.1%} [{', '.join(f'{100 * x:.1f}' for x in rates)}] ({updates} upd/step)")
        first = runs[0]["rows"][0]
        lines.append(f"| {env_id} | {label} ({first['carry']}) | {first['trained_segments']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: list[dict], env_id: str, path: Path) -> Path:
    """``env_id``'s success (mean over seeds; one seed: its Wilson band) against recurrent updates per env step, a
    line per label, the trained number of segments marked. Written whole."""
    from matplotlib.figure import Figure  # (not pyplot: no global figure to close, no backend to switch)

    fig = Figure(figsize=(6.4, 4.0), dpi=110)
    ax = fig.subplots()
    groups: dict[str, list[dict]] = {}
    for r in results:
        if r["env_id"] == env_id:
            groups.setdefault(r["label"], []).append(r)
    for label, runs in sorted(groups.items()):
        rows = runs[0]["rows"]
        x = [row["updates_per_step"] for row in rows]
        rates = np.array([[row["summary"]["success_rate"] for row in run["rows"]] for run in runs])
        (line,) = ax.plot(x, 100 * rates.mean(axis=0), marker="o", label=f"{label} ({rows[0]['carry']}, n={len(runs)})")
        if len(runs) == 1:
            ci = np.array([row["summary"]["success_ci"] for row in rows])
            ax.fill_between(x, 100 * ci[:, 0], 100 * ci[:, 1], color=line.get_color(), alpha=0.15)
        trained = [k for k, row in enumerate(rows) if row["segments"] == row["trained_segments"]]
        for k in trained:
            ax.plot(x[k], 100 * rates.mean(axis=0)[k], marker="s", markersize=9, fillstyle="none", color=line.get_color())
    ax.set_xticks(sorted({row["updates_per_step"] for runs in groups.values() for row in runs[0]["rows"]}))
    ax.set_xlabel("recurrent updates per env step when acting (square: as trained)")
    ax.set_ylabel("greedy success rate (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(f"{env_id}: success vs computation per step", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()

    return write_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/compute_per_step.py", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", required=True, help="a benchmark output directory with HRM-DQN trials")
    parser.add_argument("--segments", type=int, nargs="+", default=[1, 2], help="acting segments per step (default 1 2)")
    parser.add_argument("--episodes", type=int, default=500, help="test episodes per model and value (default 500)")
    parser.add_argument("--json", help="where to write the results (default DIR/compute_per_step.json)")
    parser.add_argument("--plot", metavar="DIR", help="also draw each env's success vs updates per step into DIR")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--report-only", action="store_true",
                        help="play nothing: print the table (and --plot) of the results already in the JSON file")  # fmt: skip
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.segments) or args.episodes < 1:
        parser.error(f"--segments and --episodes must be positive integers, got {args.segments} and {args.episodes}")
    suite = Path(args.suite)
    out = Path(args.json) if args.json else suite / "compute_per_step.json"
    if args.report_only:
        if not out.is_file():
            parser.error(f"--report-only reads {out}, which does not exist (run without --report-only first)")
        saved = json.loads(out.read_text())
        results, segments, episodes = saved["results"], saved["segments"], saved["episodes"]
    else:
        models = trained_models(suite)
        if not models:
            parser.error(f"no runs/<label>/<env id>/seed*/model.zip under {suite}")
        results, segments, episodes = [], args.segments, args.episodes
        for label, env_id, seed, model in models:
            print(f"{label} on {env_id}, seed {seed}: segments {segments}", flush=True)
            rows = play(model, env_id, segments, episodes, not args.no_progress)
            results.append({"label": label, "env_id": env_id, "seed": seed, "model": str(model.relative_to(suite)), "rows": rows})
    print(f"\nGreedy success on test episodes {TEST.start:,}-{TEST.start + episodes - 1:,}, acting with N segments per "
          f"env step (mean over seeds [each seed]):\n\n{table(results, segments)}")  # fmt: skip
    if not args.report_only:
        write_atomic(out, json.dumps({"episodes": episodes, "segments": segments, "results": results}, indent=1, default=str))
        print(f"\nwritten to {out}")
    if args.plot:
        for env_id in sorted({r["env_id"] for r in results}):
            print(f"plot: {plot(results, env_id, Path(args.plot) / f'{env_id}_compute.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

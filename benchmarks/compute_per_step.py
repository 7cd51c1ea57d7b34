"""Does the carry save computation? Success of a benchmark's HRM-DQN models acting with fewer (or more) segments
per env step than they were trained with: the paper's second claim is that a carried state already holds part of
the plan, so a Carry Z model should lose less than a Reset Z model when given less recurrent computation per step.

For every finished HRM-DQN trial of a suite (``DIR/runs/<label>/<env id>/seed<S>/model.zip``), each ``--segments``
value is played greedily on the same held-out test episodes; the table gives, per label and env, the recurrent
updates per env step (segments x H cycles x (L cycles + 1)) and the success over seeds (mean, and each seed).
Writes ``DIR/compute_per_step.json`` (every seed's summary) unless ``--json`` says where::

    python benchmarks/compute_per_step.py --suite results/carry-segments-cpu --segments 1 2 3 --episodes 500

The suite that trains the models for it: ``benchmarks/suites/carry-segments-cpu.yaml``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agents.harness.evaluation import evaluate
from agents.harness.loading import load_agent
from agents.harness.rundir import write_atomic
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/compute_per_step.py", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", required=True, help="a benchmark output directory with HRM-DQN trials")
    parser.add_argument("--segments", type=int, nargs="+", default=[1, 2], help="acting segments per step (default 1 2)")
    parser.add_argument("--episodes", type=int, default=500, help="test episodes per model and value (default 500)")
    parser.add_argument("--json", help="where to write the results (default DIR/compute_per_step.json)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.segments) or args.episodes < 1:
        parser.error(f"--segments and --episodes must be positive integers, got {args.segments} and {args.episodes}")
    suite = Path(args.suite)
    models = trained_models(suite)
    if not models:
        parser.error(f"no runs/<label>/<env id>/seed*/model.zip under {suite}")
    results = []
    for label, env_id, seed, model in models:
        print(f"{label} on {env_id}, seed {seed}: segments {args.segments}", flush=True)
        rows = play(model, env_id, args.segments, args.episodes, not args.no_progress)
        results.append({"label": label, "env_id": env_id, "seed": seed, "model": str(model.relative_to(suite)), "rows": rows})
    text = table(results, args.segments)
    print(f"\nGreedy success on test episodes {TEST.start:,}-{TEST.start + args.episodes - 1:,}, acting with N segments per "
          f"env step (mean over seeds [each seed]):\n\n{text}")  # fmt: skip
    out = Path(args.json) if args.json else suite / "compute_per_step.json"
    write_atomic(out, json.dumps({"episodes": args.episodes, "segments": args.segments, "results": results}, indent=1, default=str))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

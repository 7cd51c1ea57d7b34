"""What one HRM-DQN training update costs on RandomDoorMaze-v0, by network variant, on one CPU thread: prints a table.

One update as ``hrm-mazes train --algo hrm-dqn`` runs it: one collection step of the 32 batched envs (the online
network acts on every env) and one optimizer step on a minibatch of 64 (the target computed from the stored next
carry). Each variant changes the ``hrm-dqn`` ``cpu`` preset's network (d 32, 1 + 1 blocks, H = L = 1 cycle, global
attention, last-token carry) in the ways the maze probes try: local (3x3) attention, the per-token (``grid``)
carry, more L / H cycles. The ratio column is against the preset in the same run, so it holds on another machine
even where the milliseconds do not. ``torch.compile`` as in the preset (the first updates, which compile, are not
timed).

    python benchmarks/hrm_maze_cost.py [--updates 150] [--variants preset local-grid ...]
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import torch as th

from agents.harness.hyperparams import load_preset
from agents.harness.models import build_model, make_train_env

VARIANTS: dict[str, dict] = {
    "preset": {},
    "local": {"attention": "local"},
    "local-grid": {"attention": "local", "carry": "grid"},
    "local-grid-L2": {"attention": "local", "carry": "grid", "L_cycles": 2},
    "local-H2L4": {"attention": "local", "H_cycles": 2, "L_cycles": 4},
    "global-H2L2": {"H_cycles": 2, "L_cycles": 2},
}


def ms_per_update(options: dict, updates: int, warmup: int, compile: bool = True) -> float:
    """Milliseconds per update (one collection step + one optimizer step) of the cpu preset with ``options``."""
    hyperparams = copy.deepcopy(load_preset("hrm-dqn", "RandomDoorMaze-v0", "cpu")[0])
    hyperparams["policy_kwargs"] = {**hyperparams["policy_kwargs"], **options, "compile": compile}
    hyperparams["buffer_size"] = 20_000
    n_envs = hyperparams["n_envs"]
    hyperparams["learning_starts"] = 2 * n_envs
    venv = make_train_env("RandomDoorMaze-v0", hyperparams, n_envs, seed=0)
    model = build_model("hrm-dqn", hyperparams, venv, 0, "cpu")
    th._dynamo.reset()  # a fresh compile cache per variant (else the recompile limit leaves later variants eager)
    model.learn(n_envs * (2 + warmup))
    start = time.perf_counter()
    model.learn(n_envs * updates, reset_num_timesteps=False)
    elapsed = time.perf_counter() - start
    venv.close()
    return 1000 * elapsed / updates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=150, help="timed updates per variant")
    parser.add_argument("--warmup", type=int, default=30, help="untimed updates first (torch.compile runs here)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--eager", action="store_true", help="no torch.compile (the preset compiles)")
    args = parser.parse_args(argv)
    th.set_num_threads(1)
    mode = "eager" if args.eager else "torch.compile"
    print(f"HRM-DQN update cost on RandomDoorMaze-v0, 1 thread, {mode}, {os.cpu_count()} CPUs, torch {th.__version__}")
    rows = [(name, ms_per_update(VARIANTS[name], args.updates, args.warmup, not args.eager)) for name in args.variants]
    reference = dict(rows).get("preset", rows[0][1])
    print("| variant | options | ms / update | vs preset |\n| --- | --- | ---: | ---: |")
    for name, ms in rows:
        print(f"| {name} | {VARIANTS[name] or '-'} | {ms:.1f} | {ms / reference:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

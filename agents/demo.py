"""``hrm-mazes demo``: the end-to-end tour in about ten minutes on a CPU.

1. trains a small HRM-DQN (``hrm-dqn-cpu``) and the double-DQN CNN baseline (``dqn-cnn-cpu``) on
   FourRooms-Dynamic-v0, each for a fixed number of optimizer steps (updates), with a wall-clock cap only as a
   safety net (the table says when it stopped a run); on a CPU with two or more cores the two train at the same
   time, one process (and one torch thread) each;
2. evaluates both, the HRM-DQN shipped with the package (``agents/pretrained/``, trained for longer: its own,
   labelled row), the BFS oracle and the random player on the same held-out seeded episodes;
3. prints the comparison table and writes ``results.md`` / ``results.json``, learning curves (success vs env
   steps and vs optimizer steps) and a GIF of an HRM agent with its Q-values (the shipped one when there is one).

The budgets are tiny next to the paper's (~200k optimizer steps on a GPU): the table says what these short
runs reach, nothing more.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.errors import UserError
from hrm_mazes.host import cpu_model
from hrm_mazes.seeds import TEST

ENV_ID = "FourRooms-Dynamic-v0"


@dataclass(frozen=True)
class DemoAgent:
    """One agent the demo trains: ``updates`` optimizer steps of ``algo``'s ``config`` entry with ``overrides``.

    The budget counts updates, not seconds, so that the result does not depend on the machine; ``cap_s`` stops a
    run that a slow or busy machine could not finish in time (the table says so). ``eval_every`` is in updates.
    ``epsilon_env_steps``: the env steps over which epsilon decays to its floor (None: the preset's, in env steps).
    """

    label: str
    algo: str
    config: str
    updates: int
    cap_s: float
    eval_every: int
    overrides: dict = field(default_factory=dict)
    epsilon_env_steps: int | None = None


# The CNN's recipe in the demo and in the learning test (tests/test_learning.py): the dqn-cnn cpu preset at
# minibatch 128 (an update costs about half of one at 256), with the distance curriculum promoting at 70% of the
# last 200 training episodes, epsilon 1 -> 0.05 over the first 64k env steps (2,000 updates). Three seeds of it
# pass 85% on validation episodes after 8,937 / 8,937 / 6,937 updates and hold 92-97.5% from 9,937 to 15,000
# (docs/results.md, "The demo"; results/demo-calibration/dqn-cnn-b128-curriculum-15k/).
CNN_RECIPE = {"batch_size": 128, "curriculum": {"start": 2, "step": 2, "success": 0.7, "window": 200}}
CNN_EPSILON_ENV_STEPS = 64_000
# At scale 1.0. dqn-cnn: that recipe for 12,000 updates (~4.2 minutes of one core of the dev machine; 461 s with a
# busy loop on the other core beside the HRM, still inside the 540 s cap); hrm-dqn: the cpu preset for the
# 2,660 updates an idle 2-core machine gave it in 450 s beside the CNN (its epsilon reaches 0.05 after 2,500).
AGENTS = (
    DemoAgent("hrm-dqn", "hrm-dqn", "cpu", 2_600, 450.0, 500),
    DemoAgent("dqn-cnn", "dqn-cnn", "cpu", 12_000, 540.0, 1_000, CNN_RECIPE, CNN_EPSILON_ENV_STEPS),
)
# The table row of the HRM-DQN shipped in agents/pretrained/ (evaluated, not trained, by the demo).
PRETRAINED_LABEL = "hrm-dqn-pretrained"
# The wall-clock caps never go below this: the HRM's torch.compile costs ~15-40 s once per process on a cold
# start, and a smaller (scaled) cap would stop it before its first env step.
MIN_CAP_S = 60.0
HEARTBEAT_S = 30.0  # a progress line this often while the agents train in parallel
# Greedy evaluation episodes per agent. The protocol's 1,000 would take the small HRM ~2-3 minutes on a busy
# 2-core CPU (every step runs the network); 300 keeps the demo under ten minutes, and the CIs show the cost.
DEFAULT_EPISODES = 300


def run_demo(
    out: str | Path = "runs/demo",
    force: bool = False,
    device: str = "auto",
    episodes: int | None = None,
    scale: float = 1.0,
    progress: bool = True,
) -> Path:
    """Run the demo into ``out`` and return it. ``scale`` multiplies the step budgets and time caps."""
    from agents.harness.benchmark.report import markdown_table, plot_curves, summary_row
    from agents.harness.checkpoints import read_state
    from agents.harness.config import TrainConfig
    from agents.harness.curriculum import CurriculumSettings
    from agents.harness.evaluation import REFERENCE_PLAYERS, evaluate
    from agents.harness.loading import load_agent
    from agents.harness.pretrained import list_pretrained
    from agents.harness.rundir import RunPaths, claim_output_dir, path_inside, read_eval_rows, write_atomic
    from agents.harness.runtime import resolve_device
    from agents.watch import record_frames, save_video

    if not 0 < scale <= 100:  # also refuses NaN
        raise UserError(f"--scale must be in (0, 100], got {scale}")
    output = claim_output_dir(out, force, "demo")
    device = resolve_device(device)
    out = output.create()
    episodes = episodes or (DEFAULT_EPISODES if scale >= 1 else max(20, int(DEFAULT_EPISODES * scale)))
    started = time.perf_counter()
    print(f"hrm-mazes demo on {ENV_ID}, device {device}. Budgets (optimizer steps; the time cap is a safety net):")
    configs, budgets = {}, {}
    for a in AGENTS:
        updates = budgets[a.label] = max(1, round(a.updates * scale))
        steps, per_update, overrides = _env_steps(a, updates)
        print(f"  {a.label:8s} config {a.config}{' ' + str(overrides) if overrides else ''}: {updates:,} updates "
              f"({steps:,} env steps), stopped at {_cap(a.cap_s, scale):.0f} s if not done")  # fmt: skip
        configs[a.label] = TrainConfig(
            algo=a.algo,
            env_id=ENV_ID,
            steps=steps,
            seed=0,
            device=device,
            config=a.config,
            overrides=overrides,
            out=out / a.label,
            eval_freq=max(per_update, round(a.eval_every * scale) * per_update),
            eval_episodes=20 if scale >= 1 else 10,
            progress=progress,
            max_wall_s=_cap(a.cap_s, scale),
        )
    parallel = device == "cpu" and (os.cpu_count() or 1) >= 2
    trained = _train_in_parallel(configs) if parallel else {label: _train_one(c) for label, c in configs.items()}
    rows, curves, runs = [], {}, {}
    for a in AGENTS:
        label, algo, config = a.label, a.algo, a.config
        run_dir, time_limited = trained[label]
        state = read_state(RunPaths(run_dir))
        curves[label] = [read_eval_rows(RunPaths(run_dir).evaluations)]
        runs[label] = {
            "algo": algo,
            "config": config,
            "overrides": configs[label].overrides,
            "update_budget": budgets[label],
            "env_steps": state.env_steps,
            "optimizer_steps": state.optimizer_steps,
            "train_wall_time_s": state.wall_time_s,
            "stopped_by_time_cap": time_limited,
            "trained_in_parallel": parallel,
            "run_dir": path_inside(run_dir, out),
        }

    print(f"\n[evaluate] {episodes} held-out episodes per agent (test seeds {TEST.start:,}+), greedy")
    summaries: dict[str, dict[str, Any]] = {}
    for label in runs:
        agent = load_agent(out / label / "model.zip", device=device)
        summaries[label] = evaluate(
            agent.player, ENV_ID, episodes, env_fn=agent.env_fn, n_parallel=64, progress=progress
        ).summary
    runs_shipped: dict[str, Any] = {}
    shipped, shipped_agent = None, None
    if any(e["env_id"] == ENV_ID and e["algo"] == "hrm-dqn" for e in list_pretrained()):
        shipped_agent = load_agent(algo="hrm-dqn", device=device, pretrained=ENV_ID)
        shipped = shipped_agent.shipped
        summaries[PRETRAINED_LABEL] = evaluate(
            shipped_agent.player, ENV_ID, episodes, env_fn=shipped_agent.env_fn, n_parallel=64, progress=progress
        ).summary
        trained = shipped["trained"]
        runs_shipped = {
            "algo": "hrm-dqn",
            "label": shipped["label"],
            "env_steps": trained["env_steps"],
            "optimizer_steps": trained["optimizer_steps"],
            "train_wall_time_s": trained["wall_time_s"],
            "trained": trained,
        }
    for name, player in REFERENCE_PLAYERS.items():
        summaries[name] = evaluate(player(), ENV_ID, episodes, progress=progress).summary

    for label, s in summaries.items():
        budget = runs_shipped if label == PRETRAINED_LABEL else runs.get(label, {})
        rows.append(summary_row(label, ENV_ID, s, {k: budget[k] for k in ("env_steps", "optimizer_steps", "train_wall_time_s") if k in budget}))
    table = markdown_table(rows)

    refs = {name: summaries[name]["success_rate"] for name in ("oracle", "random")}
    pngs = []
    for x_key in ("env_steps", "optimizer_steps"):
        pngs.append(plot_curves(curves, refs, out / f"curves_{x_key}.png", x_key, f"{ENV_ID}: greedy success vs {x_key.replace('_', ' ')}"))

    who = f"the shipped HRM-DQN ({PRETRAINED_LABEL})" if shipped_agent else "the HRM-DQN trained here"
    print(f"\n[record] hrm_dqn.gif: {who} on two held-out episodes, with its Q-values")
    hrm = shipped_agent or load_agent(out / "hrm-dqn" / "model.zip", device=device)
    gif = save_video(record_frames(hrm, 2, TEST.start), out / "hrm_dqn.gif", fps=6)

    total = time.perf_counter() - started
    capped = [label for label, r in runs.items() if r["stopped_by_time_cap"]]
    notes = [
        f"Command: `hrm-mazes demo` (scale {scale}); device {device}; {cpu_model()}, "
        f"total wall-clock {total / 60:.1f} min.",
        f"Greedy evaluation on the same {episodes} held-out seeded episodes for every agent; 95% CIs: Wilson "
        "(success), bootstrap (length, path efficiency). One training seed each, so no spread over seeds is shown.",
        "Path efficiency = oracle steps / agent steps on the episodes both solved.",
        "These are minutes-long CPU runs of small models; the paper's HRM-DQN trains ~200k optimizer steps on a "
        "GPU (`--config paper`). Read the table as what these budgets reach, not as the agents' ceiling.",
    ]
    for a in AGENTS:
        reached = _curriculum_reached(out / a.label)
        settings = _hyperparams(a).get("curriculum")
        if reached is not None and settings:
            law = CurriculumSettings.from_config(settings)
            notes.append(
                f"{a.label} trains with a distance curriculum (goals at most d open-map steps away, d widened each time "
                f"{100 * law.success:.0f}% of the last {law.window} training episodes succeed): it reached "
                f"d = {reached[0]}, with {100 * reached[1]:.0f}% training success at epsilon {reached[2]:.2f}. The "
                "table's evaluation uses the whole task."
            )
    if shipped is not None:
        t = shipped["trained"]
        notes.append(
            f"{PRETRAINED_LABEL} is not trained by the demo: it is the HRM-DQN shipped in agents/pretrained/ "
            f"({shipped['label']}), trained with `{t['command']}` on {t['machine']} ({t['date']}, seed {t['seed']}): "
            f"{t['env_steps']:,} env steps, {t['optimizer_steps']:,} optimizer steps, {t['wall_time_s'] / 60:.0f} min. "
            f"The GIF shows it. Load it with `hrm-mazes watch --pretrained {ENV_ID}`."
        )
    else:
        notes.append("No HRM-DQN is shipped for this env (agents/pretrained/manifest.json), so the table has no pretrained row.")
    if capped:
        stopped = ", ".join(f"{label} ({runs[label]['optimizer_steps']:,} of {runs[label]['update_budget']:,} updates)" for label in capped)
        notes.append(
            f"Stopped by the wall-clock safety cap before their update budget: {stopped}. This machine is slower or "
            "busier than the budgets were set for; the row is what it reached, not what the budget reaches."
        )
    random_rate = summaries["random"]["success_rate"]
    trained_here = [*runs, *([PRETRAINED_LABEL] if shipped else [])]
    below = [label for label in trained_here if summaries[label]["success_ci"][1] < random_rate]
    level = [label for label in trained_here if summaries[label]["success_ci"][0] <= random_rate <= summaries[label]["success_ci"][1]]
    if level:
        notes.append(
            f"{' and '.join(level)} {'is' if len(level) == 1 else 'are'} not distinguishable from the random walk at "
            "this budget: the interval of its success rate contains the random walk's."
        )
    if below:
        notes.append(
            f"At these budgets {' and '.join(below)} {'is' if len(below) == 1 else 'are'} still below the random "
            "policy's success rate: a greedy policy that has not learned yet walks into walls, while a random walk "
            "eventually stumbles onto the goal."
        )
    md = ["# hrm-mazes demo", "", table, "", *[f"- {n}" for n in notes], ""]
    md += [f"![success vs {p.stem[7:]}]({p.name})" for p in pngs] + ["", f"![HRM-DQN]({gif.name})", ""]
    write_atomic(out / "results.md", "\n".join(md))
    write_atomic(
        out / "results.json",
        json.dumps({"env_id": ENV_ID, "device": device, "scale": scale, "episodes": episodes, "runs": runs,
                    "pretrained": runs_shipped or None, "summaries": summaries,
                    "wall_time_s": round(total, 1)}, indent=1)  # fmt: skip
    )
    print()
    print(table)
    print()
    for n in notes:
        print(f"- {n}")
    return out


def _env_steps(agent: DemoAgent, updates: int) -> tuple[int, int, dict]:
    """The env-step budget that gives ``agent`` exactly ``updates`` optimizer steps, the env steps per update, and
    the hyperparameter overrides of the run.

    An off-policy run of ``n_envs`` envs with ``train_freq = gradient_steps = 1`` makes one update per collection
    step of ``n_envs`` env steps once more than ``learning_starts`` env steps are stored. A preset whose epsilon
    decays over a fraction of its run (SB3's ``exploration_fraction``) keeps its schedule in env steps: cut to a
    shorter budget, a third of it would decay epsilon faster, and the CNN preset learns far less per update then
    (47% after 9,937 updates with the fraction of a 320k-step run, 94.5% with the preset's; docs/results.md).
    """
    hyperparams = _hyperparams(agent)
    n_envs = int(hyperparams.get("n_envs", 1))
    if hyperparams.get("train_freq", 1) != 1 or hyperparams.get("gradient_steps", 1) != 1:
        raise ValueError(f"demo agent {agent.label}: an update budget needs train_freq = gradient_steps = 1")
    warmup = int(hyperparams.get("learning_starts", 0)) // n_envs  # collection steps before the first update
    steps = n_envs * (warmup + updates)
    overrides = dict(agent.overrides)
    if agent.epsilon_env_steps is not None and "exploration_fraction" in overrides:
        raise ValueError(f"demo agent {agent.label}: give epsilon_env_steps or an exploration_fraction override, not both")
    if "exploration_fraction" in hyperparams and "exploration_fraction" not in overrides:
        decay = agent.epsilon_env_steps or float(hyperparams["exploration_fraction"]) * int(hyperparams["n_timesteps"])
        overrides["exploration_fraction"] = min(1.0, decay / steps)
    return steps, n_envs, overrides


def _hyperparams(agent: DemoAgent) -> dict[str, Any]:
    """``agent``'s preset entry for the demo's env with its overrides."""
    from agents.harness.hyperparams import apply_overrides, load_preset

    return apply_overrides(load_preset(agent.algo, ENV_ID, agent.config)[0], agent.overrides)


def _cap(cap: float, scale: float) -> float:
    """The wall-clock cap of one agent at ``scale``: scaled, but at least :data:`MIN_CAP_S`."""
    return max(cap * scale, MIN_CAP_S)


def _curriculum_reached(run_dir: Path) -> tuple[int, float, float] | None:
    """The last logged curriculum limit, training success rate and epsilon of a run (None without a curriculum)."""
    import csv

    from agents.harness.rundir import RunPaths

    path = RunPaths(run_dir).progress
    if not path.is_file():
        return None
    with path.open(newline="") as f:
        keys = ("charts/curriculum_max_distance", "charts/success_rate", "charts/epsilon")
        rows = [r for r in csv.DictReader(f) if all(r.get(k) for k in keys)]  # rows log only what changed
    if not rows:
        return None
    last = rows[-1]
    return (int(float(last["charts/curriculum_max_distance"])), float(last["charts/success_rate"]),
            float(last["charts/epsilon"]))  # fmt: skip


def _train_one(config) -> tuple[Path, bool]:
    """Train one agent (in this process or a worker); its run directory and whether the time cap stopped it."""
    from agents.harness.training import train

    print(f"\n[train] {config.algo} ({config.config})", flush=True)
    result = train(config)
    if result.interrupted:
        raise KeyboardInterrupt
    return Path(result.run_dir), result.time_limited


def _train_in_parallel(configs: dict) -> dict[str, tuple[Path, bool]]:
    """Train every config at once on the shared runner's process pool (:func:`agents.harness.runner.run_tasks`:
    spawned workers, one torch thread each, Ctrl-C saves each run's checkpoint), with a progress line every
    :data:`HEARTBEAT_S` seconds instead of the workers' own bars, which would interleave."""
    import threading

    from agents.harness.runner import run_tasks

    labels = {str(c.out): label for label, c in configs.items()}  # the task a worker ran is a copy
    cap = max(c.max_wall_s or 0 for c in configs.values())
    print(f"\n[train] {', '.join(configs)} in parallel, one process each (up to {cap:.0f} s)", flush=True)
    started = time.perf_counter()
    results: dict[str, tuple[Path, bool]] = {}
    finished = threading.Event()

    def done(config, result: tuple[Path, bool]) -> None:
        label = labels[str(config.out)]
        results[label] = result
        print(f"[train] {label} done after {time.perf_counter() - started:.0f} s", flush=True)

    def heartbeat() -> None:
        while not finished.wait(HEARTBEAT_S):
            training = ", ".join(label for label in configs if label not in results)
            print(f"[train] {time.perf_counter() - started:.0f} s: {training} training", flush=True)

    ticker = threading.Thread(target=heartbeat, daemon=True, name="demo-heartbeat")
    ticker.start()
    try:
        run_tasks(_train_one, list(configs.values()), on_done=done, workers=len(configs),
                  in_worker=lambda c: c.replace(progress=False), label=lambda c: labels[str(c.out)], kind="training")  # fmt: skip
    finally:
        finished.set()
        ticker.join()
    return results

"""The recurrent-dynamics analysis of the HRM-Agent paper (Dang & Rawlinson 2025): ``hrm-mazes analyze``.

A trained HRM-DQN model plays greedy episodes on held-out seeds, carrying its latent state exactly as acting does
(:meth:`agents.hrm_dqn.model.HRM.trace` runs what the policy runs and records the carried ``z_H`` and ``z_L`` --
the last token's, or every token's with the grid carry -- after every L and H update). For every env step and recurrent update ``i`` (1..U):

* **convergence** = MSE(z_i, z_U): how far the state still is from where this env step ends;
* **divergence** = MSE(z_i, z_1): how far the state has moved since the first update of this env step,

for ``z_H`` and ``z_L`` separately (MSE: the mean over the ``d`` components). Env steps are split by whether a door
changed on the path planned at the previous step: the BFS shortest path from the agent to the goal with the doors
as they were then (:func:`planned_path`), and whether any cell of it changed between blocked and open during the
step (:func:`door_changed_on_path`). An episode's first step has no previous plan and counts only in ``all``.

Outputs (``analysis.json``, ``convergence.png``, ``divergence.png``): see ``docs/analysis.md``. Imports torch and
matplotlib only when the work runs.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.errors import UserError
from agents.harness.evaluation import EVAL_SEED_OFFSET, EpisodeSlots, eval_seeds, summarize
from agents.harness.rundir import claim_output_dir, write_atomic, write_figure
from hrm_mazes import core
from hrm_mazes.core import Layout

METRICS = ("convergence", "divergence")
STATES = ("z_H", "z_L")  # index 0 and 1 of the states' second-to-last axis, as in the carry
SPLITS = ("changed", "unchanged", "all")
CARRY_LABELS = {"last_token": "Carry Z", "grid": "Carry Z (grid)", "reset": "Reset Z"}
FIRST, UNCHANGED, CHANGED = -1, 0, 1  # per env step: first of its episode, or whether the planned path changed
# What analysis.json says about its numbers.
_METRIC_NOTES = {
    "convergence": "MSE(z_i, z_U) per recurrent update i = 1..U of an env step (U: the step's last update)",
    "divergence": "MSE(z_i, z_1): distance from the state after the step's first update",
    "states": "z_H and z_L of what the carry hands on: the last token's (MSE = mean over the d components), or "
    "every token's with the grid carry (MSE = mean over tokens and components)",
    "splits": "changed: a cell of the previous step's BFS path to the goal switched blocked/open during that step; "
    "unchanged: none did; all: every step, episodes' first steps (no previous plan) included",
}


# --- the planned path and the door flag ----------------------------------------------------------------------


def planned_path(
    layout: Layout, fixed_walls: np.ndarray, closed_doors: np.ndarray, agent: tuple[int, int], goal: tuple[int, int]
) -> list[int]:
    """Flat map cells of a shortest path from ``agent`` to ``goal`` (both included) with the doors as they are.

    The distance field is the envs' own BFS (:func:`hrm_mazes.core.bfs_distances`); ties go to the lowest action,
    as the oracle breaks them. When closed doors cut the goal off, the path is the oracle's plan through them (fixed
    walls stay walls); when even that fails, only the agent's cell.
    """
    w = layout.shape[1]
    start, goal_flat = agent[0] * w + agent[1], goal[0] * w + goal[1]
    deltas = [int(dr) * w + int(dc) for dr, dc in core.ACTION_DELTAS]
    for closed in (closed_doors, np.zeros_like(closed_doors)):
        blocked = core.blocked_grid(layout, fixed_walls[None], closed[None])[0].ravel().tolist()
        dist = core.bfs_distances(layout, blocked, goal_flat)
        if dist[start] >= 0:
            break
    else:
        return [start]
    path = [start]
    while dist[path[-1]] > 0:
        here = path[-1]
        path.append(next(here + d for d in deltas if dist[here + d] == dist[here] - 1))
    return path


def door_changed_on_path(path: Sequence[int], blocked_before: Sequence[bool], blocked_after: Sequence[bool]) -> bool:
    """Did any cell of ``path`` switch between blocked and open? (flat ``blocked`` maps before and after a step)"""
    return any(bool(blocked_before[c]) != bool(blocked_after[c]) for c in path)


# --- loading -------------------------------------------------------------------------------------------------


def _not_hrm(path: Path, what: str) -> UserError:
    return UserError(f"{path} is a {what} model; analyze reads the recurrent states of an hrm-dqn model")


def load_hrm_agent(model: str | os.PathLike, env_id: str | None = None, device: str = "auto"):
    """An HRM-DQN model (a .zip or a run directory) as :func:`agents.harness.loading.load_agent` loads it for
    ``evaluate``; any other algorithm's model, or a bare .zip without ``env_id``, is a :class:`UserError`."""
    from agents.harness.loading import load_agent
    from agents.harness.models import saved_algos
    from agents.harness.rundir import find_run_for_model
    from agents.hrm_dqn.policies import HRMQPolicy

    path = Path(model)
    if not path.exists():
        raise UserError(f"model file {path} does not exist")
    zip_file = path / "model.zip" if path.is_dir() else path
    if zip_file.is_file():
        algos = saved_algos(zip_file)
        if algos is not None and "hrm-dqn" not in algos:
            raise _not_hrm(zip_file, " / ".join(algos) or "an unknown algorithm's")
    try:
        _, run = find_run_for_model(zip_file if zip_file.is_file() else path)
    except UserError:
        if env_id is None:
            raise UserError(f"no run.yaml next to {path}: pass --env to say which env to play it on") from None
        run = None
    if run is not None and run.algo != "hrm-dqn":
        raise _not_hrm(path, str(run.algo))
    agent = load_agent(path, env_id=env_id, algo="hrm-dqn", device=device)
    if not isinstance(agent.model.policy, HRMQPolicy):
        raise _not_hrm(path, type(agent.model.policy).__name__)
    return agent


# --- playing with the trace ----------------------------------------------------------------------------------


@dataclass
class TracedEpisodes:
    """Every env step of some episodes, in play order (not seed order).

    :param convergence, divergence: ``(steps, U, 2)`` float32 MSEs per recurrent update, ``[..., 0]`` z_H, ``[..., 1]`` z_L.
    :param split: ``(steps,)`` int8: ``CHANGED``, ``UNCHANGED``, or ``FIRST`` (an episode's first step).
    :param doors_changed: ``(steps,)`` bool: the step before this one redrew the doors (anywhere on the map).
    :param modules: ``"L"`` / ``"H"``: which module made each of the U updates.
    :param records: per seed (seed order) ``seed``, ``success``, ``length``, ``return``, as ``evaluate`` writes them.
    """

    convergence: np.ndarray
    divergence: np.ndarray
    split: np.ndarray
    doors_changed: np.ndarray
    modules: tuple[str, ...]
    records: list[dict[str, Any]]


def trace_episodes(
    model: Any, env_fn, seeds: Sequence[int], n_parallel: int = 64, progress: bool = False, desc: str = "analyze"
) -> TracedEpisodes:
    """Play one greedy episode per seed with an HRM-DQN ``model`` and trace every env step.

    The carry follows the policy's ``carry_mode`` as :meth:`HRMQPolicy.act` does (``last_token`` and ``grid``: the
    trace's next carry, ``z_init`` at an episode's start; ``reset``: ``z_init`` every step), under the same autocast.
    """
    import torch as th

    policy = model.policy
    policy.set_training_mode(False)
    net, reset_mode = policy.q_net, policy.carry_mode == "reset"
    convergence, divergence, split, doors_changed = [], [], [], []
    modules: tuple[str, ...] = ()
    with EpisodeSlots(env_fn, seeds, n_parallel, progress, desc) as slots:
        n_slots = len(slots.envs)
        pending = np.full(n_slots, FIRST, dtype=np.int8)  # the split of each slot's next traced step
        redrawn = np.zeros(n_slots, dtype=bool)
        init = policy.initial_carry(n_slots)
        carry = init.clone()
        while slots.active.any():
            playing = np.flatnonzero(slots.active)
            index = th.as_tensor(playing, device=policy.device)
            starts = th.as_tensor(pending[playing] == FIRST, device=policy.device)
            start = init[index] if reset_mode else th.where(starts.view(-1, *[1] * (init.dim() - 1)), init[index], carry[index])
            tokens = th.as_tensor(np.stack([slots.obs[i] for i in playing]), device=policy.device)
            with policy.autocast():
                q, next_carry, states, modules = net.trace(tokens, start)
            carry[index] = init[index] if reset_mode else next_carry.float()
            convergence.append((states - states[:, -1:]).square().mean(-1).cpu().numpy())
            divergence.append((states - states[:, :1]).square().mean(-1).cpu().numpy())
            split.append(pending[playing].copy())
            doors_changed.append(redrawn[playing].copy())
            actions = q.float().argmax(dim=1).cpu().numpy()
            for j, i in enumerate(playing):
                e = slots.envs[i].unwrapped
                path = planned_path(e.layout, e.fixed_walls, e.closed_doors, e.agent_pos, e.goal_pos)
                blocked_before = e.blocked.ravel()
                info, ended = slots.step(i, int(actions[j]))
                if ended:  # the slot's env already plays its next seed
                    pending[i], redrawn[i] = FIRST, False
                else:
                    pending[i] = CHANGED if door_changed_on_path(path, blocked_before, e.blocked.ravel()) else UNCHANGED
                    redrawn[i] = bool(info["doors_changed"])
        records = slots.records()
    return TracedEpisodes(
        np.concatenate(convergence), np.concatenate(divergence), np.concatenate(split), np.concatenate(doors_changed),
        tuple(modules), records,
    )  # fmt: skip


# --- statistics ----------------------------------------------------------------------------------------------


def _finite_or_none(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def dynamics_stats(traced: TracedEpisodes) -> dict[str, Any]:
    """Median and quartiles per recurrent update: ``stats[metric][state][split] = {median, q25, q75}`` (lists of U
    numbers; None where a split holds no step), and the ``counts`` of env steps per split."""
    masks = {
        "changed": traced.split == CHANGED,
        "unchanged": traced.split == UNCHANGED,
        "all": np.ones(len(traced.split), bool),
    }
    updates = traced.convergence.shape[1]
    stats: dict[str, Any] = {}
    for metric, values in (("convergence", traced.convergence), ("divergence", traced.divergence)):
        stats[metric] = {}
        for k, state in enumerate(STATES):
            stats[metric][state] = {}
            for split, mask in masks.items():
                if mask.any():
                    q25, median, q75 = np.quantile(values[mask, :, k].astype(np.float64), [0.25, 0.5, 0.75], axis=0)
                else:
                    q25 = median = q75 = np.full(updates, math.nan)
                stats[metric][state][split] = {
                    "median": _finite_or_none(median), "q25": _finite_or_none(q25), "q75": _finite_or_none(q75)
                }  # fmt: skip
    counts = {split: int(mask.sum()) for split, mask in masks.items()}
    counts["first"] = int((traced.split == FIRST).sum())
    counts["doors_redrawn"] = int(traced.doors_changed.sum())
    return {"counts": counts, "stats": stats}


# --- figures -------------------------------------------------------------------------------------------------

_YLABELS = {"convergence": "MSE to this step's final z", "divergence": "MSE to z after update 1"}
_COLOURS = {"unchanged": "tab:blue", "changed": "tab:red"}


def plot_dynamics(results: Sequence[dict[str, Any]], metric: str, path: Path) -> Path:
    """One figure: rows z_H and z_L, one column per model; per panel the median over env steps vs the recurrent
    update (log scale) with its interquartile band, one line per split. H updates are marked by light vertical
    lines, segment ends by dashed ones. The PNG is written whole (:func:`~agents.harness.rundir.write_whole`): a
    full disk is a one-line :class:`UserError` naming ``path``."""
    from matplotlib.figure import Figure

    n = len(results)
    fig = Figure(figsize=(4.6 * n + 0.6, 6.4), dpi=110)
    axes = fig.subplots(len(STATES), n, squeeze=False)
    for col, result in enumerate(results):
        modules = result["modules"]
        x = np.arange(1, len(modules) + 1)
        per_segment = len(modules) // result["segments"]
        for row, state in enumerate(STATES):
            ax = axes[row, col]
            for u, module in enumerate(modules, start=1):
                if module == "H":
                    end = u % per_segment == 0 and u < len(modules)
                    ax.axvline(
                        u, color="0.6" if end else "0.88", linestyle="--" if end else "-", linewidth=0.8, zorder=0
                    )
            positive = False
            for split in ("unchanged", "changed"):
                count = result["counts"][split]
                s = result["stats"][metric][state][split]
                if not count:
                    continue
                # A log axis cannot show the exact zero at the reference update (the last, or the first).
                med, lo, hi = (
                    np.array([math.nan if v is None or v <= 0 else v for v in s[k]]) for k in ("median", "q25", "q75")
                )
                positive |= bool(np.isfinite(med).any())
                label = f"{'door changed' if split == 'changed' else 'no change'} on the planned path (n={count:,})"
                ax.plot(x, med, marker="o", markersize=3, color=_COLOURS[split], label=label)
                ax.fill_between(x, lo, hi, color=_COLOURS[split], alpha=0.2, linewidth=0)
            if positive:
                ax.set_yscale("log")
            ax.set_title(f"{result['label']}: {state}", fontsize=10)
            ax.set_xlabel("recurrent update within the env step (L or H step)")
            ax.set_ylabel(f"{metric}: {_YLABELS[metric]}", fontsize=9)
            ax.set_xticks(x if len(x) <= 16 else x[per_segment - 1 :: per_segment])
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"HRM {metric} within an env step (median, interquartile band)", fontsize=11)
    fig.tight_layout()
    return write_figure(fig, path)


def summary_lines(result: dict[str, Any]) -> list[str]:
    """A few lines for the terminal: success, the splits' sizes and the medians at the step's last update."""
    c, u = result["counts"], result["updates_per_step"]
    lines = [
        f"{result['label']} on {result['env_id']}: {result['episodes']} held-out episodes, greedy success "
        f"{100 * result['success_rate']:.1f}%; {c['all']:,} env steps x {u} recurrent updates "
        f"({c['changed']:,} with a door change on the planned path, {c['unchanged']:,} without, {c['first']:,} first steps)"
    ]
    for state in STATES:
        div = result["stats"]["divergence"][state]
        conv = result["stats"]["convergence"][state]
        shown = [f"{split} {_number(div[split]['median'][-1])}" for split in ("changed", "unchanged")]
        lines.append(f"  {state}: median divergence at update {u}: {', '.join(shown)}; median convergence at update 1: "
                     f"{_number(conv['all']['median'][0])}")  # fmt: skip
    return lines


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


# --- the command ---------------------------------------------------------------------------------------------


def default_out(agent: Any) -> Path:
    """``<run>/analysis``, or ``<model>.analysis`` beside a bare model file."""
    if agent.run_dir is not None:
        return Path(agent.run_dir) / "analysis"
    return agent.model_path.with_name(f"{agent.model_path.stem}.analysis")


@dataclass
class Analysis:
    """What :func:`analyze` wrote: the output directory and one result dict per model (as in analysis.json)."""

    out: Path
    results: list[dict[str, Any]]


def analyze(
    models: Sequence[str | os.PathLike],
    labels: Sequence[str] | None = None,
    env_id: str | None = None,
    episodes: int = 200,
    seed_offset: int = EVAL_SEED_OFFSET,
    out: str | os.PathLike | None = None,
    force: bool = False,
    device: str = "auto",
    n_parallel: int = 64,
    progress: bool = True,
) -> Analysis:
    """Trace greedy held-out episodes of one or more HRM-DQN models and write analysis.json and the figures.

    Every input is checked (models loaded, output directory claimed as :func:`~agents.harness.rundir.claim_output_dir`
    claims it) before any episode is played; ``force`` replaces only an earlier analysis directory.

    :param models: .zip files or run directories; several are drawn side by side (e.g. Carry Z and Reset Z).
    :param labels: one per model (default: the carry mode and the run's or file's name).
    :param env_id: the env every model plays (default: the first model's).
    """
    if labels is not None and len(labels) != len(models):
        raise UserError(f"--label given {len(labels)} times for {len(models)} models: give one per model or none")
    if episodes < 1:
        raise UserError(f"episodes must be a positive integer, got {episodes!r}")
    agents = []
    for model in models:
        agent = load_hrm_agent(model, env_id, device)
        env_id = env_id or agent.env_id
        agents.append(agent)
    claimed = claim_output_dir(default_out(agents[0]) if out is None else out, force, kind="analysis")
    if labels is None:
        names = [a.run_dir.name if a.run_dir is not None else a.model_path.stem for a in agents]
        labels = [f"{CARRY_LABELS[a.model.policy.carry_mode]} ({name})" for a, name in zip(agents, names, strict=True)]
    seeds = eval_seeds(episodes, seed_offset)
    results = []
    for agent, label, model in zip(agents, labels, models, strict=True):
        started = time.perf_counter()
        traced = trace_episodes(agent.model, agent.env_fn, seeds, n_parallel, progress, desc=f"analyze {label}")
        cfg = agent.model.policy.config
        summary = summarize(traced.records)
        results.append({
            "label": label,
            "model": str(model),
            "model_file": str(agent.model_path),
            "env_id": agent.env_id,
            "env_kwargs": agent.encoding["env_kwargs"],
            "carry_mode": agent.model.policy.carry_mode,
            "segments": cfg.segments, "H_cycles": cfg.H_cycles, "L_cycles": cfg.L_cycles, "readout": cfg.readout,
            "updates_per_step": len(traced.modules),
            "modules": list(traced.modules),
            "episodes": episodes,
            "seed_offset": seed_offset,
            "success_rate": summary["success_rate"],
            "success_ci": summary["success_ci"],
            "mean_length": summary["mean_length"],
            "device": str(agent.model.device),
            "wall_time_s": round(time.perf_counter() - started, 2),
            **dynamics_stats(traced),
        })  # fmt: skip
    out_dir = claimed.create()  # an earlier analysis (--force) is deleted only now that the new one is done
    payload = {
        "env_id": env_id,
        "episodes": episodes,
        "seed_offset": seed_offset,
        "metrics": _METRIC_NOTES,
        "models": results,
    }
    write_atomic(out_dir / "analysis.json", json.dumps(payload, indent=1))
    for metric in METRICS:
        plot_dynamics(results, metric, out_dir / f"{metric}.png")
    return Analysis(out_dir, results)

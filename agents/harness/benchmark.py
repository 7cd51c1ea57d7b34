"""``hrm-mazes benchmark``: algorithms x envs x seeds, then a results table, CSV/JSON and learning curves.

A suite is a YAML file::

    name: small                       # used for the default output folder
    envs: [FourRooms-Dynamic-v0]
    algos:                            # a name (its default config) or a mapping
      - dqn
      - {algo: hrm-dqn, config: cpu-small, label: hrm-dqn-small}
    seeds: [0, 1, 2]
    steps: 20000                      # env steps per run (default: each config's n_timesteps)
    eval_freq: 5000                   # periodic evaluation for the learning curves (env steps)
    eval_episodes: 100                # episodes per periodic evaluation
    final_episodes: 1000              # episodes of the final held-out evaluation
    references: [oracle, random]      # reference players evaluated on the same seeds
    device: auto
    overrides: {}                     # hyperparameters applied to every run (e.g. {n_envs: 4})

Every run is an ordinary ``train`` run directory under ``<out>/runs/<label>/<env>/seed<seed>``, so an
interrupted benchmark continues with ``--resume`` (finished runs are reused, unfinished ones resumed).
"""

from __future__ import annotations

import csv
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.errors import UserError
from agents.harness.algos import ALGOS, DEVICES, check_env_id
from agents.harness.config import MAX_SEED, TrainConfig, parse_int
from agents.harness.evaluation import REFERENCE_PLAYERS, aggregate, format_ci, t_interval
from agents.harness.rundir import claim_output_dir, read_eval_rows

SUITE_KEYS = {
    "name", "envs", "algos", "seeds", "steps", "eval_freq", "eval_episodes", "final_episodes",
    "references", "device", "overrides", "out", "n_envs",
}  # fmt: skip
ENTRY_KEYS = {"algo", "config", "label", "steps", "eval_freq", "n_envs", "overrides"}
# Labels and suite names become folder names.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def load_suite(path: str | Path) -> dict[str, Any]:
    """Read and check a suite file; every problem is one :class:`UserError` line naming the key."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"suite file {path} does not exist")
    try:
        suite = yaml.safe_load(path.read_text())
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise UserError(f"suite file {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(suite, dict):
        raise UserError(f"suite file {path} must be a mapping with envs, algos, seeds")
    where = f"suite {path.name}"
    unknown = set(map(str, suite)) - SUITE_KEYS
    if unknown:
        raise UserError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(SUITE_KEYS)}")
    suite.setdefault("name", path.stem)
    _check_name(where, "name", suite["name"])
    for key in ("envs", "algos"):
        if not isinstance(suite.get(key), list) or not suite[key]:
            raise UserError(f"{where}: '{key}' must be a non-empty list")
    for env_id in suite["envs"]:
        if not isinstance(env_id, str):
            raise UserError(f"{where}: envs must be env ids, got {env_id!r}")
        check_env_id(env_id)
    suite["algos"] = [_suite_entry(where, item) for item in suite["algos"]]
    labels = [e["label"] for e in suite["algos"]]
    if len(set(labels)) != len(labels):
        raise UserError(f"{where}: algorithm labels must be unique, got {labels}")
    seeds = suite.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds:
        raise UserError(f"{where}: seeds must be a non-empty list such as [0, 1, 2], got {seeds!r}")
    suite["seeds"] = [_suite_int(where, "seeds", s, 0, MAX_SEED) for s in seeds]
    if len(set(suite["seeds"])) != len(suite["seeds"]):
        raise UserError(f"{where}: seeds must be different, got {suite['seeds']}")
    suite.setdefault("references", ["oracle", "random"])
    if not isinstance(suite["references"], list):
        raise UserError(f"{where}: references must be a list such as [oracle, random], got {suite['references']!r}")
    for ref in suite["references"]:
        if ref not in REFERENCE_PLAYERS:
            raise UserError(f"{where}: unknown reference {ref!r}; use oracle and/or random")
    suite["final_episodes"] = _suite_int(where, "final_episodes", suite.get("final_episodes", 1000), 1)
    suite["eval_episodes"] = _suite_int(where, "eval_episodes", suite.get("eval_episodes", 100), 1)
    for key in ("steps", "eval_freq", "n_envs"):
        if suite.get(key) is not None:
            suite[key] = _suite_int(where, key, suite[key], 1)
    suite["overrides"] = _suite_mapping(where, "overrides", suite.get("overrides"))
    if suite.get("device", "auto") not in DEVICES:
        raise UserError(f"{where}: device must be one of {', '.join(DEVICES)}, got {suite['device']!r}")
    if "out" in suite and (not isinstance(suite["out"], str) or not suite["out"].strip()):
        raise UserError(f"{where}: out must be a directory path, got {suite['out']!r}")
    return suite


def _suite_entry(where: str, item: Any) -> dict[str, Any]:
    """One entry of ``algos``: a name, or a mapping with ``algo`` and optional settings."""
    if isinstance(item, str):
        entry: dict[str, Any] = {"algo": item}
    elif isinstance(item, dict):
        entry = dict(item)
    else:
        raise UserError(f"{where}: each entry of algos must be an algorithm name or a mapping with 'algo', got {item!r}")
    unknown = set(map(str, entry)) - ENTRY_KEYS
    if unknown:
        raise UserError(f"{where}: algos entry {item!r} has unknown key(s) {sorted(unknown)}; allowed: {sorted(ENTRY_KEYS)}")
    if entry.get("algo") not in ALGOS:
        raise UserError(f"{where}: unknown algorithm {entry.get('algo')!r}; choose from {', '.join(ALGOS)}")
    if entry.get("config") is not None and not isinstance(entry["config"], str):
        raise UserError(f"{where}: config of {entry['algo']} must be a file or preset name, got {entry['config']!r}")
    entry.setdefault("label", entry["algo"] if not entry.get("config") else f"{entry['algo']}-{Path(entry['config']).stem}")
    _check_name(where, "label", entry["label"])
    for key in ("steps", "eval_freq", "n_envs"):
        if entry.get(key) is not None:
            entry[key] = _suite_int(where, f"{entry['label']}: {key}", entry[key], 1)
    entry["overrides"] = _suite_mapping(where, f"{entry['label']}: overrides", entry.get("overrides"))
    return entry


def _check_name(where: str, key: str, value: Any) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise UserError(f"{where}: {key} must be a folder name (letters, digits, '.', '_', '-'), got {value!r}")


def _suite_mapping(where: str, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{where}: {key} must be a mapping of hyperparameters such as {{n_envs: 4}}, got {value!r}")
    return value


def _suite_int(where: str, key: str, value: Any, lo: int, hi: int | None = None) -> int:
    try:
        return parse_int(value, lo, hi)
    except ValueError as err:
        raise UserError(f"{where}: {key}: {err}") from None


def suite_jobs(suite: dict[str, Any], out: Path, device: str, progress: bool) -> list[tuple[dict[str, Any], TrainConfig]]:
    """One fresh-run :class:`TrainConfig` per (algorithm, env, seed), in the order they run."""
    jobs = []
    for env_id in suite["envs"]:
        for entry in suite["algos"]:
            for seed in suite["seeds"]:
                config = TrainConfig(
                    algo=entry["algo"],
                    env_id=env_id,
                    steps=entry.get("steps", suite.get("steps")),
                    seed=seed,
                    device=device,
                    config=entry.get("config"),
                    out=out / "runs" / entry["label"] / env_id / f"seed{seed}",
                    eval_freq=entry.get("eval_freq", suite.get("eval_freq")),
                    eval_episodes=suite["eval_episodes"],
                    n_envs=entry.get("n_envs", suite.get("n_envs")),
                    progress=progress,
                    overrides={**suite["overrides"], **entry["overrides"]},
                )
                jobs.append((entry, config))
    return jobs


def run_suite(
    suite_path: str | Path,
    out: str | Path | None = None,
    device: str | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Run every (algorithm, env, seed) of the suite, evaluate, and write the report. Returns the output dir.

    The whole suite is checked first (every run's config, hyperparameters and env), so that a mistake in its last
    run never comes after ``force`` deleted the old output.
    """
    from agents.harness.baselines import load_model
    from agents.harness.checkpoints import latest_checkpoint, read_state
    from agents.harness.encodings import env_encoding, make_env
    from agents.harness.evaluation import ModelPlayer, evaluate
    from agents.harness.rundir import KIND_NAMES, RunPaths, check_location, check_own_dir, read_run, write_atomic
    from agents.harness.runtime import resolve_device
    from agents.harness.training import resolve_fresh, train

    if resume and force:
        raise UserError("--resume continues a benchmark and --force replaces it: pass only one of them")
    suite = load_suite(suite_path)
    out = check_location(suite.get("out", Path("runs") / "benchmark" / suite["name"]) if out is None else out, KIND_NAMES["suite"])
    device = resolve_device(device or suite.get("device", "auto"))
    jobs = suite_jobs(suite, out, device, progress)
    checked: set[tuple[str, str]] = set()
    for entry, config in jobs:
        if (entry["label"], config.env_id) not in checked:  # the seed changes nothing that can be wrong
            resolve_fresh(config)
            checked.add((entry["label"], config.env_id))
    if resume:
        check_own_dir(out, "suite").mkdir(parents=True, exist_ok=True)
    else:
        claim_output_dir(out, force, "suite", resumable=True).create()
    write_atomic(out / "suite.yaml", yaml.safe_dump(suite, sort_keys=False))

    runs: list[dict[str, Any]] = []
    for k, (entry, config) in enumerate(jobs, 1):
        label, env_id, seed = entry["label"], config.env_id, config.seed
        run_dir = Path(config.out)
        paths = RunPaths(run_dir)
        print(f"[{k}/{len(jobs)}] {label} on {env_id}, seed {seed}", flush=True)
        started = time.perf_counter()
        if paths.model.is_file() and resume:
            print(f"  reusing the finished run in {run_dir}")
        else:
            can_resume = resume and latest_checkpoint(paths) is not None
            if can_resume:
                config = TrainConfig(out=run_dir, resume=True, device=device, progress=progress)
            else:
                config = config.replace(force=resume)
            if train(config).interrupted:
                raise KeyboardInterrupt
        run = read_run(run_dir)
        model = load_model(entry["algo"], paths.model, device)
        encoding = env_encoding(run.hyperparams)

        def env_fn(env_id=env_id, encoding=encoding):
            return make_env(env_id, **encoding)

        evaluation = evaluate(
            ModelPlayer(model, label),
            env_id,
            suite["final_episodes"],
            env_fn=env_fn,
            env_kwargs=encoding["env_kwargs"],
            n_parallel=64,
            progress=progress,
        )
        state = read_state(paths)
        write_atomic(run_dir / f"evaluation_{suite['final_episodes']}.json", json.dumps(evaluation.summary, indent=1))
        runs.append(
            {
                "label": label,
                "algo": entry["algo"],
                "env_id": env_id,
                "seed": seed,
                "env_steps": state.env_steps,
                "optimizer_steps": state.optimizer_steps,
                "train_wall_time_s": state.wall_time_s,
                "device": run.device,
                "run_dir": str(run_dir),
                **evaluation.summary,
            }
        )
        print(f"  success {100 * evaluation.summary['success_rate']:.1f}% ({time.perf_counter() - started:.0f} s)")

    references = []
    for env_id in suite["envs"]:
        for ref in suite["references"]:
            evaluation = evaluate(REFERENCE_PLAYERS[ref](), env_id, suite["final_episodes"], progress=progress)
            references.append({"label": ref, "env_id": env_id, **evaluation.summary})
    write_report(out, suite, runs, references, device)
    return out


def write_report(out: Path, suite: dict[str, Any], runs: list[dict], references: list[dict], device: str) -> None:
    """results.md, results.csv, results.json and curves/<env>_{env,optimizer}_steps.png."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["label"], r["env_id"]), []).append(r)
    rows = []
    for (label, env_id), members in groups.items():
        agg = aggregate(members)
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
    for ref in references:
        rows.append(
            {
                "label": ref["label"],
                "env_id": ref["env_id"],
                "n_seeds": 0,
                "env_steps": 0,
                "optimizer_steps": 0,
                "train_wall_time_s": 0.0,
                "device": "-",
                "success_rate": {"mean": ref["success_rate"], "ci": ref["success_ci"]},
                "mean_length": {"mean": ref["mean_length"], "ci": ref["length_ci"]},
                "path_efficiency": {"mean": ref["path_efficiency"], "ci": ref["efficiency_ci"]},
            }
        )
    md = [f"# Benchmark: {suite['name']}", ""]
    md.append(
        f"Greedy evaluation on {suite['final_episodes']} held-out seeded episodes per run (seeds 1,000,000+); "
        f"mean and 95% CI over training seeds (Student-t; a single seed shows its within-run Wilson / bootstrap CI). "
        f"Path efficiency = oracle steps / agent steps on the same episode, over episodes both solved. "
        f"Device: {device}. Wall-clock: training time per run."
    )
    for env_id in suite["envs"]:
        md += ["", f"## {env_id}", "", markdown_table([r for r in rows if r["env_id"] == env_id])]
        curves = {label: [read_eval_rows(Path(m["run_dir"]) / "evaluations.csv") for m in members] for (label, e), members in groups.items() if e == env_id}
        refs = {r["label"]: r["success_rate"] for r in references if r["env_id"] == env_id}
        curve_dir = out / "curves"
        for x_key in ("env_steps", "optimizer_steps"):
            png = curve_dir / f"{env_id}_{x_key}.png"
            plot_curves(curves, refs, png, x_key, f"{env_id}: greedy success vs {x_key.replace('_', ' ')}")
            md += ["", f"![{env_id} success vs {x_key}](curves/{png.name})"]
    (out / "results.md").write_text("\n".join(md) + "\n")
    with (out / "results.csv").open("w", newline="") as f:
        fields = ["label", "env_id", "seed", "env_steps", "optimizer_steps", "train_wall_time_s", "device", "episodes",
                  "success_rate", "success_lo", "success_hi", "mean_length", "path_efficiency"]  # fmt: skip
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for r in [*runs, *references]:
            writer.writerow({**r, "success_lo": r["success_ci"][0], "success_hi": r["success_ci"][1]})
    (out / "results.json").write_text(
        json.dumps({"suite": suite, "device": device, "summary": rows, "runs": runs, "references": references}, indent=1, default=str)
    )


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
) -> Path:
    """Greedy success vs ``x_key``: per label the mean over seeds with a 95% t band; references as dashed lines.

    :param curves: label -> one list of evaluation rows (``evaluations.csv``) per seed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for label, seeds in curves.items():
        seeds = [s for s in seeds if s]
        if not seeds:
            continue
        n = min(len(s) for s in seeds)
        x = np.mean([[row[x_key] for row in s[:n]] for s in seeds], axis=0)
        y = np.array([[row["success_rate"] for row in s[:n]] for s in seeds])
        mean = y.mean(axis=0)
        (line,) = ax.plot(x, 100 * mean, marker="o", markersize=3, label=f"{label} (n={len(seeds)})")
        if len(seeds) >= 2:
            bands = np.clip(np.array([t_interval(y[:, j]) for j in range(n)]), 0.0, 1.0)
            ax.fill_between(x, 100 * bands[:, 0], 100 * bands[:, 1], color=line.get_color(), alpha=0.2)
        else:
            ax.fill_between(x, [100 * r["success_lo"] for r in seeds[0][:n]], [100 * r["success_hi"] for r in seeds[0][:n]],
                            color=line.get_color(), alpha=0.15)  # fmt: skip
    styles = {"oracle": ("black", "--"), "random": ("grey", ":")}
    for label, value in references.items():
        mean = value["mean"] if isinstance(value, dict) else float(value)
        if not math.isnan(mean):
            colour, style = styles.get(label, ("grey", "-."))
            ax.axhline(100 * mean, color=colour, linestyle=style, linewidth=1, label=label)
    ax.set_xlabel(x_key.replace("_", " "))
    ax.set_ylabel("greedy success rate (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

"""``hrm-mazes benchmark``: algorithms x envs x seeds, then a results table, CSV/JSON and learning curves.

A suite is a YAML file of envs, algorithms and seeds (:mod:`agents.harness.benchmark.suites`, which checks
it). Every (algorithm, env, seed) is a *trial*: an ordinary ``train`` run directory under
``<out>/runs/<label>/<env>/seed<seed>``, trained and evaluated by :func:`run_trial`. Trials run through
:mod:`agents.harness.runner`: on a local process pool (one torch thread each), one after another in this process
(``workers=1``), or as Ray tasks; the parent only collects their result rows and writes the report
(:mod:`agents.harness.benchmark.report`). An interrupted benchmark continues with ``--resume``: finished trials
are reused, unfinished ones resumed from their checkpoints.

A finished trial also records its report row in ``trial.json`` beside its raw files. Models and checkpoints are
not committed (``.gitignore``), so on a fresh clone that file is what tells a finished trial from one never run:
a suite can run in parts on different machines, each part committing its trials, and ``--resume`` on the next
machine trains only what no part finished. ``--report-only`` writes the report of the trials finished so far.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agents.errors import UserError
from agents.harness.benchmark.report import write_report
from agents.harness.benchmark.suites import load_suite, suite_jobs
from agents.harness.config import TrainConfig
from agents.harness.evaluation import PLAYERS
from agents.harness.rundir import RunPaths, claim_output_dir

TRIAL_FILE = "trial.json"  # a finished trial's row of results.json, beside its raw files


@dataclass(frozen=True)
class Trial:
    """One (algorithm, env, seed) of a suite: its fresh-run config and how the benchmark treats it.

    Picklable, so that a process pool or Ray can ship it to :func:`run_trial`.
    """

    index: int  # 1-based position in the suite
    total: int
    label: str
    algo: str
    config: TrainConfig  # the fresh run; ``out`` is the trial's run directory
    final_episodes: int
    resume: bool
    device: str
    progress: bool

    @property
    def tag(self) -> str:
        """The prefix of every line about this trial: ``[2/6] dqn on FourRooms-Dynamic-v0, seed 1``."""
        return f"[{self.index}/{self.total}] {self.label} on {self.config.env_id}, seed {self.config.seed}"

    @property
    def paths(self) -> RunPaths:
        return RunPaths(Path(self.config.out))


class TrialInterrupted(KeyboardInterrupt):
    """A trial stopped by Ctrl-C (or a cancel) after saving its checkpoint; the suite stops."""


def run_trial(trial: Trial) -> dict[str, Any]:
    """Train (or resume) one trial, evaluate it on the suite's held-out episodes, and return its ``runs`` row.

    A finished run (``model.zip``) is reused on ``resume``; an unfinished one resumes from its checkpoint; on
    ``resume`` a run with no checkpoint starts over. Top-level so that a process pool and Ray can pickle it; in a
    worker process the runner gives it one torch thread and one Ctrl-C, so that its checkpoint is saved first.
    """
    from agents.harness.checkpoints import latest_checkpoint
    from agents.harness.training import train

    paths = trial.paths
    if trial.resume and paths.model.is_file():
        print(f"{trial.tag}: evaluating the finished run", flush=True)
    else:
        if trial.resume and latest_checkpoint(paths) is not None:
            print(f"{trial.tag}: resuming from its checkpoint", flush=True)
            config = TrainConfig(out=paths.root, resume=True, device=trial.device, progress=trial.progress)
        else:
            print(f"{trial.tag}: training", flush=True)
            config = trial.config.replace(force=trial.resume, progress=trial.progress)
        if train(config).interrupted:
            raise TrialInterrupted(trial.tag)
    return _trial_row(trial, _evaluate_trial(trial))


def _evaluate_trial(trial: Trial) -> dict[str, Any]:
    """The final greedy evaluation of a finished run, written to ``evaluation_<N>.json`` in its directory."""
    from agents.harness.evaluation import ModelPlayer, evaluate
    from agents.harness.loading import load_agent
    from agents.harness.rundir import write_atomic

    agent = load_agent(trial.paths.model, env_id=trial.config.env_id, algo=trial.algo, device=trial.device)
    evaluation = evaluate(
        ModelPlayer(agent.model, trial.label),
        agent.env_id,
        trial.final_episodes,
        env_fn=agent.env_fn,
        env_kwargs=agent.encoding["env_kwargs"],
        n_parallel=64,
        progress=trial.progress,
    )
    write_atomic(_evaluation_file(trial), json.dumps(evaluation.summary, indent=1))
    return evaluation.summary


def _evaluation_file(trial: Trial) -> Path:
    return trial.paths.root / f"evaluation_{trial.final_episodes}.json"


def _saved_evaluation(trial: Trial) -> dict[str, Any] | None:
    """The evaluation a finished run already has (written by the benchmark after its model.zip), else None."""
    path, model = _evaluation_file(trial), trial.paths.model
    try:
        summary = json.loads(path.read_text())
        fresh = path.stat().st_mtime >= model.stat().st_mtime
    except (OSError, ValueError):
        return None
    ours = isinstance(summary, dict) and "success_rate" in summary and summary.get("episodes") == trial.final_episodes
    return summary if ours and fresh else None


def _recorded_row(trial: Trial) -> dict[str, Any] | None:
    """The row this trial recorded in ``trial.json`` when it finished, or None: no file, an unreadable one, or
    one written for another trial (label, algorithm, env, seed, final episodes) or a smaller env-step budget."""
    try:
        row = json.loads((trial.paths.root / TRIAL_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(row, dict) or not isinstance(row.get("success_rate"), float):
        return None
    wanted = {"label": trial.label, "algo": trial.algo, "env_id": trial.config.env_id, "seed": trial.config.seed,
              "episodes": trial.final_episodes}  # fmt: skip
    if any(row.get(key) != value for key, value in wanted.items()):
        return None
    if not isinstance(row.get("env_steps"), int) or row["env_steps"] < (trial.config.steps or 0):
        return None
    return {**row, "run_dir": str(trial.paths.root)}


def _check_recipe(trial: Trial, hyperparams: dict[str, Any]) -> None:
    """Refuse to reuse a finished trial whose run.yaml records other hyperparameters than ``hyperparams``, those the
    suite gives it now (a preset edited between the parts of a suite): its result would be reported as the new
    recipe's."""
    from agents.harness.rundir import read_run

    then, now = _flat(read_run(trial.paths.root).hyperparams or {}), _flat(hyperparams)
    changed = sorted(key for key in then.keys() | now.keys() if then.get(key, "-") != now.get(key, "-"))
    if changed:
        shown = ", ".join(f"{key} {then.get(key, '-')} -> {now.get(key, '-')}" for key in changed[:4])
        more = f" and {len(changed) - 4} more" if len(changed) > 4 else ""
        raise UserError(
            f"{trial.tag}: its finished run in {trial.paths.root} was trained with other hyperparameters than the "
            f"suite gives it now ({shown}{more}): pin the old values in the suite's overrides, or use another --out"
        )


def _flat(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"policy_kwargs": {"carry": "grid"}}`` -> ``{"policy_kwargs.carry": "grid"}``."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _record_row(trial: Trial, row: dict[str, Any]) -> None:
    """Write ``row`` (less its machine-specific ``run_dir``) to the trial's ``trial.json``, unless it holds it."""
    from agents.harness.rundir import write_atomic

    path = trial.paths.root / TRIAL_FILE
    text = json.dumps({k: v for k, v in row.items() if k != "run_dir"}, indent=1, default=str) + "\n"
    try:
        if path.read_text() == text:
            return
    except (OSError, ValueError):
        pass
    write_atomic(path, text)


def _trial_row(trial: Trial, summary: dict[str, Any]) -> dict[str, Any]:
    """The ``runs`` row of results.json: the trial, its training budget, and its evaluation."""
    from agents.harness.checkpoints import read_state
    from agents.harness.rundir import read_run

    paths = trial.paths
    run, state = read_run(paths.root), read_state(paths)
    return {
        "label": trial.label,
        "algo": trial.algo,
        "env_id": trial.config.env_id,
        "seed": trial.config.seed,
        "env_steps": state.env_steps,
        "optimizer_steps": state.optimizer_steps,
        "train_wall_time_s": state.wall_time_s,
        "device": run.device,
        "run_dir": str(paths.root),
        **summary,
    }


def run_suite(
    suite_path: str | Path,
    out: str | Path | None = None,
    device: str | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    workers: int | None = None,
    ray_address: str | None = None,
    report_only: bool = False,
) -> Path:
    """Run every (algorithm, env, seed) of the suite, evaluate, and write the report. Returns the output dir.

    The whole suite is checked first (every run's config, hyperparameters and env, and Ray's presence and
    cluster), so that a mistake never comes after ``force`` deleted the old output.

    :param workers: trials at once: a local process pool (default
        :func:`~agents.harness.runner.default_workers` of the trials left), 1 runs them one after another in this
        process; with ``ray_address`` a cap on trials in flight.
    :param ray_address: run the trials as Ray tasks on this cluster (``"local"``: start one here).
    :param report_only: train nothing: write the report of the trials in ``out`` that finished (a finished model
        without its evaluation is evaluated), saying which trials are missing.
    """
    from agents.harness.rundir import KIND_NAMES, check_location, check_own_dir, write_atomic
    from agents.harness.runner import import_ray, ray_connection
    from agents.harness.runtime import resolve_device
    from agents.harness.training import resolve_fresh

    if resume and force:
        raise UserError("--resume continues a benchmark and --force replaces it: pass only one of them")
    if report_only and force:
        raise UserError("--report-only reports the trials in --out and --force deletes them: pass only one of them")
    resume = resume or report_only
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be a positive integer, got {workers}")
    ray = import_ray() if ray_address is not None else None
    suite = load_suite(suite_path)
    out = check_location(suite.get("out", Path("runs") / "benchmark" / suite["name"]) if out is None else out, KIND_NAMES["suite"])
    device = resolve_device(device or suite.get("device", "auto"))
    jobs = suite_jobs(suite, out, device, progress)
    hyperparams: dict[tuple[str, str], dict[str, Any]] = {}  # per (label, env): the seed changes nothing in them
    for entry, config in jobs:
        if (entry["label"], config.env_id) not in hyperparams:
            hyperparams[entry["label"], config.env_id] = resolve_fresh(config).hyperparams or {}
    trials = [
        Trial(k, len(jobs), entry["label"], entry["algo"], config, suite["final_episodes"], resume, device, progress)
        for k, (entry, config) in enumerate(jobs, 1)
    ]
    for trial in trials:  # before anything is written
        if resume and (trial.paths.model.is_file() or _recorded_row(trial) is not None):
            _check_recipe(trial, hyperparams[trial.label, trial.config.env_id])
    if report_only:
        if not check_own_dir(out, "suite").is_dir():
            raise UserError(f"--report-only: {out} does not exist; run the suite first (without --report-only)")
        runs = _run_trials(trials, workers, ray, report_only=True)
        if not runs:
            raise UserError(f"--report-only: no trial of {suite['name']} has finished in {out} yet")
    else:
        with ray_connection(ray, ray_address):
            if resume:
                check_own_dir(out, "suite").mkdir(parents=True, exist_ok=True)
            else:
                claim_output_dir(out, force, "suite", resumable=True).create()
            write_atomic(out / "suite.yaml", yaml.safe_dump(suite, sort_keys=False))
            runs = _run_trials(trials, workers, ray)
    finished = {(r["label"], r["env_id"], r["seed"]) for r in runs}
    missing = [t.tag.split("] ", 1)[1] for t in trials if (t.label, t.config.env_id, t.config.seed) not in finished]

    references = []
    for env_id in suite["envs"]:
        for ref in suite["references"]:
            evaluation = evaluate_reference(ref, env_id, suite["final_episodes"], progress)
            references.append({"label": ref, "env_id": env_id, **evaluation})
    write_report(out, suite, runs, references, device, missing=missing)
    return out


def evaluate_reference(name: str, env_id: str, episodes: int, progress: bool) -> dict[str, Any]:
    """The summary of a reference player (oracle, random, memory-oracle, memoryless-oracle) on the held-out episodes."""
    from agents.harness.evaluation import evaluate

    return evaluate(PLAYERS[name](), env_id, episodes, progress=progress).summary


def _run_trials(trials: list[Trial], workers: int | None, ray: Any, report_only: bool = False) -> list[dict[str, Any]]:
    """Every finished trial's row, in suite order. Finished runs with their evaluation, or with the row they
    recorded (``trial.json``) when their model is not on this machine, are read here; the rest run through
    :func:`~agents.harness.runner.run_tasks`: on Ray, a process pool, or one after another in this process. With
    ``report_only`` only finished models still to be evaluated run (and are evaluated, not trained)."""
    from agents.harness.runner import run_tasks

    rows: dict[int, dict[str, Any]] = {}

    def done(trial: Trial, row: dict[str, Any]) -> None:
        rows[trial.index] = row
        _record_row(trial, row)
        print(f"{trial.tag}: success {100 * row['success_rate']:.1f}% (trained {row['train_wall_time_s']:.0f} s); "
              f"{len(rows)}/{len(trials)} trials done", flush=True)  # fmt: skip

    todo = []
    for trial in trials:
        if trial.resume and trial.paths.model.is_file():
            print(f"{trial.tag}: reusing the finished run in {trial.paths.root}", flush=True)
            summary = _saved_evaluation(trial)
            if summary is not None:
                done(trial, _trial_row(trial, summary))
                continue
        elif trial.resume and (row := _recorded_row(trial)) is not None:
            print(f"{trial.tag}: reusing the result it recorded in {trial.paths.root / TRIAL_FILE} "
                  "(its model is not on this machine)", flush=True)  # fmt: skip
            done(trial, row)
            continue
        elif report_only:
            print(f"{trial.tag}: not finished, left out of the report", flush=True)
            continue
        todo.append(trial)
    cuda = any(trial.device.startswith("cuda") for trial in todo)
    run_tasks(run_trial, todo, done, workers, ray, cuda, in_worker=_quiet, label=lambda t: t.tag, kind="trial")
    return [rows[trial.index] for trial in trials if trial.index in rows]


def _quiet(trial: Trial) -> Trial:
    """The trial as a worker runs it: no progress bars (they would overwrite each other)."""
    return Trial(**{**trial.__dict__, "progress": False})

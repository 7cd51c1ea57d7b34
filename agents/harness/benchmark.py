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
    compare: [[hrm-dqn-small, dqn]]   # pairs for P(X > Y) on each env (default: every pair of labels)

Every (algorithm, env, seed) is a *trial*: an ordinary ``train`` run directory under
``<out>/runs/<label>/<env>/seed<seed>``, trained and evaluated by :func:`run_trial`. Trials run on a local
process pool (one torch thread each), one after another in this process (``workers=1``), or as Ray tasks; the
parent only collects their result rows and writes the report. An interrupted benchmark continues with
``--resume``: finished trials are reused, unfinished ones resumed from their checkpoints.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.errors import UserError
from agents.harness.algos import ALGOS, DEVICES, check_env_id
from agents.harness.config import MAX_SEED, TrainConfig, parse_int
from agents.harness.evaluation import REFERENCE_PLAYERS, aggregate, format_ci, t_interval
from agents.harness.rundir import RunPaths, claim_output_dir, read_eval_rows

SUITE_KEYS = {
    "name", "envs", "algos", "seeds", "steps", "eval_freq", "eval_episodes", "final_episodes",
    "references", "device", "overrides", "out", "n_envs", "compare",
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
    if suite.get("compare") is not None:
        suite["compare"] = _suite_pairs(where, suite["compare"], labels)
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


def _suite_pairs(where: str, value: Any, labels: list[str]) -> list[list[str]]:
    """``compare``: a list of ``[x, y]`` pairs of two different labels of the suite."""
    if not isinstance(value, list):
        raise UserError(f"{where}: compare must be a list of label pairs such as [[{labels[0]}, {labels[-1]}]], got {value!r}")
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and all(label in labels for label in pair) and pair[0] != pair[1]):
            raise UserError(f"{where}: compare: each entry must be two different labels of the suite {labels}, got {pair!r}")
    return [list(pair) for pair in value]


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


# Ray tasks that train on a GPU each ask for this share of one (these networks are small; 4 trials share a GPU).
RAY_GPU_SHARE = 0.25


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


def run_trial(trial: Trial, worker: str | None = None) -> dict[str, Any]:
    """Train (or resume) one trial, evaluate it on the suite's held-out episodes, and return its ``runs`` row.

    A finished run (``model.zip``) is reused on ``resume``; an unfinished one resumes from its checkpoint; on
    ``resume`` a run with no checkpoint starts over. Top-level so that a process pool and Ray can pickle it.

    :param worker: ``"pool"`` or ``"ray"`` when it runs in a worker process: one torch thread, and (pool) a
        Ctrl-C interrupts the training once, so that its checkpoint is saved before the worker stops.
    """
    from agents.harness.checkpoints import latest_checkpoint
    from agents.harness.training import train

    if worker is not None:
        _one_thread()
    if worker == "pool":
        signal.signal(signal.SIGINT, _interrupt_once)
    try:
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
    finally:
        if worker == "pool":
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _one_thread() -> None:
    """One torch thread per trial: trials run side by side, one per core."""
    import torch

    os.environ["HRM_MAZES_THREADS"] = "1"  # what train's configure_threads reads
    torch.set_num_threads(1)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ctrl-C ignored inside the block (processes started in it inherit that); only the main thread can."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)


def _pool_worker_init() -> None:
    """A pool worker ignores Ctrl-C while idle; :func:`run_trial` takes it during a trial."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interrupt_once(signum: int, frame: Any) -> None:
    """Stop the trial at the first Ctrl-C and ignore the next ones, so that its checkpoint gets written."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _evaluate_trial(trial: Trial) -> dict[str, Any]:
    """The final greedy evaluation of a finished run, written to ``evaluation_<N>.json`` in its directory."""
    from agents.harness.baselines import load_model
    from agents.harness.encodings import env_encoding, make_env
    from agents.harness.evaluation import ModelPlayer, evaluate
    from agents.harness.rundir import read_run, write_atomic

    paths = trial.paths
    run = read_run(paths.root)
    model = load_model(trial.algo, paths.model, trial.device)
    encoding = env_encoding(run.hyperparams)
    env_id = trial.config.env_id

    def env_fn(env_id=env_id, encoding=encoding):
        return make_env(env_id, **encoding)

    evaluation = evaluate(
        ModelPlayer(model, trial.label),
        env_id,
        trial.final_episodes,
        env_fn=env_fn,
        env_kwargs=encoding["env_kwargs"],
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


def default_workers(n_trials: int) -> int:
    """``--workers`` by default: one trial per CPU core, at most one worker per trial."""
    return max(1, min(n_trials, os.cpu_count() or 1))


def run_suite(
    suite_path: str | Path,
    out: str | Path | None = None,
    device: str | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    workers: int | None = None,
    ray_address: str | None = None,
) -> Path:
    """Run every (algorithm, env, seed) of the suite, evaluate, and write the report. Returns the output dir.

    The whole suite is checked first (every run's config, hyperparameters and env, and Ray's presence and
    cluster), so that a mistake never comes after ``force`` deleted the old output.

    :param workers: trials at once: a local process pool (default :func:`default_workers` of the trials left),
        1 runs them one after another in this process; with ``ray_address`` a cap on trials in flight.
    :param ray_address: run the trials as Ray tasks on this cluster (``"local"``: start one here).
    """
    from agents.harness.rundir import KIND_NAMES, check_location, check_own_dir, write_atomic
    from agents.harness.runtime import resolve_device
    from agents.harness.training import resolve_fresh

    if resume and force:
        raise UserError("--resume continues a benchmark and --force replaces it: pass only one of them")
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be a positive integer, got {workers}")
    ray = _import_ray() if ray_address is not None else None
    suite = load_suite(suite_path)
    out = check_location(suite.get("out", Path("runs") / "benchmark" / suite["name"]) if out is None else out, KIND_NAMES["suite"])
    device = resolve_device(device or suite.get("device", "auto"))
    jobs = suite_jobs(suite, out, device, progress)
    checked: set[tuple[str, str]] = set()
    for entry, config in jobs:
        if (entry["label"], config.env_id) not in checked:  # the seed changes nothing that can be wrong
            resolve_fresh(config)
            checked.add((entry["label"], config.env_id))
    trials = [
        Trial(k, len(jobs), entry["label"], entry["algo"], config, suite["final_episodes"], resume, device, progress)
        for k, (entry, config) in enumerate(jobs, 1)
    ]
    if ray is not None:
        _connect_ray(ray, ray_address)
    try:
        if resume:
            check_own_dir(out, "suite").mkdir(parents=True, exist_ok=True)
        else:
            claim_output_dir(out, force, "suite", resumable=True).create()
        write_atomic(out / "suite.yaml", yaml.safe_dump(suite, sort_keys=False))
        runs = _run_trials(trials, workers, ray)
    finally:
        if ray is not None:
            ray.shutdown()

    references = []
    for env_id in suite["envs"]:
        for ref in suite["references"]:
            evaluation = evaluate_reference(ref, env_id, suite["final_episodes"], progress)
            references.append({"label": ref, "env_id": env_id, **evaluation})
    write_report(out, suite, runs, references, device)
    return out


def evaluate_reference(name: str, env_id: str, episodes: int, progress: bool) -> dict[str, Any]:
    """The summary of a reference player (oracle, random) on the held-out episodes."""
    from agents.harness.evaluation import evaluate

    return evaluate(REFERENCE_PLAYERS[name](), env_id, episodes, progress=progress).summary


def _run_trials(trials: list[Trial], workers: int | None, ray: Any) -> list[dict[str, Any]]:
    """Every trial's row, in suite order. Finished runs with their evaluation are read here; the rest run on Ray,
    a process pool, or one after another in this process."""
    rows: dict[int, dict[str, Any]] = {}

    def done(trial: Trial, row: dict[str, Any]) -> None:
        rows[trial.index] = row
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
        todo.append(trial)
    if ray is not None:
        _run_on_ray(ray, todo, workers or len(todo), done)
    else:
        n_workers = workers or default_workers(len(todo))
        if n_workers == 1 or len(todo) <= 1:
            for trial in todo:
                try:
                    done(trial, run_trial(trial))
                except UserError as err:
                    raise UserError(f"{trial.tag}: {err}") from None
        else:
            _run_on_pool([_quiet(t) for t in todo], n_workers, done)
    return [rows[trial.index] for trial in trials]


def _quiet(trial: Trial) -> Trial:
    """The trial as a worker runs it: no progress bars (they would overwrite each other)."""
    return Trial(**{**trial.__dict__, "progress": False})


def _run_on_pool(trials: list[Trial], workers: int, done: Callable[[Trial, dict[str, Any]], None]) -> None:
    """The trials on ``workers`` spawned processes. A failed trial does not stop the others: its error is raised
    once they are done. Ctrl-C interrupts every running trial (each saves its checkpoint) and stops the suite."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    failures: list[tuple[Trial, BaseException]] = []
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no torch state forked from this one
    with _sigint_ignored():  # the workers inherit it: a Ctrl-C while they start or idle does not kill them
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_pool_worker_init)
        futures = {pool.submit(run_trial, trial, "pool"): trial for trial in trials}  # (submit starts the workers)
    with pool:
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    error = future.exception()
                    if isinstance(error, KeyboardInterrupt):
                        raise error
                    if error is None:
                        done(futures[future], future.result())
                    else:
                        failures.append((futures[future], error))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            while not all(future.done() for future in pending):  # each running trial writes its checkpoint
                for child in multiprocessing.active_children():  # again each second: a trial may start after one
                    try:
                        os.kill(child.pid, signal.SIGINT)
                    except OSError:
                        pass
                wait(pending, timeout=1.0)
            raise KeyboardInterrupt from None
    _raise_failures(failures)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray: pip install 'hrm-mazes[ray]' (the 'ray' extra)") from None
    return ray


def _connect_ray(ray: Any, address: str) -> None:
    """``ray.init`` on the cluster at ``address``, or a new local instance for ``"local"``."""
    if not address.strip():
        raise UserError("--ray needs a cluster address (such as ray://host:10001 or auto), or 'local'")
    try:
        if address == "local":
            ray.init()
        else:
            ray.init(address=address)
    except Exception as err:  # Ray raises ConnectionError, ValueError, RuntimeError... for a bad address
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UserError(f"--ray {address}: cannot start or reach a Ray cluster ({reason})") from None


def _run_on_ray(ray: Any, trials: list[Trial], in_flight: int, done: Callable[[Trial, dict[str, Any]], None]) -> None:
    """The trials as Ray tasks (one CPU each; a share of a GPU on CUDA), at most ``in_flight`` at once. The run
    directories must be on a file system that every node and this machine see."""
    from ray.exceptions import RayTaskError, TaskCancelledError

    failures: list[tuple[Trial, BaseException]] = []
    task = ray.remote(num_cpus=1)(run_trial)
    waiting = [_quiet(t) for t in trials]
    running: dict[Any, Trial] = {}
    try:
        while waiting or running:
            while waiting and len(running) < in_flight:
                trial = waiting.pop(0)
                gpus = RAY_GPU_SHARE if trial.device.startswith("cuda") else 0  # a task without a GPU share sees none
                running[task.options(num_gpus=gpus).remote(trial, "ray")] = trial
            finished, _ = ray.wait(list(running), num_returns=1)
            for ref in finished:
                trial = running.pop(ref)
                try:
                    done(trial, ray.get(ref))
                except TaskCancelledError:
                    raise KeyboardInterrupt from None
                except RayTaskError as err:
                    cause = getattr(err, "cause", None) or err
                    if isinstance(cause, KeyboardInterrupt):
                        raise KeyboardInterrupt from None
                    failures.append((trial, cause))
    except KeyboardInterrupt:
        for ref in running:
            ray.cancel(ref)  # a KeyboardInterrupt in the task: the trial saves its checkpoint
        if running:
            ray.wait(list(running), num_returns=len(running), timeout=300)
        raise
    _raise_failures(failures)


def _raise_failures(failures: list[tuple[Trial, BaseException]]) -> None:
    """The first failed trial's error (a :class:`UserError` names the trial), after the others finished."""
    if not failures:
        return
    trial, error = failures[0]
    more = f" ({len(failures) - 1} more trial(s) failed)" if len(failures) > 1 else ""
    if isinstance(error, UserError):
        raise UserError(f"{trial.tag}: {error}{more}; the other trials finished: fix it and rerun with --resume") from None
    print(f"{trial.tag} failed{more}; the other trials finished (rerun with --resume)", flush=True)
    raise error


def write_report(out: Path, suite: dict[str, Any], runs: list[dict], references: list[dict], device: str) -> None:
    """results.md, results.csv, results.json and curves/<env>_{env,optimizer}_steps.png.

    Next to the mean and t interval of each label, the rliable statistics over seeds (:mod:`agents.harness.aggregate`):
    IQM with its stratified-bootstrap CI, and P(X > Y) for the suite's ``compare`` pairs (default: every pair).
    """
    from agents.harness.aggregate import aggregate_runs, markdown_sections

    aggregates = aggregate_runs(runs, suite.get("compare"))
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
        md += markdown_sections(aggregates, env_id)
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
        json.dumps(
            {"suite": suite, "device": device, "summary": rows, "aggregates": aggregates, "runs": runs, "references": references},
            indent=1,
            default=str,
        )
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

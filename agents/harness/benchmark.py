"""``hrm-mazes benchmark``: algorithms x envs x seeds, then a results table, CSV/JSON and learning curves.

A suite is a YAML file of envs, algorithms and seeds (:mod:`agents.harness.suites`, which checks it). Every
(algorithm, env, seed) is a *trial*: an ordinary ``train`` run directory under
``<out>/runs/<label>/<env>/seed<seed>``, trained and evaluated by :func:`run_trial`. Trials run on a local
process pool (one torch thread each), one after another in this process (``workers=1``), or as Ray tasks; the
parent only collects their result rows and writes the report (:mod:`agents.harness.report`). An interrupted
benchmark continues with ``--resume``: finished trials are reused, unfinished ones resumed from their checkpoints.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agents.errors import UserError
from agents.harness.config import TrainConfig
from agents.harness.evaluation import REFERENCE_PLAYERS
from agents.harness.report import markdown_table, plot_curves, write_report  # noqa: F401  (demo.py, plot_results.py)
from agents.harness.rundir import RunPaths, claim_output_dir
from agents.harness.suites import load_suite, suite_jobs

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

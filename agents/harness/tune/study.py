"""``hrm-mazes tune``: hyperparameter search with Optuna over ordinary ``train`` runs.

A study samples hyperparameters from the algorithm's search space (:mod:`agents.harness.tune.search_spaces`) on top
of a base preset, and each trial is one :func:`~agents.harness.training.train` run in ``<out>/trials/trial-NNNN``. The
harness's periodic greedy evaluation (``evaluations.csv``) is reported to Optuna after every evaluation, and
the median pruner stops trials that fall behind. The study directory holds::

    tune.yaml         the study's fixed settings (algorithm, env, budgets, evaluation, seed)
    commands.txt      the command of every session of the study (the first, then each --resume)
    base.yaml         the base preset the trials start from (RL-Zoo layout, one key: the env id)
    study.journal     Optuna's storage (a journal file; a study made before it has study.db, SQLite): every worker
                      of the study writes to it, and ``--resume`` continues the study from it
    trials/           one run directory per trial (run.yaml, evaluations.csv, model.zip, tb/)
    best.yaml         the base preset with the best trial's hyperparameters: ``train --config best.yaml``
    study.csv         one row per trial: Optuna's ``trials_dataframe``
    summary.md        the trials as a table, the best trial, the command and the machine

The sampler and pruner follow RL Baselines3 Zoo (``rl_zoo3/exp_manager.py``): TPE (multivariate, seeded) and
the median pruner, with the number of random start-up trials shared by both. The objective of a trial is the
mean greedy success rate of its last two evaluations (the final one included), less noisy than the last alone.
Optuna and the algorithms are imported when a study runs, not when this module is imported by the CLI handler.

The trials run in study workers (:func:`run_worker`): one in this process by default, or ``workers`` processes on
this machine or Ray tasks, through :mod:`agents.harness.runner`. Each worker asks the shared storage for a trial,
trains it and tells the result, until the study holds the session's cap of trials or its time is up; counting the
study's trials and asking for the next one is one step under a lock file, so that the workers never start more
trials than the cap between them. This process opens the study first and writes the outputs once at the end.

(About 680 lines: one command's flow read top to bottom, the study's settings, one trial with its pruning
callback, the study workers and their loop, the three outputs; the search spaces are their own module, and the
options, :class:`~agents.harness.config.TuneConfig`, are declared with train's in :mod:`agents.harness.config`.)
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import time
import urllib.parse
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3.common.callbacks import BaseCallback

from agents.errors import UserError
from agents.harness.algos import check_env_id
from agents.harness.config import STARTUP_TRIALS, TrainConfig, TuneConfig, check_fixed_options, check_value
from agents.harness.evaluation import EVAL_SEED_OFFSET, VALIDATION_SEED_OFFSET
from agents.harness.hyperparams import apply_overrides, load_preset
from agents.harness.rundir import (
    OutputDir,
    RunPaths,
    check_own_dir,
    claim_output_dir,
    read_eval_rows,
    read_yaml,
    write_atomic,
)
from agents.harness.runner import import_ray, ray_connection, ray_cpus, run_tasks
from agents.harness.tune.search_spaces import SEARCH_SPACES, base_params, default_base_preset, get_space

TUNE_DIR = Path("runs") / "tune"
COMMANDS_FILE = "commands.txt"  # the command of each session of a study, one per line
BASE_ATTR = "base_preset"  # the user attribute of the trial that runs the base preset itself
STUDY_NAME = "tune"
JOURNAL = "study.journal"  # the study's storage (Optuna's JournalFileBackend: one file that many processes share)
LEGACY_DB = "study.db"  # the storage of a study made before the journal (SQLite); such a study resumes on it
CLAIM_LOCK = "next-trial"  # the lock file "next-trial.lock" under which a worker counts the trials and asks for one
# Worker k of a session seeds its sampler with the session's seed + k * SEED_STRIDE: more than any study's trials,
# so that no two workers, in this session or another, draw the same random start-up trials.
SEED_STRIDE = 1 << 20  # (not a seed split: sampler seeds of workers, 1,048,576 apart)
# RL Zoo prunes from its n_evaluations // 3-th evaluation (3 of its usual 10): the first two never prune.
WARMUP_EVALUATIONS = 3
OBJECTIVE = "mean greedy success rate of the trial's last two evaluations"
STUDY_COLUMNS = ("number", "value", "datetime_start", "datetime_complete", "duration", "params", "user_attrs", "state")


# --- the study's settings -----------------------------------------------------------------------------------


def check_config(config: TuneConfig) -> None:
    """What :class:`TuneConfig` cannot check field by field (one-line :class:`UserError`s), before any work: the
    algorithm has a search space, the env exists, and not both ``--resume`` and ``--force``."""
    get_space(config.algo)
    check_env_id(config.env_id)
    if config.resume and config.force:
        raise UserError("--resume continues a study and --force replaces it: pass only one of them")


def _study_dir(config: TuneConfig) -> OutputDir | Path:
    """The study directory, checked by the shared output-directory guard: a new one (``--force``: replacing only
    a study directory hrm-mazes made), or for ``--resume`` an existing study."""
    path = config.out if config.out is not None else TUNE_DIR / f"{config.algo}-{config.env_id}"
    if config.resume:
        path = check_own_dir(path, "tune")
        if not ((path / "tune.yaml").is_file() and ((path / JOURNAL).is_file() or (path / LEGACY_DB).is_file())):
            raise UserError(f"--resume: {path} holds no study (no tune.yaml and {JOURNAL}); start one without --resume")
        return path
    return claim_output_dir(path, config.force, "tune", resumable=True)


def _settings(config: TuneConfig, path: Path) -> dict[str, Any]:
    """The study's fixed settings: resolved from ``config`` for a new study, read from tune.yaml on resume."""
    from agents.harness.runtime import resolve_device
    from agents.harness.training import resolve_fresh

    if config.resume:
        saved = _read_tune_yaml(path / "tune.yaml")
        for name in ("algo", "env_id"):
            if saved[name] != getattr(config, name):
                raise UserError(f"--resume: the study in {path} tunes {saved['algo']} on {saved['env_id']}, "
                                f"not {config.algo} on {config.env_id}")
        if saved.get("eval_seed_offset", EVAL_SEED_OFFSET) != VALIDATION_SEED_OFFSET:
            raise UserError(f"--resume: the study in {path} scored its trials on the test episodes (seeds "
                            f"{EVAL_SEED_OFFSET:,}+), from before periodic evaluations played validation episodes "
                            f"({VALIDATION_SEED_OFFSET:,}+); new trials would not be comparable: start a new study")
        _check_fixed_options(config, saved, path)
        return {**saved, "device": resolve_device(config.device)}
    base_name = config.config if config.config is not None else default_base_preset(config.algo)
    run = resolve_fresh(TrainConfig(algo=config.algo, env_id=config.env_id, steps=config.steps, seed=config.seed,
                                    device=config.device, config=base_name, eval_freq=config.eval_freq,
                                    eval_episodes=config.eval_episodes, out=path / "trials"))  # fmt: skip
    trial_minutes = config.trial_minutes if config.trial_minutes is not None else config.minutes / config.trials
    space = SEARCH_SPACES[config.algo]
    preset = load_preset(config.algo, config.env_id, run.config)[0]
    return {
        "algo": config.algo,
        "env_id": config.env_id,
        "config": run.config,
        "config_given": base_name,
        "base": space.undecided(preset),
        "base_trial": base_params(space, preset),  # trial 0 of a fresh study (None: the space cannot express the preset)
        "seed": run.seed,
        "steps": run.steps,
        "trial_seconds": round(60 * trial_minutes, 3),
        "eval_freq": run.eval_freq,
        "eval_episodes": run.eval_episodes,
        "startup_trials": config.startup_trials if config.startup_trials is not None else STARTUP_TRIALS,
        "device": run.device,
        "objective": OBJECTIVE,
        "eval_seed_offset": VALIDATION_SEED_OFFSET,  # the periodic evaluations' episodes (a study before it: the test's,
        # and --resume refuses it: its trials and new ones would have played different episodes)
    }


def _check_fixed_options(config: TuneConfig, saved: dict[str, Any], path: Path) -> None:
    """``--resume`` with an option the study fixed (:func:`~agents.harness.config.fixed_options`) set to another
    value than ``saved`` (its tune.yaml) has: a :class:`UserError`."""
    def recorded(name: str) -> Any:  # tune.yaml keeps a trial's budget in seconds
        return saved.get("trial_seconds") / 60 if name == "trial_minutes" and saved.get("trial_seconds") is not None else saved.get(name)

    def same(name: str, given: Any, fixed: Any) -> bool:
        if name == "trial_minutes":
            return round(60 * given, 3) == saved.get("trial_seconds")
        return name == "config" and given == saved.get("config_given")  # the name given, or the file it resolved to

    check_fixed_options(config, recorded, "study", f"{path}/tune.yaml", same)


# What tune.yaml must hold for a study to be resumed: the options it fixed, checked as the TuneConfig fields they
# came from (their bounds), and the rest by type.
_SAVED_OPTIONS = ("seed", "steps", "eval_freq", "eval_episodes", "startup_trials")
_SAVED_TYPES = {"algo": str, "env_id": str, "config": str, "config_given": str, "base": dict, "trial_seconds": (int, float)}


def _read_tune_yaml(file: Path) -> dict[str, Any]:
    """A study's saved settings; a tune.yaml that is not text, not YAML, or not a mapping of them is a one-line
    :class:`UserError` naming it."""
    saved = read_yaml(file, "study file", ours=True)
    if not isinstance(saved, dict):
        raise UserError(f"{file} is corrupt: not a mapping of the study's settings (got {type(saved).__name__})")
    missing = [name for name in (*_SAVED_OPTIONS, *_SAVED_TYPES) if name not in saved]
    if missing:
        raise UserError(f"{file} is corrupt: no {', '.join(missing)}")
    options = {f.name: f for f in fields(TuneConfig)}
    for name in _SAVED_OPTIONS:
        value = saved[name]
        try:
            if isinstance(value, bool) or not isinstance(value, int):  # as written: an int, not its text
                raise ValueError
            check_value(options[name], value)
        except ValueError:
            raise UserError(f"{file} is corrupt: {name} is {value!r}") from None
    for name, kind in _SAVED_TYPES.items():
        value = saved[name]
        if isinstance(value, bool) or not isinstance(value, kind) or (name == "trial_seconds" and value < 0):
            raise UserError(f"{file} is corrupt: {name} is {value!r}")
    return saved


# --- one trial ----------------------------------------------------------------------------------------------


class PruningCallback(BaseCallback):
    """Reports every periodic greedy evaluation of a run to an Optuna trial and stops the run once the trial
    should be pruned.

    It runs after the harness's :class:`~agents.harness.callback.TrainingCallback` in the same callback list,
    so an evaluation due at this step is already in ``evaluations.csv``. Each success rate is reported at the
    env steps of its evaluation point (a multiple of ``eval_freq``), so that the median pruner compares trials
    at the same steps. Stopping ends the run as a finished one (final checkpoint, model.zip).

    :param trial: an ``optuna.Trial`` (anything with ``report`` and ``should_prune``).
    :param evaluations: the run's ``evaluations.csv``.
    :param eval_freq: the run's evaluation period in env steps.
    """

    def __init__(self, trial: Any, evaluations: Path, eval_freq: int) -> None:
        super().__init__()
        self.trial, self.evaluations, self.eval_freq = trial, Path(evaluations), eval_freq
        self.reported = 0
        self.next_check = eval_freq
        self.pruned = False
        self.last_step: int | None = None

    def _on_step(self) -> bool:
        if self.num_timesteps < self.next_check:
            return True
        self.next_check = (self.num_timesteps // self.eval_freq + 1) * self.eval_freq
        rows = read_eval_rows(self.evaluations)
        for row in rows[self.reported :]:
            step = int(row["env_steps"]) // self.eval_freq * self.eval_freq
            self.trial.report(float(row["success_rate"]), step)
            self.last_step = step
        self.reported = len(rows)
        if rows and self.trial.should_prune():
            self.pruned = True
            return False
        return True


def objective_value(rows: list[dict[str, float]]) -> float:
    """The trial's objective: the mean success rate of its last two evaluations (of the only one, if one)."""
    last = [row["success_rate"] for row in rows[-2:]]
    if not last:
        raise UserError("the trial's run wrote no evaluation")
    return sum(last) / len(last)


def run_trial(
    trial: Any, settings: dict[str, Any], study_dir: Path, progress: bool = True, keep_checkpoints: bool = False
) -> float:
    """One trial: sample, train in ``<study_dir>/trials/trial-NNNN`` with the pruning callback, and return the
    objective (:func:`objective_value`); raises ``optuna.TrialPruned`` when the pruner stopped the run and
    ``KeyboardInterrupt`` when the run was interrupted."""
    import optuna

    from agents.harness.training import train

    overrides = SEARCH_SPACES[settings["algo"]].sample(trial)
    run_dir = study_dir / "trials" / f"trial-{trial.number:04d}"
    trial.set_user_attr("overrides", overrides)
    trial.set_user_attr("run_dir", os.fspath(run_dir.relative_to(study_dir)))
    callback = PruningCallback(trial, RunPaths(run_dir).evaluations, settings["eval_freq"])
    config = TrainConfig(
        algo=settings["algo"],
        env_id=settings["env_id"],
        steps=settings["steps"],
        seed=settings["seed"],
        device=settings["device"],
        config=os.fspath(study_dir / "base.yaml"),
        out=run_dir,
        eval_freq=settings["eval_freq"],
        eval_episodes=settings["eval_episodes"],
        checkpoint_freq=settings["steps"],  # only the final checkpoint: a tuning run is not resumed
        progress=progress,
        max_wall_s=settings["trial_seconds"],
        overrides=overrides,
    )
    try:
        result = train(config, callbacks=[callback])
    except (ValueError, AssertionError) as err:  # as RL Zoo: diverging hyperparameters (NaNs) end the trial only
        trial.set_user_attr("error", f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
        raise
    if result.interrupted:
        raise KeyboardInterrupt
    if not keep_checkpoints:
        shutil.rmtree(RunPaths(run_dir).checkpoints, ignore_errors=True)
    rows = read_eval_rows(RunPaths(run_dir).evaluations)
    for key, value in (("env_steps", result.env_steps), ("optimizer_steps", result.optimizer_steps),
                       ("wall_time_s", round(result.wall_time_s, 1)), ("evaluations", len(rows))):  # fmt: skip
        trial.set_user_attr(key, value)
    if callback.pruned:
        raise optuna.TrialPruned(f"pruned at {callback.last_step} env steps")
    return objective_value(rows)


# --- the study ----------------------------------------------------------------------------------------------


@dataclass
class TuneResult:
    """Where a study's outputs went and how it stands."""

    out: Path
    finished: int
    best_value: float | None
    best_yaml: Path | None
    resume_command: str
    interrupted: bool = False


def _optuna():
    try:
        import optuna
    except ImportError:
        raise UserError("tune needs Optuna: pip install 'optuna>=4' (or the 'agents' extra)") from None
    if not hasattr(optuna.storages, "journal"):  # JournalFileBackend, the study's storage, came with Optuna 4.0
        raise UserError(f"tune needs Optuna 4.0 or newer (found {optuna.__version__}): pip install 'optuna>=4'")
    return optuna


def prepare_study(config: TuneConfig) -> tuple[TuneConfig, Path, dict[str, Any]]:
    """Check everything, then make (``--force``: remake) or reopen the study directory.

    :return: the checked config, the study directory and the study's settings (what tune.yaml records).
    """
    check_config(config)
    output = _study_dir(config)
    path = output if isinstance(output, Path) else output.path
    settings = _settings(config, path)
    if isinstance(output, OutputDir):
        output.create()  # deletes (--force) only now that everything is checked
        write_atomic(path / "base.yaml", yaml.safe_dump({settings["env_id"]: settings["base"]}, sort_keys=False))
        write_atomic(path / "tune.yaml", yaml.safe_dump(settings, sort_keys=False))
    return config, path, settings


def tune(config: TuneConfig, command: str | None = None) -> TuneResult:
    """Run (or continue) a study; see the module docstring for the outputs.

    :param command: the command line, for summary.md (default: the equivalent ``hrm-mazes tune`` command).
    """
    optuna = _optuna()
    ray = import_ray() if config.ray_address is not None else None
    check_config(config)  # (before Ray starts; prepare_study checks the rest before it writes anything)
    with ray_connection(ray, config.ray_address), warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        config, path, settings = prepare_study(config)
        command = command or _command(config, path)
        optuna.logging.set_verbosity(optuna.logging.ERROR)  # one line per trial is ours (_print_trial)
        study, previous = _open_study(optuna, config, settings, path)
        commands = path / COMMANDS_FILE  # every session of the study, in order, for summary.md
        write_atomic(commands, (commands.read_text() if commands.is_file() else "") + command + "\n")
        remaining = config.trials - len(study.get_trials(deepcopy=False, states=_finished_states(optuna)))
        interrupted = False
        try:
            if remaining <= 0:
                print(f"the study already has {config.trials - remaining} finished trials (--trials {config.trials}); "
                      "raise --trials to run more")  # fmt: skip
            else:
                workers = _session_workers(optuna, study, config, settings, path, previous, remaining, ray)
                where = _where(len(workers), ray is not None)
                print(f"tuning {settings['algo']} on {settings['env_id']}: up to {remaining} trials in {config.minutes:g} min"
                      f"{where}, each up to {settings['steps']:,} env steps or {settings['trial_seconds'] / 60:.3g} min",
                      flush=True)  # fmt: skip
                run_tasks(run_worker, workers, workers=len(workers), ray=ray, cuda=settings["device"].startswith("cuda"),
                          in_worker=_quiet, kind="worker")  # fmt: skip
        except KeyboardInterrupt:
            interrupted = True
        finally:  # an error that stops the study still leaves the outputs of the trials that finished
            best_yaml = write_outputs(study, settings, path, command)
        best = _best_trial(study)
        finished = len(study.get_trials(deepcopy=False, states=_finished_states(optuna)))
    resume_command = _command(config.replace(resume=True, force=False), path)
    return TuneResult(path, finished, None if best is None else best.value, best_yaml, resume_command, interrupted)


def _finished_states(optuna: Any) -> tuple[Any, ...]:
    """The states of a trial that counts towards ``--trials``."""
    return optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED


def _where(workers: int, ray: bool) -> str:
    if ray:
        return f" as {workers} Ray task{'s' * (workers > 1)}"
    return f" on {workers} worker processes" if workers > 1 else ""


def storage_url(db: Path) -> str:
    """SQLAlchemy's URL of the SQLite file ``db``: its absolute path percent-encoded, so that a ``?``, ``#`` or ``%``
    in a folder name stays part of the path (SQLAlchemy decodes it back)."""
    return "sqlite:///" + urllib.parse.quote(os.fsencode(db.resolve()))


def _storage_file(path: Path) -> Path:
    """The file that holds the study in ``path``: its journal, or the SQLite file of a study made before the journal."""
    journal, legacy = path / JOURNAL, path / LEGACY_DB
    return legacy if legacy.is_file() and not journal.exists() else journal


def _storage(file: Path) -> Any:
    """Optuna's storage on ``file`` (a journal, or a legacy SQLite file): each process that runs trials opens its own."""
    import optuna

    if file.name == LEGACY_DB:
        return storage_url(file)
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(os.fspath(file)))


def _cut_off(file: Path) -> bool:
    """Whether the journal's last record lacks its line end (a truncated file): Optuna would skip it, and the next
    record written would be glued to it and break the file."""
    with file.open("rb") as f:
        if f.seek(0, os.SEEK_END) == 0:
            return False
        f.seek(-1, os.SEEK_END)
        return f.read(1) != b"\n"


def _open_study(optuna: Any, config: TuneConfig, settings: dict[str, Any], path: Path) -> tuple[Any, int]:
    """The study in the study directory (:func:`_storage_file`): created (a new study, its base preset queued as
    trial 0) or loaded (``--resume``, its trials that a killed session left running marked failed). A storage file
    that Optuna cannot read is a one-line :class:`UserError` naming it; a new study that cannot be created leaves
    no directory.

    :return: the study and the number of trials it had before this session.
    """
    file = _storage_file(path)
    try:
        if config.resume and file.name == JOURNAL and _cut_off(file):
            raise ValueError("its last record is cut off")
        storage = _storage(file)
        if config.resume:
            study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
        else:
            study = optuna.create_study(storage=storage, study_name=STUDY_NAME, direction="maximize")
        previous = len(study.trials)
        if not study.trials and settings.get("base_trial") is not None:  # a fresh study runs its base preset first
            study.enqueue_trial(settings["base_trial"], user_attrs={BASE_ATTR: True})
        for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(stale.number, state=optuna.trial.TrialState.FAIL)  # the session running it was killed
    except Exception as err:  # SQLAlchemy's errors for a damaged file, Optuna's KeyError for a missing study, ...
        cause = getattr(err, "orig", None) or err  # (SQLAlchemy wraps sqlite3's error)
        cause = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        if config.resume:
            raise UserError(f"{file} is corrupt or holds no study ({cause}); start a new study with another --out "
                            "(or --force to replace this one)") from None  # fmt: skip
        shutil.rmtree(path, ignore_errors=True)  # made by this command a moment ago: nothing else is in it
        raise UserError(f"cannot create the study's storage {file} ({cause})") from None
    return study, previous


# --- the study workers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyWorker:
    """One worker of a session: it runs trials of the study until the study has started ``cap`` trials or the
    deadline has passed. Picklable, so that a process pool or Ray can ship it to :func:`run_worker`."""

    index: int  # 0-based
    path: Path  # the study directory
    settings: dict[str, Any]  # the study's settings (tune.yaml)
    cap: int  # the study's started trials (waiting ones not counted) at which the session starts no more
    deadline: float  # time.time() after which no trial starts
    sampler_seed: int
    progress: bool
    keep_checkpoints: bool


def _session_workers(optuna: Any, study: Any, config: TuneConfig, settings: dict[str, Any], path: Path, previous: int,
                     remaining: int, ray: Any) -> list[StudyWorker]:  # fmt: skip
    """The session's workers: ``--workers`` (on Ray: default the cluster's CPUs), never more than the trials left.
    Together they start ``remaining`` trials, within ``--minutes`` from now."""
    count = min(config.workers or (ray_cpus(ray) if ray is not None else 1), remaining)
    started = len(study.get_trials(deepcopy=False, states=_started_states(optuna)))
    deadline = time.time() + 60 * config.minutes
    # A resumed study reseeds its sampler, so that its random start-up trials do not repeat earlier ones.
    seed = settings["seed"] + previous
    return [StudyWorker(k, path, settings, started + remaining, deadline, seed + k * SEED_STRIDE, config.progress,
                        config.keep_checkpoints) for k in range(count)]  # fmt: skip


def _started_states(optuna: Any) -> tuple[Any, ...]:
    """Every state but waiting: the trials a session has started (a waiting one is started by the next ask)."""
    return tuple(state for state in optuna.trial.TrialState if state != optuna.trial.TrialState.WAITING)


def _quiet(worker: StudyWorker) -> StudyWorker:
    """The worker as a worker process runs it: no progress bars (they would overwrite each other)."""
    return replace(worker, progress=False)


def run_worker(worker: StudyWorker) -> int:
    """Run trials of the study (ask, :func:`run_trial`, tell) until the session's cap or deadline; one line per
    trial. Returns how many trials this worker ran. Top-level, so that a process pool and Ray can run it."""
    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    settings = worker.settings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study = optuna.load_study(
            study_name=STUDY_NAME,
            storage=_storage(_storage_file(worker.path)),
            # constant_liar: the trials other workers are running count as bad, so that no two sample side by side
            # (set, since not every Optuna version defaults to it).
            sampler=optuna.samplers.TPESampler(n_startup_trials=settings["startup_trials"], seed=worker.sampler_seed,
                                               multivariate=True, constant_liar=True),  # fmt: skip
            pruner=optuna.pruners.MedianPruner(
                n_startup_trials=settings["startup_trials"], n_warmup_steps=WARMUP_EVALUATIONS * settings["eval_freq"]
            ),
        )
        claim = optuna.storages.journal.JournalFileOpenLock(os.fspath(worker.path / CLAIM_LOCK))
        ran = 0
        while (trial := _next_trial(optuna, study, claim, worker)) is not None:
            trial.set_user_attr("worker_pid", os.getpid())
            _print_trial(study, _run_and_tell(optuna, study, trial, worker))
            ran += 1
    return ran


def _next_trial(optuna: Any, study: Any, claim: Any, worker: StudyWorker) -> Any:
    """The study's next trial (``study.ask()``: the queued base preset first), or None once the study has started
    the session's cap of trials or the deadline has passed. Counting and asking are one step under ``claim``, a
    lock file, so that two workers never both take the last trial."""
    if time.time() >= worker.deadline:
        return None
    claim.acquire()
    try:
        started = len(study.get_trials(deepcopy=False, states=_started_states(optuna)))
        return study.ask() if started < worker.cap else None
    finally:
        claim.release()


def _run_and_tell(optuna: Any, study: Any, trial: Any, worker: StudyWorker) -> Any:
    """Run one trial and tell the study how it ended, as Optuna's ``optimize`` does: complete, pruned, or failed;
    a ``ValueError`` or ``AssertionError`` (diverging hyperparameters) fails the trial only, any other error and
    Ctrl-C are raised after. Returns the finished trial."""
    state = optuna.trial.TrialState
    try:
        value = run_trial(trial, worker.settings, worker.path, worker.progress, worker.keep_checkpoints)
    except optuna.TrialPruned:
        return study.tell(trial, state=state.PRUNED)
    except (ValueError, AssertionError):
        return study.tell(trial, state=state.FAIL)
    except (Exception, KeyboardInterrupt):
        study.tell(trial, state=state.FAIL)
        raise
    return study.tell(trial, value)


# --- what a study prints ------------------------------------------------------------------------------------


def _best_trial(study: Any) -> Any:
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None


def _print_trial(study: Any, trial: Any) -> None:
    """One line per finished trial."""
    best = _best_trial(study)
    value = "-" if trial.value is None else f"{trial.value:.3f}"
    shown_best = "-" if best is None else f"{best.value:.3f} (#{best.number})"
    wall = trial.user_attrs.get("wall_time_s", "-")
    params = " ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
    print(f"trial {_label(trial)}: {trial.state.name.lower()}  objective {value}  best {shown_best}  "
          f"{trial.user_attrs.get('env_steps', '-')} env steps  {wall} s  {params}", flush=True)  # fmt: skip
    if "error" in trial.user_attrs:
        print(f"  {trial.user_attrs['error']}", flush=True)


def _label(trial: Any) -> str:
    return f"{trial.number} (base preset)" if trial.user_attrs.get(BASE_ATTR) else str(trial.number)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _command(config: TuneConfig, path: Path) -> str:
    """The ``hrm-mazes tune`` command that ``config`` is, its study directory ``path`` spelled out."""
    return shlex.join(["hrm-mazes", "tune", *config.replace(out=path).to_argv()])


# --- outputs ------------------------------------------------------------------------------------------------


def write_outputs(study: Any, settings: dict[str, Any], path: Path, command: str) -> Path | None:
    """study.csv, summary.md, and best.yaml when a trial completed (its path, else None)."""
    trials = study.get_trials(deepcopy=False)
    _write_study_csv(study, path / "study.csv")
    best = _best_trial(study)
    best_yaml = None
    if best is not None:
        best_yaml = path / "best.yaml"
        hyperparams = apply_overrides(settings["base"], best.user_attrs["overrides"])
        header = (f"# hrm-mazes tune: trial {best.number} of {len(trials)}, objective {best.value:.4f} ({OBJECTIVE}),\n"
                  f"# each trial up to {settings['steps']:,} env steps or {settings['trial_seconds'] / 60:.3g} min; "
                  f"base {_base_name(settings)}.\n# Train with: hrm-mazes train --algo {settings['algo']} "
                  f"--env {settings['env_id']} --config {best_yaml}\n")  # fmt: skip
        write_atomic(best_yaml, header + yaml.safe_dump({settings["env_id"]: hyperparams}, sort_keys=False))
    write_atomic(path / "summary.md", _summary(trials, best, settings, path, command, best_yaml))
    return best_yaml


def _command_lines(path: Path, command: str) -> list[str]:
    """The study's first command and, after a ``--resume``, the later ones (a study from before commands.txt was
    kept shows the latest command only)."""
    try:
        commands = [line for line in (path / COMMANDS_FILE).read_text().splitlines() if line.strip()]
    except OSError:
        commands = []
    commands = commands or [command]
    lines = [f"- command: `{commands[0]}`"]
    if len(commands) > 1:
        lines.append("- continued with: " + "; ".join(f"`{c}`" for c in commands[1:]))
    return lines


def _base_name(settings: dict[str, Any]) -> str:
    """The base preset as the study was given it (``cpu``: the bundled preset), not the file path it resolved to."""
    given = settings.get("config_given")
    return f"{settings['algo']} {given} preset" if given and "/" not in given and not given.endswith(".yaml") else str(settings["config"])


def _base_line(trials: list[Any], settings: dict[str, Any]) -> str:
    base = next((t for t in trials if t.user_attrs.get(BASE_ATTR)), None)
    if base is None:
        return "- yardstick: no trial runs the base preset itself (the search space cannot express it)"
    value = "not finished" if base.value is None else f"objective {base.value:.4f}"
    return f"- yardstick: trial {base.number} runs the base preset itself ({value})"


def _write_study_csv(study: Any, path: Path) -> None:
    """Optuna's ``trials_dataframe`` without its system attributes: number, value, times, params_*, user_attrs_*,
    state. Integer columns stay integers where some trials lack the value, and dicts are written as JSON."""
    frame = study.trials_dataframe(attrs=STUDY_COLUMNS).convert_dtypes()
    for column in frame.select_dtypes(include="object"):  # a trial's overrides: JSON, not Python's repr
        frame[column] = frame[column].map(lambda v: json.dumps(v) if isinstance(v, (dict, list)) else v)
    write_atomic(path, frame.to_csv(index=False))


def _summary(trials: list[Any], best: Any, settings: dict[str, Any], path: Path, command: str, best_yaml: Path | None) -> str:
    import optuna

    from agents.harness.runtime import environment_record

    states = [t.state.name.lower() for t in trials]
    record = environment_record()
    versions = ", ".join(f"{k} {v}" for k, v in record["versions"].items())
    gpu = record["host"]["cuda"]
    lines = [
        f"# Hyperparameter search: {settings['algo']} on {settings['env_id']}",
        "",
        *_command_lines(path, command),
        f"- machine: {record['host']['cpu']}, {record['host']['cpu_count']} CPUs{f', {gpu}' if gpu else ''}; "
        f"{platform.platform()}; "
        f"device {settings['device']}; {versions}, optuna {optuna.__version__}",
        f"- trials: {len(trials)} ({', '.join(f'{states.count(s)} {s}' for s in sorted(set(states)))}); "
        f"each up to {settings['steps']:,} env steps or {settings['trial_seconds'] / 60:.3g} min",
        f"- base preset: {_base_name(settings)}; training seed {settings['seed']}",
        f"- evaluation: every {settings['eval_freq']:,} env steps, {settings['eval_episodes']} greedy episodes, "
        f"validation seeds {settings['eval_seed_offset']:,}+ (disjoint from the test episodes, {EVAL_SEED_OFFSET:,}+)",
        f"- objective: {OBJECTIVE}",
        f"- sampler: TPE (multivariate, seed {settings['seed']}, {settings['startup_trials']} random start-up trials); "
        f"pruner: median ({settings['startup_trials']} start-up trials, never before evaluation {WARMUP_EVALUATIONS})",
        _base_line(trials, settings),
        "",
    ]
    if best is None:
        lines += ["No trial completed yet: no best.yaml.", ""]
    else:
        lines += [f"## Best trial: {best.number}, objective {best.value:.4f}", "", "| hyperparameter | value |", "|---|---|"]
        lines += [f"| {k} | {_short(v)} |" for k, v in best.params.items()]
        train = f"hrm-mazes train --algo {settings['algo']} --env {settings['env_id']} --config {best_yaml}"
        lines += ["", f"Train with it: `{train}`", ""]
    params = list(dict.fromkeys(k for t in trials for k in t.params))
    lines += ["## Trials", "", "| # | state | objective | env steps | wall s | " + " | ".join(params) + " |",
              "|---" * (5 + len(params)) + "|"]  # fmt: skip
    for t in trials:
        value = "" if t.value is None else f"{t.value:.3f}"
        cells = [_label(t), t.state.name.lower(), value, str(t.user_attrs.get("env_steps", "")),
                 str(t.user_attrs.get("wall_time_s", ""))]  # fmt: skip
        cells += [_short(t.params[k]) if k in t.params else "" for k in params]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

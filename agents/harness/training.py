"""Training runs (``hrm-mazes train``): start fresh or resume, then one shared run.

:func:`train` reads top to bottom: :func:`_start_fresh` or :func:`_resume` turns the :class:`TrainConfig` into a
:class:`Session` (the resolved config, the run directory, the checkpoint state, the training envs and the
model), then :func:`_run_session` trains it with a :class:`~agents.harness.callback.TrainingCallback`, saves
the final checkpoint and model, and returns a :class:`TrainResult`.

``--resume`` reloads the latest checkpoint (model, optimizer, replay buffer, step counters) after checking that
its parts belong together, drops the evaluation and progress rows written after it, and trains on to the
requested number of steps. A run directory is never overwritten unless ``force`` (``--force``), only once
everything else has been checked, and only if train made it (:func:`~agents.harness.rundir.claim_output_dir`).

Seeds: every training env is seeded in the train split of :mod:`hrm_mazes.seeds`, so test and validation
episodes are never training episodes. A fresh run's env ``i`` of run seed ``s`` gets ``s + i`` (SB3's model
constructor reseeds the envs with the model's seed); after ``r`` resumes it gets ``s * 10_000 + 1_000 * r + i``
(:func:`train_env_seeds`).
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from agents.errors import UserError
from agents.harness.algos import check_env_id, get_algo, optimizer_steps
from agents.harness.callback import TrainingCallback
from agents.harness.checkpoints import (
    Checkpoint,
    RunState,
    buffer_position,
    expected_buffer_position,
    latest_checkpoint,
    read_state,
    resume_hint,
    save_checkpoint,
)
from agents.harness.config import SEEDS_PER_RUN, TrainConfig, check_fixed_options
from agents.harness.hyperparams import apply_overrides, check_hyperparams, load_preset, resolve_preset_path
from agents.harness.logger import make_logger
from agents.harness.models import build_model, load_model, make_train_env
from agents.harness.rundir import (
    RunPaths,
    claim_output_dir,
    default_run_dir,
    read_eval_rows,
    read_run,
    save_model_atomic,
    truncate_eval_rows,
    write_run,
)
from agents.harness.runtime import configure_threads, environment_record, resolve_device
from hrm_mazes.seeds import TRAIN


@dataclass
class TrainResult:
    """Where a run's outputs went and how far it got."""

    run_dir: Path
    model_path: Path | None
    env_steps: int
    optimizer_steps: int
    wall_time_s: float
    interrupted: bool = False
    time_limited: bool = False
    checkpoint_steps: int | None = None  # the env steps of the latest checkpoint (None: there is none)


@dataclass
class Session:
    """A run ready to train, the same whether it starts fresh or resumes.

    :param config: the resolved config: every ``saved`` field set, ``device`` resolved.
    """

    config: TrainConfig
    paths: RunPaths
    state: RunState
    venv: Any
    model: Any
    resumed: bool


def train(config: TrainConfig, callbacks: list[BaseCallback] | None = None) -> TrainResult:
    """Train ``config.algo`` on ``config.env_id`` (or resume the run in ``config.out``); see :class:`TrainConfig`.

    :param callbacks: extra SB3 callbacks (tests use one to simulate a crash).
    """
    session = _resume(config) if config.resume else _start_fresh(config)
    try:
        return _run_session(session, callbacks or [])
    except OSError as err:  # a log or output file on a full disk (checkpoints and model files say so themselves)
        if err.errno not in _DISK_FULL:
            raise
        where = err.filename or f"into {session.paths.root}"
        raise UserError(f"cannot write {where} ({err.strerror or err}); {resume_hint(session.paths)}") from None


# The errors of a disk that cannot take more: no space, over quota, file too large, read-only.
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def resolve_fresh(config: TrainConfig) -> TrainConfig:
    """The config of a new run with everything checked and resolved (config file, hyperparameters, the env they
    build, steps, cadences, device, run directory), touching no file. ``benchmark`` checks a whole suite with it."""
    if config.algo is None or config.env_id is None:
        raise UserError("train needs --algo and --env")
    get_algo(config.algo)
    check_env_id(config.env_id)
    hyperparams, preset_path = load_preset(config.algo, config.env_id, config.config)
    hyperparams = apply_overrides(hyperparams, config.overrides)
    if config.n_envs is not None:
        hyperparams["n_envs"] = config.n_envs
    hyperparams = check_hyperparams(config.algo, config.env_id, hyperparams, f"config {preset_path.name} ({config.env_id})")
    steps = config.steps if config.steps is not None else hyperparams.get("n_timesteps", 100_000)
    seed = config.seed if config.seed is not None else 0
    run = config.replace(steps=steps, seed=seed, config=str(preset_path), hyperparams=hyperparams)
    default_freq = max(run.steps // 10, 1)
    run = run.replace(
        eval_freq=run.eval_freq or hyperparams.get("eval_freq") or default_freq,
        eval_episodes=run.eval_episodes or hyperparams.get("eval_episodes") or 100,
        checkpoint_freq=run.checkpoint_freq or hyperparams.get("checkpoint_freq") or default_freq,
        device=resolve_device(config.device),
    )
    return run.replace(out=config.out if config.out is not None else default_run_dir(run.algo, run.env_id, run.seed))


def _start_fresh(config: TrainConfig) -> Session:
    """Check and resolve everything, build the envs and the model, and only then claim the run directory."""
    run = resolve_fresh(config)
    output = claim_output_dir(run.out, config.force, "run", resumable=True)
    paths = RunPaths(output.path)
    if run.device == "cpu" and Path(run.config).name == "hrm-dqn.yaml":
        print("note: hrm-dqn's default config is the paper's (256 envs, 1M replay, 6.4M steps), sized for a GPU; "
              "on a CPU try --config cpu-small", file=sys.stderr)  # fmt: skip
    state = RunState()
    venv = _train_envs(run, state)
    model = build_model(run.algo, run.hyperparams, venv, run.seed, run.device)
    output.create()
    return Session(run.replace(out=paths.root), paths, state, venv, model, resumed=False)


def _resume(config: TrainConfig) -> Session:
    """The run in ``config.out`` as its last checkpoint left it, after checking that the checkpoint's parts
    belong together; ``steps`` may extend the run."""
    if config.force:
        raise UserError("--resume continues a run and --force replaces it: pass only one of them")
    out = config.out
    if out is None:
        if config.algo is None or config.env_id is None:
            raise UserError("--resume needs --out RUN_DIR (or --algo, --env and --seed of a default run directory)")
        out = default_run_dir(config.algo, config.env_id, config.seed or 0)
    if not os.fspath(out).strip():
        raise UserError("run directory is empty (''); give the run's path, such as runs/my-run")
    paths = RunPaths(Path(out))
    saved = read_run(paths.root)
    for name in ("algo", "env_id"):
        given = getattr(config, name)
        if given is not None and given != getattr(saved, name):
            raise UserError(f"--resume: the run in {paths.root} has {name} {getattr(saved, name)!r}, not {given!r}")
    _check_fixed_options(config, saved, paths.root)
    checkpoint = latest_checkpoint(paths)
    if checkpoint is None:
        raise UserError(f"{paths.root} has no complete checkpoint to resume from (no checkpoints/latest)")
    state = read_state(paths, checkpoint)
    steps = config.steps if config.steps is not None else saved.steps
    if steps < state.env_steps:
        raise UserError(f"--steps {steps} is below the checkpoint's {state.env_steps} env steps; a run is not shortened below its checkpoint")
    state.resumes += 1
    run = saved.replace(
        steps=steps,
        device=resolve_device(config.device),
        progress=config.progress,
        max_wall_s=config.max_wall_s,
        allow_empty_buffer=config.allow_empty_buffer,
        out=paths.root,
        resume=True,
    )
    venv = _train_envs(run, state)
    try:
        model = load_model(run.algo, checkpoint.model, run.device, env=venv, recorded=True)
        _check_checkpoint(model, run, checkpoint, state, paths)
    except UserError:
        venv.close()
        raise
    venv.seed(train_env_seeds(run.seed, state.resumes, venv.num_envs).start)
    truncate_eval_rows(paths.evaluations, model.num_timesteps)
    return Session(run, paths, state, venv, model, resumed=True)


def _check_fixed_options(config: TrainConfig, saved: TrainConfig, root: Path) -> None:
    """--resume with an option the run fixed (:func:`~agents.harness.config.fixed_options`, and ``n_envs`` and the
    hyperparameters, which run.yaml keeps in ``hyperparams``), set to another value than the run's: a
    :class:`UserError`."""
    def same_preset(name: str, given: Any, fixed: Any) -> bool:  # --config cpu names the file run.yaml records
        return name == "config" and bool(saved.algo) and Path(fixed) == resolve_preset_path(saved.algo, given)

    check_fixed_options(config, lambda name: getattr(saved, name), "run", str(root), same_preset)
    saved_envs = int((saved.hyperparams or {}).get("n_envs", 1))
    if config.n_envs is not None and config.n_envs != saved_envs:
        raise UserError(f"--resume: --n-envs is fixed by the run ({root} has --n-envs {saved_envs}); start a new run to change it")
    if config.overrides:
        raise UserError(f"--resume: the hyperparameters are fixed by the run ({root}/run.yaml); start a new run to change them")


def _check_checkpoint(model: Any, run: TrainConfig, checkpoint: Checkpoint, state: RunState, paths: RunPaths) -> None:
    """Refuse a checkpoint whose model, state.json and replay buffer do not belong together; load the buffer."""
    name = checkpoint.dir.relative_to(paths.root) if checkpoint.dir.is_relative_to(paths.root) else checkpoint.dir

    def inconsistent(reason: str) -> UserError:
        others = sorted(p.name for p in paths.checkpoints.glob("step-*") if p != checkpoint.dir)
        hint = f"; the previous checkpoint {others[-1]} is kept: write its name into {paths.checkpoints / 'latest'} to resume from it" if others else ""
        return UserError(f"checkpoint {name} is inconsistent: {reason}{hint}")

    if int(model.num_timesteps) != state.env_steps:
        raise inconsistent(f"state.json says {state.env_steps} env steps, model.zip {model.num_timesteps}")
    if not get_algo(run.algo).off_policy:
        return
    if not checkpoint.replay_buffer.is_file():
        if not run.allow_empty_buffer:
            raise UserError(
                f"checkpoint {name} has no replay buffer ({checkpoint.replay_buffer.name} is missing): resuming would "
                "continue with an empty buffer; pass --allow-empty-buffer to do that anyway"
            )
        print(f"warning: {checkpoint.replay_buffer} is missing; training continues with an empty replay buffer "
              "(--allow-empty-buffer)", file=sys.stderr)  # fmt: skip
        state.buffer_start = state.env_steps  # what the buffer holds from now on: the checkpoints after this check it
        return
    try:
        model.load_replay_buffer(checkpoint.replay_buffer)
    except Exception as err:
        raise UserError(f"replay buffer {checkpoint.replay_buffer} is corrupt ({type(err).__name__})") from None
    found = buffer_position(model.replay_buffer)
    if state.replay_buffer is not None and found != state.replay_buffer:
        raise inconsistent(f"its replay buffer stands at {found}, state.json recorded {state.replay_buffer}")
    stored = state.env_steps - state.buffer_start
    expected = expected_buffer_position(stored, found["n_envs"], found["buffer_size"])
    if found != expected:
        since = f" (since the buffer restarted empty at {state.buffer_start})" if state.buffer_start else ""
        raise inconsistent(
            f"its replay buffer holds {_transitions(found)} transitions where {stored} env steps{since} stored {_transitions(expected)}"
        )


def _transitions(position: dict[str, Any]) -> int:
    return (position["buffer_size"] if position["full"] else position["pos"]) * position["n_envs"]


def _align_with_buffer(model: Any, off_policy: bool, buffer_start: int = 0) -> bool:
    """Make the model's step count match its replay buffer; False if they cannot be matched.

    SB3 counts an env step before the callback sees it and stores its transitions after: a stop inside the
    callback (the time limit, Ctrl-C) leaves one vec step counted but not stored. That step is uncounted here,
    so that a checkpoint's step count and buffer always agree.

    An on-policy model learns only from whole rollouts, and a stop inside one discards its transitions: the count
    goes back to the last whole rollout, so that a resume collects the same rollouts an uninterrupted run would.

    :param buffer_start: the env step from which the buffer holds every transition (:class:`RunState`).
    """
    if not off_policy and hasattr(model, "n_steps") and hasattr(model, "rollout_buffer"):
        model.num_timesteps -= int(model.num_timesteps) % (int(model.n_steps) * int(model.n_envs))
        return True
    buffer = getattr(model, "replay_buffer", None) if off_policy else None
    if buffer is None:
        return True
    found, n_envs = buffer_position(buffer), int(buffer.n_envs)
    stored = int(model.num_timesteps) - buffer_start
    if found == expected_buffer_position(stored, n_envs, found["buffer_size"]):
        return True
    if found == expected_buffer_position(stored - n_envs, n_envs, found["buffer_size"]):
        model.num_timesteps -= n_envs
        return True
    return False


class _RestoreTrainFreq(BaseCallback):
    """Gives the model back its configured ``train_freq`` when the shortened first rollout of a resume ends."""

    def __init__(self, train_freq: Any) -> None:
        super().__init__()
        self.train_freq = train_freq

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.model.train_freq = self.train_freq


def _resume_rollout_phase(model: Any, hyperparams: dict[str, Any]) -> BaseCallback | None:
    """Make an off-policy model's rollouts fall where an uninterrupted run's do, whatever its checkpoint.

    With ``train_freq = k`` env steps (k > 1) SB3 trains after every k vec steps *counted from the start of
    ``learn``*; a checkpoint taken mid-rollout (Ctrl-C, the time cap, a periodic checkpoint) would shift every later
    rollout on resume, so the run would train at other steps and end on another count (a 204-step run resumed
    from step 68 with k = 3 took 30 gradient steps instead of 31). The configured ``train_freq`` is set again (the
    one in a checkpoint may be a shortened one), the first rollout is shortened to what the interrupted one had
    left, and a callback restores ``k`` when it ends. Returns that callback, or None when nothing is to finish.
    """
    from stable_baselines3.common.type_aliases import TrainFreq, TrainFrequencyUnit

    if not hasattr(model, "_convert_train_freq"):
        return None
    model.train_freq = hyperparams.get("train_freq", model.train_freq)
    if isinstance(model.train_freq, list):
        model.train_freq = tuple(model.train_freq)
    model._convert_train_freq()  # SB3's own parsing of an int or (n, "step" | "episode")
    freq = model.train_freq
    if freq.unit != TrainFrequencyUnit.STEP or freq.frequency <= 1:
        return None
    done = (int(model.num_timesteps) // model.n_envs) % freq.frequency
    if done == 0:
        return None
    model.train_freq = TrainFreq(freq.frequency - done, freq.unit)
    return _RestoreTrainFreq(freq)


def train_env_seeds(seed: int, resumes: int, n_envs: int) -> range:
    """The reset seeds of the ``n_envs`` training envs of run seed ``seed`` after ``resumes`` resumes (env ``i`` gets
    ``start + i``); a :class:`UserError` if ``n_envs`` would carry them out of the train split."""
    start = seed * SEEDS_PER_RUN + 1_000 * (resumes % 10)
    try:
        TRAIN.check(n_envs, "n_envs", first=start - TRAIN.start)
    except ValueError as err:
        raise UserError(str(err)) from None
    return range(start, start + n_envs)


def _train_envs(run: TrainConfig, state: RunState):
    configure_threads(run.device)
    n_envs = int(run.hyperparams.get("n_envs", 1))
    return make_train_env(run.env_id, run.hyperparams, n_envs, train_env_seeds(run.seed, state.resumes, n_envs).start)


def _run_session(session: Session, callbacks: list[BaseCallback]) -> TrainResult:
    """Train to ``config.steps``; Ctrl-C saves a checkpoint; a finished run ends with an evaluation and model.zip."""
    run, paths, state, model = session.config, session.paths, session.state, session.model
    off_policy = get_algo(run.algo).off_policy
    write_run(paths, run, environment_record())
    model.set_logger(make_logger(paths.tensorboard, off_policy, resume_at=int(model.num_timesteps) if session.resumed else None))
    trainer = TrainingCallback(run, paths, state)
    trainer.init_callback(model)
    if "curriculum" in run.hyperparams:
        from agents.harness.curriculum import CurriculumSettings, DistanceCurriculum

        settings = CurriculumSettings.from_config(run.hyperparams["curriculum"])
        callbacks = [DistanceCurriculum(settings, session.venv.get_attr("layout")[0]), *callbacks]
    if off_policy:
        finish = _resume_rollout_phase(model, run.hyperparams)
        callbacks = [*callbacks, finish] if finish is not None else callbacks
    interrupted = False
    remaining = run.steps - int(model.num_timesteps)
    if remaining > 0:
        log_interval = int(run.hyperparams.get("log_interval", 50 if off_policy else 1))
        try:
            model.learn(
                total_timesteps=remaining,
                callback=CallbackList([trainer, *callbacks]),
                log_interval=log_interval,
                reset_num_timesteps=not session.resumed,
            )
        except KeyboardInterrupt:
            interrupted = True
            trainer.close_bar()
            if _align_with_buffer(model, off_policy, state.buffer_start):
                save_checkpoint(model, paths, state, off_policy, trainer.wall_time())
    wall = trainer.wall_time()
    if not interrupted:
        if not _align_with_buffer(model, off_policy, state.buffer_start):
            print(f"warning: the replay buffer does not match the step count {model.num_timesteps}; "
                  "the final checkpoint will not resume", file=sys.stderr)  # fmt: skip
        rows = read_eval_rows(paths.evaluations)
        if not rows or rows[-1]["env_steps"] < model.num_timesteps:
            trainer.evaluate()
        trained = latest_checkpoint(paths) is None or state.env_steps != int(model.num_timesteps)
        if trained:  # (resuming a finished run trains nothing: its checkpoint and model stay as they are)
            save_checkpoint(model, paths, state, off_policy, wall)
        if trained or not paths.model.is_file():
            save_model_atomic(model, paths.model)
    session.venv.close()
    model.logger.close()
    return TrainResult(
        run_dir=paths.root,
        model_path=None if interrupted else paths.model,
        env_steps=int(model.num_timesteps),
        optimizer_steps=optimizer_steps(model),
        wall_time_s=wall,
        interrupted=interrupted,
        time_limited=trainer.time_limited,
        checkpoint_steps=state.env_steps if (paths.checkpoints / "latest").is_file() else None,
    )

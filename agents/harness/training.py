"""Training runs (``hrm-mazes train``): start fresh or resume, then one shared run.

:func:`train` reads top to bottom: :func:`_start_fresh` or :func:`_resume` turns the :class:`TrainConfig` into a
:class:`Session` (the resolved config, the run directory, the checkpoint state, the training envs and the
model), then :func:`_run_session` trains it with a :class:`~agents.harness.callback.TrainingCallback`, saves
the final checkpoint and model, and returns a :class:`TrainResult`.

``--resume`` reloads the checkpoint (model, optimizer, replay buffer, step counters), drops evaluation rows
written after it, and trains on to the requested number of steps. A run directory is never overwritten unless
``force`` (``--force``), and then only once everything else has been checked.

Seeds: training env ``i`` of run seed ``s`` is seeded with ``s * 10_000 + 1_000 * r + i`` (``r``: how many
times the run was resumed), always below :data:`agents.harness.evaluation.EVAL_SEED_OFFSET`, so evaluation
episodes are never training episodes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from agents.errors import UserError
from agents.harness.algos import check_env_id, get_algo, optimizer_steps
from agents.harness.baselines import build_model, load_model, make_train_env
from agents.harness.callback import TrainingCallback
from agents.harness.config import TrainConfig
from agents.harness.encodings import env_encoding
from agents.harness.hyperparams import apply_overrides, load_config
from agents.harness.logger import make_logger
from agents.harness.rundir import (
    RunPaths,
    RunState,
    claim_output_dir,
    default_run_dir,
    read_eval_rows,
    read_run,
    read_state,
    save_checkpoint,
    truncate_eval_rows,
    write_run,
)
from agents.harness.runtime import configure_threads, environment_record, resolve_device


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
    return _run_session(session, callbacks or [])


def _start_fresh(config: TrainConfig) -> Session:
    """Check and resolve everything, build the envs and the model, and only then claim the run directory."""
    if config.algo is None or config.env_id is None:
        raise UserError("train needs --algo and --env")
    get_algo(config.algo)
    check_env_id(config.env_id)
    hyperparams, config_path = load_config(config.algo, config.env_id, config.config)
    hyperparams = apply_overrides(hyperparams, config.overrides)
    if config.n_envs is not None:
        hyperparams["n_envs"] = config.n_envs
    steps = config.steps if config.steps is not None else hyperparams.get("n_timesteps", 100_000)
    run = config.replace(steps=steps, config=str(config_path), hyperparams=hyperparams)
    default_freq = max(run.steps // 10, 1)
    run = run.replace(
        eval_freq=run.eval_freq or hyperparams.get("eval_freq") or default_freq,
        eval_episodes=run.eval_episodes or hyperparams.get("eval_episodes") or 100,
        checkpoint_freq=run.checkpoint_freq or hyperparams.get("checkpoint_freq") or default_freq,
        device=resolve_device(config.device),
    )
    paths = RunPaths(Path(config.out) if config.out is not None else default_run_dir(run.algo, run.env_id, run.seed))
    output = claim_output_dir(paths.root, config.force, "run directory", resumable=True)
    if run.device == "cpu" and config_path.name == "hrm-dqn.yaml":
        print("note: hrm-dqn's default config is the paper's (256 envs, 1M replay, 6.4M steps), sized for a GPU; "
              "on a CPU try --config cpu-small", file=sys.stderr)  # fmt: skip
    state = RunState()
    venv = _train_envs(run, state)
    model = build_model(run.algo, hyperparams, venv, run.seed, run.device)
    output.create()
    return Session(run.replace(out=paths.root), paths, state, venv, model, resumed=False)


def _resume(config: TrainConfig) -> Session:
    """The run in ``config.out`` as its last checkpoint left it; ``steps`` may extend it."""
    out = config.out
    if out is None:
        if config.algo is None or config.env_id is None:
            raise UserError("--resume needs --out RUN_DIR (or --algo, --env and --seed of a default run directory)")
        out = default_run_dir(config.algo, config.env_id, config.seed)
    paths = RunPaths(Path(out))
    saved = read_run(paths.root)
    for name in ("algo", "env_id"):
        given = getattr(config, name)
        if given is not None and given != getattr(saved, name):
            raise UserError(f"--resume: the run in {paths.root} has {name} {getattr(saved, name)!r}, not {given!r}")
    state = read_state(paths)
    state.resumes += 1
    run = saved.replace(
        steps=config.steps if config.steps is not None else saved.steps,
        device=resolve_device(config.device),
        progress=config.progress,
        max_wall_s=config.max_wall_s,
        out=paths.root,
        resume=True,
    )
    venv = _train_envs(run, state)
    model = load_model(run.algo, paths.checkpoint, run.device, env=venv)
    venv.seed(_env_seed(run.seed, state.resumes))
    if get_algo(run.algo).off_policy and paths.replay_buffer.is_file():
        try:
            model.load_replay_buffer(paths.replay_buffer)
        except Exception as err:
            raise UserError(f"replay buffer {paths.replay_buffer} is corrupt ({type(err).__name__})") from None
    truncate_eval_rows(paths.evaluations, model.num_timesteps)
    return Session(run, paths, state, venv, model, resumed=True)


def _env_seed(seed: int, resumes: int) -> int:
    return seed * 10_000 + 1_000 * (resumes % 10)


def _train_envs(run: TrainConfig, state: RunState):
    configure_threads(run.device)
    n_envs = int(run.hyperparams.get("n_envs", 1))
    return make_train_env(run.env_id, run.hyperparams, n_envs, _env_seed(run.seed, state.resumes))


def _run_session(session: Session, callbacks: list[BaseCallback]) -> TrainResult:
    """Train to ``config.steps``; Ctrl-C saves a checkpoint; a finished run ends with an evaluation and model.zip."""
    run, paths, state, model = session.config, session.paths, session.state, session.model
    off_policy = get_algo(run.algo).off_policy
    write_run(paths, run, environment_record())
    model.set_logger(make_logger(paths.tensorboard, off_policy))
    trainer = TrainingCallback(
        algo=run.algo,
        env_id=run.env_id,
        encoding=env_encoding(run.hyperparams),
        paths=paths,
        state=state,
        total_steps=run.steps,
        eval_freq=run.eval_freq,
        eval_episodes=run.eval_episodes,
        checkpoint_freq=run.checkpoint_freq,
        off_policy=off_policy,
        progress=run.progress,
        max_wall_s=run.max_wall_s,
    )
    trainer.init_callback(model)
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
            save_checkpoint(model, paths, state, off_policy, trainer.wall_time())
    wall = trainer.wall_time()
    if not interrupted:
        rows = read_eval_rows(paths.evaluations)
        if not rows or rows[-1]["env_steps"] < model.num_timesteps:
            trainer.evaluate()
        save_checkpoint(model, paths, state, off_policy, wall)
        model.save(paths.model)
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
    )

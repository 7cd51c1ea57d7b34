"""Training runs: configs, run directories, checkpoints, resume, periodic evaluation and logging.

A run directory (default ``runs/<algo>/<env>/seed<seed>``) holds::

    run.yaml                 what was run: algo, env, seed, steps, device, resolved hyperparameters
    model.zip                the final model (written when the run completes)
    checkpoints/last.zip     the latest checkpoint (+ last_replay_buffer.pkl for off-policy algorithms)
    checkpoints/state.json   env steps, optimizer steps and wall-clock time of that checkpoint (written last)
    evaluations.csv          periodic greedy evaluation: success rate, length, path efficiency vs steps
    progress.csv, tb/        SB3 logger output (CSV, TensorBoard), CleanRL-style names

``--resume`` reloads the checkpoint (model, optimizer, replay buffer, step counters), drops evaluation rows
written after it, and trains on to the requested number of steps. A run directory is never overwritten
unless ``force=True`` (``--force``).

Seeds: training env ``i`` of run seed ``s`` is seeded with ``s * 10_000 + 1_000 * r + i`` (``r``: how many
times the run was resumed), always below :data:`agents.evaluation.EVAL_SEED_OFFSET`, so evaluation episodes
are never training episodes.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.errors import UserError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
RUNS_DIR = Path("runs")
MAX_SEED = 99
EVAL_COLUMNS = (
    "env_steps",
    "optimizer_steps",
    "wall_time_s",
    "episodes",
    "success_rate",
    "success_lo",
    "success_hi",
    "mean_length",
    "path_efficiency",
)
CONFIG_ALIASES = {"paper": "{algo}", "default": "{algo}"}


# --- configs -----------------------------------------------------------------------------------------------


def bundled_configs() -> list[str]:
    """Names of the YAML files shipped in ``agents/configs`` (without ``.yaml``)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def resolve_config_path(algo: str, config: str | os.PathLike | None) -> Path:
    """``config``: None (the algorithm's default file), a YAML path, a bundled name, or a short preset name
    (``cpu-small`` means ``<algo>-cpu-small``; ``paper`` means the algorithm's default, the paper's settings)."""
    if config is None:
        return CONFIG_DIR / f"{algo}.yaml"
    text = str(config)
    path = Path(text)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise UserError(f"config file {text!r} does not exist")
        return path
    for name in (CONFIG_ALIASES.get(text, text).format(algo=algo), f"{algo}-{text}"):
        if (CONFIG_DIR / f"{name}.yaml").is_file():
            return CONFIG_DIR / f"{name}.yaml"
    raise UserError(f"unknown config {text!r}: not a .yaml file; bundled configs: {', '.join(bundled_configs())}")


def load_config(algo: str, env_id: str, config: str | os.PathLike | None = None) -> tuple[dict[str, Any], Path]:
    """The hyperparameters for ``algo`` on ``env_id`` (RL-Zoo layout: one top-level key per env id)."""
    path = resolve_config_path(algo, config)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise UserError(f"cannot read config {path}: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UserError(f"config {path} must map env ids to hyperparameters")
    if env_id not in data:
        known = ", ".join(k for k in data if not str(k).startswith("_"))
        raise UserError(f"config {path.name} has no entry for {env_id!r} (it has: {known})")
    return dict(data[env_id]), path


# --- run directories ---------------------------------------------------------------------------------------


@dataclass
class RunPaths:
    root: Path

    @property
    def run_yaml(self) -> Path:
        return self.root / "run.yaml"

    @property
    def model(self) -> Path:
        return self.root / "model.zip"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def checkpoint(self) -> Path:
        return self.checkpoints / "last.zip"

    @property
    def replay_buffer(self) -> Path:
        return self.checkpoints / "last_replay_buffer.pkl"

    @property
    def state(self) -> Path:
        return self.checkpoints / "state.json"

    @property
    def evaluations(self) -> Path:
        return self.root / "evaluations.csv"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tb"


def default_run_dir(algo: str, env_id: str, seed: int) -> Path:
    return RUNS_DIR / algo / env_id / f"seed{seed}"


def read_run(run_dir: Path) -> dict[str, Any]:
    paths = RunPaths(Path(run_dir))
    try:
        run = yaml.safe_load(paths.run_yaml.read_text())
    except FileNotFoundError:
        raise UserError(f"{run_dir} is not a run directory (no run.yaml)") from None
    except yaml.YAMLError as err:
        raise UserError(f"{paths.run_yaml} is corrupt: {str(err).splitlines()[0]}") from None
    if not isinstance(run, dict) or "algo" not in run or "env_id" not in run:
        raise UserError(f"{paths.run_yaml} is corrupt: missing algo / env_id")
    return run


def find_run_for_model(model_path: Path) -> tuple[Path, dict[str, Any]]:
    """The run directory of a model file (the file's folder or its parent holds ``run.yaml``)."""
    model_path = Path(model_path)
    if model_path.is_dir():
        candidates = [model_path]
    else:
        candidates = [model_path.parent, model_path.parent.parent]
    for folder in candidates:
        if (folder / "run.yaml").is_file():
            return folder, read_run(folder)
    raise UserError(f"no run.yaml next to {model_path}: pass --algo and --env to say how it was trained")


# --- the environment and model ------------------------------------------------------------------------------


def resolve_device(device: str) -> str:
    import torch

    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise UserError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("CUDA is not available on this machine; use --device cpu (or auto)")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def configure_threads(device: str) -> None:
    """On CPU use ``HRM_MAZES_THREADS`` torch threads (default 1: these networks are small, and extra threads
    mostly fight over cores with the env loop)."""
    import torch

    if device == "cpu":
        try:
            torch.set_num_threads(max(1, int(os.environ.get("HRM_MAZES_THREADS", "1"))))
        except ValueError:
            raise UserError(f"HRM_MAZES_THREADS must be a positive integer, got {os.environ['HRM_MAZES_THREADS']!r}") from None


def env_encoding(hyperparams: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`agents.baselines.make_env` that a config entry implies."""
    return {
        "obs_mode": hyperparams.get("obs_mode", "tokens"),
        "frame_stack": int(hyperparams.get("frame_stack", 1)),
        "env_kwargs": dict(hyperparams.get("env_kwargs") or {}),
    }


def make_train_env(env_id: str, hyperparams: dict[str, Any], n_envs: int, seed: int):
    """The training VecEnv: the suite's batched env when it exists and fits the encoding, else a DummyVecEnv."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv

    from agents.baselines import make_env

    encoding = env_encoding(hyperparams)
    choice = hyperparams.get("vec_env", "auto")
    if choice in ("auto", "batched") and encoding["frame_stack"] == 1:
        venv = _batched_vec_env(env_id, encoding, n_envs)
        if venv is not None:
            venv.seed(seed)
            return venv
        if choice == "batched":
            raise UserError("vec_env: batched was asked for but hrm_mazes.sb3 is not available")
    return make_vec_env(make_env, n_envs=n_envs, seed=seed, vec_env_cls=DummyVecEnv, env_kwargs={"env_id": env_id, **encoding})


def _batched_vec_env(env_id: str, encoding: dict[str, Any], n_envs: int):
    """The suite's batched env behind an SB3 VecEnv, or None where ``hrm_mazes.sb3`` is not there (yet)."""
    try:
        from hrm_mazes import sb3 as hrm_sb3
    except ImportError:
        return None
    factory = getattr(hrm_sb3, "make_sb3_vec_env", None)
    if factory is None:
        return None
    from stable_baselines3.common.vec_env import VecMonitor

    # VecMonitor adds the per-episode return / length that SB3's logger and our progress bar read.
    return VecMonitor(factory(env_id, num_envs=n_envs, obs_mode=encoding["obs_mode"], **encoding["env_kwargs"]))


def build_model(algo: str, hyperparams: dict[str, Any], venv, seed: int, device: str):
    from agents.baselines import algo_kwargs, get_algo

    cls = get_algo(algo).load_class()
    kwargs = algo_kwargs(hyperparams)
    policy = hyperparams.get("policy", "MlpPolicy")
    try:
        return cls(policy, venv, seed=seed, device=device, verbose=0, **kwargs)
    except TypeError as err:
        raise UserError(f"bad hyperparameters for {algo}: {err}") from None


def load_model(algo: str, path: Path, device: str = "auto", env=None):
    """Load a saved model or checkpoint; an unreadable file is a :class:`UserError`, never a traceback."""
    from agents.baselines import get_algo

    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist")
    cls = get_algo(algo).load_class()
    try:
        return cls.load(path, env=env, device=device)
    except UserError:
        raise
    except Exception as err:  # a corrupt zip raises anything from BadZipFile to KeyError or pickle errors
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"cannot load {path}: the file is corrupt or not a {algo} model ({message})") from None


# --- logging ------------------------------------------------------------------------------------------------

# SB3 key -> CleanRL-style name; other keys: rollout/ and time/ go to charts/, train/ to losses/.
_RENAMES = {
    "rollout/ep_rew_mean": "charts/episodic_return",
    "rollout/ep_len_mean": "charts/episodic_length",
    "rollout/success_rate": "charts/success_rate",
    "rollout/exploration_rate": "charts/epsilon",
    "time/fps": "charts/SPS",
    "time/total_timesteps": "charts/env_steps",
    "train/learning_rate": "charts/learning_rate",
    "train/n_updates": "charts/n_updates",
    "train/value_loss": "losses/value_loss",
    "train/policy_gradient_loss": "losses/policy_loss",
    "train/entropy_loss": "losses/entropy",
    "train/clip_fraction": "losses/clipfrac",
}


def cleanrl_name(key: str, off_policy: bool) -> str:
    if key in _RENAMES:
        return _RENAMES[key]
    if key == "train/loss":
        return "losses/td_loss" if off_policy else "losses/loss"
    prefix, _, rest = key.partition("/")
    if prefix in ("rollout", "time"):
        return f"charts/{rest}"
    if prefix == "train":
        return f"losses/{rest}"
    return key


def make_logger(folder: Path, off_policy: bool):
    """An SB3 Logger writing TensorBoard and CSV with CleanRL-style names (``charts/...``, ``losses/...``)."""
    from stable_baselines3.common.logger import CSVOutputFormat, KVWriter, Logger, TensorBoardOutputFormat

    class Renamed(KVWriter):
        def __init__(self, inner: KVWriter) -> None:
            self.inner = inner

        def write(self, key_values, key_excluded, step: int = 0) -> None:
            renamed = {cleanrl_name(k, off_policy): v for k, v in key_values.items()}
            excluded = {cleanrl_name(k, off_policy): v for k, v in key_excluded.items()}
            self.inner.write(renamed, excluded, step)

        def close(self) -> None:
            self.inner.close()

    folder.mkdir(parents=True, exist_ok=True)
    formats = [Renamed(CSVOutputFormat(str(folder.parent / "progress.csv")))]
    try:
        formats.append(Renamed(TensorBoardOutputFormat(str(folder))))
    except ImportError:  # tensorboard missing: CSV only
        pass
    return Logger(str(folder), formats)


# --- callbacks ----------------------------------------------------------------------------------------------


@dataclass
class RunState:
    """What a checkpoint remembers besides the model (``checkpoints/state.json``)."""

    env_steps: int = 0
    optimizer_steps: int = 0
    wall_time_s: float = 0.0
    resumes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _callbacks(
    run, paths: RunPaths, state: RunState, total_steps: int, progress: bool, extra: list | None, max_wall_s: float | None
):
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList

    from agents.baselines import get_algo, make_env, optimizer_steps
    from agents.evaluation import ModelPolicy, evaluate

    spec = get_algo(run["algo"])
    encoding = env_encoding(run["hyperparams"])
    eval_freq = int(run["eval_freq"])
    eval_episodes = int(run["eval_episodes"])
    checkpoint_freq = int(run["checkpoint_freq"])
    env_id = run["env_id"]

    class Trainer(BaseCallback):
        """Progress bar, periodic greedy evaluation and checkpoints, all keyed on env steps."""

        def __init__(self) -> None:
            super().__init__()
            self.bar = None
            self.started = time.perf_counter()
            self.wall_before = state.wall_time_s
            self.last_eval: float = math.nan
            self.next_eval = 0
            self.next_checkpoint = 0
            self.time_limited = False

        def wall_time(self) -> float:
            return self.wall_before + time.perf_counter() - self.started

        def _on_training_start(self) -> None:
            now = self.model.num_timesteps
            self.next_eval = (now // eval_freq + 1) * eval_freq if eval_freq > 0 else math.inf
            self.next_checkpoint = (now // checkpoint_freq + 1) * checkpoint_freq if checkpoint_freq > 0 else math.inf
            if progress:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=total_steps, initial=now, desc=f"{run['algo']} {env_id}", unit="step", dynamic_ncols=True)

        def _on_step(self) -> bool:
            steps = self.model.num_timesteps
            if self.bar is not None:
                self.bar.update(steps - self.bar.n)
                if self.n_calls % 50 == 0:
                    self.bar.set_postfix_str(self.postfix(), refresh=False)
            if steps >= self.next_eval:
                self.evaluate()
                self.next_eval = (steps // eval_freq + 1) * eval_freq
            if max_wall_s is not None and self.wall_time() >= max_wall_s:
                self.time_limited = True
                return False
            return True

        def _on_rollout_start(self) -> None:
            # Checkpoint between rollouts: every collected transition is stored and trained on, so a resumed run
            # loses nothing but the envs' unfinished episodes (PPO's rollout buffer is empty here too).
            steps = self.model.num_timesteps
            if steps >= self.next_checkpoint:
                self.save_checkpoint()
                self.next_checkpoint = (steps // checkpoint_freq + 1) * checkpoint_freq

        def postfix(self) -> str:
            buf = list(getattr(self.model, "ep_success_buffer", []))
            parts = [f"success(train)={100 * sum(buf) / len(buf):.0f}%" if buf else "success(train)=-"]
            if not math.isnan(self.last_eval):
                parts.append(f"eval={100 * self.last_eval:.0f}%")
            if hasattr(self.model, "exploration_rate") and spec.off_policy:
                parts.append(f"eps={self.model.exploration_rate:.2f}")
            return " ".join(parts)

        def evaluate(self) -> None:
            result = evaluate(
                ModelPolicy(self.model, run["algo"]),
                env_id,
                episodes=eval_episodes,
                env_fn=lambda: make_env(env_id, **encoding),
                env_kwargs=encoding["env_kwargs"],
                n_parallel=min(64, eval_episodes),
            )
            s = result.summary
            self.last_eval = s["success_rate"]
            row = {
                "env_steps": self.model.num_timesteps,
                "optimizer_steps": optimizer_steps(self.model),
                "wall_time_s": round(self.wall_time(), 2),
                "episodes": s["episodes"],
                "success_rate": s["success_rate"],
                "success_lo": s["success_ci"][0],
                "success_hi": s["success_ci"][1],
                "mean_length": s["mean_length"],
                "path_efficiency": s["path_efficiency"],
            }
            append_eval_row(paths.evaluations, row)
            for key in ("success_rate", "mean_length", "path_efficiency"):
                if not math.isnan(s[key]):
                    self.logger.record(f"eval/{key}", s[key])
            self.logger.record("charts/optimizer_steps", row["optimizer_steps"])
            self.logger.dump(self.model.num_timesteps)
            if self.bar is not None:
                self.bar.set_postfix_str(self.postfix())

        def save_checkpoint(self) -> None:
            save_checkpoint(self.model, paths, spec.off_policy, state, self.wall_time())

        def _on_training_end(self) -> None:
            if self.bar is not None:
                self.bar.set_postfix_str(self.postfix())
                self.bar.close()

    trainer = Trainer()
    return trainer, CallbackList([trainer, *(extra or [])])


def append_eval_row(path: Path, row: dict[str, Any]) -> None:
    new = not path.is_file()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=EVAL_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def read_eval_rows(path: Path) -> list[dict[str, float]]:
    if not Path(path).is_file():
        return []
    with Path(path).open() as f:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in row.items()} for row in csv.DictReader(f)]


def _truncate_eval_rows(path: Path, max_env_steps: int) -> None:
    """Drop evaluation rows written after the checkpoint being resumed (they will be recomputed)."""
    rows = [r for r in read_eval_rows(path) if r["env_steps"] <= max_env_steps]
    if not path.is_file():
        return
    path.unlink()
    for r in rows:
        append_eval_row(path, {k: (int(r[k]) if k in ("env_steps", "optimizer_steps", "episodes") else r[k]) for k in EVAL_COLUMNS})


def save_checkpoint(model, paths: RunPaths, off_policy: bool, state: RunState, wall_time_s: float) -> None:
    """Write model (+ replay buffer) to temporary files, then rename; ``state.json`` last marks it complete."""
    from agents.baselines import optimizer_steps

    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    tmp_model = paths.checkpoints / "tmp_last.zip"
    model.save(tmp_model)
    if off_policy and getattr(model, "replay_buffer", None) is not None:
        tmp_buffer = paths.checkpoints / "tmp_last_replay_buffer.pkl"
        model.save_replay_buffer(tmp_buffer)
        os.replace(tmp_buffer, paths.replay_buffer)
    os.replace(tmp_model, paths.checkpoint)
    state.env_steps = int(model.num_timesteps)
    state.optimizer_steps = optimizer_steps(model)
    state.wall_time_s = round(wall_time_s, 2)
    tmp_state = paths.checkpoints / "tmp_state.json"
    tmp_state.write_text(json.dumps(state.__dict__, indent=2))
    os.replace(tmp_state, paths.state)


def read_state(paths: RunPaths) -> RunState:
    try:
        data = json.loads(paths.state.read_text())
        return RunState(**data)
    except FileNotFoundError:
        raise UserError(f"{paths.root} has no complete checkpoint to resume from (no checkpoints/state.json)") from None
    except (json.JSONDecodeError, TypeError) as err:
        raise UserError(f"checkpoint state {paths.state} is corrupt ({err})") from None


# --- train --------------------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    run_dir: Path
    model_path: Path | None
    env_steps: int
    optimizer_steps: int
    wall_time_s: float
    interrupted: bool = False
    time_limited: bool = False


def train(
    algo: str | None,
    env_id: str | None,
    steps: int | None = None,
    seed: int = 0,
    device: str = "auto",
    config: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    force: bool = False,
    eval_freq: int | None = None,
    eval_episodes: int | None = None,
    checkpoint_freq: int | None = None,
    n_envs: int | None = None,
    progress: bool = True,
    callbacks: list | None = None,
    overrides: dict[str, Any] | None = None,
    max_wall_s: float | None = None,
) -> TrainResult:
    """Train ``algo`` on ``env_id`` (or resume the run in ``out``) and return where everything went.

    :param steps: total env steps of the run (default: the config's ``n_timesteps``); with ``resume`` it may
        be raised to extend a finished run.
    :param config: see :func:`resolve_config_path`. :param overrides: hyperparameters set on top of the config.
    :param eval_freq, eval_episodes, checkpoint_freq: in env steps / episodes (default: config, else steps/10,
        100 episodes, steps/10).
    :param callbacks: extra SB3 callbacks (tests use one to simulate a crash).
    :param max_wall_s: stop training (as if finished) once this run's wall-clock time passes it (the demo's cap).
    """
    from agents.baselines import check_env_id, get_algo, optimizer_steps

    if resume:
        if out is None:
            if algo is None or env_id is None:
                raise UserError("--resume needs --out RUN_DIR (or --algo, --env and --seed of a default run directory)")
            out = default_run_dir(algo, env_id, seed)
        paths = RunPaths(Path(out))
        run = read_run(paths.root)
        for name, given in (("algo", algo), ("env_id", env_id)):
            if given is not None and given != run[name]:
                raise UserError(f"--resume: the run in {paths.root} has {name} {run[name]!r}, not {given!r}")
        state = read_state(paths)
        if steps is not None:
            run["steps"] = int(steps)
        state.resumes += 1
    else:
        if algo is None or env_id is None:
            raise UserError("train needs --algo and --env")
        get_algo(algo)
        check_env_id(env_id)
        if not 0 <= seed <= MAX_SEED:
            raise UserError(f"--seed must be in [0, {MAX_SEED}] (training seeds stay clear of the evaluation seeds)")
        hyperparams, config_path = load_config(algo, env_id, config)
        for key, value in (overrides or {}).items():
            if isinstance(value, dict) and isinstance(hyperparams.get(key), dict):
                hyperparams[key] = {**hyperparams[key], **value}  # e.g. policy_kwargs: {carry: reset}
            else:
                hyperparams[key] = value
        if n_envs is not None:
            hyperparams["n_envs"] = n_envs
        steps = int(float(steps if steps is not None else hyperparams.get("n_timesteps", 100_000)))
        if steps <= 0:
            raise UserError(f"--steps must be positive, got {steps}")
        paths = RunPaths(Path(out) if out is not None else default_run_dir(algo, env_id, seed))
        if paths.root.exists() and any(paths.root.iterdir()):
            if not force:
                raise UserError(
                    f"run directory {paths.root} already exists; use --resume to continue it, --force to replace it, "
                    "or --out to pick another"
                )
            shutil.rmtree(paths.root)
        run = {
            "algo": algo,
            "env_id": env_id,
            "seed": seed,
            "steps": steps,
            "config": str(config_path),
            "hyperparams": hyperparams,
            "eval_freq": int(eval_freq or hyperparams.get("eval_freq") or max(steps // 10, 1)),
            "eval_episodes": int(eval_episodes or hyperparams.get("eval_episodes") or 100),
            "checkpoint_freq": int(checkpoint_freq or hyperparams.get("checkpoint_freq") or max(steps // 10, 1)),
        }
        state = RunState()
    run["device"] = resolve_device(device)
    if not resume and run["device"] == "cpu" and Path(run["config"]).name == "hrm-dqn.yaml":
        import sys

        print("note: hrm-dqn's default config is the paper's (256 envs, 1M replay, 6.4M steps), sized for a GPU; "
              "on a CPU try --config cpu-small", file=sys.stderr)  # fmt: skip
    _record_versions(run)
    spec = get_algo(run["algo"])
    hyperparams = run["hyperparams"]
    n = int(hyperparams.get("n_envs", 1))
    env_seed = run["seed"] * 10_000 + 1_000 * (state.resumes % 10)
    configure_threads(run["device"])
    venv = make_train_env(run["env_id"], hyperparams, n, env_seed)
    if resume:
        model = load_model(run["algo"], paths.checkpoint, run["device"], env=venv)
        venv.seed(env_seed)
        if spec.off_policy and paths.replay_buffer.is_file():
            try:
                model.load_replay_buffer(paths.replay_buffer)
            except Exception as err:
                raise UserError(f"replay buffer {paths.replay_buffer} is corrupt ({type(err).__name__})") from None
        _truncate_eval_rows(paths.evaluations, model.num_timesteps)
    else:
        paths.root.mkdir(parents=True, exist_ok=True)
        model = build_model(run["algo"], hyperparams, venv, run["seed"], run["device"])
    paths.run_yaml.write_text(yaml.safe_dump(run, sort_keys=False))
    model.set_logger(make_logger(paths.tensorboard, spec.off_policy))

    total = int(run["steps"])
    remaining = total - int(model.num_timesteps)
    trainer, callback = _callbacks(run, paths, state, total, progress, callbacks, max_wall_s)
    interrupted = False
    if remaining > 0:
        log_interval = int(hyperparams.get("log_interval", 50 if spec.off_policy else 1))
        try:
            model.learn(
                total_timesteps=remaining,
                callback=callback,
                log_interval=log_interval,
                reset_num_timesteps=not resume,
            )
        except KeyboardInterrupt:
            interrupted = True
            if trainer.bar is not None:
                trainer.bar.close()
            save_checkpoint(model, paths, spec.off_policy, state, trainer.wall_time())
    wall = trainer.wall_time()
    if not interrupted:
        rows = read_eval_rows(paths.evaluations)
        if not rows or rows[-1]["env_steps"] < model.num_timesteps:
            trainer.model = model
            trainer.evaluate()
        save_checkpoint(model, paths, spec.off_policy, state, wall)
        model.save(paths.model)
    venv.close()
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


def _record_versions(run: dict[str, Any]) -> None:
    import platform

    import stable_baselines3
    import torch

    import hrm_mazes

    run["versions"] = {
        "hrm_mazes": hrm_mazes.__version__,
        "torch": str(torch.__version__),
        "stable_baselines3": str(stable_baselines3.__version__),
        "python": platform.python_version(),
    }
    run["host"] = {"cpu_count": os.cpu_count(), "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


# --- loading a policy for evaluate / watch -----------------------------------------------------------------


@dataclass
class LoadedAgent:
    """A policy ready for :func:`agents.evaluation.run_episodes`, with the env it expects."""

    name: str
    policy: Any
    env_id: str
    encoding: dict[str, Any]
    model: Any = None
    algo: str | None = None
    run_dir: Path | None = None

    def env_fn(self, render_mode: str | None = None):
        from agents.baselines import make_env

        return make_env(self.env_id, render_mode=render_mode, **self.encoding)


def load_agent(
    model: str | os.PathLike | None = None,
    agent: str | None = None,
    env_id: str | None = None,
    algo: str | None = None,
    device: str = "auto",
) -> LoadedAgent:
    """A trained model (``model``: a .zip or a run directory) or a reference policy (``agent``: oracle, random)."""
    from agents.baselines import check_env_id
    from agents.evaluation import ModelPolicy, OraclePolicy, RandomPolicy

    if agent is not None:
        if env_id is None:
            raise UserError(f"--agent {agent} needs --env")
        check_env_id(env_id)
        policy = {"oracle": OraclePolicy, "random": RandomPolicy}[agent]()
        return LoadedAgent(agent, policy, env_id, {"obs_mode": "tokens", "frame_stack": 1, "env_kwargs": {}})
    if model is None:
        raise UserError("give --model PATH or --agent {oracle,random}")
    path = Path(model)
    if not path.exists():
        raise UserError(f"model file {path} does not exist")
    if path.is_dir():
        path = path / "model.zip" if (path / "model.zip").is_file() else path / "checkpoints" / "last.zip"
        if not path.is_file():
            raise UserError(f"{model} holds no model.zip and no checkpoints/last.zip")
    try:
        run_dir, run = find_run_for_model(path)
    except UserError:
        if algo is None or env_id is None:
            raise
        run_dir, run = None, {"algo": algo, "env_id": env_id, "hyperparams": {}}
    algo = algo or run["algo"]
    if env_id is not None and env_id != run["env_id"]:
        # Same encoding on another env: fine as long as the observation shapes agree (checked by SB3 on load).
        pass
    env_id = env_id or run["env_id"]
    check_env_id(env_id)
    device = resolve_device(device)
    configure_threads(device)
    loaded = load_model(algo, path, device)
    encoding = env_encoding(run["hyperparams"]) if run["hyperparams"] else _guess_encoding(loaded.observation_space)
    return LoadedAgent(f"{algo}", ModelPolicy(loaded, algo), env_id, encoding, loaded, algo, run_dir)


def _guess_encoding(space) -> dict[str, Any]:
    """A model without run.yaml: (H, W) is tokens, (7k, H, W) one-hot planes of the last k frames."""
    from hrm_mazes.core import NUM_TOKENS

    if len(space.shape) == 2:
        return {"obs_mode": "tokens", "frame_stack": 1, "env_kwargs": {}}
    return {"obs_mode": "onehot", "frame_stack": max(1, space.shape[0] // NUM_TOKENS), "env_kwargs": {}}

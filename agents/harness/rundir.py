"""Run directories: their layout, run.yaml, checkpoints, the evaluation log, and never overwriting by accident.

A run directory (default ``runs/<algo>/<env>/seed<seed>``) holds::

    run.yaml                 what was run: the saved TrainConfig fields (resolved), versions and host
    model.zip                the final model (written when the run completes)
    checkpoints/last.zip     the latest checkpoint (+ last_replay_buffer.pkl for off-policy algorithms)
    checkpoints/state.json   env steps, optimizer steps and wall-clock time of that checkpoint (written last)
    evaluations.csv          periodic greedy evaluation: success rate, length, path efficiency vs steps
    progress.csv, tb/        SB3 logger output (CSV, TensorBoard), CleanRL-style names
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.errors import UserError
from agents.harness.algos import optimizer_steps
from agents.harness.config import TrainConfig

RUNS_DIR = Path("runs")
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
_INT_COLUMNS = ("env_steps", "optimizer_steps", "episodes")


@dataclass
class RunPaths:
    """The files of the run directory ``root``."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

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


# --- output directories -------------------------------------------------------------------------------------


@dataclass
class OutputDir:
    """A directory a command may write: checked by :func:`claim_output_dir`, emptied only by :meth:`create`."""

    path: Path
    replace: bool

    def create(self) -> Path:
        """Delete the old contents (when ``--force`` allowed it), then make the directory."""
        if self.replace:
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path


def claim_output_dir(path: str | os.PathLike, force: bool, what: str = "output directory", resumable: bool = False) -> OutputDir:
    """Check that a command may write ``path``: it is new or empty, or ``force`` allows replacing it.

    Nothing is deleted here: a command checks all of its input first and calls :meth:`OutputDir.create` last,
    so that a mistake elsewhere never costs an existing directory.

    :param what: how the message names the directory (``run directory``, ``output directory``).
    :param resumable: the command has ``--resume``, and the message offers it.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is a file")
    if not (path.exists() and any(path.iterdir())):
        return OutputDir(path, replace=False)
    if not force:
        hints = (["--resume to continue it"] if resumable else []) + ["--force to replace it", "--out to pick another"]
        joined = ", ".join(hints[:-1]) + ("," if len(hints) > 2 else "") + f" or {hints[-1]}"
        raise UserError(f"{what} {path} already exists; use {joined}")
    return OutputDir(path, replace=True)


# --- run.yaml -----------------------------------------------------------------------------------------------


def write_run(paths: RunPaths, config: TrainConfig, environment: dict[str, Any]) -> None:
    """run.yaml: the resolved config's saved fields, then ``environment`` (versions, host)."""
    paths.run_yaml.write_text(yaml.safe_dump({**config.to_run_yaml(), **environment}, sort_keys=False))


def read_run(run_dir: str | os.PathLike) -> TrainConfig:
    """The config a run directory's run.yaml records; a missing or corrupt file is a :class:`UserError`."""
    paths = RunPaths(Path(run_dir))
    try:
        data = yaml.safe_load(paths.run_yaml.read_text())
    except FileNotFoundError:
        raise UserError(f"{run_dir} is not a run directory (no run.yaml)") from None
    except yaml.YAMLError as err:
        raise UserError(f"{paths.run_yaml} is corrupt: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict) or "algo" not in data or "env_id" not in data:
        raise UserError(f"{paths.run_yaml} is corrupt: missing algo / env_id")
    return TrainConfig.from_run_yaml(data)


def find_run_for_model(model_path: str | os.PathLike) -> tuple[Path, TrainConfig]:
    """The run directory of a model file (the file's folder or its parent holds ``run.yaml``) and its config."""
    model_path = Path(model_path)
    candidates = [model_path] if model_path.is_dir() else [model_path.parent, model_path.parent.parent]
    for folder in candidates:
        if (folder / "run.yaml").is_file():
            return folder, read_run(folder)
    raise UserError(f"no run.yaml next to {model_path}: pass --algo and --env to say how it was trained")


# --- checkpoints --------------------------------------------------------------------------------------------


@dataclass
class RunState:
    """What a checkpoint remembers besides the model (``checkpoints/state.json``)."""

    env_steps: int = 0
    optimizer_steps: int = 0
    wall_time_s: float = 0.0
    resumes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(model: Any, paths: RunPaths, state: RunState, off_policy: bool, wall_time_s: float) -> None:
    """Write model (+ replay buffer) to temporary files, then rename; ``state.json`` last marks it complete."""
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
    tmp_state.write_text(json.dumps(asdict(state), indent=2))
    os.replace(tmp_state, paths.state)


def read_state(paths: RunPaths) -> RunState:
    try:
        return RunState(**json.loads(paths.state.read_text()))
    except FileNotFoundError:
        raise UserError(f"{paths.root} has no complete checkpoint to resume from (no checkpoints/state.json)") from None
    except (json.JSONDecodeError, TypeError) as err:
        raise UserError(f"checkpoint state {paths.state} is corrupt ({err})") from None


# --- evaluations.csv ----------------------------------------------------------------------------------------


def append_eval_row(path: Path, row: dict[str, Any]) -> None:
    new = not path.is_file()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=EVAL_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def read_eval_rows(path: str | os.PathLike) -> list[dict[str, float]]:
    """The rows of an ``evaluations.csv`` as floats (an empty cell is NaN); no file: no rows."""
    path = Path(path)
    if not path.is_file():
        return []
    with path.open() as f:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in row.items()} for row in csv.DictReader(f)]


def truncate_eval_rows(path: Path, max_env_steps: int) -> None:
    """Drop evaluation rows written after the checkpoint being resumed (they will be recomputed)."""
    if not path.is_file():
        return
    rows = [r for r in read_eval_rows(path) if r["env_steps"] <= max_env_steps]
    path.unlink()
    for r in rows:
        append_eval_row(path, {k: int(r[k]) if k in _INT_COLUMNS else r[k] for k in EVAL_COLUMNS})

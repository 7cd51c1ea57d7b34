"""Checkpoints of a run: written as one unit, found, verified on resume.

A checkpoint is ``checkpoints/step-NNNNNNNNN/`` in a run directory (:class:`~agents.harness.rundir.RunPaths`):
``model.zip``, ``replay_buffer.pkl`` (off-policy algorithms) and ``state.json`` (:class:`RunState`). It is
written into a temporary folder and committed by renaming it and then replacing the pointer
``checkpoints/latest``: a crash at any moment leaves ``latest`` on a complete checkpoint whose parts belong
together, and ``--resume`` checks that they do. The last two are kept.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from agents.errors import UserError
from agents.harness.algos import optimizer_steps
from agents.harness.rundir import RunPaths, fsync_files, write_atomic

_CHECKPOINT_NAME = re.compile(r"step-(\d{9,})(?:\.(\d+))?")


@dataclass
class Checkpoint:
    """The files of one checkpoint: ``checkpoints/step-NNNNNNNNN/`` (or the single files of an older run)."""

    dir: Path
    model: Path
    replay_buffer: Path
    state: Path

    @classmethod
    def in_dir(cls, folder: Path) -> Checkpoint:
        return cls(folder, folder / "model.zip", folder / "replay_buffer.pkl", folder / "state.json")


@dataclass
class RunState:
    """What a checkpoint remembers besides the model (its ``state.json``).

    :param replay_buffer: where the saved replay buffer stood (``pos``, ``full``, ``n_envs``, ``buffer_size``),
        None when none was saved.
    :param buffer_start: the env step from which the replay buffer holds every transition: 0, or where a resume
        without the checkpoint's buffer (``--allow-empty-buffer``) restarted it empty.
    """

    env_steps: int = 0
    optimizer_steps: int = 0
    wall_time_s: float = 0.0
    resumes: int = 0
    replay_buffer: dict[str, Any] | None = None
    buffer_start: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(model: Any, paths: RunPaths, state: RunState, off_policy: bool, wall_time_s: float) -> Checkpoint:
    """Write model, replay buffer (off-policy) and state.json into a new ``checkpoints/step-N/``, then commit it
    by renaming the folder and replacing the pointer ``checkpoints/latest``; keep the last two checkpoints.

    A crash at any point leaves ``latest`` on a complete checkpoint whose parts belong together; the parts are
    flushed to disk (fsync) before the rename, so that a power cut does not either.
    """
    buffer = getattr(model, "replay_buffer", None) if off_policy else None
    state.env_steps = int(model.num_timesteps)
    state.optimizer_steps = optimizer_steps(model)
    state.wall_time_s = round(wall_time_s, 2)
    state.replay_buffer = None if buffer is None else buffer_position(buffer)
    name, k = f"step-{state.env_steps:09d}", 0
    while (paths.checkpoints / name).exists():
        k += 1
        name = f"step-{state.env_steps:09d}.{k}"
    tmp, final = paths.checkpoints / f".{name}.tmp", paths.checkpoints / name
    if tmp.exists():
        shutil.rmtree(tmp)
    parts = Checkpoint.in_dir(tmp)
    try:
        paths.checkpoints.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        model.save(parts.model)
        if buffer is not None:
            model.save_replay_buffer(parts.replay_buffer)
        parts.state.write_text(json.dumps(asdict(state), indent=2))
        fsync_files(tmp)  # on disk before the rename commits it: a power cut cannot leave a named, half-written folder
        os.rename(tmp, final)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError):
            raise _unsaved(paths, f"cannot write checkpoint {final} ({err.strerror or err})") from None
        raise
    try:
        write_atomic(paths.checkpoints / "latest", name + "\n")
    except BaseException as err:
        shutil.rmtree(final, ignore_errors=True)  # never committed: ``latest`` still names the previous checkpoint
        if isinstance(err, UserError):
            raise _unsaved(paths, f"{err}, so checkpoint {final.name} was not committed") from None
        raise
    _prune_checkpoints(paths, name)
    return Checkpoint.in_dir(final)


def _unsaved(paths: RunPaths, problem: str) -> UserError:
    """The one-line error of a checkpoint that could not be written (a full disk): the problem and what now."""
    return UserError(f"{problem}; {resume_hint(paths)}")


def resume_hint(paths: RunPaths) -> str:
    """After a run stopped on a full disk: which checkpoint is kept, and how to go on once there is space."""
    try:
        kept = latest_checkpoint(paths)
    except UserError:
        kept = None
    if kept is None:
        return f"the run has no complete checkpoint: free some space, then start it again with --force --out {shlex.quote(os.fspath(paths.root))}"
    return f"the last complete checkpoint, {kept.dir.name}, is kept: free some space, then continue with --resume --out {shlex.quote(os.fspath(paths.root))}"


def _prune_checkpoints(paths: RunPaths, latest: str, keep: int = 2) -> None:
    """Delete all but the ``keep`` newest checkpoints, unfinished ones and those of the older single-file layout."""
    committed = sorted(
        (p for p in paths.checkpoints.iterdir() if p.is_dir() and _CHECKPOINT_NAME.fullmatch(p.name)),
        key=lambda p: tuple(int(g or 0) for g in _CHECKPOINT_NAME.fullmatch(p.name).groups()),
    )
    for old in committed[:-keep]:
        if old.name != latest:
            shutil.rmtree(old)
    for p in paths.checkpoints.iterdir():
        if p.is_dir() and p.name.startswith(".step-") and p.name.endswith(".tmp"):
            shutil.rmtree(p)
        elif p.is_file() and p.name in _LEGACY_FILES:
            p.unlink()


_LEGACY_FILES = ("last.zip", "last_replay_buffer.pkl", "state.json", "tmp_last.zip", "tmp_last_replay_buffer.pkl", "tmp_state.json")


def latest_checkpoint(paths: RunPaths) -> Checkpoint | None:
    """The checkpoint ``checkpoints/latest`` names (or a run's older single-file checkpoint); None if none."""
    pointer = paths.checkpoints / "latest"
    if pointer.is_file():
        name = pointer.read_text(errors="replace").strip()
        if not _CHECKPOINT_NAME.fullmatch(name):
            raise UserError(f"{pointer} is corrupt (it should name a step-NNNNNNNNN folder, got {name[:40]!r})")
        if not (paths.checkpoints / name).is_dir():
            raise UserError(f"{pointer} names checkpoint {name}, which is missing")
        return Checkpoint.in_dir(paths.checkpoints / name)
    if (paths.checkpoints / "state.json").is_file():
        c = paths.checkpoints
        return Checkpoint(c, c / "last.zip", c / "last_replay_buffer.pkl", c / "state.json")
    return None


def read_state(paths: RunPaths, checkpoint: Checkpoint | None = None) -> RunState:
    """The state.json of ``checkpoint`` (default: the latest); a missing or corrupt one is a :class:`UserError`."""
    checkpoint = checkpoint or latest_checkpoint(paths)
    if checkpoint is None:
        raise UserError(f"{paths.root} has no complete checkpoint to resume from (no checkpoints/latest)")
    try:
        data = json.loads(checkpoint.state.read_bytes())
    except FileNotFoundError:
        raise UserError(f"checkpoint {checkpoint.dir} is incomplete (no state.json)") from None
    except ValueError as err:  # not UTF-8, not JSON
        raise UserError(f"{checkpoint.state} is corrupt ({str(err).splitlines()[0][:80]})") from None
    problem = _state_problem(data)
    if problem:
        raise UserError(f"{checkpoint.state} is corrupt ({problem})")
    return RunState(**{f.name: data[f.name] for f in fields(RunState) if f.name in data})


def _state_problem(data: Any) -> str | None:
    """What is wrong with a state.json's content, or None."""
    if not isinstance(data, dict) or "env_steps" not in data:
        return "not a mapping with env_steps"
    for key in ("env_steps", "optimizer_steps", "resumes", "buffer_start"):
        value = data.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{key} must be a non-negative integer, got {value!r}"
    if data.get("buffer_start", 0) > data["env_steps"]:
        return f"buffer_start {data['buffer_start']} is after env_steps {data['env_steps']}"
    wall = data.get("wall_time_s", 0.0)
    if isinstance(wall, bool) or not isinstance(wall, (int, float)) or not math.isfinite(wall) or wall < 0:
        return f"wall_time_s must be a non-negative number, got {wall!r}"
    if not isinstance(data.get("extra", {}), dict):
        return "extra must be a mapping"
    buffer = data.get("replay_buffer")
    if buffer is not None:
        if not isinstance(buffer, dict) or set(buffer) != {"pos", "full", "n_envs", "buffer_size"}:
            return "replay_buffer must map pos, full, n_envs and buffer_size"
        if not isinstance(buffer["full"], bool) or any(
            isinstance(buffer[k], bool) or not isinstance(buffer[k], int) or buffer[k] < 0 for k in ("pos", "n_envs", "buffer_size")
        ):
            return f"replay_buffer has wrong types: {buffer!r}"
    return None


def buffer_position(buffer: Any) -> dict[str, Any]:
    """Where a replay buffer stands: ``pos``, ``full``, ``n_envs``, ``buffer_size`` (slots per env)."""
    return {"pos": int(buffer.pos), "full": bool(buffer.full), "n_envs": int(buffer.n_envs), "buffer_size": int(buffer.buffer_size)}


def expected_buffer_position(env_steps: int, n_envs: int, buffer_size: int) -> dict[str, Any]:
    """Where a replay buffer that stored every one of ``env_steps`` transitions stands (one slot per vec step)."""
    vec_steps = env_steps // n_envs
    return {"pos": vec_steps % buffer_size, "full": vec_steps >= buffer_size, "n_envs": n_envs, "buffer_size": buffer_size}

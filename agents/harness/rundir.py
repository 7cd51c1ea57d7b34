"""Run directories: their layout, run.yaml, the evaluation log, and never losing a user's files (checkpoints:
:mod:`agents.harness.checkpoints`).

A run directory (default ``runs/<algo>/<env>/seed<seed>``) holds::

    .hrm-mazes                the marker: hrm-mazes made this directory (--force replaces nothing else)
    run.yaml                  what was run: the saved TrainConfig fields (resolved), versions and host
    model.zip                 the final model (written when the run completes)
    checkpoints/latest        the name of the newest complete checkpoint (replaced atomically)
    checkpoints/step-N/       one checkpoint: model.zip, replay_buffer.pkl (off-policy), state.json; the last two
    evaluations.csv           periodic greedy evaluation: success rate, length, path efficiency vs steps
    progress.csv, tb/         SB3 logger output (CSV, TensorBoard), CleanRL-style names
    evaluation_<N>.json       results of ``hrm-mazes evaluate`` on this run

A checkpoint is written into a temporary folder and committed by renaming it and then replacing the pointer
``checkpoints/latest``: a crash at any moment leaves ``latest`` on a complete checkpoint whose parts belong
together, and ``--resume`` checks that they do.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agents.errors import UserError
from agents.harness.config import TrainConfig
from hrm_mazes.files import fsync_dir, fsync_file, replace_whole

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
    def best_model(self) -> Path:
        """The model of the best periodic (validation) evaluation so far, as SB3's ``EvalCallback`` keeps it."""
        return self.root / "best_model.zip"

    @property
    def best_model_info(self) -> Path:
        """Which evaluation ``best_model.zip`` comes from (env / optimizer steps, wall-clock, success)."""
        return self.root / "best_model.json"

    @property
    def evaluations(self) -> Path:
        return self.root / "evaluations.csv"

    @property
    def progress(self) -> Path:
        return self.root / "progress.csv"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tb"


def default_run_dir(algo: str, env_id: str, seed: int) -> Path:
    return RUNS_DIR / algo / env_id / f"seed{seed}"


# --- output directories and files --------------------------------------------------------------------------

# Written by :meth:`OutputDir.create` into every directory hrm-mazes makes: ``--force`` deletes nothing else.
MARKER = ".hrm-mazes"
KIND_NAMES = {
    "run": "run directory",
    "suite": "benchmark output directory",
    "demo": "demo output directory",
    "tune": "study directory",
    "analysis": "analysis directory",
}
# What each kind of directory holds at its top level (fnmatch patterns); any other entry is someone else's.
OWN_ENTRIES = {
    "run": ("run.yaml", "model.zip", "best_model.zip", "best_model.json", "checkpoints", "evaluations.csv", "progress.csv", "tb",
            "evaluation_*.json", "analysis", "trial.json"),  # (trial.json: the row a benchmark trial records at its end)
    "suite": ("suite.yaml", "runs", "results.md", "results.csv", "results.json", "curves"),
    "demo": ("hrm-dqn", "dqn", "dqn-cnn", "results.md", "results.json", "curves_*.png", "hrm_dqn.gif"),
    "tune": ("tune.yaml", "base.yaml", "study.journal", "study.db", "trials", "best.yaml", "study.csv", "summary.md",
             "commands.txt", "study.journal.lock", "next-trial.lock"),  # (locks a killed session may leave)
    "analysis": ("analysis.json", "convergence.png", "divergence.png"),
}
# Directories written before the marker file existed are recognised by these files.
LEGACY_SIGNS = {"run": "run.yaml", "suite": "suite.yaml", "demo": "hrm-dqn/run.yaml", "tune": "tune.yaml",
                "analysis": "analysis.json"}  # fmt: skip


@dataclass
class OutputDir:
    """A directory a command may write: checked by :func:`claim_output_dir`, emptied only by :meth:`create`."""

    path: Path
    kind: str
    replace: bool

    def create(self) -> Path:
        """Delete the old contents (when ``--force`` allowed it, checked again now), make the directory, mark it."""
        if self.replace:
            _check_ours(self.path, self.kind, KIND_NAMES[self.kind])
            shutil.rmtree(self.path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / MARKER).write_text(json.dumps({"kind": self.kind, "written_by": "hrm-mazes"}) + "\n")
        except OSError as err:  # checked before, but a disk can fill up
            raise write_error(self.path, err) from None
        return self.path


def claim_output_dir(
    path: str | os.PathLike, force: bool, kind: str = "run", what: str | None = None, resumable: bool = False
) -> OutputDir:
    """Check that a command may write ``path``: it is new or empty, or ``force`` allows replacing it.

    Nothing is deleted here: a command checks all of its input first and calls :meth:`OutputDir.create` last,
    so that a mistake elsewhere never costs an existing directory. ``force`` replaces only a directory that
    hrm-mazes made (its marker file, or the file of :data:`LEGACY_SIGNS` from before the marker) of the same
    ``kind`` and holding nothing else; the working directory, its parents and the home directory are never output
    directories.

    :param kind: ``run``, ``suite``, ``demo``, ``tune`` or ``analysis``: what the command writes there.
    :param what: how the message names the directory (default: from ``kind``).
    :param resumable: the command has ``--resume``, and the message offers it.
    """
    what = what or KIND_NAMES[kind]
    path = check_location(path, what)
    if not (path.exists() and any(path.iterdir())):
        return OutputDir(path, kind, replace=False)
    if not force:
        ours = _ownership(path, kind)[0] == kind
        hints = (["--resume to continue it"] if resumable else []) + (["--force to replace it"] if ours else [])
        hints.append("--out to pick another")
        joined = hints[0] if len(hints) == 1 else ", ".join(hints[:-1]) + ("," if len(hints) > 2 else "") + f" or {hints[-1]}"
        made = "" if ours else " and was not made by hrm-mazes"
        raise UserError(f"{what} {path} already exists{made}; use {joined}")
    _check_ours(path, kind, what)
    if path.is_symlink():
        raise UserError(f"{what} {path} is a symbolic link; --force replaces only a real directory")
    check_writable(path.parent, what, path)
    return OutputDir(path, kind, replace=True)


def check_own_dir(path: str | os.PathLike, kind: str, what: str | None = None) -> Path:
    """``path`` as a directory a command may add to (``--resume``): new, empty, or made by hrm-mazes as ``kind``."""
    what = what or KIND_NAMES[kind]
    if os.fspath(path).strip() and Path(path).is_dir() and _ownership(Path(path), kind) == (kind, []):
        return Path(path)  # ours already (even the working directory: adding to it deletes nothing)
    path = check_location(path, what)
    if path.exists() and any(path.iterdir()):
        _check_ours(path, kind, what)
    return path


def check_location(path: str | os.PathLike, what: str) -> Path:
    """``path`` unless it is empty, the working directory, one of its parents or the home directory, or lies
    where nothing can be written (under a file, in a read-only directory)."""
    if not os.fspath(path).strip():
        raise UserError(f"{what} is empty (''); give a path such as runs/my-run")
    path = Path(path).expanduser()
    resolved, cwd = path.resolve(), Path.cwd().resolve()
    if resolved == cwd:
        raise UserError(f"{what} {path} is the current directory; hrm-mazes writes into a directory of its own (such as runs/my-run)")
    if resolved in cwd.parents:
        raise UserError(f"{what} {path} is a parent of the current directory; hrm-mazes writes into a directory of its own")
    if resolved == Path.home().resolve():
        raise UserError(f"{what} {path} is your home directory; hrm-mazes writes into a directory of its own")
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is a file")
    check_writable(path if path.exists() else path.parent, what, path)
    return path


def check_writable(folder: Path, what: str, target: Path) -> None:
    """``target`` can be made in ``folder``: the nearest existing ancestor of ``folder`` is a directory where a
    folder can be made (tried: a probe folder is made and removed)."""
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"cannot write {what} {target}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {what} {target}: {existing} is not writable")
    try:  # os.access says yes to root everywhere, also where nothing can be made (/proc, a full or odd filesystem)
        os.rmdir(tempfile.mkdtemp(prefix=".hrm-mazes-probe-", dir=existing))
    except OSError as err:
        raise UserError(f"cannot write {what} {target}: {existing} is not writable ({err.strerror or err})") from None


def check_output_file(path: str | os.PathLike, force: bool, option: str, what: str = "output file") -> Path:
    """A file a command will write once its work is done, checked before the work: not empty, not a directory,
    writable, and an existing file only with ``force``."""
    if not os.fspath(path).strip():
        raise UserError(f"{option} is empty ('')")
    path = Path(path).expanduser()
    if path.is_dir():
        raise UserError(f"{option} {path} is a directory; give a file name")
    if path.exists() and not force:
        raise UserError(f"{what} {path} already exists; use --force to overwrite it or {option} to pick another")
    check_writable(path.parent, what, path)
    return path


def free_name(path: Path) -> Path:
    """``path``, or the first of ``stem-2.ext``, ``stem-3.ext``... that does not exist yet."""
    candidate, k = path, 1
    while candidate.exists():
        k += 1
        candidate = path.with_name(f"{path.stem}-{k}{path.suffix}")
    return candidate


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, flush it to disk, then rename it: a crash (or a power
    cut) leaves the old file or the new; a failure (a full disk) leaves the old file and a one-line
    :class:`UserError` naming ``path``."""
    write_whole(path, lambda tmp: tmp.write_text(text))


def save_model_atomic(model: Any, path: Path) -> None:
    """``model.save`` to a temporary file beside ``path``, flush it to disk, then rename it and flush the folder:
    readers never see a half-written model, and a power cut right after cannot leave an empty ``path``."""
    write_whole(path, model.save)


def write_whole(path: Path, write: Callable[[Path], object], tmp: Path | None = None) -> None:
    """``write(tmp)`` into a temporary file beside ``path`` (default ``.<name>.tmp``), flushed to disk and then
    renamed to ``path``. On any failure the temporary file is removed and ``path`` is left as it was; an
    ``OSError`` (a full disk, a missing folder) becomes a one-line :class:`UserError` naming ``path``."""
    try:
        replace_whole(path, write, tmp)
    except OSError as err:
        raise write_error(path, err) from None


def write_figure(fig: Any, path: Path, **savefig: Any) -> Path:
    """A matplotlib figure as a PNG at ``path``, written whole (:func:`write_whole`; its folder made first)."""

    def write(tmp: Path) -> None:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(tmp, format="png", **savefig)

    write_whole(path, write)
    return path


def write_error(path: Path, err: OSError) -> UserError:
    """The one-line error of a file that could not be written: its path and the cause."""
    return UserError(f"cannot write {path} ({err.strerror or err})")


def fsync_files(folder: Path) -> None:
    """Flush every file directly in ``folder``, then the folder itself, to disk (before it is renamed into place)."""
    for file in folder.iterdir():
        if file.is_file():
            fsync_file(file)
    fsync_dir(folder)



def _ownership(path: Path, kind: str) -> tuple[str | None, list[str]]:
    """The kind of hrm-mazes directory ``path`` is (None: not ours) and its entries that are not ours."""
    try:
        marker = json.loads((path / MARKER).read_text())
        found = marker.get("kind") if isinstance(marker, dict) else None
    except (OSError, ValueError):
        found = next((k for k, sign in LEGACY_SIGNS.items() if (path / sign).is_file()), None)
    if found not in OWN_ENTRIES:
        return None, []
    patterns = (MARKER, ".*.tmp", *OWN_ENTRIES[found])
    foreign = sorted(p.name for p in path.iterdir() if not any(fnmatch.fnmatchcase(p.name, pat) for pat in patterns))
    return found, foreign


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: a run directory, an analysis directory."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _check_ours(path: Path, kind: str, what: str) -> None:
    found, foreign = _ownership(path, kind)
    if found is None:
        raise UserError(
            f"{what} {path} was not created by hrm-mazes (no {MARKER} marker or {LEGACY_SIGNS[kind]}): nothing is deleted; "
            "use --out to pick another"
        )
    if found != kind:
        raise UserError(f"{path} is {_a(KIND_NAMES[found])}, not {_a(what)}: nothing is deleted; use --out to pick another")
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise UserError(f"{what} {path} holds files hrm-mazes did not write ({shown}): nothing is deleted; move them or use --out")


# --- YAML inputs ---------------------------------------------------------------------------------------------


def read_yaml(path: str | os.PathLike, what: str, *, ours: bool = False) -> Any:
    """The YAML document in ``path``: the one reader of the YAML files commands read (``train --config`` files,
    ``benchmark --suite`` files, run.yaml, tune.yaml). A file that is missing, cannot be read, is not UTF-8 text or
    is not YAML is a one-line :class:`UserError` naming ``what`` (``"suite file"``), the path and the cause.

    :param ours: a file hrm-mazes wrote (run.yaml, tune.yaml): one it cannot parse is called corrupt.
    """
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist") from None
    except UnicodeDecodeError:
        cause = "not UTF-8 text"
    except OSError as err:
        raise UserError(f"cannot read {what} {path} ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        mark, problem = getattr(err, "problem_mark", None), getattr(err, "problem", None) or str(err).splitlines()[0]
        cause = f"not valid YAML (line {mark.line + 1}: {problem})" if mark is not None else f"not valid YAML ({problem})"
    raise UserError(f"{what} {path} is {'corrupt: ' if ours else ''}{cause}")


# --- run.yaml -----------------------------------------------------------------------------------------------


def write_run(paths: RunPaths, config: TrainConfig, environment: dict[str, Any]) -> None:
    """run.yaml: the resolved config's saved fields, then ``environment`` (versions, host)."""
    write_atomic(paths.run_yaml, yaml.safe_dump({**config.to_run_yaml(), **environment}, sort_keys=False))


def read_run(run_dir: str | os.PathLike) -> TrainConfig:
    """The config a run directory's run.yaml records; a missing or corrupt file is a :class:`UserError`."""
    return TrainConfig.from_run_yaml(_run_yaml(run_dir))


def read_host(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The machine a run trained on, as its run.yaml records it (``cpu``, ``cpu_count``, ``cuda``: the GPU's name
    or None); empty for a run from before run.yaml recorded it."""
    host = _run_yaml(run_dir).get("host")
    return host if isinstance(host, dict) else {}


def _run_yaml(run_dir: str | os.PathLike) -> dict[str, Any]:
    """run.yaml as a mapping with at least ``algo`` and ``env_id``; a missing or corrupt file is a :class:`UserError`."""
    paths = RunPaths(Path(run_dir))
    if not paths.run_yaml.exists():
        raise UserError(f"{run_dir} is not a run directory (no run.yaml)")
    data = read_yaml(paths.run_yaml, "run file", ours=True)
    if not isinstance(data, dict) or "algo" not in data or "env_id" not in data:
        raise UserError(f"{paths.run_yaml} is corrupt: missing algo / env_id")
    return data


def find_run_for_model(model_path: str | os.PathLike) -> tuple[Path, TrainConfig]:
    """The run directory of a model file (``run.yaml`` is in the file's folder, or up to two above it:
    ``checkpoints/step-N/model.zip``) and its config."""
    model_path = Path(model_path)
    candidates = [model_path] if model_path.is_dir() else list(model_path.absolute().parents)[:3]
    for folder in candidates:
        if (folder / "run.yaml").is_file():
            return folder, read_run(folder)
    raise UserError(f"no run.yaml next to {model_path}: pass --algo and --env to say how it was trained")


# --- evaluations.csv -----------------------------------------------------------------------------------------


def append_eval_row(path: Path, row: dict[str, Any]) -> None:
    """Add ``row`` to ``evaluations.csv``, rewriting the file through a temporary one (a torn row is dropped)."""
    rows = read_eval_rows(path)
    write_eval_rows(path, [*rows, {k: row[k] for k in EVAL_COLUMNS}])


def write_eval_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """``evaluations.csv`` with exactly ``rows``, written atomically."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=EVAL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: int(r[k]) if k in _INT_COLUMNS and not math.isnan(r[k]) else r[k] for k in EVAL_COLUMNS})
    write_atomic(path, text.getvalue())


def read_eval_rows(path: str | os.PathLike) -> list[dict[str, float]]:
    """The rows of an ``evaluations.csv`` as floats (an empty cell is NaN); no file: no rows.

    A last line cut off by a crash (no newline at its end) is dropped; any other malformed row is a
    :class:`UserError`.
    """
    path = Path(path)
    if not path.is_file():
        return []
    text = path.read_text(errors="replace")
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
        lines = lines[:-1]
    if not lines:
        return []
    rows = []
    for number, row in enumerate(csv.DictReader(lines), start=2):
        try:
            if None in row or None in row.values():
                raise ValueError("wrong number of columns")
            rows.append({k: float(v) if v != "" else math.nan for k, v in row.items()})
        except ValueError as err:
            raise UserError(f"{path} is corrupt at line {number} ({err})") from None
    return rows


def truncate_eval_rows(path: Path, max_env_steps: int) -> None:
    """Drop evaluation rows written after the checkpoint being resumed (they will be recomputed)."""
    if path.is_file():
        write_eval_rows(path, [r for r in read_eval_rows(path) if r["env_steps"] <= max_env_steps])


def path_inside(path: str | Path, folder: str | Path) -> str:
    """``path`` relative to ``folder`` when it lies inside it (so that a report moved or committed with its runs
    still points at them), else ``path`` as it is."""
    try:
        return str(Path(path).resolve().relative_to(Path(folder).resolve()))
    except ValueError:
        return str(path)

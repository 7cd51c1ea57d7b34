"""One typed config for a training run, filled alike by the command line, the Python API and run.yaml.

:class:`TrainConfig` is the single place where a training option is declared: its type, default, allowed range
and help text live on the field (:func:`option`). ``hrm-mazes train``'s options are generated from those fields
(:func:`add_options`), every integer is checked by one function (:func:`parse_int`) whether it comes from the
command line, Python or a YAML file, and the fields marked ``saved`` are what run.yaml records.

Adding a training option takes two edits: a field here, and the code that reads it. Example (hypothetical)::

    log_interval: int | None = option(None, "log every N episodes (default: the config's)", lo=1, saved=True)

gives ``hrm-mazes train --log-interval N``, ``TrainConfig(log_interval=...)`` and a ``log_interval`` key in
run.yaml; then read ``config.log_interval`` where the logging happens (:mod:`agents.harness.training`).

This module imports neither torch nor SB3: the command line builds its parser from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field, fields
from typing import Any

from agents.errors import UserError
from agents.harness.algos import ALGO_NAMES, DEVICES, ENV_IDS
from hrm_mazes.cli_args import describe_int, int_option, parse_int
from hrm_mazes.seeds import TRAIN

# Run seed s trains on env seeds from s * SEEDS_PER_RUN (agents.harness.training.train_env_seeds); run seeds stop
# at 99 so that those stay in the train split, clear of the validation and test seeds.
SEEDS_PER_RUN = 10_000
MAX_SEED = TRAIN.stop // SEEDS_PER_RUN - 1


# --- integers -----------------------------------------------------------------------------------------------


# --- fields with their command-line metadata ----------------------------------------------------------------


def option(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    choices: tuple[str, ...] | None = None,
    lo: int | None = None,
    hi: int | None = None,
    cli: bool = True,
    saved: bool = False,
    shown_default: Any = None,
) -> Any:
    """A :class:`TrainConfig` field and everything the command line and run.yaml need to know about it.

    :param default: the default (a dict default is copied per instance).
    :param help: one line for ``--help``; the range and a non-None default are appended to it.
    :param flag: the option's name (default ``--`` + the field name with dashes); a bool field that defaults to
        True is switched off by its flag (``--no-progress``).
    :param choices: allowed values on the command line.
    :param lo, hi: an integer field's bounds (either may be None), checked everywhere by :func:`parse_int`.
    :param cli: generate a command-line option (False: Python and YAML only).
    :param saved: written to run.yaml (what was run, as opposed to how this invocation behaves).
    :param shown_default: the default ``--help`` shows for a field whose default is None because it is resolved
        when the run starts (None means "unset", so that ``--resume`` can tell a given value from the default).
    """
    metadata = {"help": help, "flag": flag, "choices": choices, "lo": lo, "hi": hi, "cli": cli, "saved": saved,
                "shown_default": shown_default}  # fmt: skip
    metadata["integer"] = lo is not None or hi is not None
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """What a training run is asked to do (``hrm-mazes train``, :func:`agents.harness.training.train`).

    Fields left None are resolved when the run starts (the run's config file, else the defaults in the help);
    run.yaml stores the resolved ``saved`` fields, and ``--resume`` reads them back. On resume only ``steps``
    (to extend a run), ``device``, ``progress``, ``max_wall_s`` and ``allow_empty_buffer`` come from the call;
    the other saved fields, if given, must match the run.
    """

    algo: str | None = option(None, "algorithm (required unless --resume)", choices=ALGO_NAMES, saved=True)
    env_id: str | None = option(None, "environment id (required unless --resume)", flag="--env", choices=ENV_IDS, saved=True)
    steps: int | None = option(None, "total env steps (default: the config's n_timesteps)", lo=1, saved=True)
    seed: int | None = option(None, "training seed", lo=0, hi=MAX_SEED, saved=True, shown_default=0)
    device: str = option("auto", "torch device", choices=DEVICES, saved=True)
    config: str | None = option(
        None,
        "hyperparameters: a YAML file, a bundled config name, or a preset such as 'cpu-small' or 'paper' "
        "(default: agents/configs/<algo>.yaml)",
        saved=True,
    )
    out: str | os.PathLike | None = option(None, "run directory (default runs/<algo>/<env>/seed<seed>)")
    resume: bool = option(False, "continue the run in --out from its last checkpoint")
    force: bool = option(False, "delete an existing run directory (one that train made) and start over")
    allow_empty_buffer: bool = option(
        False, "with --resume: continue even though the checkpoint's replay buffer is missing (it restarts empty)"
    )
    n_envs: int | None = option(None, "parallel training envs (default: the config's)", lo=1)
    eval_freq: int | None = option(None, "evaluate every N env steps (default steps/10)", lo=1, saved=True)
    eval_episodes: int | None = option(None, "episodes per periodic evaluation (default 100)", lo=1, saved=True)
    checkpoint_freq: int | None = option(None, "checkpoint every N env steps (default steps/10)", lo=1, saved=True)
    progress: bool = option(True, "no progress bar", flag="--no-progress")
    max_wall_s: float | None = option(
        None, "stop training (as if finished) once the run's wall-clock seconds pass this (the demo's cap)", cli=False
    )
    overrides: dict[str, Any] = option({}, "hyperparameters set on top of the config (dicts merge)", cli=False)
    hyperparams: dict[str, Any] | None = option(
        None, "the resolved hyperparameters: filled when the run starts (config + overrides + n_envs)", cli=False, saved=True
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["integer"] and value is not None:
                try:
                    setattr(self, f.name, parse_int(value, f.metadata["lo"], f.metadata["hi"]))
                except ValueError:
                    allowed = describe_int(f.metadata["lo"], f.metadata["hi"])
                    raise UserError(f"{f.name} must be {allowed}, got {value!r}") from None

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    # run.yaml
    def to_run_yaml(self) -> dict[str, Any]:
        """The saved fields, YAML-ready."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.metadata["saved"]}

    @classmethod
    def from_run_yaml(cls, data: dict[str, Any]) -> TrainConfig:
        """The config a run.yaml records (other keys, such as ``versions``, are ignored)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.metadata["saved"] and f.name in data})

    # command line
    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        """The config that :func:`add_options`'s options parsed into ``args``."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if f.metadata["cli"]})


def _plain(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def add_options(parser: argparse.ArgumentParser, cls: type = TrainConfig) -> None:
    """One command-line option per ``cli`` field of ``cls``, from the field's metadata."""
    for f in fields(cls):
        meta = f.metadata
        if not meta["cli"]:
            continue
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        text = meta["help"]
        if meta["hi"] is not None:
            text += f" in [{meta['lo']}, {meta['hi']}]"
        if isinstance(f.default, bool):
            parser.add_argument(flag, dest=f.name, action="store_false" if f.default else "store_true", help=text)
            continue
        shown = f.default if f.default is not None else meta["shown_default"]
        if shown is not None:
            text += f" (default {shown})"
        kind = int_option(meta["lo"], meta["hi"]) if meta["integer"] else None
        parser.add_argument(flag, dest=f.name, type=kind, choices=meta["choices"], default=f.default, help=text)

"""One typed config per command, filled alike by the command line, the Python API and the files a command saves.

A command's options are declared once, as the fields of a :class:`CommandConfig` dataclass: each field's type,
default, allowed values, help text and role live on the field (:func:`option`). From those fields come the
command's options (:func:`add_options`), the check of every number whether it comes from the command line, Python
or a YAML file (the field's option type, such as :func:`~hrm_mazes.cli_args.int_option`), the config made from
parsed options (:meth:`CommandConfig.from_args`), the options that give a config back (:meth:`CommandConfig.to_argv`)
and the options a resumed run or study keeps (:func:`fixed_options`). :class:`TrainConfig` is ``hrm-mazes train``'s,
whose ``saved`` fields are what run.yaml records; :class:`TuneConfig` is ``hrm-mazes tune``'s.

Adding an option takes two edits: a field here, and the code that reads it. Example (hypothetical)::

    log_interval: int | None = option(None, "log every N episodes (default: the config's)", lo=1, saved=True)

gives ``hrm-mazes train --log-interval N``, ``TrainConfig(log_interval=...)`` and a ``log_interval`` key in
run.yaml; then read ``config.log_interval`` where the logging happens (:mod:`agents.harness.training`). With
``fixed=True`` as well, ``--resume`` refuses a value other than the run's.

This module imports neither torch nor SB3: the command line builds its parsers from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, TypeVar

from agents.errors import UserError
from agents.harness.algos import ALGO_NAMES, DEVICES, ENV_IDS
from hrm_mazes.cli_args import float_option, int_option
from hrm_mazes.seeds import TRAIN

# Run seed s trains on env seeds from s * SEEDS_PER_RUN (agents.harness.training.train_env_seeds); run seeds stop
# at 99 so that those stay in the train split, clear of the validation and test seeds.
SEEDS_PER_RUN = 10_000
MAX_SEED = TRAIN.stop // SEEDS_PER_RUN - 1
# RL Zoo uses --n-startup-trials 10 for both its TPE sampler and its median pruner; tuning budgets here are
# tens of trials, so 5 (Optuna's MedianPruner default) random trials start a study.
STARTUP_TRIALS = 5
# option(REQUIRED, ...): a field without a default, and a required option.
REQUIRED: Any = MISSING


# --- fields with their command-line metadata ----------------------------------------------------------------


def option(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    metavar: str | None = None,
    choices: tuple[str, ...] | None = None,
    lo: int | None = None,
    hi: int | None = None,
    parse: Callable[[Any], Any] | None = None,
    cli: bool = True,
    saved: bool = False,
    fixed: bool = False,
    shown_default: Any = None,
) -> Any:
    """A config field and everything the command line, the checks and the saved files need to know about it.

    :param default: the default (a dict default is copied per instance); :data:`REQUIRED` for a required option.
    :param help: one line for ``--help``; the range and a non-None default are appended to it.
    :param flag: the option's name (default ``--`` + the field name with dashes); a bool field that defaults to
        True is switched off by its flag (``--no-progress``).
    :param metavar: the value's name in ``--help`` (default the flag in capitals).
    :param choices: allowed values on the command line.
    :param lo, hi: an integer field's bounds (either may be None): its option type is ``int_option(lo, hi)``.
    :param parse: the option type of another number field, such as ``float_option(0, low_open=True)`` (a positive
        number): text (or a number) in, the value out, ``argparse.ArgumentTypeError("must be ..., got ...")`` for
        anything else. It checks the field's value from every source, the command line and Python alike.
    :param cli: generate a command-line option (False: Python and YAML only).
    :param saved: written to run.yaml (what was run, as opposed to how this invocation behaves).
    :param fixed: fixed by the run or study: ``--resume`` refuses a value other than the saved one.
    :param shown_default: the default ``--help`` shows for a field whose default is None because it is resolved
        when the command runs (None means "unset", so that ``--resume`` can tell a given value from the default).
    """
    if lo is not None or hi is not None:
        parse = int_option(lo, hi)
    metadata = {"help": help, "flag": flag, "metavar": metavar, "choices": choices, "lo": lo, "hi": hi, "parse": parse,
                "cli": cli, "saved": saved, "fixed": fixed, "required": default is REQUIRED,
                "shown_default": shown_default}  # fmt: skip
    if default is REQUIRED:
        return field(metadata=metadata)
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def flag_of(f: Field) -> str:
    """The command-line option of field ``f`` (``--eval-freq``)."""
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")


def check_value(f: Field, value: Any) -> Any:
    """``value`` of the number field ``f`` (one with an option type) checked and converted as the command line does
    it (``"2e4"`` -> 20000); anything else raises ``ValueError("must be <the allowed values>, got <value>")``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        value = repr(value)  # not a number: refused by its text (float(True) would be 1.0)
    try:
        return f.metadata["parse"](value)
    except argparse.ArgumentTypeError as err:
        raise ValueError(str(err)) from None


def fixed_options(cls: type) -> dict[str, str]:
    """The fields of ``cls`` that a run or study fixes (``fixed``), each with its option: what ``--resume`` checks."""
    return {f.name: flag_of(f) for f in fields(cls) if f.metadata["fixed"]}


def check_fixed_options(
    config: Any, recorded: Callable[[str], Any], owner: str, where: str, same: Callable[[str, Any, Any], bool] | None = None
) -> None:
    """``--resume`` may not change what the run or study fixed: for every fixed option of ``config`` that was given
    (not None), ``recorded(name)`` is the value it was made with, and a different one (``same(name, given,
    recorded)`` false; default ``==``) is a :class:`UserError` naming the option, ``where`` and its value."""
    for name, flag in fixed_options(type(config)).items():
        given, fixed = getattr(config, name), recorded(name)
        if given is None or given == fixed or (same is not None and same(name, given, fixed)):
            continue
        raise UserError(f"--resume: {flag} is fixed by the {owner} ({where} has {flag} {fixed}); start a new {owner} to change it")


Config = TypeVar("Config", bound="CommandConfig")


@dataclass
class CommandConfig:
    """What every command's config shares: its fields (declared with :func:`option`) are checked when it is made,
    whoever makes it, and it converts to and from the command line."""

    def __post_init__(self) -> None:
        """Every number field checked (a one-line :class:`UserError` naming the option and the allowed values), and a
        required field given."""
        for f in fields(self):
            value = getattr(self, f.name)
            name = flag_of(f) if f.metadata["cli"] else f.name
            if value is None:
                if f.metadata["required"]:
                    raise UserError(f"{name} is required")
            elif f.metadata["parse"] is not None:
                try:
                    setattr(self, f.name, check_value(f, value))
                except ValueError as err:
                    raise UserError(f"{name} {err}") from None

    def replace(self: Config, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_args(cls: type[Config], args: argparse.Namespace) -> Config:
        """The config that :func:`add_options`'s options parsed into ``args``."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if f.metadata["cli"]})

    def to_argv(self) -> list[str]:
        """The options that give this config back: the ``cli`` fields that are required or differ from their
        default, in field order (``["--algo", "dqn", "--minutes", "10", "--no-progress"]``)."""
        argv = []
        for f in fields(self):
            value = getattr(self, f.name)
            if not f.metadata["cli"] or (not f.metadata["required"] and value == f.default):
                continue
            if isinstance(f.default, bool):
                argv.append(flag_of(f))
            else:
                argv += [flag_of(f), _text(value)]
        return argv


def _plain(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _text(value: Any) -> str:
    """An option's value as its command line gives it: a whole float without ``.0``, any other float exactly."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(_plain(value))


def add_options(parser: argparse.ArgumentParser, cls: type[CommandConfig]) -> None:
    """One command-line option per ``cli`` field of ``cls``, from the field's metadata."""
    for f in fields(cls):
        meta = f.metadata
        if not meta["cli"]:
            continue
        text = meta["help"]
        if meta["hi"] is not None:
            text += f" in [{meta['lo']}, {meta['hi']}]"
        if isinstance(f.default, bool):
            parser.add_argument(flag_of(f), dest=f.name, action="store_false" if f.default else "store_true", help=text)
            continue
        shown = meta["shown_default"] if f.default is None or f.default is MISSING else f.default
        if shown is not None:
            text += f" (default {shown})"
        default = None if f.default is MISSING else f.default
        parser.add_argument(flag_of(f), dest=f.name, type=meta["parse"], choices=meta["choices"], default=default,
                            required=meta["required"], metavar=meta["metavar"], help=text)  # fmt: skip


# --- the commands' configs ----------------------------------------------------------------------------------


@dataclass
class TrainConfig(CommandConfig):
    """What a training run is asked to do (``hrm-mazes train``, :func:`agents.harness.training.train`).

    Fields left None are resolved when the run starts (the run's config file, else the defaults in the help);
    run.yaml stores the resolved ``saved`` fields, and ``--resume`` reads them back. On resume the ``fixed`` fields
    (and ``algo``, ``env_id`` and ``n_envs``), if given, must match the run; ``steps`` may extend it, and ``device``,
    ``progress``, ``max_wall_s`` and ``allow_empty_buffer`` come from the call.
    """

    algo: str | None = option(None, "algorithm (required unless --resume)", choices=ALGO_NAMES, saved=True)
    env_id: str | None = option(None, "environment id (required unless --resume)", flag="--env", choices=ENV_IDS, saved=True)
    steps: int | None = option(None, "total env steps (default: the config's n_timesteps)", lo=1, saved=True)
    seed: int | None = option(None, "training seed", lo=0, hi=MAX_SEED, saved=True, fixed=True, shown_default=0)
    device: str = option("auto", "torch device", choices=DEVICES, saved=True)
    config: str | None = option(
        None,
        "hyperparameters: a YAML file, a bundled config name, or a preset such as 'cpu-small' or 'paper' "
        "(default: agents/configs/<algo>.yaml)",
        saved=True,
        fixed=True,
    )
    out: str | os.PathLike | None = option(None, "run directory (default runs/<algo>/<env>/seed<seed>)")
    resume: bool = option(False, "continue the run in --out from its last checkpoint")
    force: bool = option(False, "delete an existing run directory (one that train made) and start over")
    allow_empty_buffer: bool = option(
        False, "with --resume: continue even though the checkpoint's replay buffer is missing (it restarts empty)"
    )
    n_envs: int | None = option(None, "parallel training envs (default: the config's)", lo=1)
    eval_freq: int | None = option(None, "evaluate every N env steps (default steps/10)", lo=1, saved=True, fixed=True)
    eval_episodes: int | None = option(None, "episodes per periodic evaluation (default 100)", lo=1, saved=True, fixed=True)
    checkpoint_freq: int | None = option(None, "checkpoint every N env steps (default steps/10)", lo=1, saved=True, fixed=True)
    progress: bool = option(True, "no progress bar", flag="--no-progress")
    max_wall_s: float | None = option(
        None, "stop training (as if finished) once the run's wall-clock seconds pass this (the demo's cap)", cli=False
    )
    overrides: dict[str, Any] = option({}, "hyperparameters set on top of the config (dicts merge)", cli=False)
    hyperparams: dict[str, Any] | None = option(
        None, "the resolved hyperparameters: filled when the run starts (config + overrides + n_envs)", cli=False, saved=True
    )

    # run.yaml
    def to_run_yaml(self) -> dict[str, Any]:
        """The saved fields, YAML-ready."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.metadata["saved"]}

    @classmethod
    def from_run_yaml(cls, data: dict[str, Any]) -> TrainConfig:
        """The config a run.yaml records (other keys, such as ``versions``, are ignored)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.metadata["saved"] and f.name in data})


@dataclass
class TuneConfig(CommandConfig):
    """What ``hrm-mazes tune`` is asked to do (:func:`agents.harness.tune.study.tune`; docs/tuning.md).

    A study runs trials until it holds ``trials`` finished ones (complete or pruned, earlier sessions included);
    a session starts none after ``minutes``. Fields left None are resolved when the study starts, and tune.yaml
    records them; on ``--resume`` the ``fixed`` fields (and ``algo`` and ``env_id``), if given, must match it.
    ``workers``: 1 (the default) runs the trials in this process, more start that many processes here (one torch
    thread each), or with ``ray_address`` that many Ray tasks (default: the cluster's CPUs); never more than the
    trials left. With ``ray_address`` the study directory must be on a file system that every node sees.
    """

    algo: str = option(REQUIRED, "algorithm (one with a search space: docs/tuning.md)", choices=ALGO_NAMES)
    env_id: str = option(REQUIRED, "environment id", flag="--env", choices=ENV_IDS)
    trials: int = option(REQUIRED, "trial cap of the study (resumed sessions included)", lo=1)
    minutes: float = option(
        REQUIRED, "wall-clock budget of the study: no trial starts after it", parse=float_option(0, low_open=True)
    )
    trial_minutes: float | None = option(
        None, "wall-clock budget of one trial (default minutes / trials)", parse=float_option(0, low_open=True), fixed=True
    )
    steps: int | None = option(None, "env steps of one trial (default: the base config's n_timesteps)", lo=1, fixed=True)
    config: str | None = option(
        None, "base preset the samples go on top of (default: the algo's cpu preset, else its default)", fixed=True
    )
    seed: int | None = option(
        None, "training seed of every trial and the sampler's seed", lo=0, hi=MAX_SEED, fixed=True, shown_default=0
    )
    eval_freq: int | None = option(None, "greedy evaluation (and pruning check) every N env steps", lo=1, fixed=True)
    eval_episodes: int | None = option(None, "episodes per periodic evaluation", lo=1, fixed=True)
    startup_trials: int | None = option(
        None, "random trials before TPE and pruning start", lo=0, fixed=True, shown_default=STARTUP_TRIALS
    )
    device: str = option("auto", "torch device", choices=DEVICES)
    out: str | os.PathLike | None = option(None, "study directory (default runs/tune/<algo>-<env>)")
    resume: bool = option(False, "continue the study in --out")
    force: bool = option(False, "replace the study in --out")
    keep_checkpoints: bool = option(False, "keep each trial's final checkpoint (replay buffer: large)")
    progress: bool = option(True, "no progress bar per trial", flag="--no-progress")
    workers: int | None = option(
        None,
        "processes running trials of the study at once, one torch thread each (default 1: in this process); "
        "with --ray the Ray tasks (default: the cluster's CPUs)",
        lo=1,
        metavar="N",
    )
    ray_address: str | None = option(
        None,
        "run the study's workers as Ray tasks on the cluster at ADDRESS ('local' starts one on this machine; needs "
        "the 'ray' extra and --out on a file system every node sees)",
        flag="--ray",
        metavar="ADDRESS",
    )

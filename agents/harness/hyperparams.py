"""Hyperparameter presets: the YAML files of ``agents/configs`` (RL-Zoo layout, one top-level key per env id),
selected by ``--config`` (see "Words" in docs/design.md: a *preset* is such a file, the *hyperparameters* are the
dict one of its entries resolves to).

A preset entry mixes two kinds of keys: :data:`RUN_KEYS` describe the run (budget, parallel envs, observation
encoding, network parts by name, evaluation and logging cadence); every other key goes to the algorithm's
constructor (:func:`agents.harness.models.algo_kwargs`). :func:`check_hyperparams` checks both kinds before
a run starts: the known keys against :data:`HYPERPARAM_RULES`, the others against the algorithm's constructor,
and the env options by building the env once.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.errors import UserError
from agents.harness.rundir import read_yaml
from hrm_mazes.cli_args import describe_int, describe_number, parse_int, parse_number

PRESET_DIR = Path(__file__).resolve().parent.parent / "configs"
# Short preset names: "paper" and "default" are the algorithm's own file; any other NAME is <algo>-NAME.
PRESET_ALIASES = {"paper": "{algo}", "default": "{algo}"}
# Keys of a preset entry that describe the run rather than the algorithm's constructor.
RUN_KEYS = (
    "n_timesteps",
    "n_envs",
    "policy",
    "obs_mode",
    "frame_stack",
    "env_kwargs",
    "features_extractor",
    "features_extractor_kwargs",
    "eval_freq",
    "eval_episodes",
    "checkpoint_freq",
    "log_interval",
    "vec_env",
    "curriculum",
)


def bundled_presets() -> list[str]:
    """Names of the YAML files shipped in ``agents/configs`` (without ``.yaml``)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def resolve_preset_path(algo: str, preset: str | os.PathLike | None) -> Path:
    """The file of ``preset`` (a ``--config`` value): None (the algorithm's default file), a YAML path, a bundled
    name, or a short preset name (``cpu-small`` means ``<algo>-cpu-small``; ``paper`` means the algorithm's
    default, the paper's settings)."""
    if preset is None:
        return PRESET_DIR / f"{algo}.yaml"
    text = str(preset)
    path = Path(text)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise UserError(f"config file {path} does not exist")
        return path
    for name in (PRESET_ALIASES.get(text, text).format(algo=algo), f"{algo}-{text}"):
        if (PRESET_DIR / f"{name}.yaml").is_file():
            return PRESET_DIR / f"{name}.yaml"
    raise UserError(f"unknown config {text!r}: not a .yaml file; bundled configs: {', '.join(bundled_presets())}")


def load_preset(algo: str, env_id: str, preset: str | os.PathLike | None = None) -> tuple[dict[str, Any], Path]:
    """The hyperparameters for ``algo`` on ``env_id`` from ``preset`` (a ``--config`` value, see
    :func:`resolve_preset_path`), and the file they came from.

    The file's entry for ``env_id`` when it has one, else the entry of the env it is a variant of (its registered
    ``base``: the partially observed maze takes the maze's settings), else its ``default`` entry (the settings for
    any env the file does not name, e.g. a newly registered one), else a :class:`UserError`.
    """
    from hrm_mazes.registry import base_env_id

    path = resolve_preset_path(algo, preset)
    data = read_yaml(path, "config file")
    if not isinstance(data, dict):
        raise UserError(f"config {path} must map env ids to hyperparameters")
    key = next((k for k in (env_id, base_env_id(env_id), "default") if k is not None and k in data), None)
    if key is None:
        known = ", ".join(str(k) for k in data if not str(k).startswith("_"))
        raise UserError(f"config {path.name} has no entry for {env_id!r} and no 'default' entry (it has: {known})")
    entry = data[key]
    if not isinstance(entry, dict):
        which = env_id if key == env_id else f"{env_id} ({key})"
        raise UserError(f"config {path.name}: the entry for {which} must map hyperparameters to values, got {entry!r}")
    return dict(entry), path


def apply_overrides(hyperparams: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``hyperparams`` with ``overrides`` on top; a dict value is merged one level deep
    (``{policy_kwargs: {carry: reset}}`` changes the carry and keeps the other policy settings)."""
    out = dict(hyperparams)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


# --- checking a preset entry ----------------------------------------------------------------------------------


def _integer(lo: int | None = None) -> tuple[str, Callable[[Any], Any]]:
    return describe_int(lo), lambda value: parse_int(value, lo)


LINEAR_PREFIX = "lin_"  # RL Zoo's notation: "lin_7e-4" decays linearly from 7e-4 to 0 over the run


def schedule_value(value: Any) -> Any:
    """A checked ``learning_rate`` / ``clip_range`` as the algorithm takes it: ``lin_<x>`` SB3's
    ``LinearSchedule(x, 0, 1)`` (x times the progress remaining: x at the start of the run, 0 at its end, what
    RL Zoo builds from it), text such as ``1e-4`` a float, anything else unchanged."""
    if isinstance(value, str):
        if value.startswith(LINEAR_PREFIX):
            from stable_baselines3.common.utils import LinearSchedule

            return LinearSchedule(float(value[len(LINEAR_PREFIX):]), 0.0, 1.0)
        return float(value)
    return value


class LinearDecay:
    """Only for loading: models saved before ``lin_<x>`` became SB3's ``LinearSchedule`` pickled this class
    (``initial`` times the progress remaining); unpickling one gives the equal ``LinearSchedule(initial, 0, 1)``."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        from stable_baselines3.common.utils import LinearSchedule

        self.__class__ = LinearSchedule
        LinearSchedule.__init__(self, state["initial"], 0.0, 1.0)


def _number(lo: float, hi: float | None = None, low_open: bool = False, schedule: bool = False) -> tuple[str, Callable]:
    """A finite number in ``[lo, hi]`` (``(lo, ...`` when ``low_open``) by :func:`parse_number`, the command line's
    check; text such as ``1e-4`` too (YAML reads it as a string); with ``schedule`` also ``lin_<such a number>``
    (linear decay to 0 over the run, kept as text) and a callable (an SB3 schedule, from Python)."""
    allowed = describe_number(lo, hi, low_open)
    if schedule:
        allowed += f", or {LINEAR_PREFIX}<such a number> (linear decay from it to 0 over the run, as in RL Zoo)"

    def convert(value: Any) -> Any:
        if schedule and callable(value):
            return value
        if schedule and isinstance(value, str) and value.startswith(LINEAR_PREFIX):
            return f"{LINEAR_PREFIX}{parse_number(value[len(LINEAR_PREFIX):], lo, hi, low_open)!r}"
        return parse_number(value, lo, hi, low_open)

    return allowed, convert


def _choice(*names: str) -> tuple[str, Callable]:
    def convert(value: Any) -> Any:
        if value not in names:
            raise ValueError
        return value

    return "one of " + ", ".join(names), convert


def _of_type(kind: type, allowed: str) -> tuple[str, Callable]:
    def convert(value: Any) -> Any:
        if not isinstance(value, kind):
            raise ValueError
        return value

    return allowed, convert


def _train_freq(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or value[1] not in ("step", "episode"):
            raise ValueError
        return [parse_int(value[0], 1), value[1]]
    return parse_int(value, 1)


def _curriculum(value: Any) -> Any:
    from agents.harness.curriculum import CurriculumSettings  # (imports SB3: only when a config has the key)

    try:
        settings = CurriculumSettings.from_config(value)
    except UserError as err:
        raise ValueError(str(err)) from None
    return {name: getattr(settings, name) for name in value}  # in their types: "2e4" -> 20000


def _obs_modes() -> tuple[str, ...]:
    from hrm_mazes.checks import OBS_MODES

    return OBS_MODES


PROBABILITY = _number(0, 1)
# The keys whose type and range are known (run keys and the common SB3 / sb3-contrib constructor arguments):
# key -> (what is allowed, a function that returns the value in its type or raises ValueError).
HYPERPARAM_RULES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    **{key: _integer(1) for key in ("n_timesteps", "n_envs", "frame_stack", "eval_freq", "eval_episodes",
                                    "checkpoint_freq", "log_interval", "batch_size", "buffer_size",
                                    "target_update_interval", "n_epochs", "n_steps")},  # fmt: skip
    "learning_starts": _integer(0),
    "gradient_steps": _integer(-1),
    "train_freq": ("a positive integer or [N, step|episode]", _train_freq),
    "obs_mode": _choice(*_obs_modes()),
    "vec_env": _choice("auto", "batched", "dummy"),
    "policy": _of_type(str, "a policy name"),
    "features_extractor": _of_type(str, "a features extractor name"),
    **{key: _of_type(dict, "a mapping") for key in ("env_kwargs", "policy_kwargs", "features_extractor_kwargs",
                                                    "replay_buffer_kwargs")},  # fmt: skip
    "learning_rate": _number(0, low_open=True, schedule=True),
    "clip_range": _number(0, low_open=True, schedule=True),
    "max_grad_norm": _number(0, low_open=True),
    **{key: PROBABILITY for key in ("gamma", "tau", "gae_lambda", "exploration_fraction", "exploration_initial_eps",
                                    "exploration_final_eps")},  # fmt: skip
    "ent_coef": _number(0),
    "vf_coef": _number(0),
    **{key: _of_type(bool, "true or false") for key in ("optimize_memory_usage", "normalize_advantage", "double_q")},
    "curriculum": ("a mapping of start, step (positive integers), success (in (0, 1]) and window (a positive "
                   "integer), see agents.harness.curriculum", _curriculum),  # fmt: skip
}
# Constructor arguments that the run sets itself.
RESERVED = {"seed": "--seed", "device": "--device", "env": "--env", "verbose": None, "tensorboard_log": None}


def _constructor_parameters(cls: type) -> set[str] | None:
    """The keyword arguments ``cls(...)`` accepts: its ``__init__``'s, and where that passes ``**kwargs`` on (a
    subclass such as :class:`agents.double_dqn.DoubleDQN`), its bases' too; None if anything goes."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(vars(klass)["__init__"]).parameters
        names.update(name for name, p in parameters.items() if p.kind is not inspect.Parameter.VAR_KEYWORD)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return names
    return None


def check_hyperparams(algo: str, env_id: str, hyperparams: dict[str, Any], source: str) -> dict[str, Any]:
    """``hyperparams`` with every known value in its type, or a one-line :class:`UserError` naming the key, the
    value and what is allowed. Unknown keys must be arguments of the algorithm's constructor, and the env options
    (``obs_mode``, ``frame_stack``, ``env_kwargs``) must build the env.

    :param source: where the entry came from, for the messages (``config tiny.yaml (FourRooms-Dynamic-v0)``).
    """
    from agents.harness.algos import get_algo
    from agents.harness.encodings import env_encoding, make_env

    checked = dict(hyperparams)
    for key, value in hyperparams.items():
        if not isinstance(key, str):
            raise UserError(f"{source}: hyperparameter names must be text, got {key!r}")
        if key in RESERVED:
            how = f"use {RESERVED[key]}" if RESERVED[key] else "hrm-mazes sets it"
            raise UserError(f"{source}: {key} cannot be set in a config ({how})")
        if key in HYPERPARAM_RULES:
            allowed, convert = HYPERPARAM_RULES[key]
            try:
                checked[key] = convert(value)
            except (TypeError, ValueError):
                raise UserError(f"{source}: {key} must be {allowed}, got {value!r}") from None
    cls = get_algo(algo).load_class()
    parameters = _constructor_parameters(cls)
    if parameters is not None:
        unknown = sorted(k for k in checked if k not in RUN_KEYS and k not in parameters)
        if unknown:
            raise UserError(f"{source}: unknown hyperparameter(s) {', '.join(unknown)} for {algo} (not arguments of {cls.__name__})")
    try:
        make_env(env_id, **env_encoding(checked)).close()
    except (TypeError, ValueError) as err:
        options = {k: checked[k] for k in ("obs_mode", "frame_stack", "env_kwargs") if k in checked}
        raise UserError(f"{source}: the env rejects {options}: {str(err).splitlines()[0]}") from None
    return checked

"""Hyperparameter presets: the YAML files of ``agents/configs`` (RL-Zoo layout, one top-level key per env id).

A config entry mixes two kinds of keys: :data:`RUN_KEYS` describe the run (budget, parallel envs, observation
encoding, network parts by name, evaluation and logging cadence); every other key goes to the algorithm's
constructor (:func:`agents.harness.baselines.algo_kwargs`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from agents.errors import UserError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
# Short preset names: "paper" and "default" are the algorithm's own file; any other NAME is <algo>-NAME.
CONFIG_ALIASES = {"paper": "{algo}", "default": "{algo}"}
# Keys of a config entry that describe the run rather than the algorithm's constructor.
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
)


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
    """The hyperparameters for ``algo`` on ``env_id``, and the file they came from."""
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

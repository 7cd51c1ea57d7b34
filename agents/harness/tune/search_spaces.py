"""The search spaces of ``hrm-mazes tune``: what each algorithm's trials sample, on top of a base preset.

A space is a function ``trial -> overrides`` (Optuna's ``trial.suggest_*``), registered in
:data:`SEARCH_SPACES`; the overrides merge into the base preset like a config's ``overrides``. Adding an
algorithm to ``tune``: one sampling function and one line in the table.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.errors import UserError
from agents.harness.algos import get_algo
from agents.harness.hyperparams import PRESET_DIR, apply_overrides

# GridCNN shapes by name (Optuna's categorical choices must be scalars).
CHANNELS = {"16-16": [16, 16], "32-32": [32, 32], "32-64": [32, 64]}


# The distance curricula a study chooses between (agents.harness.curriculum): off, or the presets' widening law.
CURRICULA: dict[str, dict[str, Any] | None] = {
    "off": None,
    "2+2": {"start": 2, "step": 2, "success": 0.8, "window": 200},
}


def sample_curriculum(trial: Any) -> dict[str, Any]:
    """The ``curriculum`` override of a sample: ``{}`` when off (the space ``decides`` the key, so a base preset's
    curriculum is dropped rather than inherited)."""
    settings = CURRICULA[trial.suggest_categorical("curriculum", list(CURRICULA))]
    return {} if settings is None else {"curriculum": dict(settings)}


def sample_dqn_cnn(trial: Any) -> dict[str, Any]:
    """Double DQN with GridCNN. ``target_update_interval`` is in env steps (SB3 counts it per env step)."""
    return {
        **sample_curriculum(trial),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        "n_steps": trial.suggest_categorical("n_steps", [1, 3, 5]),
        "target_update_interval": trial.suggest_categorical("target_update_interval", [2000, 8000, 16000, 32000]),
        "exploration_fraction": trial.suggest_float("exploration_fraction", 0.05, 0.5),
        "gradient_steps": trial.suggest_categorical("gradient_steps", [1, 2, 4]),
        "double_q": trial.suggest_categorical("double_q", [True, False]),
        "features_extractor_kwargs": {
            "channels": CHANNELS[trial.suggest_categorical("channels", list(CHANNELS))],
            "features_dim": trial.suggest_categorical("features_dim", [64, 128, 256]),
        },
    }


def dqn_cnn_base_params(preset: dict[str, Any]) -> dict[str, Any]:
    """The parameters of :func:`sample_dqn_cnn` that name ``preset`` (checked by :func:`base_params`)."""
    extractor = preset.get("features_extractor_kwargs", {})
    return {
        "curriculum": next((k for k, v in CURRICULA.items() if v == preset.get("curriculum")), None),
        **{key: preset.get(key) for key in ("learning_rate", "batch_size", "n_steps", "target_update_interval",
                                             "exploration_fraction", "gradient_steps", "double_q")},  # fmt: skip
        "channels": next((k for k, v in CHANNELS.items() if v == extractor.get("channels")), None),
        "features_dim": extractor.get("features_dim"),
    }


# The curricula of the planner's studies: off, or the widening law at the two promotion bars measured so far.
RCONV_CURRICULA: dict[str, dict[str, Any] | None] = {
    "off": None,
    "2+2@0.8": {"start": 2, "step": 2, "success": 0.8, "window": 300},
    "2+2@0.7": {"start": 2, "step": 2, "success": 0.7, "window": 300},
}


def sample_dqn_rconv(trial: Any) -> dict[str, Any]:
    """Double DQN with the recurrent-conv planner: the DQN recipe, the curriculum, and the network's family
    (width, iterations, recall of the observation, pooled global context)."""
    curriculum = RCONV_CURRICULA[trial.suggest_categorical("curriculum", list(RCONV_CURRICULA))]
    return {
        **({} if curriculum is None else {"curriculum": dict(curriculum)}),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 2e-3, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
        "n_steps": trial.suggest_categorical("n_steps", [1, 3, 5]),
        "target_update_interval": trial.suggest_categorical("target_update_interval", [8000, 16000, 32000]),
        "exploration_fraction": trial.suggest_float("exploration_fraction", 0.05, 0.3),
        "policy_kwargs": {
            "channels": trial.suggest_categorical("channels", [8, 16, 32]),
            "iterations": trial.suggest_categorical("iterations", [8, 12, 16, 24]),
            "recall": trial.suggest_categorical("recall", [True, False]),
            "pool": trial.suggest_categorical("pool", [False, True]),
        },
    }


def dqn_rconv_base_params(preset: dict[str, Any]) -> dict[str, Any]:
    """The parameters of :func:`sample_dqn_rconv` that name ``preset`` (checked by :func:`base_params`)."""
    network = preset.get("policy_kwargs", {})
    return {
        "curriculum": next((k for k, v in RCONV_CURRICULA.items() if v == preset.get("curriculum")), None),
        **{key: preset.get(key) for key in ("learning_rate", "batch_size", "n_steps", "target_update_interval",
                                             "exploration_fraction")},  # fmt: skip
        **{key: network.get(key) for key in ("channels", "iterations", "recall", "pool")},
    }


def sample_hrm_dqn(trial: Any) -> dict[str, Any]:
    """HRM-DQN: the DQN recipe options, the target update (EMA with ``tau`` or hard copies every K optimizer
    steps, which needs the paper's ``tau``), and the HRM's size, depth of deep supervision and readout."""
    from agents.hrm_dqn.hrm_dqn import LOSSES, PAPER_TAU
    from agents.hrm_dqn.model import READOUTS

    params = {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64, 128]),
        "n_steps": trial.suggest_categorical("n_steps", [1, 3, 5]),
        "double_q": trial.suggest_categorical("double_q", [True, False]),
        "loss": trial.suggest_categorical("loss", list(LOSSES)),
        "exploration_steps": trial.suggest_categorical("exploration_steps", [1000, 3000, 10000, 30000]),
        "policy_kwargs": {
            "segments": trial.suggest_categorical("segments", [1, 2, 4]),
            "d_model": trial.suggest_categorical("d_model", [32, 64]),
            "readout": trial.suggest_categorical("readout", list(READOUTS)),
        },
    }
    if trial.suggest_categorical("target_update", ["ema", "hard"]) == "ema":
        params["tau"] = trial.suggest_float("tau", 1e-3, 5e-2, log=True)
    else:
        params["target_update_interval"] = trial.suggest_categorical("target_update_interval", [250, 500, 1000, 2000])
        params["tau"] = PAPER_TAU
    return params


def sample_ppo(trial: Any) -> dict[str, Any]:
    """PPO with GridCNN: the ranges of RL Zoo's ``sample_ppo_params``, narrowed to what fits these small mazes."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 3e-3, log=True),
        "n_steps": trial.suggest_categorical("n_steps", [32, 64, 128, 256]),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256, 512]),
        "n_epochs": trial.suggest_categorical("n_epochs", [3, 5, 10]),
        "gamma": trial.suggest_categorical("gamma", [0.9, 0.95, 0.99]),
        "gae_lambda": trial.suggest_categorical("gae_lambda", [0.8, 0.9, 0.95, 0.99]),
        "clip_range": trial.suggest_categorical("clip_range", [0.1, 0.2, 0.3]),
        "ent_coef": trial.suggest_float("ent_coef", 1e-5, 0.05, log=True),
        "max_grad_norm": trial.suggest_categorical("max_grad_norm", [0.5, 1.0, 5.0]),
        "features_extractor_kwargs": {
            "channels": CHANNELS[trial.suggest_categorical("channels", list(CHANNELS))],
            "features_dim": trial.suggest_categorical("features_dim", [64, 128, 256]),
        },
    }


@dataclass(frozen=True)
class SearchSpace:
    """What a study samples for one algorithm.

    :param sample: draws one set of overrides (a dict merged onto the base preset) from an Optuna trial.
    :param decides: base-preset keys that every sample sets or leaves out on purpose; they are dropped from the
        base (``hrm-dqn``: ``tau`` or ``target_update_interval``, never both).
    :param base: the sample parameters that name a base preset, when the space can express it: a fresh study
        runs them as its trial 0, so that it says whether any sample beat the preset it started from.
    """

    sample: Callable[[Any], dict[str, Any]]
    decides: tuple[str, ...] = ()
    base: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def undecided(self, preset: dict[str, Any]) -> dict[str, Any]:
        """The base preset a sample is merged onto: ``preset`` without the keys the space decides."""
        return {k: v for k, v in preset.items() if k not in self.decides}


SEARCH_SPACES: dict[str, SearchSpace] = {
    "dqn-cnn": SearchSpace(sample_dqn_cnn, decides=("curriculum",), base=dqn_cnn_base_params),
    "dqn-rconv": SearchSpace(sample_dqn_rconv, decides=("curriculum",), base=dqn_rconv_base_params),
    "hrm-dqn": SearchSpace(sample_hrm_dqn, decides=("tau", "target_update_interval")),
    "ppo": SearchSpace(sample_ppo),
}


def base_params(space: SearchSpace, preset: dict[str, Any]) -> dict[str, Any] | None:
    """The parameters whose sample rebuilds ``preset`` exactly, or None when the space cannot express it (no
    ``base`` function, a value outside the space's choices or ranges, or a key the space does not sample)."""
    import optuna

    if space.base is None:
        return None
    kept = space.undecided(preset)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # FixedTrial only warns about a value outside a range
            trial = optuna.trial.FixedTrial(space.base(preset))
            rebuilt = apply_overrides(kept, space.sample(trial))
    except (ValueError, TypeError, Warning):
        return None
    return dict(trial.params) if rebuilt == preset else None


def get_space(algo: str) -> SearchSpace:
    get_algo(algo)
    if algo not in SEARCH_SPACES:
        raise UserError(f"tune has no search space for {algo!r}; it tunes: {', '.join(SEARCH_SPACES)}")
    return SEARCH_SPACES[algo]


def default_base_preset(algo: str) -> str | None:
    """The base preset of a study: the algorithm's ``cpu`` preset, else ``cpu-small``, else its default (None)."""
    for name in ("cpu", "cpu-small"):
        if (PRESET_DIR / f"{algo}-{name}.yaml").is_file():
            return name
    return None

"""The algorithms the harness knows, the envs and devices it accepts: one registry, importable without torch.

Every algorithm is an SB3 / sb3-contrib class (or HRM-DQN, an SB3 DQN subclass) plus the observation encoding
its config gives it (``agents/configs/<name>.yaml``, see :mod:`agents.harness.encodings`):

=================  =================================  ==========================================================
name               class                              observation
=================  =================================  ==========================================================
``hrm-dqn``        ``agents.hrm_dqn.HRMDQN``          ``tokens`` (H, W): one token per cell, embedded by the HRM
``dqn``            ``stable_baselines3.DQN``          ``onehot`` (7, H, W), flattened into an MLP
``dqn-cnn``        ``agents.double_dqn.DoubleDQN``    ``onehot`` (7, H, W), GridCNN (3x3 convs, no stride)
``dqn-rconv``      ``agents.rconv.RConvDQN``          ``onehot`` (7, H, W), a recurrent conv iterated K times, per-cell readout
``dqn-stack``      ``stable_baselines3.DQN``          ``onehot`` stacked over the last 4 steps (28, H, W), GridCNN
``qrdqn``          ``sb3_contrib.QRDQN``              ``onehot`` (7, H, W), GridCNN
``ppo``            ``stable_baselines3.PPO``          ``onehot`` (7, H, W), GridCNN
``recurrent-ppo``  ``sb3_contrib.RecurrentPPO``       ``onehot`` (7, H, W), GridCNN + LSTM
=================  =================================  ==========================================================

On the partially observed variants (``*-Partial-v0``) every encoding gains the ``unseen`` token: tokens in
``[0, 7]``, one-hot with 8 planes per frame; the networks read the number off the observation space.

The classes are imported only by :meth:`AlgoSpec.load_class`, so the command line's parser takes its
``--algo`` choices from here without importing torch. Adding a baseline: one :class:`AlgoSpec` line here and
its config file in ``agents/configs/`` (a new network part: :mod:`agents.harness.models`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

import hrm_mazes  # registers the envs
from agents.errors import UserError

# The ids registered by hrm_mazes, read when used (not copied): an env registered later is a valid --env too.
ENV_IDS: Sequence[str] = hrm_mazes.ENV_IDS
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class AlgoSpec:
    """One entry of the registry.

    :param name: the CLI name (``--algo``), also the default config file ``agents/configs/<name>.yaml``.
    :param module, class_name: where the algorithm class lives.
    :param off_policy: has a replay buffer (saved with every checkpoint).
    :param recurrent: ``predict`` carries a state between steps (RecurrentPPO contract).
    :param zoo_name: the algorithm's name in RL Baselines3 Zoo (``agents.zoo``).
    :param summary: one line for the docs.
    """

    name: str
    module: str
    class_name: str
    off_policy: bool
    recurrent: bool
    zoo_name: str
    summary: str

    def load_class(self) -> type:
        """Import and return the algorithm class (a missing optional package is a :class:`UserError`)."""
        try:
            module = importlib.import_module(self.module)
        except ImportError as err:
            raise UserError(f"algorithm {self.name!r} is not available: cannot import {self.module} ({err})") from None
        return getattr(module, self.class_name)


ALGOS: dict[str, AlgoSpec] = {
    spec.name: spec
    for spec in (
        AlgoSpec("hrm-dqn", "agents.hrm_dqn", "HRMDQN", True, True, "hrm-dqn", "HRM Q-network trained with DQN (the paper's agent)"),
        AlgoSpec("dqn", "stable_baselines3", "DQN", True, False, "dqn", "SB3 DQN, MLP on the one-hot grid"),
        AlgoSpec("dqn-cnn", "agents.double_dqn", "DoubleDQN", True, False, "double-dqn", "double DQN (an SB3 DQN subclass), small CNN on the one-hot grid"),
        AlgoSpec("dqn-rconv", "agents.rconv", "RConvDQN", True, False, "rconv-dqn", "double DQN, a weight-tied 3x3 conv iterated over the grid, read out per cell (the maze's planner)"),
        AlgoSpec("dqn-stack", "stable_baselines3", "DQN", True, False, "dqn", "SB3 DQN, CNN on the last 4 one-hot frames"),
        AlgoSpec("qrdqn", "sb3_contrib", "QRDQN", True, False, "qrdqn", "sb3-contrib QR-DQN, CNN on the one-hot grid"),
        AlgoSpec("ppo", "stable_baselines3", "PPO", False, False, "ppo", "SB3 PPO, CNN on the one-hot grid"),
        AlgoSpec("recurrent-ppo", "sb3_contrib", "RecurrentPPO", False, True, "ppo_lstm", "sb3-contrib PPO with an LSTM"),
    )
}
ALGO_NAMES: tuple[str, ...] = tuple(ALGOS)


def get_algo(name: str) -> AlgoSpec:
    if name not in ALGOS:
        raise UserError(f"unknown algorithm {name!r}; choose one of: {', '.join(ALGOS)}")
    return ALGOS[name]


def check_env_id(env_id: str) -> str:
    if env_id not in gym.registry:
        raise UserError(f"unknown environment {env_id!r}; registered by hrm_mazes: {', '.join(ENV_IDS)}")
    return env_id


def optimizer_steps(model: Any) -> int:
    """Gradient steps a model has taken so far, comparable across algorithms.

    Off-policy algorithms count them in ``_n_updates``. SB3 PPO adds ``n_epochs`` to ``_n_updates`` per rollout,
    and each epoch takes ``ceil(n_steps * n_envs / batch_size)`` minibatch steps.
    """
    n_updates = int(getattr(model, "_n_updates", 0))
    if hasattr(model, "n_epochs") and hasattr(model, "n_steps"):
        minibatches = -(-model.n_steps * model.n_envs // model.batch_size)
        return n_updates * minibatches
    return n_updates

"""The algorithms the CLI knows, and the observation encodings each one is given.

Every algorithm is an SB3 / sb3-contrib class (or HRM-DQN, an SB3 DQN subclass) plus an observation
encoding, chosen so that each baseline sees the maze the way it works best:

=================  ==============================  ==========================================================
name               class                           observation
=================  ==============================  ==========================================================
``hrm-dqn``        ``agents.hrm_dqn.HRMDQN``       ``tokens`` (H, W): one token per cell, embedded by the HRM
``dqn``            ``stable_baselines3.DQN``       ``onehot`` (7, H, W), flattened into an MLP
``dqn-cnn``        ``stable_baselines3.DQN``       ``onehot`` (7, H, W), :class:`GridCNN` (3x3 convs, no stride)
``dqn-stack``      ``stable_baselines3.DQN``       ``onehot`` stacked over the last 4 steps (28, H, W), GridCNN
``qrdqn``          ``sb3_contrib.QRDQN``           ``onehot`` (7, H, W), GridCNN
``ppo``            ``stable_baselines3.PPO``       ``onehot`` (7, H, W), GridCNN
``recurrent-ppo``  ``sb3_contrib.RecurrentPPO``    ``onehot`` (7, H, W), GridCNN + LSTM
=================  ==============================  ==========================================================

The encodings are env options (``obs_mode``) plus one wrapper (:class:`FrameStack`), so a model is always
evaluated on exactly the observations it was trained on: :func:`make_env` builds both.
"""

from __future__ import annotations

import importlib
from collections import deque
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

import hrm_mazes  # noqa: F401  (registers the envs)
from agents.errors import UserError


@dataclass(frozen=True)
class AlgoSpec:
    """One entry of the registry.

    :param name: the CLI name (``--algo``).
    :param module, class_name: where the algorithm class lives.
    :param off_policy: has a replay buffer (saved with every checkpoint).
    :param recurrent: ``predict`` carries a state between steps (RecurrentPPO contract).
    :param summary: one line for ``--help`` and the docs.
    """

    name: str
    module: str
    class_name: str
    off_policy: bool
    recurrent: bool
    summary: str

    def load_class(self) -> type:
        """Import and return the algorithm class (HRM-DQN raises a clear error while it is not installed)."""
        try:
            module = importlib.import_module(self.module)
        except ImportError as err:
            raise UserError(f"algorithm {self.name!r} is not available: cannot import {self.module} ({err})") from None
        return getattr(module, self.class_name)


ALGOS: dict[str, AlgoSpec] = {
    spec.name: spec
    for spec in (
        AlgoSpec("hrm-dqn", "agents.hrm_dqn", "HRMDQN", True, True, "HRM Q-network trained with DQN (the paper's agent)"),
        AlgoSpec("dqn", "stable_baselines3", "DQN", True, False, "SB3 DQN, MLP on the one-hot grid"),
        AlgoSpec("dqn-cnn", "stable_baselines3", "DQN", True, False, "SB3 DQN, small CNN on the one-hot grid"),
        AlgoSpec("dqn-stack", "stable_baselines3", "DQN", True, False, "SB3 DQN, CNN on the last 4 one-hot frames"),
        AlgoSpec("qrdqn", "sb3_contrib", "QRDQN", True, False, "sb3-contrib QR-DQN, CNN on the one-hot grid"),
        AlgoSpec("ppo", "stable_baselines3", "PPO", False, False, "SB3 PPO, CNN on the one-hot grid"),
        AlgoSpec("recurrent-ppo", "sb3_contrib", "RecurrentPPO", False, True, "sb3-contrib PPO with an LSTM"),
    )
}

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


def get_algo(name: str) -> AlgoSpec:
    if name not in ALGOS:
        raise UserError(f"unknown algorithm {name!r}; choose one of: {', '.join(ALGOS)}")
    return ALGOS[name]


def check_env_id(env_id: str) -> str:
    if env_id not in gym.registry:
        raise UserError(f"unknown environment {env_id!r}; registered by hrm_mazes: {', '.join(hrm_mazes.ENV_IDS)}")
    return env_id


# --- observation encodings ------------------------------------------------------------------------------


class FrameStack(gym.ObservationWrapper):
    """Concatenate the last ``n`` observations along the first axis: (C, H, W) -> (n*C, H, W), (H, W) -> (n, H, W).

    Oldest first. At reset the first observation fills every slot. Unlike gymnasium's
    ``FrameStackObservation`` the result stays a 3-D grid, so a CNN reads the history as extra channels.
    """

    def __init__(self, env: gym.Env, n: int) -> None:
        super().__init__(env)
        if n < 1:
            raise ValueError(f"frame_stack must be >= 1, got {n}")
        self.n = n
        space = env.observation_space
        assert isinstance(space, spaces.Box)
        grid = space.shape if len(space.shape) == 3 else (1, *space.shape)
        shape = (grid[0] * n, *grid[1:])
        self.observation_space = spaces.Box(int(space.low.min()), int(space.high.max()), shape, space.dtype)
        self._frames: deque[np.ndarray] = deque(maxlen=n)

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self._frames.clear()
        for _ in range(self.n):
            self._frames.append(self._as_grid(obs))
        return self._stacked(), info

    def observation(self, observation: np.ndarray) -> np.ndarray:
        self._frames.append(self._as_grid(observation))
        return self._stacked()

    @staticmethod
    def _as_grid(obs: np.ndarray) -> np.ndarray:
        return obs if obs.ndim == 3 else obs[None]

    def _stacked(self) -> np.ndarray:
        return np.concatenate(list(self._frames), axis=0)


def make_env(
    env_id: str,
    obs_mode: str = "tokens",
    frame_stack: int = 1,
    env_kwargs: dict[str, Any] | None = None,
    render_mode: str | None = None,
) -> gym.Env:
    """One environment with the given observation encoding (the same function for training and evaluation)."""
    check_env_id(env_id)
    env = gym.make(env_id, obs_mode=obs_mode, render_mode=render_mode, **(env_kwargs or {}))
    if frame_stack > 1:
        env = FrameStack(env, frame_stack)
    return env


# --- a CNN sized for 11x13 grids -------------------------------------------------------------------------


class GridCNN(BaseFeaturesExtractor):
    """Two 3x3 convolutions with padding and no stride (every cell keeps its own features), then a linear layer.

    NatureCNN's 8x8 stride-4 first layer would collapse an 11x13 maze to 2x2; this keeps the full resolution.

    :param observation_space: ``Box`` of shape (C, H, W) (one-hot planes, possibly frame-stacked).
    :param features_dim: output width.
    :param channels: output channels of the two convolutions.
    """

    def __init__(self, observation_space: spaces.Box, features_dim: int = 256, channels: tuple[int, int] = (32, 64)):
        super().__init__(observation_space, features_dim)
        c, h, w = observation_space.shape
        self.cnn = nn.Sequential(
            nn.Conv2d(c, channels[0], 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels[0], channels[1], 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.linear = nn.Sequential(nn.Linear(channels[1] * h * w, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.linear(self.cnn(observations.float()))


FEATURES_EXTRACTORS = {"grid-cnn": GridCNN}


def algo_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """The constructor kwargs of a config entry: everything but the run keys, with the extractor resolved."""
    kwargs = {k: v for k, v in config.items() if k not in RUN_KEYS}
    extractor = config.get("features_extractor")
    if extractor:
        if extractor not in FEATURES_EXTRACTORS:
            raise UserError(f"unknown features_extractor {extractor!r}; choose one of {list(FEATURES_EXTRACTORS)}")
        policy_kwargs = dict(kwargs.get("policy_kwargs") or {})
        policy_kwargs["features_extractor_class"] = FEATURES_EXTRACTORS[extractor]
        extractor_kwargs = dict(config.get("features_extractor_kwargs") or {})
        if "channels" in extractor_kwargs:
            extractor_kwargs["channels"] = tuple(extractor_kwargs["channels"])
        policy_kwargs["features_extractor_kwargs"] = extractor_kwargs
        kwargs["policy_kwargs"] = policy_kwargs
    for key in ("learning_rate", "buffer_size", "learning_starts", "batch_size"):
        if isinstance(kwargs.get(key), str):  # YAML reads 1e-4 as a string
            kwargs[key] = float(kwargs[key]) if key == "learning_rate" else int(float(kwargs[key]))
    if isinstance(kwargs.get("train_freq"), list):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    return kwargs


def optimizer_steps(model: Any) -> int:
    """Gradient steps taken so far, comparable across algorithms.

    Off-policy algorithms count them in ``_n_updates``. SB3 PPO adds ``n_epochs`` to ``_n_updates`` per rollout,
    and each epoch takes ``ceil(n_steps * n_envs / batch_size)`` minibatch steps.
    """
    n_updates = int(getattr(model, "_n_updates", 0))
    if hasattr(model, "n_epochs") and hasattr(model, "n_steps"):
        minibatches = -(-model.n_steps * model.n_envs // model.batch_size)
        return n_updates * minibatches
    return n_updates

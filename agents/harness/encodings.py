"""Observation encodings: how each algorithm sees the maze (torch-free).

An encoding is the env's ``obs_mode`` plus one wrapper (:class:`FrameStack`) and the env's dynamics kwargs,
written as a dict ``{"obs_mode", "frame_stack", "env_kwargs"}``. A config entry implies it
(:func:`env_encoding`), run.yaml records it, and :func:`make_env` builds the same env for training, evaluation
and watching, so a model is always evaluated on exactly the observations it was trained on.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agents.harness.algos import check_env_id

TOKENS: dict[str, Any] = {"obs_mode": "tokens", "frame_stack": 1, "env_kwargs": {}}


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


def env_encoding(hyperparams: dict[str, Any]) -> dict[str, Any]:
    """The encoding (keyword arguments of :func:`make_env`) that a config entry implies."""
    return {
        "obs_mode": hyperparams.get("obs_mode", "tokens"),
        "frame_stack": int(hyperparams.get("frame_stack", 1)),
        "env_kwargs": dict(hyperparams.get("env_kwargs") or {}),
    }


def guess_encoding(space: spaces.Box, num_tokens: int | None = None) -> dict[str, Any]:
    """The encoding of a model saved without run.yaml: (H, W) is tokens, (V k, H, W) one-hot planes of the last k
    frames, ``V = num_tokens``: the env's token ids (default 7, the full view; 8 for a partial view)."""
    from hrm_mazes.core import NUM_TOKENS

    if len(space.shape) == 2:
        return dict(TOKENS, env_kwargs={})
    planes = NUM_TOKENS if num_tokens is None else num_tokens
    return {"obs_mode": "onehot", "frame_stack": max(1, space.shape[0] // planes), "env_kwargs": {}}

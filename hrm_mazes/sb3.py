"""Stable-Baselines3 adapter: the batched vector env as an SB3 ``VecEnv``, so DQN, PPO, ... train on it directly.

    from stable_baselines3 import DQN
    from hrm_mazes.sb3 import make_sb3_vec_env

    venv = make_sb3_vec_env("RandomDoorMaze-v0", num_envs=256, seed=0)
    DQN("MlpPolicy", venv).learn(100_000)

This module imports Stable-Baselines3; ``import hrm_mazes`` never imports this module, so the environments
need no SB3. SB3's contract: when an env finishes, ``step_wait`` returns the first observation of its next
episode, with the last observation of the finished one in ``infos[i]["terminal_observation"]`` and
``infos[i]["TimeLimit.truncated"]`` True when the episode was cut by the time limit (and did not reach the goal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

try:
    from stable_baselines3.common.vec_env import VecEnv
    from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn
except ImportError as exc:  # pragma: no cover - exercised only without SB3
    raise ImportError(
        "hrm_mazes.sb3 needs stable-baselines3: pip install 'hrm-mazes[agents]' (or stable-baselines3>=2.7)"
    ) from exc

from hrm_mazes.vector import INFO_KEYS, DynamicDoorsVectorEnv


def _info_dicts(info: dict[str, Any], rows: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Per-env info dicts (Python scalars, positions as tuples, like the single env) from a batched info."""
    columns = []
    for key in INFO_KEYS:
        values = info[key] if rows is None else info[key][np.asarray(list(rows), dtype=np.int64)]
        values = values.tolist()
        columns.append([tuple(v) for v in values] if key.endswith("_pos") else values)
    return [dict(zip(INFO_KEYS, row, strict=True)) for row in zip(*columns, strict=True)]


class SB3VecEnv(VecEnv):
    """Stable-Baselines3 ``VecEnv`` over a batched :class:`hrm_mazes.vector.DynamicDoorsVectorEnv`.

    Works with every auto-reset mode of the batched env: with ``SAME_STEP`` the final observation comes
    from the env's info; otherwise the adapter resets finished envs itself (``reset(options={"reset_mask":
    ...})``) right after the step, so SB3 always sees the new episode's first observation.

    :param venv: the batched env (e.g. ``gym.make_vec(env_id, num_envs=N, vectorization_mode="vector_entry_point")``).
    """

    def __init__(self, venv: DynamicDoorsVectorEnv) -> None:
        base = venv.unwrapped
        if not isinstance(base, DynamicDoorsVectorEnv):
            raise TypeError(
                f"SB3VecEnv wraps the batched env of hrm_mazes (gym.make_vec(..., vectorization_mode="
                f"'vector_entry_point')), got {type(base).__name__}; use SB3's DummyVecEnv for other envs"
            )
        self.venv = venv
        self._base = base
        self._same_step = base.autoreset_mode == AutoresetMode.SAME_STEP
        self._actions: np.ndarray | None = None
        super().__init__(base.num_envs, base.single_observation_space, base.single_action_space)

    # --- VecEnv API -----------------------------------------------------------------------------------------

    def reset(self) -> VecEnvObs:
        """Reset every env. A seed set with :meth:`seed` (SB3 gives env i ``seed + i``) seeds the whole batch."""
        seed = self._seeds[0]
        options = {k: v for k, v in (self._options[0] or {}).items() if k in ("start", "goal")}
        obs, info = self.venv.reset(seed=seed, options=options or None)
        self.reset_infos = _info_dicts(info)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs).astype(np.int64, copy=False)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        self._actions = None
        dones = terminated | truncated
        infos = _info_dicts(info)
        time_limit = (truncated & ~terminated).tolist()
        for i, entry in enumerate(infos):
            entry["TimeLimit.truncated"] = time_limit[i]
        if dones.any():
            done_idx = np.flatnonzero(dones)
            if self._same_step:
                terminal_obs = info["final_obs"][done_idx]
                terminal_infos = _info_dicts(info["final_info"], done_idx)
                reset_infos = [infos[i] for i in done_idx]
            else:
                terminal_obs = obs[done_idx]
                terminal_infos = [infos[i] for i in done_idx]
                obs, reset_info = self.venv.reset(options={"reset_mask": dones})
                reset_infos = _info_dicts(reset_info, done_idx)
            for j, i in enumerate(done_idx):
                entry = terminal_infos[j]
                entry["TimeLimit.truncated"] = time_limit[i]
                entry["terminal_observation"] = terminal_obs[j]
                infos[i] = entry
                reset_infos[j].pop("TimeLimit.truncated", None)
                self.reset_infos[i] = reset_infos[j]
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        """Frames of the first ``render_num_envs`` envs (``render_mode="rgb_array"``)."""
        if self._base.render_mode != "rgb_array":
            return [None] * self.num_envs
        return list(self.venv.render())

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """An attribute of the batched env, per index: rows of per-env arrays ``(N, ...)``, else the shared value."""
        value = getattr(self._base, attr_name)
        idx = list(self._get_indices(indices))
        if isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == self.num_envs:
            return [value[i] for i in idx]
        return [value for _ in idx]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute: rows of a per-env array for the given indices, or a shared value for all envs."""
        idx = list(self._get_indices(indices))
        current = getattr(self._base, attr_name, None)
        if isinstance(current, np.ndarray) and current.ndim >= 1 and len(current) == self.num_envs:
            current[idx] = value
            return
        if sorted(idx) != list(range(self.num_envs)):
            raise ValueError(
                f"{attr_name!r} is shared by all envs of the batched env: set it with indices=None, not {indices!r}"
            )
        setattr(self._base, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """Call a method of the batched env once; per-env results (length N) are split by index."""
        result = getattr(self._base, method_name)(*method_args, **method_kwargs)
        idx = list(self._get_indices(indices))
        if isinstance(result, (np.ndarray, tuple, list)) and len(result) == self.num_envs:
            return [result[i] for i in idx]
        return [result for _ in idx]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """The batched env's sub-environments are never wrapped individually."""
        return [False for _ in self._get_indices(indices)]


def make_sb3_vec_env(env_id: str, num_envs: int, seed: int | None = None, **env_kwargs: Any) -> SB3VecEnv:
    """``gym.make_vec(env_id, num_envs, vectorization_mode="vector_entry_point", autoreset_mode=SAME_STEP)``
    wrapped for Stable-Baselines3. ``seed`` seeds the first ``reset()``; ``env_kwargs`` go to the env.
    """
    env_kwargs.setdefault("autoreset_mode", AutoresetMode.SAME_STEP)
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **env_kwargs)
    adapter = SB3VecEnv(venv)
    if seed is not None:
        adapter.seed(seed)
    return adapter

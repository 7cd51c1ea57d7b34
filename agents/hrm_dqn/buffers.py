"""A replay buffer that also stores the HRM seeds of each transition.

Every entry holds ``obs, action, reward, next_obs, done`` (+ SB3's timeout flag, so that a truncation is not
treated as a termination) and, when seeds are stored, ``seed`` (the z_H / z_L vectors the online network
started from at ``s``) and ``next_seed`` (the ones it produced at ``s``, which seed ``s'``). Observations keep
their uint8 dtype; seeds are stored as float16 by default (``seed_dtype``), returned as float32.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import BaseBuffer, ReplayBuffer
from stable_baselines3.common.vec_env import VecNormalize

try:
    import psutil
except ImportError:  # pragma: no cover - psutil is optional, as in SB3
    psutil = None

SEED_DTYPES = ("float32", "float16", "bfloat16")


class HRMReplayBufferSamples(NamedTuple):
    observations: th.Tensor
    actions: th.Tensor
    next_observations: th.Tensor
    dones: th.Tensor  # 1.0 only for true terminations (timeouts removed)
    rewards: th.Tensor
    seeds: th.Tensor | None  # (B, 2, d) float32, None when seeds are not stored
    next_seeds: th.Tensor | None
    discounts: th.Tensor | None = None  # SB3 field, unused (1-step returns)


def encode_seeds(seeds: np.ndarray, dtype: str) -> np.ndarray:
    """Float32 seeds to their storage dtype (bfloat16 is kept as the upper 16 bits, rounded to nearest even)."""
    seeds = np.asarray(seeds, dtype=np.float32)
    if dtype == "float32":
        return seeds
    if dtype == "float16":
        return seeds.astype(np.float16)
    bits = seeds.view(np.uint32).astype(np.uint64)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype(np.uint16)


def decode_seeds(stored: np.ndarray, dtype: str) -> np.ndarray:
    """Inverse of :func:`encode_seeds`, to float32."""
    if dtype == "bfloat16":
        return (stored.astype(np.uint32) << 16).view(np.float32)
    return stored.astype(np.float32)


def _storage_dtype(dtype: str) -> type:
    return {"float32": np.float32, "float16": np.float16, "bfloat16": np.uint16}[dtype]


class HRMReplayBuffer(ReplayBuffer):
    """FIFO replay buffer with uniform sampling, per-transition HRM seeds and SB3's timeout handling.

    :param buffer_size: total capacity in transitions (split evenly over ``n_envs``, as in SB3).
    :param observation_space: the token-grid space (stored in its own dtype, uint8 for the hrm_mazes envs).
    :param action_space: the action space.
    :param device: device of the returned tensors.
    :param n_envs: parallel environments feeding the buffer.
    :param optimize_memory_usage: store each observation (and seed) once: the next observation of entry ``i``
        is the observation of entry ``i + 1``, except at episode ends, whose final observation and seed are
        kept aside. Unlike SB3's variant it works together with ``handle_timeout_termination``. It relies on
        the seed used at ``t + 1`` being the seed produced at ``t`` within an episode (true in ``HRMDQN``).
    :param handle_timeout_termination: do not treat ``TimeLimit.truncated`` as a termination (SB3 default).
    :param seed_shape: shape of one seed, ``(2, d)``; None stores no seeds (``carry="reset"`` needs none).
    :param seed_dtype: ``"float16"`` (default), ``"bfloat16"`` or ``"float32"``.
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        seed_shape: tuple[int, ...] | None = None,
        seed_dtype: str = "float16",
    ) -> None:
        BaseBuffer.__init__(self, buffer_size, observation_space, action_space, device, n_envs=n_envs)
        if seed_dtype not in SEED_DTYPES:
            raise ValueError(f"seed_dtype must be one of {list(SEED_DTYPES)}, got {seed_dtype!r}")
        self.buffer_size = max(buffer_size // n_envs, 1)
        if optimize_memory_usage and self.buffer_size < 2:
            raise ValueError("optimize_memory_usage needs at least 2 slots per environment")
        self.optimize_memory_usage = optimize_memory_usage
        self.handle_timeout_termination = handle_timeout_termination
        self.seed_shape = None if seed_shape is None else tuple(seed_shape)
        self.seed_dtype = seed_dtype

        size, n = self.buffer_size, self.n_envs
        self.observations = np.zeros((size, n, *self.obs_shape), dtype=observation_space.dtype)
        if not optimize_memory_usage:
            self.next_observations = np.zeros_like(self.observations)
        small_discrete = isinstance(action_space, spaces.Discrete) and action_space.n <= 256
        action_dtype = np.uint8 if small_discrete else self._maybe_cast_dtype(action_space.dtype)
        self.actions = np.zeros((size, n, self.action_dim), dtype=action_dtype)
        self.rewards = np.zeros((size, n), dtype=np.float32)
        self.dones = np.zeros((size, n), dtype=np.float32)
        self.timeouts = np.zeros((size, n), dtype=np.float32)
        self.seeds: np.ndarray | None = None
        self.next_seeds: np.ndarray | None = None
        if self.seed_shape is not None:
            self.seeds = np.zeros((size, n, *self.seed_shape), dtype=_storage_dtype(seed_dtype))
            if not optimize_memory_usage:
                self.next_seeds = np.zeros_like(self.seeds)
        # optimize_memory_usage: (slot, env) -> (final next_obs, encoded next_seed) of episode-ending entries
        self._final: dict[tuple[int, int], tuple[np.ndarray, np.ndarray | None]] = {}

        if psutil is not None and self.nbytes > psutil.virtual_memory().available:
            warnings.warn(
                f"the replay buffer needs {self.nbytes / 1e9:.2f} GB, more than the memory available now",
                stacklevel=2,
            )

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (not counting the few episode-end entries kept aside)."""
        arrays = [self.observations, self.actions, self.rewards, self.dones, self.timeouts]
        for name in ("next_observations", "seeds", "next_seeds"):
            if getattr(self, name, None) is not None:
                arrays.append(getattr(self, name))
        return sum(a.nbytes for a in arrays)

    def add(  # type: ignore[override]
        self,
        obs: np.ndarray,
        next_obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
        seed: np.ndarray | None = None,
        next_seed: np.ndarray | None = None,
    ) -> None:
        """Store one step of every env.

        :param next_obs: the true next observation (the final one of an episode when ``done``).
        :param seed, next_seed: ``(n_envs, *seed_shape)`` float seeds; required when seeds are stored.
        """
        pos, nxt = self.pos, (self.pos + 1) % self.buffer_size
        action = np.asarray(action).reshape((self.n_envs, self.action_dim))
        done = np.asarray(done).reshape(self.n_envs)
        if self.seeds is not None:
            if seed is None or next_seed is None:
                raise ValueError("this buffer stores HRM seeds: pass seed= and next_seed= to add()")
            seed = encode_seeds(np.asarray(seed).reshape(self.n_envs, *self.seed_shape), self.seed_dtype)
            next_seed = encode_seeds(np.asarray(next_seed).reshape(self.n_envs, *self.seed_shape), self.seed_dtype)

        self.observations[pos] = np.array(obs)
        self.actions[pos] = action
        self.rewards[pos] = np.asarray(reward)
        self.dones[pos] = done
        if self.handle_timeout_termination:
            self.timeouts[pos] = np.array([info.get("TimeLimit.truncated", False) for info in infos])
        if self.seeds is not None:
            self.seeds[pos] = seed

        if self.optimize_memory_usage:
            # The next slot's observation doubles as this entry's next observation until it is overwritten.
            self.observations[nxt] = np.array(next_obs)
            if self.seeds is not None:
                self.seeds[nxt] = next_seed
            for env in range(self.n_envs):
                self._final.pop((pos, env), None)
                if done[env]:
                    kept_seed = None if next_seed is None else next_seed[env].copy()
                    self._final[(pos, env)] = (np.array(next_obs[env]), kept_seed)
        else:
            self.next_observations[pos] = np.array(next_obs)
            if self.next_seeds is not None:
                self.next_seeds[pos] = next_seed

        self.pos = nxt
        if self.pos == 0:
            self.full = True

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> HRMReplayBufferSamples:  # type: ignore[override]
        """Uniform minibatch; with ``optimize_memory_usage`` the slot at ``pos`` (half overwritten) is skipped."""
        if not self.optimize_memory_usage:
            upper = self.buffer_size if self.full else self.pos
            batch_inds = np.random.randint(0, upper, size=batch_size)
        elif self.full:
            batch_inds = (np.random.randint(1, self.buffer_size, size=batch_size) + self.pos) % self.buffer_size
        else:
            batch_inds = np.random.randint(0, self.pos, size=batch_size)
        return self._get_samples(batch_inds, env=env)

    def _get_samples(  # type: ignore[override]
        self, batch_inds: np.ndarray, env: VecNormalize | None = None, env_indices: np.ndarray | None = None
    ) -> HRMReplayBufferSamples:
        if env_indices is None:
            env_indices = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        seeds = next_seeds = None
        if self.optimize_memory_usage:
            next_inds = (batch_inds + 1) % self.buffer_size
            next_obs = self.observations[next_inds, env_indices]
            if self.seeds is not None:
                next_seeds = self.seeds[next_inds, env_indices]
            for i in np.flatnonzero(self.dones[batch_inds, env_indices]):
                final = self._final.get((int(batch_inds[i]), int(env_indices[i])))
                if final is not None:  # missing only for a trajectory cut by SB3's _setup_learn (kept as terminal)
                    next_obs[i] = final[0]
                    if next_seeds is not None:
                        next_seeds[i] = final[1]
        else:
            next_obs = self.next_observations[batch_inds, env_indices]
            if self.next_seeds is not None:
                next_seeds = self.next_seeds[batch_inds, env_indices]
        if self.seeds is not None:
            seeds = decode_seeds(self.seeds[batch_inds, env_indices], self.seed_dtype)
            next_seeds = decode_seeds(next_seeds, self.seed_dtype)  # type: ignore[arg-type]

        dones = self.dones[batch_inds, env_indices] * (1 - self.timeouts[batch_inds, env_indices])
        return HRMReplayBufferSamples(
            observations=self.to_torch(self._normalize_obs(self.observations[batch_inds, env_indices], env)),
            actions=self.to_torch(self.actions[batch_inds, env_indices]),
            next_observations=self.to_torch(self._normalize_obs(next_obs, env)),
            dones=self.to_torch(dones.reshape(-1, 1)),
            rewards=self.to_torch(self._normalize_reward(self.rewards[batch_inds, env_indices].reshape(-1, 1), env)),
            seeds=None if seeds is None else self.to_torch(seeds),
            next_seeds=None if next_seeds is None else self.to_torch(next_seeds),
        )

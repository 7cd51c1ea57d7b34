"""A replay buffer that also stores the HRM carry of each transition, with optional n-step returns.

Every entry holds ``obs, action, reward, next_obs, done`` (+ SB3's timeout flag, so that a truncation is not
treated as a termination) and, when carries are stored, ``carry`` (the z_H / z_L vectors the online network
started from at ``s``) and ``next_carry`` (the ones it produced at ``s``, which start ``s'``). Observations keep
their uint8 dtype; carries are stored as float16 by default (``carry_dtype``), returned as float32.

With ``n_steps > 1`` a sample of entry ``t`` is the n-step transition ``s_t -> s_{t+k}`` computed at sampling
time, as in SB3's ``NStepReplayBuffer``: ``k <= n_steps`` stops at the first episode end (termination or
truncation) and at the newest entry. It carries ``carry`` of ``t`` and ``next_carry`` of ``t + k - 1`` (the
carry the network produced at ``s_{t+k-1}``, which starts ``s_{t+k}``).
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

CARRY_DTYPES = ("float32", "float16", "bfloat16")


class HRMReplayBufferSamples(NamedTuple):
    observations: th.Tensor
    actions: th.Tensor
    next_observations: th.Tensor
    dones: th.Tensor  # 1.0 only for true terminations (timeouts removed)
    rewards: th.Tensor
    carries: th.Tensor | None  # (B, 2, d) float32, None when carries are not stored
    next_carries: th.Tensor | None
    discounts: th.Tensor | None = None  # (B, 1) gamma ** k, k = steps in the sample's n-step window


def encode_carry(carry: np.ndarray, dtype: str) -> np.ndarray:
    """Float32 carries to their storage dtype (bfloat16 is kept as the upper 16 bits, rounded to nearest even)."""
    carry = np.asarray(carry, dtype=np.float32)
    if dtype == "float32":
        return carry
    if dtype == "float16":
        return carry.astype(np.float16)
    bits = carry.view(np.uint32).astype(np.uint64)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype(np.uint16)


def decode_carry(stored: np.ndarray, dtype: str) -> np.ndarray:
    """Inverse of :func:`encode_carry`, to float32."""
    if dtype == "bfloat16":
        return (stored.astype(np.uint32) << 16).view(np.float32)
    return stored.astype(np.float32)


def _storage_dtype(dtype: str) -> type:
    return {"float32": np.float32, "float16": np.float16, "bfloat16": np.uint16}[dtype]


class HRMReplayBuffer(ReplayBuffer):
    """FIFO replay buffer with uniform sampling, per-transition HRM carries and SB3's timeout handling.

    :param buffer_size: total capacity in transitions (split evenly over ``n_envs``, as in SB3).
    :param observation_space: the token-grid space (stored in its own dtype, uint8 for the hrm_mazes envs).
    :param action_space: the action space.
    :param device: device of the returned tensors.
    :param n_envs: parallel environments feeding the buffer.
    :param optimize_memory_usage: store each observation (and carry) once: the next observation of entry ``i``
        is the observation of entry ``i + 1``, except at episode ends, whose final observation and carry are
        kept aside. Unlike SB3's variant it works together with ``handle_timeout_termination``. It relies on
        the carry used at ``t + 1`` being the carry produced at ``t`` within an episode (true in ``HRMDQN``).
    :param handle_timeout_termination: do not treat ``TimeLimit.truncated`` as a termination (SB3 default).
    :param carry_shape: shape of one carry, ``(2, d)``; None stores no carries (``carry="reset"`` needs none).
    :param carry_dtype: ``"float16"`` (default), ``"bfloat16"`` or ``"float32"``.
    :param n_steps: steps of the sampled returns (1: one-step transitions). Unlike SB3's ``NStepReplayBuffer``
        it works with ``optimize_memory_usage``.
    :param gamma: discount of the n-step return; sampled ``discounts`` are ``gamma ** k``.
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
        carry_shape: tuple[int, ...] | None = None,
        carry_dtype: str = "float16",
        n_steps: int = 1,
        gamma: float = 0.99,
    ) -> None:
        BaseBuffer.__init__(self, buffer_size, observation_space, action_space, device, n_envs=n_envs)
        if carry_dtype not in CARRY_DTYPES:
            raise ValueError(f"carry_dtype must be one of {list(CARRY_DTYPES)}, got {carry_dtype!r}")
        if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer (1 = one-step returns), got {n_steps!r}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
        self.n_steps = n_steps
        self.gamma = gamma
        self.buffer_size = max(buffer_size // n_envs, 1)
        if optimize_memory_usage and self.buffer_size < 2:
            raise ValueError("optimize_memory_usage needs at least 2 slots per environment")
        self.optimize_memory_usage = optimize_memory_usage
        self.handle_timeout_termination = handle_timeout_termination
        self.carry_shape = None if carry_shape is None else tuple(carry_shape)
        self.carry_dtype = carry_dtype

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
        self.carries: np.ndarray | None = None
        self.next_carries: np.ndarray | None = None
        if self.carry_shape is not None:
            self.carries = np.zeros((size, n, *self.carry_shape), dtype=_storage_dtype(carry_dtype))
            if not optimize_memory_usage:
                self.next_carries = np.zeros_like(self.carries)
        # optimize_memory_usage: (slot, env) -> (final next_obs, encoded next_carry) of episode-ending entries
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
        for name in ("next_observations", "carries", "next_carries"):
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
        carry: np.ndarray | None = None,
        next_carry: np.ndarray | None = None,
    ) -> None:
        """Store one step of every env.

        :param next_obs: the true next observation (the final one of an episode when ``done``).
        :param carry, next_carry: ``(n_envs, *carry_shape)`` float carries; required when carries are stored.
        """
        pos, nxt = self.pos, (self.pos + 1) % self.buffer_size
        action = np.asarray(action).reshape((self.n_envs, self.action_dim))
        done = np.asarray(done).reshape(self.n_envs)
        if self.carries is not None:
            if carry is None or next_carry is None:
                raise ValueError("this buffer stores HRM carries: pass carry= and next_carry= to add()")
            carry = encode_carry(np.asarray(carry).reshape(self.n_envs, *self.carry_shape), self.carry_dtype)
            next_carry = encode_carry(np.asarray(next_carry).reshape(self.n_envs, *self.carry_shape), self.carry_dtype)

        self.observations[pos] = np.array(obs)
        self.actions[pos] = action
        self.rewards[pos] = np.asarray(reward)
        self.dones[pos] = done
        if self.handle_timeout_termination:
            self.timeouts[pos] = np.array([info.get("TimeLimit.truncated", False) for info in infos])
        if self.carries is not None:
            self.carries[pos] = carry

        if self.optimize_memory_usage:
            # The next slot's observation doubles as this entry's next observation until it is overwritten.
            self.observations[nxt] = np.array(next_obs)
            if self.carries is not None:
                self.carries[nxt] = next_carry
            for env in range(self.n_envs):
                self._final.pop((pos, env), None)
                if done[env]:
                    kept_carry = None if next_carry is None else next_carry[env].copy()
                    self._final[(pos, env)] = (np.array(next_obs[env]), kept_carry)
        else:
            self.next_observations[pos] = np.array(next_obs)
            if self.next_carries is not None:
                self.next_carries[pos] = next_carry

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
        returns, last, discounts = self._n_step_returns(batch_inds, env_indices, env)
        next_obs, next_carries = self._successor(last, env_indices)
        carries = None
        if self.carries is not None:
            carries = decode_carry(self.carries[batch_inds, env_indices], self.carry_dtype)
        dones = self.dones[last, env_indices] * (1 - self.timeouts[last, env_indices])
        return HRMReplayBufferSamples(
            observations=self.to_torch(self._normalize_obs(self.observations[batch_inds, env_indices], env)),
            actions=self.to_torch(self.actions[batch_inds, env_indices]),
            next_observations=self.to_torch(self._normalize_obs(next_obs, env)),
            dones=self.to_torch(dones.reshape(-1, 1)),
            rewards=self.to_torch(returns),
            carries=None if carries is None else self.to_torch(carries),
            next_carries=None if next_carries is None else self.to_torch(next_carries),
            discounts=self.to_torch(discounts),
        )

    def _n_step_returns(
        self, batch_inds: np.ndarray, env_indices: np.ndarray, env: VecNormalize | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per sample: the discounted reward sum ``(B, 1)``, the slot of the window's last entry, ``gamma ** k``.

        The window ``t, ..., t + k - 1`` has ``k = n_steps`` entries unless it meets an episode end (done or
        timeout, included) or the newest entry (whose successor slot is not part of this trajectory yet).
        """
        offsets = np.arange(self.n_steps)
        window = (batch_inds[:, None] + offsets) % self.buffer_size  # (B, n) slots
        envs = env_indices[:, None]
        newest = (self.pos - 1) % self.buffer_size
        ends = (self.dones[window, envs] > 0) | (self.timeouts[window, envs] > 0) | (window == newest)
        steps = np.where(ends.any(axis=1), ends.argmax(axis=1), self.n_steps - 1) + 1  # k, in 1..n_steps
        inside = offsets < steps[:, None]
        powers = (self.gamma**offsets).astype(np.float32)
        rewards = self._normalize_reward(self.rewards[window, envs], env)
        returns = (rewards * powers * inside).sum(axis=1, keepdims=True, dtype=np.float32)
        last = window[np.arange(len(window)), steps - 1]
        discounts = (self.gamma**steps).astype(np.float32).reshape(-1, 1)
        return returns, last, discounts

    def _successor(self, inds: np.ndarray, env_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Next observation and float32 next carry (None when not stored) of the entries ``inds``."""
        next_carries = None
        if self.optimize_memory_usage:
            next_inds = (inds + 1) % self.buffer_size
            next_obs = self.observations[next_inds, env_indices]
            if self.carries is not None:
                next_carries = self.carries[next_inds, env_indices]
            for i in np.flatnonzero(self.dones[inds, env_indices]):
                final = self._final.get((int(inds[i]), int(env_indices[i])))
                if final is not None:  # missing only for a trajectory cut by SB3's _setup_learn (kept as terminal)
                    next_obs[i] = final[0]
                    if next_carries is not None:
                        next_carries[i] = final[1]
        else:
            next_obs = self.next_observations[inds, env_indices]
            if self.next_carries is not None:
                next_carries = self.next_carries[inds, env_indices]
        if next_carries is not None:
            next_carries = decode_carry(next_carries, self.carry_dtype)
        return next_obs, next_carries

"""``HRMQPolicy``: the HRM Q-network as a Stable-Baselines3 recurrent policy.

The recurrent state handed around by :meth:`HRMQPolicy.predict` is the *carry*, a float32 array
``(n_envs, 2, d)``: per environment, the z_H and z_L vectors the next step starts from (broadcast to every
token); with ``carry="grid"`` every token's, ``(n_envs, 2, S, d)``. It follows sb3-contrib's ``RecurrentPPO`` contract: ``state=None`` means "fresh", and
``episode_start[i]`` restores the fixed initial state ``z_init`` of environment ``i`` before acting.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import warnings
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import Schedule

from agents.hrm_dqn.model import HRM, HRMConfig

CARRY_MODES = ("last_token", "grid", "reset")
# HRMConfig fields the policy derives from the spaces (agent_token: the hrm_mazes default), not policy kwargs.
DERIVED_FIELDS = ("grid_shape", "vocab_size", "num_actions", "agent_token", "carry_tokens")


def _adam_atan2() -> type[th.optim.Optimizer]:
    from adam_atan2_pytorch import AdamAtan2

    return AdamAtan2


def check_token_space(observation_space: spaces.Space) -> tuple[tuple[int, int], int]:
    """``(grid_shape, vocab_size)`` of a token-grid space, or a ValueError saying what is expected."""
    ok = (
        isinstance(observation_space, spaces.Box)
        and len(observation_space.shape) == 2
        and np.issubdtype(observation_space.dtype, np.integer)
        and np.all(observation_space.low == 0)
        and np.all(observation_space.high == observation_space.high.flat[0])
    )
    if not ok:
        raise ValueError(
            "HRMQPolicy needs a token-grid observation space Box(0, V - 1, (rows, cols), integer dtype), as given "
            f"by the hrm_mazes envs with obs_mode='tokens' (the default); got {observation_space!r}"
        )
    return tuple(int(n) for n in observation_space.shape), int(observation_space.high.flat[0]) + 1  # type: ignore[return-value]


class HRMQPolicy(BasePolicy):
    """Online and target HRM Q-networks plus their optimizer, with a stateful ``predict``.

    :param observation_space: token grid ``Box(0, V - 1, (rows, cols), uint8)``.
    :param action_space: ``Discrete(n)``.
    :param lr_schedule: learning-rate schedule (the optimizer is built with ``lr_schedule(1)``).
    :param d_model: hidden width (paper: 64).
    :param num_heads: attention heads (paper: 2).
    :param H_layers, L_layers: blocks per module (paper: 4 each).
    :param H_cycles, L_cycles: recurrence per segment (paper: 2 each).
    :param segments: segments per acting step and deep-supervision steps per minibatch (paper: 8).
    :param expansion: SwiGLU expansion (paper: 4).
    :param mlp_multiple: SwiGLU inner width is rounded up to a multiple of this (HRM: 256).
    :param rope_theta, rms_norm_eps: RoPE base (10000) and RMSNorm epsilon (1e-5).
    :param readout: ``"last"`` (paper), ``"prefix"`` or ``"agent"`` token for the Q head, or ``"neighbours"``
        (the agent's token plus a value read at the cell each move leads to; see :class:`HRMConfig`).
    :param pos_encodings: ``"rope"`` (paper), ``"learned"`` or ``"rope+learned"`` (see :class:`HRMConfig`).
    :param attention: ``"global"`` (paper) or ``"local"`` (3x3 neighbourhoods; see :class:`HRMConfig`).
    :param carry: how the carry is formed: ``"last_token"`` (paper's Carry Z), ``"grid"`` (every token's z_H and
        z_L: the recurrence continues on every cell at the next step) or ``"reset"`` (Reset Z: every step starts
        from ``z_init``). Stored as :attr:`carry_mode`.
    :param autocast_bf16: bfloat16 autocast; ``None`` = on for CUDA, off on CPU.
    :param compile: wrap the segment function of both networks in ``torch.compile``.
    :param optimizer_class: default ``adam_atan2_pytorch.AdamAtan2``.
    :param optimizer_kwargs: default ``betas=(0.9, 0.95), weight_decay=0.0`` (HRM's settings).
    """

    q_net: HRM
    q_net_target: HRM

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        d_model: int = 64,
        num_heads: int = 2,
        H_layers: int = 4,
        L_layers: int = 4,
        H_cycles: int = 2,
        L_cycles: int = 2,
        segments: int = 8,
        expansion: float = 4.0,
        mlp_multiple: int = 256,
        rope_theta: float = 10000.0,
        rms_norm_eps: float = 1e-5,
        readout: str = "last",
        pos_encodings: str = "rope",
        attention: str = "global",
        carry: str = "last_token",
        autocast_bf16: bool | None = None,
        compile: bool = False,
        optimizer_class: type[th.optim.Optimizer] | None = None,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        grid_shape, vocab_size = check_token_space(observation_space)
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"HRMQPolicy needs a Discrete action space, got {action_space!r}")
        if carry not in CARRY_MODES:
            raise ValueError(f"carry must be one of {list(CARRY_MODES)}, got {carry!r}")
        # Built (and so validated) before anything else is allocated.
        config = HRMConfig(
            grid_shape=grid_shape,
            vocab_size=vocab_size,
            num_actions=int(action_space.n),
            d_model=d_model,
            num_heads=num_heads,
            H_layers=H_layers,
            L_layers=L_layers,
            H_cycles=H_cycles,
            L_cycles=L_cycles,
            segments=segments,
            expansion=expansion,
            mlp_multiple=mlp_multiple,
            rope_theta=rope_theta,
            rms_norm_eps=rms_norm_eps,
            readout=readout,
            pos_encodings=pos_encodings,
            attention=attention,
            carry_tokens="all" if carry == "grid" else "last",
        )
        if optimizer_kwargs is None:
            optimizer_kwargs = {"betas": (0.9, 0.95), "weight_decay": 0.0}
        super().__init__(
            observation_space,
            action_space,
            optimizer_class=optimizer_class or _adam_atan2(),
            optimizer_kwargs=optimizer_kwargs,
            normalize_images=False,
        )
        self.config = config
        self.acting_segments: int | None = None  # set_acting_segments: None acts with config.segments
        self.carry_mode = carry
        self.autocast_bf16 = autocast_bf16
        self.compile = compile
        self._build(lr_schedule)

    def _build(self, lr_schedule: Schedule) -> None:
        self.q_net = HRM(self.config)
        self.q_net_target = HRM(self.config)
        # Deviation from the paper's code (independent target weights): start the EMA target as a copy.
        self.q_net_target.load_state_dict(self.q_net.state_dict())
        self.q_net_target.requires_grad_(False)
        self.q_net_target.train(False)
        if self.compile and not _have_cxx():
            warnings.warn(
                "compile=True needs a C++ compiler for torch.compile (inductor) and none was found (CXX, c++, g++, "
                "clang++): running without compile",
                stacklevel=2,
            )
        elif self.compile:
            for net in (self.q_net, self.q_net_target):
                net.segment = th.compile(net.segment)  # type: ignore[method-assign]
        lr = float(lr_schedule(1))
        # Adam-atan2 refuses lr = 0 at construction, which is how RL Zoo's enjoy (and any inference-only load)
        # loads a model: build it with a positive lr, then set the real one (a zero lr never moves a weight).
        self.optimizer = self.optimizer_class(self.q_net.parameters(), lr=lr if lr > 0 else 1.0, **self.optimizer_kwargs)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self._online_modules = tuple(self.q_net.modules())

    def set_training_mode(self, mode: bool) -> None:
        """Train / eval flags of the policy and the online net; the target net stays in eval mode (as SB3's DQN).

        SB3 calls this twice per collection step. The flags are set directly on the online net's modules:
        ``nn.Module.train`` recursing over both nets cost about 0.4 ms a step (the HRM has no dropout or batch
        norm, so no number depends on the flags).
        """
        mode = bool(mode)
        for module in (self, *self._online_modules):
            object.__setattr__(module, "training", mode)  # what nn.Module.__setattr__ ends in for a bool

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        architecture = {k: v for k, v in self.config.to_dict().items() if k not in DERIVED_FIELDS}
        data.update(
            lr_schedule=self._dummy_schedule,
            **architecture,
            carry=self.carry_mode,
            autocast_bf16=self.autocast_bf16,
            compile=self.compile,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
        )
        return data

    # --- tensors ------------------------------------------------------------------------------------------

    def autocast(self) -> contextlib.AbstractContextManager:
        """bfloat16 autocast on CUDA (unless ``autocast_bf16=False``), nothing on CPU unless asked."""
        device = self.device
        enabled = self.autocast_bf16 if self.autocast_bf16 is not None else device.type == "cuda"
        if not enabled:
            return contextlib.nullcontext()
        return th.autocast(device_type=device.type, dtype=th.bfloat16)

    def initial_carry(self, n: int) -> th.Tensor:
        """``(n, *config.carry_shape)`` float32 fixed initial state ``z_init`` on the policy's device."""
        return self.q_net.initial_carry(n).float()

    def set_acting_segments(self, segments: int | None) -> None:
        """Act with ``segments`` segments per env step instead of the trained ``config.segments`` (None restores
        it): less (or more) recurrent computation per step for the same weights. Training is unaffected."""
        if segments is not None and (isinstance(segments, bool) or not isinstance(segments, (int, np.integer)) or segments < 1):
            raise ValueError(f"segments must be a positive integer (or None for the trained {self.config.segments}), got {segments!r}")
        self.acting_segments = None if segments is None else int(segments)

    def act(self, obs: th.Tensor, carry: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """Q-values ``(B, A)`` and next carry ``(B, *config.carry_shape)`` from the online net (no gradient), run for
        :attr:`acting_segments` segments (default ``config.segments``).

        With ``carry="reset"`` the net starts from ``z_init`` whatever ``carry`` is, and the next carry is it too.
        """
        reset = self.carry_mode == "reset"
        with th.no_grad(), self.autocast():
            q, next_carry = self.q_net(obs, self.initial_carry(len(obs)) if reset else carry, self.acting_segments)
        if reset:
            next_carry = self.initial_carry(len(obs))
        return q.float(), next_carry.float()

    def forward(self, obs: th.Tensor, deterministic: bool = True) -> th.Tensor:
        return self._predict(obs, deterministic)

    def _predict(self, observation: th.Tensor, deterministic: bool = True) -> th.Tensor:
        """Greedy actions from ``z_init`` (the stateless SB3 path; prefer :meth:`predict`)."""
        q, _ = self.act(observation, self.initial_carry(len(observation)))
        return q.argmax(dim=1)

    # --- numpy API ----------------------------------------------------------------------------------------

    def _carry_tensor(self, state: np.ndarray | None, episode_start: np.ndarray | None, n: int) -> th.Tensor:
        init = self.initial_carry(n)
        if state is None:
            return init
        if isinstance(state, tuple):  # tolerate RecurrentPPO-style tuples of one array
            state = state[0]
        expected = (n, *self.config.carry_shape)
        state = np.asarray(state)
        if state.shape != expected:
            layout = "(n_envs, [z_H, z_L], tokens, d_model)" if len(expected) == 4 else "(n_envs, [z_H, z_L], d_model)"
            raise ValueError(
                f"state must be the array returned by the previous predict() call, shape {expected} "
                f"{layout}, got shape {state.shape}"
            )
        carry = th.as_tensor(state, dtype=th.float32, device=self.device)
        if episode_start is not None:
            starts = th.as_tensor(np.asarray(episode_start, dtype=bool).reshape(n), device=self.device)
            carry = th.where(starts.view(n, *[1] * (carry.dim() - 1)), init, carry)
        return carry

    def _q_values(self, observation, state, episode_start) -> tuple[np.ndarray, np.ndarray, bool]:
        self.set_training_mode(False)
        obs, vectorized = self.obs_to_tensor(observation)
        carry = self._carry_tensor(state, episode_start, len(obs))
        q, next_carry = self.act(obs, carry)  # type: ignore[arg-type]
        return q.cpu().numpy(), next_carry.cpu().numpy(), vectorized

    def q_values(
        self,
        observation: np.ndarray,
        state: np.ndarray | None = None,
        episode_start: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Q-values ``(n_envs, A)`` and the next state ``(n_envs, *config.carry_shape)`` (one observation gives
        ``n_envs = 1``)."""
        q, next_state, _ = self._q_values(observation, state, episode_start)
        return q, next_state

    def predict(  # type: ignore[override]
        self,
        observation: np.ndarray,
        state: np.ndarray | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Greedy actions and the next recurrent state (RecurrentPPO's contract).

        :param observation: ``(rows, cols)`` or ``(n_envs, rows, cols)`` tokens.
        :param state: the state returned by the previous call, or None at the start.
        :param episode_start: ``(n_envs,)`` bool; True restores ``z_init`` for that env.
        :param deterministic: unused: the policy is greedy; :meth:`HRMDQN.predict` adds epsilon-greedy.
        :return: actions (``(n_envs,)``, or a scalar array for one unbatched observation) and state.
        """
        q, next_state, vectorized = self._q_values(observation, state, episode_start)
        actions = q.argmax(axis=1)
        if not vectorized:
            actions = actions.squeeze(axis=0)
        return actions, next_state


def _have_cxx() -> bool:
    """Whether torch.compile's inductor backend can find a C++ compiler (it builds its CPU kernels with one)."""
    return any(shutil.which(c) for c in (os.environ.get("CXX", ""), "c++", "g++", "clang++") if c)

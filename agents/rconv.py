"""``RConvDQN``: double DQN with a recurrent-convolution planner as its Q-network (the maze's planning baseline).

The optimal Q-function of ``RandomDoorMaze-v0`` is a shortest-path distance on a graph redrawn every episode.
Networks that learn such maps reach the whole grid by iterating one weight-tied step over it (Value Iteration
Networks, DRC, deep-thinking nets with recall; ``docs/design.md``). This is the smallest such Q-network:

- ``h_0 = relu(conv_in(x))`` on the one-hot grid ``x`` (C, H, W);
- ``K`` times: ``h <- h + relu(conv_step([h, x]))`` -- one 3x3 convolution, weights shared across iterations,
  with the observation re-injected every time ("recall"), so information moves one cell per iteration and
  ``K`` bounds how far a distance can be carried (``iterations`` >= the longest path that matters);
- optionally (``pool=True``) the mean and max of ``h`` over the grid broadcast back to every cell as two more
  inputs of the step (global context);
- the readout asks every cell the same question: a value map ``V = value_head(h)`` and per-cell action values
  ``A = action_head(h)`` (1x1 convolutions), and ``Q(a) = A_a[agent] + V[agent + delta_a]`` -- the value of
  the cell each move leads to (a move off the grid reads the agent's own cell), plus what it costs to try it.

The algorithm is :class:`agents.double_dqn.DoubleDQN` unchanged; only the policy differs, so n-step returns,
Huber loss, target copies, the curriculum, save / load and every harness command work as for ``dqn-cnn``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn
from torch.nn import functional as F

from agents.double_dqn import DoubleDQN
from hrm_mazes.core import ACTION_DELTAS, AGENT


def neighbour_table(rows: int, cols: int) -> np.ndarray:
    """``(rows * cols, 4)`` int64: the flat index of the cell each action moves to from each cell; a move off
    the grid stays on the cell (the readout then reads the agent's own value)."""
    table = np.empty((rows * cols, len(ACTION_DELTAS)), dtype=np.int64)
    for r in range(rows):
        for c in range(cols):
            for a, (dr, dc) in enumerate(ACTION_DELTAS):
                nr, nc = r + dr, c + dc
                table[r * cols + c, a] = nr * cols + nc if 0 <= nr < rows and 0 <= nc < cols else r * cols + c
    return table


class RConvQNetwork(BasePolicy):
    """Q-network: a weight-tied 3x3 convolution iterated ``iterations`` times over the grid, read out per cell.

    :param observation_space: ``Box`` (C, H, W) of one-hot planes; plane ``agent_plane`` marks the agent.
    :param action_space: ``Discrete(4)``: the moves of :data:`hrm_mazes.core.ACTION_DELTAS`.
    :param channels: hidden channels per cell.
    :param iterations: applications of the shared step (cells information can travel).
    :param recall: re-inject the observation into every step (deep-thinking nets' recall); off, the step sees
        only ``h``.
    :param pool: add the grid's mean and max of ``h`` to every step's input (global context).
    :param agent_plane: the one-hot plane that holds the agent.
    """

    action_space: spaces.Discrete

    def __init__(
        self,
        observation_space: spaces.Box,
        action_space: spaces.Discrete,
        channels: int = 16,
        iterations: int = 16,
        recall: bool = True,
        pool: bool = False,
        agent_plane: int = AGENT,
        normalize_images: bool = False,
    ) -> None:
        super().__init__(observation_space, action_space, normalize_images=normalize_images)
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 3:
            raise ValueError(
                f"the dqn-rconv Q-network needs one-hot grid observations (C, H, W) (obs_mode='onehot'), "
                f"got observation space {observation_space}"
            )
        if int(action_space.n) != len(ACTION_DELTAS):
            raise ValueError(f"the dqn-rconv readout needs the 4 moves as actions, got {action_space}")
        for name, value in (("channels", channels), ("iterations", iterations)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        in_planes, rows, cols = observation_space.shape
        if not 0 <= agent_plane < in_planes:
            raise ValueError(f"agent_plane must be in [0, {in_planes - 1}], got {agent_plane!r}")
        self.channels, self.iterations = int(channels), int(iterations)
        self.recall, self.pool, self.agent_plane = bool(recall), bool(pool), int(agent_plane)
        step_inputs = self.channels * (3 if self.pool else 1) + (in_planes if self.recall else 0)
        self.conv_in = nn.Conv2d(in_planes, self.channels, 3, padding=1)
        self.conv_step = nn.Conv2d(step_inputs, self.channels, 3, padding=1)
        self.value_head = nn.Conv2d(self.channels, 1, 1)
        self.action_head = nn.Conv2d(self.channels, len(ACTION_DELTAS), 1)
        self.register_buffer("neighbours", th.as_tensor(neighbour_table(rows, cols)), persistent=False)

    def cell_features(self, x: th.Tensor) -> th.Tensor:
        """``(B, channels, H, W)`` after the iterations, from one-hot planes ``x`` (float)."""
        h = F.relu(self.conv_in(x))
        for _ in range(self.iterations):
            inputs = [h]
            if self.pool:
                size = h.shape[-2:]
                inputs += [h.mean(dim=(2, 3), keepdim=True).expand(-1, -1, *size), h.amax(dim=(2, 3), keepdim=True).expand(-1, -1, *size)]
            if self.recall:
                inputs.append(x)
            h = h + F.relu(self.conv_step(th.cat(inputs, dim=1) if len(inputs) > 1 else h))
        return h

    def forward(self, obs: th.Tensor) -> th.Tensor:
        """``(B, 4)`` Q-values."""
        x = obs.float()
        h = self.cell_features(x)
        batch = x.shape[0]
        values = self.value_head(h).flatten(1)  # (B, H*W)
        advantages = self.action_head(h).flatten(2)  # (B, 4, H*W)
        agent = x[:, self.agent_plane].flatten(1).argmax(dim=1)  # (B,)
        at_agent = advantages.gather(2, agent.view(batch, 1, 1).expand(-1, advantages.shape[1], 1)).squeeze(2)
        return at_agent + values.gather(1, self.neighbours[agent])

    def _predict(self, observation: th.Tensor, deterministic: bool = True) -> th.Tensor:
        return self(observation).argmax(dim=1).reshape(-1)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(channels=self.channels, iterations=self.iterations, recall=self.recall, pool=self.pool, agent_plane=self.agent_plane)
        return data


class RConvQPolicy(DQNPolicy):
    """SB3 ``DQNPolicy`` whose online and target networks are :class:`RConvQNetwork`.

    :param channels, iterations, recall, pool, agent_plane: the network's sizes (:class:`RConvQNetwork`).
    :param lr_schedule, optimizer_class, optimizer_kwargs: as SB3's ``DQNPolicy``.
    """

    q_net: RConvQNetwork
    q_net_target: RConvQNetwork

    def __init__(
        self,
        observation_space: spaces.Box,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        channels: int = 16,
        iterations: int = 16,
        recall: bool = True,
        pool: bool = False,
        agent_plane: int = AGENT,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("features_extractor_class", None) is not None or kwargs.pop("net_arch", None):
            raise ValueError("dqn-rconv builds its own network: features_extractor and net_arch do not apply")
        self.rconv_kwargs = dict(channels=channels, iterations=iterations, recall=recall, pool=pool, agent_plane=agent_plane)
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[],
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            normalize_images=False,
            **kwargs,
        )

    def make_q_net(self) -> RConvQNetwork:
        return RConvQNetwork(self.observation_space, self.action_space, **self.rconv_kwargs).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        for key in ("net_arch", "features_extractor_class", "features_extractor_kwargs", "activation_fn", "normalize_images"):
            data.pop(key, None)
        data.update(self.rconv_kwargs)
        return data


class RConvDQN(DoubleDQN):
    """:class:`agents.double_dqn.DoubleDQN` with :class:`RConvQPolicy` (``"RConvQPolicy"``) as its policy."""

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"RConvQPolicy": RConvQPolicy}

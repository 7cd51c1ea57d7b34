"""``DoubleDQN``: Stable-Baselines3's ``DQN`` with the double-Q target (van Hasselt et al. 2016).

SB3 has no double DQN. This subclass changes only the TD target of :meth:`train`: the next action is the
online network's argmax, its value the target network's. Everything else (n-step returns, Huber loss,
hard target copies every ``target_update_interval`` env steps, epsilon schedule, save / load) is SB3's own.
With ``double_q=False`` it is SB3's ``DQN``, update for update.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch as th
import torch.nn.functional as F
from stable_baselines3 import DQN


class DoubleDQN(DQN):
    """SB3 ``DQN`` whose target is ``r + gamma^n * Q_target(s', argmax_a Q_online(s', a))``.

    :param double_q: use the double-Q target (default True); False gives SB3's max over the target network.
    :param args, kwargs: everything else as :class:`stable_baselines3.DQN` (``n_steps`` included).
    """

    def __init__(self, *args: Any, double_q: bool = True, **kwargs: Any) -> None:
        if not isinstance(double_q, (bool, np.bool_)):
            raise ValueError(f"double_q must be True or False, got {double_q!r}")
        self.double_q = bool(double_q)
        super().__init__(*args, **kwargs)

    def _setup_model(self) -> None:
        # A loaded n-step model comes back with replay_buffer_class=NStepReplayBuffer and its n_steps / gamma in
        # replay_buffer_kwargs, which SB3 sets up correctly but warns about as if n_steps were ignored.
        restored = self.replay_buffer_kwargs.get("n_steps") == self.n_steps
        with warnings.catch_warnings():
            if restored:
                warnings.filterwarnings("ignore", message=r"`n_steps=\d+` is ignored because a custom")
            super()._setup_model()

    def next_state_values(self, next_observations: th.Tensor) -> th.Tensor:
        """``(B, 1)`` value of the next states under the target network (double-Q: at the online argmax)."""
        next_q = self.q_net_target(next_observations)
        if self.double_q:
            best = self.q_net(next_observations).argmax(dim=1, keepdim=True)
            return th.gather(next_q, dim=1, index=best)
        return next_q.max(dim=1, keepdim=True).values

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses = []
        for _ in range(gradient_steps):
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            # n-step replay returns per-sample discounts gamma^k (k = steps until the window ended).
            discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
            with th.no_grad():
                target_q = replay_data.rewards + (1 - replay_data.dones) * discounts * self.next_state_values(
                    replay_data.next_observations
                )
            current_q = th.gather(self.q_net(replay_data.observations), dim=1, index=replay_data.actions.long())
            loss = F.smooth_l1_loss(current_q, target_q)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)))

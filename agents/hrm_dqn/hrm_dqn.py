"""``HRMDQN``: DQN with an HRM Q-network, deep supervision and a carried latent state (HRM-Agent).

What differs from Stable-Baselines3's ``DQN`` (and why):

* The network runs on **every** environment step, even when the action is random, so that the carry (the
  latent z_H / z_L handed from step to step) of each environment stays current; the carry used and the carry
  produced are stored with the transition.
* Per collection step, one minibatch is sampled and trained with ``segments`` optimizer steps (deep
  supervision), each continuing from the previous segment's detached state. The TD target is computed once
  per minibatch with the target network, run for ``segments`` segments from the stored next carry.
* By default (the paper): MSE loss, EMA target after every optimizer step (``tau=0.001``), Adam-atan2 with a
  linear learning-rate warm-up, and an epsilon schedule counted in **optimizer steps**.
* The modern DQN recipe is available as options, off by default (the paper's setting): ``n_steps`` returns,
  ``double_q``, ``loss="huber"`` and hard target copies every ``target_update_interval`` optimizer steps.
* ``predict`` keeps the recurrent state on random actions (sb3-contrib ``RecurrentPPO``'s contract), so
  ``evaluate_policy`` works unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
import torch.nn.functional as F
from stable_baselines3 import DQN
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import obs_as_tensor, update_learning_rate

import hrm_mazes  # noqa: F401  (registers the env ids, so HRMDQN("HRMQPolicy", "FourRooms-Dynamic-v0") works)
from agents.hrm_dqn.buffers import HRMReplayBuffer, HRMReplayBufferSamples
from agents.hrm_dqn.policies import HRMQPolicy

SelfHRMDQN = TypeVar("SelfHRMDQN", bound="HRMDQN")

LOSSES = ("mse", "huber")
PAPER_TAU = 0.001


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value!r}")


class HRMDQN(DQN):
    """Deep Q-learning with a Hierarchical Reasoning Model Q-network (Dang & Rawlinson 2025).

    Defaults are the paper's configuration (use 256 parallel envs to match it). Architecture knobs
    (``d_model``, ``segments``, ``carry``, ``readout``, ...) go through ``policy_kwargs``, see :class:`HRMQPolicy`.

    :param policy: ``"HRMQPolicy"`` or the class.
    :param env: a token-grid environment (``gym.Env``, env id or ``VecEnv``; any ``n_envs``).
    :param learning_rate: peak learning rate after warm-up (float or SB3 schedule), paper 1e-4.
    :param buffer_size: replay capacity in transitions, paper 1,048,576.
    :param learning_starts: env transitions collected (with random actions) before training starts.
    :param batch_size: minibatch size, paper 256.
    :param tau: EMA coefficient of the target update after every optimizer step, paper 0.001. Ignored (and
        must be left at its default) when ``target_update_interval`` is set.
    :param gamma: discount, paper 0.95.
    :param train_freq: train every ``train_freq`` collection steps (one step of every env), paper 1.
    :param gradient_steps: minibatches per training call; each gives ``segments`` optimizer steps. Paper 1.
    :param replay_buffer_class: :class:`HRMReplayBuffer` or a subclass.
    :param replay_buffer_kwargs: e.g. ``{"carry_dtype": "float32"}``.
    :param optimize_memory_usage: store each observation and carry once (see :class:`HRMReplayBuffer`).
    :param lr_warmup_steps: optimizer steps of linear learning-rate warm-up, paper 10,000.
    :param exploration_initial_eps: epsilon at optimizer step 0, paper 1.0.
    :param exploration_final_eps: epsilon after ``exploration_steps``, paper 0.33.
    :param exploration_steps: optimizer steps over which epsilon decays linearly, paper 300,000.
    :param max_grad_norm: gradient-norm clip, None (paper: no clipping).
    :param n_steps: n-step returns (positive integer; paper 1). The target bootstraps from ``s_{t+k}`` with
        ``gamma ** k`` after the discounted sum of ``k`` rewards, ``k <= n_steps`` cut at episode ends (a
        truncation bootstraps, a termination does not), as SB3's ``NStepReplayBuffer``; the target network
        starts from the carry the online network produced at ``s_{t+k-1}``.
    :param double_q: double Q-learning (paper False): the online network, run ``segments`` segments from the
        same stored next carry, picks the next action and the target network evaluates it.
    :param loss: ``"mse"`` (paper) or ``"huber"`` (smooth L1, delta 1, as SB3's ``DQN``).
    :param target_update_interval: None (paper: EMA with ``tau`` after every optimizer step) or a positive
        integer K: copy the online network into the target every K optimizer steps instead, ``tau`` ignored.
    :param stats_window_size, tensorboard_log, policy_kwargs, verbose, seed, device: as in SB3.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"HRMQPolicy": HRMQPolicy}
    policy: HRMQPolicy
    replay_buffer: HRMReplayBuffer

    def __init__(
        self,
        policy: str | type[HRMQPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-4,
        buffer_size: int = 1_048_576,
        learning_starts: int = 2_560,
        batch_size: int = 256,
        tau: float = 0.001,
        gamma: float = 0.95,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 1,
        replay_buffer_class: type[HRMReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        lr_warmup_steps: int = 10_000,
        exploration_initial_eps: float = 1.0,
        exploration_final_eps: float = 0.33,
        exploration_steps: int = 300_000,
        max_grad_norm: float | None = None,
        n_steps: int = 1,
        double_q: bool = False,
        loss: str = "mse",
        target_update_interval: int | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
            n_steps=n_steps,
            target_update_interval=target_update_interval,  # type: ignore[arg-type]
            exploration_initial_eps=exploration_initial_eps,
            exploration_final_eps=exploration_final_eps,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        for name, value, minimum in (("batch_size", batch_size, 1), ("lr_warmup_steps", lr_warmup_steps, 0),
                                     ("exploration_steps", exploration_steps, 0), ("learning_starts", learning_starts, 0)):
            _check_int(name, value, minimum)
        if not 0.0 <= tau <= 1.0:
            raise ValueError(f"tau must be in [0, 1], got {tau!r}")
        if not isinstance(double_q, bool):
            raise ValueError(f"double_q must be True or False, got {double_q!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
        if target_update_interval is not None:
            _check_int("target_update_interval", target_update_interval, 1)
            if tau != PAPER_TAU:
                raise ValueError(
                    f"target_update_interval={target_update_interval} copies the target every K optimizer steps "
                    f"and ignores tau: leave tau at its default ({PAPER_TAU}) or set target_update_interval=None "
                    f"(EMA with tau), got tau={tau!r}"
                )
        for name in ("n_steps", "gamma"):
            if name in self.replay_buffer_kwargs:
                raise ValueError(f"set {name} on HRMDQN, not in replay_buffer_kwargs (the buffer gets it from there)")
        self.lr_warmup_steps = lr_warmup_steps
        self.exploration_steps = exploration_steps
        self.max_grad_norm = max_grad_norm  # type: ignore[assignment]
        self.double_q = double_q
        self.loss = loss
        # Per-env carry of the next step, and (carry used, carry produced) of the step being collected.
        self._last_carry: np.ndarray | None = None
        self._step_carry: tuple[np.ndarray, np.ndarray] | None = None
        if _init_setup_model:
            self._setup_model()

    # --- setup ----------------------------------------------------------------------------------------------

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        # The policy first: it validates the spaces and sizes before a large buffer is allocated.
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs
        )
        self.policy = self.policy.to(self.device)
        if not isinstance(self.policy, HRMQPolicy):
            raise ValueError(f"HRMDQN needs an HRMQPolicy, got {type(self.policy).__name__}")
        if self.replay_buffer_class is None:
            self.replay_buffer_class = HRMReplayBuffer
        if not issubclass(self.replay_buffer_class, HRMReplayBuffer):
            raise ValueError(f"replay_buffer_class must subclass HRMReplayBuffer, got {self.replay_buffer_class!r}")
        if self.replay_buffer is None:
            kwargs = dict(self.replay_buffer_kwargs)
            kwargs.setdefault("carry_shape", self.policy.config.carry_shape if self.stores_carry else None)
            kwargs.update(n_steps=self.n_steps, gamma=self.gamma)
            self.replay_buffer = self.replay_buffer_class(
                self.buffer_size,
                self.observation_space,
                self.action_space,
                device=self.device,
                n_envs=self.n_envs,
                optimize_memory_usage=self.optimize_memory_usage,
                **kwargs,
            )
        self._convert_train_freq()
        self._create_aliases()
        self.exploration_rate = self.epsilon()

    @property
    def stores_carry(self) -> bool:
        """Carry Z needs the carries in the replay buffer; Reset Z always starts from ``z_init``."""
        return self.policy.carry_mode != "reset"

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
    ):
        env_will_reset = reset_num_timesteps or self._last_obs is None
        if env_will_reset:
            self._cut_unfinished_episodes()
        result = super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)
        assert self.env is not None
        if env_will_reset or self._last_carry is None or len(self._last_carry) != self.env.num_envs:
            self._last_carry = self._initial_carry(self.env.num_envs)
        return result

    def _cut_unfinished_episodes(self) -> None:
        """End the stored episodes that an env restart cuts, so that no n-step window runs into the new ones.

        They become truncations (bootstrapped from their stored next observation and carry), or terminations with
        ``optimize_memory_usage``, where the new episode overwrites that next observation (as SB3 does).
        """
        buffer = self.replay_buffer
        if buffer is None or not (buffer.full or buffer.pos > 0):
            return
        newest = (buffer.pos - 1) % buffer.buffer_size
        unfinished = buffer.dones[newest] == 0
        buffer.dones[newest, unfinished] = 1.0
        if not self.optimize_memory_usage:
            buffer.timeouts[newest, unfinished] = 1.0

    def _create_aliases(self) -> None:
        super()._create_aliases()
        self._target_pairs = (list(self.q_net_target.parameters()), list(self.q_net.parameters()))

    def _initial_carry(self, n: int) -> np.ndarray:
        return self.policy.initial_carry(n).cpu().numpy()

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_step_carry", "_target_pairs"]

    # --- schedules ------------------------------------------------------------------------------------------

    def epsilon(self, optimizer_steps: int | None = None) -> float:
        """Exploration rate after ``optimizer_steps`` (default: the current count), linear then constant."""
        steps = self._n_updates if optimizer_steps is None else optimizer_steps
        frac = 1.0 if self.exploration_steps == 0 else min(1.0, steps / self.exploration_steps)
        return self.exploration_initial_eps + frac * (self.exploration_final_eps - self.exploration_initial_eps)

    def current_learning_rate(self) -> float:
        """Learning rate of the next optimizer step: the schedule times the linear warm-up factor."""
        warmup = 1.0 if self.lr_warmup_steps == 0 else min(1.0, (self._n_updates + 1) / self.lr_warmup_steps)
        return float(self.lr_schedule(self._current_progress_remaining)) * warmup

    def _on_step(self) -> None:
        self._n_calls += 1
        self.exploration_rate = self.epsilon()
        self.logger.record("rollout/exploration_rate", self.exploration_rate)

    # --- acting ---------------------------------------------------------------------------------------------

    def _sample_action(
        self, learning_starts: int, action_noise: Any = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the online net on every env (even for random actions) and pick epsilon-greedy actions."""
        assert self._last_obs is not None and self._last_carry is not None
        obs = obs_as_tensor(self._last_obs, self.device)
        carry = th.as_tensor(self._last_carry, device=self.device)
        q, next_carry = self.policy.act(obs, carry)  # type: ignore[arg-type]
        greedy = q.argmax(dim=1).cpu().numpy()
        actions = self._epsilon_greedy(greedy, 1.0 if self.num_timesteps < learning_starts else self.exploration_rate)
        self._step_carry = (self._last_carry, next_carry.cpu().numpy())
        self.logger.record_mean("rollout/q_max_mean", float(q.max(dim=1).values.mean()))
        return actions, actions

    def _store_transition(
        self,
        replay_buffer: ReplayBuffer,
        buffer_action: np.ndarray,
        new_obs: np.ndarray,  # type: ignore[override]
        reward: np.ndarray,
        dones: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Store the transition with its carries; the next carry of a finished env is ``z_init``."""
        assert self._step_carry is not None
        if self._vec_normalize_env is not None:
            new_obs_, reward_ = self._vec_normalize_env.get_original_obs(), self._vec_normalize_env.get_original_reward()
        else:
            self._last_original_obs, new_obs_, reward_ = self._last_obs, new_obs, reward
        next_obs = np.array(new_obs_, copy=True)
        finished = np.flatnonzero(dones)
        for i in finished:
            if infos[i].get("terminal_observation") is not None:
                next_obs[i] = infos[i]["terminal_observation"]  # VecEnvs auto-reset: new_obs starts a new episode
        carry, next_carry = self._step_carry
        store = self.stores_carry
        replay_buffer.add(  # type: ignore[call-arg]
            self._last_original_obs,  # type: ignore[arg-type]
            next_obs,
            buffer_action,
            reward_,
            dones,
            infos,
            carry=carry if store else None,
            next_carry=next_carry if store else None,
        )
        self._last_obs = new_obs  # type: ignore[assignment]
        if self._vec_normalize_env is not None:
            self._last_original_obs = new_obs_
        if len(finished):
            next_carry = next_carry.copy()
            next_carry[finished] = self._initial_carry(1)
        self._last_carry = next_carry

    def predict(  # type: ignore[override]
        self,
        observation: np.ndarray,
        state: np.ndarray | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Epsilon-greedy (or greedy when ``deterministic``) actions and the next state.

        The network always runs, so the returned state is the one produced at this step even where the action
        is random. Same contract as ``RecurrentPPO.predict``: pass back ``state`` and the ``episode_start`` flags.

        :return: actions ``(n_envs,)`` (a scalar array for one unbatched observation) and state ``(n_envs, 2, d)``.
        """
        actions, state = self.policy.predict(observation, state, episode_start, deterministic=True)
        if not deterministic and self.exploration_rate > 0:
            actions = self._epsilon_greedy(np.asarray(actions), self.exploration_rate)
        return actions, state

    def _epsilon_greedy(self, greedy: np.ndarray, eps: float) -> np.ndarray:
        """Each action replaced by a uniform random one with probability ``eps`` (one coin per env)."""
        explore = np.random.random_sample(greedy.shape) < eps
        return np.where(explore, np.random.randint(self.action_space.n, size=greedy.shape), greedy)  # type: ignore[attr-defined]

    def q_values(
        self, observation: np.ndarray, state: np.ndarray | None = None, episode_start: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Q-values ``(n_envs, n_actions)`` of the online net and the next state (see :meth:`predict`)."""
        return self.policy.q_values(observation, state, episode_start)

    # --- training -------------------------------------------------------------------------------------------

    def td_target(self, data: HRMReplayBufferSamples) -> th.Tensor:
        """``R + discount * (1 - terminated) * Q_target(s', a')`` for a minibatch, ``(B, 1)``.

        ``R`` and ``discount`` are the buffer's n-step return and ``gamma ** k`` (``r`` and ``gamma`` for one
        step). Both networks run ``segments`` segments from the stored next carry; ``a'`` is the target network's
        argmax, or the online network's with ``double_q``.
        """
        n = len(data.rewards)
        next_carry = data.next_carries if data.next_carries is not None else self.q_net.initial_carry(n)
        with th.no_grad(), self.policy.autocast():
            next_q = self.q_net_target(data.next_observations, next_carry)[0].float()
            if self.double_q:
                next_action = self.q_net(data.next_observations, next_carry)[0].float().argmax(dim=1, keepdim=True)
            else:
                next_action = next_q.argmax(dim=1, keepdim=True)
        discounts = data.discounts if data.discounts is not None else self.gamma
        return data.rewards + (1.0 - data.dones) * discounts * next_q.gather(1, next_action)

    def td_loss(self, q_taken: th.Tensor, target_q: th.Tensor) -> th.Tensor:
        """Mean ``loss`` ("mse" or "huber") between ``Q(s, a)`` and the TD target."""
        if self.loss == "huber":
            return F.smooth_l1_loss(q_taken, target_q)
        return F.mse_loss(q_taken, target_q)

    def _update_target(self) -> None:
        """After each optimizer step: the EMA with ``tau``, or a hard copy every ``target_update_interval``."""
        if self.target_update_interval is None:
            self._ema_update()
        elif self._n_updates % self.target_update_interval == 0:
            with th.no_grad():
                th._foreach_copy_(*self._target_pairs)

    def _ema_update(self) -> None:
        with th.no_grad():
            th._foreach_lerp_(*self._target_pairs, self.tau)

    def train(self, gradient_steps: int, batch_size: int = 256) -> None:
        """For each of ``gradient_steps`` minibatches: one TD target, then ``segments`` optimizer steps."""
        self.policy.set_training_mode(True)
        net, optimizer = self.q_net, self.policy.optimizer
        segments = self.policy.config.segments
        losses, q_taken = [], []
        last_losses = []
        for _ in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            target_q = self.td_target(data)
            carry = data.carries if data.carries is not None else net.initial_carry(batch_size)
            z_H, z_L = net.broadcast(carry)
            actions = data.actions.long().reshape(-1, 1)
            for _segment in range(segments):
                update_learning_rate(optimizer, self.current_learning_rate())
                with self.policy.autocast():
                    z_H, z_L = net.segment(z_H, z_L, net.embed_tokens(data.observations))
                    q = net.q_values(z_H, data.observations)
                q_a = q.float().gather(1, actions)
                loss = self.td_loss(q_a, target_q)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self.max_grad_norm is not None:
                    th.nn.utils.clip_grad_norm_(net.parameters(), self.max_grad_norm)
                optimizer.step()
                self._n_updates += 1
                self._update_target()
                z_H, z_L = z_H.detach(), z_L.detach()
                losses.append(loss.detach())
            last_losses.append(losses[-1])
            q_taken.append(q_a.detach())

        q_all = th.cat(q_taken)
        self.exploration_rate = self.epsilon()
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/learning_rate", self.current_learning_rate())
        self.logger.record("train/loss", float(th.stack(losses).mean()))
        self.logger.record("train/loss_last_segment", float(th.stack(last_losses).mean()))
        self.logger.record("train/q_mean", float(q_all.mean()))
        self.logger.record("train/q_max", float(q_all.max()))
        self.logger.record("train/target_q_mean", float(target_q.mean()))

    def learn(
        self: SelfHRMDQN,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "HRMDQN",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfHRMDQN:
        """SB3's ``learn``; TensorBoard runs are named ``HRMDQN_<n>`` by default."""
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)


"""The Stable-Baselines3 adapter (``hrm_mazes.sb3``): SB3's VecEnv contract on the batched env (reset obs on
done, ``terminal_observation``, ``TimeLimit.truncated``), attribute plumbing, seeding, and DQN / PPO training."""

from __future__ import annotations

import copy
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from gymnasium.vector import AutoresetMode  # noqa: E402
from stable_baselines3.common.vec_env import VecEnv, VecMonitor  # noqa: E402

import hrm_mazes  # noqa: E402,F401
from hrm_mazes import core  # noqa: E402
from hrm_mazes.sb3 import SB3VecEnv, make_sb3_vec_env  # noqa: E402

ENV_IDS = ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0")
MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED)


def tokens_of(venv, idx) -> np.ndarray:
    """Observation tokens of envs ``idx`` rebuilt from the batched env's state with core's painter."""
    tokens = core.token_grid(
        venv.layout,
        venv.fixed_walls[idx],
        venv.closed_doors[idx],
        venv.start_pos[idx],
        venv.goal_pos[idx],
        venv.agent_pos[idx],
        venv.distinct_doors,
    )
    rows, cols = venv.layout.obs_window
    return tokens[:, rows, cols]


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("mode", MODES)
def test_vecenv_contract_terminal_observation_and_time_limit(env_id, mode):
    venv = gym.make_vec(
        env_id, num_envs=12, vectorization_mode="vector_entry_point", autoreset_mode=mode, max_episode_steps=6
    )
    base = venv.unwrapped
    adapter = SB3VecEnv(venv)
    assert isinstance(adapter, VecEnv) and adapter.num_envs == 12
    assert adapter.observation_space == base.single_observation_space
    adapter.seed(3)
    obs = adapter.reset()
    assert obs.shape == (12, *base.single_observation_space.shape)
    assert len(adapter.reset_infos) == 12 and adapter.reset_infos[0]["agent_pos"] == tuple(base.start_pos[0])

    # Snapshot each finished env's state just before it is reset (independently of the env's obs code).
    last = {}
    original = base._reset_envs

    def snapshot(idx, *args, **kwargs):
        last["tokens"], last["idx"] = tokens_of(base, idx), np.asarray(idx)
        return original(idx, *args, **kwargs)

    base._reset_envs = snapshot
    rng = np.random.default_rng(0)
    finished = truncations = 0
    for _ in range(40):
        last.clear()
        actions = rng.integers(0, 4, size=12)
        before = base.elapsed_steps.copy()
        obs, rewards, dones, infos = adapter.step(actions)
        assert rewards.dtype == np.float32 and dones.dtype == np.bool_ and len(infos) == 12
        np.testing.assert_array_equal(obs, tokens_of(base, np.arange(12)))  # always the current episode's obs
        for i in range(12):
            info = infos[i]
            assert set(info) >= {
                "agent_pos",
                "goal_pos",
                "is_success",
                "doors_changed",
                "shortest_path",
                "TimeLimit.truncated",
            }
            if not dones[i]:
                assert "terminal_observation" not in info and info["TimeLimit.truncated"] is False
                continue
            finished += 1
            j = int(np.flatnonzero(last["idx"] == i)[0])
            np.testing.assert_array_equal(info["terminal_observation"], last["tokens"][j])
            reached = info["is_success"]
            assert info["TimeLimit.truncated"] == (not reached and before[i] + 1 == 6)
            truncations += info["TimeLimit.truncated"]
            # The returned obs is the new episode's first one; its info is kept in reset_infos.
            assert base.elapsed_steps[i] == 0 and tuple(base.agent_pos[i]) == tuple(base.start_pos[i])
            assert adapter.reset_infos[i]["agent_pos"] == tuple(base.start_pos[i])
    assert finished >= 12 * 5 and truncations > 0


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_same_seed_same_rollout_through_the_adapter(mode):
    def run(seed):
        adapter = make_sb3_vec_env("RandomDoorMaze-v0", 8, seed=seed, autoreset_mode=mode)
        out = [adapter.reset()]
        rng = np.random.default_rng(0)
        for _ in range(100):
            obs, rew, done, infos = adapter.step(rng.integers(0, 4, size=8))
            out += [obs, rew, done, np.array([i["shortest_path"] for i in infos])]
        return out

    for a, b in zip(run(1), run(1), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(run(1), run(2), strict=True))


def test_attribute_plumbing():
    adapter = make_sb3_vec_env("FourRooms-Dynamic-v0", 4, seed=0)
    adapter.reset()
    assert adapter.get_attr("p_change") == [0.05] * 4
    assert adapter.get_attr("p_change", indices=[1, 2]) == [0.05] * 2
    rows = adapter.get_attr("closed_doors")
    assert len(rows) == 4 and rows[0].shape == (4,)
    adapter.set_attr("p_change", 0.5)
    assert adapter.unwrapped.venv.unwrapped.p_change == 0.5
    with pytest.raises(ValueError, match="shared"):
        adapter.set_attr("p_change", 0.1, indices=[0])
    lengths = adapter.env_method("distance_to_goal")
    assert len(lengths) == 4 and lengths[0].shape == (13, 13)
    assert adapter.env_is_wrapped(gym.Wrapper) == [False] * 4
    assert adapter.has_attr("layout") and adapter.render_mode is None
    frames = make_sb3_vec_env("FourRooms-Dynamic-v0", 4, render_mode="rgb_array", tile_size=4)
    frames.reset()
    assert len(frames.get_images()) == 4
    with pytest.raises(TypeError, match="batched env"):
        SB3VecEnv(gym.make_vec("FourRooms-Dynamic-v0", num_envs=2, vectorization_mode="sync"))


def _parameters(module) -> list:
    return [p.detach().clone() for p in module.parameters()]


def test_dqn_and_ppo_train_on_the_batched_env():
    """The fast layer's smoke run: both algorithms collect through the adapter and update their networks (the
    two slow tests below check that those updates learn)."""
    from stable_baselines3 import DQN, PPO

    dqn = DQN(
        "MlpPolicy", make_sb3_vec_env("FourRooms-Dynamic-v0", 4, seed=0), learning_starts=16, train_freq=1,
        batch_size=8, seed=0, device="cpu",
    )
    before = _parameters(dqn.q_net)
    dqn.learn(total_timesteps=48)
    assert dqn.num_timesteps >= 48 and dqn._n_updates > 0
    assert any(not (a == b).all() for a, b in zip(before, _parameters(dqn.q_net), strict=True))
    ppo = PPO(
        "MlpPolicy", make_sb3_vec_env("RandomDoorMaze-v0", 4, seed=0, obs_mode="onehot"), n_steps=8, batch_size=32,
        n_epochs=1, seed=0, device="cpu",
    )
    before = _parameters(ppo.policy)
    ppo.learn(total_timesteps=32)
    assert ppo.num_timesteps >= 32
    assert any(not (a == b).all() for a, b in zip(before, _parameters(ppo.policy), strict=True))


@pytest.mark.slow
def test_dqn_learns_on_the_batched_env():
    """DQN trains through the adapter: its Q-network moves onto the TD targets of what it collected (the target
    network is frozen here, so the targets are fixed), far closer than the untrained network is."""
    import torch as th
    from stable_baselines3 import DQN

    venv = VecMonitor(make_sb3_vec_env("FourRooms-Dynamic-v0", 4, seed=0))
    model = DQN(
        "MlpPolicy",
        venv,
        learning_starts=40,
        buffer_size=1_000,
        train_freq=1,
        batch_size=32,
        learning_rate=1e-3,
        target_update_interval=10**9,
        seed=0,
        device="cpu",
    )
    untrained = copy.deepcopy(model.q_net)
    model.learn(total_timesteps=240)
    assert model.num_timesteps >= 240 and model._n_updates >= 40
    data = model.replay_buffer._get_samples(np.arange(model.replay_buffer.size()))
    rewards = data.rewards.flatten()
    allowed = np.array([core.REWARD_BLOCKED, core.REWARD_STEP, core.REWARD_GOAL], dtype=np.float32)
    assert np.isin(rewards.numpy(), allowed).all()
    assert (rewards == np.float32(core.REWARD_BLOCKED)).any()  # the env's blocked-move penalty reached the buffer
    with th.no_grad():
        next_q = model.q_net_target(data.next_observations).max(dim=1).values
        target = rewards + model.gamma * (1 - data.dones.flatten()) * next_q

        def td_error(q_net) -> float:
            return float(((q_net(data.observations).gather(1, data.actions.long()).flatten() - target) ** 2).mean())

        assert td_error(model.q_net) < 0.25 * td_error(untrained)
    actions, _ = model.predict(venv.reset(), deterministic=True)
    assert actions.shape == (4,)


@pytest.mark.slow
def test_ppo_learns_on_the_batched_env():
    """PPO trains through the adapter: its value estimates move toward the returns it observed."""
    import torch as th
    from stable_baselines3 import PPO

    venv = make_sb3_vec_env("RandomDoorMaze-v0", 8, seed=0, obs_mode="onehot")
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=64, n_epochs=4, learning_rate=1e-3, seed=0, device="cpu")
    untrained = copy.deepcopy(model.policy)
    model.learn(total_timesteps=256)
    assert model.num_timesteps >= 256
    rollout = model.rollout_buffer  # the last rollout, which the last update trained on
    obs = th.as_tensor(rollout.observations.reshape(-1, *rollout.obs_shape))
    returns = th.as_tensor(rollout.returns.reshape(-1))
    with th.no_grad():

        def value_error(policy) -> float:
            return float(((policy.predict_values(obs).flatten() - returns) ** 2).mean())

        assert value_error(model.policy) < 0.25 * value_error(untrained)


def test_importing_the_package_does_not_import_sb3():
    code = "import sys, hrm_mazes, hrm_mazes.vector, hrm_mazes.oracle; assert 'stable_baselines3' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)

"""HRMQPolicy and HRMDQN: the SB3 contract, carried latent state (carry), deep supervision, targets, save/load, learning.

Over 450 lines on purpose: one file for the policy + algorithm pair, in sections (construction, carry, training,
DQN options, SB3 contract, learning) that share the tiny model and env helpers at the top.
"""

import dataclasses
import inspect
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor

import hrm_mazes  # noqa: F401
from agents.hrm_dqn import HRMDQN
from agents.hrm_dqn.model import HRM, HRMConfig
from agents.hrm_dqn.policies import DERIVED_FIELDS, HRMQPolicy
from hrm_mazes import core

TINY = dict(d_model=16, num_heads=2, H_layers=1, L_layers=1, H_cycles=1, L_cycles=1, segments=2, expansion=2.0,
            mlp_multiple=16)

th.set_num_threads(1)


def four_rooms(n_envs: int = 2, **env_kwargs) -> DummyVecEnv:
    def make():
        return Monitor(gym.make("FourRooms-Dynamic-v0", **env_kwargs))

    venv = DummyVecEnv([make] * n_envs)
    venv.seed(0)
    return venv


def tiny_model(env, **kwargs) -> HRMDQN:
    policy_kwargs = {**TINY, **kwargs.pop("policy_kwargs", {})}
    defaults = dict(buffer_size=600, learning_starts=16, batch_size=8, seed=0, device="cpu")
    return HRMDQN("HRMQPolicy", env, policy_kwargs=policy_kwargs, **{**defaults, **kwargs})


class OpenRoom(gym.Env):
    """5x5 room, fixed start (0, 0) and goal (4, 4): the smallest maze where learning is visible."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(0, core.NUM_TOKENS - 1, (5, 5), np.uint8)
        self.action_space = spaces.Discrete(4)
        self.pos = (0, 0)

    def _obs(self) -> np.ndarray:
        obs = np.full((5, 5), core.FLOOR, np.uint8)
        obs[0, 0], obs[4, 4] = core.START, core.GOAL
        obs[self.pos] = core.AGENT
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = (0, 0)
        return self._obs(), {}

    def step(self, action):
        r, c = self.pos[0] + core.ACTION_DELTAS[action][0], self.pos[1] + core.ACTION_DELTAS[action][1]
        reward = core.REWARD_BLOCKED
        if 0 <= r < 5 and 0 <= c < 5:
            self.pos, reward = (int(r), int(c)), core.REWARD_STEP
        success = self.pos == (4, 4)
        return self._obs(), core.REWARD_GOAL if success else reward, success, False, {"is_success": success}


# --- construction ---------------------------------------------------------------------------------------


def test_import_agents_does_not_import_torch():
    code = "import sys, agents; assert 'torch' not in sys.modules; from agents import HRMDQN; print(HRMDQN.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "HRMDQN"


def test_paper_defaults():
    algo = inspect.signature(HRMDQN.__init__).parameters
    expected = dict(learning_rate=1e-4, buffer_size=1_048_576, batch_size=256, tau=0.001, gamma=0.95, train_freq=1,
                    gradient_steps=1, lr_warmup_steps=10_000, exploration_initial_eps=1.0,
                    exploration_final_eps=0.33, exploration_steps=300_000, max_grad_norm=None, n_steps=1,
                    double_q=False, loss="mse", target_update_interval=None)
    for name, value in expected.items():
        assert algo[name].default == value, name
    policy = inspect.signature(HRMQPolicy.__init__).parameters
    expected = dict(d_model=64, num_heads=2, H_layers=4, L_layers=4, H_cycles=2, L_cycles=2, segments=8,
                    expansion=4.0, mlp_multiple=256, rope_theta=10000.0, rms_norm_eps=1e-5, readout="last",
                    carry="last_token")
    for name, value in expected.items():
        assert policy[name].default == value, name
    # The policy's architecture kwargs are HRMConfig's fields, with HRMConfig's defaults.
    config_defaults = {f.name: f.default for f in dataclasses.fields(HRMConfig) if f.name not in DERIVED_FIELDS}
    assert {name: policy[name].default for name in config_defaults} == config_defaults
    model = HRMDQN("HRMQPolicy", gym.make("FourRooms-Dynamic-v0"), buffer_size=1000, device="cpu")
    assert type(model.policy.optimizer).__name__ == "AdamAtan2"
    assert model.policy.optimizer.defaults["weight_decay"] == 0.0
    assert sum(p.numel() for p in model.q_net.parameters()) == 525_056
    assert model.epsilon(0) == 1.0 and model.epsilon(150_000) == pytest.approx(0.665)
    assert model.epsilon(300_000) == pytest.approx(0.33) and model.epsilon(10**7) == pytest.approx(0.33)
    model._n_updates = 4_999
    assert model.current_learning_rate() == pytest.approx(0.5e-4)
    model._n_updates = 50_000
    assert model.current_learning_rate() == pytest.approx(1e-4)
    # The EMA target starts as a copy of the online network.
    for p, q in zip(model.q_net.parameters(), model.q_net_target.parameters(), strict=True):
        assert th.equal(p, q)


@pytest.mark.parametrize(
    "env_kwargs, policy_kwargs, match",
    [
        (dict(obs_mode="onehot"), {}, "token-grid"),
        (dict(obs_mode="rgb", tile_size=4), {}, "token-grid"),
        ({}, dict(d_model=30, num_heads=4), "divisible"),
        ({}, dict(carry="sometimes"), "carry"),
        ({}, dict(readout="middle"), "readout"),
    ],
)
def test_bad_input_fails_at_construction(env_kwargs, policy_kwargs, match):
    env = gym.make("FourRooms-Dynamic-v0", **env_kwargs)
    with pytest.raises(ValueError, match=match):
        HRMDQN("HRMQPolicy", env, buffer_size=100, policy_kwargs={**TINY, **policy_kwargs})


def test_bad_state_shape_is_a_clear_error():
    env = four_rooms(2)
    model = tiny_model(env)
    with pytest.raises(ValueError, match="state must be"):
        model.predict(env.reset(), state=np.zeros((3, 2, 16), np.float32))


# --- carry semantics ------------------------------------------------------------------------------------


def test_carry_z_carry_changes_and_resets_exactly_at_episode_starts():
    env = four_rooms(2)
    model = tiny_model(env)
    init = model.policy.initial_carry(2).numpy()
    obs = env.reset()
    _, state = model.predict(obs, state=None, episode_start=np.ones(2, bool), deterministic=True)
    assert not np.allclose(state, init)
    # Starting from the same state with episode_start=True equals starting fresh; False carries it.
    _, fresh = model.predict(obs, state=None, deterministic=True)
    _, restarted = model.predict(obs, state=state, episode_start=np.ones(2, bool), deterministic=True)
    _, carried = model.predict(obs, state=state, episode_start=np.zeros(2, bool), deterministic=True)
    np.testing.assert_array_equal(restarted, fresh)
    assert not np.allclose(carried, fresh)
    # Only env 1 restarts.
    _, mixed = model.predict(obs, state=state, episode_start=np.array([False, True]), deterministic=True)
    np.testing.assert_array_equal(mixed[0], carried[0])
    np.testing.assert_array_equal(mixed[1], fresh[1])
    # Q-values depend on the carry.
    q_fresh, _ = model.q_values(obs)
    q_carried, _ = model.q_values(obs, state=state, episode_start=np.zeros(2, bool))
    assert not np.allclose(q_fresh, q_carried)


def test_grid_carry_is_every_token_and_resets_exactly_at_episode_starts(tmp_path):
    """carry="grid" hands on (n_envs, 2, S, d); episode_start restores z_init per env; the buffer stores it; a
    short training with local attention runs and survives save / load."""
    env = four_rooms(2)
    model = tiny_model(env, policy_kwargs=dict(carry="grid", attention="local", readout="neighbours"))
    shape = (2, 2, 1 + 11 * 11, 16)
    init = model.policy.initial_carry(2).numpy()
    assert init.shape == shape
    obs = env.reset()
    _, state = model.predict(obs, state=None, deterministic=True)
    assert state.shape == shape and not np.allclose(state, init)
    _, fresh = model.predict(obs, state=None, deterministic=True)
    _, mixed = model.predict(obs, state=state, episode_start=np.array([False, True]), deterministic=True)
    _, carried = model.predict(obs, state=state, episode_start=np.zeros(2, bool), deterministic=True)
    np.testing.assert_array_equal(mixed[0], carried[0])
    np.testing.assert_array_equal(mixed[1], fresh[1])
    with pytest.raises(ValueError, match=r"state must be .*tokens"):
        model.predict(obs, state=np.zeros((2, 2, 16), np.float32))
    model.learn(60)
    assert model._n_updates > 0 and model.replay_buffer.carries.shape[2:] == shape[1:]
    model.save(tmp_path / "grid.zip")
    loaded = HRMDQN.load(tmp_path / "grid.zip", device="cpu")
    assert loaded.policy.carry_mode == "grid" and loaded.policy.config.attention == "local"
    q1, s1 = model.q_values(obs, state)
    q2, s2 = loaded.q_values(obs, state)
    np.testing.assert_array_equal(q1, q2)
    np.testing.assert_array_equal(s1, s2)


def test_reset_z_never_carries():
    env = four_rooms(2)
    model = tiny_model(env, policy_kwargs=dict(carry="reset"))
    init = model.policy.initial_carry(2).numpy()
    obs = env.reset()
    state = None
    for _ in range(3):
        _, state = model.predict(obs, state=state, episode_start=np.zeros(2, bool))
        np.testing.assert_array_equal(state, init)
        obs, *_ = env.step(np.array([0, 1]))
    q_a, _ = model.q_values(obs, state=np.random.randn(2, 2, 16).astype(np.float32))
    q_b, _ = model.q_values(obs)
    np.testing.assert_array_equal(q_a, q_b)


def test_predict_with_random_exploration_still_advances_the_state():
    env = four_rooms(3)
    model = tiny_model(env)
    model.exploration_rate = 1.0
    obs = env.reset()
    _, greedy_state = model.predict(obs, deterministic=True)
    actions, random_state = model.predict(obs, deterministic=False)
    np.testing.assert_array_equal(random_state, greedy_state)
    assert actions.shape == (3,)
    single_action, single_state = model.predict(obs[0])
    assert single_action.shape == () and single_state.shape == (1, 2, 16)


@pytest.mark.parametrize("n_envs", [1, 3])
def test_collected_carries_are_the_ones_used_and_produced(n_envs):
    """During learn(): stored carries chain step to step, restart at episode starts, and match the network."""
    env = four_rooms(n_envs)
    model = tiny_model(env, learning_starts=10_000, replay_buffer_kwargs=dict(carry_dtype="float32"))
    model.learn(150 * n_envs)  # warm-up only: the network is fixed, actions are random
    buf = model.replay_buffer
    init = model.policy.initial_carry(1).numpy()[0]
    steps = buf.pos
    for e in range(n_envs):
        np.testing.assert_array_equal(buf.carries[0, e], init)
        for t in range(steps - 1):
            expected = init if buf.dones[t, e] else buf.next_carries[t, e]
            np.testing.assert_array_equal(buf.carries[t + 1, e], expected)
        assert buf.dones[:steps, e].sum() >= 1, "an episode ended (80-step limit)"
    q, next_carry = model.policy.act(th.as_tensor(buf.observations[:steps, 0]), th.as_tensor(buf.carries[:steps, 0]))
    np.testing.assert_allclose(next_carry.numpy(), buf.next_carries[:steps, 0], atol=1e-5)


# --- training -------------------------------------------------------------------------------------------


def test_target_uses_the_stored_next_carry():
    env = four_rooms(2)
    model = tiny_model(env, gamma=0.9)
    model.learn(40)
    data = model.replay_buffer.sample(8)
    target = model.td_target(data)
    with th.no_grad():
        next_q, _ = model.q_net_target(data.next_observations, data.next_carries)
    expected = data.rewards + 0.9 * (1 - data.dones) * next_q.max(dim=1, keepdim=True).values
    th.testing.assert_close(target, expected)
    other = data._replace(next_carries=th.randn_like(data.next_carries))
    assert not th.allclose(model.td_target(other), target)
    terminal = data._replace(dones=th.ones_like(data.dones))
    th.testing.assert_close(model.td_target(terminal), data.rewards)


def test_deep_supervision_one_minibatch_segments_steps_ema_after_each():
    env = four_rooms(2)
    model = tiny_model(env, policy_kwargs=dict(segments=3), tau=0.05)
    model.learn(20)  # fills the buffer, trains a little
    counts = dict(sample=0, target=0, step=0, ema=0, loss=0)
    sample, td_target, step, ema = model.replay_buffer.sample, model.td_target, model.policy.optimizer.step, \
        model._ema_update
    online = list(model.q_net.parameters())
    target = list(model.q_net_target.parameters())

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    def checked_ema():
        before = [p.detach().clone() for p in target]
        assert counts["ema"] == counts["step"] - 1, "one EMA update right after every optimizer step"
        counts["ema"] += 1
        ema()
        for old, new, src in zip(before, target, online, strict=True):
            th.testing.assert_close(new, old + 0.05 * (src - old), rtol=0, atol=1e-7)

    model.replay_buffer.sample = counted("sample", sample)
    model.td_target = counted("target", td_target)
    model.policy.optimizer.step = counted("step", step)
    model._ema_update = checked_ema
    model.td_loss = counted("loss", model.td_loss)
    n0 = model._n_updates
    model.train(gradient_steps=2, batch_size=8)
    assert counts == dict(sample=2, target=2, step=6, ema=6, loss=6)
    assert model._n_updates == n0 + 6


def test_ema_update_is_exact():
    model = tiny_model(four_rooms(1), tau=0.25)
    with th.no_grad():
        for p in model.q_net.parameters():
            p.add_(1.0)
    old = [p.detach().clone() for p in model.q_net_target.parameters()]
    model._ema_update()
    for o, new, src in zip(old, model.q_net_target.parameters(), model.q_net.parameters(), strict=True):
        th.testing.assert_close(new, 0.75 * o + 0.25 * src, rtol=0, atol=1e-6)


def test_training_mode_flips_the_online_net_and_leaves_the_target_in_eval_mode():
    model = tiny_model(four_rooms(1))
    policy = model.policy
    for mode in (True, False, True):
        policy.set_training_mode(mode)
        assert policy.training is mode and all(m.training is mode for m in policy.q_net.modules())
        assert not any(m.training for m in policy.q_net_target.modules())
    model.learn(40)  # SB3 sets it both ways on every collection step
    assert not any(m.training for m in policy.q_net_target.modules())
    model.predict(model.env.reset())
    assert not any(m.training for m in policy.modules())


def test_logged_metrics(tmp_path):
    env = four_rooms(2)
    model = tiny_model(env, learning_starts=8)
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(120, log_interval=1)
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    for key in ("train/loss", "train/q_mean", "train/learning_rate", "rollout/exploration_rate",
                "rollout/success_rate", "rollout/ep_len_mean", "rollout/q_max_mean"):
        assert key in header, key


def test_tensorboard(tmp_path):
    model = tiny_model(four_rooms(1), tensorboard_log=str(tmp_path))
    model.learn(30, tb_log_name="tiny")
    assert list(tmp_path.glob("tiny_1/events.out.tfevents.*"))


# --- DQN options (n-step, double Q, Huber, hard target copies) -------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_steps=0), "n_steps must be a positive integer"),
        (dict(n_steps=2.5), "n_steps must be a positive integer"),
        (dict(double_q="yes"), "double_q must be True or False"),
        (dict(loss="l1"), r"loss must be one of \['mse', 'huber'\]"),
        (dict(target_update_interval=0), "target_update_interval must be a positive integer"),
        (dict(target_update_interval=100, tau=0.05), "ignores tau"),
        (dict(replay_buffer_kwargs=dict(n_steps=3)), "set n_steps on HRMDQN"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_model(four_rooms(1), **kwargs)


def test_n_steps_reach_the_buffer_and_the_target():
    model = tiny_model(four_rooms(2), n_steps=3, gamma=0.9)
    model.learn(60)
    assert (model.replay_buffer.n_steps, model.replay_buffer.gamma) == (3, 0.9)
    data = model.replay_buffer.sample(64)
    assert set(np.round(data.discounts.flatten().tolist(), 6)) <= {0.9, 0.81, 0.729}
    assert th.any(data.discounts == th.tensor(0.9**3)), "most windows have 3 steps"
    with th.no_grad():
        next_q, _ = model.q_net_target(data.next_observations, data.next_carries)
    expected = data.rewards + (1 - data.dones) * data.discounts * next_q.max(dim=1, keepdim=True).values
    th.testing.assert_close(model.td_target(data), expected)


@pytest.mark.parametrize("optimize", [False, True])
def test_a_new_learn_call_ends_the_stored_episodes(optimize):
    """The envs restart, so no n-step window may run from the old episodes into the new ones."""
    model = tiny_model(four_rooms(2), n_steps=3, optimize_memory_usage=optimize)
    model.learn(30)
    buffer = model.replay_buffer
    newest, unfinished = buffer.pos - 1, buffer.dones[buffer.pos - 1] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3's own warning about cutting the trajectory
        model.learn(30)
    assert np.all(buffer.dones[newest] == 1)
    assert np.all(buffer.timeouts[newest][unfinished] == (0 if optimize else 1)), "a truncation, or a termination"


def test_double_q_picks_with_the_online_net_and_evaluates_with_the_target():
    model = tiny_model(four_rooms(2), double_q=True, gamma=0.9)
    model.learn(40)
    with th.no_grad():
        for p in model.q_net.parameters():
            p.add_(0.3 * th.randn_like(p))  # online and target now disagree
    data = model.replay_buffer.sample(64)
    with th.no_grad():
        online_q, _ = model.q_net(data.next_observations, data.next_carries)
        target_q, _ = model.q_net_target(data.next_observations, data.next_carries)
    bootstrap = 0.9 * (1 - data.dones)
    double = data.rewards + bootstrap * target_q.gather(1, online_q.argmax(dim=1, keepdim=True))
    vanilla = data.rewards + bootstrap * target_q.max(dim=1, keepdim=True).values
    assert not th.allclose(double, vanilla)
    th.testing.assert_close(model.td_target(data), double)
    model.double_q = False
    th.testing.assert_close(model.td_target(data), vanilla)


def test_huber_loss():
    q, target = th.zeros(2, 1), th.tensor([[10.0], [0.5]])
    assert tiny_model(four_rooms(1), loss="huber").td_loss(q, target).item() == pytest.approx((9.5 + 0.125) / 2)
    assert tiny_model(four_rooms(1)).td_loss(q, target).item() == pytest.approx((100 + 0.25) / 2)


def test_target_update_interval_copies_every_k_optimizer_steps_and_no_ema():
    model = tiny_model(four_rooms(2), target_update_interval=3, learning_starts=10**6, lr_warmup_steps=0,
                       learning_rate=1e-2, policy_kwargs=dict(segments=2))
    model.learn(20)  # fills the buffer, no training
    initial = [p.detach().clone() for p in model.q_net_target.parameters()]
    synced = []
    update_target = model._update_target

    def recorded():
        update_target()
        synced.append(all(th.equal(t, o) for t, o in zip(model.q_net_target.parameters(), model.q_net.parameters(),
                                                          strict=True)))
        if model._n_updates < 3:
            assert all(th.equal(t, i) for t, i in zip(model.q_net_target.parameters(), initial, strict=True))

    model._update_target = recorded
    model.train(gradient_steps=3, batch_size=8)  # 6 optimizer steps: copies after steps 3 and 6
    assert synced == [False, False, True, False, False, True]


# --- SB3 contract ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("readout", ["agent", "neighbours"])
def test_save_load_round_trip(tmp_path, readout):
    env = four_rooms(2)
    options = dict(n_steps=2, double_q=True, loss="huber", target_update_interval=5)
    model = tiny_model(env, policy_kwargs=dict(readout=readout, pos_encodings="rope+learned"), **options)
    model.learn(60)
    assert model._n_updates > 0
    path = tmp_path / "hrm.zip"
    model.save(path)
    loaded = HRMDQN.load(path, env=None, device="cpu")
    obs = env.reset()
    state = np.random.default_rng(0).normal(size=(2, 2, 16)).astype(np.float32)
    for s in (None, state):
        q1, s1 = model.q_values(obs, s)
        q2, s2 = loaded.q_values(obs, s)
        np.testing.assert_array_equal(q1, q2)
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_array_equal(model.predict(obs, s, deterministic=True)[0],
                                      loaded.predict(obs, s, deterministic=True)[0])
    assert loaded.policy.config == model.policy.config and loaded.policy.carry_mode == model.policy.carry_mode
    assert loaded._n_updates == model._n_updates and loaded.exploration_rate == model.exploration_rate
    assert {name: getattr(loaded, name) for name in options} == options and loaded.replay_buffer.n_steps == 2
    assert loaded.replay_buffer.size() == 0, "the replay buffer is not saved unless asked"
    for a, b in zip(model.policy.optimizer.state_dict()["state"].values(),
                    loaded.policy.optimizer.state_dict()["state"].values(), strict=True):
        th.testing.assert_close(a["exp_avg"], b["exp_avg"])
    for p, q in zip(model.q_net_target.parameters(), loaded.q_net_target.parameters(), strict=True):
        assert th.equal(p, q)
    model.save_replay_buffer(tmp_path / "replay.pkl")  # only when asked
    loaded.load_replay_buffer(tmp_path / "replay.pkl")
    assert loaded.replay_buffer.size() == model.replay_buffer.size() > 0
    np.testing.assert_array_equal(loaded.replay_buffer.carries, model.replay_buffer.carries)
    loaded.set_env(env)
    loaded.learn(20, reset_num_timesteps=False)  # training continues


def test_acting_segments_run_that_many_segments_and_restore(monkeypatch):
    model = tiny_model(four_rooms(2), policy_kwargs=dict(segments=2))
    obs = model.get_env().reset()
    net = model.policy.q_net
    ran = []
    segment = net.segment
    monkeypatch.setattr(net, "segment", lambda *args: ran.append(1) or segment(*args))
    q2, _ = model.q_values(obs)
    model.policy.set_acting_segments(5)
    q5, _ = model.q_values(obs)
    model.policy.set_acting_segments(None)
    q_again, _ = model.q_values(obs)
    assert len(ran) == 2 + 5 + 2
    np.testing.assert_array_equal(q2, q_again)
    assert not np.allclose(q2, q5)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="segments must be a positive integer"):
            model.policy.set_acting_segments(bad)


def test_loads_with_a_zero_learning_rate_as_rl_zoo_enjoy_does(tmp_path):
    """rl_zoo3.enjoy loads with learning_rate 0 (no training); Adam-atan2 alone refuses lr = 0 at construction."""
    env = four_rooms(2)
    model = tiny_model(env)
    model.save(tmp_path / "hrm.zip")
    loaded = HRMDQN.load(tmp_path / "hrm.zip", device="cpu",
                         custom_objects={"learning_rate": 0.0, "lr_schedule": lambda _: 0.0})  # fmt: skip
    obs = env.reset()
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


@pytest.mark.parametrize("n_envs", [1, 3])
def test_evaluate_policy_works_unchanged(n_envs):
    env = four_rooms(n_envs)
    model = tiny_model(env)
    rewards, lengths = evaluate_policy(model, env, n_eval_episodes=4, return_episode_rewards=True)
    assert len(rewards) == len(lengths) == 4


def test_works_with_subproc_vec_env():
    env = SubprocVecEnv([lambda: Monitor(gym.make("hrm_mazes:RandomDoorMaze-v0"))] * 2, start_method="fork")
    try:
        model = tiny_model(env, learning_starts=10)
        model.learn(40)
        assert model.policy.config.grid_shape == (11, 13)
        assert model._n_updates > 0
    finally:
        env.close()


def test_works_with_the_suite_batched_vec_env():
    sb3_adapter = pytest.importorskip("hrm_mazes.sb3")
    env = VecMonitor(sb3_adapter.make_sb3_vec_env("FourRooms-Dynamic-v0", num_envs=4, seed=0))
    model = tiny_model(env, learning_starts=16)
    model.learn(200)
    assert model._n_updates > 0 and model.replay_buffer.dones[: model.replay_buffer.pos].sum() >= 1
    rewards, _ = evaluate_policy(model, env, n_eval_episodes=4, return_episode_rewards=True)
    assert len(rewards) == 4


def test_env_id_and_single_env():
    model = HRMDQN("HRMQPolicy", "FourRooms-Dynamic-v0", buffer_size=100, learning_starts=10, batch_size=4,
                   policy_kwargs=TINY, device="cpu")
    model.learn(30)
    assert model.n_envs == 1


@pytest.mark.slow
def test_torch_compile_cpu():
    model = tiny_model(four_rooms(1), policy_kwargs=dict(compile=True))
    assert hasattr(model.q_net.segment, "_torchdynamo_orig_callable") or "compile" in repr(model.q_net.segment)
    model.learn(30)
    assert model._n_updates > 0


def test_compile_without_a_cxx_compiler_warns_and_runs_eager(monkeypatch):
    import agents.hrm_dqn.policies as policies

    monkeypatch.setattr(policies.shutil, "which", lambda name: None)
    with pytest.warns(UserWarning, match="C\\+\\+ compiler"):
        model = tiny_model(four_rooms(1), policy_kwargs=dict(compile=True))
    assert model.policy.compile is True  # saved as asked: a machine with a compiler compiles it
    assert model.q_net.segment.__func__ is HRM.segment
    model.learn(30)
    assert model._n_updates > 0


@pytest.mark.cuda
@pytest.mark.skipif(not th.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_bf16():
    model = tiny_model(four_rooms(2), device="cuda")
    assert model.policy.device.type == "cuda"
    model.learn(60)
    q, state = model.q_values(model.env.reset())
    assert q.dtype == np.float32 and state.shape == (2, 2, 16)


# --- learning -------------------------------------------------------------------------------------------


@pytest.mark.slow  # about a minute of training: the slow layer (CI runs it)
@pytest.mark.learning
def test_tiny_config_learns_a_fixed_maze():
    """Greedy success climbs far above the random policy's on a fixed-start, fixed-goal room (~1 min on 2 CPUs).

    The env is deterministic, so one greedy evaluation is all-or-nothing; small late-training oscillations of
    the greedy path are normal for DQN, hence the best of the last few checkpoints is compared with random.
    """

    def make():
        return Monitor(gym.wrappers.TimeLimit(OpenRoom(), max_episode_steps=20))

    train_env, eval_env = DummyVecEnv([make] * 8), DummyVecEnv([make] * 4)
    random_rewards, _ = evaluate_policy(_RandomPolicy(), eval_env, n_eval_episodes=200, return_episode_rewards=True)
    random_success = np.mean(np.array(random_rewards) > 0.5)
    model = HRMDQN(
        "HRMQPolicy", train_env, learning_rate=2e-3, buffer_size=5_000, learning_starts=200, batch_size=64, tau=0.02,
        gamma=0.8, lr_warmup_steps=50, exploration_final_eps=0.05, exploration_steps=600, seed=0, device="cpu",
        policy_kwargs=dict(TINY, d_model=32, expansion=2.0, mlp_multiple=32, readout="agent"),
    )
    checkpoints = _GreedyCheckpoints(eval_env, every=50, after=2_800)
    model.learn(4_800, callback=checkpoints)
    success = [s for s, _ in checkpoints.results]
    assert len(success) >= 4
    assert random_success < 0.3
    assert max(success) >= random_success + 0.5, (checkpoints.results, random_success)
    best_length = min(length for s, length in checkpoints.results if s == max(success))
    assert best_length < 12  # the shortest path is 8 steps


class _GreedyCheckpoints(BaseCallback):
    """Greedy success rate and mean episode length every ``every`` collection steps after ``after`` env steps."""

    def __init__(self, eval_env, every: int, after: int) -> None:
        super().__init__()
        self.eval_env, self.every, self.after = eval_env, every, after
        self.results: list[tuple[float, float]] = []

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.after and self.n_calls % self.every == 0:
            rewards, lengths = evaluate_policy(self.model, self.eval_env, n_eval_episodes=4,
                                               return_episode_rewards=True)
            self.results.append((float(np.mean(np.array(rewards) > 0.5)), float(np.mean(lengths))))
        return True


class _RandomPolicy:
    def predict(self, obs, state=None, episode_start=None, deterministic=False):
        return np.random.randint(4, size=len(obs)), None


def test_evaluate_segments_option(tmp_path, capsys):
    """``hrm-mazes evaluate --segments N``: an HRM-DQN acts with N segments (recorded in the JSON); other models
    get a one-line error."""
    import json

    from agents.cli import main

    model = tiny_model(four_rooms(1), policy_kwargs=dict(segments=2))
    path = tmp_path / "hrm.zip"
    model.save(path)
    out = tmp_path / "e.json"
    argv = ["evaluate", "--model", str(path), "--algo", "hrm-dqn", "--env", "FourRooms-Dynamic-v0", "--episodes", "2",
            "--segments", "1", "--json", str(out), "--no-progress", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads(out.read_text())["segments"] == {"acting": 1, "trained": 2}
    assert "acting with 1 segments per step (trained with 2)" in capsys.readouterr().out
    assert main(["evaluate", "--agent", "random", "--env", "FourRooms-Dynamic-v0", "--episodes", "2", "--segments", "1",
                 "--json", str(tmp_path / "r.json"), "--no-progress"]) == 2  # fmt: skip
    assert "--segments applies to hrm-dqn models only" in capsys.readouterr().err


def test_compute_per_step_plays_every_model_at_every_segments_value(tmp_path, capsys, monkeypatch):
    """benchmarks/compute_per_step.py (does the carry save computation?): every HRM-DQN model of a suite acts with
    each requested number of segments on the same test episodes, and the JSON and table say so."""
    import importlib.util
    import json
    from pathlib import Path

    from agents.hrm_dqn.policies import HRMQPolicy

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "compute_per_step.py"
    spec = importlib.util.spec_from_file_location("compute_per_step", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for label, carry in (("hrm-dqn-carry", "last_token"), ("hrm-dqn-reset", "reset")):
        run = tmp_path / "runs" / label / "FourRooms-Dynamic-v0" / "seed0"
        run.mkdir(parents=True)
        tiny_model(four_rooms(1), policy_kwargs=dict(segments=2, carry=carry)).save(run / "model.zip")
    acted: list[int] = []
    real_act = HRMQPolicy.act

    def act(self, obs, carry):
        acted.append(self.acting_segments or self.config.segments)
        return real_act(self, obs, carry)

    monkeypatch.setattr(HRMQPolicy, "act", act)
    assert module.main(["--suite", str(tmp_path), "--segments", "1", "3", "--episodes", "2", "--no-progress"]) == 0
    assert set(acted) == {1, 3}
    results = json.loads((tmp_path / "compute_per_step.json").read_text())["results"]
    assert [(r["label"], [row["segments"] for row in r["rows"]]) for r in results] == [
        ("hrm-dqn-carry", [1, 3]), ("hrm-dqn-reset", [1, 3])]  # fmt: skip
    assert [row["updates_per_step"] for row in results[0]["rows"]] == [2, 6]  # 1 H cycle x (1 L cycle + 1 H update)
    assert all(row["summary"]["episodes"] == 2 and row["trained_segments"] == 2 for r in results for row in r["rows"])
    out = capsys.readouterr().out
    assert "| FourRooms-Dynamic-v0 | hrm-dqn-reset (reset) | 2 |" in out and "(6 upd/step)" in out
    # Without the models (a fresh clone: they are not committed), --report-only redraws the table and the plot
    # from the JSON and plays nothing.
    for model in tmp_path.glob("runs/*/*/seed0/model.zip"):
        model.unlink()
    acted.clear()
    saved = (tmp_path / "compute_per_step.json").read_bytes()
    assert module.main(["--suite", str(tmp_path), "--report-only", "--plot", str(tmp_path / "plots"), "--no-progress"]) == 0
    assert acted == [] and (tmp_path / "compute_per_step.json").read_bytes() == saved
    assert (tmp_path / "plots" / "FourRooms-Dynamic-v0_compute.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(6 upd/step)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        module.main(["--suite", str(tmp_path / "elsewhere"), "--report-only"])
    assert "--report-only reads" in capsys.readouterr().err


def test_maze_cost_benchmark_prints_one_row_per_variant(capsys):
    """benchmarks/hrm_maze_cost.py (the price of the maze probes' variants) runs and prints its ratio table."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "hrm_maze_cost.py"
    spec = importlib.util.spec_from_file_location("hrm_maze_cost", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--updates", "2", "--warmup", "1", "--eager", "--variants", "preset", "local-grid"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[0] for row in rows] == ["| preset", "| local-grid"] and rows[0].endswith("| 1.00x |")

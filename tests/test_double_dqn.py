"""DoubleDQN: the double-Q target, and SB3 DQN's update exactly when it is off."""

import numpy as np
import pytest
import torch as th
from stable_baselines3 import DQN

from agents.double_dqn import DoubleDQN
from agents.harness.models import GridCNN
from hrm_mazes.sb3 import make_sb3_vec_env

KWARGS = dict(
    learning_starts=64,
    batch_size=32,
    buffer_size=2_000,
    train_freq=1,
    gradient_steps=1,
    target_update_interval=64,
    n_steps=3,
    gamma=0.95,
    policy_kwargs=dict(features_extractor_class=GridCNN, features_extractor_kwargs=dict(features_dim=16, channels=(4, 4)), net_arch=[]),
    seed=3,
    device="cpu",
)


def make_venv():
    return make_sb3_vec_env("FourRooms-Dynamic-v0", num_envs=4, seed=5, obs_mode="onehot")


class FixedQ(th.nn.Module):
    def __init__(self, values):
        super().__init__()
        self.values = th.tensor(values, dtype=th.float32)

    def forward(self, obs):
        return self.values.expand(len(obs), -1)


@pytest.mark.parametrize("double_q, expected", [(True, 2.0), (False, 9.0)])
def test_next_state_value_is_the_target_at_the_online_argmax(double_q, expected):
    model = DoubleDQN("MlpPolicy", make_venv(), double_q=double_q, **KWARGS)
    model.q_net = FixedQ([1.0, 5.0, 0.0, 0.0])  # online argmax: action 1
    model.q_net_target = FixedQ([9.0, 2.0, 3.0, 4.0])  # target max: action 0
    values = model.next_state_values(th.zeros(3, 7, 11, 11))
    assert values.shape == (3, 1)
    assert th.allclose(values, th.full((3, 1), expected))


def test_without_double_q_it_is_sb3_dqn_update_for_update():
    th.manual_seed(0)
    ours = DoubleDQN("MlpPolicy", make_venv(), double_q=False, **KWARGS)
    th.manual_seed(0)
    theirs = DQN("MlpPolicy", make_venv(), **KWARGS)
    theirs.policy.load_state_dict(ours.policy.state_dict())
    for model in (ours, theirs):  # replay sampling draws from the global RNG: same state for both runs
        model.set_random_seed(3)
        model.learn(160)
    assert ours._n_updates == theirs._n_updates > 0
    for (name, a), b in zip(ours.policy.state_dict().items(), theirs.policy.state_dict().values(), strict=True):
        assert th.equal(a, b), name


def test_double_q_changes_the_updates():
    # A large step size and no target copy, so that the online and target argmax part ways at once.
    kwargs = {**KWARGS, "learning_rate": 0.01, "target_update_interval": 10_000}
    double = DoubleDQN("MlpPolicy", make_venv(), double_q=True, **kwargs)
    single = DoubleDQN("MlpPolicy", make_venv(), double_q=False, **kwargs)
    single.policy.load_state_dict(double.policy.state_dict())
    for model in (double, single):
        model.set_random_seed(3)
        model.learn(160)
    differs = [not th.equal(a, b) for a, b in zip(double.policy.state_dict().values(), single.policy.state_dict().values(), strict=True)]
    assert any(differs)


def test_double_q_and_n_steps_are_saved_and_loaded_without_a_warning(tmp_path, recwarn):
    model = DoubleDQN("MlpPolicy", make_venv(), double_q=False, **KWARGS)
    model.save(tmp_path / "m.zip")
    loaded = DoubleDQN.load(tmp_path / "m.zip", env=make_venv())
    assert loaded.double_q is False
    assert (loaded.replay_buffer.n_steps, loaded.replay_buffer.gamma) == (3, 0.95)
    assert not [w for w in recwarn if "n_steps" in str(w.message)]
    obs = np.zeros((2, 7, 11, 11), dtype=np.uint8)
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_double_q_must_be_a_bool(bad):
    with pytest.raises(ValueError, match="double_q must be True or False"):
        DoubleDQN("MlpPolicy", make_venv(), double_q=bad, **KWARGS)

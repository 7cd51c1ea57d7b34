"""The algorithm registry, observation encodings, GridCNN, the bundled configs and their Zoo form."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.errors import UserError
from agents.harness.algos import ALGOS, get_algo, optimizer_steps
from agents.harness.encodings import FrameStack, env_encoding, guess_encoding, make_env
from agents.harness.hyperparams import RUN_KEYS, apply_overrides, bundled_presets, load_preset, resolve_preset_path
from agents.harness.models import FEATURES_EXTRACTORS, GridCNN, algo_kwargs, build_model


def test_registry():
    assert {"hrm-dqn", "dqn", "ppo", "recurrent-ppo"} <= set(ALGOS)
    assert all(spec.name == name and (name in bundled_presets()) for name, spec in ALGOS.items())
    assert get_algo("recurrent-ppo").zoo_name == "ppo_lstm" and not get_algo("ppo").off_policy
    with pytest.raises(UserError, match="unknown algorithm 'sac'"):
        get_algo("sac")


def test_the_registry_does_not_import_torch():
    import subprocess

    code = "import sys, agents.harness.algos, agents.harness.config; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("old_module", ["agents.baselines", "agents.harness.baselines"])
def test_models_saved_before_the_moves_find_grid_cnn(old_module):
    """A model pickles its features extractor class by module path; both earlier homes of GridCNN still resolve."""
    assert pickle.loads(f"c{old_module}\nGridCNN\n.".encode()) is GridCNN
    assert pickle.loads(pickle.dumps(GridCNN)) is GridCNN


@pytest.mark.parametrize(
    ("obs_mode", "stack", "shape"),
    [("tokens", 1, (11, 11)), ("onehot", 1, (7, 11, 11)), ("onehot", 4, (28, 11, 11)), ("tokens", 3, (3, 11, 11))],
)
def test_make_env_encodings(obs_mode, stack, shape):
    env = make_env("FourRooms-Dynamic-v0", obs_mode=obs_mode, frame_stack=stack)
    obs, _ = env.reset(seed=0)
    assert obs.shape == shape == env.observation_space.shape
    assert env.observation_space.contains(obs)
    obs, *_ = env.step(1)
    assert env.observation_space.contains(obs)
    if obs_mode == "onehot":
        assert guess_encoding(env.observation_space) == {"obs_mode": "onehot", "frame_stack": stack, "env_kwargs": {}}


def test_env_encoding_of_a_config_entry():
    assert env_encoding({}) == {"obs_mode": "tokens", "frame_stack": 1, "env_kwargs": {}}
    entry = {"obs_mode": "onehot", "frame_stack": "4", "env_kwargs": {"p_change": 0.1}, "gamma": 0.9}
    assert env_encoding(entry) == {"obs_mode": "onehot", "frame_stack": 4, "env_kwargs": {"p_change": 0.1}}


def test_frame_stack_keeps_history_oldest_first():
    env = FrameStack(make_env("RandomDoorMaze-v0", obs_mode="onehot"), 3)
    first, _ = env.reset(seed=5)
    assert np.array_equal(first[:7], first[14:])  # the first observation fills every slot
    frames = [first[14:]]
    for action in (0, 1, 2):
        obs, *_ = env.step(action)
        frames.append(obs[14:])
        assert np.array_equal(obs[7:14], frames[-2])  # previous frame moved one slot back


def test_grid_cnn_keeps_resolution_and_outputs_features():
    env = make_env("RandomDoorMaze-v0", obs_mode="onehot", frame_stack=4)
    cnn = GridCNN(env.observation_space, features_dim=64)
    obs = torch.as_tensor(np.stack([env.reset(seed=s)[0] for s in range(3)]))
    assert cnn(obs).shape == (3, 64)
    assert cnn.linear[0].in_features == 64 * 11 * 13  # no stride: every cell keeps its features


def test_algo_kwargs_resolves_the_extractor():
    kwargs = algo_kwargs({"policy": "MlpPolicy", "obs_mode": "onehot", "features_extractor": "grid-cnn",
                          "features_extractor_kwargs": {"channels": [8, 8]}, "learning_rate": "1e-4",
                          "train_freq": [4, "step"], "policy_kwargs": {"net_arch": [16]}})  # fmt: skip
    assert kwargs["policy_kwargs"] == {"net_arch": [16], "features_extractor_class": GridCNN,
                                       "features_extractor_kwargs": {"channels": (8, 8)}}  # fmt: skip
    assert kwargs["learning_rate"] == 1e-4 and kwargs["train_freq"] == (4, "step")
    assert not set(kwargs) & set(RUN_KEYS)
    with pytest.raises(UserError, match="features_extractor"):
        algo_kwargs({"features_extractor": "nature"})


@pytest.mark.filterwarnings("ignore:You have specified a mini-batch size")  # PPO's preset on one env, not trained
@pytest.mark.parametrize("algo", ["dqn", "hrm-dqn", "ppo"])
def test_lin_learning_rate_decays_linearly_to_zero_over_the_run(algo, tmp_path):
    # RL Zoo's notation: the config keeps the text (run.yaml stays plain YAML), the model gets the schedule.
    from stable_baselines3.common.utils import LinearSchedule

    from agents.harness.hyperparams import check_hyperparams

    entry = {"learning_rate": "lin_1e-3"} if algo != "ppo" else {"learning_rate": "lin_3e-4", "clip_range": "lin_0.2"}
    checked = check_hyperparams(algo, "FourRooms-Dynamic-v0", entry, "test")
    assert checked["learning_rate"] == ("lin_0.001" if algo != "ppo" else "lin_0.0003")
    hyperparams, _ = load_preset(algo, "FourRooms-Dynamic-v0", "cpu-small" if algo == "hrm-dqn" else None)
    hyperparams = apply_overrides(hyperparams, {**checked, "policy_kwargs": {"compile": False}} if algo == "hrm-dqn" else checked)
    env = DummyVecEnv([lambda: make_env("FourRooms-Dynamic-v0", **env_encoding(hyperparams))])
    model = build_model(algo, hyperparams, env, 0, "cpu")
    assert isinstance(model.learning_rate, LinearSchedule)  # SB3's own class, RL Zoo's lin_ schedule
    initial = model.learning_rate.start
    assert model.lr_schedule(1.0) == pytest.approx(initial) and model.lr_schedule(0.25) == pytest.approx(initial / 4)
    assert model.lr_schedule(0.0) == 0.0
    if algo == "ppo":
        assert model.clip_range(0.5) == pytest.approx(0.1)
    model.save(tmp_path / "model.zip")
    loaded = type(model).load(tmp_path / "model.zip", device="cpu")
    assert loaded.lr_schedule(0.5) == pytest.approx(initial / 2)


@pytest.mark.parametrize("value", ["lin_", "lin_x", "lin_-1e-3", "lin_0", "lin_nan", "lin_lin_1e-3", "linear_1e-3"])
def test_a_bad_lin_learning_rate_names_the_key_and_the_allowed_forms(value):
    from agents.harness.hyperparams import check_hyperparams

    with pytest.raises(UserError, match=r"learning_rate must be a finite number > 0, or lin_<such a number> .*got"):
        check_hyperparams("dqn", "FourRooms-Dynamic-v0", {"learning_rate": value}, "test")


def test_overrides_merge_dicts_one_level_deep():
    base = {"gamma": 0.95, "policy_kwargs": {"carry": "last_token", "d_model": 32}}
    merged = apply_overrides(base, {"gamma": 0.9, "policy_kwargs": {"carry": "reset"}, "n_envs": 2})
    assert merged == {"gamma": 0.9, "policy_kwargs": {"carry": "reset", "d_model": 32}, "n_envs": 2}
    assert base["policy_kwargs"]["carry"] == "last_token"  # the input is left alone


def test_config_resolution():
    assert resolve_preset_path("dqn", None).name == "dqn.yaml"
    assert resolve_preset_path("hrm-dqn", "cpu-small").name == "hrm-dqn-cpu-small.yaml"
    assert resolve_preset_path("hrm-dqn", "paper").name == "hrm-dqn.yaml"
    with pytest.raises(UserError, match="unknown config"):
        resolve_preset_path("dqn", "nope")
    with pytest.raises(UserError, match="does not exist"):
        resolve_preset_path("dqn", "missing.yaml")
    assert {"hrm-dqn", "hrm-dqn-cpu-small", "dqn-cpu-small"} <= set(bundled_presets())


@pytest.mark.parametrize("algo", list(ALGOS))
def test_zoo_form_of_every_config(algo):
    from agents.zoo import zoo_hyperparams

    for env_id, entry in zoo_hyperparams(algo).items():
        params, _ = load_preset(algo, env_id)
        assert entry["n_timesteps"] == params["n_timesteps"] and entry["policy"] == params["policy"]
        assert {k: v for k, v in entry.items() if k not in ("n_timesteps", "policy", "n_envs", "env_wrapper")} == algo_kwargs(params)
        if params.get("obs_mode") == "onehot":
            assert entry["env_wrapper"][0] == "agents.zoo.OneHot"
        if params.get("features_extractor"):
            assert entry["policy_kwargs"]["features_extractor_class"] is FEATURES_EXTRACTORS[params["features_extractor"]]


# Both maps, and one partially observed variant (its 8th token widens every encoding; the other variant adds nothing).
CONFIG_ENV_IDS = ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0", "RandomDoorMaze-Partial-v0")


@pytest.mark.parametrize("algo", list(ALGOS))
@pytest.mark.parametrize("env_id", CONFIG_ENV_IDS)
def test_every_default_config_builds_a_model(algo, env_id):
    hyperparams, _ = load_preset(algo, env_id)
    hyperparams.update(n_envs=2)
    if "buffer_size" in hyperparams:
        hyperparams["buffer_size"] = 1_000  # the real sizes allocate up to gigabytes
    if "n_steps" in hyperparams:
        hyperparams.update(n_steps=8, batch_size=16)
    encoding = env_encoding(hyperparams)
    venv = DummyVecEnv([lambda: make_env(env_id, **encoding)] * 2)
    model = build_model(algo, hyperparams, venv, seed=0, device="cpu")
    obs = venv.reset()
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (2,)
    assert optimizer_steps(model) == 0
    venv.close()


def test_zoo_enjoy_registers_our_algorithms_and_calls_the_zoo(monkeypatch):
    """``python -m agents.zoo enjoy``: HRM-DQN and the planner in the Zoo's ALGOS, the Zoo's enjoy with our env package
    (a stand-in Zoo: rl_zoo3 is not a dependency)."""
    import sys
    import types

    from agents import zoo

    calls, algos = [], {}
    utils, enjoy = types.ModuleType("rl_zoo3.utils"), types.ModuleType("rl_zoo3.enjoy")
    utils.ALGOS, enjoy.enjoy = algos, lambda: calls.append(list(sys.argv))
    package = types.ModuleType("rl_zoo3")
    package.utils, package.enjoy = utils, enjoy
    monkeypatch.setitem(sys.modules, "rl_zoo3", package)
    monkeypatch.setitem(sys.modules, "rl_zoo3.utils", utils)
    monkeypatch.setitem(sys.modules, "rl_zoo3.enjoy", enjoy)
    monkeypatch.setattr(sys, "argv", ["x"])
    assert zoo.main(["enjoy", "--algo", "hrm-dqn", "--env", "FourRooms-Dynamic-v0", "-f", "logs/"]) == 0
    assert calls == [["rl_zoo3.enjoy", "--algo", "hrm-dqn", "--env", "FourRooms-Dynamic-v0", "--gym-packages", "hrm_mazes",
                      "-f", "logs/"]]  # fmt: skip
    assert {"hrm-dqn", "double-dqn", "rconv-dqn"} <= set(algos)

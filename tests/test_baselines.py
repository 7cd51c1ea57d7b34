"""The algorithm registry, observation encodings, GridCNN and the bundled configs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from agents import cli
from agents.baselines import ALGOS, FrameStack, GridCNN, algo_kwargs, get_algo, make_env, optimizer_steps
from agents.errors import UserError
from agents.training import build_model, bundled_configs, load_config, resolve_config_path
from hrm_mazes import ENV_IDS


def test_registry_matches_the_cli():
    assert tuple(ALGOS) == cli.ALGO_NAMES
    assert tuple(ENV_IDS) == cli.ENV_IDS
    with pytest.raises(UserError, match="unknown algorithm 'sac'"):
        get_algo("sac")


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
                          "train_freq": [4, "step"]})  # fmt: skip
    assert kwargs["policy_kwargs"]["features_extractor_class"] is GridCNN
    assert kwargs["policy_kwargs"]["features_extractor_kwargs"] == {"channels": (8, 8)}
    assert kwargs["learning_rate"] == 1e-4 and kwargs["train_freq"] == (4, "step")
    assert "obs_mode" not in kwargs and "policy" not in kwargs
    with pytest.raises(UserError, match="features_extractor"):
        algo_kwargs({"features_extractor": "nature"})


def test_config_resolution():
    assert resolve_config_path("dqn", None).name == "dqn.yaml"
    assert resolve_config_path("hrm-dqn", "cpu-small").name == "hrm-dqn-cpu-small.yaml"
    assert resolve_config_path("hrm-dqn", "paper").name == "hrm-dqn.yaml"
    with pytest.raises(UserError, match="unknown config"):
        resolve_config_path("dqn", "nope")
    with pytest.raises(UserError, match="does not exist"):
        resolve_config_path("dqn", "missing.yaml")
    assert {"hrm-dqn", "hrm-dqn-cpu-small", "dqn-cpu-small"} <= set(bundled_configs())


@pytest.mark.parametrize("algo", list(ALGOS))
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_default_config_builds_a_model(algo, env_id):
    hyperparams, _ = load_config(algo, env_id)
    hyperparams.update(n_envs=2)
    if "buffer_size" in hyperparams:
        hyperparams["buffer_size"] = 1_000  # the real sizes allocate up to gigabytes
    if "n_steps" in hyperparams:
        hyperparams.update(n_steps=8, batch_size=16)
    env_kwargs = {"obs_mode": hyperparams.get("obs_mode", "tokens"), "frame_stack": hyperparams.get("frame_stack", 1)}
    venv = DummyVecEnv([lambda: make_env(env_id, **env_kwargs)] * 2)
    model = build_model(algo, hyperparams, venv, seed=0, device="cpu")
    obs = venv.reset()
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (2,)
    assert optimizer_steps(model) == 0
    venv.close()

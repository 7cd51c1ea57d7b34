"""A new environment takes a layout, its classes and one registry entry (issue 22): a third env, registered only
here, works with ``gym.make`` and Gymnasium's checker, ``gym.make_vec(..., "vector_entry_point")``, the presets
(through their ``default`` entries) and ``hrm-mazes evaluate``, with no other file changed."""

from __future__ import annotations

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from cli_helpers import run_cli
from gymnasium.utils.env_checker import check_env as gym_check_env

import hrm_mazes
from hrm_mazes import core
from hrm_mazes.envs import DynamicDoorsEnv
from hrm_mazes.registry import MazeEnvSpec, register_env, unregister_env
from hrm_mazes.vector import DynamicDoorsVectorEnv

ENV_ID = "TwoRooms-Test-v0"

# 1. The layout: two rooms joined by two doorways, one of them closed at a time.
TWO_ROOMS = core.Layout("two_rooms", *core.parse_map((
    "#########",
    "#   #   #",
    "#   D   #",
    "#   #   #",
    "#   D   #",
    "#   #   #",
    "#########",
)), obs_offset=(0, 0), obs_shape=(7, 9))  # fmt: skip


# 2. The single and the batched env.
class TwoRoomsEnv(DynamicDoorsEnv):
    def __init__(self, n_closed_doors: int = 1, **kwargs) -> None:
        super().__init__(TWO_ROOMS, n_closed=n_closed_doors, **kwargs)


class TwoRoomsVectorEnv(DynamicDoorsVectorEnv):
    def __init__(self, num_envs: int = 1, n_closed_doors: int = 1, **kwargs) -> None:
        super().__init__(TWO_ROOMS, num_envs=num_envs, n_closed=n_closed_doors, **kwargs)


# 3. The registry entry.
SPEC = MazeEnvSpec(ENV_ID, TwoRoomsEnv, TwoRoomsVectorEnv)


@pytest.fixture(scope="module", autouse=True)
def two_rooms():
    register_env(SPEC)
    yield
    unregister_env(ENV_ID)
    assert ENV_ID not in gym.registry and ENV_ID not in hrm_mazes.ENV_IDS


def test_registered_like_the_others():
    assert hrm_mazes.ENV_IDS[-1] == ENV_ID and hrm_mazes.ENV_IDS[:2] == ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0")
    spec = gym.spec(ENV_ID)
    assert spec.max_episode_steps == core.MAX_EPISODE_STEPS and spec.vector_entry_point is TwoRoomsVectorEnv


@pytest.mark.parametrize("obs_mode", ["tokens", "onehot"])
def test_make_and_the_gymnasium_checker(obs_mode):
    env = gym.make(ENV_ID, obs_mode=obs_mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    obs, _ = env.reset(seed=0)
    assert obs.shape == ((7, 9) if obs_mode == "tokens" else (core.NUM_TOKENS, 7, 9))


def test_make_vec_with_the_vector_entry_point():
    envs = gym.make_vec(ENV_ID, num_envs=8, vectorization_mode="vector_entry_point", p_change=0.5)
    assert isinstance(envs, TwoRoomsVectorEnv) and envs.max_episode_steps == core.MAX_EPISODE_STEPS
    obs, info = envs.reset(seed=0)
    assert obs.shape == (8, 7, 9) and obs.dtype == np.uint8
    for _ in range(100):  # past the time limit: auto-resets included
        obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
    assert obs.shape == (8, 7, 9) and reward.shape == (8,) and (info["shortest_path"] >= 0).all()  # never cut off
    envs.close()


def test_the_presets_resolve_through_their_default_entry():
    from agents.harness.hyperparams import load_preset

    params, path = load_preset("dqn", ENV_ID, "cpu-small")
    assert path.name == "dqn-cpu-small.yaml"
    assert params == load_preset("dqn", "FourRooms-Dynamic-v0", "cpu-small")[0]  # its default: FourRooms' settings


def test_evaluate_the_oracle_from_the_command_line(tmp_path, capsys):
    target = tmp_path / "oracle.json"
    rc, out, err = run_cli(["evaluate", "--agent", "oracle", "--env", ENV_ID, "--episodes", "3",
                            "--json", str(target), "--no-progress"], capsys)  # fmt: skip
    assert rc == 0, err
    assert f"on {ENV_ID}: 3 held-out episodes" in out
    summary = json.loads(target.read_text())["summary"]
    assert summary["episodes"] == 3 and summary["success_rate"] == 1.0

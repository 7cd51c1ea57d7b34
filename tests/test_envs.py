"""API-level behaviour of the two environments: checkers, registration, time limit, seeding, pickling,
vectorisation and the ``reset(options=...)`` contract (SPEC section 2)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import hrm_mazes
from hrm_mazes.core import MAX_EPISODE_STEPS, NUM_TOKENS, REWARD_BLOCKED

ENV_IDS = ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0")
OBS_MODES = ("tokens", "onehot", "rgb")
# Map shapes (outer wall included) and observation grids, as stated in SPEC section 2.
MAP_SHAPES = {"FourRooms-Dynamic-v0": (13, 13), "RandomDoorMaze-v0": (11, 13)}
OBS_SHAPES = {"FourRooms-Dynamic-v0": (11, 11), "RandomDoorMaze-v0": (11, 13)}
# A corner room cell of both maps: moving north from it always hits the outer wall.
CORNER = (1, 1)


def _layout_signature(env: gym.Env) -> tuple:
    """What a reset draws: start, goal, fixed walls and closed doors (map coordinates / per door cell)."""
    e = env.unwrapped
    return e.start_pos, e.goal_pos, tuple(np.flatnonzero(e.fixed_walls)), tuple(np.flatnonzero(e.closed_doors))


# --- checkers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("obs_mode", OBS_MODES)
@pytest.mark.parametrize("distinct_doors", [False, True])
def test_gymnasium_env_checker_has_no_warnings(env_id, obs_mode, distinct_doors):
    env = gym.make(env_id, obs_mode=obs_mode, distinct_doors=distinct_doors)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("render_mode", ["rgb_array", "ansi"])
def test_gymnasium_env_checker_with_render_mode(env_id, render_mode):
    env = gym.make(env_id, render_mode=render_mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []


# The notices SB3's checker prints for each observation mode and nothing else: a 2-D token grid is neither an
# image nor a vector; a (7, H, W) uint8 box looks like a channel-first image to SB3, whose bounds are not
# [0, 255] and whose side is below CnnPolicy's 36 px minimum; the rgb frame is a proper image.
SB3_EXPECTED_NOTICES = {
    "tokens": ["unconventional shape"],
    "onehot": ["upper and lower bounds are not in [0, 255]", "minimal resolution for an image is 36x36"],
    "rgb": [],
}


@pytest.mark.parametrize("env_id", [*ENV_IDS, "FourRooms-Dynamic-Partial-v0", "RandomDoorMaze-Partial-v0"])
@pytest.mark.parametrize("obs_mode", OBS_MODES)
def test_sb3_env_checker_only_known_notices(env_id, obs_mode):
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = gym.make(env_id, obs_mode=obs_mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_checker.check_env(env)
    messages = [str(w.message) for w in caught]
    expected = SB3_EXPECTED_NOTICES[obs_mode]
    assert len(messages) == len(expected), messages
    for fragment in expected:
        assert sum(fragment in m for m in messages) == 1, (fragment, messages)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spaces(env_id):
    rows, cols = OBS_SHAPES[env_id]
    h, w = MAP_SHAPES[env_id]
    for obs_mode, shape, high in [
        ("tokens", (rows, cols), NUM_TOKENS - 1),
        ("onehot", (NUM_TOKENS, rows, cols), 1),
    ]:
        env = gym.make(env_id, obs_mode=obs_mode)
        assert env.action_space == gym.spaces.Discrete(4)
        assert env.observation_space == gym.spaces.Box(0, high, shape, np.uint8)
        obs, _ = env.reset(seed=0)
        assert obs.shape == shape and obs.dtype == np.uint8
    tile = 8
    env = gym.make(env_id, obs_mode="rgb", tile_size=tile)
    assert env.observation_space == gym.spaces.Box(0, 255, (h * tile, w * tile, 3), np.uint8)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (h * tile, w * tile, 3)


# --- registration and time limit ------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_registered_with_time_limit(env_id):
    assert env_id in hrm_mazes.ENV_IDS
    spec = gym.spec(env_id)
    assert spec.max_episode_steps == MAX_EPISODE_STEPS == 80
    env = gym.make(env_id)
    assert env.spec.max_episode_steps == 80
    assert isinstance(env.unwrapped, hrm_mazes.DynamicDoorsEnv)


def test_make_with_module_prefix_in_fresh_interpreter():
    code = textwrap.dedent(
        """
        import sys
        import gymnasium as gym
        assert "hrm_mazes" not in sys.modules
        for env_id in ("hrm_mazes:RandomDoorMaze-v0", "hrm_mazes:FourRooms-Dynamic-v0"):
            env = gym.make(env_id)
            obs, info = env.reset(seed=0)
            env.step(env.action_space.sample())
            assert env.spec.max_episode_steps == 80, env.spec
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_truncated_not_terminated_at_step_80(env_id):
    env = gym.make(env_id)
    # Pin the agent in a corner and push north into the outer wall: the goal is never reached.
    env.reset(seed=3, options={"start": CORNER})
    for t in range(1, MAX_EPISODE_STEPS + 1):
        _, reward, terminated, truncated, info = env.step(0)
        assert not terminated
        assert reward == REWARD_BLOCKED
        assert truncated == (t == MAX_EPISODE_STEPS), t
    assert not info["is_success"]


# --- seeding, pickling, vectorisation -------------------------------------------------------------------


def _rollout(env: gym.Env, seed: int, actions: list[int]) -> list:
    obs, info = env.reset(seed=seed)
    out = [(obs.copy(), info)]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((obs.copy(), reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            out.append((obs.copy(), info))
    return out


def _assert_same_rollout(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:] == y[1:]


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("obs_mode", ["tokens", "rgb"])
def test_same_seed_same_rollout(env_id, obs_mode):
    actions = np.random.default_rng(0).integers(4, size=300 if obs_mode == "tokens" else 100).tolist()
    kwargs = {"obs_mode": obs_mode, "p_change": 0.3}  # frequent redraws: the door RNG is exercised
    first = _rollout(gym.make(env_id, **kwargs), 7, actions)
    second = _rollout(gym.make(env_id, **kwargs), 7, actions)
    _assert_same_rollout(first, second)
    other = _rollout(gym.make(env_id, **kwargs), 8, actions)
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(first, other, strict=False))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_different_seeds_different_layouts(env_id):
    env = gym.make(env_id)
    signatures, first_obs = [], []
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        signatures.append(_layout_signature(env))
        first_obs.append(obs)
    # start/goal alone has > 6000 ordered pairs on either map, so 20 seeds collide at most by rare chance
    assert len(set(signatures)) >= 19
    assert sum(not np.array_equal(a, b) for a, b in zip(first_obs, first_obs[1:], strict=False)) >= 18
    if env_id == "RandomDoorMaze-v0":
        fixed_sets = {s[2] for s in signatures}
        assert len(fixed_sets) == 20  # C(47, 10) possible sets of fixed walls


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_mid_episode_continues_identically(env_id):
    env = gym.make(env_id, p_change=0.5)
    env.reset(seed=11)
    for a in [1, 2, 2, 3, 0]:
        env.step(a)
    clone = pickle.loads(pickle.dumps(env))
    actions = np.random.default_rng(1).integers(4, size=200).tolist()
    for a in actions:
        out_a, out_b = env.step(a), clone.step(a)
        np.testing.assert_array_equal(out_a[0], out_b[0])
        assert out_a[1:] == out_b[1:]
        if out_a[2] or out_a[3]:
            np.testing.assert_array_equal(env.reset()[0], clone.reset()[0])


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("vector_cls", [gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv])
def test_gymnasium_vector_envs(env_id, vector_cls):
    n = 3 if vector_cls is gym.vector.SyncVectorEnv else 2
    venv = vector_cls([lambda: gym.make(env_id) for _ in range(n)])
    try:
        obs, infos = venv.reset(seed=[5, 6, 7][:n])
        assert obs.shape == (n, *OBS_SHAPES[env_id]) and obs.dtype == np.uint8
        for i in range(n):  # sub-env i is the single env reset with its seed
            np.testing.assert_array_equal(obs[i], gym.make(env_id).reset(seed=5 + i)[0])
        rng = np.random.default_rng(0)
        finished = 0
        for _ in range(200):
            obs, rewards, terminated, truncated, infos = venv.step(rng.integers(4, size=n))
            assert obs.shape == (n, *OBS_SHAPES[env_id])
            assert set(np.unique(rewards)) <= {0.0, REWARD_BLOCKED, 1.0}
            finished += int(np.sum(terminated | truncated))
        assert finished >= n  # 200 steps > 80: every sub-env ended at least once and was auto-reset
    finally:
        venv.close()


# --- reset options --------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pinned_start_and_goal_are_honoured(env_id):
    env = gym.make(env_id)
    # Map coordinates, outer wall included: (1, 1) is the top-left room cell of both maps.
    goal = (MAP_SHAPES[env_id][0] - 2, MAP_SHAPES[env_id][1] - 2)
    for seed in range(10):
        obs, info = env.reset(seed=seed, options={"start": CORNER, "goal": goal})
        assert info["agent_pos"] == CORNER and info["goal_pos"] == goal
        assert env.unwrapped.start_pos == CORNER
        off = (1, 1) if env_id == "FourRooms-Dynamic-v0" else (0, 0)
        assert obs[CORNER[0] - off[0], CORNER[1] - off[1]] == 2  # agent token
        assert obs[goal[0] - off[0], goal[1] - off[1]] == 3  # goal token
    # Pinning only one of them draws the other among the remaining walkable cells.
    for seed in range(10):
        _, info = env.reset(seed=seed, options={"goal": CORNER})
        assert info["goal_pos"] == CORNER and info["agent_pos"] != CORNER
        _, info = env.reset(seed=seed, options={"start": CORNER})
        assert info["agent_pos"] == CORNER and info["goal_pos"] != CORNER


def test_fourrooms_doorway_can_be_pinned():
    env = gym.make("FourRooms-Dynamic-v0")
    _, info = env.reset(seed=0, options={"start": (3, 6), "goal": (10, 6)})
    assert info["agent_pos"] == (3, 6) and info["goal_pos"] == (10, 6)
    closed = env.unwrapped.layout.door_positions[env.unwrapped.closed_doors]
    assert {tuple(p) for p in closed.tolist()}.isdisjoint({(3, 6), (10, 6)})


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_layout_seed_fixes_the_maze(env_id):
    env = gym.make(env_id)
    env.reset(seed=1, options={"layout_seed": 42})
    a = _layout_signature(env)
    env.reset(seed=2, options={"layout_seed": 42})  # a different env seed: only the doors may differ
    b = _layout_signature(env)
    assert a[:3] == b[:3]
    others = set()
    for layout_seed in range(43, 53):
        env.reset(seed=1, options={"layout_seed": layout_seed})
        others.add(_layout_signature(env)[:3])
    assert a[:3] not in others and len(others) >= 9


# --- door tokens (SPEC section 2) -------------------------------------------------------------------------

# (fixed wall, closed door) tokens: in the paper's view a fixed wall and a closed FourRooms doorway look like a
# wall (1) and a closed temporary maze door has a token of its own (5); distinct_doors=True also gives the fixed
# walls theirs (6) and the closed FourRooms doorway the closed-door token.
DOOR_TOKENS = {
    ("FourRooms-Dynamic-v0", False): (1, 1),
    ("FourRooms-Dynamic-v0", True): (6, 5),
    ("RandomDoorMaze-v0", False): (1, 5),
    ("RandomDoorMaze-v0", True): (6, 5),
}


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("distinct_doors", [False, True])
@pytest.mark.parametrize("obs_mode", ["tokens", "onehot"])
def test_door_cells_carry_the_papers_tokens(env_id, distinct_doors, obs_mode):
    env = gym.make(env_id, distinct_doors=distinct_doors, obs_mode=obs_mode, p_change=0.5)
    e = env.unwrapped
    fixed_token, closed_token = DOOR_TOKENS[env_id, distinct_doors]
    r0, c0 = e.layout.obs_offset
    rows, cols = e.layout.door_positions[:, 0] - r0, e.layout.door_positions[:, 1] - c0
    obs, _ = env.reset(seed=0)
    seen = set()
    for action in np.random.default_rng(0).integers(4, size=60).tolist():
        if obs_mode == "onehot":
            assert (obs.sum(axis=0) == 1).all()
            obs = obs.argmax(axis=0)
        door_tokens = obs[rows, cols]
        assert (door_tokens[e.fixed_walls] == fixed_token).all()
        assert (door_tokens[e.closed_doors] == closed_token).all()
        seen |= {int(t) for t in door_tokens[e.fixed_walls | e.closed_doors]}
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
    assert seen == ({fixed_token, closed_token} if e.n_fixed_walls else {closed_token})

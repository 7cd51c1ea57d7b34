"""The batched vector envs (``hrm_mazes.vector``): registration, the rules of SPEC section 2 checked on every
env of a batch at every step, auto-reset in its three modes, seeding, observation modes and rendering."""

from __future__ import annotations

import copy
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

import hrm_mazes  # noqa: F401  (registers the envs)
from hrm_mazes import core
from hrm_mazes.vector import FourRoomsDynamicVectorEnv, RandomDoorMazeVectorEnv

ENV_IDS = ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0")
VECTOR_CLASSES = {"FourRooms-Dynamic-v0": FourRoomsDynamicVectorEnv, "RandomDoorMaze-v0": RandomDoorMazeVectorEnv}
OBS_SHAPES = {"FourRooms-Dynamic-v0": (11, 11), "RandomDoorMaze-v0": (11, 13)}
INFO_KEYS = ("agent_pos", "goal_pos", "is_success", "doors_changed", "shortest_path")


def make(env_id: str, num_envs: int = 16, **kwargs) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)


# --- the rules, checked on a whole batch ---------------------------------------------------------------


def expected_tokens(venv) -> np.ndarray:
    """Observation tokens rebuilt from the env's public state with core's painter (independent of the env's cache)."""
    tokens = core.token_grid(
        venv.layout,
        venv.fixed_walls,
        venv.closed_doors,
        venv.start_pos,
        venv.goal_pos,
        venv.agent_pos,
        venv.distinct_doors,
    )
    rows, cols = venv.layout.obs_window
    return tokens[:, rows, cols]


def bfs_shortest_paths(venv) -> np.ndarray:
    """Agent -> goal BFS length per env with the scalar BFS of core (-1 when cut off)."""
    layout, w = venv.layout, venv.layout.shape[1]
    blocked = core.blocked_grid(layout, venv.fixed_walls, venv.closed_doors).reshape(venv.num_envs, -1)
    out = []
    for i in range(venv.num_envs):
        goal = int(venv.goal_pos[i, 0] * w + venv.goal_pos[i, 1])
        dist = core.bfs_distances(layout, blocked[i].tolist(), goal)
        out.append(dist[int(venv.agent_pos[i, 0] * w + venv.agent_pos[i, 1])])
    return np.array(out)


def check_state(venv, obs, info) -> None:
    """Every invariant of the single env, on every env of the batch."""
    n, layout = venv.num_envs, venv.layout
    assert venv.observation_space.contains(obs)
    tokens = obs if venv.obs_mode == "tokens" else None
    if tokens is not None:
        np.testing.assert_array_equal(tokens, expected_tokens(venv))
        assert ((tokens == core.AGENT).reshape(n, -1).sum(axis=1) == 1).all()
    on_doors = core.positions_on_doors(layout, np.stack([venv.agent_pos, venv.start_pos, venv.goal_pos], axis=1))
    assert not (venv.closed_doors & on_doors).any(), "a closed door on the agent, the start or the goal"
    assert not (venv.closed_doors & venv.fixed_walls).any()
    assert not (
        venv.fixed_walls & core.positions_on_doors(layout, np.stack([venv.start_pos, venv.goal_pos], axis=1))
    ).any()
    eligible = ~venv.fixed_walls & ~on_doors
    np.testing.assert_array_equal(venv.closed_doors.sum(axis=1), np.minimum(venv.n_closed, eligible.sum(axis=1)))
    assert (venv.fixed_walls.sum(axis=1) <= venv.n_fixed_walls).all()
    blocked = core.blocked_grid(layout, venv.fixed_walls, venv.closed_doors)
    assert not blocked[np.arange(n), venv.agent_pos[:, 0], venv.agent_pos[:, 1]].any(), "agent inside a wall"
    assert not (venv.start_pos == venv.goal_pos).all(axis=1).any()
    # The fixed walls alone never cut the start from the goal.
    fixed_only = core.blocked_grid(layout, venv.fixed_walls, np.zeros_like(venv.fixed_walls))
    dist = core.batched_bfs_distances(fixed_only, venv.start_pos)
    assert (dist[np.arange(n), venv.goal_pos[:, 0], venv.goal_pos[:, 1]] >= 0).all()
    # Infos: batched arrays with all-True masks, consistent with the state.
    for key in INFO_KEYS:
        assert key in info and info[f"_{key}"].dtype == np.bool_ and info[f"_{key}"].all()
        assert len(info[key]) == n
    np.testing.assert_array_equal(info["agent_pos"], venv.agent_pos)
    np.testing.assert_array_equal(info["goal_pos"], venv.goal_pos)
    assert info["agent_pos"].shape == (n, 2)
    np.testing.assert_array_equal(info["is_success"], (venv.agent_pos == venv.goal_pos).all(axis=1))
    np.testing.assert_array_equal(info["shortest_path"], bfs_shortest_paths(venv))


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("distinct_doors", [False, True])
@pytest.mark.parametrize("n_steps", [90, pytest.param(300, marks=pytest.mark.slow)])  # 90: past one time limit
def test_every_rule_holds_on_every_env_and_step(env_id, distinct_doors, n_steps):
    """Rollout with random actions; each step is checked against the single env's rules (SAME as base.step)."""
    venv = make(env_id, num_envs=24, distinct_doors=distinct_doors, p_change=0.3).unwrapped
    rng = np.random.default_rng(0)
    obs, info = venv.reset(seed=3)
    check_state(venv, obs, info)
    assert not info["doors_changed"].any()
    assert (venv.elapsed_steps == 0).all()
    w = venv.layout.shape[1]
    finished_seen = 0
    for _ in range(n_steps):
        prev_agent, prev_closed = venv.agent_pos.copy(), venv.closed_doors.copy()
        prev_blocked = core.blocked_grid(venv.layout, venv.fixed_walls, venv.closed_doors).reshape(venv.num_envs, -1)
        resetting = venv._autoreset.copy()
        actions = rng.integers(0, 4, size=venv.num_envs)
        obs, rewards, terminated, truncated, info = venv.step(actions)
        check_state(venv, obs, info)
        assert rewards.dtype == np.float64 and terminated.dtype == np.bool_ and truncated.dtype == np.bool_
        moving = ~resetting
        target = prev_agent + core.ACTION_DELTAS[actions]
        hit = prev_blocked[np.arange(venv.num_envs), target[:, 0] * w + target[:, 1]]
        expected_agent = np.where(hit[:, None], prev_agent, target)
        np.testing.assert_array_equal(venv.agent_pos[moving], expected_agent[moving])
        at_goal = (expected_agent == venv.goal_pos).all(axis=1)
        expected_reward = np.where(at_goal, core.REWARD_GOAL, np.where(hit, core.REWARD_BLOCKED, core.REWARD_STEP))
        np.testing.assert_array_equal(rewards[moving], expected_reward[moving])
        np.testing.assert_array_equal(terminated[moving], at_goal[moving])
        np.testing.assert_array_equal(truncated, venv.elapsed_steps >= core.MAX_EPISODE_STEPS)
        # doors_changed means the closed set differs from the previous step's.
        changed = (venv.closed_doors != prev_closed).any(axis=1)
        np.testing.assert_array_equal(info["doors_changed"][moving], changed[moving])
        # NEXT_STEP: the envs that finished last step start over, with reward 0 and no termination.
        if resetting.any():
            finished_seen += int(resetting.sum())
            assert (
                (rewards[resetting] == 0).all() and not terminated[resetting].any() and not truncated[resetting].any()
            )
            np.testing.assert_array_equal(venv.agent_pos[resetting], venv.start_pos[resetting])
            assert (venv.elapsed_steps[resetting] == 0).all() and not info["doors_changed"][resetting].any()
    assert finished_seen > 0


four_rooms_configs = st.tuples(
    st.just("FourRooms-Dynamic-v0"),
    st.fixed_dictionaries({"n_closed_doors": st.integers(0, 4)}),
)
maze_configs = st.tuples(
    st.just("RandomDoorMaze-v0"),
    st.fixed_dictionaries({"n_fixed_walls": st.integers(0, 30), "n_temp_doors": st.integers(0, 19)}),
)


any_configuration = given(
    config=st.one_of(four_rooms_configs, maze_configs),
    p_change=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)),
    distinct_doors=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from([AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]),
)


@settings(max_examples=8)
@any_configuration
def test_rules_hold_for_any_configuration(config, p_change, distinct_doors, seed, mode):
    check_rules_for_configuration(config, p_change, distinct_doors, seed, mode)


@pytest.mark.slow
@settings(max_examples=60)
@any_configuration
def test_rules_hold_for_many_configurations(config, p_change, distinct_doors, seed, mode):
    check_rules_for_configuration(config, p_change, distinct_doors, seed, mode)


def check_rules_for_configuration(config, p_change, distinct_doors, seed, mode) -> None:
    env_id, kwargs = config
    venv = make(
        env_id,
        num_envs=8,
        p_change=p_change,
        distinct_doors=distinct_doors,
        autoreset_mode=mode,
        max_episode_steps=12,
        **kwargs,
    ).unwrapped
    obs, info = venv.reset(seed=seed)
    check_state(venv, obs, info)
    rng = np.random.default_rng(seed)
    for _ in range(30):
        before, resetting = venv.closed_doors.copy(), venv._autoreset.copy()
        obs, _, terminated, truncated, info = venv.step(rng.integers(0, 4, size=8))
        check_state(venv, obs, info)
        if p_change == 0.0:  # no redraws: doors change only with a new episode
            kept = ~(terminated | truncated) if mode == AutoresetMode.SAME_STEP else ~resetting
            assert not info["doors_changed"].any()
            np.testing.assert_array_equal(venv.closed_doors[kept], before[kept])


# SPEC section 2, (fixed wall, closed door) tokens: in the paper's view a fixed wall and a closed FourRooms doorway
# look like a wall and a closed temporary maze door has a token of its own; distinct_doors=True separates all.
DOOR_TOKENS = {
    ("FourRooms-Dynamic-v0", False): (1, 1),
    ("FourRooms-Dynamic-v0", True): (6, 5),
    ("RandomDoorMaze-v0", False): (1, 5),
    ("RandomDoorMaze-v0", True): (6, 5),
}


@pytest.mark.parametrize("distinct_doors", [False, True])
@pytest.mark.parametrize("env_id, n_fixed, n_closed", [("FourRooms-Dynamic-v0", 0, 1), ("RandomDoorMaze-v0", 10, 5)])
def test_first_observation_shows_closed_doors_and_fixed_walls(env_id, n_fixed, n_closed, distinct_doors):
    layout = core.FOUR_ROOMS if env_id.startswith("Four") else core.DOOR_MAZE
    base_walls = int(layout.walls[layout.obs_window].sum())
    fixed_token, closed_token = DOOR_TOKENS[env_id, distinct_doors]
    expected = {1: base_walls, 5: 0, 6: 0}  # wall, closed_door, fixed_wall
    expected[fixed_token] += n_fixed
    expected[closed_token] += n_closed
    obs, _ = make(env_id, num_envs=100, distinct_doors=distinct_doors).reset(seed=0)
    flat = obs.reshape(100, -1)
    for token, count in expected.items():
        assert ((flat == token).sum(axis=1) == count).all(), token


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("distinct_doors", [False, True])
@pytest.mark.parametrize("obs_mode", ["tokens", "onehot"])
def test_door_cells_carry_the_papers_tokens(env_id, distinct_doors, obs_mode):
    """Every fixed wall and closed door cell of every env shows its SPEC token, at reset and while doors move."""
    venv = make(env_id, num_envs=32, distinct_doors=distinct_doors, obs_mode=obs_mode, p_change=0.5).unwrapped
    fixed_token, closed_token = DOOR_TOKENS[env_id, distinct_doors]
    layout = venv.layout
    r0, c0 = layout.obs_offset
    rows, cols = layout.door_positions[:, 0] - r0, layout.door_positions[:, 1] - c0
    obs, _ = venv.reset(seed=1)
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(20):
        if obs_mode == "onehot":
            assert (obs.sum(axis=1) == 1).all()
        tokens = obs if obs_mode == "tokens" else obs.argmax(axis=1)
        door_tokens = tokens[:, rows, cols]  # (N, K)
        assert (door_tokens[venv.fixed_walls] == fixed_token).all()
        assert (door_tokens[venv.closed_doors] == closed_token).all()
        seen |= {int(t) for t in door_tokens[venv.closed_doors | venv.fixed_walls]}
        obs, *_ = venv.step(rng.integers(0, 4, size=32))
    assert seen == ({fixed_token, closed_token} if venv.n_fixed_walls else {closed_token})


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_vec_returns_the_batched_env(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        venv = make(env_id, num_envs=8)
    assert isinstance(venv, VECTOR_CLASSES[env_id])
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert isinstance(venv.metadata["autoreset_mode"], AutoresetMode)
    assert venv.max_episode_steps == core.MAX_EPISODE_STEPS
    assert venv.single_observation_space == gym.spaces.Box(0, core.NUM_TOKENS - 1, OBS_SHAPES[env_id], np.uint8)
    assert venv.observation_space.shape == (8, *OBS_SHAPES[env_id])
    assert venv.single_action_space == gym.spaces.Discrete(4)
    assert venv.action_space == gym.spaces.MultiDiscrete([4] * 8)
    assert venv.spec is not None and venv.spec.id == env_id
    obs, info = venv.reset(seed=0)
    assert obs.shape == (8, *OBS_SHAPES[env_id]) and obs.dtype == np.uint8


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_kwargs_are_validated_like_the_single_env(env_id):
    with pytest.raises(ValueError, match="p_change"):
        make(env_id, p_change=1.5)
    with pytest.raises(ValueError, match="obs_mode"):
        make(env_id, obs_mode="pixels")
    with pytest.raises(ValueError, match="autoreset_mode"):
        make(env_id, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="num_envs"):
        make(env_id, num_envs=0)
    with pytest.raises(ValueError, match="render_mode"):
        make(env_id, render_mode="human")
    if env_id == "RandomDoorMaze-v0":
        with pytest.raises(ValueError, match="n_fixed_walls"):
            make(env_id, n_fixed_walls=40, n_temp_doors=10)
    venv = make(env_id, num_envs=4)
    with pytest.raises(gym.error.ResetNeeded):
        venv.step(np.zeros(4, dtype=np.int64))
    venv.reset(seed=0)
    with pytest.raises(ValueError, match="actions"):
        venv.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="actions"):
        venv.step(np.full(4, 4))
    with pytest.raises(ValueError, match="actions"):
        venv.step(np.zeros(4))  # floats
    with pytest.raises(ValueError, match="unknown reset option"):
        venv.reset(options={"layout": 1})


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("name", ["start", "goal"])
def test_bad_pinned_cells_are_one_line_errors(env_id, name):
    """A wrong ``start`` / ``goal`` option names the parameter, the expected shape and what it got, in one line."""
    venv = make(env_id, num_envs=16)
    venv.reset(seed=0)
    cases = [
        (np.ones((5, 3), dtype=np.int64), [f"options['{name}']", "(16, 2)", "got shape (5, 3)"]),
        (np.ones((16, 2)), [f"options['{name}']", "(16, 2)", "got shape (16, 2) dtype float64"]),
        ([[1, 1]] * 15, [f"options['{name}']", "(16, 2)", "got shape (15, 2)"]),
        (np.zeros((16, 2), dtype=np.int64), [f"options['{name}']", "walkable", "(0, 0)", "env 0"]),
        (np.full((16, 2), 50), [f"options['{name}']", "walkable", "(50, 50)"]),
    ]
    for cells, words in cases:
        with pytest.raises(ValueError) as excinfo:
            venv.reset(options={name: cells})
        message = str(excinfo.value)
        assert "\n" not in message, message
        for word in words:
            assert word in message, (word, message)


def test_bad_reset_mask_and_actions_are_one_line_errors():
    venv = make("RandomDoorMaze-v0", num_envs=64)
    venv.reset(seed=0)
    with pytest.raises(ValueError) as excinfo:
        venv.reset(options={"reset_mask": np.ones((64, 2), dtype=bool)})
    assert "\n" not in str(excinfo.value) and "got shape (64, 2) dtype bool" in str(excinfo.value)
    actions = np.zeros(64, dtype=np.int64)
    actions[[5, 9]] = 7
    with pytest.raises(ValueError) as excinfo:
        venv.step(actions)
    assert "\n" not in str(excinfo.value) and "got 7 for env 5 (2 env(s) out of range)" in str(excinfo.value)


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_same_seed_same_rollout(env_id, mode):
    def rollout(seed):
        venv = make(env_id, num_envs=32, autoreset_mode=mode)
        out = [venv.reset(seed=seed)[0]]
        rng = np.random.default_rng(1)
        for _ in range(100):
            obs, rew, term, trunc, info = venv.step(rng.integers(0, 4, size=32))
            out += [obs, rew, term, trunc, info["shortest_path"], info["doors_changed"]]
        return out

    a, b, c = rollout(7), rollout(7), rollout(8)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reset_reseeds_and_unseeded_batches_differ(env_id):
    venv = make(env_id, num_envs=64)
    first = venv.reset(seed=5)[0]
    venv.step(np.zeros(64, dtype=np.int64))
    np.testing.assert_array_equal(venv.reset(seed=5)[0], first)
    assert not np.array_equal(make(env_id, num_envs=64).reset()[0], make(env_id, num_envs=64).reset()[0])
    # The envs of one batch are not copies of each other.
    assert len({o.tobytes() for o in first}) > 32


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_step_autoreset_puts_final_obs_and_info_in_info(env_id):
    venv = make(env_id, num_envs=16, autoreset_mode=AutoresetMode.SAME_STEP, max_episode_steps=5).unwrapped
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    venv.reset(seed=1)
    snapshots = {}
    original = venv._reset_envs

    def snapshot_then_reset(idx, *args, **kwargs):
        # The state of the finished envs just before they are reset (independent of the env's obs code).
        snapshots["tokens"] = expected_tokens(venv)[idx]
        snapshots["agent"] = venv.agent_pos[idx]
        return original(idx, *args, **kwargs)

    venv._reset_envs = snapshot_then_reset
    rng = np.random.default_rng(0)
    seen = 0
    for _ in range(12):
        snapshots.clear()
        obs, rewards, terminated, truncated, info = venv.step(rng.integers(0, 4, size=16))
        done = terminated | truncated
        if not done.any():
            assert "final_obs" not in info
            continue
        seen += done.sum()
        idx = np.flatnonzero(done)
        assert info["final_obs"].dtype == object and info["final_obs"].shape == (16,)
        np.testing.assert_array_equal(info["_final_obs"], done)
        np.testing.assert_array_equal(info["_final_info"], done)
        assert all(info["final_obs"][i] is None for i in np.flatnonzero(~done))
        np.testing.assert_array_equal(np.stack(info["final_obs"][idx]), snapshots["tokens"])
        final = info["final_info"]
        np.testing.assert_array_equal(final["_agent_pos"], done)
        np.testing.assert_array_equal(final["agent_pos"][idx], snapshots["agent"])
        np.testing.assert_array_equal(final["is_success"][idx], terminated[idx])
        # The returned observation is already the new episode's first one.
        np.testing.assert_array_equal(venv.agent_pos[idx], venv.start_pos[idx])
        assert (venv.elapsed_steps[idx] == 0).all() and not info["is_success"][idx].any()
        check_state(venv, obs, info)
    assert seen > 16  # truncation every 5 steps


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_disabled_autoreset_needs_a_masked_reset(env_id):
    venv = make(env_id, num_envs=8, autoreset_mode="Disabled", max_episode_steps=3)
    venv.reset(seed=0)
    for _ in range(3):
        _, _, terminated, truncated, _ = venv.step(np.zeros(8, dtype=np.int64))
    done = terminated | truncated
    assert done.all()
    with pytest.raises(gym.error.ResetNeeded):
        venv.step(np.zeros(8, dtype=np.int64))
    mask = np.zeros(8, dtype=bool)
    mask[:3] = True
    venv.reset(options={"reset_mask": mask})
    with pytest.raises(gym.error.ResetNeeded):
        venv.step(np.zeros(8, dtype=np.int64))  # five envs still finished
    venv.reset(options={"reset_mask": ~mask})
    _, rewards, terminated, truncated, _ = venv.step(np.zeros(8, dtype=np.int64))
    assert not truncated.any()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reset_mask_resets_only_masked_envs(env_id):
    venv = make(env_id, num_envs=10).unwrapped
    venv.reset(seed=0)
    venv.step(np.full(10, core.EAST))
    before = (venv.agent_pos.copy(), venv.goal_pos.copy(), venv.elapsed_steps)
    mask = np.arange(10) % 2 == 0
    obs, info = venv.reset(options={"reset_mask": mask})
    np.testing.assert_array_equal(info["_agent_pos"], mask)
    np.testing.assert_array_equal(venv.agent_pos[~mask], before[0][~mask])
    np.testing.assert_array_equal(venv.elapsed_steps[~mask], before[2][~mask])
    assert (venv.elapsed_steps[mask] == 0).all()
    check_state(venv, obs, info | {f"_{k}": np.ones(10, dtype=bool) for k in INFO_KEYS})
    with pytest.raises(ValueError, match="reset_mask"):
        venv.reset(options={"reset_mask": np.ones(3, dtype=bool)})


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pinned_start_and_goal(env_id):
    venv = make(env_id, num_envs=50).unwrapped
    start, goal = (1, 1), (5, 5)
    _, info = venv.reset(seed=0, options={"start": start, "goal": goal})
    assert (venv.start_pos == start).all() and (info["goal_pos"] == goal).all()
    _, info = venv.reset(seed=0, options={"goal": goal})
    assert (info["goal_pos"] == goal).all() and not (venv.start_pos == goal).all(axis=1).any()
    assert len({tuple(p) for p in venv.start_pos.tolist()}) > 10
    with pytest.raises(ValueError, match="walkable"):
        venv.reset(options={"start": (0, 0)})
    with pytest.raises(ValueError, match="differ"):
        venv.reset(options={"start": start, "goal": start})


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_truncation_at_max_episode_steps(env_id):
    venv = make(env_id, num_envs=16, p_change=0.0)
    venv.reset(seed=0)
    finished_early = np.zeros(16, dtype=bool)
    for t in range(1, core.MAX_EPISODE_STEPS + 1):
        # Always north: mostly blocked moves, few envs reach their goal.
        _, _, terminated, truncated, _ = venv.step(np.zeros(16, dtype=np.int64))
        if t < core.MAX_EPISODE_STEPS:
            assert not truncated.any()
            finished_early |= terminated
    assert truncated[~finished_early].all() and not truncated[finished_early].any()
    assert (~finished_early).sum() > 8


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observation_modes_agree_with_tokens(env_id):
    tokens_env = make(env_id, num_envs=3)
    onehot_env = make(env_id, num_envs=3, obs_mode="onehot")
    rgb_env = make(env_id, num_envs=3, obs_mode="rgb", tile_size=8)
    t, _ = tokens_env.reset(seed=2)
    o, _ = onehot_env.reset(seed=2)
    r, _ = rgb_env.reset(seed=2)
    np.testing.assert_array_equal(o, core.tokens_to_onehot(t))
    assert onehot_env.observation_space.contains(o) and rgb_env.observation_space.contains(r)
    from hrm_mazes import rendering

    for _ in range(3):
        actions = np.array([1, 2, 3])
        t = tokens_env.step(actions)[0]
        o = onehot_env.step(actions)[0]
        r = rgb_env.step(actions)[0]
        np.testing.assert_array_equal(o, core.tokens_to_onehot(t))
        e = rgb_env.unwrapped
        for i in range(3):
            frame = rendering.render_rgb(
                e.layout,
                e.fixed_walls[i],
                e.closed_doors[i],
                tuple(e.start_pos[i]),
                tuple(e.goal_pos[i]),
                tuple(e.agent_pos[i]),
                e.changed_doors[i],
                8,
            )
            np.testing.assert_array_equal(r[i], frame)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_render_first_envs(env_id):
    venv = make(env_id, num_envs=10, render_mode="rgb_array", tile_size=8, render_num_envs=3)
    venv.reset(seed=0)
    frames = venv.render()
    h, w = core.FOUR_ROOMS.shape if env_id.startswith("Four") else core.DOOR_MAZE.shape
    assert len(frames) == 3 and all(f.shape == (h * 8, w * 8, 3) and f.dtype == np.uint8 for f in frames)
    text = make(env_id, num_envs=2, render_mode="ansi")
    text.reset(seed=0)
    lines = text.render()[0].splitlines()
    assert len(lines) == h and all(len(line) == w for line in lines)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observations_are_fresh_arrays(env_id):
    venv = make(env_id, num_envs=8)
    obs, _ = venv.reset(seed=0)
    kept = obs.copy()
    obs[:] = 0  # the caller may scribble on what it got
    obs2, *_ = venv.step(np.ones(8, dtype=np.int64))
    assert (obs2 != 0).any()
    venv.step(np.ones(8, dtype=np.int64))
    np.testing.assert_array_equal(kept, venv.reset(seed=0)[0])
    assert copy.deepcopy(venv.unwrapped).num_envs == 8


def test_generic_path_for_other_layouts():
    """A layout that is neither a room lattice nor table-friendly (FourRooms with a fixed wall) keeps per-env
    distance fields and uses the grid-BFS path check: the same rules hold."""
    from hrm_mazes.vector import DynamicDoorsVectorEnv
    from hrm_mazes.vector.door_cache import PerEnvDoorState

    venv = DynamicDoorsVectorEnv(core.FOUR_ROOMS, num_envs=24, n_closed=1, n_fixed_walls=1, p_change=0.3)
    assert isinstance(venv._door_cache, PerEnvDoorState) and venv._door_cache.room_lattice is None
    obs, info = venv.reset(seed=0)
    check_state(venv, obs, info)
    assert venv.fixed_walls.sum(axis=1).max() == 1
    rng = np.random.default_rng(0)
    for _ in range(100):
        obs, _, _, _, info = venv.step(rng.integers(0, 4, size=24))
        check_state(venv, obs, info)

"""The partially observed variants (``FourRooms-Dynamic-Partial-v0``, ``RandomDoorMaze-Partial-v0``, any env with a
``view_radius``): what the agent sees and what it does not, the same rules as the full envs, the batched env with
the single env's law, the fog in frames, the checkers, and the two observation-only oracles.

The expected view is rebuilt here from the documented rule (a ``(2r + 1)`` square around the agent, cut at the
grid's edge, plus the goal), not taken from ``hrm_mazes.core.view_mask``.
"""

from __future__ import annotations

import io
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from test_vector_equivalence import assert_close, assert_same_proportions

import hrm_mazes
from hrm_mazes import core, rendering
from hrm_mazes.oracle import BFSOracle, ViewOracle, run_oracle_episode, run_view_oracle_episode, view_oracle_action

PARTIAL = {"FourRooms-Dynamic-Partial-v0": "FourRooms-Dynamic-v0", "RandomDoorMaze-Partial-v0": "RandomDoorMaze-v0"}
UNSEEN = 7  # the documented id of the unseen token


def window(shape: tuple[int, int], agent, goal, radius: int) -> np.ndarray:
    """The cells the docs say the agent sees, one cell at a time: within ``radius`` rows and columns, or the goal."""
    seen = np.zeros(shape, dtype=bool)
    for r in range(shape[0]):
        for c in range(shape[1]):
            seen[r, c] = (abs(r - agent[0]) <= radius and abs(c - agent[1]) <= radius) or (r, c) == tuple(goal)
    return seen


def expected_view(full_obs: np.ndarray, env: gym.Env, radius: int) -> np.ndarray:
    """The full view's tokens with every cell the agent does not see read as unseen."""
    e = env.unwrapped
    offset = np.array(e.layout.obs_offset)
    seen = window(full_obs.shape, np.array(e.agent_pos) - offset, np.array(e.goal_pos) - offset, radius)
    return np.where(seen, full_obs, UNSEEN)


# --- registration, spaces, checkers ------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", PARTIAL)
def test_registered_with_a_5x5_view_and_one_more_token(env_id):
    full_id = PARTIAL[env_id]
    assert env_id in hrm_mazes.ENV_IDS and gym.spec(env_id).kwargs == {"view_radius": 2}
    assert gym.spec(env_id).max_episode_steps == 80
    assert core.TOKEN_NAMES[UNSEEN] == "unseen" and core.UNSEEN == UNSEEN
    for obs_mode in ("tokens", "onehot", "rgb"):
        partial, full = gym.make(env_id, obs_mode=obs_mode, tile_size=8), gym.make(full_id, obs_mode=obs_mode, tile_size=8)
        assert partial.unwrapped.view_radius == 2 and full.unwrapped.view_radius is None
        if obs_mode == "rgb":  # the same frame size; tokens and one-hot: below
            assert partial.observation_space == full.observation_space
        venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", obs_mode=obs_mode, tile_size=8)
        assert venv.single_observation_space == partial.observation_space
    rows, cols = gym.make(full_id).observation_space.shape
    assert gym.make(env_id).observation_space == gym.spaces.Box(0, 7, (rows, cols), np.uint8)
    assert gym.make(env_id, obs_mode="onehot").observation_space == gym.spaces.Box(0, 1, (8, rows, cols), np.uint8)
    # The full envs keep their spaces exactly: saved models still load.
    assert gym.make(full_id).observation_space == gym.spaces.Box(0, 6, (rows, cols), np.uint8)
    assert gym.make(full_id, obs_mode="onehot").observation_space == gym.spaces.Box(0, 1, (7, rows, cols), np.uint8)


@pytest.mark.parametrize("env_id", PARTIAL)
@pytest.mark.parametrize("obs_mode", ["tokens", "onehot", "rgb"])
def test_gymnasium_env_checker_has_no_warnings(env_id, obs_mode):
    for kwargs in ({"obs_mode": obs_mode}, {"obs_mode": obs_mode, "render_mode": "rgb_array", "tile_size": 8}):
        env = gym.make(env_id, **kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gym_check_env(env.unwrapped)
        assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("bad", [0, -1, 13, 2.0, 2.5, True, "2", [2]])
def test_view_radius_is_checked_with_a_clear_error(bad):
    message = r"view_radius must be None \(the full view\) or an integer in \[1, 12\]"
    with pytest.raises(ValueError, match=message):
        gym.make("FourRooms-Dynamic-v0", view_radius=bad)
    with pytest.raises(ValueError, match=message):
        gym.make("RandomDoorMaze-Partial-v0", view_radius=bad)
    with pytest.raises(ValueError, match=message):
        gym.make_vec("RandomDoorMaze-v0", num_envs=2, vectorization_mode="vector_entry_point", view_radius=bad)
    assert gym.make("RandomDoorMaze-Partial-v0", view_radius=np.int64(12)).unwrapped.view_radius == 12
    assert gym.make("RandomDoorMaze-Partial-v0", view_radius=None).observation_space.high.max() == 6


# --- the view ----------------------------------------------------------------------------------------------


@settings(max_examples=15)
@given(
    env_id=st.sampled_from(sorted(PARTIAL)),
    radius=st.integers(1, 4),
    distinct_doors=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
    actions=st.lists(st.integers(0, 3), min_size=1, max_size=40),
)
def test_the_view_is_the_full_view_cut_to_the_window_and_the_goal(env_id, radius, distinct_doors, seed, actions):
    """Same seed, same actions: the partial env plays the full env's episode (the view draws no randomness),
    with the same rewards and infos, and shows its tokens inside the window and at the goal, unseen elsewhere."""
    kwargs = {"p_change": 0.3, "distinct_doors": distinct_doors}
    full, partial = gym.make(PARTIAL[env_id], **kwargs), gym.make(env_id, view_radius=radius, **kwargs)
    onehot = gym.make(env_id, view_radius=radius, obs_mode="onehot", **kwargs)
    full_obs, full_info = full.reset(seed=seed)
    obs, info = partial.reset(seed=seed)
    planes, _ = onehot.reset(seed=seed)
    term = trunc = False
    for action in [None, *actions]:
        if action is not None:
            full_obs, full_reward, full_term, full_trunc, full_info = full.step(action)
            obs, reward, term, trunc, info = partial.step(action)
            planes, *_ = onehot.step(action)
            assert (reward, term, trunc) == (full_reward, full_term, full_trunc)
        assert info == full_info
        expected = expected_view(full_obs, partial, radius)
        np.testing.assert_array_equal(obs, expected)
        np.testing.assert_array_equal(planes, np.moveaxis(np.eye(8, dtype=np.uint8)[expected], -1, 0))
        assert partial.observation_space.contains(obs) and onehot.observation_space.contains(planes)
        assert (obs == core.GOAL).sum() == (full_obs == core.GOAL).sum() == (0 if info["is_success"] else 1)
        if term or trunc:
            break


@given(
    shape=st.tuples(st.integers(1, 15), st.integers(1, 15)),
    data=st.data(),
    radius=st.integers(1, 12),
)
def test_view_mask_is_the_window_cut_at_the_edges_plus_the_goal(shape, data, radius):
    cells = st.tuples(st.integers(0, shape[0] - 1), st.integers(0, shape[1] - 1))
    agent, goal = data.draw(cells), data.draw(cells)
    mask = core.view_mask(shape, np.array([agent]), np.array([goal]), radius)[0]
    np.testing.assert_array_equal(mask, window(shape, agent, goal, radius))
    rows = min(agent[0] + radius, shape[0] - 1) - max(agent[0] - radius, 0) + 1
    cols = min(agent[1] + radius, shape[1] - 1) - max(agent[1] - radius, 0) + 1
    goal_outside = abs(goal[0] - agent[0]) > radius or abs(goal[1] - agent[1]) > radius
    assert mask.sum() == rows * cols + goal_outside


def test_what_is_shown_and_what_is_hidden_in_a_corner():
    """FourRooms from the top-left corner with radius 2: the 3x3 corner of the interior and the goal are shown,
    the rest (the start marker included, once the agent has left it) reads unseen."""
    env = gym.make("FourRooms-Dynamic-Partial-v0", p_change=0.0)
    obs, _ = env.reset(seed=0, options={"start": (2, 2), "goal": (11, 11)})
    expected = np.full((11, 11), UNSEEN)
    expected[:4, :4] = core.FLOOR
    expected[1, 1] = core.AGENT
    expected[10, 10] = core.GOAL
    np.testing.assert_array_equal(obs, expected)
    env.step(core.NORTH)
    obs, *_ = env.step(core.WEST)  # to map (1, 1): the window is cut at the grid's edge (the outer wall is cropped)
    expected = np.full((11, 11), UNSEEN)
    expected[:3, :3] = core.FLOOR
    expected[0, 0], expected[1, 1], expected[10, 10] = core.AGENT, core.START, core.GOAL
    np.testing.assert_array_equal(obs, expected)
    for _ in range(4):  # east along the top row: the window follows the agent, the start falls out of it
        obs, *_ = env.step(core.EAST)
    assert obs[0, 4] == core.AGENT and (obs[:3, 2:7] != UNSEEN).all()
    assert (obs[:, :2] == UNSEEN).all() and (obs[3:, :10] == UNSEEN).all() and obs[10, 10] == core.GOAL
    assert (obs[:2, 5] == core.WALL).all()  # the wall between the top rooms comes into view


def test_door_changes_outside_the_view_are_not_seen_and_inside_they_are():
    """Doors redrawn on every step: the agent in a corner far from every doorway sees the same grid every step;
    next to a doorway it sees the doorway close and open."""
    env = gym.make("FourRooms-Dynamic-Partial-v0", p_change=1.0, distinct_doors=True)
    first, info = env.reset(seed=5, options={"start": (1, 1), "goal": (11, 11)})
    changes = 0
    for _ in range(30):
        obs, _, _, _, info = env.step(core.NORTH)  # into the outer wall: the agent stays put
        changes += info["doors_changed"]
        np.testing.assert_array_equal(obs, first)
    assert changes > 10
    env.reset(seed=5, options={"start": (3, 5), "goal": (11, 11)})  # beside doorway (3, 6), map coordinates
    seen = set()
    for _ in range(30):
        obs, *_ = env.step(core.NORTH)  # (2, 5) and back keep the doorway in view
        seen.add(int(obs[2, 5]))  # the doorway's observation index
        obs, *_ = env.step(core.SOUTH)
        seen.add(int(obs[2, 5]))
    assert seen == {core.FLOOR, core.CLOSED_DOOR}


# --- the batched env ---------------------------------------------------------------------------------------


def make_vec(env_id: str, num_envs: int, **kwargs):
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs).unwrapped


@pytest.mark.parametrize("env_id", PARTIAL)
def test_batched_observations_are_the_windowed_tokens_of_each_state(env_id):
    """Every step, in every env and every observation mode: the full tokens of its state, cut to its window."""
    venvs = {m: make_vec(env_id, 24, obs_mode=m, p_change=0.3, tile_size=4) for m in ("tokens", "onehot", "rgb")}
    observations = {m: v.reset(seed=3)[0] for m, v in venvs.items()}
    venv = venvs["tokens"]
    layout = venv.layout
    rows, cols = layout.obs_window
    offset = np.array(layout.obs_offset)
    atlas = rendering.view_atlas(4)
    rng = np.random.default_rng(3)
    for _ in range(25):
        full = core.token_grid(layout, venv.fixed_walls, venv.closed_doors, venv.start_pos, venv.goal_pos,
                               venv.agent_pos, venv.distinct_doors)[:, rows, cols]  # fmt: skip
        for i in range(venv.num_envs):
            for other in venvs.values():  # the three envs play the same episodes: same seed, same actions
                np.testing.assert_array_equal(other.agent_pos[i], venv.agent_pos[i])
            seen = window(full[i].shape, venv.agent_pos[i] - offset, venv.goal_pos[i] - offset, 2)
            expected = np.where(seen, full[i], UNSEEN)
            np.testing.assert_array_equal(observations["tokens"][i], expected)
            np.testing.assert_array_equal(observations["onehot"][i], np.moveaxis(np.eye(8, dtype=np.uint8)[expected], -1, 0))
            hidden = ~window(layout.shape, venv.agent_pos[i], venv.goal_pos[i], 2)
            frame = observations["rgb"][i].reshape(layout.shape[0], 4, layout.shape[1], 4, 3).swapaxes(1, 2)
            assert (frame[hidden] == atlas[rendering.UNSEEN_TILE]).all()
            assert not (frame[~hidden] == atlas[rendering.UNSEEN_TILE]).all(axis=(1, 2, 3)).any()
        actions = rng.integers(0, 4, size=venv.num_envs)
        observations = {m: v.step(actions)[0] for m, v in venvs.items()}


@pytest.mark.parametrize("env_id", PARTIAL)
def test_batched_env_has_the_single_envs_law(env_id):
    """What the agent sees at reset (how many cells, which tokens) and how the observation-only oracle fares on
    the observations: the batched and the single env agree within 5 sigma."""
    n_batched, n_single = 500, 250
    venv = make_vec(env_id, n_batched)
    batched_obs, _ = venv.reset(seed=0)
    env = gym.make(env_id)
    single_obs = np.stack([env.reset(seed=s)[0] for s in range(n_single)])
    tokens = np.arange(8)
    counts = lambda obs: (obs.reshape(len(obs), -1)[:, :, None] == tokens).sum(axis=1)  # noqa: E731
    bins = np.arange(batched_obs[0].size + 1)[None, :]  # how many cells are unseen
    assert_same_proportions(counts(batched_obs)[:, UNSEEN, None] == bins, counts(single_obs)[:, UNSEEN, None] == bins)
    assert_same_proportions(counts(batched_obs) > 0, counts(single_obs) > 0)  # which tokens are in view

    oracles = [ViewOracle(venv.layout) for _ in range(n_batched)]
    running = np.ones(n_batched, dtype=bool)
    success, length = np.zeros(n_batched, dtype=bool), np.zeros(n_batched)
    obs = batched_obs
    while running.any():
        actions = np.zeros(n_batched, dtype=np.int64)  # finished envs: anything, their later episodes are not counted
        actions[running] = [oracles[i](obs[i]) for i in np.flatnonzero(running)]
        obs, _, terminated, truncated, _ = venv.step(actions)
        length += running
        success |= running & terminated
        running &= ~(terminated | truncated)
    single = [run_view_oracle_episode(env, memory=True, seed=s) for s in range(n_single)]
    s_success = np.array([r["success"] for r in single], dtype=float)
    s_length = np.array([r["length"] for r in single], dtype=float)
    p = (s_success.sum() + success.sum()) / (n_single + n_batched)
    assert_close(success.mean(), s_success.mean(), max(p * (1 - p), 1e-4) * (1 / n_single + 1 / n_batched))
    assert_close(length.mean(), s_length.mean(), s_length.var() / n_single + length.var() / n_batched)


# --- rendering: the fog -------------------------------------------------------------------------------------


def cells_of(frame: np.ndarray, shape: tuple[int, int], t: int) -> np.ndarray:
    return frame.reshape(shape[0], t, shape[1], t, 3).swapaxes(1, 2)


@pytest.mark.parametrize("env_id", PARTIAL)
def test_frames_dim_the_fog_and_observations_hide_it(env_id):
    """render(): the cells in view (and the goal) are the full env's tiles, the others the same tiles dimmed; the
    rgb observation shows the unseen tile there instead. The batched env draws the same frames."""
    t = 8
    partial = gym.make(env_id, render_mode="rgb_array", obs_mode="rgb", tile_size=t, p_change=0.5)
    full = gym.make(PARTIAL[env_id], render_mode="rgb_array", tile_size=t, p_change=0.5)
    atlas, views = rendering.tile_atlas(t), rendering.view_atlas(t)
    obs, _ = partial.reset(seed=1)
    full.reset(seed=1)
    oracle = BFSOracle(full)
    for _ in range(8):
        e = partial.unwrapped
        shape = e.layout.shape
        seen = window(shape, e.agent_pos, e.goal_pos, 2)
        truth = cells_of(full.render(), shape, t)
        frame, observed = cells_of(partial.render(), shape, t), cells_of(obs, shape, t)
        kinds = [int(np.flatnonzero((atlas == tile).all(axis=(1, 2, 3)))[0]) for tile in truth.reshape(-1, t, t, 3)]
        for (r, c), kind in zip(np.ndindex(shape), kinds, strict=True):
            if seen[r, c]:
                assert np.array_equal(frame[r, c], atlas[kind]) and np.array_equal(observed[r, c], atlas[kind])
            else:
                assert np.array_equal(frame[r, c], views[kind + rendering.NUM_TILES])
                assert np.array_equal(observed[r, c], views[rendering.UNSEEN_TILE])
        action = oracle()
        obs, _, terminated, truncated, _ = partial.step(action)
        full.step(action)
        if terminated or truncated:
            break
    venv = make_vec(env_id, 3, render_mode="rgb_array", tile_size=t)
    venv.reset(seed=2)
    singles = []
    for i in range(3):  # the batched env's states drawn by the single env's renderer
        env = gym.make(env_id, render_mode="rgb_array", tile_size=t).unwrapped
        env.reset(seed=0)
        env.start_pos, env.goal_pos, env.agent_pos = (tuple(int(x) for x in p[i]) for p in
                                                      (venv.start_pos, venv.goal_pos, venv.agent_pos))  # fmt: skip
        env.fixed_walls, env.closed_doors = venv.fixed_walls[i], venv.closed_doors[i]
        env.changed_doors = venv.changed_doors[i]
        singles.append(env.render())
    np.testing.assert_array_equal(np.stack(venv.render()), np.stack(singles))


def test_dimmed_and_unseen_tiles_differ_from_every_tile_in_view():
    views = rendering.view_atlas(8).reshape(2 * rendering.NUM_TILES + 1, -1)
    in_view, dimmed, unseen = views[: rendering.NUM_TILES], views[rendering.NUM_TILES : -1], views[-1]
    assert not (in_view[:, None] == dimmed[None]).all(axis=2).any()
    assert not (in_view == unseen).all(axis=1).any() and not (dimmed == unseen).all(axis=1).any()
    assert (dimmed.astype(int).sum(axis=1) < in_view.astype(int).sum(axis=1)).all()  # dimmed is darker
    with pytest.raises(ValueError, match="fog must be one of"):
        rendering.with_fog(np.zeros((2, 2), int), np.ones((2, 2), bool), "blur")


def test_human_window_and_play_show_the_partial_variant(monkeypatch):
    import pygame

    from hrm_mazes import play

    env = gym.make("RandomDoorMaze-Partial-v0", render_mode="human", tile_size=8)
    env.unwrapped.metadata = {**env.unwrapped.metadata, "render_fps": 1000}
    env.reset(seed=0)
    env.step(core.EAST)
    env.close()
    pygame.display.quit()
    keys = iter([[pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT)], [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE)]])
    env = gym.make("FourRooms-Dynamic-Partial-v0", render_mode="rgb_array", tile_size=8)
    episodes = play.run(env, seed=3, fps=1000, event_source=lambda: next(keys, []), out=io.StringIO())
    assert episodes[0].steps == 1 and not pygame.display.get_init()


def test_ansi_draws_the_true_map_and_an_observation_its_unseen_cells():
    env = gym.make("FourRooms-Dynamic-Partial-v0", render_mode="ansi")
    obs, _ = env.reset(seed=1)
    full = gym.make("FourRooms-Dynamic-v0", render_mode="ansi")
    full.reset(seed=1)
    assert env.render() == full.render()  # the renderer draws the truth; the observation is what the agent gets
    text = rendering.render_ansi(env.unwrapped.layout, obs)
    assert text.count("~") == int((obs == UNSEEN).sum()) and "A" in text and "G" in text


def test_sb3_adapter_returns_windowed_terminal_observations():
    pytest.importorskip("stable_baselines3")
    from hrm_mazes.sb3 import make_sb3_vec_env

    venv = make_sb3_vec_env("RandomDoorMaze-Partial-v0", num_envs=16, seed=0, obs_mode="onehot")
    assert venv.observation_space == gym.spaces.Box(0, 1, (8, 11, 13), np.uint8)
    obs = venv.reset()
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(90):
        obs, _, dones, infos = venv.step(rng.integers(0, 4, size=16))
        assert obs.shape == (16, 8, 11, 13) and (obs.sum(axis=1) == 1).all() and obs[:, UNSEEN].any(axis=(1, 2)).all()
        for done, info in zip(dones, infos, strict=True):
            if done:
                finished += 1
                assert venv.observation_space.contains(info["terminal_observation"])
    assert finished >= 16


# --- the observation-only oracles ---------------------------------------------------------------------------


def closed_doorway_episode(env: gym.Env, doorway: tuple[int, int], options: dict) -> int:
    """A seed whose episode (``p_change=0``: the doors never move) has exactly ``doorway`` closed."""
    for seed in range(200):
        env.reset(seed=seed, options=options)
        e = env.unwrapped
        if [tuple(int(x) for x in p) for p in e.layout.door_positions[e.closed_doors]] == [doorway]:
            return seed
    raise AssertionError(f"no seed closes {doorway}")


def test_memory_oracle_remembers_a_closed_door_and_routes_around_it():
    """Start and goal in the two top rooms, their doorway closed for good: the memory oracle sees it closed, turns
    back and takes the long way round; the memoryless one forgets the door as soon as it leaves the view, turns
    towards it again, and never gets through."""
    env = gym.make("FourRooms-Dynamic-Partial-v0", p_change=0.0)
    options = {"start": (2, 4), "goal": (2, 8)}
    seed = closed_doorway_episode(env, (3, 6), options)
    _, info = env.reset(seed=seed, options=options)
    detour = info["shortest_path"]
    assert detour > 20  # around through the three other doorways
    memory = run_view_oracle_episode(env, memory=True, seed=seed, options=options)
    memoryless = run_view_oracle_episode(env, memory=False, seed=seed, options=options)
    assert memory["success"] and memory["length"] <= detour + 4  # a few steps lost finding out
    assert not memoryless["success"] and memoryless["length"] == 80


def test_memory_oracle_forgets_its_oldest_sighting_first():
    """Two doorways remembered closed cut the goal off on the belief map; with one closed door at a time one of
    them must have reopened: the oracle forgets the older sighting and plans through it."""
    layout = core.FOUR_ROOMS
    view = np.full(layout.shape, UNSEEN)  # map coordinates: the agent in the top-left room, the goal top-right
    view[2, 2], view[2, 8] = core.AGENT, core.GOAL
    belief = view.copy()
    belief[3, 6] = belief[7, 9] = core.WALL  # both doorways seen closed (FourRooms' paper view: a wall), out of view now
    seen_at = np.full(layout.shape, -1)
    seen_at[3, 6], seen_at[7, 9] = 1, 20
    assert view_oracle_action(layout, belief, view, core.WALL, seen_at) == core.EAST  # forgets (3, 6): through it
    seen_at[3, 6], seen_at[7, 9] = 20, 1
    assert view_oracle_action(layout, belief, view, core.WALL, seen_at) == core.SOUTH  # forgets (7, 9): round


@pytest.mark.parametrize("env_id", PARTIAL)
def test_both_oracles_walk_shortest_paths_when_every_door_is_open(env_id):
    kwargs = {"n_closed_doors": 0} if env_id.startswith("FourRooms") else {"n_temp_doors": 0, "n_fixed_walls": 0}
    env = gym.make(env_id, p_change=0.0, **kwargs)
    for seed in range(20):
        _, info = env.reset(seed=seed)
        for memory in (True, False):
            run = run_view_oracle_episode(env, memory=memory, seed=seed)
            assert run["success"] and run["length"] == info["shortest_path"], (seed, memory)


def test_the_oracles_act_on_the_observations_alone():
    """Replaying an episode's observations to a fresh oracle, with no env at all, gives the same actions; one-hot
    observations give the same actions as tokens."""
    env = gym.make("RandomDoorMaze-Partial-v0", p_change=0.2)
    onehot = gym.make("RandomDoorMaze-Partial-v0", p_change=0.2, obs_mode="onehot")
    for memory in (True, False):
        oracle, by_planes = ViewOracle.for_env(env, memory), ViewOracle.for_env(onehot, memory)
        obs, _ = env.reset(seed=7)
        planes, _ = onehot.reset(seed=7)
        seen, actions = [], []
        for _ in range(40):
            seen.append(obs)
            actions.append(oracle(obs))
            assert by_planes(planes) == actions[-1]
            obs, _, terminated, truncated, _ = env.step(actions[-1])
            planes, *_ = onehot.step(actions[-1])
            if terminated or truncated:
                break
        replay = ViewOracle(core.DOOR_MAZE, distinct_doors=False, memory=memory)
        assert [replay(o) for o in seen] == actions
    with pytest.raises(ValueError, match="token grids"):
        oracle(np.zeros((11, 11), np.uint8))


def test_the_players_are_evaluated_like_the_reference_players():
    from agents.harness.evaluation import PLAYERS, REFERENCE_PLAYERS, evaluate

    assert set(PLAYERS) == {*REFERENCE_PLAYERS, "memory-oracle", "memoryless-oracle"}
    env = gym.make("FourRooms-Dynamic-Partial-v0")
    seeds = range(1_000_000, 1_000_012)
    for name, memory in (("memory-oracle", True), ("memoryless-oracle", False)):
        player = PLAYERS[name]()
        assert player.name == name
        result = evaluate(player, "FourRooms-Dynamic-Partial-v0", episodes=12, n_parallel=5)
        expected = [run_view_oracle_episode(env, memory=memory, seed=s) for s in seeds]
        assert [(r["success"], r["length"]) for r in result.records] == [(r["success"], r["length"]) for r in expected]
        oracle = [run_oracle_episode(env, seed=s)["length"] for s in seeds]
        assert result.summary["oracle_mean_length"] == pytest.approx(np.mean(oracle))


def test_evaluate_command_line_plays_the_observation_only_oracles(tmp_path, capsys):
    from cli_helpers import run_cli

    out = tmp_path / "memory.json"
    rc, stdout, err = run_cli(["evaluate", "--agent", "memoryless-oracle", "--env", "RandomDoorMaze-Partial-v0",
                               "--episodes", "4", "--no-progress", "--json", str(out)], capsys)  # fmt: skip
    assert rc == 0 and out.is_file(), err
    assert stdout.startswith("memoryless-oracle on RandomDoorMaze-Partial-v0: 4 held-out episodes")


def test_watch_plays_an_observation_only_oracle(tmp_path, capsys):
    from cli_helpers import run_cli

    gif = tmp_path / "memory.gif"
    rc, _, err = run_cli(["watch", "--agent", "memory-oracle", "--env", "FourRooms-Dynamic-Partial-v0", "--episodes",
                          "1", "--fps", "1000", "--save", str(gif)], capsys)  # fmt: skip
    assert rc == 0 and gif.stat().st_size > 0, err

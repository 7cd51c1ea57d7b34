"""The batched env follows the single env's rules: its fast array shortcuts equal core's BFS and painters
exactly, the fixed-wall sampler both envs use has the law of the rule as stated (the one-proposal-at-a-time
reference in ``reference_rules.py``), and the batched and single envs
agree on the distributions of reset states, door changes and oracle results; the batched oracle picks the
scalar oracle's action in every state.

Statistical checks use fixed seeds (deterministic) and a tolerance of 5 standard deviations of the compared
quantity, so a correct implementation passes for all but ~1e-6 of seeds while a wrong rule is far outside.
"""

from __future__ import annotations

from math import comb, sqrt

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from hypothesis import given
from hypothesis import strategies as st
from reference_rules import place_fixed_walls

import hrm_mazes  # noqa: F401
from hrm_mazes import core
from hrm_mazes.oracle import (
    BatchedBFSOracle,
    batched_oracle_actions,
    oracle_action,
    run_batched_oracle_episodes,
    run_oracle_episode,
)

ENV_IDS = ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0")
LAYOUTS = {"four_rooms": core.FOUR_ROOMS, "door_maze": core.DOOR_MAZE}
SIGMAS = 5.0


def make_vec(env_id: str, num_envs: int, **kwargs):
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs).unwrapped


def random_states(layout: core.Layout, n: int, seed: int, p_blocked: float) -> tuple:
    """``n`` arbitrary door states (any blocked subset, goal anywhere walkable): harder than the env's."""
    rng = np.random.default_rng(seed)
    blocked = rng.random((n, layout.num_doors)) < p_blocked
    split = rng.random((n, layout.num_doors)) < 0.5
    goal = layout.walkable_positions[rng.integers(len(layout.walkable_positions), size=n)]
    return blocked & split, blocked & ~split, goal


def assert_close(observed: float, expected: float, variance: float) -> None:
    tolerance = SIGMAS * sqrt(variance)
    assert abs(observed - expected) <= tolerance, f"observed {observed}, expected {expected:.4f} +- {tolerance:.4f}"


def assert_same_proportions(a: np.ndarray, b: np.ndarray) -> None:
    """Per column, the frequency of True in samples ``a`` and ``b`` (rows) agrees within 5 sigma."""
    pa, pb = a.mean(axis=0), b.mean(axis=0)
    pooled = (a.sum(axis=0) + b.sum(axis=0)) / (len(a) + len(b))
    sigma = np.sqrt(pooled * (1 - pooled) * (1 / len(a) + 1 / len(b)))
    z = np.abs(pa - pb) / np.where(sigma > 0, sigma, 1.0)
    assert (z <= SIGMAS).all(), f"max z {z.max():.2f} at column {int(z.argmax())}: {pa[z.argmax()]} vs {pb[z.argmax()]}"


# --- exact shortcuts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LAYOUTS))
@given(seed=st.integers(0, 2**32 - 1), p_blocked=st.floats(0.0, 1.0))
def test_goal_distances_equal_bfs(name, seed, p_blocked):
    layout = LAYOUTS[name]
    fixed, closed, goal = random_states(layout, 64, seed, p_blocked)
    fast = core.batched_goal_distances(layout, fixed, closed, goal)
    grid = core.batched_bfs_distances(core.blocked_grid(layout, fixed, closed), goal).reshape(64, -1)
    np.testing.assert_array_equal(fast, grid)
    w = layout.shape[1]
    blocked = core.blocked_grid(layout, fixed, closed).reshape(64, -1)
    for i in range(0, 64, 16):  # and the scalar BFS the single env uses
        np.testing.assert_array_equal(
            fast[i], core.bfs_distances(layout, blocked[i].tolist(), int(goal[i, 0] * w + goal[i, 1]))
        )


def test_the_maze_uses_the_room_lattice_and_fourrooms_the_table():
    lattice = core.room_lattice(core.DOOR_MAZE)
    assert (lattice.rows, lattice.cols, len(lattice.door_rooms)) == (5, 6, 49)
    assert core.room_lattice(core.FOUR_ROOMS) is None
    assert core.goal_distance_table(core.FOUR_ROOMS).shape == (16, 169, 169)


@pytest.mark.parametrize("name", list(LAYOUTS))
@given(seed=st.integers(0, 2**32 - 1), p_blocked=st.floats(0.0, 1.0))
def test_connectivity_equals_bfs(name, seed, p_blocked):
    layout = LAYOUTS[name]
    fixed, closed, goal = random_states(layout, 64, seed, p_blocked)
    rng = np.random.default_rng(seed)
    source = layout.walkable_positions[rng.integers(len(layout.walkable_positions), size=64)]
    w = layout.shape[1]
    blocked = fixed | closed
    # Source and target are never blocked in the envs (fixed walls avoid start and goal).
    blocked &= ~core.positions_on_doors(layout, np.stack([source, goal], axis=1))
    dist = core.batched_bfs_distances(core.blocked_grid(layout, blocked, np.zeros_like(blocked)), source)
    expected = dist[np.arange(64), goal[:, 0], goal[:, 1]] >= 0
    got = core.batched_is_connected(layout, blocked, source[:, 0] * w + source[:, 1], goal[:, 0] * w + goal[:, 1])
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize("distinct_doors", [False, True])
def test_static_tokens_equal_token_grid(name, distinct_doors):
    layout = LAYOUTS[name]
    fixed, closed, goal = random_states(layout, 200, 0, 0.4)
    rng = np.random.default_rng(1)
    closed |= rng.random(closed.shape) < 0.1  # overlaps too: a closed door is painted over a fixed wall
    start = layout.walkable_positions[rng.integers(len(layout.walkable_positions), size=200)]
    w = layout.shape[1]
    expected = core.token_grid(layout, fixed, closed, start, goal, None, distinct_doors).reshape(200, -1)
    got = core.static_tokens(
        layout, fixed, closed, start[:, 0] * w + start[:, 1], goal[:, 0] * w + goal[:, 1], distinct_doors
    )
    np.testing.assert_array_equal(got, expected)


def test_sample_subset_picks_the_k_smallest_keys():
    """The redraw rule: the k eligible cells with the smallest i.i.d. uniform keys (argpartition's choice)."""
    for seed in range(30):
        rng = np.random.default_rng(seed)
        eligible = rng.random((50, 49)) < rng.random()
        for k in (1, 2, 5, 10, 48, 49, 60):
            got = core.sample_subset(np.random.default_rng(seed + k), eligible, k)
            keys = np.where(eligible, np.random.default_rng(seed + k).random((50, 49)), 2.0)
            if k >= 49:
                np.testing.assert_array_equal(got, eligible)
                continue
            chosen = np.zeros_like(eligible)
            np.put_along_axis(chosen, np.argpartition(keys, k - 1, axis=1)[:, :k], True, axis=1)
            np.testing.assert_array_equal(got, chosen & eligible)
            np.testing.assert_array_equal(got.sum(axis=1), np.minimum(k, eligible.sum(axis=1)))


# --- the fixed-wall sampler has the law of the rule as stated ------------------------------------------


@pytest.mark.parametrize(
    "start, goal, n_fixed, n_batched, n_reference",
    [
        ((1, 1), (9, 11), 10, 8_000, 1_500),  # default: rejections are rare
        ((1, 1), (9, 11), 30, 2_000, 500),  # many rejections and some skipped walls
        pytest.param((1, 1), (9, 11), 10, 20_000, 4_000, marks=pytest.mark.slow),
        pytest.param((1, 1), (9, 11), 30, 6_000, 2_000, marks=pytest.mark.slow),
        pytest.param((1, 2), (5, 5), 45, 6_000, 3_000, marks=pytest.mark.slow),  # a door-cell start; most skipped
    ],
)
def test_sample_fixed_walls_has_the_law_of_the_reference_rule(start, goal, n_fixed, n_batched, n_reference):
    layout = core.DOOR_MAZE
    rng = np.random.default_rng(0)
    batched = core.sample_fixed_walls(
        rng, layout, np.tile(start, (n_batched, 1)), np.tile(goal, (n_batched, 1)), n_fixed
    )
    reference = np.array([place_fixed_walls(rng, layout, start, goal, n_fixed) for _ in range(n_reference)])
    assert_same_proportions(batched, reference)  # where the walls go
    counts = np.arange(n_fixed + 1)[None, :]
    assert_same_proportions(batched.sum(axis=1)[:, None] == counts, reference.sum(axis=1)[:, None] == counts)  # how many
    # Start and goal are never walled off, and a skipped wall is legitimate (every candidate left would cut).
    w = layout.shape[1]
    assert core.batched_is_connected(
        layout, batched, np.full(n_batched, start[0] * w + start[1]), np.full(n_batched, goal[0] * w + goal[1])
    ).all()


@pytest.mark.parametrize("n_batched, n_reference", [(5_000, 1_000), pytest.param(20_000, 5_000, marks=pytest.mark.slow)])
def test_sample_fixed_walls_has_the_law_of_the_reference_rule_on_random_pairs(n_batched, n_reference):
    layout = core.DOOR_MAZE
    rng = np.random.default_rng(3)
    start, goal = core.sample_start_goal(rng, layout, n_batched)
    fast = core.sample_fixed_walls(rng, layout, start, goal, 10)
    reference = np.array(
        [place_fixed_walls(rng, layout, tuple(start[i]), tuple(goal[i]), 10) for i in range(n_reference)]
    )
    assert_same_proportions(fast, reference)
    assert not (fast & core.positions_on_doors(layout, np.stack([start, goal], axis=1))).any()


def test_the_single_env_draws_its_fixed_walls_with_the_library_sampler():
    """One implementation of the rule: the single env's reset is ``core.sample_fixed_walls`` with N = 1."""
    env = gym.make("RandomDoorMaze-v0")
    for layout_seed in range(5):
        env.reset(seed=0, options={"layout_seed": layout_seed})
        e = env.unwrapped
        rng = np.random.default_rng(layout_seed)
        start, goal = core.sample_start_goal(rng, e.layout, 1)
        np.testing.assert_array_equal(start[0], e.start_pos)
        expected = core.sample_fixed_walls(rng, e.layout, start, goal, e.n_fixed_walls)[0]
        np.testing.assert_array_equal(e.fixed_walls, expected)


# --- distributions: batched env vs single env ----------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("n_batched, n_single", [(3000, 600), pytest.param(8000, 2000, marks=pytest.mark.slow)])
def test_reset_distribution_matches_the_single_env(env_id, n_batched, n_single):
    venv = make_vec(env_id, n_batched)
    _, info = venv.reset(seed=0)
    env = gym.make(env_id)
    single = []
    for seed in range(n_single):
        _, i = env.reset(seed=seed)
        e = env.unwrapped
        single.append((i["shortest_path"], e.start_pos, e.goal_pos, e.fixed_walls.copy(), e.closed_doors.copy()))
    paths = np.array([s[0] for s in single])
    bins = np.arange(-1, 40)[None, :]
    assert_same_proportions(
        np.minimum(info["shortest_path"], 39)[:, None] == bins, np.minimum(paths, 39)[:, None] == bins
    )
    layout = venv.layout
    cells = layout.walkable_positions
    as_cell = lambda p: (np.asarray(p)[:, None, :] == cells[None]).all(axis=2)  # noqa: E731
    assert_same_proportions(as_cell(venv.start_pos), as_cell([s[1] for s in single]))
    assert_same_proportions(as_cell(venv.goal_pos), as_cell([s[2] for s in single]))
    assert_same_proportions(venv.closed_doors, np.array([s[4] for s in single]))
    if venv.n_fixed_walls:
        assert_same_proportions(venv.fixed_walls, np.array([s[3] for s in single]))

    # Auto-resets draw from a pool of episodes drawn ahead: the same law. One-step episodes: every step
    # starts a new episode in every env (SAME_STEP returns the new episode's info).
    n_pooled = n_batched // 4
    pooled = make_vec(env_id, n_pooled, max_episode_steps=1, autoreset_mode=AutoresetMode.SAME_STEP)
    pooled.reset(seed=1)
    paths, fixed, closed = [], [], []
    for _ in range(4):
        _, _, _, truncated, info = pooled.step(np.zeros(n_pooled, dtype=np.int64))
        assert truncated.all() and (pooled.elapsed_steps == 0).all()
        paths.append(info["shortest_path"])
        fixed.append(pooled.fixed_walls.copy())
        closed.append(pooled.closed_doors.copy())
    paths = np.minimum(np.concatenate(paths), 39)
    assert_same_proportions(paths[:, None] == bins, np.minimum(np.array([s[0] for s in single]), 39)[:, None] == bins)
    assert_same_proportions(np.concatenate(closed), np.array([s[4] for s in single]))
    assert_same_proportions(np.concatenate(fixed), np.array([s[3] for s in single]))


def p_same_after_redraw(previous: np.ndarray, eligible: np.ndarray, k: int) -> np.ndarray:
    """Probability that a uniform redraw of ``min(k, m)`` of the ``m`` eligible cells reproduces ``previous``."""
    m = eligible.sum(axis=1)
    size = np.minimum(k, m)
    subsets = np.array([comb(int(a), int(b)) for a, b in zip(m, size, strict=True)], dtype=float)
    reproducible = (previous.sum(axis=1) == size) & ~(previous & ~eligible).any(axis=1)
    return np.where(reproducible, 1.0 / subsets, 0.0)


@pytest.mark.parametrize(
    "env_id, p_change", [("FourRooms-Dynamic-v0", 0.05), ("FourRooms-Dynamic-v0", 0.4), ("RandomDoorMaze-v0", 0.05)]
)
def test_door_change_rate_follows_the_rule_and_matches_the_single_env(env_id, p_change):
    venv = make_vec(env_id, 500, p_change=p_change)
    venv.reset(seed=1)
    rng = np.random.default_rng(1)
    expected, variance, observed = 0.0, 0.0, 0
    for _ in range(60):
        previous = venv.closed_doors.copy()
        stepping = ~venv._autoreset  # envs that move this step (the others restart their episode)
        _, _, _, _, info = venv.step(rng.integers(0, 4, size=venv.num_envs))
        eligible = ~venv.fixed_walls & ~core.positions_on_doors(
            venv.layout, np.stack([venv.agent_pos, venv.start_pos, venv.goal_pos], axis=1)
        )
        p = p_change * (1 - p_same_after_redraw(previous[stepping], eligible[stepping], venv.n_closed))
        expected += p.sum()
        variance += (p * (1 - p)).sum()
        observed += int(info["doors_changed"][stepping].sum())
    assert_close(observed, expected, variance)
    # The single env's rate over random play agrees with the batched one.
    env = gym.make(env_id, p_change=p_change)
    env.reset(seed=2)
    changes = []
    for a in np.random.default_rng(2).integers(0, 4, size=6000):
        _, _, term, trunc, i = env.step(int(a))
        changes.append(i["doors_changed"])
        if term or trunc:
            env.reset()
    rate = observed / (venv.num_envs * 60)
    assert_close(np.mean(changes), rate, rate * (1 - rate) * (1 / 6000 + 1 / (venv.num_envs * 60)))


# --- the batched oracle ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("FourRooms-Dynamic-v0", {}),
        ("FourRooms-Dynamic-v0", {"n_closed_doors": 3, "p_change": 0.3}),
        ("RandomDoorMaze-v0", {}),
        ("RandomDoorMaze-v0", {"n_temp_doors": 15, "p_change": 0.3}),  # often cut off: the fallback
    ],
)
def test_batched_oracle_picks_the_scalar_oracles_action(env_id, kwargs):
    venv = make_vec(env_id, 64, **kwargs)
    venv.reset(seed=4)
    oracle = BatchedBFSOracle(venv)
    rng = np.random.default_rng(4)
    checked = cut_off = 0
    for step in range(40):
        actions = oracle()
        np.testing.assert_array_equal(
            actions,
            batched_oracle_actions(venv.layout, venv.fixed_walls, venv.closed_doors, venv.agent_pos, venv.goal_pos),
        )
        for i in range(venv.num_envs):
            expected = oracle_action(
                venv.layout,
                venv.fixed_walls[i],
                venv.closed_doors[i],
                tuple(venv.agent_pos[i]),
                tuple(venv.goal_pos[i]),
            )
            assert actions[i] == expected, (step, i)
        checked += venv.num_envs
        cut_off += int((venv.shortest_path_length < 0).sum())
        # Mix oracle and random moves so that states are varied.
        venv.step(np.where(rng.random(venv.num_envs) < 0.5, actions, rng.integers(0, 4, size=venv.num_envs)))
    assert checked == 40 * 64
    if kwargs.get("n_temp_doors") == 15:
        assert cut_off > 50  # the cut-off fallback was exercised


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("n_batched, n_single", [(1000, 200), pytest.param(3000, 600, marks=pytest.mark.slow)])
def test_batched_oracle_success_matches_the_single_env(env_id, n_batched, n_single):
    batched = run_batched_oracle_episodes(make_vec(env_id, n_batched), seed=0)
    env = gym.make(env_id)
    single = [run_oracle_episode(env, seed=s) for s in range(n_single)]
    s_success = np.array([r["success"] for r in single], dtype=float)
    s_length = np.array([r["length"] for r in single], dtype=float)
    b_success, b_length = batched["success"].astype(float), batched["length"].astype(float)
    p = (s_success.sum() + b_success.sum()) / (len(s_success) + len(b_success))
    assert_close(b_success.mean(), s_success.mean(), max(p * (1 - p), 1e-4) * (1 / len(s_success) + 1 / len(b_success)))
    assert_close(b_length.mean(), s_length.mean(), s_length.var() / len(s_length) + b_length.var() / len(b_length))
    assert ((batched["length"] == 80) | batched["success"]).all()

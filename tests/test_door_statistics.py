"""Door dynamics statistics (SPEC section 2): redraws happen with probability ``p_change`` per step, a redraw
picks the closed set uniformly among the eligible door cells, and so the closed set actually changes with the
exact probability the rule implies for the state at that step.

Every run uses a fixed seed, so the tests are deterministic; the tolerances are 5 binomial standard deviations
of the quantity compared, i.e. what a correct implementation passes for all but ~1e-6 of seeds.
"""

from __future__ import annotations

from math import comb, sqrt

import gymnasium as gym
import numpy as np
import pytest

import hrm_mazes.core as core

SIGMAS = 5.0


def _p_same_after_redraw(previous: np.ndarray, eligible: np.ndarray, k: int) -> np.ndarray:
    """Per step, the probability that a uniform redraw of ``min(k, m)`` of the ``m`` eligible cells reproduces
    the previous closed set. ``previous``, ``eligible``: ``(T, K)`` bool."""
    m = eligible.sum(axis=1)
    size = np.minimum(k, m)
    n_subsets = np.array([comb(int(a), int(b)) for a, b in zip(m, size, strict=True)], dtype=float)
    reproducible = (previous.sum(axis=1) == size) & ~(previous & ~eligible).any(axis=1)
    return np.where(reproducible, 1.0 / n_subsets, 0.0)


@pytest.fixture
def redraw_counter(monkeypatch):
    """Counts calls of the door redraw rule (``core.draw_closed_doors``), the one function both envs use."""
    calls = {"n": 0}
    original = core.draw_closed_doors

    def counting(*args, **kwargs):
        calls["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(core, "draw_closed_doors", counting)
    return calls


def _play(env_id: str, n_steps: int, seed: int, redraw_counter=None, options=None, **kwargs) -> dict:
    """Random play for ``n_steps`` steps. Per step (arrays with a leading T axis): the closed set before the step,
    the door cells eligible at the redraw (not a fixed wall, not under the agent, the start or the goal, taken
    after the move), the closed set after the step, ``info["doors_changed"]`` and whether the rule was called.
    """
    env = gym.make(env_id, **kwargs)
    e = env.unwrapped
    door_index = {tuple(int(v) for v in p): i for i, p in enumerate(e.layout.door_positions)}
    rng = np.random.default_rng(seed)
    actions = rng.integers(4, size=n_steps).tolist()
    env.reset(seed=seed, options=options)
    previous, eligible, closed, changed, redrawn = [], [], [], [], []
    for action in actions:
        previous.append(e.closed_doors.copy())
        calls_before = redraw_counter["n"] if redraw_counter is not None else 0
        _, _, terminated, truncated, info = env.step(action)
        redrawn.append(redraw_counter is not None and redraw_counter["n"] > calls_before)
        elig = ~e.fixed_walls
        for cell in (e.agent_pos, e.start_pos, e.goal_pos):
            if cell in door_index:
                elig[door_index[cell]] = False
        eligible.append(elig)
        closed.append(e.closed_doors.copy())
        changed.append(info["doors_changed"])
        if terminated or truncated:
            env.reset(options=options)
    return {
        "k": e.n_closed,
        "previous": np.array(previous),
        "eligible": np.array(eligible),
        "closed": np.array(closed),
        "changed": np.array(changed),
        "redrawn": np.array(redrawn),
    }


def _assert_close(observed: float, expected: float, variance: float) -> None:
    tolerance = SIGMAS * sqrt(variance)
    assert abs(observed - expected) <= tolerance, f"observed {observed}, expected {expected:.1f} +- {tolerance:.1f}"


@pytest.mark.parametrize(
    "env_id, p_change, options",
    [
        ("FourRooms-Dynamic-v0", 0.05, None),  # default: (m-1)/m * p, with m = 4 eligible doorways most of the time
        ("FourRooms-Dynamic-v0", 0.3, None),
        ("FourRooms-Dynamic-v0", 0.3, {"start": (3, 6), "goal": (10, 6)}),  # m <= 2: at most p/2
        ("RandomDoorMaze-v0", 0.05, None),
        ("RandomDoorMaze-v0", 0.5, None),
    ],
)
@pytest.mark.parametrize("n", [3_000, pytest.param(10_000, marks=pytest.mark.slow)])
def test_redraw_and_change_frequencies_follow_the_rule(env_id, p_change, options, n, redraw_counter):
    run = _play(env_id, n, seed=1, redraw_counter=redraw_counter, options=options, p_change=p_change)
    # Redraws: Binomial(n, p_change).
    _assert_close(run["redrawn"].sum(), n * p_change, n * p_change * (1 - p_change))
    # doors_changed means "the closed set differs", and that only happens on a step with a redraw.
    np.testing.assert_array_equal(run["changed"], (run["previous"] != run["closed"]).any(axis=1))
    assert not (run["changed"] & ~run["redrawn"]).any()
    # Actual changes: per step p_change * P(the redraw gives a different set | the state at that step).
    probs = p_change * (1.0 - _p_same_after_redraw(run["previous"], run["eligible"], run["k"]))
    _assert_close(run["changed"].sum(), probs.sum(), (probs * (1 - probs)).sum())


@pytest.mark.parametrize(
    "env_id, n_steps",
    [
        ("FourRooms-Dynamic-v0", 2_000),
        ("RandomDoorMaze-v0", 1_000),
        pytest.param("FourRooms-Dynamic-v0", 8_000, marks=pytest.mark.slow),
        pytest.param("RandomDoorMaze-v0", 4_000, marks=pytest.mark.slow),
    ],
)
def test_p_change_one_redraws_every_step_uniformly(env_id, n_steps, redraw_counter):
    # p_change=1: every step redraws, so every step's closed set is a fresh uniform draw among the eligible cells.
    run = _play(env_id, n_steps, seed=3, redraw_counter=redraw_counter, p_change=1.0)
    assert run["redrawn"].all()
    eligible, closed, k = run["eligible"], run["closed"], run["k"]
    assert not (closed & ~eligible).any()
    m = eligible.sum(axis=1, keepdims=True)
    q = np.where(eligible, np.minimum(k, m) / np.maximum(m, 1), 0.0)  # P(door d closed at step t)
    observed, expected, variance = closed.sum(axis=0), q.sum(axis=0), (q * (1 - q)).sum(axis=0)
    for d in range(closed.shape[1]):
        _assert_close(observed[d], expected[d], variance[d])
    # Pearson statistic over doors: about the number of doors for a uniform rule (chi-square mean), so the
    # number of doors plus 5 chi-square standard deviations is far in the tail.
    dof = closed.shape[1]
    chi2 = float(((observed - expected) ** 2 / np.maximum(variance, 1e-9)).sum())
    assert chi2 < dof + SIGMAS * sqrt(2 * dof)
    # And the set actually changes as often as a fresh draw differs from the previous set.
    probs = 1.0 - _p_same_after_redraw(run["previous"], eligible, k)
    _assert_close(run["changed"].sum(), probs.sum(), (probs * (1 - probs)).sum())


@pytest.mark.parametrize("env_id", ["FourRooms-Dynamic-v0", "RandomDoorMaze-v0"])
def test_p_change_zero_never_changes(env_id, redraw_counter):
    run = _play(env_id, 5_000, seed=5, redraw_counter=redraw_counter, p_change=0.0)
    assert not run["redrawn"].any()
    assert not run["changed"].any()
    np.testing.assert_array_equal(run["previous"], run["closed"])


def _pearson(observed: np.ndarray, expected: np.ndarray, variance: np.ndarray) -> None:
    """Per-cell 5-sigma check plus a Pearson statistic below its mean (the number of cells) + 5 sd."""
    for o, e, v in zip(observed, expected, variance, strict=True):
        _assert_close(o, e, v)
    dof = len(observed)
    chi2 = float(((observed - expected) ** 2 / np.maximum(variance, 1e-9)).sum())
    assert chi2 < dof + SIGMAS * sqrt(2 * dof)


@pytest.mark.parametrize(
    "env_id, kwargs, n_resets",
    [
        ("FourRooms-Dynamic-v0", {}, 1_500),
        # One fixed wall can never cut the goal off (the room lattice stays connected without any one door
        # cell), so it is drawn uniformly among the door cells that are not the start or the goal.
        ("RandomDoorMaze-v0", {"n_fixed_walls": 1}, 800),
        pytest.param("FourRooms-Dynamic-v0", {}, 6_000, marks=pytest.mark.slow),
        pytest.param("RandomDoorMaze-v0", {"n_fixed_walls": 1}, 3_000, marks=pytest.mark.slow),
    ],
)
def test_reset_draws_are_uniform(env_id, kwargs, n_resets):
    """Start and goal: uniform over the walkable cells; fixed walls and closed doors: uniform over the eligible
    door cells (not the start, the goal or the agent; closed doors also not on a fixed wall)."""
    env = gym.make(env_id, **kwargs)
    e = env.unwrapped
    cells = [tuple(int(v) for v in p) for p in np.argwhere(~e.layout.walls)]
    cell_index = {c: i for i, c in enumerate(cells)}
    door_index = {tuple(int(v) for v in p): i for i, p in enumerate(e.layout.door_positions)}
    n_doors = len(door_index)
    starts, goals = np.zeros(len(cells)), np.zeros(len(cells))
    fixed_seen, fixed_q = np.zeros(n_doors), np.zeros(n_doors)
    closed_seen, closed_q = np.zeros(n_doors), np.zeros(n_doors)
    env.reset(seed=0)
    for _ in range(n_resets):
        env.reset()
        starts[cell_index[e.start_pos]] += 1
        goals[cell_index[e.goal_pos]] += 1
        not_protected = np.ones(n_doors, dtype=bool)
        for cell in (e.start_pos, e.goal_pos):  # the agent stands on the start at reset
            if cell in door_index:
                not_protected[door_index[cell]] = False
        if e.n_fixed_walls:
            fixed_seen += e.fixed_walls
            fixed_q += not_protected * e.n_fixed_walls / not_protected.sum()
        eligible = not_protected & ~e.fixed_walls
        closed_seen += e.closed_doors
        closed_q += eligible * min(e.n_closed, eligible.sum()) / eligible.sum()
    uniform = np.full(len(cells), n_resets / len(cells))
    p_cell = 1 / len(cells)
    _pearson(starts, uniform, uniform * (1 - p_cell))
    _pearson(goals, uniform, uniform * (1 - p_cell))
    # Bernoulli variances bounded by the mean (q (1 - q) <= q): conservative, fine for a 5-sigma check.
    _pearson(closed_seen, closed_q, closed_q)
    if e.n_fixed_walls:
        _pearson(fixed_seen, fixed_q, fixed_q)

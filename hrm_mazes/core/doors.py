"""The door rules, in one place: the start / goal draw, the fixed-wall rule (RandomDoorMaze reset) and the
closed-door redraw (both environments, at reset and with probability ``p_change`` after every move).

All functions are batched over a leading environment axis ``N``; the single env calls them with ``N = 1``, so
the single env, the batched env and the oracle follow one implementation of each rule.
"""

from __future__ import annotations

import numpy as np

from hrm_mazes.core.layouts import Layout, positions_on_doors
from hrm_mazes.core.paths import batched_is_connected, open_map_distances

FIXED_WALL_TRIES = 10  # attempts per fixed wall before it is skipped (paper's generator)


# --- start and goal -------------------------------------------------------------------------------------


def sample_start_goal(
    rng: np.random.Generator, layout: Layout, n: int, max_distance: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs of distinct walkable cells (door cells included), uniformly at random: ``(N, 2)`` each.

    :param max_distance: None (the task's law), or the curriculum's limit: uniform over the pairs at most
        ``max_distance`` steps apart on the open map (:func:`open_map_distances`; fixed walls and closed doors,
        drawn later, may lengthen the real path).
    """
    cells = layout.walkable_positions
    if max_distance is not None:
        pairs = _pairs_within(layout, max_distance)
        pick = pairs[rng.integers(len(pairs), size=n)]
        return cells[pick[:, 0]], cells[pick[:, 1]]
    first = rng.integers(len(cells), size=n)
    # Uniform over the other M-1 cells: draw in [0, M-1) and skip over the first.
    second = rng.integers(len(cells) - 1, size=n)
    second = second + (second >= first)
    return cells[first], cells[second]


def sample_other_cell(
    rng: np.random.Generator, layout: Layout, pinned: np.ndarray, max_distance: int | None = None
) -> np.ndarray:
    """``(N, 2)``: per row a walkable cell other than ``pinned[i]`` (``(N, 2)`` walkable map positions), uniformly
    (with ``max_distance``: among the cells at most that many open-map steps from ``pinned[i]``).

    The draw of the free one of start and goal when ``reset`` pins the other.
    """
    cells = layout.walkable_positions  # row-major, so their flat indices are sorted
    pinned = np.asarray(pinned).reshape(-1, 2)
    w = layout.shape[1]
    where = np.searchsorted(cells[:, 0] * w + cells[:, 1], pinned[:, 0] * w + pinned[:, 1])
    if max_distance is not None:
        distances = open_map_distances(layout)[where]
        allowed = (distances > 0) & (distances <= max_distance)
        # Uniform among the allowed cells of each row: the largest of i.i.d. uniform keys.
        keys = np.where(allowed, rng.random(allowed.shape), -1.0)
        return cells[keys.argmax(axis=1)]
    draw = rng.integers(len(cells) - 1, size=len(pinned))
    return cells[draw + (draw >= where)]


def _pairs_within(layout: Layout, max_distance: int) -> np.ndarray:
    """``(P, 2)`` indices into ``walkable_positions`` of the ordered pairs 1..max_distance open-map steps apart."""
    key = ("pairs_within", int(max_distance))
    if key not in layout._cache:
        distances = open_map_distances(layout)
        layout._cache[key] = np.argwhere((distances > 0) & (distances <= max_distance))
    return layout._cache[key]


def max_open_map_distance(layout: Layout) -> int:
    """The largest open-map distance between two walkable cells: a ``max_distance`` at or above it is no limit."""
    return int(open_map_distances(layout).max())


# --- closed temporary doors -----------------------------------------------------------------------------


def sample_subset(rng: np.random.Generator, eligible: np.ndarray, k: int) -> np.ndarray:
    """Per row, ``min(k, eligible count)`` distinct cells drawn uniformly among the eligible ones.

    :param eligible: ``(N, K)`` bool.
    :return: ``(N, K)`` bool selection, a subset of ``eligible``.
    """
    n, size = eligible.shape
    if k <= 0 or size == 0:
        return np.zeros_like(eligible)
    if k >= size:
        return eligible.copy()
    # The k smallest of i.i.d. uniform keys form a uniform k-subset; ineligible cells get key 2 > any draw.
    # (Selecting by the k-th smallest key is argpartition's choice without its index bookkeeping.)
    keys = np.where(eligible, rng.random((n, size)), 2.0)
    kth = np.partition(keys, k - 1, axis=1)[:, k - 1 : k]
    return (keys <= kth) & eligible


def draw_closed_doors(
    rng: np.random.Generator,
    layout: Layout,
    fixed_walls: np.ndarray,
    protected: np.ndarray,
    n_closed: int,
) -> np.ndarray:
    """Draw the set of closed temporary doors (the redraw rule of both environments).

    A closed door goes on a door cell that is not a fixed wall and not under any protected position
    (the agent, the start and the goal). ``n_closed`` are drawn uniformly without replacement, or all
    eligible cells when fewer remain. No path check: the goal may be cut off for a while.

    :param fixed_walls: ``(N, K)`` bool, door cells that are permanent walls.
    :param protected: ``(N, P, 2)`` positions that must stay open.
    :return: ``(N, K)`` bool closed doors.
    """
    eligible = ~fixed_walls & ~positions_on_doors(layout, protected)
    return sample_subset(rng, eligible, n_closed)


# --- fixed walls (RandomDoorMaze reset) -----------------------------------------------------------------


def sample_fixed_walls(
    rng: np.random.Generator,
    layout: Layout,
    start: np.ndarray,
    goal: np.ndarray,
    n_fixed: int,
    max_tries: int = FIXED_WALL_TRIES,
) -> np.ndarray:
    """The fixed-wall rule of RandomDoorMaze (the paper's generator), for ``N`` mazes at once.

    The law: for each of the ``n_fixed`` walls, draw a door cell uniformly among those that are not yet walls
    and not the start or goal cell; keep it if a path start -> goal still exists, else draw again, up to
    ``max_tries`` times, then skip that wall; stop when no free door cell is left. The single env calls this
    with ``N = 1``; ``tests/reference_rules.py`` implements the law one proposal at a time, and
    ``tests/test_vector_equivalence.py`` checks that both have the same distribution.

    How it needs few connectivity checks: while nothing is rejected the rule's draws are a uniform ordered
    sample without replacement, so each round draws the remaining walls that way and finds the first one that
    disconnects (removing doors only ever disconnects, so checking the whole set first and the prefixes only
    when it fails is exact). Walls before it are kept; that draw counts as one failed try and the next round
    draws afresh. Rounds ~ 1 + the most rejections in any env, instead of one BFS per proposal.

    :param start, goal: ``(N, 2)`` map positions. :return: ``(N, K)`` bool fixed walls.
    """
    n, k = len(start), layout.num_doors
    w = layout.shape[1]
    fixed = np.zeros((n, k), dtype=bool)
    if n_fixed <= 0 or n == 0:
        return fixed
    start_flat = start[:, 0] * w + start[:, 1]
    goal_flat = goal[:, 0] * w + goal[:, 1]
    eligible = ~positions_on_doors(layout, np.stack([start, goal], axis=1))
    walls_done = np.zeros(n, dtype=np.int64)  # walls placed or skipped
    failed_tries = np.zeros(n, dtype=np.int64)  # rejected proposals for the current wall
    active = np.arange(n)
    while len(active):
        free = eligible[active] & ~fixed[active]
        length = np.minimum(n_fixed - walls_done[active], free.sum(axis=1))  # proposals drawn this round
        keep = length > 0  # no free cell left: the scalar rule stops there
        active, free, length = active[keep], free[keep], length[keep]
        if not len(active):
            break
        m = int(length.max())
        a = len(active)
        # rank[k] = position of door k in this round's ordered draw (m when not drawn): prefix j = rank < j.
        order = np.argsort(np.where(free, rng.random((a, k)), 2.0), axis=1)[:, :m]  # ties: probability 0
        rank = np.full((a, k), m, dtype=np.int64)
        np.put_along_axis(
            rank, order, np.where(np.arange(m)[None, :] < length[:, None], np.arange(m)[None, :], m), axis=1
        )
        fixed_now = fixed[active]
        accepted = length.copy()
        cut = ~batched_is_connected(layout, fixed_now | (rank < length[:, None]), start_flat[active], goal_flat[active])
        if cut.any():
            rows = np.flatnonzero(cut)
            prefixes = fixed_now[rows, None, :] | (rank[rows, None, :] <= np.arange(m)[None, :, None])  # (f, m, K)
            rep = np.repeat(active[rows], m)
            ok = batched_is_connected(layout, prefixes.reshape(-1, k), start_flat[rep], goal_flat[rep]).reshape(
                len(rows), m
            )
            ok |= np.arange(m)[None, :] >= length[rows, None]
            accepted[rows] = np.argmin(ok, axis=1)  # first prefix that disconnects
        took = accepted > 0
        fixed[active[took]] = (fixed_now | (rank < accepted[:, None]))[took]
        walls_done[active] += accepted
        failed_tries[active[took]] = 0
        rejected = active[accepted < length]
        failed_tries[rejected] += 1
        give_up = rejected[failed_tries[rejected] >= max_tries]
        walls_done[give_up] += 1
        failed_tries[give_up] = 0
        active = active[walls_done[active] < n_fixed]
    return fixed

"""Maze layouts, token ids, door rules and shortest paths: the one source of truth.

Every environment in the suite (the single :class:`gymnasium.Env` classes, the batched vector env, the
renderer and the BFS oracle) takes its layouts, tokens, rewards and door rules from this module.

Conventions:

* Positions are ``(row, col)`` in **map coordinates**: the full map, outer wall included. FourRooms
  observes only the interior, so its observation grid is the map shifted by ``Layout.obs_offset``.
* Door state is kept per *door cell*: a boolean vector over ``Layout.door_positions`` (length ``K``).
  Batched functions take a leading environment axis ``N``; the single envs call them with ``N = 1``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

# --- tokens -------------------------------------------------------------------------------------------

FLOOR, WALL, AGENT, GOAL, START, CLOSED_DOOR, FIXED_WALL = range(7)
NUM_TOKENS = 7
TOKEN_NAMES = ("floor", "wall", "agent", "goal", "start", "closed_door", "fixed_wall")

# --- actions and rewards ------------------------------------------------------------------------------

NORTH, EAST, SOUTH, WEST = range(4)
ACTION_NAMES = ("north", "east", "south", "west")
ACTION_DELTAS = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)
NUM_ACTIONS = 4

REWARD_GOAL = 1.0
REWARD_BLOCKED = -0.01
REWARD_STEP = 0.0

MAX_EPISODE_STEPS = 80
DEFAULT_P_CHANGE = 0.05
FIXED_WALL_TRIES = 10  # attempts per fixed wall before it is skipped (paper's generator)


# --- layouts ------------------------------------------------------------------------------------------

# Sutton, Precup & Singh (1999). 'D' marks the four doorways, the only cells that can be closed.
FOUR_ROOMS_MAP = (
    "#############",
    "#     #     #",
    "#     #     #",
    "#     D     #",
    "#     #     #",
    "#     #     #",
    "##D####     #",
    "#     ###D###",
    "#     #     #",
    "#     #     #",
    "#     D     #",
    "#     #     #",
    "#############",
)


@dataclass(frozen=True, eq=False)
class Layout:
    """The static part of a maze: permanent walls and the cells that can hold a door.

    :param name: short identifier.
    :param walls: ``(H, W)`` bool, permanent walls of the base map (never walkable).
    :param door_positions: ``(K, 2)`` int, map coordinates of the door cells (doorways / maze doors).
    :param obs_offset: ``(row, col)`` of the map cell shown at observation index ``(0, 0)``.
    :param obs_shape: ``(rows, cols)`` of the observation grid.
    """

    name: str
    walls: np.ndarray
    door_positions: np.ndarray
    obs_offset: tuple[int, int]
    obs_shape: tuple[int, int]
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.walls.shape  # type: ignore[return-value]

    @property
    def num_doors(self) -> int:
        return len(self.door_positions)

    @cached_property
    def door_mask(self) -> np.ndarray:
        """``(H, W)`` bool, True on door cells."""
        mask = np.zeros(self.shape, dtype=bool)
        mask[self.door_positions[:, 0], self.door_positions[:, 1]] = True
        return mask

    @cached_property
    def door_flat_index(self) -> np.ndarray:
        """``(K,)`` flat map index of each door cell."""
        return self.door_positions[:, 0] * self.shape[1] + self.door_positions[:, 1]

    @cached_property
    def walkable_positions(self) -> np.ndarray:
        """``(M, 2)`` map coordinates of every cell that is not a permanent wall (door cells included)."""
        return np.argwhere(~self.walls)

    @cached_property
    def obs_window(self) -> tuple[slice, slice]:
        r0, c0 = self.obs_offset
        return slice(r0, r0 + self.obs_shape[0]), slice(c0, c0 + self.obs_shape[1])

    @cached_property
    def neighbours(self) -> tuple[tuple[int, ...], ...]:
        """For each flat cell, the flat indices of its non-wall 4-neighbours (used by the scalar BFS)."""
        h, w = self.shape
        out = []
        for r in range(h):
            for c in range(w):
                cells = []
                if not self.walls[r, c]:
                    for dr, dc in ACTION_DELTAS:
                        rr, cc = r + dr, c + dc
                        if 0 <= rr < h and 0 <= cc < w and not self.walls[rr, cc]:
                            cells.append(rr * w + cc)
                out.append(tuple(cells))
        return tuple(out)

    def in_bounds(self, pos: tuple[int, int]) -> bool:
        return 0 <= pos[0] < self.shape[0] and 0 <= pos[1] < self.shape[1]


def parse_map(rows: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Turn an ASCII map ('#' wall, ' ' floor, 'D' door cell) into ``(walls, door_positions)``."""
    grid = np.array([list(row) for row in rows])
    if set(np.unique(grid)) - {"#", " ", "D"}:
        raise ValueError(f"map may only contain '#', ' ' and 'D', got {sorted(set(np.unique(grid)))}")
    return grid == "#", np.argwhere(grid == "D")


def four_rooms_layout() -> Layout:
    """The 13x13 four-rooms map; the observation is its 11x11 interior (the paper's crop)."""
    walls, doors = parse_map(FOUR_ROOMS_MAP)
    h, w = walls.shape
    return Layout("four_rooms", walls, doors, obs_offset=(1, 1), obs_shape=(h - 2, w - 2))


def door_maze_layout(room_rows: int = 5, room_cols: int = 6) -> Layout:
    """A lattice of rooms at odd (row, col) with a door cell between every pair of neighbouring rooms.

    The default 5x6 rooms give the paper's 11x13 map with 25 horizontal + 24 vertical = 49 door cells.
    The observation is the whole map.
    """
    h, w = 2 * room_rows + 1, 2 * room_cols + 1
    rows = []
    for r in range(h):
        line = []
        for c in range(w):
            if r % 2 == 1 and c % 2 == 1:
                line.append(" ")
            elif (r % 2 == 1 and c % 2 == 0 and 0 < c < w - 1) or (c % 2 == 1 and r % 2 == 0 and 0 < r < h - 1):
                line.append("D")
            else:
                line.append("#")
        rows.append("".join(line))
    walls, doors = parse_map(tuple(rows))
    return Layout("door_maze", walls, doors, obs_offset=(0, 0), obs_shape=(h, w))


FOUR_ROOMS = four_rooms_layout()
DOOR_MAZE = door_maze_layout()


# --- door rules (batched: leading axis N) ---------------------------------------------------------------


def positions_on_doors(layout: Layout, positions: np.ndarray) -> np.ndarray:
    """``(N, K)`` bool: door cell k coincides with any of the ``(N, P, 2)`` positions (agent, start, goal)."""
    positions = np.asarray(positions).reshape(len(positions), -1, 2)
    flat = positions[..., 0] * layout.shape[1] + positions[..., 1]  # (N, P)
    return (flat[:, :, None] == layout.door_flat_index[None, None, :]).any(axis=1)


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
    keys = np.where(eligible, rng.random((n, size)), 2.0)
    chosen_idx = np.argpartition(keys, k - 1, axis=1)[:, :k]
    chosen = np.zeros_like(eligible)
    np.put_along_axis(chosen, chosen_idx, True, axis=1)
    return chosen & eligible


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


def doors_to_grid(layout: Layout, door_state: np.ndarray) -> np.ndarray:
    """Scatter ``(N, K)`` per-door booleans onto ``(N, H, W)`` map grids."""
    grid = np.zeros((len(door_state), *layout.shape), dtype=bool)
    grid.reshape(len(door_state), -1)[:, layout.door_flat_index] = door_state
    return grid


def blocked_grid(layout: Layout, fixed_walls: np.ndarray, closed_doors: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` bool: cells the agent cannot enter now (walls, fixed walls, closed doors)."""
    return layout.walls[None] | doors_to_grid(layout, fixed_walls | closed_doors)


def token_grid(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    start: np.ndarray,
    goal: np.ndarray,
    agent: np.ndarray | None,
    distinct_doors: bool,
) -> np.ndarray:
    """``(N, H, W)`` uint8 tokens of the whole map.

    Paint order (later wins): walls, fixed walls, closed doors, start marker, goal, agent. Without
    ``distinct_doors`` a closed door and a fixed wall read as ``WALL``, exactly like the paper.

    :param start, goal: ``(N, 2)`` map positions. :param agent: ``(N, 2)`` or None to leave it out.
    """
    n = len(fixed_walls)
    tokens = np.where(layout.walls, WALL, FLOOR).astype(np.uint8)
    tokens = np.broadcast_to(tokens, (n, *layout.shape)).copy()
    rows = np.arange(n)
    tokens[doors_to_grid(layout, fixed_walls)] = FIXED_WALL if distinct_doors else WALL
    tokens[doors_to_grid(layout, closed_doors)] = CLOSED_DOOR if distinct_doors else WALL
    tokens[rows, start[:, 0], start[:, 1]] = START
    tokens[rows, goal[:, 0], goal[:, 1]] = GOAL
    if agent is not None:
        tokens[rows, agent[:, 0], agent[:, 1]] = AGENT
    return tokens


def tokens_to_onehot(tokens: np.ndarray) -> np.ndarray:
    """``(..., H, W)`` tokens to ``(..., NUM_TOKENS, H, W)`` uint8 one-hot planes."""
    return np.moveaxis(np.eye(NUM_TOKENS, dtype=np.uint8)[tokens], -1, -3).copy()


# --- shortest paths -------------------------------------------------------------------------------------


def bfs_distances(layout: Layout, blocked_flat: list[bool] | bytes, source: int) -> list[int]:
    """Scalar BFS: steps from flat cell ``source`` to every cell, -1 where unreachable.

    :param blocked_flat: per flat cell, True where the agent cannot enter (a Python sequence: fast to index).
    """
    dist = [-1] * len(blocked_flat)
    dist[source] = 0
    queue = deque((source,))
    neighbours = layout.neighbours
    while queue:
        cell = queue.popleft()
        step = dist[cell] + 1
        for nxt in neighbours[cell]:
            if dist[nxt] < 0 and not blocked_flat[nxt]:
                dist[nxt] = step
                queue.append(nxt)
    return dist


def is_connected(layout: Layout, blocked_flat: list[bool] | bytes, source: int, target: int) -> bool:
    """Scalar BFS with early exit: can ``target`` be reached from ``source``?"""
    if source == target:
        return True
    seen = bytearray(len(blocked_flat))
    seen[source] = 1
    stack = [source]
    neighbours = layout.neighbours
    while stack:
        cell = stack.pop()
        for nxt in neighbours[cell]:
            if not seen[nxt] and not blocked_flat[nxt]:
                if nxt == target:
                    return True
                seen[nxt] = 1
                stack.append(nxt)
    return False


def batched_bfs_distances(blocked: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Batched BFS by frontier expansion: ``(N, H, W)`` int16 steps from ``source`` (``(N, 2)``), -1 if unreachable.

    Relies on every map having a permanent outer wall, so shifting by slices never wraps around.
    """
    n = len(blocked)
    rows = np.arange(n)
    dist = np.full(blocked.shape, -1, dtype=np.int16)
    frontier = np.zeros(blocked.shape, dtype=bool)
    frontier[rows, source[:, 0], source[:, 1]] = True
    dist[frontier] = 0
    open_cells = ~blocked
    unvisited = open_cells & ~frontier
    step = 0
    while frontier.any():
        step += 1
        grown = np.zeros_like(frontier)
        grown[:, 1:, :] |= frontier[:, :-1, :]
        grown[:, :-1, :] |= frontier[:, 1:, :]
        grown[:, :, 1:] |= frontier[:, :, :-1]
        grown[:, :, :-1] |= frontier[:, :, 1:]
        frontier = grown & unvisited
        unvisited &= ~frontier
        dist[frontier] = step
    return dist


# --- fixed walls (RandomDoorMaze reset) -----------------------------------------------------------------


def place_fixed_walls(
    rng: np.random.Generator,
    layout: Layout,
    start: tuple[int, int],
    goal: tuple[int, int],
    n_fixed: int,
    max_tries: int = FIXED_WALL_TRIES,
) -> np.ndarray:
    """Turn door cells into permanent walls one by one, keeping start and goal connected.

    For each of the ``n_fixed`` walls: draw a door cell uniformly among those that are not yet walls and
    not the start or goal cell; keep it if a path start -> goal still exists, else draw again, up to
    ``max_tries`` times, then skip that wall. (The paper's generator; the batched env has an array twin,
    :func:`batched_place_fixed_walls`, tested against this one.)

    :return: ``(K,)`` bool fixed walls.
    """
    w = layout.shape[1]
    fixed = np.zeros(layout.num_doors, dtype=bool)
    eligible = ~positions_on_doors(layout, np.array([[start, goal]]))[0]
    blocked = layout.walls.ravel().tolist()
    source, target = start[0] * w + start[1], goal[0] * w + goal[1]
    for _ in range(n_fixed):
        for _ in range(max_tries):
            candidates = np.flatnonzero(eligible & ~fixed)
            if len(candidates) == 0:
                return fixed
            k = candidates[rng.integers(len(candidates))]
            cell = int(layout.door_flat_index[k])
            blocked[cell] = True
            if is_connected(layout, blocked, source, target):
                fixed[k] = True
                break
            blocked[cell] = False
    return fixed


def batched_place_fixed_walls(
    rng: np.random.Generator,
    layout: Layout,
    start: np.ndarray,
    goal: np.ndarray,
    n_fixed: int,
    max_tries: int = FIXED_WALL_TRIES,
) -> np.ndarray:
    """Array twin of :func:`place_fixed_walls` for ``N`` mazes at once (same rule, same distribution).

    :param start, goal: ``(N, 2)`` map positions. :return: ``(N, K)`` bool fixed walls.
    """
    n = len(start)
    fixed = np.zeros((n, layout.num_doors), dtype=bool)
    eligible = ~positions_on_doors(layout, np.stack([start, goal], axis=1))
    for _ in range(n_fixed):
        pending = np.ones(n, dtype=bool)  # envs still looking for this wall
        for _ in range(max_tries):
            idx = np.flatnonzero(pending)
            if len(idx) == 0:
                break
            proposal = sample_subset(rng, eligible[idx] & ~fixed[idx], 1)
            has_candidate = proposal.any(axis=1)
            trial = fixed[idx] | proposal
            dist = batched_bfs_distances(blocked_grid(layout, trial, np.zeros_like(trial)), start[idx])
            reachable = dist[np.arange(len(idx)), goal[idx, 0], goal[idx, 1]] >= 0
            accept = has_candidate & reachable
            fixed[idx[accept]] = trial[accept]
            # An env with no candidate left stops trying, like the scalar loop's early return.
            pending[idx[accept | ~has_candidate]] = False
    return fixed


def sample_start_goal(rng: np.random.Generator, layout: Layout, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs of distinct walkable cells (door cells included), uniformly at random: ``(N, 2)`` each."""
    cells = layout.walkable_positions
    first = rng.integers(len(cells), size=n)
    # Uniform over the other M-1 cells: draw in [0, M-1) and skip over the first.
    second = rng.integers(len(cells) - 1, size=n)
    second = second + (second >= first)
    return cells[first], cells[second]

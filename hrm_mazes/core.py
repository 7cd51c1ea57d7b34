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
# "{0, 1, 2, 3} (0=north, 1=east, 2=south, 3=west)": the allowed actions, as error messages name them.
ACTION_CHOICES = (
    "{" + ", ".join(map(str, range(NUM_ACTIONS))) + "} ("
    + ", ".join(f"{i}={name}" for i, name in enumerate(ACTION_NAMES)) + ")"
)

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
    def door_of_cell(self) -> np.ndarray:
        """``(H*W,)`` int64 per flat cell: the index of its door cell in ``door_positions``, or -1."""
        index = np.full(self.shape[0] * self.shape[1], -1, dtype=np.int64)
        index[self.door_flat_index] = np.arange(self.num_doors)
        return index

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
    door = layout.door_of_cell.take(flat)  # (N, P) door index or -1
    hit = np.zeros((len(positions), layout.num_doors), dtype=bool)
    rows = np.broadcast_to(np.arange(len(positions))[:, None], door.shape)
    on_door = door >= 0
    hit[rows[on_door], door[on_door]] = True
    return hit


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


# --- fast batched shortest paths and fixed walls (the batched env) ---------------------------------------
#
# The batched env needs the distance field to the goal for thousands of envs whenever their doors change or
# they reset, and a start -> goal connectivity test for every fixed-wall proposal. A grid BFS per env is too
# slow for that, so two exact shortcuts are used, both tested against the BFS functions above:
#
# * a room lattice (RandomDoorMaze): rooms are isolated cells joined only through door cells, so a path
#   alternates room and door cells and cell distances follow from distances on the room graph. Each env's
#   set of reached rooms is one uint64 bitmask, and a BFS layer is a few shifts on an ``(N,)`` array;
# * few door cells (FourRooms, K = 4): one table of distance fields per set of blocked door cells.


@dataclass(frozen=True, eq=False)
class RoomLattice:
    """Rooms at ``(r0 + 2i, c0 + 2j)`` joined by door cells: the graph the bitmask BFS runs on.

    Room ``i * cols + j`` is bit ``i * cols + j`` of a uint64; its east neighbour is bit + 1, south bit + cols.

    :param rows, cols: rooms per column / per row.
    :param room_flat: ``(R,)`` flat map index of each room cell.
    :param door_rooms: ``(K, 2)`` the two rooms a door cell joins (west/north first).
    :param door_is_east: ``(K,)`` True when the door joins a room to its east neighbour (else south).
    :param cell_rooms: ``(H*W, 2)`` per flat cell: a room cell -> (itself, itself), a door -> its two rooms,
        a wall -> (-1, -1).
    """

    rows: int
    cols: int
    room_flat: np.ndarray
    door_rooms: np.ndarray
    door_is_east: np.ndarray
    cell_rooms: np.ndarray

    @cached_property
    def door_bit(self) -> np.ndarray:
        """``(K,)`` uint64: the bit of the door's west / north room (the bit its east / south edge lives on)."""
        return np.left_shift(np.uint64(1), self.door_rooms[:, 0].astype(np.uint64))

    @cached_property
    def cell_lookup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per flat cell: its two rooms (room cells: itself twice; walls: the extra column ``R``) and 1 on doors."""
        rooms = self.rows * self.cols
        cell_a = np.where(self.cell_rooms[:, 0] >= 0, self.cell_rooms[:, 0], rooms)
        cell_b = np.where(self.cell_rooms[:, 1] >= 0, self.cell_rooms[:, 1], rooms)
        return cell_a, cell_b, (cell_a != cell_b).astype(np.int16) * (cell_a != rooms)

    @cached_property
    def edge_weights(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(K, 2)`` float64 door bit in the east / south column and their column sums (None past 53 rooms)."""
        if self.rows * self.cols > 53:
            return None, None
        weights = np.zeros((len(self.door_rooms), 2))
        bits = self.door_bit.astype(np.float64)
        weights[self.door_is_east, 0] = bits[self.door_is_east]
        weights[~self.door_is_east, 1] = bits[~self.door_is_east]
        return weights, weights.sum(axis=0)


def room_lattice(layout: Layout) -> RoomLattice | None:
    """The layout's room lattice, or None when its open cells are not isolated rooms joined by door cells."""
    if "room_lattice" in layout._cache:
        return layout._cache["room_lattice"]
    lattice = None
    h, w = layout.shape
    walkable = ~layout.walls
    rooms = walkable & ~layout.door_mask
    room_pos = np.argwhere(rooms)
    if 0 < len(room_pos) <= 64:
        r0, c0 = room_pos.min(axis=0)
        rows = len(np.unique(room_pos[:, 0]))
        cols = len(np.unique(room_pos[:, 1]))
        expected = {(r0 + 2 * i, c0 + 2 * j) for i in range(rows) for j in range(cols)}
        if {tuple(p) for p in room_pos.tolist()} == expected:
            index = {(r0 + 2 * i, c0 + 2 * j): i * cols + j for i in range(rows) for j in range(cols)}
            door_rooms, door_is_east, ok = [], [], True
            for r, c in layout.door_positions.tolist():
                if (r - 1, c) in index and (r + 1, c) in index and (r, c - 1) not in index:
                    door_rooms.append((index[(r - 1, c)], index[(r + 1, c)]))
                    door_is_east.append(False)
                elif (r, c - 1) in index and (r, c + 1) in index and (r - 1, c) not in index:
                    door_rooms.append((index[(r, c - 1)], index[(r, c + 1)]))
                    door_is_east.append(True)
                else:
                    ok = False
                    break
            # Every walkable cell must be a room or a door, and rooms may only touch doors and walls.
            padded = np.pad(rooms, 1)
            rooms_touch = (padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]) & rooms
            if ok and not rooms_touch.any():
                cell_rooms = np.full((h * w, 2), -1, dtype=np.int64)
                for (r, c), i in index.items():
                    cell_rooms[r * w + c] = i
                cell_rooms[layout.door_flat_index] = np.array(door_rooms, dtype=np.int64).reshape(-1, 2)
                lattice = RoomLattice(
                    rows=rows,
                    cols=cols,
                    room_flat=np.array([r * w + c for (r, c) in sorted(index, key=index.get)], dtype=np.int64),
                    door_rooms=np.array(door_rooms, dtype=np.int64).reshape(-1, 2),
                    door_is_east=np.array(door_is_east, dtype=bool),
                    cell_rooms=cell_rooms,
                )
    layout._cache["room_lattice"] = lattice
    return lattice


def _lattice_edges(lattice: RoomLattice, blocked_doors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N,)`` uint64 masks of open east and open south edges (bit = the west / north room)."""
    # Distinct powers of two add like an OR, and a float64 matrix product is exact below 2**53 (<= 53 rooms).
    weights, everything = lattice.edge_weights
    if weights is not None:
        edges = (everything - blocked_doors @ weights).astype(np.uint64)
        return edges[:, 0].copy(), edges[:, 1].copy()
    open_bits = np.where(blocked_doors, np.uint64(0), lattice.door_bit)
    east = np.bitwise_or.reduce(np.where(lattice.door_is_east, open_bits, np.uint64(0)), axis=1)
    south = np.bitwise_or.reduce(np.where(lattice.door_is_east, np.uint64(0), open_bits), axis=1)
    return east, south


def _lattice_grow(reached: np.ndarray, east: np.ndarray, south: np.ndarray, cols: int) -> np.ndarray:
    """One BFS layer on the room graph: every room reached plus its open-door neighbours."""
    return (
        reached
        | ((reached & east) << 1)
        | ((reached >> 1) & east)
        | ((reached & south) << cols)
        | ((reached >> cols) & south)
    )


def _cell_room_bits(lattice: RoomLattice, cells: np.ndarray) -> np.ndarray:
    """``(N,)`` uint64: the rooms a cell belongs to / opens onto (one bit for a room, two for a door cell)."""
    rooms = lattice.cell_rooms[cells].astype(np.uint64)
    one = np.uint64(1)
    return (one << rooms[:, 0]) | (one << rooms[:, 1])


def lattice_room_distances(lattice: RoomLattice, blocked_doors: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """``(N, R)`` int16 room-graph distances from the ``(N,)`` uint64 source room sets (-1: unreachable).

    :param blocked_doors: ``(N, K)`` bool, door cells that are fixed walls or closed now.
    """
    east, south = _lattice_edges(lattice, blocked_doors)
    # Bit-sliced distances: plane j collects the rooms first reached at a layer whose bit j is set, so a
    # room's distance is sum(2**j for the planes holding it); rooms never reached get -1.
    rooms = lattice.rows * lattice.cols
    planes = [np.zeros_like(sources) for _ in range(max(1, rooms.bit_length()))]
    reached = sources
    layer = 0
    while True:
        grown = _lattice_grow(reached, east, south, lattice.cols)
        new = grown & ~reached
        if not new.any():
            break
        layer += 1
        for j in range(layer.bit_length()):
            if (layer >> j) & 1:
                planes[j] |= new
        reached = grown
    planes.append(~reached)
    stacked = np.stack(planes).view(np.uint8).reshape(len(planes), len(sources), 8)
    bits = np.unpackbits(stacked, axis=-1, bitorder="little")[:, :, :rooms]
    dist = bits[0].astype(np.int16)
    for j in range(1, len(planes) - 1):
        dist += bits[j].astype(np.int16) << j
    return dist | -bits[-1].astype(np.int16)  # x | -1 == -1 for unreached rooms


LATTICE_FAR = np.int16(16000)  # "unreachable" in room steps: larger than any path, small enough to add to


def lattice_room_steps(layout: Layout, blocked_doors: np.ndarray, goal_flat: np.ndarray) -> np.ndarray:
    """``(N, R + 1)`` int16 steps from each room cell to the goal (``LATTICE_FAR`` when unreachable), plus a
    last column ``LATTICE_FAR`` that walls point to. Every cell distance follows from these (see
    :func:`lattice_cell_distance`): moves alternate room and door cells, so a room at room-distance ``d``
    from the goal room is ``2d`` steps away, ``2d + 1`` when the goal is a door cell (counted from its rooms).
    """
    lattice = room_lattice(layout)
    if lattice is None:
        raise ValueError(f"layout {layout.name!r} is not a room lattice")
    rooms = lattice.rows * lattice.cols
    room_dist = lattice_room_distances(lattice, blocked_doors, _cell_room_bits(lattice, goal_flat))
    goal_rooms = lattice.cell_rooms.take(goal_flat, axis=0)
    base = (goal_rooms[:, 0] != goal_rooms[:, 1]).astype(np.int16)[:, None]  # 1 when the goal is a door cell
    steps = np.empty((len(goal_flat), rooms + 1), dtype=np.int16)
    steps[:, :rooms] = np.where(room_dist >= 0, base + 2 * room_dist, LATTICE_FAR)
    steps[:, rooms] = LATTICE_FAR
    return steps


def lattice_cell_distance(
    layout: Layout, room_steps: np.ndarray, cells: np.ndarray, goal_flat: np.ndarray
) -> np.ndarray:
    """``(N,)`` int16 steps to the goal from flat cell ``cells[i]`` of env ``i`` (an open cell: the agent's),
    from :func:`lattice_room_steps`: the nearer of the cell's rooms, one more for a door cell; -1 if cut off."""
    cell_a, cell_b, door_step = room_lattice(layout).cell_lookup
    width = room_steps.shape[1]
    offset = np.arange(len(cells), dtype=np.int64) * width
    flat = room_steps.reshape(-1)
    dist = np.minimum(flat.take(offset + cell_a.take(cells)), flat.take(offset + cell_b.take(cells)))
    dist += door_step.take(cells)
    dist[cells == goal_flat] = 0
    return dist | -(dist >= LATTICE_FAR).astype(np.int16)  # x | -1 == -1


def lattice_goal_distances(layout: Layout, blocked_doors: np.ndarray, goal_flat: np.ndarray) -> np.ndarray:
    """``(N, H*W)`` int16 steps from every cell to the goal on a room lattice, equal to :func:`bfs_distances`.

    From :func:`lattice_room_steps`: an open door cell is one step more than its nearer room; blocked door
    cells and walls get -1.
    """
    return lattice_field(layout, lattice_room_steps(layout, blocked_doors, goal_flat), blocked_doors, goal_flat)


def lattice_field(
    layout: Layout, room_steps: np.ndarray, blocked_doors: np.ndarray, goal_flat: np.ndarray
) -> np.ndarray:
    """The ``(N, H*W)`` int16 distance field of :func:`lattice_goal_distances` from its room steps."""
    n = len(goal_flat)
    far = LATTICE_FAR
    cell_a, cell_b, door_step = room_lattice(layout).cell_lookup
    # Column gathers are faster on the transposed (rooms, N) array: one contiguous row per cell.
    by_room = np.ascontiguousarray(room_steps.T)
    field = np.minimum(by_room.take(cell_a, axis=0), by_room.take(cell_b, axis=0)).T.copy()
    field += door_step
    cells = field.shape[1]
    blocked_rows, blocked_k = np.divmod(np.flatnonzero(blocked_doors), blocked_doors.shape[1])
    flat = field.reshape(-1)
    flat[blocked_rows * cells + layout.door_flat_index.take(blocked_k)] = far
    field |= -(field >= far).astype(np.int16)  # x | -1 == -1: unreachable (np.where is slower here)
    flat[np.arange(n, dtype=np.int64) * cells + goal_flat] = 0
    return field


TABLE_MAX_DOORS = 6  # 2**6 blocked-door sets x cells x cells int16 stays small for maps of a few hundred cells


def goal_distance_table(layout: Layout) -> np.ndarray:
    """``(2**K, H*W, H*W)`` int16: ``[blocked door set, goal cell, cell]`` -> :func:`bfs_distances`, built once.

    The blocked door set is coded as ``sum(2**k for blocked door k)``. Only for layouts with at most
    ``TABLE_MAX_DOORS`` door cells (FourRooms: 16 x 169 x 169, under 1 MB).
    """
    if "goal_distance_table" not in layout._cache:
        k = layout.num_doors
        if k > TABLE_MAX_DOORS:
            raise ValueError(f"layout {layout.name!r} has {k} door cells; the table is for at most {TABLE_MAX_DOORS}")
        cells = layout.shape[0] * layout.shape[1]
        table = np.full((2**k, cells, cells), -1, dtype=np.int16)
        walkable = np.flatnonzero(~layout.walls.ravel())
        for code in range(2**k):
            doors = np.array([(code >> i) & 1 for i in range(k)], dtype=bool)
            blocked = blocked_grid(layout, doors[None], np.zeros_like(doors)[None])[0].ravel().tolist()
            for goal in walkable:
                table[code, goal] = bfs_distances(layout, blocked, int(goal))
        table.setflags(write=False)
        layout._cache["goal_distance_table"] = table
    return layout._cache["goal_distance_table"]


def door_set_code(blocked_doors: np.ndarray) -> np.ndarray:
    """``(N,)`` int64 code of each row's set of blocked door cells, as indexed by :func:`goal_distance_table`."""
    return blocked_doors.astype(np.int64) @ (np.int64(1) << np.arange(blocked_doors.shape[1], dtype=np.int64))


def batched_goal_distances(
    layout: Layout, fixed_walls: np.ndarray, closed_doors: np.ndarray, goal: np.ndarray
) -> np.ndarray:
    """``(N, H*W)`` int16 steps from every cell to the goal (-1: cut off), equal to :func:`bfs_distances`.

    Picks the fastest exact method for the layout: the room-lattice BFS, the precomputed table, or the
    grid :func:`batched_bfs_distances`.

    :param fixed_walls, closed_doors: ``(N, K)`` bool. :param goal: ``(N, 2)`` map positions.
    """
    goal = np.asarray(goal)
    goal_flat = goal[:, 0] * layout.shape[1] + goal[:, 1]
    blocked_doors = fixed_walls | closed_doors
    if room_lattice(layout) is not None:
        return lattice_goal_distances(layout, blocked_doors, goal_flat)
    if layout.num_doors <= TABLE_MAX_DOORS:
        table = goal_distance_table(layout)
        return table.reshape(-1, table.shape[-1]).take(
            door_set_code(blocked_doors) * table.shape[1] + goal_flat, axis=0
        )
    return batched_bfs_distances(blocked_grid(layout, fixed_walls, closed_doors), goal).reshape(len(goal), -1)


def batched_is_connected(
    layout: Layout, blocked_doors: np.ndarray, source: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """``(N,)`` bool: is flat cell ``target`` reachable from flat cell ``source`` with these door cells blocked?"""
    lattice = room_lattice(layout)
    if lattice is None:
        n = len(source)
        w = layout.shape[1]
        dist = batched_bfs_distances(
            blocked_grid(layout, blocked_doors, np.zeros_like(blocked_doors)), np.stack([source // w, source % w], 1)
        )
        return dist.reshape(n, -1)[np.arange(n), target] >= 0
    east, south = _lattice_edges(lattice, blocked_doors)
    reached = _cell_room_bits(lattice, source)
    goal_bits = _cell_room_bits(lattice, target)
    # A door cell as source or target is never blocked here (fixed walls avoid start and goal).
    while True:
        found = (reached & goal_bits) != 0
        grown = _lattice_grow(reached, east, south, lattice.cols)
        if (found | (grown == reached)).all():
            return found | (source == target)
        reached = grown


def sample_fixed_walls(
    rng: np.random.Generator,
    layout: Layout,
    start: np.ndarray,
    goal: np.ndarray,
    n_fixed: int,
    max_tries: int = FIXED_WALL_TRIES,
) -> np.ndarray:
    """The law of :func:`place_fixed_walls` for ``N`` mazes at once, with few connectivity checks.

    The scalar rule draws each wall uniformly among the free door cells and rejects it when it would cut
    start from goal. While nothing is rejected its draws are a uniform ordered sample without replacement,
    so each round draws the remaining walls that way and finds the first one that disconnects (removing
    doors only ever disconnects, so checking the whole set first and the prefixes only when it fails is
    exact). Walls before it are kept; that draw counts as one failed try and the next round draws afresh.
    Rounds ~ 1 + the most rejections in any env, instead of one BFS per proposal.

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


def static_tokens(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    start_flat: np.ndarray | None,
    goal_flat: np.ndarray | None,
    distinct_doors: bool,
) -> np.ndarray:
    """``(N, H*W)`` uint8: :func:`token_grid` without the agent, raveled, for flat start / goal cell indices
    (None: leave that marker out).

    Same tokens and paint order (walls, fixed walls, closed doors, start, goal), painted with column and flat
    scatters instead of grid masks: the batched env repaints thousands of envs per step with it.
    """
    n = len(fixed_walls)
    cells = layout.shape[0] * layout.shape[1]
    base = np.where(layout.walls.ravel(), WALL, FLOOR).astype(np.uint8)
    tokens = np.broadcast_to(base, (n, cells)).copy()
    fixed_token = FIXED_WALL if distinct_doors else WALL
    closed_token = CLOSED_DOOR if distinct_doors else WALL
    # Door cell token by (fixed, closed): a closed door is painted after (over) a fixed wall, as in token_grid.
    door_token = np.array([FLOOR, fixed_token, closed_token, closed_token], dtype=np.uint8)
    tokens[:, layout.door_flat_index] = door_token.take(fixed_walls.view(np.uint8) + 2 * closed_doors.view(np.uint8))
    offset = np.arange(n, dtype=np.int64) * cells
    flat = tokens.reshape(-1)
    if start_flat is not None:
        flat[offset + start_flat] = START
    if goal_flat is not None:
        flat[offset + goal_flat] = GOAL
    return tokens

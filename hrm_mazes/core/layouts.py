"""The static part of the mazes: the two maps, the ``Layout`` that describes them, the room lattice of the maze,
and the geometry that maps per-door booleans onto map cells.

Positions are ``(row, col)`` in **map coordinates**: the full map, outer wall included. FourRooms observes only
the interior, so its observation grid is the map shifted by ``Layout.obs_offset``. Door state is kept per *door
cell*: a boolean vector over ``Layout.door_positions`` (length ``K``); batched functions take a leading
environment axis ``N``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from hrm_mazes.core.constants import ACTION_DELTAS, CLOSED_DOOR, WALL

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
    :param closed_door_token: the token of a closed door in the paper's observation (``distinct_doors=False``):
        ``WALL`` for a FourRooms doorway (NetHack ``|``), ``CLOSED_DOOR`` for a temporary maze door (``#``).
    """

    name: str
    walls: np.ndarray
    door_positions: np.ndarray
    obs_offset: tuple[int, int]
    obs_shape: tuple[int, int]
    closed_door_token: int = CLOSED_DOOR
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
    """The 13x13 four-rooms map; the observation is its 11x11 interior (the paper's crop).

    A closed doorway reads as a wall in the paper's observation.
    """
    walls, doors = parse_map(FOUR_ROOMS_MAP)
    h, w = walls.shape
    return Layout(
        "four_rooms", walls, doors, obs_offset=(1, 1), obs_shape=(h - 2, w - 2), closed_door_token=WALL
    )


def door_maze_layout(room_rows: int = 5, room_cols: int = 6) -> Layout:
    """A lattice of rooms at odd (row, col) with a door cell between every pair of neighbouring rooms.

    The default 5x6 rooms give the paper's 11x13 map with 25 horizontal + 24 vertical = 49 door cells.
    The observation is the whole map; a closed temporary door has its own token (the paper's ``#``).
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
    return Layout("door_maze", walls, doors, obs_offset=(0, 0), obs_shape=(h, w), closed_door_token=CLOSED_DOOR)


FOUR_ROOMS = four_rooms_layout()
DOOR_MAZE = door_maze_layout()


# --- door cells on the map (batched: leading axis N) ---------------------------------------------------


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


def doors_to_grid(layout: Layout, door_state: np.ndarray) -> np.ndarray:
    """Scatter ``(N, K)`` per-door booleans onto ``(N, H, W)`` map grids."""
    grid = np.zeros((len(door_state), *layout.shape), dtype=bool)
    grid.reshape(len(door_state), -1)[:, layout.door_flat_index] = door_state
    return grid


def blocked_grid(layout: Layout, fixed_walls: np.ndarray, closed_doors: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` bool: cells the agent cannot enter now (walls, fixed walls, closed doors)."""
    return layout.walls[None] | doors_to_grid(layout, fixed_walls | closed_doors)


# --- the room lattice (RandomDoorMaze) -------------------------------------------------------------------
#
# Rooms are isolated cells joined only through door cells, so a path alternates room and door cells and cell
# distances follow from distances on the room graph (see ``paths.py``): each env's set of reached rooms is one
# uint64 bitmask, and a BFS layer is a few shifts on an ``(N,)`` array.


@dataclass(frozen=True, eq=False)
class RoomLattice:
    """Rooms at ``(r0 + 2i, c0 + 2j)`` joined by door cells: the graph the bitmask BFS runs on.

    Room ``i * cols + j`` is bit ``i * cols + j`` of a uint64; its east neighbour is bit + 1, south bit + cols.

    :param rows, cols: rooms per column / per row.
    :param door_rooms: ``(K, 2)`` the two rooms a door cell joins (west/north first).
    :param door_is_east: ``(K,)`` True when the door joins a room to its east neighbour (else south).
    :param cell_rooms: ``(H*W, 2)`` per flat cell: a room cell -> (itself, itself), a door -> its two rooms,
        a wall -> (-1, -1).
    """

    rows: int
    cols: int
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
                    door_rooms=np.array(door_rooms, dtype=np.int64).reshape(-1, 2),
                    door_is_east=np.array(door_is_east, dtype=bool),
                    cell_rooms=cell_rooms,
                )
    layout._cache["room_lattice"] = lattice
    return lattice

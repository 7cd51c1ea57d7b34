"""Shortest paths with the doors as they are: the scalar BFS of the single env and the oracle, and the exact
batched shortcuts of the batched env, all equal to the scalar BFS (``tests/test_vector_equivalence.py``).

The batched env needs the distance field to the goal for thousands of envs whenever their doors change or they
reset, and a start -> goal connectivity test for every fixed-wall proposal. A grid BFS per env is too slow for
that, so two exact shortcuts are used:

* a room lattice (RandomDoorMaze, :class:`~hrm_mazes.core.layouts.RoomLattice`): BFS on the room graph with one
  uint64 bitmask of reached rooms per env;
* few door cells (FourRooms, K = 4): one table of distance fields per set of blocked door cells.

Every other layout falls back to the grid :func:`batched_bfs_distances`.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from hrm_mazes.core.layouts import Layout, RoomLattice, blocked_grid, room_lattice

# --- BFS on the grid ------------------------------------------------------------------------------------


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


def open_map_distances(layout: Layout) -> np.ndarray:
    """``(M, M)`` BFS steps between the walkable cells (in :attr:`Layout.walkable_positions` order) on the open
    map: permanent walls block, every door cell is open. Computed once per layout (the curriculum's metric)."""
    if "open_map_distances" not in layout._cache:
        cells = layout.walkable_positions
        w = layout.shape[1]
        flat = cells[:, 0] * w + cells[:, 1]
        blocked = layout.walls.ravel().tolist()
        layout._cache["open_map_distances"] = np.array(
            [np.asarray(bfs_distances(layout, blocked, int(source)))[flat] for source in flat], dtype=np.int64
        )
    return layout._cache["open_map_distances"]


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



# --- BFS on the room lattice ---------------------------------------------------------------------------


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
    return lattice_distance_field(layout, lattice_room_steps(layout, blocked_doors, goal_flat), blocked_doors, goal_flat)


def lattice_distance_field(
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


# --- distance tables (few door cells) and the choice of method ---------------------------------------

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

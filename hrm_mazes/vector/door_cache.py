"""What depends on the doors of ``N`` envs, kept ready so that a batched step costs a few gathers.

The blocked cells, the observation without the agent and the distances to the goal change only when an env's
doors change (~5% of steps) or it starts a new episode, so the batched env keeps them and refreshes only those
rows. Two ways to keep them, chosen by :func:`make_door_cache`:

* :class:`DoorSetTables` (FourRooms: 4 doorways, no fixed walls): everything depends only on the closed set, so
  one code per env indexes tables shared by all envs (2**4 closed sets);
* :class:`PerEnvDoorState` (RandomDoorMaze and any other layout): per-env rows of blocked cells ``(N, H*W)``,
  observation tokens without the agent ``(N, rows*cols)`` and either the steps from each room to the goal
  ``(N, rooms + 1)`` on a room lattice or the whole distance field ``(N, H*W)``.

Both paint the tokens and compute the distances of :mod:`hrm_mazes.core`; ``tests/test_vector_equivalence.py``
and ``tests/test_vector.py`` check them against core's painter and BFS.
"""

from __future__ import annotations

import numpy as np

from hrm_mazes import core
from hrm_mazes.core import Layout


class DoorCache:
    """The interface and the flat index tables shared by both ways of keeping the door-derived state.

    :param layout: the static map. :param num_envs: ``N``. :param distinct_doors: the token choice of
        :func:`hrm_mazes.core.door_tokens`.
    """

    row_names: tuple[str, ...] = ()  # the per-env arrays :meth:`derive` returns and :meth:`store` writes

    def __init__(self, layout: Layout, num_envs: int, distinct_doors: bool) -> None:
        h, w = layout.shape
        rows, cols = layout.obs_shape
        self.layout = layout
        self.num_envs = num_envs
        self.distinct_doors = distinct_doors
        self.cells = h * w
        self.obs_cells = rows * cols
        r0, c0 = layout.obs_offset
        row, col = np.divmod(np.arange(h * w), w)
        self.obs_index = (row - r0) * cols + (col - c0)  # flat map cell -> flat obs cell (inside the window)
        window = np.zeros(layout.shape, dtype=bool)
        window[layout.obs_window] = True
        self.window_flat = np.flatnonzero(window)  # flat map cells shown in the observation, row-major
        self.row_offset = np.arange(num_envs, dtype=np.int64) * self.cells  # env i's cells in a raveled (N, H*W)

    def derive(self, start: np.ndarray, goal: np.ndarray, fixed_walls: np.ndarray, closed_doors: np.ndarray) -> dict:
        """The rows of :attr:`row_names` for these episodes (flat start / goal cells, ``(n, K)`` door state)."""
        raise NotImplementedError

    def store(self, idx: np.ndarray, rows: dict[str, np.ndarray]) -> None:
        """Write rows from :meth:`derive` into envs ``idx``."""
        for name in self.row_names:
            getattr(self, name)[idx] = rows[name]

    def new_episodes(self, idx: np.ndarray, start: np.ndarray, goal: np.ndarray) -> None:
        """Envs ``idx`` start new episodes at these flat start / goal cells (after :meth:`store`)."""

    def blocked_moves(self, target: np.ndarray) -> np.ndarray:
        """``(N,)`` bool: env i's flat cell ``target[i]`` cannot be entered now."""
        raise NotImplementedError

    def blocked(self) -> np.ndarray:
        """``(N, H*W)`` bool, cells that cannot be entered now (a fresh array)."""
        raise NotImplementedError

    def agent_distance(self, agent: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """``(N,)`` int16 steps to the goal from flat cell ``agent[i]`` in env ``i`` (-1: cut off)."""
        raise NotImplementedError

    def distance_field(self, goal: np.ndarray, fixed_walls: np.ndarray, closed_doors: np.ndarray) -> np.ndarray:
        """``(N, H*W)`` int16 steps from every flat cell to the goal (-1: cut off), maybe a read-only view."""
        raise NotImplementedError

    def tokens(
        self, idx: np.ndarray | None, start: np.ndarray, goal: np.ndarray, agent: np.ndarray
    ) -> np.ndarray:
        """``(n, rows*cols)`` uint8 observation tokens of envs ``idx`` (all when None), agent painted, a fresh
        array; ``start``, ``goal``, ``agent``: their flat map cells (rows ``idx`` only)."""
        raise NotImplementedError

    def _paint_agent(self, tokens: np.ndarray, agent: np.ndarray) -> np.ndarray:
        flat = tokens.reshape(-1)
        flat[np.arange(len(tokens), dtype=np.int64) * self.obs_cells + self.obs_index.take(agent)] = core.AGENT
        return tokens


class DoorSetTables(DoorCache):
    """Few door cells and no fixed walls (FourRooms): blocked cells, tokens and distances are looked up in
    tables shared by all envs, through one code per env for its closed set (:func:`hrm_mazes.core.door_set_code`).
    """

    row_names = ("closed_set_code",)

    def __init__(self, layout: Layout, num_envs: int, distinct_doors: bool) -> None:
        super().__init__(layout, num_envs, distinct_doors)
        k = layout.num_doors
        closed_sets = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(bool)  # (2**K, K), by code
        no_walls = np.zeros_like(closed_sets)
        self.closed_set_code = np.zeros(num_envs, dtype=np.int64)
        self.blocked_table = core.blocked_grid(layout, no_walls, closed_sets).reshape(2**k, -1)
        tokens = core.static_tokens(layout, no_walls, closed_sets, None, None, distinct_doors)
        self.token_table = tokens.take(self.window_flat, axis=1)  # observation tokens without markers, by code
        self.distance_table = core.goal_distance_table(layout).reshape(-1)  # [code, goal, cell], raveled
        # Where each env paints its start marker and goal in the raveled (N, rows*cols) observations.
        self.start_obs = np.zeros(num_envs, dtype=np.int64)
        self.goal_obs = np.zeros(num_envs, dtype=np.int64)

    def derive(self, start, goal, fixed_walls, closed_doors) -> dict:
        return {"closed_set_code": core.door_set_code(closed_doors)}

    def new_episodes(self, idx, start, goal) -> None:
        self.start_obs[idx] = idx * self.obs_cells + self.obs_index.take(start)
        self.goal_obs[idx] = idx * self.obs_cells + self.obs_index.take(goal)

    def blocked_moves(self, target):
        return self.blocked_table.reshape(-1).take(self.closed_set_code * self.cells + target)

    def blocked(self):
        return self.blocked_table[self.closed_set_code]

    def agent_distance(self, agent, goal):
        return self.distance_table.take((self.closed_set_code * self.cells + goal) * self.cells + agent)

    def distance_field(self, goal, fixed_walls, closed_doors):
        cells = self.cells
        return self.distance_table.take((self.closed_set_code * cells + goal)[:, None] * cells + np.arange(cells))

    def tokens(self, idx, start, goal, agent):
        # Shared tokens of the closed set, then the start marker, the goal and the agent (core's paint order).
        if idx is None:
            tokens = self.token_table.take(self.closed_set_code, axis=0)
            start_obs, goal_obs = self.start_obs, self.goal_obs
        else:
            tokens = self.token_table.take(self.closed_set_code[idx], axis=0)
            local = np.arange(len(idx), dtype=np.int64) * self.obs_cells
            start_obs, goal_obs = local + self.obs_index.take(start), local + self.obs_index.take(goal)
        flat = tokens.reshape(-1)
        flat[start_obs] = core.START
        flat[goal_obs] = core.GOAL
        return self._paint_agent(tokens, agent)


class PerEnvDoorState(DoorCache):
    """Per-env rows: blocked cells, observation tokens without the agent, and the distances to the goal, as
    steps per room on a room lattice (:func:`hrm_mazes.core.lattice_room_steps`, cell distances derived when
    asked) or as the whole distance field on any other layout."""

    def __init__(self, layout: Layout, num_envs: int, distinct_doors: bool) -> None:
        super().__init__(layout, num_envs, distinct_doors)
        self.room_lattice = core.room_lattice(layout)
        self.blocked_cells = np.zeros((num_envs, self.cells), dtype=bool)
        self.obs_without_agent = np.zeros((num_envs, self.obs_cells), dtype=np.uint8)
        self.obs_is_map = len(self.window_flat) == self.cells
        if self.room_lattice is not None:
            rooms = self.room_lattice.rows * self.room_lattice.cols
            self.room_steps = np.zeros((num_envs, rooms + 1), dtype=np.int16)
            self.row_names = ("blocked_cells", "obs_without_agent", "room_steps")
        else:
            self.goal_distances = np.zeros((num_envs, self.cells), dtype=np.int16)
            self.row_names = ("blocked_cells", "obs_without_agent", "goal_distances")

    def derive(self, start, goal, fixed_walls, closed_doors) -> dict:
        layout = self.layout
        tokens = core.static_tokens(layout, fixed_walls, closed_doors, start, goal, self.distinct_doors)
        rows = {
            "blocked_cells": core.blocked_grid(layout, fixed_walls, closed_doors).reshape(len(start), -1),
            "obs_without_agent": tokens if self.obs_is_map else tokens.take(self.window_flat, axis=1),
        }
        if self.room_lattice is not None:
            rows["room_steps"] = core.lattice_room_steps(layout, fixed_walls | closed_doors, goal)
        else:
            goal_pos = np.stack(np.divmod(goal, layout.shape[1]), axis=1)
            rows["goal_distances"] = core.batched_goal_distances(layout, fixed_walls, closed_doors, goal_pos)
        return rows

    def blocked_moves(self, target):
        return self.blocked_cells.reshape(-1).take(self.row_offset + target)

    def blocked(self):
        return self.blocked_cells.copy()

    def agent_distance(self, agent, goal):
        if self.room_lattice is not None:
            return core.lattice_cell_distance(self.layout, self.room_steps, agent, goal)
        return self.goal_distances.reshape(-1).take(self.row_offset + agent)

    def distance_field(self, goal, fixed_walls, closed_doors):
        if self.room_lattice is not None:
            return core.lattice_distance_field(self.layout, self.room_steps, fixed_walls | closed_doors, goal)
        view = self.goal_distances.view()
        view.flags.writeable = False
        return view

    def tokens(self, idx, start, goal, agent):
        tokens = self.obs_without_agent.copy() if idx is None else self.obs_without_agent[idx]
        return self._paint_agent(tokens, agent)


def make_door_cache(layout: Layout, num_envs: int, n_fixed_walls: int, distinct_doors: bool) -> DoorCache:
    """Shared tables when the layout has few door cells and no fixed walls, per-env rows otherwise."""
    if layout.num_doors <= core.TABLE_MAX_DOORS and n_fixed_walls == 0:
        return DoorSetTables(layout, num_envs, distinct_doors)
    return PerEnvDoorState(layout, num_envs, distinct_doors)

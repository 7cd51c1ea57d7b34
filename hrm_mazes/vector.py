"""Batched vector environments: ``N`` mazes in numpy arrays, advanced together by one ``step()``.

``gymnasium.make_vec("RandomDoorMaze-v0", num_envs=4096, vectorization_mode="vector_entry_point")`` returns a
:class:`RandomDoorMazeVectorEnv`. Every sub-environment follows the rules of the single env
(:class:`hrm_mazes.envs.DynamicDoorsEnv`): the layouts, door rules, token painter and fixed-wall rule all come
from :mod:`hrm_mazes.core`; ``tests/test_vector_equivalence.py`` checks the two against each other.

What makes a step cheap (see ``docs/design.md``, "Batched environment"):

* per-env state is flat arrays: cell indices ``(N,)`` and door booleans ``(N, K)``, plus what depends on the
  doors, recomputed only for the envs whose doors changed (~5% of steps). FourRooms (4 doorways, no fixed
  walls) keeps one code per env for its closed set and looks the blocked cells, tokens and distances up in
  shared per-set tables; the maze keeps per env the cells that block ``(N, H*W)``, the observation without
  the agent and the steps from each of its 30 rooms to the goal ``(N, 31)``;
* a move is one gather into the blocked cells, an observation one copy plus the agent painted, and
  ``info["shortest_path"]`` one or two gathers;
* distances come from :mod:`hrm_mazes.core` (a room-lattice bitmask BFS for the maze, a precomputed table for
  FourRooms), fixed walls from :func:`hrm_mazes.core.sample_fixed_walls`; auto-resets take their episodes
  from a pool drawn in bulk, a few thousand at a time (same law: every pooled episode is an independent draw).

There is no Python loop over environments anywhere in ``step()`` or ``reset()``, auto-reset included.
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from hrm_mazes import core
from hrm_mazes.core import Layout
from hrm_mazes.envs.base import OBS_MODES, check_choice, check_count, check_probability
from hrm_mazes.envs.random_door_maze import check_maze_doors

VECTOR_RENDER_MODES = ("rgb_array", "ansi")
INFO_KEYS = ("agent_pos", "goal_pos", "is_success", "doors_changed", "shortest_path")
VECTOR_RESET_OPTION_KEYS = ("start", "goal", "reset_mask")
# Reward by (blocked move) + 2 * (reached the goal): a lookup instead of two np.where.
_REWARDS = np.array([core.REWARD_STEP, core.REWARD_BLOCKED, core.REWARD_GOAL, core.REWARD_GOAL])


def _check_autoreset_mode(value: Any) -> AutoresetMode:
    try:
        mode = value if isinstance(value, AutoresetMode) else AutoresetMode(value)
    except ValueError:
        raise ValueError(
            f"autoreset_mode must be one of {[m.value for m in AutoresetMode]} (or an AutoresetMode), got {value!r}"
        ) from None
    return mode


class DynamicDoorsVectorEnv(VectorEnv):
    """``num_envs`` dynamic-door mazes stepped together with array operations (see the concrete classes).

    :param layout: the static map (walls and door cells), shared by all envs.
    :param num_envs: number of environments ``N``.
    :param n_closed: closed temporary doors drawn at each redraw.
    :param n_fixed_walls: door cells turned into permanent walls at reset (with the path check).
    :param p_change: per-step probability that an env's closed doors are redrawn.
    :param obs_mode: ``"tokens"`` (N, H, W) uint8, ``"onehot"`` (N, C, H, W) uint8 or ``"rgb"`` frames.
    :param distinct_doors: give closed doors and fixed walls their own tokens instead of ``WALL``.
    :param max_episode_steps: truncation limit (``gym.make_vec`` passes the registered 80).
    :param autoreset_mode: ``NEXT_STEP`` (gymnasium's default), ``SAME_STEP`` (final obs / info in ``info``)
        or ``DISABLED`` (reset finished envs with ``reset(options={"reset_mask": mask})``).
    :param render_mode: ``"rgb_array"`` or ``"ansi"`` (frames of the first ``render_num_envs`` envs) or None.
    :param tile_size: pixels per cell for ``rgb`` observations and rendered frames.
    :param render_num_envs: how many envs :meth:`render` draws.
    """

    metadata = {
        "render_modes": list(VECTOR_RENDER_MODES),
        "render_fps": 8,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        layout: Layout,
        *,
        num_envs: int,
        n_closed: int,
        n_fixed_walls: int = 0,
        p_change: float = core.DEFAULT_P_CHANGE,
        obs_mode: str = "tokens",
        distinct_doors: bool = False,
        max_episode_steps: int = core.MAX_EPISODE_STEPS,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        tile_size: int = 32,
        render_num_envs: int = 4,
    ) -> None:
        self.layout = layout
        self.num_envs = check_count("num_envs", num_envs, 1, 1 << 24)
        self.n_closed = n_closed
        self.n_fixed_walls = n_fixed_walls
        self.p_change = check_probability("p_change", p_change)
        self.obs_mode = check_choice("obs_mode", obs_mode, OBS_MODES)
        if not isinstance(distinct_doors, (bool, np.bool_)):
            raise ValueError(f"distinct_doors must be True or False, got {distinct_doors!r}")
        self.distinct_doors = bool(distinct_doors)
        self.max_episode_steps = check_count("max_episode_steps", max_episode_steps, 1, 1 << 30)
        self.autoreset_mode = _check_autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        if render_mode is not None:
            check_choice("render_mode", render_mode, VECTOR_RENDER_MODES)
        self.render_mode = render_mode
        self.tile_size = check_count("tile_size", tile_size, 4, 256)
        self.render_num_envs = check_count("render_num_envs", render_num_envs, 1, 1 << 24)

        n = self.num_envs
        h, w = layout.shape
        rows, cols = layout.obs_shape
        self.single_action_space = spaces.Discrete(core.NUM_ACTIONS)
        if obs_mode == "tokens":
            self.single_observation_space = spaces.Box(0, core.NUM_TOKENS - 1, (rows, cols), np.uint8)
        elif obs_mode == "onehot":
            self.single_observation_space = spaces.Box(0, 1, (core.NUM_TOKENS, rows, cols), np.uint8)
        else:
            self.single_observation_space = spaces.Box(0, 255, (h * self.tile_size, w * self.tile_size, 3), np.uint8)
        self.action_space = batch_space(self.single_action_space, n)
        self.observation_space = batch_space(self.single_observation_space, n)

        # Lookup tables on flat map indices (shared by all envs).
        self._cells = h * w
        self._flat_delta = core.ACTION_DELTAS[:, 0] * w + core.ACTION_DELTAS[:, 1]
        self._pos_table = np.stack(np.divmod(np.arange(h * w), w), axis=1).astype(np.int64)  # flat -> (row, col)
        r0, c0 = layout.obs_offset
        obs_rc = self._pos_table - np.array([r0, c0])
        self._obs_index = obs_rc[:, 0] * cols + obs_rc[:, 1]  # flat map -> flat obs cell (inside the window)
        window = np.zeros(layout.shape, dtype=bool)
        window[layout.obs_window] = True
        self._window_flat = np.flatnonzero(window)  # flat map cells shown in the observation, row-major
        self._obs_is_map = len(self._window_flat) == h * w
        self._walkable_flat = np.flatnonzero(~layout.walls.ravel())
        self._row_offset = np.arange(n, dtype=np.int64) * h * w  # env i's cells start here in a raveled (N, H*W)
        self._rows = np.arange(n)

        # Episode state; set by reset().
        k = layout.num_doors
        self._start = np.zeros(n, dtype=np.int64)  # flat map indices
        self._goal = np.zeros(n, dtype=np.int64)
        self._agent = np.zeros(n, dtype=np.int64)
        self._elapsed = np.zeros(n, dtype=np.int64)
        self.fixed_walls = np.zeros((n, k), dtype=bool)
        self.closed_doors = np.zeros((n, k), dtype=bool)
        self.changed_doors = np.zeros((n, k), dtype=bool)
        self._changed_rows = np.zeros(0, dtype=np.int64)  # rows of changed_doors that are not all False
        self._obs_cells = rows * cols
        # Few door cells and no fixed walls (FourRooms): everything derived from the doors depends only on the
        # closed set, so it is looked up in shared per-set tables through one code per env. Otherwise each env
        # keeps its own blocked cells, static tokens and distance field, refreshed when its doors change.
        self._tabled = k <= core.TABLE_MAX_DOORS and n_fixed_walls == 0
        self._lattice = False
        if self._tabled:
            doors = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(bool)  # (codes, K): closed set
            no_walls = np.zeros_like(doors)
            self._code = np.zeros(n, dtype=np.int64)
            self._blocked_table = core.blocked_grid(layout, no_walls, doors).reshape(2**k, -1)
            tokens = core.static_tokens(layout, no_walls, doors, None, None, self.distinct_doors)
            self._token_table = tokens.take(self._window_flat, axis=1)
            self._distance_table = core.goal_distance_table(layout).reshape(-1)
            self._start_obs = np.zeros(n, dtype=np.int64)  # flat index of the start marker in the raveled obs
            self._goal_obs = np.zeros(n, dtype=np.int64)
        else:
            self._blocked = np.zeros((n, h * w), dtype=bool)
            self._static_obs = np.zeros((n, rows * cols), dtype=np.uint8)  # observation tokens without the agent
            # Room lattices (the maze) keep steps to the goal per room, (N, rooms + 1), and derive a cell's
            # distance when asked; other layouts keep the whole distance field (N, H*W).
            self._lattice = core.room_lattice(layout) is not None
            if self._lattice:
                lattice = core.room_lattice(layout)
                self._room_steps = np.zeros((n, lattice.rows * lattice.cols + 1), dtype=np.int16)
            else:
                self._distance = np.zeros((n, h * w), dtype=np.int16)  # BFS steps to the goal from every cell
        self._pool: dict[str, np.ndarray] | None = None  # episodes drawn ahead for auto-resets
        self._pool_next = 0
        self._pool_size = int(min(4096, max(256, n // 2)))
        self._autoreset = np.zeros(n, dtype=bool)  # NEXT_STEP: envs to reset on the next step()
        self._done = np.zeros(n, dtype=bool)  # DISABLED: envs that must be reset before stepping again
        self._has_reset = False

    # --- state views -------------------------------------------------------------------------------------

    @property
    def agent_pos(self) -> np.ndarray:
        """``(N, 2)`` int64 map ``(row, col)`` of each agent."""
        return self._pos_table.take(self._agent, axis=0)

    @property
    def goal_pos(self) -> np.ndarray:
        """``(N, 2)`` int64 map ``(row, col)`` of each goal."""
        return self._pos_table.take(self._goal, axis=0)

    @property
    def start_pos(self) -> np.ndarray:
        """``(N, 2)`` int64 map ``(row, col)`` of each start cell."""
        return self._pos_table.take(self._start, axis=0)

    @property
    def elapsed_steps(self) -> np.ndarray:
        """``(N,)`` steps taken in each env's current episode."""
        return self._elapsed.copy()

    @property
    def blocked(self) -> np.ndarray:
        """``(N, H, W)`` bool, map cells the agent cannot enter now."""
        if self._tabled:
            return self._blocked_table[self._code].reshape(self.num_envs, *self.layout.shape)
        return self._blocked.reshape(self.num_envs, *self.layout.shape).copy()

    @property
    def shortest_path_length(self) -> np.ndarray:
        """``(N,)`` int64 BFS steps agent -> goal with the doors as they are now, -1 when cut off."""
        return self._agent_distance(self._agent).astype(np.int64)

    @property
    def goal_distance_field(self) -> np.ndarray:
        """``(N, H*W)`` int16 BFS steps from every flat map cell to the goal now (-1: cut off), for oracles.

        Built from the env's cached distances (a fresh array, or a read-only view of the cache).
        """
        if self._tabled:
            cells = self._cells
            return self._distance_table.take((self._code * cells + self._goal)[:, None] * cells + np.arange(cells))
        if self._lattice:
            blocked_doors = self.fixed_walls | self.closed_doors
            return core.lattice_field(self.layout, self._room_steps, blocked_doors, self._goal)
        view = self._distance.view()
        view.flags.writeable = False
        return view

    def distance_to_goal(self) -> np.ndarray:
        """``(N, H, W)`` int16 BFS steps from each map cell to the goal with the doors as they are now (-1: cut off)."""
        return np.array(self.goal_distance_field).reshape(self.num_envs, *self.layout.shape)

    # --- Gymnasium API ------------------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset all envs, or those in ``options["reset_mask"]``; ``seed`` (an int) seeds the whole batch.

        ``options`` may also pin ``start`` / ``goal``: a map ``(row, col)`` for every env, or an ``(N, 2)`` array.
        """
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed must be None or one int for the whole batch, got {seed!r}")
        super().reset(seed=None if seed is None else int(seed))
        options = {} if options is None else options
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict with keys in {list(VECTOR_RESET_OPTION_KEYS)}, got {options!r}")
        unknown = set(options) - set(VECTOR_RESET_OPTION_KEYS)
        if unknown:
            raise ValueError(
                f"unknown reset option(s) {sorted(unknown)}; allowed keys are {list(VECTOR_RESET_OPTION_KEYS)}"
            )
        mask = options.get("reset_mask")
        if mask is None:
            idx = self._rows
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(
                    f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), got {mask!r}"
                )
            if not self._has_reset and not mask.all():
                raise gym.error.ResetNeeded("The first reset() must reset every env (no reset_mask or an all-True one)")
            idx = np.flatnonzero(mask)
        start = self._check_cells("start", options.get("start"), len(idx))
        goal = self._check_cells("goal", options.get("goal"), len(idx))
        if seed is not None:
            self._pool = None  # pooled episodes were drawn from the old generator
        self._reset_envs(idx, start, goal, pooled=False)  # explicit resets draw afresh; auto-resets use the pool
        self._autoreset[idx] = False
        self._done[idx] = False
        self._has_reset = True
        info = self._info(np.zeros(self.num_envs, dtype=bool))
        if mask is not None:
            for key in INFO_KEYS:
                info[f"_{key}"] = mask.copy()
        return self._observe(), info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Move every agent one cell (blocked moves stay put), then maybe redraw each env's closed doors."""
        if not self._has_reset:
            raise gym.error.ResetNeeded("Cannot call step() before reset()")
        actions = self._check_actions(actions)
        n = self.num_envs
        resetting = np.zeros(0, dtype=np.int64)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP and self._autoreset.any():
            resetting = np.flatnonzero(self._autoreset)
        elif self.autoreset_mode == AutoresetMode.DISABLED and self._done.any():
            raise gym.error.ResetNeeded(
                "With autoreset_mode=DISABLED, reset finished envs with reset(options={'reset_mask': mask}) "
                "before stepping again"
            )

        # The move: one gather into the blocked cells (np.take: much faster than fancy indexing).
        target = self._agent + self._flat_delta.take(actions)
        if self._tabled:
            blocked_move = self._blocked_table.reshape(-1).take(self._code * self._cells + target)
        else:
            blocked_move = self._blocked.reshape(-1).take(self._row_offset + target)
        self._agent = np.where(blocked_move, self._agent, target)
        terminated = self._agent == self._goal
        rewards = _REWARDS.take(blocked_move.view(np.uint8) + 2 * terminated.view(np.uint8))
        self._elapsed += 1

        # Door dynamics, after the move: redraw for the envs whose coin came up.
        if len(self._changed_rows):
            self.changed_doors[self._changed_rows] = False
        redraw = self.np_random.random(n) < self.p_change if self.p_change > 0.0 else np.zeros(n, dtype=bool)
        if len(resetting):
            redraw[resetting] = False
        doors_changed = np.zeros(n, dtype=bool)
        idx = np.flatnonzero(redraw)
        if len(idx):
            cells = np.stack([self._agent[idx], self._start[idx], self._goal[idx]], axis=1)
            protected = self._pos_table.take(cells, axis=0)
            new_doors = core.draw_closed_doors(
                self.np_random, self.layout, self.fixed_walls[idx], protected, self.n_closed
            )
            changed = new_doors != self.closed_doors[idx]
            self.closed_doors[idx] = new_doors
            self.changed_doors[idx] = changed
            moved = changed.any(axis=1)
            doors_changed[idx] = moved
            idx = idx[moved]
        self._changed_rows = idx  # their changed_doors rows are cleared on the next step; refreshed below

        # NEXT_STEP: envs that finished on the previous step are reset now, ignoring their action.
        if len(resetting):
            self._reset_envs(resetting)
            rewards[resetting] = 0.0
            terminated[resetting] = False
            self._autoreset[resetting] = False
        truncated = self._elapsed >= self.max_episode_steps
        done = terminated | truncated

        if self.autoreset_mode == AutoresetMode.SAME_STEP and done.any():
            finished = np.flatnonzero(done)
            self._refresh(idx)  # the final observations show this step's doors
            final_obs = self._observe(finished)
            final_info = self._info(doors_changed, finished)
            self._reset_envs(finished)
            doors_changed[finished] = False
            obs, info = self._observe(), self._info(doors_changed)
            mask = done.copy()
            info["final_obs"] = np.full(n, None, dtype=object)
            info["final_obs"][finished] = np.fromiter(final_obs, dtype=object, count=len(finished))
            info["_final_obs"] = mask
            info["final_info"] = final_info
            info["_final_info"] = mask.copy()
            return obs, rewards, terminated, truncated, info
        self._refresh(idx)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._autoreset = done
        elif self.autoreset_mode == AutoresetMode.DISABLED:
            self._done = done
        return self._observe(), rewards, terminated, truncated, self._info(doors_changed)

    def render(self) -> tuple[np.ndarray, ...] | tuple[str, ...] | None:
        """Frames (``rgb_array``) or text (``ansi``) of the first ``render_num_envs`` envs, as a tuple."""
        from hrm_mazes import rendering

        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                'Set render_mode at initialisation, e.g. gym.make_vec("RandomDoorMaze-v0", num_envs=4, '
                'vectorization_mode="vector_entry_point", render_mode="rgb_array")'
            )
            return None
        if not self._has_reset:
            raise gym.error.ResetNeeded("Cannot call render() before reset()")
        idx = np.arange(min(self.num_envs, self.render_num_envs))
        if self.render_mode == "ansi":
            tokens = self._map_tokens(idx)
            # The renderer shows the true doors when it is given them (newer signature), else the tokens.
            extra = len(inspect.signature(rendering.render_ansi).parameters) >= 4
            return tuple(
                rendering.render_ansi(
                    self.layout, tokens[j], *((self.fixed_walls[i], self.closed_doors[i]) if extra else ())
                )
                for j, i in enumerate(idx)
            )
        return tuple(self._frames(idx))

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release: the batched env holds no windows, processes or files."""

    # --- internals ------------------------------------------------------------------------------------------

    def _check_actions(self, actions: Any) -> np.ndarray:
        arr = np.asarray(actions)
        if arr.shape != (self.num_envs,) or not (np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.bool_):
            raise ValueError(
                f"actions must be an integer array of shape ({self.num_envs},) with values in {core.ACTION_CHOICES}, "
                f"got {type(actions).__name__} shape {arr.shape} dtype {arr.dtype}"
            )
        if arr.min() < 0 or arr.max() >= core.NUM_ACTIONS:
            raise ValueError(f"actions must be in {core.ACTION_CHOICES}, got {arr!r}")
        return arr

    def _check_cells(self, name: str, cells: Any, n: int) -> np.ndarray | None:
        """Pinned positions as ``(n,)`` flat indices, or None."""
        if cells is None:
            return None
        arr = np.asarray(cells)
        if arr.shape == (2,):
            arr = np.broadcast_to(arr, (n, 2))
        if arr.shape != (n, 2) or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"options['{name}'] must be a map (row, col) pair or an ({n}, 2) integer array, got {cells!r}"
            )
        h, w = self.layout.shape
        inside = (arr[:, 0] >= 0) & (arr[:, 0] < h) & (arr[:, 1] >= 0) & (arr[:, 1] < w)
        if not inside.all() or self.layout.walls[arr[:, 0], arr[:, 1]].any():
            raise ValueError(
                f"options['{name}'] must be walkable cells of the {h}x{w} map (map coordinates, outer wall "
                f"included; walls are not allowed), got {cells!r}"
            )
        return (arr[:, 0] * w + arr[:, 1]).astype(np.int64)

    def _reset_envs(
        self, idx: np.ndarray, start: np.ndarray | None = None, goal: np.ndarray | None = None, pooled: bool = True
    ) -> None:
        """Start new episodes in envs ``idx``, their derived arrays included.

        Auto-resets (``pooled``) take their episodes from a pool drawn in bulk (a few thousand at a time): each
        entry is an independent draw of the reset rule, so the law is unchanged, and the per-call cost of the
        array operations (fixed-wall path checks, distance fields) is paid once per pool instead of every step.
        """
        n = len(idx)
        if n == 0:
            return
        if pooled and start is None and goal is None:
            episodes = self._from_pool(n)
        else:
            episodes = self._draw_episodes(n, start, goal)
        for name, values in episodes.items():
            getattr(self, name)[idx] = values
        self._agent[idx] = episodes["_start"]
        self._elapsed[idx] = 0
        self.changed_doors[idx] = False
        if self._tabled:
            self._place_markers(idx)

    def _from_pool(self, n: int) -> dict[str, np.ndarray]:
        """The next ``n`` pooled episodes; a fresh pool is drawn when too few are left (leftovers are dropped)."""
        if self._pool is None or self._pool_next + n > len(self._pool["_start"]):
            self._pool = self._draw_episodes(max(n, self._pool_size))
            self._pool_next = 0
        lo, self._pool_next = self._pool_next, self._pool_next + n
        return {name: values[lo : self._pool_next] for name, values in self._pool.items()}

    def _draw_episodes(self, n: int, start: np.ndarray | None = None, goal: np.ndarray | None = None) -> dict:
        """``n`` new episodes (start, goal, fixed walls with the path check, closed doors) and their derived arrays."""
        rng = self.np_random
        if start is None and goal is None:
            start_pos, goal_pos = core.sample_start_goal(rng, self.layout, n)
            start = start_pos[:, 0] * self.layout.shape[1] + start_pos[:, 1]
            goal = goal_pos[:, 0] * self.layout.shape[1] + goal_pos[:, 1]
        elif start is None or goal is None:
            pinned = start if start is not None else goal
            other = self._draw_other_cell(pinned)
            start, goal = (pinned, other) if start is not None else (other, pinned)
        if (start == goal).any():
            raise ValueError("options['start'] and options['goal'] must differ in every env")
        start_pos, goal_pos = self._pos_table.take(start, axis=0), self._pos_table.take(goal, axis=0)
        fixed = core.sample_fixed_walls(rng, self.layout, start_pos, goal_pos, self.n_fixed_walls)
        protected = np.stack([start_pos, start_pos, goal_pos], axis=1)  # the agent stands on the start
        closed = core.draw_closed_doors(rng, self.layout, fixed, protected, self.n_closed)
        episodes = {"_start": start, "_goal": goal, "fixed_walls": fixed, "closed_doors": closed}
        episodes.update(self._derive(start, goal, fixed, closed))
        return episodes

    def _draw_other_cell(self, pinned: np.ndarray) -> np.ndarray:
        """Per env, a walkable cell other than ``pinned``, uniformly (the single env's rule)."""
        cells = self._walkable_flat
        where = np.searchsorted(cells, pinned)
        draw = self.np_random.integers(len(cells) - 1, size=len(pinned))
        return cells[draw + (draw >= where)]

    def _derive(self, start: np.ndarray, goal: np.ndarray, fixed: np.ndarray, closed: np.ndarray) -> dict:
        """What depends on the doors: the closed-set code (tabled layouts), or blocked cells, static tokens and
        the distance field (per-env layouts), keyed by attribute name."""
        if self._tabled:
            return {"_code": core.door_set_code(closed)}
        tokens = core.static_tokens(self.layout, fixed, closed, start, goal, self.distinct_doors)
        derived = {
            "_blocked": core.blocked_grid(self.layout, fixed, closed).reshape(len(start), -1),
            "_static_obs": tokens if self._obs_is_map else tokens.take(self._window_flat, axis=1),
        }
        if self._lattice:
            derived["_room_steps"] = core.lattice_room_steps(self.layout, fixed | closed, goal)
        else:
            derived["_distance"] = core.batched_goal_distances(
                self.layout, fixed, closed, self._pos_table.take(goal, axis=0)
            )
        return derived

    def _place_markers(self, idx: np.ndarray) -> None:
        """Tabled layouts: where envs ``idx`` paint their start marker and goal in the raveled observations."""
        self._start_obs[idx] = idx * self._obs_cells + self._obs_index.take(self._start[idx])
        self._goal_obs[idx] = idx * self._obs_cells + self._obs_index.take(self._goal[idx])

    def _refresh(self, idx: np.ndarray) -> None:
        """Recompute what depends on the doors for envs ``idx`` (after their closed doors changed)."""
        if len(idx) == 0:
            return
        derived = self._derive(self._start[idx], self._goal[idx], self.fixed_walls[idx], self.closed_doors[idx])
        for name, values in derived.items():
            getattr(self, name)[idx] = values

    def _agent_distance(self, agent: np.ndarray) -> np.ndarray:
        """``(N,)`` int16 distance to the goal from cell ``agent[i]`` in env ``i`` (one gather)."""
        cells = self._cells
        if self._tabled:
            return self._distance_table.take((self._code * cells + self._goal) * cells + agent)
        if self._lattice:
            return core.lattice_cell_distance(self.layout, self._room_steps, agent, self._goal)
        return self._distance.reshape(-1).take(self._row_offset + agent)

    def _tokens(self, idx: np.ndarray | None = None) -> np.ndarray:
        """``(n, rows, cols)`` observation tokens (agent painted) of envs ``idx`` (all when None): a fresh array."""
        cells = self._obs_cells
        if self._tabled:
            # Shared tokens of the closed set, then the start marker, the goal and the agent (core's paint order).
            if idx is None:
                tokens = self._token_table.take(self._code, axis=0)
                start, goal, agent = self._start_obs, self._goal_obs, self._agent
            else:
                tokens = self._token_table.take(self._code[idx], axis=0)
                local = np.arange(len(idx), dtype=np.int64) * cells
                start = local + self._obs_index.take(self._start[idx])
                goal = local + self._obs_index.take(self._goal[idx])
                agent = self._agent[idx]
            flat = tokens.reshape(-1)
            flat[start] = core.START
            flat[goal] = core.GOAL
        elif idx is None:
            tokens = self._static_obs.copy()
            agent = self._agent
        else:
            tokens = self._static_obs[idx]
            agent = self._agent[idx]
        tokens.reshape(-1)[np.arange(len(tokens), dtype=np.int64) * cells + self._obs_index.take(agent)] = core.AGENT
        return tokens.reshape(len(tokens), *self.layout.obs_shape)

    def _map_tokens(self, idx: np.ndarray) -> np.ndarray:
        """``(n, H, W)`` tokens of the whole map (outer wall included), for ``ansi`` rendering."""
        return core.token_grid(
            self.layout,
            self.fixed_walls[idx],
            self.closed_doors[idx],
            self._pos_table[self._start[idx]],
            self._pos_table[self._goal[idx]],
            self._pos_table[self._agent[idx]],
            self.distinct_doors,
        )

    def _frames(self, idx: np.ndarray) -> np.ndarray:
        """``(n, H*t, W*t, 3)`` uint8 rendered frames of envs ``idx``."""
        from hrm_mazes import rendering

        args = (
            self.layout,
            self.fixed_walls[idx],
            self.closed_doors[idx],
            self._pos_table[self._start[idx]],
            self._pos_table[self._goal[idx]],
            self._pos_table[self._agent[idx]],
            self.changed_doors[idx],
        )
        if hasattr(rendering, "render_rgb_batch"):
            return rendering.render_rgb_batch(*args, tile_size=self.tile_size)
        frames = [
            rendering.render_rgb(*(a if i == 0 else a[j] for i, a in enumerate(args)), self.tile_size)
            for j in range(len(idx))
        ]
        return np.stack(frames) if frames else np.zeros((0, *self.single_observation_space.shape), dtype=np.uint8)

    def _observe(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Observations of envs ``idx`` (all when None), a fresh array the env never touches again."""
        if self.obs_mode == "rgb":
            return self._frames(self._rows if idx is None else idx)
        tokens = self._tokens(idx)
        if self.obs_mode == "onehot":
            return core.tokens_to_onehot(tokens)
        return tokens

    def _info(self, doors_changed: np.ndarray, idx: np.ndarray | None = None) -> dict[str, Any]:
        """The batched info dict: one array per key plus gymnasium's ``_key`` masks (all True, or ``idx`` rows)."""
        if idx is None:
            agent, goal, changed, mask = (
                self._agent,
                self._goal,
                doors_changed.copy(),
                np.ones(self.num_envs, dtype=bool),
            )
            distance = self._agent_distance(agent)
        else:
            # Final infos (SAME_STEP): arrays over all N envs, filled and unmasked only for rows idx.
            agent, goal = np.zeros(self.num_envs, dtype=np.int64), np.zeros(self.num_envs, dtype=np.int64)
            agent[idx], goal[idx] = self._agent[idx], self._goal[idx]
            changed = np.zeros(self.num_envs, dtype=bool)
            changed[idx] = doors_changed[idx]
            mask = np.zeros(self.num_envs, dtype=bool)
            mask[idx] = True
            distance = np.where(mask, self._agent_distance(agent), 0)
        info = {
            "agent_pos": self._pos_table.take(agent, axis=0),
            "goal_pos": self._pos_table.take(goal, axis=0),
            "is_success": (agent == goal) & mask,
            "doors_changed": changed,
            "shortest_path": distance.astype(np.int64),
        }
        for key in INFO_KEYS:
            info[f"_{key}"] = mask.copy()
        if idx is not None:
            info["agent_pos"][~mask] = 0
            info["goal_pos"][~mask] = 0
        return info


class FourRoomsDynamicVectorEnv(DynamicDoorsVectorEnv):
    """``num_envs`` copies of :class:`hrm_mazes.envs.FourRoomsDynamicEnv` in arrays (same rules, same kwargs).

    ``gym.make_vec("FourRooms-Dynamic-v0", num_envs=N, vectorization_mode="vector_entry_point")``.
    Observations ``(N, 11, 11)`` uint8 tokens (``(N, 7, 11, 11)`` onehot); rewards ``(N,)`` float64; info
    arrays ``agent_pos`` / ``goal_pos`` ``(N, 2)``, ``is_success``, ``doors_changed``, ``shortest_path`` ``(N,)``.
    """

    def __init__(
        self,
        num_envs: int = 1,
        p_change: float = core.DEFAULT_P_CHANGE,
        n_closed_doors: int = 1,
        obs_mode: str = "tokens",
        distinct_doors: bool = False,
        max_episode_steps: int = core.MAX_EPISODE_STEPS,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        tile_size: int = 32,
        render_num_envs: int = 4,
    ) -> None:
        layout = core.FOUR_ROOMS
        super().__init__(
            layout,
            num_envs=num_envs,
            n_closed=check_count("n_closed_doors", n_closed_doors, 0, layout.num_doors),
            p_change=p_change,
            obs_mode=obs_mode,
            distinct_doors=distinct_doors,
            max_episode_steps=max_episode_steps,
            autoreset_mode=autoreset_mode,
            render_mode=render_mode,
            tile_size=tile_size,
            render_num_envs=render_num_envs,
        )
        self.n_closed_doors = self.n_closed


class RandomDoorMazeVectorEnv(DynamicDoorsVectorEnv):
    """``num_envs`` copies of :class:`hrm_mazes.envs.RandomDoorMazeEnv` in arrays (same rules, same kwargs).

    ``gym.make_vec("RandomDoorMaze-v0", num_envs=N, vectorization_mode="vector_entry_point")``.
    Observations ``(N, 11, 13)`` uint8 tokens (``(N, 7, 11, 13)`` onehot); rewards ``(N,)`` float64; info
    arrays ``agent_pos`` / ``goal_pos`` ``(N, 2)``, ``is_success``, ``doors_changed``, ``shortest_path`` ``(N,)``.
    """

    def __init__(
        self,
        num_envs: int = 1,
        p_change: float = core.DEFAULT_P_CHANGE,
        n_fixed_walls: int = 10,
        n_temp_doors: int = 5,
        obs_mode: str = "tokens",
        distinct_doors: bool = False,
        max_episode_steps: int = core.MAX_EPISODE_STEPS,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        tile_size: int = 32,
        render_num_envs: int = 4,
    ) -> None:
        layout = core.DOOR_MAZE
        n_fixed_walls, n_temp_doors = check_maze_doors(layout, n_fixed_walls, n_temp_doors)
        super().__init__(
            layout,
            num_envs=num_envs,
            n_closed=n_temp_doors,
            n_fixed_walls=n_fixed_walls,
            p_change=p_change,
            obs_mode=obs_mode,
            distinct_doors=distinct_doors,
            max_episode_steps=max_episode_steps,
            autoreset_mode=autoreset_mode,
            render_mode=render_mode,
            tile_size=tile_size,
            render_num_envs=render_num_envs,
        )
        self.n_temp_doors = n_temp_doors

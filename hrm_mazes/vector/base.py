"""The batched env's base class: ``N`` mazes in numpy arrays, advanced together by one ``step()``.

Per-env state is flat arrays: cell indices ``(N,)`` and door booleans ``(N, K)``. What depends on the doors is
kept by a :class:`~hrm_mazes.vector.door_cache.DoorCache` and refreshed only for the envs whose doors changed.
Auto-resets take their episodes from a pool drawn in bulk, a few thousand at a time (same law: every pooled
episode is an independent draw). There is no Python loop over environments in ``step()`` or ``reset()``.

(Near 500 lines: one class holding one state machine, reset / step / auto-reset / observations, whose parts
share every per-env array; the door-dependent caches are already their own module.)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from hrm_mazes import core
from hrm_mazes.checks import (
    OBS_MODES,
    check_actions,
    check_autoreset_mode,
    check_cells,
    check_choice,
    check_count,
    check_flag,
    check_max_distance,
    check_probability,
    check_view_radius,
)
from hrm_mazes.core import Layout
from hrm_mazes.vector.door_cache import make_door_cache

VECTOR_RENDER_MODES = ("rgb_array", "ansi")
INFO_KEYS = ("agent_pos", "goal_pos", "is_success", "doors_changed", "shortest_path")
VECTOR_RESET_OPTION_KEYS = ("start", "goal", "reset_mask", "max_distance")
EPISODE_KEYS = ("start", "goal", "fixed_walls", "closed_doors")  # what a reset draws, besides the door cache rows
# Reward by (blocked move) + 2 * (reached the goal): a lookup instead of two np.where.
_REWARDS = np.array([core.REWARD_STEP, core.REWARD_BLOCKED, core.REWARD_GOAL, core.REWARD_GOAL])


class DynamicDoorsVectorEnv(VectorEnv):
    """``num_envs`` dynamic-door mazes stepped together with array operations (see the concrete classes).

    :param layout: the static map (walls and door cells), shared by all envs.
    :param num_envs: number of environments ``N``.
    :param n_closed: closed temporary doors drawn at each redraw.
    :param n_fixed_walls: door cells turned into permanent walls at reset (with the path check).
    :param p_change: per-step probability that an env's closed doors are redrawn.
    :param obs_mode: ``"tokens"`` (N, H, W) uint8, ``"onehot"`` (N, C, H, W) uint8 or ``"rgb"`` frames.
    :param distinct_doors: give every door state its own token (see :func:`hrm_mazes.core.door_tokens`); the
        default shows the paper's view, where fixed walls and closed FourRooms doorways read as ``WALL``.
    :param view_radius: None (the full view) or an int in [1, 12]: each agent sees only the ``(2r + 1)`` square
        around it and its goal, the other cells read ``UNSEEN`` (:func:`hrm_mazes.core.view_mask`, as the single env).
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
        view_radius: int | None = None,
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
        self.distinct_doors = check_flag("distinct_doors", distinct_doors)
        self.view_radius = check_view_radius(view_radius)
        self.num_tokens = core.num_tokens(self.view_radius)
        self.max_episode_steps = check_count("max_episode_steps", max_episode_steps, 1, 1 << 30)
        self.autoreset_mode = check_autoreset_mode(autoreset_mode)
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
            self.single_observation_space = spaces.Box(0, self.num_tokens - 1, (rows, cols), np.uint8)
        elif obs_mode == "onehot":
            self.single_observation_space = spaces.Box(0, 1, (self.num_tokens, rows, cols), np.uint8)
        else:
            self.single_observation_space = spaces.Box(0, 255, (h * self.tile_size, w * self.tile_size, 3), np.uint8)
        self.action_space = batch_space(self.single_action_space, n)
        self.observation_space = batch_space(self.single_observation_space, n)

        # Lookup tables on flat map indices (shared by all envs).
        self._flat_delta = core.ACTION_DELTAS[:, 0] * w + core.ACTION_DELTAS[:, 1]
        self._pos_table = np.stack(np.divmod(np.arange(h * w), w), axis=1).astype(np.int64)  # flat -> (row, col)
        self._rows = np.arange(n)

        # Episode state (flat map indices and per-door booleans); set by reset().
        k = layout.num_doors
        self._start = np.zeros(n, dtype=np.int64)
        self._goal = np.zeros(n, dtype=np.int64)
        self._agent = np.zeros(n, dtype=np.int64)
        self._elapsed = np.zeros(n, dtype=np.int64)
        self.fixed_walls = np.zeros((n, k), dtype=bool)
        self.closed_doors = np.zeros((n, k), dtype=bool)
        self.changed_doors = np.zeros((n, k), dtype=bool)
        self._changed_rows = np.zeros(0, dtype=np.int64)  # rows of changed_doors that are not all False
        self._door_cache = make_door_cache(layout, n, n_fixed_walls, self.distinct_doors)
        self._pool: dict[str, np.ndarray] | None = None  # episodes drawn ahead for auto-resets
        self._pool_next = 0
        self._pool_size = int(min(4096, max(256, n // 2)))
        self._autoreset = np.zeros(n, dtype=bool)  # NEXT_STEP: envs to reset on the next step()
        self.max_distance: int | None = None  # the distance curriculum's limit (set_max_distance); None: the task
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
        return self._door_cache.blocked().reshape(self.num_envs, *self.layout.shape)

    @property
    def shortest_path_length(self) -> np.ndarray:
        """``(N,)`` int64 BFS steps agent -> goal with the doors as they are now, -1 when cut off."""
        return self._door_cache.agent_distance(self._agent, self._goal).astype(np.int64)

    @property
    def goal_distance_field(self) -> np.ndarray:
        """``(N, H*W)`` int16 BFS steps from every flat map cell to the goal now (-1: cut off), for oracles.

        Built from the env's cached distances (a fresh array, or a read-only view of the cache).
        """
        return self._door_cache.distance_field(self._goal, self.fixed_walls, self.closed_doors)

    def distance_to_goal(self) -> np.ndarray:
        """``(N, H, W)`` int16 BFS steps from each map cell to the goal with the doors as they are now (-1: cut off)."""
        return np.array(self.goal_distance_field).reshape(self.num_envs, *self.layout.shape)

    # --- Gymnasium API ------------------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset all envs, or those in ``options["reset_mask"]``; ``seed`` (an int) seeds the whole batch.

        ``options`` may also pin ``start`` / ``goal``: a map ``(row, col)`` for every env, or an ``(N, 2)`` array,
        and set ``max_distance`` for these resets (default: the limit of :meth:`set_max_distance`, which
        auto-resets follow too; none unless set): start and goal at most that many open-map steps apart.
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
                    f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), "
                    f"got shape {mask.shape} dtype {mask.dtype}"
                )
            if not self._has_reset and not mask.all():
                raise gym.error.ResetNeeded("The first reset() must reset every env (no reset_mask or an all-True one)")
            idx = np.flatnonzero(mask)
        start = check_cells(self.layout, "start", options.get("start"), len(idx))
        goal = check_cells(self.layout, "goal", options.get("goal"), len(idx))
        max_distance = self.max_distance
        if options.get("max_distance") is not None:
            max_distance = check_max_distance("options['max_distance']", options["max_distance"])
        if seed is not None:
            self._pool = None  # pooled episodes were drawn from the old generator
        # Explicit resets draw afresh; auto-resets use the pool.
        self._reset_envs(idx, start, goal, pooled=False, max_distance=max_distance)
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
        actions = check_actions(actions, self.num_envs)
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
        blocked_move = self._door_cache.blocked_moves(target)
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
            self._refresh_door_cache(idx)  # the final observations show this step's doors
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
        self._refresh_door_cache(idx)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._autoreset = done
        elif self.autoreset_mode == AutoresetMode.DISABLED:
            self._done = done
        return self._observe(), rewards, terminated, truncated, self._info(doors_changed)

    def render(self) -> tuple[np.ndarray, ...] | tuple[str, ...] | None:
        """Frames (``rgb_array``) or text (``ansi``) of the first ``render_num_envs`` envs, as a tuple; with a
        ``view_radius`` the cells an agent does not see are dimmed, as in the single env's frames."""
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
            return tuple(
                rendering.render_ansi(self.layout, tokens[j], self.fixed_walls[i], self.closed_doors[i])
                for j, i in enumerate(idx)
            )
        return tuple(self._frames(idx, fog="dim"))

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release: the batched env holds no windows, processes or files."""

    # --- episodes ------------------------------------------------------------------------------------------

    def set_max_distance(self, max_distance: int | None) -> None:
        """Draw every later episode's start and goal (auto-resets included) at most ``max_distance`` open-map
        steps apart, uniformly over such pairs (the distance curriculum). None: the task's law."""
        self.max_distance = None if max_distance is None else check_max_distance("max_distance", max_distance)
        self._pool = None  # pooled episodes were drawn under the old limit

    def _reset_envs(
        self,
        idx: np.ndarray,
        start: np.ndarray | None = None,
        goal: np.ndarray | None = None,
        pooled: bool = True,
        max_distance: int | None = None,
    ) -> None:
        """Start new episodes in envs ``idx``, their door cache rows included.

        Auto-resets (``pooled``) take their episodes from a pool drawn in bulk (a few thousand at a time): each
        entry is an independent draw of the reset rule, so the law is unchanged, and the per-call cost of the
        array operations (fixed-wall path checks, distance fields) is paid once per pool instead of every step.
        """
        if len(idx) == 0:
            return
        if pooled and start is None and goal is None:
            episodes = self._from_pool(len(idx))
        else:
            episodes = self._draw_episodes(len(idx), start, goal, max_distance)
        self._start[idx] = episodes["start"]
        self._goal[idx] = episodes["goal"]
        self.fixed_walls[idx] = episodes["fixed_walls"]
        self.closed_doors[idx] = episodes["closed_doors"]
        self._door_cache.store(idx, episodes)
        self._door_cache.new_episodes(idx, episodes["start"], episodes["goal"])
        self._agent[idx] = episodes["start"]
        self._elapsed[idx] = 0
        self.changed_doors[idx] = False

    def _from_pool(self, n: int) -> dict[str, np.ndarray]:
        """The next ``n`` pooled episodes; a fresh pool is drawn when too few are left (leftovers are dropped)."""
        if self._pool is None or self._pool_next + n > len(self._pool["start"]):
            self._pool = self._draw_episodes(max(n, self._pool_size), max_distance=self.max_distance)
            self._pool_next = 0
        lo, self._pool_next = self._pool_next, self._pool_next + n
        return {name: values[lo : self._pool_next] for name, values in self._pool.items()}

    def _draw_episodes(
        self, n: int, start: np.ndarray | None = None, goal: np.ndarray | None = None, max_distance: int | None = None
    ) -> dict:
        """``n`` new episodes (flat start and goal, fixed walls with the path check, closed doors) and their door
        cache rows, keyed by :data:`EPISODE_KEYS` and the cache's ``row_names``."""
        rng = self.np_random
        w = self.layout.shape[1]
        if start is None and goal is None:
            start_pos, goal_pos = core.sample_start_goal(rng, self.layout, n, max_distance)
            start, goal = start_pos[:, 0] * w + start_pos[:, 1], goal_pos[:, 0] * w + goal_pos[:, 1]
        elif start is None or goal is None:
            pinned = start if start is not None else goal
            other_pos = core.sample_other_cell(rng, self.layout, self._pos_table.take(pinned, axis=0), max_distance)
            other = other_pos[:, 0] * w + other_pos[:, 1]
            start, goal = (pinned, other) if start is not None else (other, pinned)
        if (start == goal).any():
            raise ValueError("options['start'] and options['goal'] must differ in every env")
        start_pos, goal_pos = self._pos_table.take(start, axis=0), self._pos_table.take(goal, axis=0)
        fixed = core.sample_fixed_walls(rng, self.layout, start_pos, goal_pos, self.n_fixed_walls)
        protected = np.stack([start_pos, start_pos, goal_pos], axis=1)  # the agent stands on the start
        closed = core.draw_closed_doors(rng, self.layout, fixed, protected, self.n_closed)
        episodes = {"start": start, "goal": goal, "fixed_walls": fixed, "closed_doors": closed}
        episodes.update(self._door_cache.derive(start, goal, fixed, closed))
        return episodes

    def _refresh_door_cache(self, idx: np.ndarray) -> None:
        """Recompute the door cache rows of envs ``idx`` (after their closed doors changed)."""
        if len(idx) == 0:
            return
        rows = self._door_cache.derive(self._start[idx], self._goal[idx], self.fixed_walls[idx], self.closed_doors[idx])
        self._door_cache.store(idx, rows)

    # --- observations and infos ------------------------------------------------------------------------------

    def _tokens(self, idx: np.ndarray | None = None) -> np.ndarray:
        """``(n, rows, cols)`` observation tokens (agent painted) of envs ``idx`` (all when None): a fresh array."""
        if idx is None:
            tokens = self._door_cache.tokens(None, self._start, self._goal, self._agent)
        else:
            tokens = self._door_cache.tokens(idx, self._start[idx], self._goal[idx], self._agent[idx])
        return tokens.reshape(len(tokens), *self.layout.obs_shape)

    def _state_of(self, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        """Envs ``idx`` as core's painters take them: fixed walls, closed doors ``(n, K)``; start, goal, agent
        ``(n, 2)`` map positions."""
        positions = (self._pos_table[cells[idx]] for cells in (self._start, self._goal, self._agent))
        return (self.fixed_walls[idx], self.closed_doors[idx], *positions)

    def _map_tokens(self, idx: np.ndarray) -> np.ndarray:
        """``(n, H, W)`` tokens of the whole map (outer wall included), for ``ansi`` rendering."""
        return core.token_grid(self.layout, *self._state_of(idx), self.distinct_doors)

    def _visible(self, idx: np.ndarray, shape: tuple[int, int], offset: tuple[int, int]) -> np.ndarray:
        """``(n, *shape)`` bool: the cells the agents of envs ``idx`` see, on a grid whose ``(0, 0)`` is map cell
        ``offset`` (the observation grid or the map)."""
        agent = self._pos_table.take(self._agent[idx], axis=0) - np.asarray(offset)
        goal = self._pos_table.take(self._goal[idx], axis=0) - np.asarray(offset)
        return core.view_mask(shape, agent, goal, self.view_radius)

    def _frames(self, idx: np.ndarray, fog: str) -> np.ndarray:
        """``(n, H*t, W*t, 3)`` uint8 rendered frames of envs ``idx``; with a partial view the cells the agents do
        not see are ``fog``: ``"dim"`` (render) or ``"hide"`` (observations)."""
        from hrm_mazes import rendering

        visible = None if self.view_radius is None else self._visible(idx, self.layout.shape, (0, 0))
        return rendering.render_rgb_batch(
            self.layout, *self._state_of(idx), self.changed_doors[idx], tile_size=self.tile_size, visible=visible, fog=fog
        )

    def _observe(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Observations of envs ``idx`` (all when None), a fresh array the env never touches again."""
        rows = self._rows if idx is None else idx
        if self.obs_mode == "rgb":
            return self._frames(rows, fog="hide")  # an observation must not show what the agent cannot see
        tokens = self._tokens(idx)
        if self.view_radius is not None:
            tokens = core.hide_unseen(tokens, self._visible(rows, self.layout.obs_shape, self.layout.obs_offset))
        if self.obs_mode == "onehot":
            return core.tokens_to_onehot(tokens, self.num_tokens)
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
            distance = self._door_cache.agent_distance(agent, goal)
        else:
            # Final infos (SAME_STEP): arrays over all N envs, filled and unmasked only for rows idx.
            agent, goal = np.zeros(self.num_envs, dtype=np.int64), np.zeros(self.num_envs, dtype=np.int64)
            agent[idx], goal[idx] = self._agent[idx], self._goal[idx]
            changed = np.zeros(self.num_envs, dtype=bool)
            changed[idx] = doors_changed[idx]
            mask = np.zeros(self.num_envs, dtype=bool)
            mask[idx] = True
            distance = np.where(mask, self._door_cache.agent_distance(agent, self._goal), 0)
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

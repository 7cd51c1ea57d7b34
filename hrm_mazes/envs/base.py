"""The common machinery of the dynamic-door mazes: one Gymnasium env class, configured by a layout."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from hrm_mazes import core
from hrm_mazes.checks import (  # noqa: F401  (check_count is imported from here by the concrete envs)
    OBS_MODES,
    check_action,
    check_cell,
    check_choice,
    check_count,
    check_flag,
    check_max_distance,
    check_probability,
    check_view_radius,
)
from hrm_mazes.core import Layout

RENDER_MODES = ("human", "rgb_array", "ansi")
RESET_OPTION_KEYS = ("start", "goal", "layout_seed", "max_distance")


def _as_cell(position: np.ndarray) -> tuple[int, int]:
    """A ``(2,)`` array position as a ``(row, col)`` tuple of Python ints."""
    return int(position[0]), int(position[1])


class DynamicDoorsEnv(gym.Env[np.ndarray, np.int64]):
    """A grid maze whose doors close and re-open while the agent moves (see the concrete envs' docstrings).

    :param layout: the static map (walls and door cells).
    :param n_closed: closed temporary doors drawn at each redraw.
    :param n_fixed_walls: door cells turned into permanent walls at reset (with the path check).
    :param p_change: per-step probability that the closed doors are redrawn.
    :param obs_mode: ``"tokens"`` (H, W) uint8, ``"onehot"`` (C, H, W) uint8, or ``"rgb"`` (H*t, W*t, 3) uint8.
    :param distinct_doors: give every door state its own token (see :func:`hrm_mazes.core.door_tokens`); the
        default shows the paper's view, where fixed walls and closed FourRooms doorways read as ``WALL``.
    :param view_radius: None (default): the agent sees the whole grid. An int ``r`` in [1, 12]: it sees only the
        ``(2r + 1) x (2r + 1)`` cells around it and the goal (:func:`hrm_mazes.core.view_mask`); every other cell
        reads ``UNSEEN``, on the same grid (the observation space gains that token: ``Box(0, 7)``).
    :param render_mode: ``"human"``, ``"rgb_array"``, ``"ansi"`` or None.
    :param tile_size: pixels per cell for ``rgb`` observations and rendered frames.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 8}

    def __init__(
        self,
        layout: Layout,
        *,
        n_closed: int,
        n_fixed_walls: int = 0,
        p_change: float = core.DEFAULT_P_CHANGE,
        obs_mode: str = "tokens",
        distinct_doors: bool = False,
        view_radius: int | None = None,
        render_mode: str | None = None,
        tile_size: int = 32,
    ) -> None:
        self.layout = layout
        self.p_change = check_probability("p_change", p_change)
        self.n_closed = n_closed
        self.n_fixed_walls = n_fixed_walls
        self.obs_mode = check_choice("obs_mode", obs_mode, OBS_MODES)
        self.distinct_doors = check_flag("distinct_doors", distinct_doors)
        self.view_radius = check_view_radius(view_radius)
        if render_mode is not None:
            check_choice("render_mode", render_mode, RENDER_MODES)
        self.render_mode = render_mode
        self.tile_size = check_count("tile_size", tile_size, 4, 256)

        self.action_space = spaces.Discrete(core.NUM_ACTIONS)
        rows, cols = layout.obs_shape
        self.num_tokens = core.num_tokens(self.view_radius)
        if obs_mode == "tokens":
            self.observation_space = spaces.Box(0, self.num_tokens - 1, (rows, cols), np.uint8)
        elif obs_mode == "onehot":
            self.observation_space = spaces.Box(0, 1, (self.num_tokens, rows, cols), np.uint8)
        h, w = layout.shape
        if obs_mode == "rgb":  # the rendered frame: the whole map, outer wall included
            self.observation_space = spaces.Box(0, 255, (h * self.tile_size, w * self.tile_size, 3), np.uint8)

        self._width = w
        self._window = None  # pygame window, opened lazily by render() in human mode
        # Episode state (map coordinates); set by reset().
        self.start_pos: tuple[int, int] = (0, 0)
        self.goal_pos: tuple[int, int] = (0, 0)
        self.agent_pos: tuple[int, int] = (0, 0)
        self.fixed_walls = np.zeros(layout.num_doors, dtype=bool)
        self.closed_doors = np.zeros(layout.num_doors, dtype=bool)
        self.changed_doors = np.zeros(layout.num_doors, dtype=bool)
        self._blocked: list[bool] = []
        self._distance_to_goal: list[int] = []
        self._tokens_without_agent = np.zeros((h, w), dtype=np.uint8)
        self._has_reset = False
        self.max_distance: int | None = None  # the distance curriculum's limit (set_max_distance); None: the task

    # --- Gymnasium API ------------------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode. ``options`` may pin ``start`` and ``goal`` (map ``(row, col)``), a ``layout_seed``
        and a ``max_distance``.

        ``layout_seed`` draws start, goal and fixed walls from its own generator, so the same seed gives the
        same maze; door dynamics still follow the env's generator. ``max_distance`` (a positive int; default:
        the limit of :meth:`set_max_distance`, none unless set) draws start and goal at most that many steps
        apart on the open map, uniformly over such pairs: the distance curriculum.
        """
        super().reset(seed=seed)
        start, goal, layout_rng, max_distance = self._parse_options(options)
        if start is None and goal is None:
            drawn_start, drawn_goal = core.sample_start_goal(layout_rng, self.layout, 1, max_distance)
            start, goal = _as_cell(drawn_start[0]), _as_cell(drawn_goal[0])
        elif start is None:
            start = _as_cell(core.sample_other_cell(layout_rng, self.layout, np.array([goal]), max_distance)[0])
        elif goal is None:
            goal = _as_cell(core.sample_other_cell(layout_rng, self.layout, np.array([start]), max_distance)[0])
        if start == goal:
            raise ValueError(f"options['start'] and options['goal'] must differ, both are {start}")
        self.start_pos, self.goal_pos, self.agent_pos = start, goal, start
        self.fixed_walls = core.sample_fixed_walls(
            layout_rng, self.layout, np.array([start]), np.array([goal]), self.n_fixed_walls
        )[0]
        self.closed_doors = self._draw_doors()
        self.changed_doors = np.zeros(self.layout.num_doors, dtype=bool)
        self._doors_updated()
        self._has_reset = True
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info(doors_changed=False)

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Move one cell (blocked moves stay put), then maybe redraw the closed doors."""
        if not self._has_reset:
            raise gym.error.ResetNeeded("Cannot call step() before reset()")
        a = check_action(action)
        r, c = self.agent_pos
        nr, nc = r + int(core.ACTION_DELTAS[a, 0]), c + int(core.ACTION_DELTAS[a, 1])
        if self._blocked[nr * self._width + nc]:
            reward = core.REWARD_BLOCKED
        else:
            self.agent_pos = (nr, nc)
            reward = core.REWARD_STEP
        terminated = self.agent_pos == self.goal_pos
        if terminated:
            reward = core.REWARD_GOAL

        doors_changed = False
        if self.p_change > 0.0 and self.np_random.random() < self.p_change:
            new_doors = self._draw_doors()
            self.changed_doors = new_doors != self.closed_doors
            doors_changed = bool(self.changed_doors.any())
            self.closed_doors = new_doors
            if doors_changed:
                self._doors_updated()
        elif self.changed_doors.any():
            self.changed_doors = np.zeros_like(self.changed_doors)

        if self.render_mode == "human":
            self.render()
        return self._observation(), reward, terminated, False, self._info(doors_changed)

    def render(self) -> np.ndarray | str | None:
        """Draw the true state (whatever ``distinct_doors`` hides from the observation), per ``render_mode``.

        ``"rgb_array"``: a fresh ``(H * tile_size, W * tile_size, 3)`` uint8 frame of the whole map, no window;
        with a ``view_radius`` the cells the agent does not see are dimmed (their true state stays readable).
        ``"ansi"``: the map as text, ``#`` wall, ``X`` fixed wall, ``D`` closed door, ``.`` open doorway,
        ``S`` start, ``G`` goal, ``A`` agent. ``"human"``: shows the frame in a pygame window at
        ``metadata["render_fps"]`` and returns None; ``close()`` closes the window.
        """
        from hrm_mazes import rendering

        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                'Set render_mode at initialisation, e.g. gym.make("FourRooms-Dynamic-v0", render_mode="rgb_array")'
            )
            return None
        if not self._has_reset:
            raise gym.error.ResetNeeded("Cannot call render() before reset()")
        if self.render_mode == "ansi":
            return rendering.render_ansi(self.layout, self._tokens(agent=True), self.fixed_walls, self.closed_doors)
        frame = self._frame(fog="dim")
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = rendering.Window(f"hrm_mazes: {self.spec.id if self.spec else type(self).__name__}")
        self._window.show(frame, fps=self.metadata["render_fps"])
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None

    def get_keys_to_action(self) -> dict[tuple[int, ...], int]:
        """Key bindings for :func:`gymnasium.utils.play.play`: arrow keys and WASD."""
        from hrm_mazes.rendering import keys_to_action

        return keys_to_action()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_window"] = None  # a pygame window cannot be pickled
        return state

    # --- state helpers ------------------------------------------------------------------------------------

    @property
    def blocked(self) -> np.ndarray:
        """``(H, W)`` bool, map cells the agent cannot enter now."""
        return np.array(self._blocked, dtype=bool).reshape(self.layout.shape)

    @property
    def shortest_path_length(self) -> int:
        """BFS steps from the agent to the goal with the doors as they are now, -1 when cut off."""
        r, c = self.agent_pos
        return self._distance_to_goal[r * self._width + c]

    def distance_to_goal(self) -> np.ndarray:
        """``(H, W)`` int, BFS steps from each map cell to the goal with the doors as they are now (-1: cut off)."""
        return np.array(self._distance_to_goal, dtype=np.int64).reshape(self.layout.shape)

    def _parse_options(self, options: dict[str, Any] | None):
        options = {} if options is None else options
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict with keys in {list(RESET_OPTION_KEYS)}, got {options!r}")
        unknown = set(options) - set(RESET_OPTION_KEYS)
        if unknown:
            raise ValueError(f"unknown reset option(s) {sorted(unknown)}; allowed keys are {list(RESET_OPTION_KEYS)}")
        layout_rng = self.np_random
        if options.get("layout_seed") is not None:
            seed = options["layout_seed"]
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise ValueError(f"options['layout_seed'] must be a non-negative integer, got {seed!r}")
            layout_rng = np.random.default_rng(int(seed))
        start = check_cell(self.layout, "start", options.get("start"))
        goal = check_cell(self.layout, "goal", options.get("goal"))
        max_distance = self.max_distance
        if options.get("max_distance") is not None:
            max_distance = check_max_distance("options['max_distance']", options["max_distance"])
        return start, goal, layout_rng, max_distance

    def set_max_distance(self, max_distance: int | None) -> None:
        """Draw every later episode's start and goal at most ``max_distance`` open-map steps apart (the distance
        curriculum; ``reset(options={"max_distance": d})`` overrides it for one episode). None: the task's law."""
        self.max_distance = None if max_distance is None else check_max_distance("max_distance", max_distance)

    def _draw_doors(self) -> np.ndarray:
        protected = np.array([[self.agent_pos, self.start_pos, self.goal_pos]])
        return core.draw_closed_doors(self.np_random, self.layout, self.fixed_walls[None], protected, self.n_closed)[0]

    def _doors_updated(self) -> None:
        """Recompute everything derived from the doors: blocked cells, distances, the static tokens."""
        blocked = core.blocked_grid(self.layout, self.fixed_walls[None], self.closed_doors[None])[0]
        self._blocked = blocked.ravel().tolist()
        goal = self.goal_pos[0] * self._width + self.goal_pos[1]
        self._distance_to_goal = core.bfs_distances(self.layout, self._blocked, goal)
        self._tokens_without_agent = self._tokens(agent=False)

    def _tokens(self, agent: bool) -> np.ndarray:
        return core.token_grid(
            self.layout,
            self.fixed_walls[None],
            self.closed_doors[None],
            np.array([self.start_pos]),
            np.array([self.goal_pos]),
            np.array([self.agent_pos]) if agent else None,
            self.distinct_doors,
        )[0]

    def _visible(self, shape: tuple[int, int], offset: tuple[int, int]) -> np.ndarray:
        """``shape`` bool: the cells the agent sees, on a grid whose ``(0, 0)`` is map cell ``offset``."""
        agent = np.subtract(self.agent_pos, offset)[None]
        goal = np.subtract(self.goal_pos, offset)[None]
        return core.view_mask(shape, agent, goal, self.view_radius)[0]

    def _frame(self, fog: str) -> np.ndarray:
        """The rendered frame; with a partial view the unseen cells are ``fog``: ``"dim"`` or ``"hide"``."""
        from hrm_mazes import rendering

        visible = None if self.view_radius is None else self._visible(self.layout.shape, (0, 0))
        return rendering.render_rgb(
            self.layout,
            self.fixed_walls,
            self.closed_doors,
            self.start_pos,
            self.goal_pos,
            self.agent_pos,
            self.changed_doors,
            self.tile_size,
            visible=visible,
            fog=fog,
        )

    def _observation(self) -> np.ndarray:
        if self.obs_mode == "rgb":
            return self._frame(fog="hide")  # an observation must not show what the agent cannot see
        rows, cols = self.layout.obs_window
        obs = self._tokens_without_agent[rows, cols].copy()
        r0, c0 = self.layout.obs_offset
        obs[self.agent_pos[0] - r0, self.agent_pos[1] - c0] = core.AGENT
        if self.view_radius is not None:
            obs = core.hide_unseen(obs, self._visible(obs.shape, self.layout.obs_offset))
        if self.obs_mode == "onehot":
            return core.tokens_to_onehot(obs, self.num_tokens)
        return obs

    def _info(self, doors_changed: bool) -> dict[str, Any]:
        return {
            "agent_pos": self.agent_pos,
            "goal_pos": self.goal_pos,
            "is_success": self.agent_pos == self.goal_pos,
            "doors_changed": doors_changed,
            "shortest_path": self.shortest_path_length,
        }

"""The two registered batched envs: :class:`~hrm_mazes.envs.FourRoomsDynamicEnv` and
:class:`~hrm_mazes.envs.RandomDoorMazeEnv` in arrays, with the same kwargs and the same validation."""

from __future__ import annotations

from gymnasium.vector import AutoresetMode

from hrm_mazes import core
from hrm_mazes.checks import check_count
from hrm_mazes.envs.random_door_maze import check_maze_doors
from hrm_mazes.vector.base import DynamicDoorsVectorEnv


class FourRoomsDynamicVectorEnv(DynamicDoorsVectorEnv):
    """``num_envs`` copies of :class:`hrm_mazes.envs.FourRoomsDynamicEnv` in arrays (same rules, same kwargs).

    ``gym.make_vec("FourRooms-Dynamic-v0", num_envs=N, vectorization_mode="vector_entry_point")``.
    Also ``FourRooms-Dynamic-Partial-v0`` (``view_radius=2``).
    Observations ``(N, 11, 11)`` uint8 tokens (``(N, 7, 11, 11)`` onehot; 8 planes with a ``view_radius``); rewards ``(N,)`` float64; info
    arrays ``agent_pos`` / ``goal_pos`` ``(N, 2)``, ``is_success``, ``doors_changed``, ``shortest_path`` ``(N,)``.
    """

    def __init__(
        self,
        num_envs: int = 1,
        p_change: float = core.DEFAULT_P_CHANGE,
        n_closed_doors: int = 1,
        obs_mode: str = "tokens",
        distinct_doors: bool = False,
        view_radius: int | None = None,
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
            view_radius=view_radius,
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
    Also ``RandomDoorMaze-Partial-v0`` (``view_radius=2``).
    Observations ``(N, 11, 13)`` uint8 tokens (``(N, 7, 11, 13)`` onehot; 8 planes with a ``view_radius``); rewards ``(N,)`` float64; info
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
        view_radius: int | None = None,
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
            view_radius=view_radius,
            max_episode_steps=max_episode_steps,
            autoreset_mode=autoreset_mode,
            render_mode=render_mode,
            tile_size=tile_size,
            render_num_envs=render_num_envs,
        )
        self.n_temp_doors = n_temp_doors

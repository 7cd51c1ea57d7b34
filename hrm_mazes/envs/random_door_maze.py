"""RandomDoorMaze: a lattice of 30 rooms with fixed walls drawn per episode and temporary doors that move."""

from __future__ import annotations

from hrm_mazes import core
from hrm_mazes.checks import check_count
from hrm_mazes.core import Layout
from hrm_mazes.envs.base import DynamicDoorsEnv


def check_maze_doors(layout: Layout, n_fixed_walls: object, n_temp_doors: object) -> tuple[int, int]:
    """Validated ``(n_fixed_walls, n_temp_doors)``: each in [0, K] and together at most K door cells."""
    n_fixed_walls = check_count("n_fixed_walls", n_fixed_walls, 0, layout.num_doors)
    n_temp_doors = check_count("n_temp_doors", n_temp_doors, 0, layout.num_doors)
    if n_fixed_walls + n_temp_doors > layout.num_doors:
        raise ValueError(
            f"n_fixed_walls + n_temp_doors must be at most {layout.num_doors} (the number of door cells), "
            f"got {n_fixed_walls} + {n_temp_doors} = {n_fixed_walls + n_temp_doors}"
        )
    return n_fixed_walls, n_temp_doors


class RandomDoorMazeEnv(DynamicDoorsEnv):
    """
    ## Description
    An 11x13 map (outer wall included) with 5x6 = 30 rooms at odd (row, col) and a door cell between every
    pair of neighbouring rooms: 25 horizontal + 24 vertical = 49 door cells; every other cell is permanent
    wall. At reset, ``n_fixed_walls`` door cells become permanent walls, drawn one by one (not on the start or
    goal) and kept only if the goal stays reachable (up to 10 tries per wall, then that wall is skipped).
    Then ``n_temp_doors`` closed temporary doors are drawn among the remaining door cells with no path check;
    after each move, with probability ``p_change``, all of them are redrawn together. The goal can therefore
    be cut off for a while. This is the dynamic maze of the HRM-Agent study (Dang & Rawlinson 2025).

    ## Action Space
    ``Discrete(4)``: 0 = north (row - 1), 1 = east (col + 1), 2 = south (row + 1), 3 = west (col - 1).

    ## Observation
    ``obs_mode="tokens"`` (default): ``Box(0, 6, (11, 13), uint8)``, the whole map (143 tokens, as in the
    paper): 0 floor, 1 wall, 2 agent, 3 goal, 4 start marker, 5 closed door, 6 fixed wall. As in the paper
    (NetHack ``|`` and ``#``), a fixed wall reads as wall and a closed temporary door has its own token;
    ``distinct_doors=True`` gives fixed walls theirs too. ``"onehot"``: ``(7, 11, 13)`` uint8 planes.
    ``"rgb"``: the rendered frame. The first observation already shows fixed walls and closed doors (the
    paper's code left them out; we do not copy that bug). With ``view_radius=r``
    (``RandomDoorMaze-Partial-v0``: r = 2) the agent sees only the ``(2r + 1)`` square around it and the goal;
    every other cell reads 7, ``unseen`` (``Box(0, 7)``; ``onehot``: 8 planes; ``rgb``: a flat tile), on the same
    11x13 grid.

    ## Rewards
    +1.0 for stepping onto the goal, -0.01 for a blocked move (wall, fixed wall or closed door: the agent
    stays put), 0.0 otherwise. No time penalty.

    ## Starting State
    Start and goal are distinct walkable cells (rooms or door cells) drawn uniformly. No fixed wall is placed
    on them and no closed door on the agent's, the start's or the goal's cell.

    ## Episode End
    Terminates when the agent reaches the goal; truncated after 80 steps (``max_episode_steps``).

    ## Info
    ``agent_pos``, ``goal_pos`` (map coordinates), ``is_success``, ``doors_changed`` (the set of closed doors
    differs from the previous step's), ``shortest_path`` (BFS steps agent -> goal with the current doors,
    -1 when cut off).

    ## Arguments
    ``p_change`` (0.05), ``n_fixed_walls`` (10), ``n_temp_doors`` (5; together at most 49, the number of door
    cells), ``obs_mode``, ``distinct_doors``, ``view_radius`` (None: the full view; or an int in [1, 12]),
    ``render_mode``, ``tile_size``. ``reset(options=...)`` accepts ``start``, ``goal`` and ``layout_seed`` (same
    seed, same start, goal and fixed walls).

    ## Registered Configurations
    * ``RandomDoorMaze-v0``
    * ``RandomDoorMaze-Partial-v0``: ``view_radius=2``, a 5x5 view around the agent (the goal always shown)
    """

    def __init__(
        self,
        p_change: float = core.DEFAULT_P_CHANGE,
        n_fixed_walls: int = 10,
        n_temp_doors: int = 5,
        obs_mode: str = "tokens",
        distinct_doors: bool = False,
        view_radius: int | None = None,
        render_mode: str | None = None,
        tile_size: int = 32,
    ) -> None:
        layout = core.DOOR_MAZE
        n_fixed_walls, n_temp_doors = check_maze_doors(layout, n_fixed_walls, n_temp_doors)
        super().__init__(
            layout,
            n_closed=n_temp_doors,
            n_fixed_walls=n_fixed_walls,
            p_change=p_change,
            obs_mode=obs_mode,
            distinct_doors=distinct_doors,
            view_radius=view_radius,
            render_mode=render_mode,
            tile_size=tile_size,
        )
        self.n_temp_doors = n_temp_doors

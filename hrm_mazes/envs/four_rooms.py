"""FourRooms-Dynamic: Sutton's four rooms, with one doorway closed at a time and the closure moving."""

from __future__ import annotations

from hrm_mazes import core
from hrm_mazes.checks import check_count
from hrm_mazes.envs.base import DynamicDoorsEnv


class FourRoomsDynamicEnv(DynamicDoorsEnv):
    """
    ## Description
    The four-rooms gridworld of Sutton, Precup & Singh (1999) on a 13x13 map (outer wall included), as used
    in the HRM-Agent study (Dang & Rawlinson 2025). Four doorways, at map cells (3, 6), (6, 2), (7, 9) and
    (10, 6), join the rooms. At every moment ``n_closed_doors`` of them are closed; after each move, with
    probability ``p_change``, the closed doorways are redrawn, so the agent must re-plan while it walks.

    ## Action Space
    ``Discrete(4)``: 0 = north (row - 1), 1 = east (col + 1), 2 = south (row + 1), 3 = west (col - 1).

    ## Observation
    ``obs_mode="tokens"`` (default): ``Box(0, 6, (11, 11), uint8)``, one token per cell of the 11x11 interior
    (the paper's crop drops the outer wall): 0 floor, 1 wall, 2 agent, 3 goal, 4 start marker, 5 closed door,
    6 fixed wall. A closed doorway reads as wall unless ``distinct_doors=True``. ``"onehot"``:
    ``(7, 11, 11)`` uint8 planes. ``"rgb"``: the rendered frame of the whole map. The first observation
    already shows the closed doorway (the paper's code left it out; we do not copy that bug).
    With ``view_radius=r`` (``FourRooms-Dynamic-Partial-v0``: r = 2) the agent sees only the ``(2r + 1)`` square
    around it and the goal; every other cell reads 7, ``unseen`` (``Box(0, 7)``; ``onehot``: 8 planes; ``rgb``: a
    flat tile), on the same 11x11 grid.

    ## Rewards
    +1.0 for stepping onto the goal, -0.01 for a blocked move (wall or closed doorway: the agent stays put),
    0.0 otherwise. No time penalty.

    ## Starting State
    Start and goal are distinct walkable cells drawn uniformly (doorways included). A closed doorway is never
    on the agent's, the start's or the goal's cell.

    ## Episode End
    Terminates when the agent reaches the goal; truncated after 80 steps (``max_episode_steps``).

    ## Info
    ``agent_pos``, ``goal_pos`` (map coordinates), ``is_success``, ``doors_changed`` (the set of closed
    doorways differs from the previous step's), ``shortest_path`` (BFS steps agent -> goal with the current
    closures, -1 when cut off).

    ## Arguments
    ``p_change`` (0.05), ``n_closed_doors`` (1, in [0, 4]; when fewer doorways are eligible, all eligible ones
    close), ``obs_mode``, ``distinct_doors``, ``view_radius`` (None: the full view; or an int in [1, 12]),
    ``render_mode``, ``tile_size``.

    ## Registered Configurations
    * ``FourRooms-Dynamic-v0``
    * ``FourRooms-Dynamic-Partial-v0``: ``view_radius=2``, a 5x5 view around the agent (the goal always shown)
    """

    def __init__(
        self,
        p_change: float = core.DEFAULT_P_CHANGE,
        n_closed_doors: int = 1,
        obs_mode: str = "tokens",
        distinct_doors: bool = False,
        view_radius: int | None = None,
        render_mode: str | None = None,
        tile_size: int = 32,
    ) -> None:
        layout = core.FOUR_ROOMS
        super().__init__(
            layout,
            n_closed=check_count("n_closed_doors", n_closed_doors, 0, layout.num_doors),
            p_change=p_change,
            obs_mode=obs_mode,
            distinct_doors=distinct_doors,
            view_radius=view_radius,
            render_mode=render_mode,
            tile_size=tile_size,
        )
        self.n_closed_doors = self.n_closed

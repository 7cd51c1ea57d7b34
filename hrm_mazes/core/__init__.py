"""Maze layouts, token ids, door rules and shortest paths: the one source of truth of the suite.

Every environment (the single :class:`gymnasium.Env` classes, the batched vector env, the renderer and the BFS
oracle) takes its layouts, tokens, rewards and door rules from this package, in the manner of minigrid's
``minigrid/core/``:

* :mod:`~hrm_mazes.core.constants`: token ids, actions, rewards, episode defaults;
* :mod:`~hrm_mazes.core.layouts`: :class:`Layout`, the two maps, the room lattice, door cells on the map;
* :mod:`~hrm_mazes.core.doors`: the door rules (start / goal draw, fixed walls, closed-door redraw);
* :mod:`~hrm_mazes.core.paths`: shortest paths (scalar BFS and the exact batched shortcuts);
* :mod:`~hrm_mazes.core.observation`: the token painter and the partial view.

Every name is re-exported here, so ``from hrm_mazes import core; core.DOOR_MAZE`` works. Call the rules through
this namespace (``core.draw_closed_doors``), as the envs do, so that a test can patch one of them for both envs.

Conventions: positions are ``(row, col)`` in map coordinates (outer wall included); door state is a boolean
vector over ``Layout.door_positions`` (length ``K``); batched functions take a leading environment axis ``N``.
"""

from hrm_mazes.core.constants import (
    ACTION_CHOICES,
    ACTION_DELTAS,
    ACTION_NAMES,
    AGENT,
    CLOSED_DOOR,
    DEFAULT_P_CHANGE,
    DEFAULT_VIEW_RADIUS,
    EAST,
    FIXED_WALL,
    FLOOR,
    GOAL,
    MAX_EPISODE_STEPS,
    MAX_VIEW_RADIUS,
    NORTH,
    NUM_ACTIONS,
    NUM_PARTIAL_TOKENS,
    NUM_TOKENS,
    REWARD_BLOCKED,
    REWARD_GOAL,
    REWARD_STEP,
    SOUTH,
    START,
    TOKEN_NAMES,
    UNSEEN,
    WALL,
    WEST,
)
from hrm_mazes.core.doors import (
    FIXED_WALL_TRIES,
    draw_closed_doors,
    max_open_map_distance,
    sample_fixed_walls,
    sample_other_cell,
    sample_start_goal,
    sample_subset,
)
from hrm_mazes.core.layouts import (
    DOOR_MAZE,
    FOUR_ROOMS,
    FOUR_ROOMS_MAP,
    Layout,
    RoomLattice,
    blocked_grid,
    door_maze_layout,
    doors_to_grid,
    four_rooms_layout,
    parse_map,
    positions_on_doors,
    room_lattice,
)
from hrm_mazes.core.observation import (
    door_tokens,
    hide_unseen,
    num_tokens,
    static_tokens,
    token_grid,
    tokens_to_onehot,
    view_mask,
)
from hrm_mazes.core.paths import (
    LATTICE_FAR,
    TABLE_MAX_DOORS,
    batched_bfs_distances,
    batched_goal_distances,
    batched_is_connected,
    bfs_distances,
    door_set_code,
    goal_distance_table,
    lattice_cell_distance,
    lattice_distance_field,
    lattice_goal_distances,
    lattice_room_distances,
    lattice_room_steps,
    open_map_distances,
)

__all__ = [
    "ACTION_CHOICES",
    "ACTION_DELTAS",
    "ACTION_NAMES",
    "AGENT",
    "CLOSED_DOOR",
    "DEFAULT_P_CHANGE",
    "DEFAULT_VIEW_RADIUS",
    "DOOR_MAZE",
    "EAST",
    "FIXED_WALL",
    "FIXED_WALL_TRIES",
    "FLOOR",
    "FOUR_ROOMS",
    "FOUR_ROOMS_MAP",
    "GOAL",
    "LATTICE_FAR",
    "Layout",
    "MAX_EPISODE_STEPS",
    "MAX_VIEW_RADIUS",
    "NORTH",
    "NUM_ACTIONS",
    "NUM_PARTIAL_TOKENS",
    "NUM_TOKENS",
    "REWARD_BLOCKED",
    "REWARD_GOAL",
    "REWARD_STEP",
    "RoomLattice",
    "SOUTH",
    "START",
    "TABLE_MAX_DOORS",
    "TOKEN_NAMES",
    "UNSEEN",
    "WALL",
    "WEST",
    "batched_bfs_distances",
    "batched_goal_distances",
    "batched_is_connected",
    "bfs_distances",
    "blocked_grid",
    "door_maze_layout",
    "door_set_code",
    "door_tokens",
    "doors_to_grid",
    "draw_closed_doors",
    "four_rooms_layout",
    "hide_unseen",
    "goal_distance_table",
    "lattice_cell_distance",
    "lattice_distance_field",
    "lattice_goal_distances",
    "lattice_room_distances",
    "lattice_room_steps",
    "parse_map",
    "positions_on_doors",
    "room_lattice",
    "sample_fixed_walls",
    "sample_other_cell",
    "max_open_map_distance",
    "num_tokens",
    "open_map_distances",
    "sample_start_goal",
    "sample_subset",
    "static_tokens",
    "token_grid",
    "tokens_to_onehot",
    "view_mask",
]

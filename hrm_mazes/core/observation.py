"""The token painter: door state, start, goal and agent to the ``(H, W)`` token grid the agent observes, and
the partial view: which cells the agent sees (:func:`view_mask`) and how the others read (:func:`hide_unseen`).

Paint order (later wins): walls, fixed walls, closed doors, start marker, goal, agent. Which token a fixed wall
and a closed door get is decided once, by :func:`door_tokens`. The single env, the batched env and the renderer
all take the partial view from here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hrm_mazes.core.constants import (
    AGENT,
    CLOSED_DOOR,
    FIXED_WALL,
    FLOOR,
    GOAL,
    NUM_PARTIAL_TOKENS,
    NUM_TOKENS,
    START,
    UNSEEN,
    WALL,
)
from hrm_mazes.core.layouts import Layout, doors_to_grid


def door_tokens(layout: Layout, distinct_doors: bool) -> tuple[int, int]:
    """``(fixed wall token, closed door token)`` of ``layout``'s observation.

    The paper's view (``distinct_doors=False``): a fixed wall reads as ``WALL``, a closed door as
    ``layout.closed_door_token`` (``WALL`` for a FourRooms doorway, ``CLOSED_DOOR`` for a temporary maze door).
    ``distinct_doors=True``: ``FIXED_WALL`` and ``CLOSED_DOOR``, every kind of cell its own token.
    """
    if distinct_doors:
        return FIXED_WALL, CLOSED_DOOR
    return WALL, layout.closed_door_token


def token_grid(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    start: np.ndarray,
    goal: np.ndarray,
    agent: np.ndarray | None,
    distinct_doors: bool,
) -> np.ndarray:
    """``(N, H, W)`` uint8 tokens of the whole map, door cells as :func:`door_tokens` says.

    :param fixed_walls, closed_doors: ``(N, K)`` bool per door cell.
    :param start, goal: ``(N, 2)`` map positions. :param agent: ``(N, 2)`` or None to leave it out.
    """
    n = len(fixed_walls)
    fixed_token, closed_token = door_tokens(layout, distinct_doors)
    tokens = np.where(layout.walls, WALL, FLOOR).astype(np.uint8)
    tokens = np.broadcast_to(tokens, (n, *layout.shape)).copy()
    rows = np.arange(n)
    tokens[doors_to_grid(layout, fixed_walls)] = fixed_token
    tokens[doors_to_grid(layout, closed_doors)] = closed_token
    tokens[rows, start[:, 0], start[:, 1]] = START
    tokens[rows, goal[:, 0], goal[:, 1]] = GOAL
    if agent is not None:
        tokens[rows, agent[:, 0], agent[:, 1]] = AGENT
    return tokens


def static_tokens(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    start_flat: np.ndarray | None,
    goal_flat: np.ndarray | None,
    distinct_doors: bool,
) -> np.ndarray:
    """``(N, H*W)`` uint8: :func:`token_grid` without the agent, raveled, for flat start / goal cell indices
    (None: leave that marker out).

    Same tokens and paint order, painted with column and flat scatters instead of grid masks: the batched env
    repaints thousands of envs per step with it.
    """
    n = len(fixed_walls)
    cells = layout.shape[0] * layout.shape[1]
    base = np.where(layout.walls.ravel(), WALL, FLOOR).astype(np.uint8)
    tokens = np.broadcast_to(base, (n, cells)).copy()
    fixed_token, closed_token = door_tokens(layout, distinct_doors)
    # Door cell token by (fixed, closed): a closed door is painted after (over) a fixed wall, as in token_grid.
    door_token = np.array([FLOOR, fixed_token, closed_token, closed_token], dtype=np.uint8)
    tokens[:, layout.door_flat_index] = door_token.take(fixed_walls.view(np.uint8) + 2 * closed_doors.view(np.uint8))
    offset = np.arange(n, dtype=np.int64) * cells
    flat = tokens.reshape(-1)
    if start_flat is not None:
        flat[offset + start_flat] = START
    if goal_flat is not None:
        flat[offset + goal_flat] = GOAL
    return tokens


def num_tokens(view_radius: int | None) -> int:
    """How many token ids an observation uses: ``NUM_TOKENS`` (7) for the full view (``view_radius=None``),
    ``NUM_PARTIAL_TOKENS`` (8, with ``UNSEEN``) for a partial view. The full envs' spaces never change."""
    return NUM_TOKENS if view_radius is None else NUM_PARTIAL_TOKENS


@lru_cache(maxsize=32)
def _windows(shape: tuple[int, int], view_radius: int) -> np.ndarray:
    """``(rows * cols, rows, cols)`` bool, read-only: the window around each cell of a ``shape`` grid."""
    rows, cols = np.divmod(np.arange(shape[0] * shape[1]), shape[1])
    near_row = np.abs(np.arange(shape[0])[None, :] - rows[:, None]) <= view_radius
    near_col = np.abs(np.arange(shape[1])[None, :] - cols[:, None]) <= view_radius
    windows = near_row[:, :, None] & near_col[:, None, :]
    windows.flags.writeable = False
    return windows


def view_mask(shape: tuple[int, int], agent: np.ndarray, goal: np.ndarray, view_radius: int) -> np.ndarray:
    """``(N, rows, cols)`` bool: the cells of a ``shape`` grid that the agent sees (a fresh array).

    It sees every cell at most ``view_radius`` rows and columns away (a ``2r + 1`` square window, cut at the
    grid's edge; walls do not block the view) and the goal, wherever it is: the task stays navigation under
    doors the agent cannot see, not a search for the goal.

    :param agent, goal: ``(N, 2)`` positions inside the grid, in its own coordinates (observation grid or map).
    """
    agent, goal = np.asarray(agent).reshape(-1, 2), np.asarray(goal).reshape(-1, 2)
    visible = _windows((int(shape[0]), int(shape[1])), int(view_radius)).take(agent[:, 0] * shape[1] + agent[:, 1], axis=0)
    visible[np.arange(len(goal)), goal[:, 0], goal[:, 1]] = True
    return visible


def hide_unseen(tokens: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """``tokens`` with every cell outside ``visible`` (from :func:`view_mask`, same shape) read as ``UNSEEN``."""
    return np.where(visible, tokens, np.uint8(UNSEEN)).astype(np.uint8, copy=False)


def tokens_to_onehot(tokens: np.ndarray, num_tokens: int = NUM_TOKENS) -> np.ndarray:
    """``(..., H, W)`` tokens to ``(..., num_tokens, H, W)`` uint8 one-hot planes (:func:`num_tokens` of the view)."""
    return np.moveaxis(np.eye(num_tokens, dtype=np.uint8)[tokens], -1, -3).copy()

"""The token painter: door state, start, goal and agent to the ``(H, W)`` token grid the agent observes.

Paint order (later wins): walls, fixed walls, closed doors, start marker, goal, agent. Which token a fixed wall
and a closed door get is decided once, by :func:`door_tokens`.
"""

from __future__ import annotations

import numpy as np

from hrm_mazes.core.constants import AGENT, CLOSED_DOOR, FIXED_WALL, FLOOR, GOAL, NUM_TOKENS, START, WALL
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


def tokens_to_onehot(tokens: np.ndarray) -> np.ndarray:
    """``(..., H, W)`` tokens to ``(..., NUM_TOKENS, H, W)`` uint8 one-hot planes."""
    return np.moveaxis(np.eye(NUM_TOKENS, dtype=np.uint8)[tokens], -1, -3).copy()

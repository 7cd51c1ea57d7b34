"""Argument checks shared by the single and the batched envs: each returns the value in its canonical type or
raises a one-line ValueError that names the argument, what is allowed and what it got."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from hrm_mazes import core
from hrm_mazes.core import Layout

OBS_MODES = ("tokens", "onehot", "rgb")


def check_probability(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1], or a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_, str)):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    try:
        prob = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}") from None
    if not 0.0 <= prob <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return prob


def check_count(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in [low, high], or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def check_view_radius(value: Any) -> int | None:
    """``view_radius``: None (the full view) or an int in [1, MAX_VIEW_RADIUS], or a ValueError naming both."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= core.MAX_VIEW_RADIUS:
        raise ValueError(
            f"view_radius must be None (the full view) or an integer in [1, {core.MAX_VIEW_RADIUS}] (the agent sees "
            f"the (2r + 1) x (2r + 1) cells around it), got {value!r}"
        )
    return int(value)


def check_max_distance(name: str, value: Any) -> int:
    """A curriculum's ``max_distance``: a positive int (open-map steps between start and goal)."""
    return check_count(name, value, 1, 1 << 30)


def check_choice(name: str, value: Any, allowed: tuple) -> Any:
    """``value`` itself when it is one of ``allowed``, or a ValueError listing them."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def check_flag(name: str, value: Any) -> bool:
    """``value`` as a bool (Python or numpy), or a ValueError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_autoreset_mode(value: Any) -> AutoresetMode:
    """A batched env's ``autoreset_mode`` (an :class:`AutoresetMode` or its value) as an ``AutoresetMode``."""
    try:
        return value if isinstance(value, AutoresetMode) else AutoresetMode(value)
    except ValueError:
        raise ValueError(
            f"autoreset_mode must be one of {[m.value for m in AutoresetMode]} (or an AutoresetMode), got {value!r}"
        ) from None


def check_action(action: Any) -> int:
    """The action as a Python int in {0, 1, 2, 3}, or a ValueError that names the allowed values."""
    if isinstance(action, (int, np.integer)) and not isinstance(action, (bool, np.bool_)):
        value = int(action)
    elif isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer):
        value = int(action)
    else:
        raise ValueError(
            f"action must be an integer in {core.ACTION_CHOICES}, got {action!r} of type {type(action).__name__}"
        )
    if not 0 <= value < core.NUM_ACTIONS:
        raise ValueError(f"action must be an integer in {core.ACTION_CHOICES}, got {value}")
    return value


def check_actions(actions: Any, num_envs: int) -> np.ndarray:
    """A batch of actions as an ``(N,)`` integer array with values in {0, 1, 2, 3}, or a one-line ValueError."""
    arr = np.asarray(actions)
    if arr.shape != (num_envs,) or not (np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.bool_):
        raise ValueError(
            f"actions must be an integer array of shape ({num_envs},) with values in {core.ACTION_CHOICES}, "
            f"got {type(actions).__name__} shape {arr.shape} dtype {arr.dtype}"
        )
    bad = np.flatnonzero((arr < 0) | (arr >= core.NUM_ACTIONS))
    if len(bad):
        raise ValueError(
            f"actions must be in {core.ACTION_CHOICES}, got {arr[bad[0]]} for env {bad[0]} "
            f"({len(bad)} env(s) out of range)"
        )
    return arr


def _not_walkable(layout: Layout, name: str, cell: tuple[int, int], where: str = "") -> ValueError:
    h, w = layout.shape
    return ValueError(
        f"options['{name}'] = {cell}{where} is not a walkable cell of the {h}x{w} map (map coordinates, outer wall "
        f"included; walls are not allowed)"
    )


def check_cell(layout: Layout, name: str, pos: Any) -> tuple[int, int] | None:
    """A pinned reset position (``options[name]``) as a walkable map ``(row, col)``, or None when not given."""
    if pos is None:
        return None
    try:
        row, col = (int(v) for v in pos)
        if any(isinstance(v, (bool, np.bool_, str)) or float(v) != int(v) for v in pos):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"options['{name}'] must be a (row, col) pair of integers, got {pos!r}") from None
    if not layout.in_bounds((row, col)) or layout.walls[row, col]:
        raise _not_walkable(layout, name, (row, col))
    return row, col


def check_cells(layout: Layout, name: str, cells: Any, n: int) -> np.ndarray | None:
    """Pinned reset positions for ``n`` envs (one ``(row, col)`` for all, or an ``(n, 2)`` array) as ``(n,)`` flat
    map indices, or None when not given."""
    if cells is None:
        return None
    arr = np.asarray(cells)
    if arr.shape == (2,):
        arr = np.broadcast_to(arr, (n, 2))
    if arr.shape != (n, 2) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"options['{name}'] must be a map (row, col) pair or an ({n}, 2) integer array, "
            f"got shape {np.shape(cells)} dtype {arr.dtype}"
        )
    h, w = layout.shape
    walkable = (arr[:, 0] >= 0) & (arr[:, 0] < h) & (arr[:, 1] >= 0) & (arr[:, 1] < w)
    walkable[walkable] = ~layout.walls[arr[walkable, 0], arr[walkable, 1]]
    if not walkable.all():
        i = int(np.flatnonzero(~walkable)[0])
        raise _not_walkable(layout, name, (int(arr[i, 0]), int(arr[i, 1])), f" (env {i})")
    return (arr[:, 0] * w + arr[:, 1]).astype(np.int64)

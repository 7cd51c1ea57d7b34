"""Test-only reference implementations of the env rules, written one proposal at a time as the paper's generator
does, to check the library's batched implementations against (``test_vector_equivalence.py``)."""

from __future__ import annotations

from collections import deque

import numpy as np

from hrm_mazes.core import FIXED_WALL_TRIES, Layout


def connected(layout: Layout, blocked: bytearray, source: int, target: int) -> bool:
    """Plain BFS over flat map cells: can ``target`` be reached from ``source`` when ``blocked`` cells are shut?"""
    seen = bytearray(len(blocked))
    seen[source] = 1
    queue = deque([source])
    while queue:
        cell = queue.popleft()
        if cell == target:
            return True
        for nxt in layout.neighbours[cell]:  # the non-wall 4-neighbours
            if not seen[nxt] and not blocked[nxt]:
                seen[nxt] = 1
                queue.append(nxt)
    return False


def place_fixed_walls(
    rng: np.random.Generator,
    layout: Layout,
    start: tuple[int, int],
    goal: tuple[int, int],
    n_fixed: int,
    max_tries: int = FIXED_WALL_TRIES,
) -> np.ndarray:
    """The fixed-wall rule, literally: for each of the ``n_fixed`` walls, draw a door cell uniformly among those
    that are not yet walls and not the start or goal cell; keep it if a path start -> goal still exists, else
    draw again, up to ``max_tries`` times, then skip that wall. Stop when no free door cell is left.

    :return: ``(K,)`` bool fixed walls.
    """
    w = layout.shape[1]
    source, target = start[0] * w + start[1], goal[0] * w + goal[1]
    door_cells = layout.door_flat_index.tolist()
    free = [k for k, cell in enumerate(door_cells) if cell not in (source, target)]
    fixed = np.zeros(len(door_cells), dtype=bool)
    blocked = bytearray(layout.shape[0] * w)
    for _ in range(n_fixed):
        for _ in range(max_tries):
            if not free:
                return fixed
            k = free[rng.integers(len(free))]
            blocked[door_cells[k]] = 1
            if connected(layout, blocked, source, target):
                fixed[k] = True
                free.remove(k)
                break
            blocked[door_cells[k]] = 0
    return fixed

"""Drawing the mazes: RGB frames (numpy tiles, no window), ANSI text, and a pygame window for ``human`` mode."""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from hrm_mazes import core
from hrm_mazes.core import Layout

# Cell kinds drawn by the renderer (a superset of the tokens: the renderer also knows open doorways).
(
    CELL_FLOOR,
    CELL_WALL,
    CELL_OPEN_DOOR,
    CELL_CLOSED_DOOR,
    CELL_FIXED_WALL,
    CELL_START,
    CELL_GOAL,
    CELL_AGENT,
    CELL_CHANGED,
) = range(9)

COLOURS = {
    CELL_FLOOR: (236, 233, 224),
    CELL_WALL: (52, 58, 74),
    CELL_OPEN_DOOR: (198, 222, 196),
    CELL_CLOSED_DOOR: (196, 78, 60),
    CELL_FIXED_WALL: (96, 104, 124),
    CELL_START: (118, 160, 214),
    CELL_GOAL: (76, 168, 96),
    CELL_AGENT: (238, 178, 42),
    CELL_CHANGED: (255, 240, 120),
}

ANSI_CHARS = {
    core.FLOOR: " ",
    core.WALL: "#",
    core.AGENT: "A",
    core.GOAL: "G",
    core.START: "S",
    core.CLOSED_DOOR: "D",
    core.FIXED_WALL: "X",
}


@lru_cache(maxsize=16)
def _tiles(tile_size: int) -> dict[int, np.ndarray]:
    """One ``(t, t, 3)`` uint8 tile per cell kind, drawn once per tile size."""
    t = tile_size
    yy, xx = np.mgrid[0:t, 0:t] + 0.5
    centre = t / 2
    radius = np.hypot(yy - centre, xx - centre)
    border = max(1, t // 16)
    edge = (yy < border) | (yy >= t - border) | (xx < border) | (xx >= t - border)

    def solid(colour, outline=None):
        tile = np.empty((t, t, 3), dtype=np.uint8)
        tile[:] = colour
        if outline is not None:
            tile[edge] = outline
        return tile

    floor = solid(COLOURS[CELL_FLOOR], (214, 210, 198))
    tiles = {
        CELL_FLOOR: floor,
        CELL_WALL: solid(COLOURS[CELL_WALL]),
        CELL_OPEN_DOOR: solid(COLOURS[CELL_OPEN_DOOR], (214, 210, 198)),
        CELL_FIXED_WALL: solid(COLOURS[CELL_FIXED_WALL], (70, 76, 92)),
    }
    closed = solid(COLOURS[CELL_CLOSED_DOOR], (120, 40, 30))
    bars = (np.abs(xx - yy) < t / 10) | (np.abs(xx - (t - yy)) < t / 10)  # a cross: 'no entry'
    closed[bars] = (250, 230, 220)
    tiles[CELL_CLOSED_DOOR] = closed
    start = floor.copy()
    start[(radius < t * 0.36) & (radius > t * 0.24)] = COLOURS[CELL_START]
    tiles[CELL_START] = start
    goal = floor.copy()
    goal[(np.abs(yy - centre) < t * 0.32) & (np.abs(xx - centre) < t * 0.32)] = COLOURS[CELL_GOAL]
    tiles[CELL_GOAL] = goal
    tiles[CELL_AGENT] = np.where((radius < t * 0.34)[..., None], np.array(COLOURS[CELL_AGENT], np.uint8), floor)
    return tiles


def cell_kinds(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    start: tuple[int, int],
    goal: tuple[int, int],
) -> np.ndarray:
    """``(H, W)`` cell kinds of the static picture (no agent): walls, doors open/closed, fixed walls, start, goal."""
    kinds = np.where(layout.walls, CELL_WALL, CELL_FLOOR)
    pos = layout.door_positions
    kinds[pos[:, 0], pos[:, 1]] = np.where(fixed_walls, CELL_FIXED_WALL, np.where(closed_doors, CELL_CLOSED_DOOR, CELL_OPEN_DOOR))
    kinds[start] = CELL_START
    kinds[goal] = CELL_GOAL
    return kinds


def render_rgb(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    start: tuple[int, int],
    goal: tuple[int, int],
    agent: tuple[int, int],
    changed_doors: np.ndarray,
    tile_size: int = 32,
) -> np.ndarray:
    """The whole map as an ``(H * tile_size, W * tile_size, 3)`` uint8 frame; doors that just changed glow."""
    tiles = _tiles(tile_size)
    kinds = cell_kinds(layout, fixed_walls, closed_doors, start, goal)
    kinds[agent] = CELL_AGENT
    atlas = np.stack([tiles[k] for k in range(CELL_CHANGED)])  # (kinds, t, t, 3)
    h, w = layout.shape
    frame = atlas[kinds].transpose(0, 2, 1, 3, 4).reshape(h * tile_size, w * tile_size, 3)
    if changed_doors.any():
        band = max(2, tile_size // 8)
        for r, c in layout.door_positions[changed_doors]:
            y, x = r * tile_size, c * tile_size
            cell = frame[y : y + tile_size, x : x + tile_size]
            cell[:band], cell[-band:], cell[:, :band], cell[:, -band:] = (COLOURS[CELL_CHANGED],) * 4
    return frame


def render_ansi(layout: Layout, tokens: np.ndarray) -> str:
    """The whole-map token grid as text: ``#`` wall, ``A`` agent, ``G`` goal, ``S`` start, ``D`` door, ``X`` fixed wall."""
    return "\n".join("".join(ANSI_CHARS[int(t)] for t in row) for row in tokens) + "\n"


def keys_to_action() -> dict[tuple[int, ...], int]:
    """Arrow keys and WASD mapped to the four actions, in :func:`gymnasium.utils.play.play`'s format."""
    import pygame

    return {
        (pygame.K_UP,): core.NORTH,
        (pygame.K_w,): core.NORTH,
        (pygame.K_RIGHT,): core.EAST,
        (pygame.K_d,): core.EAST,
        (pygame.K_DOWN,): core.SOUTH,
        (pygame.K_s,): core.SOUTH,
        (pygame.K_LEFT,): core.WEST,
        (pygame.K_a,): core.WEST,
    }


class Window:
    """A pygame window that shows frames at a fixed rate (``clock.tick``: sleeps, never busy-waits)."""

    def __init__(self, title: str) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        self._pygame = pygame
        pygame.display.init()
        pygame.display.set_caption(title)
        self._surface = None
        self._clock = pygame.time.Clock()

    def show(self, frame: np.ndarray, fps: float) -> None:
        pygame = self._pygame
        h, w = frame.shape[:2]
        if self._surface is None or self._surface.get_size() != (w, h):
            self._surface = pygame.display.set_mode((w, h))
        pygame.event.pump()  # keep the window responsive
        pygame.surfarray.blit_array(self._surface, frame.transpose(1, 0, 2))
        pygame.display.flip()
        self._clock.tick(fps)

    def close(self) -> None:
        if self._surface is not None:
            self._pygame.display.quit()
            self._surface = None

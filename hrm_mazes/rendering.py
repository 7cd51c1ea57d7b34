"""Drawing the mazes: RGB frames (numpy tiles, no window), ANSI text, and a pygame window for ``human`` mode.

The renderer always draws the true state, whatever ``distinct_doors`` says about the observation: walls,
door cells turned into fixed walls (slate bricks), open doorways (pale mint), closed doors (a red panel with
a white no-entry bar), the start (blue ring), the goal (green star) and the agent (orange disc). A door whose
state changed on the last step (closing or opening) gets a gold frame for that one frame.

A frame is assembled from pre-drawn ``(t, t, 3)`` tiles (anti-aliased once per tile size), so drawing needs
neither pygame nor a display. The picture without the agent only changes when the doors change, so it is
cached and a frame costs one copy plus one tile.

Partially observed variants: given the cells the agent sees (``visible``, from
:func:`hrm_mazes.core.view_mask`), the others are drawn ``fog="dim"`` (the true state, darkened: what a viewer of
``render()`` sees) or ``fog="hide"`` (one flat tile that tells nothing: the ``rgb`` observation).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from hrm_mazes import core
from hrm_mazes.core import Layout

# --- what a cell can look like ------------------------------------------------------------------------
# A tile is a background (what the cell is) and a marker (what stands on it): atlas index = bg + NUM_BG * marker.

BG_FLOOR, BG_WALL, BG_OPEN_DOOR, BG_CLOSED_DOOR, BG_FIXED_WALL, BG_DOOR_OPENED, BG_DOOR_CLOSED = range(7)
NUM_BG = 7
BG_NAMES = ("floor", "wall", "open_door", "closed_door", "fixed_wall", "door_opened", "door_closed")

MARK_NONE, MARK_START, MARK_GOAL, MARK_AGENT, MARK_AGENT_ON_START, MARK_AGENT_ON_GOAL = range(6)
NUM_MARKS = 6

COLOURS = {
    "floor": (240, 237, 228),
    "grid": (224, 219, 206),
    "wall": (43, 49, 64),
    "fixed_wall": (106, 115, 138),
    "mortar": (62, 69, 88),
    "open_door": (203, 233, 211),
    "closed_door": (214, 69, 65),
    "closed_door_bar": (252, 246, 242),
    "start": (66, 133, 244),
    "goal": (34, 163, 90),
    "agent": (247, 137, 29),
    "agent_outline": (176, 84, 10),
    "agent_glint": (252, 196, 132),
    "changed": (255, 208, 0),
    "fog": (18, 20, 28),
    "unseen": (176, 164, 200),
}
"""RGB colours of the tiles (the cell-centre colour of the agent, goal and closed door is the named one); ``fog``
darkens the cells the agent does not see, ``unseen`` is the flat tile that stands for them in observations."""

NUM_TILES = NUM_BG * NUM_MARKS  # tiles of tile_atlas(); view_atlas() adds their dimmed copies and the unseen tile
UNSEEN_TILE = 2 * NUM_TILES  # view_atlas index of the flat tile of a hidden cell
FOG_MODES = ("dim", "hide")
FOG_KEEP = 0.4  # a dimmed tile keeps this much of its colour; the rest is the fog colour

ANSI_CHARS = {
    core.FLOOR: " ",
    core.WALL: "#",
    core.AGENT: "A",
    core.GOAL: "G",
    core.START: "S",
    core.CLOSED_DOOR: "D",
    core.FIXED_WALL: "X",
    core.UNSEEN: "~",
}
ANSI_OPEN_DOOR = "."
"""Text characters: ``#`` wall, ``X`` fixed wall, ``D`` closed door, ``.`` open doorway, ``S`` start, ``G`` goal,
``A`` agent, space floor, ``~`` a cell outside the agent's view (in an observation of a partial view)."""

_SUPERSAMPLE = 4  # sub-pixels per pixel side when drawing shapes, for anti-aliased edges


# --- tiles --------------------------------------------------------------------------------------------


def _coverage(t: int, inside) -> np.ndarray:
    """``(t, t)`` fraction of each pixel covered by the shape ``inside(u, v)`` (u = x / t, v = y / t in [0, 1])."""
    n = t * _SUPERSAMPLE
    c = (np.arange(n) + 0.5) / n
    v, u = np.meshgrid(c, c, indexing="ij")
    return inside(u, v).astype(np.float32).reshape(t, _SUPERSAMPLE, t, _SUPERSAMPLE).mean(axis=(1, 3))


def _paint(tile: np.ndarray, coverage: np.ndarray, colour: tuple[int, int, int]) -> None:
    alpha = coverage[..., None]
    tile *= 1.0 - alpha
    tile += alpha * np.asarray(colour, dtype=np.float32)


def _disc(cx: float, cy: float, r: float):
    return lambda u, v: (u - cx) ** 2 + (v - cy) ** 2 < r * r


def _rounded_box(x0: float, y0: float, x1: float, y1: float, radius: float):
    def inside(u, v):
        dx = np.maximum(np.maximum(x0 + radius - u, u - (x1 - radius)), 0.0)
        dy = np.maximum(np.maximum(y0 + radius - v, v - (y1 - radius)), 0.0)
        return (u >= x0) & (u <= x1) & (v >= y0) & (v <= y1) & (dx * dx + dy * dy <= radius * radius)

    return inside


def _star(cx: float, cy: float, outer: float, inner: float, points: int = 5):
    angles = -np.pi / 2 + np.arange(2 * points) * np.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, outer, inner)
    xs, ys = cx + radii * np.cos(angles), cy + radii * np.sin(angles)

    def inside(u, v):  # even-odd rule over the polygon's edges
        result = np.zeros(u.shape, dtype=bool)
        for i in range(len(xs)):
            x0, y0, x1, y1 = xs[i - 1], ys[i - 1], xs[i], ys[i]
            crosses = (y0 > v) != (y1 > v)
            x_at = x0 + (v - y0) * (x1 - x0) / (y1 - y0 if y1 != y0 else 1e-12)
            result ^= crosses & (u < x_at)
        return result

    return inside


def _bricks(u, v):
    """Mortar lines of a running-bond brick wall, three courses per cell."""
    course = np.minimum((v * 3).astype(int), 2)
    in_course = v * 3 - course
    shift = np.where(course % 2 == 1, 0.25, 0.0)
    joint = ((u + shift) * 2) % 1.0
    return (in_course < 0.12) | (joint < 0.07)


def _grid_lines(tile: np.ndarray, colour: tuple[int, int, int]) -> None:
    """A crisp 1-px line on the top and left edges, so floor cells can be counted (skipped on tiny tiles)."""
    t = tile.shape[0]
    if t >= 12:
        width = max(1, t // 40)
        tile[:width] = colour
        tile[:, :width] = colour


@lru_cache(maxsize=16)
def tile_atlas(tile_size: int) -> np.ndarray:
    """``(NUM_BG * NUM_MARKS, t, t, 3)`` uint8: every background with every marker, drawn once per tile size.

    Index a tile with ``bg + NUM_BG * marker`` (``BG_*`` and ``MARK_*`` constants). Read-only.
    """
    t = int(tile_size)
    if t < 4:
        raise ValueError(f"tile_size must be at least 4 pixels, got {tile_size}")
    backgrounds = np.empty((NUM_BG, t, t, 3), dtype=np.float32)

    floor = np.empty((t, t, 3), np.float32)
    floor[:] = COLOURS["floor"]
    _grid_lines(floor, COLOURS["grid"])
    backgrounds[BG_FLOOR] = floor

    backgrounds[BG_WALL] = COLOURS["wall"]

    open_door = np.empty((t, t, 3), np.float32)
    open_door[:] = COLOURS["open_door"]
    _grid_lines(open_door, COLOURS["grid"])
    backgrounds[BG_OPEN_DOOR] = open_door

    fixed = np.empty((t, t, 3), np.float32)
    fixed[:] = COLOURS["fixed_wall"]
    _paint(fixed, _coverage(t, _bricks), COLOURS["mortar"])
    backgrounds[BG_FIXED_WALL] = fixed

    closed = np.empty((t, t, 3), np.float32)
    closed[:] = COLOURS["wall"]  # the door sits in a dark frame, like a wall it can turn back into
    _paint(closed, _coverage(t, _rounded_box(0.09, 0.09, 0.91, 0.91, 0.12)), COLOURS["closed_door"])
    _paint(closed, _coverage(t, _rounded_box(0.24, 0.41, 0.76, 0.59, 0.05)), COLOURS["closed_door_bar"])
    backgrounds[BG_CLOSED_DOOR] = closed

    band = max(2, round(t * 0.13)) if t >= 8 else 1  # the 'just changed' frame, whole pixels so it stays crisp
    for changed, base in ((BG_DOOR_OPENED, BG_OPEN_DOOR), (BG_DOOR_CLOSED, BG_CLOSED_DOOR)):
        tile = backgrounds[base].copy()
        tile[:band], tile[-band:], tile[:, :band], tile[:, -band:] = (COLOURS["changed"],) * 4
        backgrounds[changed] = tile

    start = _coverage(t, lambda u, v: _disc(0.5, 0.5, 0.46)(u, v) & ~_disc(0.5, 0.5, 0.36)(u, v))
    goal = _coverage(t, _star(0.5, 0.53, 0.45, 0.2))
    agent_outline = _coverage(t, _disc(0.5, 0.5, 0.34))
    agent_body = _coverage(t, _disc(0.5, 0.5, 0.285))
    agent_glint = _coverage(t, _disc(0.4, 0.4, 0.07))

    atlas = np.empty((NUM_MARKS, NUM_BG, t, t, 3), dtype=np.float32)
    for mark in range(NUM_MARKS):
        tiles = backgrounds.copy()
        for tile in tiles:
            if mark in (MARK_START, MARK_AGENT_ON_START):
                _paint(tile, start, COLOURS["start"])
            if mark in (MARK_GOAL, MARK_AGENT_ON_GOAL):
                _paint(tile, goal, COLOURS["goal"])
            if mark >= MARK_AGENT:  # on the goal the rim turns green: the success frame reads at a glance
                _paint(tile, agent_outline, COLOURS["goal" if mark == MARK_AGENT_ON_GOAL else "agent_outline"])
                _paint(tile, agent_body, COLOURS["agent"])
                _paint(tile, agent_glint, COLOURS["agent_glint"])
        atlas[mark] = tiles
    atlas = np.clip(np.rint(atlas), 0, 255).astype(np.uint8).reshape(NUM_MARKS * NUM_BG, t, t, 3)
    atlas.flags.writeable = False
    return atlas


@lru_cache(maxsize=16)
def view_atlas(tile_size: int) -> np.ndarray:
    """``(2 * NUM_TILES + 1, t, t, 3)`` uint8: :func:`tile_atlas`, then every tile dimmed by the fog (index
    ``+ NUM_TILES``), then the flat tile of a hidden cell (``UNSEEN_TILE``). Read-only."""
    atlas = tile_atlas(tile_size)
    dimmed = FOG_KEEP * atlas + (1.0 - FOG_KEEP) * np.asarray(COLOURS["fog"], dtype=np.float64)
    unseen = np.broadcast_to(np.asarray(COLOURS["unseen"], dtype=np.uint8), (1, *atlas.shape[1:]))
    out = np.concatenate([atlas, np.rint(dimmed).astype(np.uint8), unseen])
    out.flags.writeable = False
    return out


def with_fog(kinds: np.ndarray, visible: np.ndarray, fog: str) -> np.ndarray:
    """``kinds`` (:func:`tile_atlas` indices) as :func:`view_atlas` indices: cells outside ``visible`` (same shape)
    dimmed (``fog="dim"``) or hidden behind the flat unseen tile (``"hide"``)."""
    if fog not in FOG_MODES:
        raise ValueError(f"fog must be one of {list(FOG_MODES)}, got {fog!r}")
    return np.where(visible, kinds, kinds + NUM_TILES if fog == "dim" else UNSEEN_TILE)


def tile(background: int, marker: int = MARK_NONE, tile_size: int = 32) -> np.ndarray:
    """One ``(t, t, 3)`` uint8 tile, e.g. ``tile(BG_FLOOR, MARK_AGENT)`` (read-only view into the atlas)."""
    return tile_atlas(tile_size)[background + NUM_BG * marker]


# --- frames ---------------------------------------------------------------------------------------------


def background_grid(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    changed_doors: np.ndarray | None = None,
) -> np.ndarray:
    """``(N, H, W)`` int background kinds (``BG_*``) for ``(N, K)`` door states (``changed_doors`` may be None)."""
    fixed_walls = np.asarray(fixed_walls, dtype=bool)
    closed_doors = np.asarray(closed_doors, dtype=bool)
    changed = np.zeros_like(closed_doors) if changed_doors is None else np.asarray(changed_doors, dtype=bool)
    door_bg = np.where(
        fixed_walls,
        BG_FIXED_WALL,
        np.where(
            closed_doors,
            np.where(changed, BG_DOOR_CLOSED, BG_CLOSED_DOOR),
            np.where(changed, BG_DOOR_OPENED, BG_OPEN_DOOR),
        ),
    )
    n = len(closed_doors)
    bg = np.broadcast_to(np.where(layout.walls, BG_WALL, BG_FLOOR).astype(np.intp), (n, *layout.shape)).copy()
    bg.reshape(n, -1)[:, layout.door_flat_index] = door_bg
    return bg


def marker_grid(layout: Layout, start: np.ndarray, goal: np.ndarray, agent: np.ndarray | None) -> np.ndarray:
    """``(N, H, W)`` int markers (``MARK_*``) for ``(N, 2)`` start, goal and agent positions (agent may be None)."""
    start, goal = np.asarray(start).reshape(-1, 2), np.asarray(goal).reshape(-1, 2)
    n = len(start)
    rows = np.arange(n)
    marks = np.zeros((n, *layout.shape), dtype=np.intp)
    marks[rows, start[:, 0], start[:, 1]] = MARK_START
    marks[rows, goal[:, 0], goal[:, 1]] = MARK_GOAL
    if agent is not None:
        agent = np.asarray(agent).reshape(-1, 2)
        under = marks[rows, agent[:, 0], agent[:, 1]]
        marks[rows, agent[:, 0], agent[:, 1]] = np.choose(under, [MARK_AGENT, MARK_AGENT_ON_START, MARK_AGENT_ON_GOAL])
    return marks


def _assemble(atlas: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Gather tiles: ``(N, H, W)`` atlas indices to ``(N, H * t, W * t, 3)`` uint8 frames."""
    n, h, w = kinds.shape
    t = atlas.shape[1]
    return atlas[kinds].transpose(0, 1, 3, 2, 4, 5).reshape(n, h * t, w * t, 3)


def render_rgb_batch(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    start: np.ndarray,
    goal: np.ndarray,
    agent: np.ndarray,
    changed_doors: np.ndarray | None = None,
    tile_size: int = 32,
    visible: np.ndarray | None = None,
    fog: str = "dim",
) -> np.ndarray:
    """``N`` frames at once: ``(N, H * t, W * t, 3)`` uint8 (for batched envs; arrays as in :mod:`hrm_mazes.core`).

    :param fixed_walls, closed_doors, changed_doors: ``(N, K)`` bool per door cell.
    :param start, goal, agent: ``(N, 2)`` map positions.
    :param visible: ``(N, H, W)`` bool, the map cells the agent sees (a partial view), or None (the full view).
    :param fog: how the other cells look: ``"dim"`` (darkened true state) or ``"hide"`` (the flat unseen tile).
    """
    kinds = background_grid(layout, fixed_walls, closed_doors, changed_doors)
    kinds += NUM_BG * marker_grid(layout, start, goal, agent)
    if visible is None:
        return _assemble(tile_atlas(tile_size), kinds)
    return _assemble(view_atlas(tile_size), with_fog(kinds, visible, fog))


_STATIC_CACHE: OrderedDict[tuple, tuple[np.ndarray, np.ndarray, Layout]] = OrderedDict()
_STATIC_CACHE_SIZE = 32  # a handful of envs in one process (e.g. a SyncVectorEnv) each keep their picture


def _static_frame(layout, fixed_walls, closed_doors, changed_doors, start, goal, tile_size):
    """The frame without the agent and its background kinds, cached on the door state (it rarely changes)."""
    key = (
        id(layout),
        layout.shape,
        fixed_walls.tobytes(),
        closed_doors.tobytes(),
        changed_doors.tobytes(),
        start,
        goal,
        tile_size,
    )
    hit = _STATIC_CACHE.get(key)
    if hit is not None:
        _STATIC_CACHE.move_to_end(key)
        return hit
    bg = background_grid(layout, fixed_walls[None], closed_doors[None], changed_doors[None])
    kinds = bg + NUM_BG * marker_grid(layout, np.array(start), np.array(goal), None)
    frame = _assemble(tile_atlas(tile_size), kinds)[0]
    frame.flags.writeable = False
    entry = (frame, bg[0], layout)  # holding the layout keeps its id() from being reused while cached
    _STATIC_CACHE[key] = entry
    if len(_STATIC_CACHE) > _STATIC_CACHE_SIZE:
        _STATIC_CACHE.popitem(last=False)
    return entry


def render_rgb(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    start: tuple[int, int],
    goal: tuple[int, int],
    agent: tuple[int, int],
    changed_doors: np.ndarray,
    tile_size: int = 32,
    visible: np.ndarray | None = None,
    fog: str = "dim",
) -> np.ndarray:
    """The whole map (outer wall included) as a fresh ``(H * tile_size, W * tile_size, 3)`` uint8 frame.

    :param fixed_walls, closed_doors: ``(K,)`` bool per door cell of ``layout``.
    :param start, goal, agent: map ``(row, col)``.
    :param changed_doors: ``(K,)`` bool, doors whose state changed on the last step: drawn with a gold frame.
    :param visible: ``(H, W)`` bool, the map cells the agent sees (a partial view), or None (the full view).
    :param fog: how the other cells look: ``"dim"`` (darkened true state) or ``"hide"`` (the flat unseen tile).
    """
    start, goal, agent = tuple(map(int, start)), tuple(map(int, goal)), tuple(map(int, agent))
    fixed_walls = np.asarray(fixed_walls, dtype=bool)
    closed_doors = np.asarray(closed_doors, dtype=bool)
    changed_doors = np.asarray(changed_doors, dtype=bool)
    static, bg, _ = _static_frame(layout, fixed_walls, closed_doors, changed_doors, start, goal, tile_size)
    mark = MARK_AGENT_ON_START if agent == start else MARK_AGENT_ON_GOAL if agent == goal else MARK_AGENT
    if visible is not None:  # the fog moves with the agent: assemble every tile
        kinds = bg + NUM_BG * marker_grid(layout, np.array(start), np.array(goal), None)[0]
        kinds[agent] = bg[agent] + NUM_BG * mark
        return _assemble(view_atlas(tile_size), with_fog(kinds, np.asarray(visible), fog)[None])[0]
    frame = static.copy()
    t = tile_size
    r, c = agent
    frame[r * t : (r + 1) * t, c * t : (c + 1) * t] = tile_atlas(t)[bg[r, c] + NUM_BG * mark]
    return frame


# --- text -----------------------------------------------------------------------------------------------


def render_ansi(
    layout: Layout,
    tokens: np.ndarray,
    fixed_walls: np.ndarray | None = None,
    closed_doors: np.ndarray | None = None,
) -> str:
    """The whole map as text, one line per row (see :data:`ANSI_CHARS`), ending with a newline.

    With only ``tokens`` the text is the token grid as given. With the door state as well (``(K,)`` bool, as
    :meth:`DynamicDoorsEnv.render` passes it), door cells show the true state even when the tokens hide it (a
    fixed wall or a closed FourRooms doorway painted as ``WALL`` by default): ``X`` fixed wall, ``D`` closed
    door, ``.`` open doorway.
    """
    chars = np.array([ANSI_CHARS[k] for k in range(core.NUM_PARTIAL_TOKENS)])[np.asarray(tokens)]
    if fixed_walls is not None and closed_doors is not None:
        rows, cols = layout.door_positions[:, 0], layout.door_positions[:, 1]
        door_chars = chars[rows, cols]
        uncovered = np.isin(door_chars, (ANSI_CHARS[core.FLOOR], ANSI_CHARS[core.WALL]))
        truth = np.where(
            fixed_walls,
            ANSI_CHARS[core.FIXED_WALL],
            np.where(closed_doors, ANSI_CHARS[core.CLOSED_DOOR], ANSI_OPEN_DOOR),
        )
        chars[rows, cols] = np.where(uncovered, truth, door_chars)  # the agent, start and goal stay on top
    return "\n".join("".join(row) for row in chars) + "\n"


# --- keyboard and window ----------------------------------------------------------------------------------


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
    """A pygame window that shows frames at a fixed rate, for ``render_mode="human"``.

    ``show`` pumps the event queue so the window stays responsive and waits with ``Clock.tick`` (it sleeps,
    never busy-waits). Frames smaller than ``min_size`` pixels are scaled up by a whole factor. If the user
    closes the window, later frames are dropped until :meth:`close` (``env.close()``); after ``close`` the
    next ``show`` opens a new window.

    :param title: the window caption.
    :param min_size: smallest side of the window in pixels.
    """

    def __init__(self, title: str, min_size: int = 320) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        self._pygame = pygame
        self.title = title
        self.min_size = min_size
        self._screen = None
        self._clock = None
        self.closed_by_user = False

    @property
    def is_open(self) -> bool:
        return self._screen is not None

    def show(self, frame: np.ndarray, fps: float) -> None:
        """Draw ``frame`` (``(H, W, 3)`` uint8), handle window events, and wait until the next frame is due."""
        if self.closed_by_user:
            return
        pygame = self._pygame
        h, w = frame.shape[:2]
        scale = max(1, -(-self.min_size // max(1, min(h, w))))
        size = (w * scale, h * scale)
        if self._screen is None or self._screen.get_size() != size:
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self._screen = pygame.display.set_mode(size)
            self._clock = pygame.time.Clock()
        if pygame.event.get((pygame.QUIT, pygame.WINDOWCLOSE)):
            self.closed_by_user = True
            self._quit()
            return
        pygame.event.pump()  # keep the window responsive
        image = pygame.image.frombuffer(np.ascontiguousarray(frame), (w, h), "RGB")
        if scale > 1:
            image = pygame.transform.scale(image, size)
        self._screen.blit(image, (0, 0))
        pygame.display.flip()
        self._clock.tick(fps)

    def _quit(self) -> None:
        if self._screen is not None:
            self._pygame.display.quit()
            self._screen = None

    def close(self) -> None:
        """Close the window (quits the pygame display); a later :meth:`show` opens a new one."""
        self._quit()
        self.closed_by_user = False

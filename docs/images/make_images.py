"""Regenerate the pictures in docs/images: ``python docs/images/make_images.py``.

Writes, for each environment, a PNG of three seeded mazes (the last one on a step where the doors just
changed, so the gold highlight shows) and a GIF of the BFS oracle playing, plus ``tiles.png``, the legend; for
each partially observed variant, a PNG of one step as ``render()`` draws it (the fog dimmed) beside the ``rgb``
observation (the fog hidden).
"""

from __future__ import annotations

import os
import pathlib

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import gymnasium as gym  # noqa: E402
import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402

import hrm_mazes  # noqa: E402, F401  (registers the envs)
from hrm_mazes import rendering  # noqa: E402
from hrm_mazes.oracle import BFSOracle  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent
NAMES = {"FourRooms-Dynamic-v0": "four_rooms_dynamic", "RandomDoorMaze-v0": "random_door_maze"}
PARTIAL_NAMES = {
    "FourRooms-Dynamic-Partial-v0": "four_rooms_dynamic_partial",
    "RandomDoorMaze-Partial-v0": "random_door_maze_partial",
}
GAP = 12  # white pixels between panels
WHITE = 255


def snapshot(env_id: str, seed: int, steps: int, force_change: bool, tile_size: int) -> np.ndarray:
    """The frame after ``steps`` oracle moves; with ``force_change`` the last move also redraws the doors."""
    env = gym.make(env_id, render_mode="rgb_array", tile_size=tile_size)
    oracle = BFSOracle(env)
    obs, info = env.reset(seed=seed)
    for i in range(steps):
        last = i == steps - 1
        while True:  # with force_change, retry the redraw until the set of closed doors actually moves
            env.unwrapped.p_change = 1.0 if (force_change and last) else env.unwrapped.p_change
            obs, _, terminated, truncated, info = env.step(oracle(obs, info))
            if terminated or truncated or not (force_change and last) or info["doors_changed"]:
                break
        if terminated or truncated:
            break
    frame = env.render()
    env.close()
    return frame


def gallery(env_id: str, seeds=(0, 1, 2), tile_size: int = 32) -> np.ndarray:
    panels = [
        snapshot(env_id, seed, steps=3, force_change=(i == len(seeds) - 1), tile_size=tile_size)
        for i, seed in enumerate(seeds)
    ]
    h = panels[0].shape[0]
    gap = np.full((h, GAP, 3), WHITE, np.uint8)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [gap, panel]
    return np.concatenate(row, axis=1)


def partial_view(env_id: str, seed: int = 3, steps: int = 3, tile_size: int = 32) -> np.ndarray:
    """One step of a partially observed variant: ``render()`` (fog dimmed) beside the ``rgb`` observation."""
    env = gym.make(env_id, render_mode="rgb_array", obs_mode="rgb", tile_size=tile_size)
    oracle = BFSOracle(env)
    obs, info = env.reset(seed=seed)
    for _ in range(steps):
        obs, _, terminated, truncated, info = env.step(oracle(obs, info))
        if terminated or truncated:
            break
    frame = env.render()
    env.close()
    return np.concatenate([frame, np.full((frame.shape[0], GAP, 3), WHITE, np.uint8), obs], axis=1)


def oracle_gif_frames(env_id: str, max_frames: int = 80, tile_size: int = 24, first_seed: int = 0) -> list[np.ndarray]:
    """Oracle episodes back to back (the final frame of each held a moment) until ``max_frames`` would be passed.

    Episodes in which no door moves are skipped, so every clip shows the doors changing.
    """
    frames: list[np.ndarray] = []
    seed = first_seed
    while True:
        env = gym.make(env_id, render_mode="rgb_array", tile_size=tile_size)
        oracle = BFSOracle(env)
        obs, info = env.reset(seed=seed)
        episode, changed = [env.render()], False
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(oracle(obs, info))
            changed |= info["doors_changed"]
            episode.append(env.render())
            done = terminated or truncated
        env.close()
        seed += 1
        episode += [episode[-1]] * 3  # linger on the end
        if not changed or len(episode) < 12:
            continue
        if len(frames) + len(episode) > max_frames:
            return frames
        frames += episode


def legend(tile_size: int = 40) -> np.ndarray:
    """Every tile with its name underneath, drawn with pygame's default font (no display needed)."""
    import pygame

    pygame.font.init()
    font = pygame.font.Font(None, 18)
    items = [
        ("floor", rendering.BG_FLOOR, rendering.MARK_NONE),
        ("wall", rendering.BG_WALL, rendering.MARK_NONE),
        ("fixed wall", rendering.BG_FIXED_WALL, rendering.MARK_NONE),
        ("open door", rendering.BG_OPEN_DOOR, rendering.MARK_NONE),
        ("closed door", rendering.BG_CLOSED_DOOR, rendering.MARK_NONE),
        ("just opened", rendering.BG_DOOR_OPENED, rendering.MARK_NONE),
        ("just closed", rendering.BG_DOOR_CLOSED, rendering.MARK_NONE),
        ("start", rendering.BG_FLOOR, rendering.MARK_START),
        ("goal", rendering.BG_FLOOR, rendering.MARK_GOAL),
        ("agent", rendering.BG_FLOOR, rendering.MARK_AGENT),
        ("agent at goal", rendering.BG_FLOOR, rendering.MARK_AGENT_ON_GOAL),
    ]
    cell_w, label_h = 96, 22
    canvas = np.full((tile_size + label_h + 8, cell_w * len(items), 3), WHITE, np.uint8)
    for i, (name, bg, mark) in enumerate(items):
        x = i * cell_w + (cell_w - tile_size) // 2
        canvas[4 : 4 + tile_size, x : x + tile_size] = rendering.tile(bg, mark, tile_size)
        text = pygame.surfarray.array3d(font.render(name, True, (40, 40, 40), (WHITE,) * 3)).transpose(1, 0, 2)
        tx = i * cell_w + (cell_w - text.shape[1]) // 2
        canvas[8 + tile_size : 8 + tile_size + text.shape[0], tx : tx + text.shape[1]] = text
    return canvas


def main() -> None:
    written = []
    for env_id, name in NAMES.items():
        iio.imwrite(OUT / f"{name}.png", gallery(env_id))
        written.append(OUT / f"{name}.png")
        frames = oracle_gif_frames(env_id)
        iio.imwrite(OUT / f"{name}.gif", np.stack(frames), duration=180, loop=0)
        written.append(OUT / f"{name}.gif")
    for env_id, name in PARTIAL_NAMES.items():
        iio.imwrite(OUT / f"{name}.png", partial_view(env_id))
        written.append(OUT / f"{name}.png")
    iio.imwrite(OUT / "tiles.png", legend())
    written.append(OUT / "tiles.png")
    for path in written:
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()

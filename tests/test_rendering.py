"""Rendering: rgb frames (shape, what is drawn where, the changed-door highlight), ansi text, human window,
RecordVideo, and the ``rgb`` observation mode."""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np
import pytest

import hrm_mazes  # noqa: F401  (registers the envs)
from hrm_mazes import core, rendering
from hrm_mazes.oracle import BFSOracle

# The full-view envs: frames show every cell as it is. The partial variants' fog: tests/test_partial_view.py.
ENV_IDS = ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0")


def make(env_id: str, **kwargs) -> gym.Env:
    return gym.make(env_id, **kwargs)


def display_is_open() -> bool:
    if "pygame" not in sys.modules:
        return False
    import pygame

    return pygame.display.get_init() and pygame.display.get_surface() is not None


@pytest.fixture
def no_display():
    """Start from a closed display and leave it closed."""
    import pygame

    pygame.display.quit()
    yield
    pygame.display.quit()


def cell(frame: np.ndarray, pos, t: int) -> np.ndarray:
    r, c = pos
    return frame[r * t : (r + 1) * t, c * t : (c + 1) * t]


def pixel(frame: np.ndarray, pos, t: int, v: float, u: float) -> tuple[int, ...]:
    """The pixel at fraction (v down, u across) of cell ``pos``."""
    r, c = pos
    return tuple(int(x) for x in frame[r * t + int(v * t), c * t + int(u * t)])


def expected_kinds(env) -> np.ndarray:
    """Atlas index of every cell, worked out from the env's state independently of the renderer."""
    e = env.unwrapped
    h, w = e.layout.shape
    kinds = np.full((h, w), rendering.BG_FLOOR)
    kinds[e.layout.walls] = rendering.BG_WALL
    for k, (r, c) in enumerate(e.layout.door_positions):
        if e.fixed_walls[k]:
            kinds[r, c] = rendering.BG_FIXED_WALL
        elif e.closed_doors[k]:
            kinds[r, c] = rendering.BG_DOOR_CLOSED if e.changed_doors[k] else rendering.BG_CLOSED_DOOR
        else:
            kinds[r, c] = rendering.BG_DOOR_OPENED if e.changed_doors[k] else rendering.BG_OPEN_DOOR
    marks = np.full((h, w), rendering.MARK_NONE)
    marks[e.start_pos] = rendering.MARK_START
    marks[e.goal_pos] = rendering.MARK_GOAL
    marks[e.agent_pos] = {
        rendering.MARK_NONE: rendering.MARK_AGENT,
        rendering.MARK_START: rendering.MARK_AGENT_ON_START,
        rendering.MARK_GOAL: rendering.MARK_AGENT_ON_GOAL,
    }[marks[e.agent_pos]]
    return kinds + rendering.NUM_BG * marks


# --- rgb_array frames -----------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("tile_size", [4, 8, 13, 32, 64])
def test_rgb_frame_shape_and_dtype(env_id, tile_size, no_display):
    env = make(env_id, render_mode="rgb_array", tile_size=tile_size)
    env.reset(seed=0)
    h, w = env.unwrapped.layout.shape
    for action in (0, 1, 2, 3):
        env.step(action)
        frame = env.render()
        assert frame.shape == (h * tile_size, w * tile_size, 3)
        assert frame.dtype == np.uint8
        assert frame.flags.c_contiguous and frame.flags.writeable
    assert not display_is_open(), "rgb_array mode must not open a window"
    env.close()


@pytest.mark.parametrize("tile_size", [4, 8, 16, 24, 32, 64])
def test_all_tiles_are_distinct(tile_size):
    """Every pair of tiles that can occur differs in more than 8% of its pixels."""
    walkable = (rendering.BG_FLOOR, rendering.BG_OPEN_DOOR, rendering.BG_DOOR_OPENED)
    possible = [bg for bg in range(rendering.NUM_BG)]
    possible += [bg + rendering.NUM_BG * mark for mark in range(1, rendering.NUM_MARKS) for bg in walkable]
    atlas = rendering.tile_atlas(tile_size)
    flat = atlas.reshape(len(atlas), -1, 3)
    for n, i in enumerate(possible):
        for j in possible[n + 1 :]:
            differing = np.any(flat[i] != flat[j], axis=-1).mean()
            assert differing > 0.08, (i, j, differing)


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("tile_size", [8, 32])
def test_every_cell_shows_its_state(env_id, tile_size):
    """Across seeds and oracle steps (doors changing often), each cell's block is the tile for its true state."""
    env = make(env_id, render_mode="rgb_array", tile_size=tile_size, p_change=0.5)
    atlas = rendering.tile_atlas(tile_size)
    for seed in range(4):
        oracle = BFSOracle(env)
        obs, info = env.reset(seed=seed)
        for _ in range(6):
            frame = env.render()
            kinds = expected_kinds(env)
            for (r, c), kind in np.ndenumerate(kinds):
                assert np.array_equal(cell(frame, (r, c), tile_size), atlas[kind]), (seed, (r, c), kind)
            obs, _, terminated, truncated, info = env.step(oracle(obs, info))
            if terminated or truncated:
                break


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_colours_at_cell_centres(env_id):
    """Read pixels: agent, goal, start, closed doors, fixed walls, open doors and walls at the right cells."""
    t = 32
    env = make(env_id, render_mode="rgb_array", tile_size=t, distinct_doors=False)
    env.reset(seed=5)
    env.step(core.EAST)
    env.step(core.SOUTH)
    e = env.unwrapped
    frame = env.render()
    colours = rendering.COLOURS
    h, w = e.layout.shape

    centres = {(r, c): pixel(frame, (r, c), t, 0.5, 0.5) for r in range(h) for c in range(w)}
    agent_cells = [pos for pos, rgb in centres.items() if rgb == colours["agent"]]
    assert agent_cells == [e.agent_pos]
    goal_cells = [pos for pos, rgb in centres.items() if rgb == colours["goal"]]
    assert goal_cells == ([e.goal_pos] if e.agent_pos != e.goal_pos else [])
    # The start ring is drawn at 0.41 of the cell from its centre.
    start_cells = [(r, c) for r in range(h) for c in range(w) if pixel(frame, (r, c), t, 0.5, 0.91) == colours["start"]]
    assert start_cells == [e.start_pos]
    # Closed doors: a red panel; open door cells: mint; fixed walls: bricks (neither floor nor wall nor door).
    for k, pos in enumerate(map(tuple, e.layout.door_positions)):
        panel = pixel(frame, pos, t, 0.28, 0.5)
        if e.fixed_walls[k]:
            assert pixel(frame, pos, t, 0.2, 0.3) == colours["fixed_wall"], pos
        elif e.closed_doors[k]:
            assert panel == colours["closed_door"], pos
        elif pos not in (e.agent_pos, e.start_pos, e.goal_pos):
            assert panel == colours["open_door"], pos
    assert e.closed_doors.any()
    if e.n_fixed_walls:
        assert e.fixed_walls.any()
    for r, c in np.argwhere(e.layout.walls):
        assert centres[(r, c)] == colours["wall"]


def test_agent_on_start_and_goal_keeps_both_visible():
    t = 32
    env = make("FourRooms-Dynamic-v0", render_mode="rgb_array", tile_size=t)
    env.reset(seed=0, options={"start": (1, 1), "goal": (1, 2)})
    frame = env.render()
    assert pixel(frame, (1, 1), t, 0.5, 0.5) == rendering.COLOURS["agent"]
    assert pixel(frame, (1, 1), t, 0.5, 0.91) == rendering.COLOURS["start"]
    _, _, terminated, _, _ = env.step(core.EAST)
    assert terminated
    frame = env.render()
    assert pixel(frame, (1, 2), t, 0.5, 0.5) == rendering.COLOURS["agent"]
    goal_pixels = np.all(cell(frame, (1, 2), t) == rendering.COLOURS["goal"], axis=-1)
    assert goal_pixels.sum() > 0.04 * t * t  # the star's points and the agent's green rim
    assert pixel(frame, (1, 1), t, 0.5, 0.91) == rendering.COLOURS["start"]


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("tile_size", [8, 32])
def test_changed_door_highlight_appears_exactly_when_a_door_changed(env_id, tile_size):
    env = make(env_id, render_mode="rgb_array", tile_size=tile_size, p_change=1.0)
    e = env.unwrapped
    gold = rendering.COLOURS["changed"]
    seen = {"closed": 0, "opened": 0, "unchanged_step": 0}
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        before = e.closed_doors.copy()
        frame = env.render()
        assert not any(pixel(frame, p, tile_size, 0.0, 0.5) == gold for p in map(tuple, e.layout.door_positions))
        oracle = BFSOracle(env)
        for _ in range(15):
            obs, _, terminated, truncated, info = env.step(oracle(obs, info))
            after = e.closed_doors.copy()
            frame = env.render()
            for k, pos in enumerate(map(tuple, e.layout.door_positions)):
                changed = bool(before[k] != after[k])
                assert (pixel(frame, pos, tile_size, 0.0, 0.5) == gold) == changed, (seed, pos)
                assert (pixel(frame, pos, tile_size, 0.5, 0.0) == gold) == changed, (seed, pos)
                if changed:
                    seen["closed" if after[k] else "opened"] += 1
            assert info["doors_changed"] == bool((before != after).any())
            seen["unchanged_step"] += not info["doors_changed"]
            before = after
            if terminated or truncated:
                break
    assert seen["closed"] and seen["opened"]
    if env_id == "FourRooms-Dynamic-v0":  # a redraw of one doorway among few often repeats the same one
        assert seen["unchanged_step"]


def test_highlight_lasts_one_frame_only():
    env = make("FourRooms-Dynamic-v0", render_mode="rgb_array", tile_size=16, p_change=1.0)
    env.reset(seed=1)
    e = env.unwrapped
    for _ in range(20):
        _, _, terminated, _, info = env.step(core.NORTH)
        if info["doors_changed"]:
            break
    assert info["doors_changed"]
    e.p_change = 0.0  # no more redraws: the next frame must drop the highlight
    env.step(core.NORTH)
    frame = env.render()
    assert not np.any(np.all(frame == rendering.COLOURS["changed"], axis=-1))


def test_frames_are_independent_copies():
    env = make("RandomDoorMaze-v0", render_mode="rgb_array", tile_size=8)
    env.reset(seed=0)
    first = env.render()
    first[:] = 0
    second = env.render()
    assert second.any() and not np.shares_memory(first, second)


def test_batched_render_matches_single_frames():
    envs = [make(env_id, render_mode="rgb_array", tile_size=8, p_change=0.5) for env_id in ENV_IDS for _ in range(2)]
    for env_id in ENV_IDS:
        group = [env for env in envs if env.spec.id == env_id]
        for i, env in enumerate(group):
            env.reset(seed=i)
            env.step(i % 4)
        u = [env.unwrapped for env in group]
        frames = rendering.render_rgb_batch(
            u[0].layout,
            np.stack([e.fixed_walls for e in u]),
            np.stack([e.closed_doors for e in u]),
            np.array([e.start_pos for e in u]),
            np.array([e.goal_pos for e in u]),
            np.array([e.agent_pos for e in u]),
            np.stack([e.changed_doors for e in u]),
            8,
        )
        assert np.array_equal(frames, np.stack([env.render() for env in group]))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rgb_observation_equals_render(env_id):
    env = make(env_id, obs_mode="rgb", render_mode="rgb_array", tile_size=8, p_change=0.3)
    obs, info = env.reset(seed=2)
    assert obs.shape == env.observation_space.shape and obs.dtype == np.uint8
    assert env.observation_space.contains(obs)
    assert np.array_equal(obs, env.render())
    for action in [0, 1, 2, 3, 1, 2] * 3:
        obs, _, terminated, truncated, _ = env.step(action)
        assert np.array_equal(obs, env.render())
        if terminated or truncated:
            break


# --- ansi -------------------------------------------------------------------------------------------------


def expected_ansi(env) -> list[str]:
    e = env.unwrapped
    grid = np.where(e.layout.walls, "#", " ").astype("<U1")
    for k, (r, c) in enumerate(e.layout.door_positions):
        grid[r, c] = "X" if e.fixed_walls[k] else "D" if e.closed_doors[k] else "."
    grid[e.start_pos] = "S"
    grid[e.goal_pos] = "G"
    grid[e.agent_pos] = "A"
    return ["".join(row) for row in grid]


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("distinct_doors", [False, True])
def test_ansi_shows_the_true_map(env_id, distinct_doors):
    env = make(env_id, render_mode="ansi", distinct_doors=distinct_doors, p_change=0.5)
    obs, _ = env.reset(seed=3)
    for action in (1, 2, 3, 0, 1):
        text = env.render()
        assert isinstance(text, str) and text.endswith("\n")
        assert text.splitlines() == expected_ansi(env)
        obs, *_ = env.step(action)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_ansi_agrees_with_the_token_observation(env_id):
    """With distinct tokens, every observed cell's character is its token's (open doorways: '.' over floor)."""
    env = make(env_id, render_mode="ansi", distinct_doors=True)
    obs, _ = env.reset(seed=4)
    lines = env.render().splitlines()
    layout = env.unwrapped.layout
    r0, c0 = layout.obs_offset
    for (r, c), token in np.ndenumerate(obs):
        char = lines[r + r0][c + c0]
        if layout.door_mask[r + r0, c + c0] and token == core.FLOOR:
            assert char == rendering.ANSI_OPEN_DOOR
        else:
            assert char == rendering.ANSI_CHARS[int(token)]


def test_render_ansi_of_tokens_alone():
    tokens = np.array([[core.WALL, core.FLOOR, core.AGENT], [core.GOAL, core.START, core.CLOSED_DOOR]])
    assert rendering.render_ansi(core.FOUR_ROOMS, tokens) == "# A\nGSD\n"


# --- human window -------------------------------------------------------------------------------------------


@pytest.fixture
def fast_human_env(request):
    env = make(request.param, render_mode="human", tile_size=8)
    env.unwrapped.metadata = {**env.unwrapped.metadata, "render_fps": 1000}  # do not sleep in tests
    yield env
    env.close()


@pytest.mark.parametrize("fast_human_env", ENV_IDS, indirect=True)
def test_human_mode_opens_closes_and_reopens(fast_human_env, no_display):
    import pygame

    env = fast_human_env
    assert not display_is_open()
    env.reset(seed=0)
    assert display_is_open()
    width, height = pygame.display.get_surface().get_size()
    h, w = env.unwrapped.layout.shape
    assert width % (w * 8) == 0 and height % (h * 8) == 0 and width // (w * 8) == height // (h * 8)
    assert env.render() is None
    env.step(1)
    env.close()
    assert not pygame.display.get_init(), "env.close() must quit the display"
    env.close()  # closing twice is harmless
    env.reset(seed=1)
    assert display_is_open(), "rendering after close reopens the window"
    env.step(2)
    env.close()
    assert not pygame.display.get_init()


@pytest.mark.parametrize("fast_human_env", ["FourRooms-Dynamic-v0"], indirect=True)
def test_human_window_closed_by_user_stays_closed_until_env_close(fast_human_env, no_display):
    import pygame

    env = fast_human_env
    env.reset(seed=0)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    env.step(1)
    assert not display_is_open()
    env.step(1)
    assert not display_is_open(), "a window the user closed must not pop up again"
    env.close()
    env.reset(seed=0)
    assert display_is_open()


def test_window_shows_the_frame(no_display):
    import pygame

    window = rendering.Window("test", min_size=1)
    frame = rendering.render_rgb(
        core.FOUR_ROOMS,
        np.zeros(4, bool),
        np.array([True, False, False, False]),
        (1, 1),
        (11, 11),
        (2, 2),
        np.zeros(4, bool),
        8,
    )
    window.show(frame, fps=1000)
    shown = pygame.surfarray.array3d(pygame.display.get_surface()).transpose(1, 0, 2)
    assert np.array_equal(shown, frame)
    window.close()
    assert not pygame.display.get_init()


# --- video ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_record_video_writes_an_mp4(env_id, tmp_path, no_display):
    pytest.importorskip("moviepy")
    env = gym.wrappers.RecordVideo(
        make(env_id, render_mode="rgb_array", tile_size=8),
        video_folder=str(tmp_path / "videos"),
        episode_trigger=lambda episode: True,
        disable_logger=True,
    )
    oracle = BFSOracle(env)
    obs, info = env.reset(seed=0)
    for _ in range(30):
        obs, _, terminated, truncated, info = env.step(oracle(obs, info))
        if terminated or truncated:
            break
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0
    assert not display_is_open()


# --- keys -------------------------------------------------------------------------------------------------------


def test_keys_to_action_covers_arrows_and_wasd():
    import pygame

    env = make("RandomDoorMaze-v0")
    mapping = env.unwrapped.get_keys_to_action()
    assert env.get_wrapper_attr("get_keys_to_action")() == mapping
    expected = {
        pygame.K_UP: core.NORTH,
        pygame.K_w: core.NORTH,
        pygame.K_RIGHT: core.EAST,
        pygame.K_d: core.EAST,
        pygame.K_DOWN: core.SOUTH,
        pygame.K_s: core.SOUTH,
        pygame.K_LEFT: core.WEST,
        pygame.K_a: core.WEST,
    }
    assert mapping == {(key,): action for key, action in expected.items()}
    assert all(env.action_space.contains(a) for a in mapping.values())

"""Manual play (``python -m hrm_mazes.play``) driven headless by scripted pygame events, and Gymnasium's
``gymnasium.utils.play.play`` on our envs."""

from __future__ import annotations

import io
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pygame
import pytest

import hrm_mazes
from hrm_mazes import core, play
from hrm_mazes.oracle import BFSOracle

ACTION_KEYS = {core.NORTH: pygame.K_UP, core.EAST: pygame.K_RIGHT, core.SOUTH: pygame.K_DOWN, core.WEST: pygame.K_LEFT}


def key(k: int) -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=k)


def scripted(frames: list[list[pygame.event.Event]]):
    """An event source that returns one list of events per frame, then nothing."""
    it = iter(frames)
    return lambda: next(it, [])


class PinnedEpisodes(gym.Wrapper):
    """Every reset starts at the same start and goal, so a script knows where walls are."""

    def __init__(self, env: gym.Env, start, goal) -> None:
        super().__init__(env)
        self.pinned = {"start": start, "goal": goal}

    def reset(self, *, seed=None, options=None):
        return self.env.reset(seed=seed, options=self.pinned)


@pytest.fixture(autouse=True)
def closed_display():
    pygame.display.quit()
    yield
    pygame.display.quit()


def test_arrow_keys_reset_and_escape():
    env = gym.make("RandomDoorMaze-v0", render_mode="rgb_array", tile_size=8)
    out = io.StringIO()
    frames = [
        [key(pygame.K_RIGHT)],
        [key(pygame.K_d), key(pygame.K_s)],
        [],
        [key(pygame.K_r)],
        [key(pygame.K_LEFT)],
        [key(pygame.K_ESCAPE)],
    ]
    episodes = play.run(env, seed=3, fps=1000, event_source=scripted(frames), out=out)
    assert [e.steps for e in episodes] == [3, 1]
    assert [e.status for e in episodes] == ["abandoned", "abandoned"]
    assert not pygame.display.get_init(), "the window is closed at the end"
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("episode 1: abandoned") and "steps=  3" in lines[0]
    assert lines[-1] == "played 2 episode(s), 0 success(es)"


def test_steps_follow_the_keys_like_env_step():
    """The game steps the env with the action each key maps to: replaying those actions gives the same state."""
    keys = [pygame.K_UP, pygame.K_d, pygame.K_DOWN, pygame.K_a, pygame.K_w, pygame.K_RIGHT, pygame.K_s, pygame.K_LEFT]
    actions = [core.NORTH, core.EAST, core.SOUTH, core.WEST, core.NORTH, core.EAST, core.SOUTH, core.WEST]
    env = gym.make("FourRooms-Dynamic-v0", render_mode="rgb_array", tile_size=8)
    play.run(
        env,
        seed=7,
        fps=1000,
        event_source=scripted([[key(k)] for k in keys] + [[key(pygame.K_ESCAPE)]]),
        out=io.StringIO(),
    )
    twin = gym.make("FourRooms-Dynamic-v0")
    twin.reset(seed=7)
    for action in actions:
        _, _, terminated, truncated, _ = twin.step(action)
        if terminated or truncated:
            break
    assert env.unwrapped.agent_pos == twin.unwrapped.agent_pos
    assert np.array_equal(env.unwrapped.closed_doors, twin.unwrapped.closed_doors)


def test_success_is_reported_and_moves_wait_for_r():
    env = gym.make("RandomDoorMaze-v0", render_mode="rgb_array", tile_size=8)
    oracle = BFSOracle(env)
    state = {"frames": 0}

    def oracle_keys():
        state["frames"] += 1
        game_over = env.unwrapped.agent_pos == env.unwrapped.goal_pos
        if state["frames"] > 200:
            return [key(pygame.K_ESCAPE)]
        if game_over:  # moves after the end are ignored; then R, then quit
            return [key(pygame.K_UP), key(pygame.K_r), key(pygame.K_ESCAPE)]
        return [key(ACTION_KEYS[oracle()])]

    out = io.StringIO()
    episodes = play.run(env, seed=0, fps=1000, event_source=oracle_keys, out=out)
    assert episodes[0].status == "success" and 0.0 < episodes[0].ret <= 1.0
    assert len(episodes) == 2 and episodes[1].steps == 0, "the move after success is ignored, R starts episode 2"
    assert out.getvalue().splitlines()[0].startswith("episode 1: success")
    assert out.getvalue().splitlines()[-1] == "played 1 episode(s), 1 success(es)"


def test_timeout_is_reported():
    env = PinnedEpisodes(
        gym.make("FourRooms-Dynamic-v0", render_mode="rgb_array", tile_size=8), start=(1, 1), goal=(11, 11)
    )
    out = io.StringIO()
    frames = [[key(pygame.K_UP)] for _ in range(core.MAX_EPISODE_STEPS + 5)] + [[key(pygame.K_ESCAPE)]]
    (episode,) = play.run(env, seed=0, fps=1000, event_source=scripted(frames), out=out)
    assert episode.status == "timeout"
    assert episode.steps == core.MAX_EPISODE_STEPS
    assert episode.ret == pytest.approx(core.MAX_EPISODE_STEPS * core.REWARD_BLOCKED)
    assert out.getvalue().startswith("episode 1: timeout")


def test_posted_pygame_events_drive_the_game():
    """Real events through pygame's queue (what a keyboard produces), not an injected source."""
    env = gym.make("FourRooms-Dynamic-v0", render_mode="rgb_array", tile_size=8)
    pygame.display.init()
    for k in (pygame.K_s, pygame.K_s, pygame.K_ESCAPE):
        pygame.event.post(key(k))
    episodes = play.run(env, seed=0, fps=1000, max_frames=50, out=io.StringIO())
    assert episodes[-1].steps == 2


def test_window_close_event_quits():
    env = gym.make("FourRooms-Dynamic-v0", render_mode="rgb_array", tile_size=8)
    frames = [[key(pygame.K_RIGHT)], [pygame.event.Event(pygame.QUIT)], [key(pygame.K_RIGHT)]]
    episodes = play.run(env, seed=0, fps=1000, max_frames=20, event_source=scripted(frames), out=io.StringIO())
    assert episodes[-1].steps == 1


def test_caption_and_status_bar_show_progress():
    env = gym.make("RandomDoorMaze-v0", render_mode="rgb_array", tile_size=8)
    captions = []

    def source():
        captions.append(pygame.display.get_caption()[0])
        return [key(pygame.K_ESCAPE)] if len(captions) > 3 else [key(pygame.K_RIGHT)]

    play.run(env, seed=1, fps=1000, event_source=source, out=io.StringIO())
    assert captions[-1].startswith("RandomDoorMaze-v0")
    assert "step 3/80" in captions[-1] and "return" in captions[-1]


@pytest.mark.parametrize("env_id", hrm_mazes.ENV_IDS)
def test_main_returns_zero(env_id, capsys):
    assert play.main(["--env", env_id, "--seed", "3", "--tile-size", "8", "--fps", "1000", "--max-frames", "3"]) == 0
    assert "played 0 episode(s)" in capsys.readouterr().out


def test_main_quits_on_escape(capsys):
    pygame.display.init()
    pygame.event.post(key(pygame.K_RIGHT))
    pygame.event.post(key(pygame.K_ESCAPE))
    assert play.main(["--env", "RandomDoorMaze-v0", "--seed", "3", "--tile-size", "8", "--max-frames", "100"]) == 0
    assert "played 1 episode(s)" in capsys.readouterr().out


BAD_COMMAND_LINES = [
    # (arguments, words the one error line must contain: the option and what is allowed)
    (["--seed", "-1"], ["--seed", "a non-negative integer", "'-1'"]),
    (["--seed", "inf"], ["--seed", "a non-negative integer"]),
    (["--seed", "1e400"], ["--seed", "a non-negative integer"]),
    (["--seed", "2.5"], ["--seed", "a non-negative integer"]),
    (["--tile-size", "2"], ["--tile-size", "[4, 256]"]),
    (["--fps", "0"], ["--fps", "[1, 1000]"]),
    (["--p-change", "nan"], ["--p-change", "[0.0, 1.0]"]),
    (["--p-change", "1.5"], ["--p-change", "[0.0, 1.0]"]),
    (["--env", "NoSuchEnv-v0"], ["--env", "RandomDoorMaze-v0"]),
    (["--bogus"], ["--bogus"]),
]


@pytest.mark.parametrize("argv, words", BAD_COMMAND_LINES, ids=[" ".join(argv) for argv, _ in BAD_COMMAND_LINES])
def test_bad_command_line_is_one_error_line(argv, words, capsys):
    with pytest.raises(SystemExit) as excinfo:
        play.main(argv + ["--max-frames", "1"])
    assert excinfo.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m hrm_mazes.play: error: "), captured.err
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_bad_command_line_names_the_callers_prog(capsys):
    with pytest.raises(SystemExit):
        play.main(["--seed", "-1"], prog="hrm-mazes play")
    assert capsys.readouterr().err.startswith("hrm-mazes play: error: argument --seed: must be a non-negative integer")


def test_module_entry_point_rejects_a_negative_seed_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "hrm_mazes.play", "--seed", "-1"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "python -m hrm_mazes.play: error: argument --seed: must be a non-negative integer, got '-1' (see --help)"
    ]


def test_run_needs_rgb_array():
    with pytest.raises(ValueError, match="rgb_array"):
        play.run(gym.make("FourRooms-Dynamic-v0"), max_frames=1)


# Importing gymnasium.utils.play tries matplotlib's TkAgg backend (for its PlayPlot helper, not used here) and warns
# "matplotlib is not installed" where Tk is missing, as in CI's fresh venv: gymnasium's message, not about our envs.
@pytest.mark.filterwarnings("ignore:.*matplotlib is not installed")
@pytest.mark.parametrize("auto_keys", [False, True])
def test_gymnasium_play_works(monkeypatch, auto_keys):
    """``gymnasium.utils.play.play`` with our key map, fed scripted events (it reads ``pygame.event.get``)."""
    from gymnasium.utils import play as gym_play

    env = gym.make("FourRooms-Dynamic-v0", render_mode="rgb_array", tile_size=8)
    frames = [
        [key(pygame.K_RIGHT)],
        [pygame.event.Event(pygame.KEYUP, key=pygame.K_RIGHT)],
        [key(pygame.K_s)],
        [pygame.event.Event(pygame.KEYUP, key=pygame.K_s)],
        [key(pygame.K_ESCAPE)],
    ]
    monkeypatch.setattr(pygame.event, "get", scripted(frames))
    actions = []
    gym_play.play(
        env,
        fps=1000,
        keys_to_action=None if auto_keys else env.unwrapped.get_keys_to_action(),
        wait_on_player=True,
        callback=lambda obs, next_obs, action, *rest: actions.append(action),
    )
    assert actions == [core.EAST, core.SOUTH]

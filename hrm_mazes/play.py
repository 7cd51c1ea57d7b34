"""Play a maze yourself: ``python -m hrm_mazes.play --env RandomDoorMaze-v0 --seed 3``.

Arrow keys or WASD move (one step per key press; hold a key to repeat), R starts a new episode, Esc or
closing the window quits. The bar under the maze shows the step count, the return and whether the episode
ended in success or timeout; a one-line summary of every episode is printed to stdout.

The game is turn-based: the env only steps when you press a move key. (Gymnasium's
:func:`gymnasium.utils.play.play` also works, with ``keys_to_action=env.unwrapped.get_keys_to_action()``
and ``wait_on_player=True``; without ``wait_on_player`` it steps every frame, and these envs have no no-op
action.)

For tests and scripts, :func:`run` takes an ``event_source`` (a callable returning the pygame events of one
frame) and ``max_frames``, so the loop runs headless with ``SDL_VIDEODRIVER=dummy``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

import gymnasium as gym
import numpy as np

import hrm_mazes
from hrm_mazes.cli_args import OneLineArgumentParser, float_option, int_option

STATUS_HEIGHT = 48  # pixels of the text bar under the maze
MIN_WIDTH = 448  # small tiles are scaled up so the text bar fits
BAR_BG = (30, 34, 44)
BAR_TEXT = (226, 230, 238)
BAR_HINT = (150, 158, 176)
STATUS_COLOURS = {"playing": (226, 230, 238), "success": (92, 214, 132), "timeout": (255, 178, 64)}


@dataclass
class Episode:
    """The running totals of one episode of the game.

    :param index: 1-based episode number. :param steps: env steps taken. :param ret: sum of rewards.
    :param status: ``"playing"``, ``"success"``, ``"timeout"`` or ``"abandoned"`` (reset or quit before the end).
    """

    index: int
    steps: int = 0
    ret: float = 0.0
    status: str = "playing"

    @property
    def over(self) -> bool:
        return self.status in ("success", "timeout")

    def summary(self) -> str:
        return f"episode {self.index}: {self.status:9s} steps={self.steps:3d} return={self.ret:+.2f}"


class Game:
    """The game state machine, independent of any window: feed it key presses, read its status.

    :param env: a maze env made with ``render_mode="rgb_array"`` (usually via ``gym.make``).
    :param seed: seed of the first episode; later episodes continue the env's random stream.
    :param out: where episode summaries are printed.
    """

    def __init__(self, env: gym.Env, seed: int | None = None, out: TextIO | None = None) -> None:
        from hrm_mazes.rendering import keys_to_action

        self.env = env
        self.out = sys.stdout if out is None else out
        self.key_actions = {keys[0]: action for keys, action in keys_to_action().items()}
        self.max_steps = env.spec.max_episode_steps if env.spec is not None else None
        self.episodes: list[Episode] = []
        self.running = True
        self.last_info: dict[str, Any] = {}
        self._new_episode(seed)

    @property
    def episode(self) -> Episode:
        return self.episodes[-1]

    def _new_episode(self, seed: int | None = None) -> None:
        _, self.last_info = self.env.reset(seed=seed)
        self.episodes.append(Episode(index=len(self.episodes) + 1))

    def _finish(self, status: str) -> None:
        self.episode.status = status
        print(self.episode.summary(), file=self.out, flush=True)

    def press(self, key: int) -> None:
        """React to one key press (a ``pygame.K_*`` code)."""
        import pygame

        if key in (pygame.K_ESCAPE, pygame.K_q):
            self.quit()
        elif key == pygame.K_r:
            self._abandon()
            self._new_episode()
        elif key in self.key_actions and not self.episode.over:
            _, reward, terminated, truncated, self.last_info = self.env.step(self.key_actions[key])
            self.episode.steps += 1
            self.episode.ret += float(reward)
            if terminated or truncated:
                self._finish("success" if self.last_info.get("is_success") else "timeout")

    def _abandon(self) -> None:
        """End the current episode early (reset or quit); untouched episodes are not reported."""
        if self.episode.over:
            return
        if self.episode.steps > 0:
            self._finish("abandoned")
        else:
            self.episode.status = "abandoned"

    def quit(self) -> None:
        if self.running:
            self._abandon()
        self.running = False

    def status_line(self) -> str:
        steps = f"{self.episode.steps}/{self.max_steps}" if self.max_steps else f"{self.episode.steps}"
        status = self.episode.status.upper() if self.episode.over else "playing"
        return f"episode {self.episode.index}   step {steps}   return {self.episode.ret:+.2f}   {status}"

    def hint_line(self) -> str:
        if self.episode.over:
            return "R: new episode    Esc: quit"
        if self.last_info.get("shortest_path", 0) < 0:
            return "goal cut off: wait for the doors    R: new episode    Esc: quit"
        return "arrows/WASD: move    R: new episode    Esc: quit"

    def successes(self) -> int:
        return sum(e.status == "success" for e in self.episodes)


def _draw(screen, font, small_font, frame: np.ndarray, scale: int, game: Game) -> None:
    import pygame

    h, w = frame.shape[:2]
    image = pygame.image.frombuffer(np.ascontiguousarray(frame), (w, h), "RGB")
    if scale > 1:
        image = pygame.transform.scale(image, (w * scale, h * scale))
    screen.fill(BAR_BG)
    screen.blit(image, (0, 0))
    colour = STATUS_COLOURS.get(game.episode.status, BAR_TEXT)
    y = h * scale
    screen.blit(font.render(game.status_line(), True, colour), (10, y + 6))
    screen.blit(small_font.render(game.hint_line(), True, BAR_HINT), (10, y + 28))


def run(
    env: gym.Env,
    *,
    seed: int | None = None,
    fps: int = 30,
    max_frames: int | None = None,
    event_source: Callable[[], Iterable[Any]] | None = None,
    out: TextIO | None = None,
) -> list[Episode]:
    """Open a window and play ``env`` with the keyboard until Esc, window close, or ``max_frames`` frames.

    :param env: a maze env with ``render_mode="rgb_array"``; it is closed at the end.
    :param seed: seed of the first episode.
    :param fps: frame rate of the window loop (``Clock.tick``: the loop sleeps between frames).
    :param max_frames: stop after this many frames (None: play until quit).
    :param event_source: returns the pygame events of one frame; defaults to ``pygame.event.get``.
    :param out: where episode summaries are printed (stdout by default).
    :return: the episodes played, the last one possibly unfinished.
    """
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    if env.render_mode != "rgb_array":
        raise ValueError(f"play needs an env made with render_mode='rgb_array', got {env.render_mode!r}")
    out = sys.stdout if out is None else out
    pygame.display.init()
    pygame.font.init()
    try:
        game = Game(env, seed=seed, out=out)
        frame = env.render()
        h, w = frame.shape[:2]
        scale = max(1, -(-MIN_WIDTH // w))
        screen = pygame.display.set_mode((w * scale, h * scale + STATUS_HEIGHT))
        pygame.key.set_repeat(250, 90)  # holding a key keeps walking
        font, small_font = pygame.font.Font(None, 24), pygame.font.Font(None, 19)
        clock = pygame.time.Clock()
        get_events = pygame.event.get if event_source is None else event_source
        frames = 0
        while game.running and (max_frames is None or frames < max_frames):
            for event in get_events():
                if event.type in (pygame.QUIT, pygame.WINDOWCLOSE):
                    game.quit()
                elif event.type == pygame.KEYDOWN:
                    game.press(event.key)
                if not game.running:
                    break
            if not game.running:
                break
            _draw(screen, font, small_font, env.render(), scale, game)
            pygame.display.set_caption(f"{_env_name(env)}  |  {game.status_line()}")
            pygame.display.flip()
            clock.tick(fps)
            frames += 1
        else:
            game.quit()
    finally:
        env.close()
        pygame.display.quit()
    played = [e for e in game.episodes if e.steps > 0]
    print(f"played {len(played)} episode(s), {game.successes()} success(es)", file=out, flush=True)
    return game.episodes


def _env_name(env: gym.Env) -> str:
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


def default_prog() -> str:
    """``hrm-mazes play`` when run from the ``hrm-mazes`` command, else ``python -m hrm_mazes.play``."""
    return "hrm-mazes play" if os.path.basename(sys.argv[0]) == "hrm-mazes" else "python -m hrm_mazes.play"


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    """The command line; a bad one prints a one-line ``<prog>: error: ...`` and exits with status 2."""
    parser = OneLineArgumentParser(
        prog=prog or default_prog(),
        description="Play a dynamic-door maze with the keyboard: arrows/WASD move, R new episode, Esc quit.",
    )
    parser.add_argument("--env", default="RandomDoorMaze-v0", choices=hrm_mazes.ENV_IDS, help="environment id")
    parser.add_argument("--seed", type=int_option(0), default=None, help="seed of the first episode (>= 0)")
    parser.add_argument("--tile-size", type=int_option(4, 256), default=48, help="pixels per maze cell, 4 to 256")
    parser.add_argument(
        "--p-change", type=float_option(0.0, 1.0), default=None, help="per-step door redraw probability (env default 0.05)"
    )
    parser.add_argument("--fps", type=int_option(1, 1000), default=30, help="frame rate of the window, 1 to 1000")
    parser.add_argument("--max-frames", type=int_option(0), default=None, help=argparse.SUPPRESS)  # for scripted runs
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Command-line entry point; returns the exit status (2 for a bad command line, after a one-line error)."""
    prog = prog or default_prog()
    args = parse_args(argv, prog)
    kwargs: dict[str, Any] = {"render_mode": "rgb_array", "tile_size": args.tile_size}
    if args.p_change is not None:
        kwargs["p_change"] = args.p_change
    try:
        env = gym.make(args.env, **kwargs)
    except ValueError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    print(f"{args.env}: arrows/WASD move, R new episode, Esc quit", flush=True)
    run(env, seed=args.seed, fps=args.fps, max_frames=args.max_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())

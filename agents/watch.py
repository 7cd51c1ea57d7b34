"""``hrm-mazes watch``: play episodes with an agent and show, beside the maze, what the agent thinks.

The side panel shows the agent's Q-values (HRM-DQN, DQN variants; QR-DQN: mean over quantiles), its action
probabilities (PPO, RecurrentPPO), the BFS distance to the goal after each move (oracle) or the uniform
distribution (random); the chosen action is highlighted. A door that changed on the last step has a gold frame in
the maze (:mod:`hrm_mazes.rendering`) and the panel says so, with the count of changes in the episode. Frames go
to a pygame window or, with ``--save``, to a GIF / MP4 (imageio; works headless with ``SDL_VIDEODRIVER=dummy``).
The agent is a trained model (``--model``), a shipped one (``--pretrained ENV_ID``) or a reference player.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np

from agents.errors import UserError
from hrm_mazes.core import ACTION_DELTAS, ACTION_NAMES
from hrm_mazes.rendering import COLOURS

ARROWS = ("N", "E", "S", "W")
PANEL_WIDTH = 250
BACKGROUND = (250, 248, 242)
TEXT = (40, 44, 56)
BAR = (140, 170, 210)
CHOSEN = (238, 178, 42)
DOOR_CHANGED = COLOURS["changed"]  # the renderer's gold frame of a door that just changed
MUTED = (130, 134, 146)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one fixed-size bitmap font
        return ImageFont.load_default()


def action_values(agent, obs: np.ndarray, state: Any, episode_start: bool, env) -> tuple[int, np.ndarray | None, str, Any]:
    """The agent's action for ``obs`` and what to show: ``(action, values (4,) or None, caption, next state)``."""
    from agents.harness.evaluation import ModelPlayer, OraclePlayer, RandomPlayer, ViewOraclePlayer

    player = agent.player
    if isinstance(player, ViewOraclePlayer):  # plans on what it has seen; no values of its own to show
        action = int(player.act(obs[None], np.array([episode_start]), [env], np.zeros(1))[0])
        return action, None, f"{player.name}: BFS on what it has seen", state
    if isinstance(player, OraclePlayer):
        action = int(player.act(obs[None], np.array([episode_start]), [env], np.zeros(1))[0])
        return action, _oracle_distances(env), "oracle: BFS steps to goal after move", state
    if isinstance(player, RandomPlayer):
        action = int(np.random.default_rng().integers(4))
        return action, np.full(4, 0.25), "random: action probabilities", state
    assert isinstance(player, ModelPlayer)
    model = player.model
    starts = np.array([episode_start])
    if hasattr(model, "q_values"):  # HRM-DQN: Q-values and the carried state in one call
        q, state = model.q_values(obs[None], state, starts)
        return int(np.argmax(q[0])), np.asarray(q[0], dtype=float), "HRM-DQN Q-values", state
    action, next_state = model.predict(obs[None], state=state, episode_start=starts, deterministic=True)
    values, caption = _model_values(model, obs, state, starts)
    return int(np.asarray(action).reshape(-1)[0]), values, caption, next_state


def _model_values(model, obs: np.ndarray, state: Any, starts: np.ndarray) -> tuple[np.ndarray | None, str]:
    import torch

    policy = model.policy
    tensor, _ = policy.obs_to_tensor(obs[None])
    with torch.no_grad():
        if hasattr(model, "quantile_net"):
            return model.quantile_net(tensor).mean(dim=1)[0].cpu().numpy(), "QR-DQN mean Q-values"
        if hasattr(model, "q_net"):
            return model.q_net(tensor)[0].cpu().numpy(), "DQN Q-values"
        if hasattr(policy, "lstm_actor"):
            if state is None:
                return None, "RecurrentPPO"
            lstm = tuple(torch.as_tensor(s, device=policy.device) for s in state)
            dist, _ = policy.get_distribution(tensor, lstm, torch.as_tensor(starts, dtype=torch.float32, device=policy.device))
            return dist.distribution.probs[0].cpu().numpy(), "RecurrentPPO action probabilities"
        if hasattr(policy, "get_distribution"):
            return policy.get_distribution(tensor).distribution.probs[0].cpu().numpy(), "PPO action probabilities"
    return None, type(model).__name__


def _oracle_distances(env) -> np.ndarray:
    e = env.unwrapped
    dist, blocked = e.distance_to_goal(), e.blocked
    out = np.full(4, np.nan)
    r, c = e.agent_pos
    for a, (dr, dc) in enumerate(ACTION_DELTAS):
        if not blocked[r + dr, c + dc] and dist[r + dr, c + dc] >= 0:
            out[a] = dist[r + dr, c + dc]
    return out


def compose(
    frame: np.ndarray,
    values: np.ndarray | None,
    action: int,
    caption: str,
    header: str,
    doors_changed: bool = False,
    door_changes: int | None = None,
) -> np.ndarray:
    """The maze frame with a side panel: header, caption, one bar per action (chosen one highlighted), doors line.

    :param doors_changed: the doors changed on the last step (the panel's doors line turns gold).
    :param door_changes: changes so far in the episode, shown on the doors line (None: no doors line).
    """
    from PIL import Image, ImageDraw

    h, w = frame.shape[:2]
    canvas = Image.new("RGB", (w + PANEL_WIDTH, max(h, 250)), BACKGROUND)
    canvas.paste(Image.fromarray(frame), (0, 0))
    draw = ImageDraw.Draw(canvas)
    font, small = _font(15), _font(12)
    x0 = w + 12
    title, _, detail = header.partition("\n")
    draw.text((x0, 10), title, fill=TEXT, font=font)
    draw.text((x0, 32), detail, fill=TEXT, font=small)
    draw.text((x0, 52), caption, fill=TEXT, font=small)
    finite = None if values is None else np.asarray(values, dtype=float)
    lo, hi = 0.0, 1.0
    if finite is not None and np.isfinite(finite).any():
        lo, hi = float(np.nanmin(finite)), float(np.nanmax(finite))
        lo = min(lo, 0.0)
        if hi - lo < 1e-9:
            hi = lo + 1.0
    bar_w = PANEL_WIDTH - 100
    for a in range(4):
        y = 80 + a * 34
        colour = CHOSEN if a == action else BAR
        label = f"{ARROWS[a]} {ACTION_NAMES[a]}"
        draw.text((x0, y), label, fill=TEXT, font=small)
        if finite is not None and not math.isnan(finite[a]):
            frac = (finite[a] - lo) / (hi - lo)
            draw.rectangle((x0 + 54, y + 2, x0 + 54 + max(2, int(frac * bar_w)), y + 16), fill=colour)
            draw.text((x0 + 56, y + 17), f"{finite[a]:+.3f}" if abs(finite[a]) < 100 else f"{finite[a]:.0f}", fill=TEXT, font=small)
        else:
            draw.text((x0 + 54, y + 2), "blocked / n.a." if finite is not None else "-", fill=TEXT, font=small)
        if a == action:
            draw.rectangle((x0 - 4, y - 2, x0 + PANEL_WIDTH - 20, y + 31), outline=CHOSEN, width=2)
    if door_changes is not None:
        y = 80 + 4 * 34 + 8
        times = f"{door_changes} change{'' if door_changes == 1 else 's'} this episode"
        if doors_changed:
            draw.rectangle((x0 - 4, y - 2, x0 + PANEL_WIDTH - 20, y + 31), fill=DOOR_CHANGED)
            draw.text((x0, y), "doors changed (gold frame)", fill=TEXT, font=small)
            draw.text((x0, y + 15), times, fill=TEXT, font=small)
        else:
            draw.text((x0, y), "doors unchanged on this step", fill=MUTED, font=small)
            draw.text((x0, y + 15), times, fill=MUTED, font=small)
    return np.asarray(canvas)


def record_frames(agent, episodes: int, seed: int, on_frame=None) -> list[np.ndarray]:
    """Play ``episodes`` episodes (seeds ``seed, seed + 1, ...``) and return the composed frames.

    :param on_frame: called with each frame as it is made (the window); returning False stops early.
    """
    env = agent.env_fn(render_mode="rgb_array")
    frames: list[np.ndarray] = []
    try:
        for ep in range(episodes):
            obs, info = env.reset(seed=seed + ep)
            state, start, total, steps = None, True, 0.0, 0
            changed, changes = False, 0
            while True:
                action, values, caption, state = action_values(agent, obs, state, start, env)
                header = f"{agent.name}\nepisode {ep + 1}/{episodes}, step {steps}, return {total:+.2f}"
                frame = compose(env.render(), values, action, caption, header, changed, changes)
                frames.append(frame)
                if on_frame is not None and on_frame(frame) is False:
                    return frames
                obs, reward, terminated, truncated, info = env.step(action)
                start = False
                total += float(reward)
                steps += 1
                changed = bool(info.get("doors_changed", False))
                changes += changed
                if terminated or truncated:
                    outcome = "reached the goal" if info["is_success"] else "time limit"
                    header = f"{agent.name}\nepisode {ep + 1}/{episodes}: {steps} steps"
                    last = compose(env.render(), None, -1, outcome, header, changed, changes)
                    for _ in range(3):  # hold the last frame a moment
                        frames.append(last)
                        if on_frame is not None and on_frame(last) is False:
                            return frames
                    break
    finally:
        env.close()
    return frames


def save_video(frames: list[np.ndarray], path: Path, fps: float) -> Path:
    """GIF (Pillow) or MP4 (imageio-ffmpeg) by file extension, written whole: into a temporary file beside
    ``path``, then renamed (a full disk leaves no half-written video, and no empty file)."""
    import imageio.v3 as iio

    from agents.harness.rundir import write_error, write_whole

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        stack, options = np.stack(frames), {"duration": 1000.0 / fps, "loop": 0}
    elif suffix == ".mp4":
        even = [f[: f.shape[0] // 2 * 2, : f.shape[1] // 2 * 2] for f in frames]  # H.264 wants even sizes
        stack, options = np.stack(even), {"fps": fps, "codec": "libx264", "macro_block_size": 1}
    else:
        raise UserError(f"--save must end in .gif or .mp4, got {path.name!r}")
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")  # imageio picks the format by the extension

    def write(file: Path) -> None:
        try:
            iio.imwrite(file, stack, **options)
        except OSError:
            raise
        except Exception as err:  # imageio's errors for a missing encoder
            raise UserError(f"cannot write {path} ({err}); install imageio-ffmpeg, or save a .gif") from None

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(path, err) from None
    write_whole(path, write, tmp)
    return path


def watch_command(args: argparse.Namespace) -> int:
    from agents.harness.loading import load_agent
    from agents.harness.progress import progress_bar
    from agents.harness.rundir import check_output_file

    if args.fps <= 0 or not math.isfinite(args.fps):
        raise UserError(f"--fps must be a positive number, got {args.fps}")
    save = None
    if args.save is not None:
        if Path(args.save).suffix.lower() not in (".gif", ".mp4"):
            raise UserError(f"--save must end in .gif or .mp4, got {Path(args.save).name!r}")
        save = check_output_file(args.save, getattr(args, "force", False), "--save", "video")
        if save.suffix.lower() == ".mp4":
            try:
                import imageio_ffmpeg  # noqa: F401
            except ImportError:
                raise UserError("--save .mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg); or save a .gif") from None
    pretrained = getattr(args, "pretrained", None)
    agent = load_agent(args.model, args.agent, args.env, args.algo, args.device, pretrained)
    if save is not None:
        bar = progress_bar(None, "recording", unit="frame")
        try:
            frames = record_frames(agent, args.episodes, args.seed, on_frame=lambda f: bar.update(1))
        finally:
            bar.close()
        path = save_video(frames, save, args.fps)
        print(f"outputs written to {path} ({len(frames)} frames)")
        return 0
    from hrm_mazes.rendering import Window

    window = Window(f"hrm-mazes watch: {agent.name} on {agent.env_id}")

    def show(frame: np.ndarray) -> bool:
        window.show(frame, fps=args.fps)
        pygame = window._pygame
        for event in pygame.event.get((pygame.QUIT, pygame.KEYDOWN)):
            if event.type == pygame.QUIT or event.key in (pygame.K_ESCAPE, pygame.K_q):
                return False
        return True

    try:
        record_frames(agent, args.episodes, args.seed, on_frame=show)
    finally:
        window.close()
    print("window closed")
    return 0

"""Record a video of an agent: the oracle by default, or a trained model, with its values beside the maze.

    python examples/record_video.py [--model runs/.../model.zip] [--env RandomDoorMaze-v0] [--out oracle.gif]

Two ways are shown: agents.watch (frames with the agent's Q-values panel, saved as GIF/MP4 with imageio), and
plain Gymnasium (``gymnasium.wrappers.RecordVideo`` needs moviepy; here the frames are written with imageio).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import imageio.v3 as iio
import numpy as np

import hrm_mazes
from agents.harness.loading import load_agent
from agents.watch import record_frames, save_video
from hrm_mazes.oracle import BFSOracle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="RandomDoorMaze-v0", choices=hrm_mazes.ENV_IDS)
    parser.add_argument("--model", help="a model .zip from 'hrm-mazes train' (default: the oracle)")
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--out", default="runs/examples/agent.gif", help=".gif or .mp4")
    args = parser.parse_args(argv)

    # 1. With the value panel (what `hrm-mazes watch --save` does).
    agent = load_agent(args.model, None if args.model else "oracle", None if args.model else args.env, device="cpu")
    path = save_video(record_frames(agent, args.episodes, seed=1_000_000), Path(args.out), fps=6)

    # 2. Plain Gymnasium: render every step of an oracle episode.
    env = gym.make(args.env, render_mode="rgb_array")
    oracle = BFSOracle(env)
    obs, info = env.reset(seed=1_000_000)
    frames = [env.render()]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(oracle(obs, info))
        frames.append(env.render())
        done = terminated or truncated
    env.close()
    plain = path.with_name(path.stem + "_plain.gif")
    iio.imwrite(plain, np.stack(frames), duration=150, loop=0)
    print(f"outputs written to {path} and {plain}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

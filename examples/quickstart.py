"""Quickstart: make an environment, step it with random actions, render a frame and the text view.

    python examples/quickstart.py [--env RandomDoorMaze-v0] [--seed 3] [--out quickstart.png]
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import hrm_mazes  # noqa: F401  (registers FourRooms-Dynamic-v0 and RandomDoorMaze-v0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="FourRooms-Dynamic-v0", choices=hrm_mazes.ENV_IDS)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", default="quickstart.png", help="where to save the rendered frame (PNG)")
    args = parser.parse_args(argv)

    env = gym.make(args.env, render_mode="rgb_array")
    obs, info = env.reset(seed=args.seed)
    print(f"{args.env}: observation {obs.shape} {obs.dtype}, actions {env.action_space}")
    print(f"start at {info['agent_pos']}, goal at {info['goal_pos']}, shortest path {info['shortest_path']} steps")

    rng = np.random.default_rng(args.seed)
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = env.step(int(rng.integers(4)))
        total += float(reward)
        steps += 1
        if info["doors_changed"]:
            print(f"  step {steps}: the doors moved")
        if terminated or truncated:
            break
    outcome = "reached the goal" if info["is_success"] else "ran out of time"
    print(f"random walk {outcome} after {steps} steps, return {total:+.2f}")

    frame = env.render()  # (H, W, 3) uint8
    from PIL import Image

    Image.fromarray(frame).save(args.out)
    env.close()

    text_env = gym.make(args.env, render_mode="ansi")
    text_env.reset(seed=args.seed)
    print(text_env.render())
    text_env.close()
    print(f"outputs written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

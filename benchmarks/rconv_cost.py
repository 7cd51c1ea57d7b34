"""What one dqn-rconv update costs, by network family, on one CPU thread: prints a table.

One update as ``RConvDQN.train`` runs it on a RandomDoorMaze-v0 minibatch: the online network on s (with
gradient) and on s' (double-Q argmax), the target network on s', backward, Adam step. Each variant changes one
option of the preset's network (16 channels, 16 iterations, recall, no pooling); the ratio column is against the
preset in the same run, so it holds on another machine even where the milliseconds do not.

    python benchmarks/rconv_cost.py [--batch 64] [--repeats 40]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces

import hrm_mazes  # noqa: F401  (registers the envs)
from agents.rconv import RConvQNetwork

VARIANTS: dict[str, dict] = {
    "preset (16 ch, 16 it, recall)": {},
    "pool (mean + max context)": {"pool": True},
    "no recall": {"recall": False},
    "8 iterations": {"iterations": 8},
    "24 iterations": {"iterations": 24},
    "32 channels": {"channels": 32},
}


def minibatch(batch: int) -> th.Tensor:
    """``batch`` one-hot RandomDoorMaze-v0 observations of different episodes."""
    env = gym.make("RandomDoorMaze-v0", obs_mode="onehot")
    obs = [env.reset(seed=i)[0] for i in range(batch)]
    return th.as_tensor(np.stack(obs)).float()


def ms_per_update(options: dict, obs: th.Tensor, repeats: int) -> tuple[int, float]:
    space, actions = spaces.Box(0, 1, tuple(obs.shape[1:]), np.uint8), spaces.Discrete(4)
    online, target = RConvQNetwork(space, actions, **options), RConvQNetwork(space, actions, **options)
    optimizer = th.optim.Adam(online.parameters(), lr=5e-4)
    taken = th.zeros(len(obs), 1, dtype=th.long)

    def update() -> None:
        with th.no_grad():
            best = online(obs).argmax(dim=1, keepdim=True)
            y = 0.95 * target(obs).gather(1, best)
        loss = th.nn.functional.smooth_l1_loss(online(obs).gather(1, taken), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(3):
        update()
    started = time.perf_counter()
    for _ in range(repeats):
        update()
    return sum(p.numel() for p in online.parameters()), 1000 * (time.perf_counter() - started) / repeats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="minibatch size (the preset's: 64)")
    parser.add_argument("--repeats", type=int, default=40, help="timed updates per variant")
    args = parser.parse_args(argv)
    th.set_num_threads(1)
    th.manual_seed(0)
    obs = minibatch(args.batch)
    rows = [(name, *ms_per_update(options, obs, args.repeats)) for name, options in VARIANTS.items()]
    reference = rows[0][2]
    print(f"dqn-rconv update cost, batch {args.batch}, 1 torch thread, torch {th.__version__}\n")
    print("| network | parameters | ms / update | vs preset |")
    print("| --- | ---: | ---: | ---: |")
    for name, parameters, ms in rows:
        print(f"| {name} | {parameters:,} | {ms:.1f} | {ms / reference:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

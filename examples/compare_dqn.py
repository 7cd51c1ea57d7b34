"""HRM-DQN against SB3's DQN with the same env-step budget, both evaluated on the same held-out episodes.

    python examples/compare_dqn.py [--steps 20000] [--episodes 200] [--out runs/examples/compare]

Uses the training harness (agents.harness.training.train with a TrainConfig: the same code as ``hrm-mazes
train``) with the bundled small CPU presets, and agents.harness.evaluation for the metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.harness.config import TrainConfig
from agents.harness.evaluation import OraclePlayer, RandomPlayer, evaluate, format_ci
from agents.harness.loading import load_agent
from agents.harness.training import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="FourRooms-Dynamic-v0")
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per agent")
    parser.add_argument("--episodes", type=int, default=200, help="evaluation episodes per agent")
    parser.add_argument("--out", default="runs/examples/compare")
    args = parser.parse_args(argv)

    out = Path(args.out)
    for algo in ("hrm-dqn", "dqn"):
        config = TrainConfig(algo=algo, env_id=args.env, steps=args.steps, config="cpu-small", out=out / algo,
                             force=True, device="cpu", eval_freq=max(1, args.steps // 4),
                             eval_episodes=max(4, args.episodes // 10))  # fmt: skip
        train(config)

    print(f"\n{'agent':8s} {'success':24s} {'mean length':20s} path efficiency")
    trained = [(a, load_agent(out / a / "model.zip", device="cpu")) for a in ("hrm-dqn", "dqn")]
    for name, agent in trained:
        s = evaluate(agent.player, args.env, args.episodes, env_fn=agent.env_fn).summary
        print(f"{name:8s} {format_ci(s['success_rate'], s['success_ci'], True):24s} "
              f"{format_ci(s['mean_length'], s['length_ci']):20s} {format_ci(s['path_efficiency'], s['efficiency_ci'], digits=3)}")  # fmt: skip
    for player in (OraclePlayer(), RandomPlayer()):
        s = evaluate(player, args.env, args.episodes).summary
        print(f"{player.name:8s} {format_ci(s['success_rate'], s['success_ci'], True):24s} "
              f"{format_ci(s['mean_length'], s['length_ci']):20s} {format_ci(s['path_efficiency'], s['efficiency_ci'], digits=3)}")  # fmt: skip
    print(f"outputs written to {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

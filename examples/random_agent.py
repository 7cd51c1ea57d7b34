"""A random agent and the BFS oracle on held-out episodes: the lower and upper bounds of every table.

    python examples/random_agent.py [--env FourRooms-Dynamic-v0] [--episodes 200]
"""

from __future__ import annotations

import argparse

import hrm_mazes
from agents.harness.evaluation import OraclePlayer, RandomPlayer, evaluate, format_ci


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="FourRooms-Dynamic-v0", choices=hrm_mazes.ENV_IDS)
    parser.add_argument("--episodes", type=int, default=200)
    args = parser.parse_args(argv)

    for player in (RandomPlayer(), OraclePlayer()):
        s = evaluate(player, args.env, episodes=args.episodes).summary
        print(
            f"{player.name:7s} success {format_ci(s['success_rate'], s['success_ci'], percent=True):24s} "
            f"length {format_ci(s['mean_length'], s['length_ci']):20s} "
            f"path efficiency {format_ci(s['path_efficiency'], s['efficiency_ci'], digits=3)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

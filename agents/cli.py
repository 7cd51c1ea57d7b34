"""The ``hrm-mazes`` command line."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hrm-mazes", description="Dynamic-door mazes and the HRM-DQN agent.")
    sub = parser.add_subparsers(dest="command", required=True)
    play = sub.add_parser("play", help="play a maze yourself (arrow keys / WASD, R resets, Esc quits)")
    play.add_argument("--env", default="FourRooms-Dynamic-v0", help="environment id")
    play.add_argument("--seed", type=int, default=None, help="seed of the first episode")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "play":
        from hrm_mazes.play import main as play_main

        play_args = ["--env", args.env] + ([] if args.seed is None else ["--seed", str(args.seed)])
        return play_main(play_args)
    return 2


if __name__ == "__main__":
    sys.exit(main())

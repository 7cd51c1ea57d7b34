"""The ``hrm-mazes`` command line (its subcommands are :func:`build_parser`'s; docs/cli.md documents each).

A thin layer over :mod:`agents.harness`: ``train``'s and ``tune``'s options are generated from the fields of
:class:`~agents.harness.config.TrainConfig` and :class:`~agents.harness.config.TuneConfig`, and each handler
calls one harness function. Every subcommand imports torch / SB3 only when it runs, so ``hrm-mazes --help`` and
``hrm-mazes play`` stay fast. A mistake in the input (unknown algorithm or env, missing or corrupt file, existing
run directory) prints one line ``hrm-mazes: error: ...`` and exits with code 2; an interrupted command exits with 130.
``train``, ``tune`` and ``benchmark`` treat SIGTERM (``kill PID``, a scheduler's stop) as Ctrl-C: each run saves its checkpoint
first. That matters for runs started in the background, where a non-interactive shell leaves SIGINT ignored.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from agents.errors import UserError
from agents.harness.algos import ALGO_NAMES, DEVICES, ENV_IDS
from agents.harness.config import TrainConfig, TuneConfig, add_options
from agents.harness.evaluation import PLAYERS
from hrm_mazes.cli_args import OneLineArgumentParser, float_option, int_option
from hrm_mazes.seeds import TEST, TRAIN, split_of

REFERENCES = tuple(PLAYERS)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog="hrm-mazes",
        description="Dynamic-door mazes and the HRM-DQN agent: train, evaluate, benchmark and watch agents.",
        epilog="Run 'hrm-mazes COMMAND --help' for the options of a command. Docs: docs/cli.md",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineArgumentParser)

    train = sub.add_parser("train", help="train an agent (checkpoints, TensorBoard, periodic evaluation, --resume)")
    add_options(train, TrainConfig)  # every option of train is a TrainConfig field

    ev = sub.add_parser("evaluate", help="greedy evaluation on held-out seeds, with path efficiency vs the oracle")
    add_player_options(ev, "evaluate")
    ev.add_argument("--episodes", type=int_option(1), default=1000, help="episodes (default 1000)")
    ev.add_argument("--seed-offset", type=int_option(0), default=None, help=f"first held-out seed (default {TEST.start:,}: the test split)")
    ev.add_argument("--device", choices=DEVICES, default="auto", help="torch device (default auto)")
    ev.add_argument(
        "--segments", type=int_option(1), default=None,
        help="HRM-DQN only: act with this many segments per env step instead of the trained number (how much "
        "the recurrent computation per step matters; the carried state is the model's own)",
    )  # fmt: skip
    ev.add_argument(
        "--epsilon", type=float_option(0.0, 1.0), default=None,
        help="also play the same episodes with this probability of a random action (e.g. 0.01), reported beside greedy: "
        "tells a policy that loops on tied Q-values from one that does not know the way",
    )  # fmt: skip
    ev.add_argument(
        "--json", dest="json_out",
        help="where to write the JSON (default: <run>/evaluation_<N>.json, or <model>.evaluation_<N>.json next to a "
        "bare model; a numeric suffix keeps earlier results)",
    )  # fmt: skip
    ev.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    ev.add_argument("--no-progress", action="store_true", help="no progress bar")

    bench = sub.add_parser("benchmark", help="algorithms x envs x seeds -> table, CSV/JSON and learning curves")
    bench.add_argument("--suite", required=True, help="suite YAML file (see benchmarks/suites/ and docs/benchmarking.md)")
    bench.add_argument("--out", help="output directory (default: the suite's 'out', else runs/benchmark/<suite>)")
    bench.add_argument("--device", choices=DEVICES, default=None, help="override the suite's device")
    bench.add_argument("--resume", action="store_true", help="reuse finished runs and resume interrupted ones in --out")
    bench.add_argument("--force", action="store_true", help="delete an existing output directory and start over")
    bench.add_argument("--report-only", action="store_true", help="train nothing: write the report of the trials "
                       "finished in --out so far (a suite run in parts), naming the missing ones")  # fmt: skip
    bench.add_argument("--no-progress", action="store_true", help="no progress bars")
    bench.add_argument(
        "--workers", type=int_option(1), default=None, metavar="N",
        help="trials trained at once on a local process pool, one torch thread each (default: min(trials, CPU cores)); "
        "1 trains them one after another in this process",
    )  # fmt: skip
    bench.add_argument("--ray", metavar="ADDRESS", help="run the trials as Ray tasks on the cluster at ADDRESS "
                       "('local' starts one on this machine; needs the 'ray' extra); --workers caps the trials in flight")  # fmt: skip

    watch = sub.add_parser("watch", help="watch an agent play, with its Q-values beside the maze")
    add_player_options(watch, "watch")
    watch.add_argument("--episodes", type=int_option(1), default=3, help="episodes to show (default 3)")
    watch.add_argument("--seed", type=int_option(0), default=TEST.start, help=f"seed of the first episode (default {TEST.start:,}: the test split)")
    watch.add_argument("--fps", type=float_option(0.0, low_open=True), default=6.0, help="frames per second (default 6)")
    watch.add_argument("--save", help="write a .gif or .mp4 instead of opening a window")
    watch.add_argument("--force", action="store_true", help="overwrite an existing --save file")
    watch.add_argument("--device", choices=DEVICES, default="auto", help="torch device (default auto)")

    play = sub.add_parser("play", help="play a maze yourself (arrow keys / WASD, R resets, Esc quits)")
    play.add_argument("--env", default="FourRooms-Dynamic-v0", help="environment id")
    play.add_argument("--seed", type=int_option(0), default=None, help="seed of the first episode")

    # Listed for --help; its own options are parsed by hrm_mazes.throughput (main() hands them over).
    sub.add_parser("bench-env", help="environment throughput table vs MiniGrid-FourRooms-v0 (SPEC section 6)")

    demo = sub.add_parser("demo", help="~10 min on a CPU: train HRM-DQN and DQN, compare with oracle and random")
    demo.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    demo.add_argument("--force", action="store_true", help="replace an existing output directory")
    demo.add_argument("--device", choices=DEVICES, default="auto", help="torch device (default auto)")
    demo.add_argument("--episodes", type=int_option(1), default=None, help="evaluation episodes per agent")
    demo.add_argument(
        "--scale", type=float_option(0.0, low_open=True), default=1.0, help="multiply the training budgets (e.g. 0.05 for a smoke run)"
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")

    tune = sub.add_parser("tune", help="hyperparameter search (Optuna, pruned on greedy success) -> best.yaml")
    add_options(tune, TuneConfig)  # every option of tune is a TuneConfig field

    analyze = sub.add_parser("analyze", help="HRM recurrent dynamics: convergence / divergence of z within an env step")
    analyze.add_argument("--model", action="append", required=True,
                         help="an hrm-dqn model .zip or run directory (repeat to compare models side by side)")  # fmt: skip
    analyze.add_argument("--compare", action="append", default=[], metavar="MODEL", help="another model drawn beside --model")
    analyze.add_argument("--label", action="append", help="a model's name in the figures (one per model, in order)")
    analyze.add_argument("--env", choices=ENV_IDS, help="environment (default: the first model's)")
    analyze.add_argument("--episodes", type=int_option(1), default=200, help="held-out episodes per model (default 200)")
    analyze.add_argument("--seed-offset", type=int_option(0), default=None, help=f"first held-out seed (default {TEST.start:,}: the test split)")
    analyze.add_argument("--out", help="output directory (default <run>/analysis, or <model>.analysis beside a bare .zip)")
    analyze.add_argument("--force", action="store_true", help="replace an earlier analysis in --out (only one analyze made)")
    analyze.add_argument("--device", choices=DEVICES, default="auto", help="torch device (default auto)")
    analyze.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


# --- handlers -----------------------------------------------------------------------------------------------


def add_player_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """Who plays, for the commands that play one agent (evaluate, watch): a trained model, a reference player or a
    shipped agent (one of them, required), and the env and algorithm where the model does not say them."""
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--model", help="a model .zip (or a run directory) written by 'train'")
    who.add_argument("--agent", choices=REFERENCES, help=f"{verb} a reference player instead")
    who.add_argument("--pretrained", metavar="ENV_ID", help="the agent shipped for ENV_ID (agents/pretrained/manifest.json)")
    parser.add_argument("--env", choices=ENV_IDS, help="environment (required with --agent; default: the model's)")
    parser.add_argument("--algo", choices=ALGO_NAMES, help="the model's algorithm (a model without run.yaml), or which "
                        "shipped agent --pretrained plays (default: the env's best)")  # fmt: skip


def _held_out_offset(seed_offset: int | None, episodes: int) -> int:
    """The first seed of ``evaluate`` / ``analyze`` (default: the test split's), warning when the episodes are not
    held out and refusing (:class:`UserError`) ``--episodes`` that run out of the seed split they start in."""
    offset = TEST.start if seed_offset is None else seed_offset
    split = split_of(offset)
    if split is TRAIN:
        print(f"warning: seed {offset:,} is one of the {TRAIN.describe()}; these are not held-out episodes", file=sys.stderr)
    if split is not None:
        try:
            split.check(episodes, "--episodes", first=offset - split.start)
        except ValueError as err:
            raise UserError(str(err)) from None
    return offset


def _train(args: argparse.Namespace) -> int:
    from agents.harness.rundir import RunPaths, read_eval_rows
    from agents.harness.training import train

    result = train(TrainConfig.from_args(args))
    if result.interrupted:
        if result.checkpoint_steps is None:
            print(f"interrupted at {result.env_steps} env steps, before the first checkpoint", file=sys.stderr)
        else:
            print(
                f"interrupted at {result.env_steps} env steps; checkpoint at {result.checkpoint_steps} env steps. "
                f"Continue with:\n  hrm-mazes train --resume --out {shlex.quote(str(result.run_dir))}",
                file=sys.stderr,
            )
        return 130
    if result.time_limited:
        print(f"stopped by the time limit at {result.env_steps} env steps", file=sys.stderr)
    rows = read_eval_rows(RunPaths(result.run_dir).evaluations)
    if rows:
        last = rows[-1]
        print(
            f"done: {result.env_steps} env steps, {result.optimizer_steps} optimizer steps in {result.wall_time_s:.0f} s; "
            f"greedy success {100 * last['success_rate']:.1f}% over {int(last['episodes'])} validation episodes"
        )
    print(f"outputs written to {result.run_dir}/ (model.zip, best_model.zip, checkpoints/, evaluations.csv, tb/)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import json
    import time
    from pathlib import Path

    from agents.harness.evaluation import evaluate, format_ci
    from agents.harness.loading import load_agent
    from agents.harness.rundir import check_output_file, free_name, write_atomic

    agent = load_agent(args.model, args.agent, args.env, args.algo, args.device, args.pretrained)
    trained_segments = None
    if args.segments is not None:
        policy = getattr(agent.model, "policy", None)
        if not hasattr(policy, "set_acting_segments"):
            raise UserError(f"--segments applies to hrm-dqn models only; this is {agent.algo or agent.name}")
        trained_segments = policy.config.segments
        policy.set_acting_segments(args.segments)
    if args.json_out is not None:
        out = check_output_file(args.json_out, args.force, "--json", "results file")
    else:  # the model's run directory, or beside a bare model; never over earlier results
        if agent.run_dir is not None:
            default = agent.run_dir / f"evaluation_{args.episodes}.json"
        elif agent.model_path is not None:
            default = agent.model_path.with_name(f"{agent.model_path.stem}.evaluation_{args.episodes}.json")
        else:
            default = Path("runs") / "eval" / f"{agent.name}-{agent.env_id}-{args.episodes}.json"
        out = check_output_file(free_name(default), False, "--json", "results file")
    offset = _held_out_offset(args.seed_offset, args.episodes)
    started = time.perf_counter()
    result = evaluate(
        agent.player,
        agent.env_id,
        args.episodes,
        env_fn=agent.env_fn,
        env_kwargs=agent.encoding["env_kwargs"],
        seed_offset=offset,
        n_parallel=64,
        progress=not args.no_progress,
    )
    s = result.summary
    wall = time.perf_counter() - started
    acting = "" if args.segments is None else f", acting with {args.segments} segments per step (trained with {trained_segments})"
    print(f"{agent.name} on {agent.env_id}: {s['episodes']} held-out episodes (seeds {offset}..{offset + args.episodes - 1}), greedy{acting}")
    print(f"  success rate     {format_ci(s['success_rate'], s['success_ci'], percent=True)}   (95% Wilson)")
    print(f"  mean length      {format_ci(s['mean_length'], s['length_ci'])}   (95% bootstrap; all episodes)")
    print(f"  path efficiency  {format_ci(s['path_efficiency'], s['efficiency_ci'], digits=3)}   "
          f"(oracle steps / agent steps on the {s['efficiency_episodes']} episodes both solved; 95% bootstrap)")
    print(f"  oracle           {100 * s['oracle_success_rate']:.1f}% success, {s['oracle_mean_length']:.2f} steps")
    noisy = None
    if args.epsilon is not None:
        from agents.harness.evaluation import EpsilonPlayer

        noisy = evaluate(EpsilonPlayer(agent.player, args.epsilon), agent.env_id, args.episodes, env_fn=agent.env_fn,
                         env_kwargs=agent.encoding["env_kwargs"], seed_offset=offset, n_parallel=64,
                         progress=not args.no_progress).summary  # fmt: skip
        print(f"  epsilon {args.epsilon:<8g} {format_ci(noisy['success_rate'], noisy['success_ci'], percent=True)}   "
              f"success with a random action w.p. {args.epsilon:g} per step, same episodes (greedy: {100 * s['success_rate']:.1f}%)")
    payload = {
        "agent": agent.name,
        "algo": agent.algo,
        "model": None if args.model is None else str(args.model),
        "pretrained": args.pretrained,
        "env_id": agent.env_id,
        "encoding": agent.encoding,
        "episodes": args.episodes,
        "seed_offset": offset,
        "device": str(agent.model.device) if agent.model is not None else "cpu",
        "wall_time_s": round(wall, 2),
        "summary": s,
        "records": result.records,
    }
    if noisy is not None:
        payload["epsilon"] = {"epsilon": args.epsilon, "summary": noisy}
    if args.segments is not None:
        payload["segments"] = {"acting": args.segments, "trained": trained_segments}
    try:  # checked before the work, but a disk can still fill up
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, json.dumps(payload, indent=1))
    except OSError as err:
        raise UserError(f"cannot write {out} ({err.strerror or err}); the results are printed above") from None
    except UserError as err:
        raise UserError(f"{err}; the results are printed above") from None
    print(f"outputs written to {out}")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from agents.harness.benchmark import run_suite

    try:
        out = run_suite(args.suite, out=args.out, device=args.device, resume=args.resume, force=args.force,
                        progress=not args.no_progress, workers=args.workers, ray_address=args.ray,
                        report_only=args.report_only)  # fmt: skip
    except KeyboardInterrupt:
        again = f"hrm-mazes benchmark --suite {args.suite}{'' if args.out is None else f' --out {args.out}'} --resume"
        print(f"hrm-mazes: interrupted; finished trials are kept, unfinished ones resume from their checkpoints with:\n  {again}",
              file=sys.stderr)  # fmt: skip
        return 130
    print(f"outputs written to {out}/ (results.md, results.csv, results.json, curves/)")
    return 0


def _watch(args: argparse.Namespace) -> int:
    from agents.watch import watch_command

    return watch_command(args)


def _play(args: argparse.Namespace) -> int:
    try:
        from hrm_mazes.play import main as play_main
    except ImportError as err:
        raise UserError(f"manual play is not available ({err})") from None
    play_args = ["--env", args.env] + ([] if args.seed is None else ["--seed", str(args.seed)])
    return int(play_main(play_args) or 0)


def _demo(args: argparse.Namespace) -> int:
    from agents.demo import run_demo

    out = run_demo(out=args.out, force=args.force, device=args.device, episodes=args.episodes, scale=args.scale, progress=not args.no_progress)
    print(f"outputs written to {out}/ (results.md, results.json, curves_*.png, hrm_dqn.gif)")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from agents.harness.tune import tune

    result = tune(TuneConfig.from_args(args))
    best = "no trial completed" if result.best_value is None else f"best objective {result.best_value:.3f}"
    print(f"{result.finished} trials finished, {best}")
    print(f"outputs written to {result.out}/ ({'best.yaml, ' if result.best_yaml else ''}study.csv, summary.md, trials/)")
    if result.interrupted:
        print(f"interrupted; continue the study with:\n  {result.resume_command}", file=sys.stderr)
        return 130
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from agents.analyze import analyze, summary_lines

    offset = _held_out_offset(args.seed_offset, args.episodes)
    result = analyze(args.model + args.compare, args.label, args.env, args.episodes, offset, args.out, args.force,
                     args.device, progress=not args.no_progress)  # fmt: skip
    for model in result.results:
        print("\n".join(summary_lines(model)))
    print(f"outputs written to {result.out}/ (analysis.json, convergence.png, divergence.png)")
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": _train,
    "evaluate": _evaluate,
    "benchmark": _benchmark,
    "watch": _watch,
    "play": _play,
    "demo": _demo,
    "tune": _tune,
    "analyze": _analyze,
}


# Commands whose work is one long in-process loop that checkpoints on KeyboardInterrupt.
STOP_ON_SIGTERM = ("train", "tune", "benchmark")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt(enabled: bool) -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (as Ctrl-C does); the previous handler comes back after."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench-env"]:
        from hrm_mazes.throughput import main as throughput_main

        return throughput_main(argv[1:], prog="hrm-mazes bench-env")
    args = build_parser().parse_args(argv)
    try:
        with _sigterm_as_interrupt(args.command in STOP_ON_SIGTERM):
            return HANDLERS[args.command](args)
    except UserError as err:
        print(f"hrm-mazes: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hrm-mazes: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

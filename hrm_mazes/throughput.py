"""Environment throughput: steps per second of the suite's envs against MiniGrid-FourRooms-v0, in one run.

Rows: MiniGrid-FourRooms-v0 (single env, the reference; ``pip install 'hrm-mazes[bench]'``), each of our envs
via ``gym.make``, a gymnasium ``SyncVectorEnv`` of it, and the batched env (``gym.make_vec(...,
vectorization_mode="vector_entry_point")``) at several batch sizes. Every row takes random actions (drawn
before timing, so action sampling is not measured), includes auto-reset (a manual ``reset()`` for single envs),
warms up first, and reports its ratio to the MiniGrid row. Then bytes per environment and peak memory of the
batched env at the largest batch size. SPEC section 6 targets: single env >= 5x MiniGrid; batched >= 1000x
(FourRooms-Dynamic) and >= 300x (RandomDoorMaze) at the best batch size.

    hrm-mazes bench-env [--seconds 2] [--quick] [--env ID ...] [--markdown out.md]
    python -m hrm_mazes.throughput [same options]     # the same without the agents' dependencies

Every registered env is measured unless ``--env`` names some (the partially observed variants have no SPEC target).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from hrm_mazes import ENV_IDS  # importing the package registers the envs
from hrm_mazes.cli_args import OneLineArgumentParser, float_option, int_option, output_file
from hrm_mazes.files import replace_whole
from hrm_mazes.host import cpu_model

BATCH_SIZES = (1, 64, 1024, 4096, 16384)
QUICK_BATCH_SIZES = (1, 64, 1024)
SYNC_SIZE = 64
TARGETS = {"single": 5.0, "FourRooms-Dynamic-v0": 1000.0, "RandomDoorMaze-v0": 300.0}
MINIGRID_ID = "MiniGrid-FourRooms-v0"
ACTION_POOL = 4096  # random actions drawn up front and cycled
MAX_BATCH = 1 << 24  # the batched env's largest num_envs


@dataclass
class Row:
    name: str
    num_envs: int
    steps_per_s: float
    ratio: float | None = None


def _timed(step: Callable[[int], None], steps_per_call: int, seconds: float, warmup: float) -> float:
    """Env steps per second of ``step(i)`` (one call = ``steps_per_call`` env steps), after a warm-up."""
    i = 0
    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        step(i)
        i += 1
    calls = 0
    start = time.perf_counter()
    while True:
        for _ in range(8):
            step(i)
            i += 1
        calls += 8
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls * steps_per_call / elapsed


def bench_single(env_id: str, seconds: float, warmup: float, seed: int = 0) -> float:
    """A single env via ``gym.make`` (wrappers included), resetting when an episode ends."""
    env = gym.make(env_id)
    env.reset(seed=seed)
    actions = np.random.default_rng(seed).integers(env.action_space.n, size=ACTION_POOL).tolist()

    def step(i: int) -> None:
        _, _, terminated, truncated, _ = env.step(actions[i % ACTION_POOL])
        if terminated or truncated:
            env.reset()

    rate = _timed(step, 1, seconds, warmup)
    env.close()
    return rate


def bench_vector(env_id: str, num_envs: int, mode: str, seconds: float, warmup: float, seed: int = 0) -> float:
    """``gym.make_vec`` in ``mode`` ("sync" or "vector_entry_point"); auto-reset is the vector env's own."""
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    venv.reset(seed=seed)
    pool = max(1, min(64, ACTION_POOL * 16 // num_envs))
    actions = np.random.default_rng(seed).integers(venv.single_action_space.n, size=(pool, num_envs))

    def step(i: int) -> None:
        venv.step(actions[i % pool])

    rate = _timed(step, num_envs, seconds, warmup)
    venv.close()
    return rate


def batched_memory(env_id: str, num_envs: int, steps: int = 100, seed: int = 0) -> tuple[float, int, int, int]:
    """Bytes of per-env state per env, of the returned observation per env, of the pool of episodes drawn
    ahead for auto-resets, and tracemalloc's peak (bytes) over creating the batched env, resetting it and
    ``steps`` steps."""
    tracemalloc.start()
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    obs, _ = venv.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, *_ = venv.step(rng.integers(4, size=num_envs))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    base = venv.unwrapped
    arrays = [*vars(base).values(), *vars(base._door_cache).values()]
    state = sum(v.nbytes for v in arrays if isinstance(v, np.ndarray) and len(v) == num_envs)
    pool = sum(v.nbytes for v in (base._pool or {}).values())
    return state / num_envs, obs.nbytes // num_envs, pool, peak


def machine_line() -> str:
    """CPU model, core count, load average, OS and library versions: what a reader needs to compare runs."""
    model = cpu_model()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"{model}, {os.cpu_count()} logical CPUs, load average {load}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, gymnasium {gym.__version__}"
    )


def _ratio_text(ratio: float | None) -> str:
    return "reference" if ratio is None else f"{ratio:,.1f}x"


def render_table(rows: Sequence[Row], markdown: bool) -> str:
    header = ("env", "N", "steps/s", "vs MiniGrid")
    lines = [(r.name, str(r.num_envs), f"{r.steps_per_s:,.0f}", _ratio_text(r.ratio)) for r in rows]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|"]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [fmt.format(*c) for c in lines])


def parse_args(argv: Sequence[str] | None, prog: str | None = None) -> argparse.Namespace:
    """The command line; a bad one prints a one-line ``<prog>: error: ...`` and exits with status 2."""
    parser = OneLineArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float_option(0.0, 3600.0, low_open=True), default=2.0, help="timed seconds per row (default 2)"
    )
    parser.add_argument("--quick", action="store_true", help="0.3 s per row, N in 1/64/1024, memory at 1024")
    parser.add_argument(
        "--sizes", type=int_option(1, MAX_BATCH), nargs="+", default=None, help="batch sizes of the batched env"
    )
    parser.add_argument(
        "--env", nargs="+", choices=ENV_IDS, default=None, metavar="ID",
        help=f"the envs to measure (default: all, {', '.join(ENV_IDS)})",
    )  # fmt: skip
    parser.add_argument(
        "--markdown", type=output_file, default=None, help="also write the table (markdown) to this file"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Print the throughput table; progress is one line per row (no carriage returns, so logs stay readable)."""
    args = parse_args(argv, prog)
    seconds = 0.3 if args.quick else args.seconds
    sizes = tuple(args.sizes) if args.sizes else (QUICK_BATCH_SIZES if args.quick else BATCH_SIZES)
    warmup = min(1.0, max(0.2, seconds / 4))
    env_ids = tuple(dict.fromkeys(args.env)) if args.env else tuple(ENV_IDS)

    jobs: list[tuple[str, int, Callable[[], float]]] = []
    try:
        import minigrid  # noqa: F401  (registers MiniGrid-*)

        jobs.append((f"{MINIGRID_ID} (gym.make)", 1, lambda: bench_single(MINIGRID_ID, seconds, warmup)))
    except ImportError:
        print(
            "minigrid is not installed (pip install 'hrm-mazes[bench]'): no reference row, no ratios", file=sys.stderr
        )
    for env_id in env_ids:
        jobs.append((f"{env_id} (gym.make)", 1, lambda e=env_id: bench_single(e, seconds, warmup)))
        jobs.append(
            (
                f"{env_id} (SyncVectorEnv)",
                SYNC_SIZE,
                lambda e=env_id: bench_vector(e, SYNC_SIZE, "sync", seconds, warmup),
            )
        )
        for n in sizes:
            jobs.append(
                (
                    f"{env_id} (batched)",
                    n,
                    lambda e=env_id, n=n: bench_vector(e, n, "vector_entry_point", seconds, warmup),
                )
            )

    print(f"Machine: {machine_line()}")
    print(
        f"Command: {prog or 'python -m hrm_mazes.throughput'} {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip()
    )
    rows: list[Row] = []
    reference = None
    for k, (name, n, job) in enumerate(jobs, 1):
        print(f"[{k}/{len(jobs)}] {name}, N={n} ...", end=" ", flush=True)
        rate = job()
        if name.startswith(MINIGRID_ID):
            reference = rate
        rows.append(
            Row(name, n, rate, None if name.startswith(MINIGRID_ID) else (rate / reference if reference else None))
        )
        print(f"{rate:,.0f} steps/s", flush=True)

    print()
    print(render_table(rows, markdown=False))

    mem_n = max(sizes)
    print(f"\nBatched env memory at N = {mem_n} (tracemalloc peak over make_vec + reset + 100 steps):")
    memory_lines = []
    for env_id in env_ids:
        per_env, obs_per_env, pool, peak = batched_memory(env_id, mem_n)
        memory_lines.append(
            f"{env_id}: {per_env:,.0f} bytes of state per env + {obs_per_env} bytes per returned observation, "
            f"auto-reset pool {pool / 2**20:,.1f} MiB; peak {peak / 2**20:,.1f} MiB"
        )
        print("  " + memory_lines[-1])

    if reference:
        print("\nTargets (SPEC section 6):")
        for env_id in env_ids:
            single = next(r for r in rows if r.name == f"{env_id} (gym.make)")
            best = max((r for r in rows if r.name == f"{env_id} (batched)"), key=lambda r: r.steps_per_s)
            target = TARGETS.get(env_id)
            met = single_met = "no SPEC target"  # the SPEC's targets name the two full-view envs
            if target is not None:
                met = f">= {target:.0f}x: {'met' if best.ratio >= target else 'MISSED'}"
                single_met = f">= {TARGETS['single']:.0f}x: {'met' if single.ratio >= TARGETS['single'] else 'MISSED'}"
            print(
                f"  {env_id}: single {single.ratio:,.1f}x ({single_met}); batched best {best.ratio:,.0f}x at "
                f"N = {best.num_envs} ({met})"
            )

    if args.markdown:
        text = render_table(rows, markdown=True) + "\n\n" + "\n".join(f"- {line}" for line in memory_lines) + "\n"
        try:
            args.markdown.parent.mkdir(parents=True, exist_ok=True)
            replace_whole(args.markdown, lambda tmp: tmp.write_text(text))
        except OSError as err:  # checked before the benchmark, but a disk can still fill up
            name = prog or os.path.basename(sys.argv[0])
            print(f"{name}: error: cannot write {args.markdown} ({err.strerror or err}); the table is printed above", file=sys.stderr)
            return 2
        print(f"\nMarkdown table written to {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(prog="python -m hrm_mazes.throughput"))

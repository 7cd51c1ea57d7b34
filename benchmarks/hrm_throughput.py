"""HRM-DQN throughput at the paper's size: acting (env steps/s) and training (optimizer steps/s).

For each device (CPU, and CUDA when present) and with / without ``torch.compile`` it times, on a batch of
token grids from FourRooms-Dynamic-v0:

* **act**: one environment step for ``--batch`` envs = ``segments`` forward segments without gradient;
* **train**: one minibatch = the TD target (target net, ``segments`` segments) + ``segments`` optimizer steps;
* **collect+train**: act followed by train, i.e. one collection step of the paper's loop.

Achieved FLOP/s come from an analytic count of the matmul and attention FLOPs and are reported as a fraction
of a plain square matmul measured in the same run (fp32 on CPU, bf16 on CUDA). Prints a markdown table.

    python benchmarks/hrm_throughput.py                 # quick: 1 timed iteration per row (slow on CPU)
    python benchmarks/hrm_throughput.py --iters 5 --devices cuda
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import DummyVecEnv

import hrm_mazes  # noqa: F401
from agents.hrm_dqn import HRMDQN, HRMConfig


def block_flops(cfg: HRMConfig, batch: int) -> float:
    """Forward FLOPs of one transformer block over ``batch`` sequences (matmuls + attention scores/values)."""
    d, s, inner = cfg.d_model, cfg.seq_len, cfg.mlp_width
    weights = d * 3 * d + d * d + d * 2 * inner + inner * d
    return 2.0 * batch * s * weights + 4.0 * batch * s * s * d


def flop_counts(cfg: HRMConfig, batch: int) -> dict[str, float]:
    per_block = block_flops(cfg, batch)
    blocks_per_segment = cfg.H_cycles * cfg.L_cycles * cfg.L_layers + cfg.H_cycles * cfg.H_layers
    act = cfg.segments * blocks_per_segment * per_block
    # One optimizer step: a full segment forward, then backward (~2x forward) through the final L and H steps.
    optimizer_step = (blocks_per_segment + 2 * (cfg.L_layers + cfg.H_layers)) * per_block
    train = act + cfg.segments * optimizer_step  # target net (no grad) + segments optimizer steps
    return {"act": act, "train": train, "collect+train": act + train}


def sync(device: str) -> None:
    if device == "cuda":
        th.cuda.synchronize()


def matmul_flops_per_s(device: str, iters: int) -> float:
    n, dtype = (8192, th.bfloat16) if device == "cuda" else (2048, th.float32)
    a = th.randn(n, n, device=device, dtype=dtype)
    b = th.randn(n, n, device=device, dtype=dtype)
    a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(max(iters, 3)):
        a @ b
    sync(device)
    return 2.0 * n**3 * max(iters, 3) / (time.perf_counter() - start)


def make_model(device: str, compiled: bool, batch: int) -> tuple[HRMDQN, th.Tensor, th.Tensor]:
    env = DummyVecEnv([lambda: gym.make("FourRooms-Dynamic-v0")])
    model = HRMDQN("HRMQPolicy", env, buffer_size=4 * batch, batch_size=batch, device=device, seed=0,
                   policy_kwargs=dict(compile=compiled))
    model.set_logger(Logger(folder=None, output_formats=[]))
    single = gym.make("FourRooms-Dynamic-v0")
    obs = np.stack([single.reset(seed=i)[0] for i in range(batch)])
    rng = np.random.default_rng(0)
    carries = rng.normal(size=(batch, 2, model.policy.config.d_model)).astype(np.float32)
    for i in range(batch):  # a buffer of real observations with random carries
        model.replay_buffer.add(obs[i : i + 1], obs[i : i + 1], rng.integers(4, size=1), np.zeros(1),
                                np.zeros(1, bool), [{}], carry=carries[i : i + 1], next_carry=carries[i : i + 1])
    return model, th.as_tensor(obs, device=device), th.as_tensor(carries, device=device)


def fmt(x: float) -> str:
    """Thousands separators for large numbers, three significant digits for small ones."""
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def time_call(fn, device: str, iters: int) -> float:
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def bench(device: str, compiled: bool, batch: int, iters: int, matmul: float) -> list[str]:
    model, obs, carries = make_model(device, compiled, batch)
    cfg = model.policy.config
    flops = flop_counts(cfg, batch)

    def act():
        model.policy.act(obs, carries)

    def train():
        model.train(gradient_steps=1, batch_size=batch)

    if compiled:
        act(), train()  # compilation happens on the first call with these shapes
    else:
        model.policy.act(obs[:2], carries[:2])  # eager: a small warm-up is enough (one-time imports, allocator)
    t_act = time_call(act, device, iters)
    t_train = time_call(train, device, iters)
    rows = []
    label = f"{device} {'compiled' if compiled else 'eager'}"
    for name, seconds in (("act", t_act), ("train", t_train), ("collect+train", t_act + t_train)):
        env_steps = fmt(batch / seconds) if name != "train" else "-"
        opt_steps = fmt(cfg.segments / seconds) if name != "act" else "-"
        achieved = flops[name] / seconds
        rows.append(f"| {label} | {name} | {seconds * 1e3:,.0f} | {env_steps} | {opt_steps} | "
                    f"{fmt(achieved / 1e9)} | {fmt(matmul / 1e9)} | {achieved / matmul:.0%} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256, help="envs per act step and minibatch size (paper: 256)")
    parser.add_argument("--iters", type=int, default=1, help="timed iterations per row (after one warm-up)")
    parser.add_argument("--devices", default="cpu,cuda", help="comma-separated devices")
    parser.add_argument("--compile", default="off,on", help="'off', 'on' or 'off,on'")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--output", default=None, help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    if args.threads:
        th.set_num_threads(args.threads)
    lines: list[str] = []

    def emit(line: str) -> None:  # rows appear as they are measured (a CPU row takes minutes)
        print(line, flush=True)
        lines.append(line)

    emit(f"# HRM-DQN throughput, paper size (d=64, 2 heads, 4+4 blocks, 2x2 cycles, 8 segments), batch {args.batch}")
    emit(f"# torch {th.__version__}, {platform.processor() or platform.machine()}, {th.get_num_threads()} CPU threads"
          + (f", {th.cuda.get_device_name()}" if th.cuda.is_available() else ""))
    emit("| device | phase | ms / call | env steps/s | optimizer steps/s | achieved GFLOP/s | matmul GFLOP/s "
          "| fraction of matmul |")
    emit("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for device in [d.strip() for d in args.devices.split(",") if d.strip()]:
        if device == "cuda" and not th.cuda.is_available():
            emit("| cuda: not available | - | - | - | - | - | - | - |")
            continue
        matmul = matmul_flops_per_s(device, 3)
        for mode in [m.strip() for m in args.compile.split(",")]:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rows = bench(device, mode == "on", args.batch, args.iters, matmul)
            except Exception as exc:  # e.g. torch.compile without a working C++ toolchain
                rows = [f"| {device} {'compiled' if mode == 'on' else 'eager'} | failed: {type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:80]} | - | - | - | - | - | - |"]
            for row in rows:
                emit(row)
    if args.output:
        with open(args.output, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"table written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

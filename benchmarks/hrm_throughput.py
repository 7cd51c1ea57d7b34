"""HRM-DQN: what one optimizer step of the real training loop costs next to the network's own work.

SPEC section 6: one HRM-DQN optimizer step costs <= 1.25x the network's own forward + backward + target pass.
For a model size, a device, a minibatch size B and N parallel envs, each row measures, per optimizer step:

* **(a) network**: one minibatch's network work on tensors already on the device: the TD-target pass (the
  target net, ``segments`` segments from the stored next carry, no gradient; plus the online net's pass with
  ``double_q``), then ``segments`` x (segment forward with gradient, backward, optimizer step); divided by
  ``segments``. It runs ``HRMDQN.td_target`` and the same segment / loss calls as ``HRMDQN.train``.
* **acting**: the online net's forward (``segments`` segments, no gradient) on the N observations of one
  collection step, divided by the optimizer steps of a collection step. The algorithm runs it on every env at
  every step (SPEC section 4); it is part of (b), listed apart, and not part of (a). "acting / (a), FLOPs" is
  its analytic share: N / B x 3/8 at the paper's size, N / B x 1/4 at the CPU preset.
* **(b) learn**: ``HRMDQN.learn()`` on the harness's training env (``VecMonitor`` over
  ``hrm_mazes.sb3.make_sb3_vec_env``, tokens, N envs) after ``learning_starts``: time / optimizer steps. It
  holds everything: the acting forward, the env step, the replay add and sample, the target, the updates,
  the EMA, the schedules, SB3's bookkeeping and logging.
* **(b)/((a)+acting)**: the cost beyond all of the network's work, the figure the SPEC's 1.25 applies to;
  and **(b)/(a)**. The acting forward counts as the network's own work because it cannot be shared with the
  training passes (other inputs: the current observations, not replayed ones; other weights than the
  target's) and the SPEC requires it; (b)/(a) would hold the 1.25 against N / B rather than against the
  implementation, and exceed it at the paper's N = B = 256 with no overhead at all (acting = 0.375 (a)).

Rounds alternate (a), acting and (b), so that load from other processes hits them alike; a figure is the
median over rounds, a ratio the median of the per-round ratios. Wall time and process CPU time both: on a
machine shared with other jobs the CPU time is the steadier of the two (use one torch thread, the default).

    python benchmarks/hrm_throughput.py                                   # CPU preset rows + a tiny paper-size row
    python benchmarks/hrm_throughput.py --sizes cpu --batch 64,128 --n-envs 8,32 --seconds 20
    python benchmarks/hrm_throughput.py --devices cuda --sizes paper      # paper size: B = N = 256 on CUDA
    python benchmarks/hrm_throughput.py --flops --batch 256 --iters 5     # achieved FLOP/s of act / train

``--flops`` prints the older table instead: for the paper's model with / without ``torch.compile``, the time
of ``act`` (one env step of B envs), ``train`` (one minibatch: target + ``segments`` optimizer steps) and both,
with achieved FLOP/s against a plain matmul of the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import DummyVecEnv

import hrm_mazes  # noqa: F401
from agents.harness.hyperparams import apply_overrides, load_preset
from agents.harness.models import build_model, make_train_env
from agents.hrm_dqn import HRMDQN, HRMConfig
from hrm_mazes.host import cpu_model

SIZES = {"cpu": "cpu-small", "paper": "paper"}  # model size -> the agents/configs preset it comes from
BUFFER_SIZE = 100_000  # smaller than the paper's 1M (the buffer's size does not change the per-step work)
PAPER_CPU_BATCH = 2  # the paper's model on a CPU: minutes per step at B = 256, so one tiny row only


def sync(device: str) -> None:
    if device == "cuda":
        th.cuda.synchronize()


def fmt(x: float) -> str:
    """Thousands separators for large numbers, three significant digits for small ones."""
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


# --- the ratio table ------------------------------------------------------------------------------------------


def make_learner(size: str, device: str, batch: int, n_envs: int, env_id: str, seed: int) -> HRMDQN:
    """The model the harness would train (preset ``size``), with minibatch ``batch`` on ``n_envs`` envs."""
    hyperparams, _ = load_preset("hrm-dqn", env_id, SIZES[size])
    hyperparams = apply_overrides(hyperparams, dict(
        batch_size=batch, buffer_size=BUFFER_SIZE, learning_starts=4 * max(batch, n_envs)))
    venv = make_train_env(env_id, hyperparams, n_envs, seed)
    model = build_model("hrm-dqn", hyperparams, venv, seed, device)
    model.learn(model.learning_starts + n_envs)  # fill the buffer up to learning_starts, then train once
    return model


def network_step(model: HRMDQN) -> Callable[[], None]:
    """(a): the network work of one minibatch (a sample from the model's buffer, already on the device)."""
    policy, net = model.policy, model.q_net
    optimizer, segments = policy.optimizer, policy.config.segments
    data = model.replay_buffer.sample(model.batch_size)
    actions = data.actions.long().reshape(-1, 1)
    carry = data.carries if data.carries is not None else net.initial_carry(model.batch_size)

    def run() -> None:
        target_q = model.td_target(data)
        z_H, z_L = net.broadcast(carry)
        for _ in range(segments):
            with policy.autocast():
                z_H, z_L = net.segment(z_H, z_L, net.embed_tokens(data.observations))
                q = net.q_values(z_H, data.observations)
            loss = model.td_loss(q.float().gather(1, actions), target_q)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if model.max_grad_norm is not None:
                th.nn.utils.clip_grad_norm_(net.parameters(), model.max_grad_norm)
            optimizer.step()
            z_H, z_L = z_H.detach(), z_L.detach()

    return run


def acting_step(model: HRMDQN) -> Callable[[], None]:
    """The acting forward of one collection step: the online net on the N current observations and carries."""
    obs = th.as_tensor(model._last_obs, device=model.device)
    carry = th.as_tensor(np.asarray(model._last_carry), device=model.device)
    return lambda: model.policy.act(obs, carry)


def timed(fn: Callable[[], None], device: str) -> tuple[float, float]:
    """Wall and process CPU seconds of ``fn()``."""
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(model: HRMDQN, device: str, seconds: float, rounds: int) -> dict[str, float]:
    """Per optimizer step: medians of (a), acting, (b) in milliseconds and medians of the per-round ratios."""
    n_envs, segments = model.n_envs, model.policy.config.segments
    updates_per_collection = segments * model.gradient_steps
    network, act = network_step(model), acting_step(model)

    def learn(steps: int) -> int:
        before = model._n_updates
        model.learn(steps * n_envs, reset_num_timesteps=False)
        return model._n_updates - before

    def one_round(steps: int) -> dict[str, tuple[float, float]]:
        a = timed(lambda: [network() for _ in range(steps)], device)
        acting = timed(lambda: [act() for _ in range(steps)], device)
        updates = []
        b = timed(lambda: updates.append(learn(steps)), device)
        per = steps * updates_per_collection
        return {"a": (a[0] / per, a[1] / per), "act": (acting[0] / per, acting[1] / per),
                "b": (b[0] / updates[0], b[1] / updates[0])}

    first = one_round(1)  # warm-up, and the time of one round of one step
    round_seconds = sum(wall for wall, _ in first.values()) * updates_per_collection
    steps = max(1, int(seconds / rounds / round_seconds))
    results = [one_round(steps) for _ in range(rounds)]

    def median(key: str, clock: int) -> float:
        return statistics.median(r[key][clock] for r in results)

    def ratio(clock: int, with_acting: bool) -> float:
        return statistics.median(
            r["b"][clock] / (r["a"][clock] + (r["act"][clock] if with_acting else 0.0)) for r in results)

    return {"a": median("a", 0) * 1e3, "act": median("act", 0) * 1e3, "b": median("b", 0) * 1e3,
            "ratio": ratio(0, False), "ratio_net": ratio(0, True),
            "cpu_ratio": ratio(1, False), "cpu_ratio_net": ratio(1, True), "steps": steps * updates_per_collection}


def ratio_rows(args: argparse.Namespace, emit: Callable[[str], None]) -> None:
    emit("| device | model | batch | n_envs | (a) network ms | acting ms | acting / (a), FLOPs | (b) learn ms "
         "| (b)/((a)+acting) | (b)/(a) | CPU time: (b)/((a)+acting) | CPU time: (b)/(a) |")
    emit("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for device in args.devices:
        if device == "cuda" and not th.cuda.is_available():
            emit("| cuda: not available | - | - | - | - | - | - | - | - | - | - |")
            continue
        for size in args.sizes:
            if size == "paper":
                grid = [(b, n) for b in args.paper_batch for n in args.paper_n_envs] if device == "cuda" else \
                    [(PAPER_CPU_BATCH, PAPER_CPU_BATCH)]
            else:
                grid = [(b, n) for b in args.batch for n in args.n_envs]
            for batch, n_envs in grid:
                print(f"measuring {device} {size} batch {batch} n_envs {n_envs} ...", file=sys.stderr, flush=True)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = make_learner(size, device, batch, n_envs, args.env, args.seed)
                    r = measure(model, device, args.seconds, args.rounds)
                model.env.close()
                emit(f"| {device} | {size} | {batch} | {n_envs} | {r['a']:.3g} | {r['act']:.3g} "
                     f"| {acting_share(model.policy.config, batch, n_envs):.2f} | {r['b']:.3g} | {r['ratio_net']:.2f} "
                     f"| {r['ratio']:.2f} | {r['cpu_ratio_net']:.2f} | {r['cpu_ratio']:.2f} |")


# --- the FLOP table (--flops) ---------------------------------------------------------------------------------


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


def acting_share(cfg: HRMConfig, batch: int, n_envs: int) -> float:
    """FLOPs of the acting forward on ``n_envs`` envs over those of (a) on a minibatch of ``batch``."""
    return flop_counts(cfg, n_envs)["act"] / flop_counts(cfg, batch)["train"]


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


def make_flops_model(device: str, compiled: bool, batch: int) -> tuple[HRMDQN, th.Tensor, th.Tensor]:
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


def time_call(fn, device: str, iters: int) -> float:
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def flops_bench(device: str, compiled: bool, batch: int, iters: int, matmul: float) -> list[str]:
    model, obs, carries = make_flops_model(device, compiled, batch)
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


def flops_rows(args: argparse.Namespace, emit: Callable[[str], None]) -> None:
    emit("| device | phase | ms / call | env steps/s | optimizer steps/s | achieved GFLOP/s | matmul GFLOP/s "
         "| fraction of matmul |")
    emit("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for device in args.devices:
        if device == "cuda" and not th.cuda.is_available():
            emit("| cuda: not available | - | - | - | - | - | - | - |")
            continue
        matmul = matmul_flops_per_s(device, 3)
        for batch in args.batch:
            for mode in args.compile:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        rows = flops_bench(device, mode == "on", batch, args.iters, matmul)
                except Exception as exc:  # e.g. torch.compile without a working C++ toolchain
                    rows = [f"| {device} {'compiled' if mode == 'on' else 'eager'} | failed: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:80]} | - | - | - | - | - | - |"]
                for row in rows:
                    emit(row)


# --- command line ---------------------------------------------------------------------------------------------


def int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def name_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=name_list, default=["cpu", "paper"],
                        help="model sizes: 'cpu' (agents/configs/hrm-dqn-cpu-small.yaml) and / or 'paper' "
                             f"(hrm-dqn.yaml; on a CPU one row at batch = n_envs = {PAPER_CPU_BATCH} only)")
    parser.add_argument("--batch", type=int_list, default=None,
                        help="minibatch sizes of the cpu-size rows (default 16,64,128; with --flops: 256)")
    parser.add_argument("--n-envs", type=int_list, default=[8, 32], help="parallel envs of the cpu-size rows")
    parser.add_argument("--paper-batch", type=int_list, default=[256], help="minibatch sizes, paper size on CUDA")
    parser.add_argument("--paper-n-envs", type=int_list, default=[256], help="parallel envs, paper size on CUDA")
    parser.add_argument("--seconds", type=float, default=6.0, help="timed seconds per row (about; all rounds)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of (a), acting and (b) per row")
    parser.add_argument("--env", default="FourRooms-Dynamic-v0", help="env id")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--devices", type=name_list, default=None, help="comma-separated (default: cpu, and cuda "
                        "when available)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--flops", action="store_true", help="print the FLOP table of the paper's model instead")
    parser.add_argument("--iters", type=int, default=1, help="--flops: timed iterations per row (after a warm-up)")
    parser.add_argument("--compile", type=name_list, default=["off", "on"], help="--flops: 'off', 'on' or 'off,on'")
    parser.add_argument("--output", default=None, help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    if args.batch is None:
        args.batch = [256] if args.flops else [16, 64, 128]
    if args.devices is None:
        args.devices = ["cpu", "cuda"] if args.flops or th.cuda.is_available() else ["cpu"]
    th.set_num_threads(args.threads)
    lines: list[str] = []

    def emit(line: str) -> None:  # rows appear as they are measured
        print(line, flush=True)
        lines.append(line)

    machine = (f"# torch {th.__version__}, {cpu_model()}, {th.get_num_threads()} torch "
               f"thread(s)" + (f", {th.cuda.get_device_name()}" if th.cuda.is_available() else ""))
    if args.flops:
        emit(f"# HRM-DQN FLOP throughput, paper size (d=64, 2 heads, 4+4 blocks, 2x2 cycles, 8 segments), "
             f"batch {','.join(map(str, args.batch))}")
        emit(machine)
        flops_rows(args, emit)
    else:
        emit(f"# HRM-DQN optimizer step: (b) HRMDQN.learn() vs (a) the network alone, ms per optimizer step, "
             f"{args.env}, {args.rounds} rounds of ~{args.seconds / args.rounds:.3g} s")
        emit(machine)
        ratio_rows(args, emit)
    if args.output:
        with open(args.output, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"table written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

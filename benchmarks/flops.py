"""HRM-DQN's FLOPs, counted from ``HRMConfig``: per sample, per optimizer step, per run; and the device time a
paper-size run implies (docs/cuda.md).

The count (multiply-adds x 2; a sample is one token grid of ``S = 1 + rows * cols`` tokens, width ``d``, SwiGLU
inner width ``m``, ``A`` actions):

* embedding: a table lookup (and a scale), no multiply-adds;
* one block: QKV ``S d 3d`` + output projection ``S d d`` + attention scores ``S S d`` + weighted sum ``S S d``
  (over all heads) + SwiGLU ``S d 2m + S m d``; RMSNorm, RoPE, softmax, SiLU and the residual adds are O(S d)
  element-wise work and are left out (as ``torch.utils.flop_counter`` leaves them out);
* one segment: ``H_cycles * L_cycles`` L passes and ``H_cycles`` H passes of ``L_layers`` / ``H_layers`` blocks,
  all without gradient but the last L and H pass; the Q head: ``d A`` at the readout token;
* backward ~ 2x forward, for the part with gradient only (the last L and H pass and the head);
* one optimizer step of ``HRMDQN.train`` on a minibatch of ``B``: a full segment forward + backward, plus a
  ``1 / segments`` share of the TD target (the target net, ``segments`` segments, no gradient; the online net too
  with ``double_q``), plus a share of acting: the online net runs ``segments`` segments on all ``N`` envs at every
  collection step, and ``train_freq`` collection steps feed ``gradient_steps * segments`` optimizer steps.

The forward count is checked against ``torch.utils.flop_counter.FlopCounterMode`` on the real ``HRM.forward``,
and the optimizer-step count (without acting) on the real ``HRMDQN.train``; attention runs with the math SDPA
backend there, since the counter does not see the CPU flash kernel. Then, for the ``cpu`` and the paper preset
(``agents/configs/hrm-dqn-cpu.yaml``, ``hrm-dqn.yaml``): the table per optimizer step, the total of a run and
the device time at an assumed sustained throughput, and the CPU's measured GFLOP/s on one forward.

    python benchmarks/flops.py                      # both presets, both envs, ~10 s of CPU timing
    python benchmarks/flops.py --cpu-seconds 0      # no timing
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import platform
import time

import gymnasium as gym

from agents.harness.hyperparams import load_preset
from agents.hrm_dqn.model import HRMConfig
from hrm_mazes import ENV_IDS
from hrm_mazes.registry import base_env_id

# The full-view envs (a partial variant has its base's grid and preset entry, so the same count).
ENVS = tuple(env_id for env_id in ENV_IDS if base_env_id(env_id) is None)
ASSUMED_TFLOPS = (50.0, 100.0, 200.0)  # sustained bf16 throughput of an H200-class GPU, assumed
MAX_EPISODE_STEPS = 80


# --- the analytic count -------------------------------------------------------------------------------------


def block_macs(cfg: HRMConfig) -> dict[str, int]:
    """Multiply-adds of one transformer block's forward on one sample, by part."""
    s, d, m = cfg.seq_len, cfg.d_model, cfg.mlp_width
    return {"qkv": s * d * 3 * d, "out": s * d * d, "scores": s * s * d, "weighted_sum": s * s * d, "mlp": 3 * s * d * m}


def segment_macs(cfg: HRMConfig) -> dict[str, int]:
    """Multiply-adds of one segment on one sample: ``no_grad`` and ``grad`` parts, and the Q ``head``."""
    block = sum(block_macs(cfg).values())
    l_pass, h_pass = cfg.L_layers * block, cfg.H_layers * block
    l_steps, h_steps = cfg.H_cycles * cfg.L_cycles, cfg.H_cycles
    head = cfg.d_model * cfg.num_actions * (2 if cfg.readout == "neighbours" else 1)  # + a value at 4 cells
    return {"no_grad": (l_steps - 1) * l_pass + (h_steps - 1) * h_pass, "grad": l_pass + h_pass, "head": head}


def forward_flops(cfg: HRMConfig, segments: int | None = None) -> int:
    """FLOPs of ``HRM.forward`` on one sample: ``segments`` segments (default ``cfg.segments``), one Q head."""
    seg = segment_macs(cfg)
    return 2 * ((segments or cfg.segments) * (seg["no_grad"] + seg["grad"]) + seg["head"])


@dataclasses.dataclass(frozen=True)
class Setup:
    """What sets the work of a training run: the model and the DQN loop's sizes.

    :param n_envs: parallel envs; each collection step runs the online net on all of them.
    :param train_freq: collection steps (of all ``n_envs``) between two ``train`` calls.
    :param gradient_steps: minibatches per ``train`` call (each gives ``segments`` optimizer steps).
    :param env_steps: the run's length in env steps (``n_timesteps``).
    """

    name: str
    env_id: str
    cfg: HRMConfig
    batch_size: int
    n_envs: int
    gradient_steps: int = 1
    train_freq: int = 1
    double_q: bool = False
    env_steps: int = 0
    eval_freq: int = 0
    eval_episodes: int = 0

    @property
    def optimizer_steps(self) -> int:
        return self.env_steps // (self.n_envs * self.train_freq) * self.gradient_steps * self.cfg.segments


def step_flops(setup: Setup) -> dict[str, float]:
    """FLOPs per optimizer step, by part (``train`` = the network work of ``HRMDQN.train``, ``total`` + acting)."""
    cfg, b = setup.cfg, setup.batch_size
    seg = segment_macs(cfg)
    full = forward_flops(cfg)
    parts = {
        "segment forward": 2.0 * b * (seg["no_grad"] + seg["grad"] + seg["head"]),
        "backward": 2.0 * 2.0 * b * (seg["grad"] + seg["head"]),
        "TD target": b * full * (2 if setup.double_q else 1) / cfg.segments,
    }
    parts["train"] = sum(parts.values())
    parts["acting"] = setup.n_envs * setup.train_freq * full / (setup.gradient_steps * cfg.segments)
    parts["total"] = parts["train"] + parts["acting"]
    return parts


def eval_flops_bound(setup: Setup) -> float:
    """An upper bound of the periodic greedy evaluations' FLOPs: every episode runs to the time limit."""
    evaluations = setup.env_steps // setup.eval_freq if setup.eval_freq else 0
    return evaluations * setup.eval_episodes * MAX_EPISODE_STEPS * forward_flops(setup.cfg)


# --- the presets ----------------------------------------------------------------------------------------------


def preset(name: str, file: str, env_id: str) -> Setup:
    """The :class:`Setup` of ``agents/configs/<file>`` for ``env_id``, read as ``train`` reads it."""
    hp, _ = load_preset("hrm-dqn", env_id, file.removesuffix(".yaml"))
    fields = {f.name for f in dataclasses.fields(HRMConfig)}
    grid = gym.make(env_id).observation_space.shape
    cfg = HRMConfig(grid_shape=grid, **{k: v for k, v in hp.get("policy_kwargs", {}).items() if k in fields})
    if not isinstance(hp.get("train_freq", 1), int):
        raise ValueError(f"{file}: train_freq must be an int (collection steps) for this count, got {hp['train_freq']!r}")
    return Setup(name, env_id, cfg, hp["batch_size"], hp["n_envs"], hp.get("gradient_steps", 1), hp.get("train_freq", 1),
                 bool(hp.get("double_q", False)), hp["n_timesteps"], hp.get("eval_freq", 0), hp.get("eval_episodes", 0))  # fmt: skip


# --- cross-checks with torch's counter ------------------------------------------------------------------------


def counted_forward_flops(cfg: HRMConfig, batch: int) -> int:
    """``FlopCounterMode``'s count of ``HRM.forward`` on ``batch`` random grids, per sample."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from agents.hrm_dqn.model import HRM

    torch.manual_seed(0)
    net = HRM(cfg)
    tokens = torch.randint(0, cfg.vocab_size, (batch, *cfg.grid_shape))
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        net(tokens, net.initial_carry(batch))
    return counter.get_total_flops() // batch


def counted_train_flops(setup: Setup) -> float:
    """``FlopCounterMode``'s count of one ``HRMDQN.train`` minibatch (``segments`` optimizer steps) at ``setup``'s
    model, batch and ``double_q``, per optimizer step. A short ``learn`` on 2 envs fills the replay buffer first."""
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    import hrm_mazes  # noqa: F401  (registers the envs)
    from agents.hrm_dqn import HRMDQN
    from agents.hrm_dqn.policies import DERIVED_FIELDS

    cfg = setup.cfg
    venv = DummyVecEnv([lambda: gym.make(setup.env_id)] * 2)
    kwargs = {k: v for k, v in cfg.to_dict().items() if k not in DERIVED_FIELDS}
    model = HRMDQN("HRMQPolicy", venv, policy_kwargs=kwargs, buffer_size=setup.batch_size + 16,
                   learning_starts=setup.batch_size, batch_size=setup.batch_size, double_q=setup.double_q,
                   seed=0, device="cpu")  # fmt: skip
    model.learn(setup.batch_size // 2 + 2)  # 2 envs: batch_size + 4 transitions, one minibatch trained
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model.train(gradient_steps=1, batch_size=setup.batch_size)
    venv.close()
    return counter.get_total_flops() / cfg.segments


def cpu_gflops(cfg: HRMConfig, batch: int, seconds: float) -> float:
    """Achieved GFLOP/s of ``HRM.forward`` (no gradient, float32, one torch thread) over about ``seconds``."""
    import torch

    from agents.hrm_dqn.model import HRM

    torch.set_num_threads(1)
    net = HRM(cfg)
    tokens = torch.randint(0, cfg.vocab_size, (batch, *cfg.grid_shape))
    carry = net.initial_carry(batch)
    with torch.no_grad():
        net(tokens, carry)  # warm-up
        calls, started = 0, time.perf_counter()
        while calls == 0 or time.perf_counter() - started < seconds:
            net(tokens, carry)
            calls += 1
        elapsed = time.perf_counter() - started
    return calls * batch * forward_flops(cfg) / elapsed / 1e9


# --- the report -----------------------------------------------------------------------------------------------


def si(x: float) -> str:
    """``x`` FLOPs with an SI prefix (M, G, T, P, E)."""
    for factor, prefix in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M")):
        if abs(x) >= factor:
            return f"{x / factor:.3g} {prefix}"
    return f"{x:.3g} "


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def describe(setup: Setup) -> str:
    c = setup.cfg
    return (f"d {c.d_model}, {c.num_heads} heads, {c.H_layers}+{c.L_layers} blocks, {c.H_cycles}x{c.L_cycles} cycles, "
            f"{c.segments} segment{'s' if c.segments > 1 else ''}, MLP {c.mlp_width}, S {c.seq_len}; batch "
            f"{setup.batch_size}, {setup.n_envs} envs, double-Q {'on' if setup.double_q else 'off'}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-seconds", type=float, default=3.0, help="time one forward per preset for this long (0: skip)")
    parser.add_argument("--check-batch", type=int, default=4, help="batch of the FlopCounterMode forward check")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # as the harness does on a CPU; the counter's checks are slow with contending threads

    setups = [preset(name, file, env_id) for name, file in (("cpu", "hrm-dqn-cpu.yaml"), ("paper", "hrm-dqn.yaml"))
              for env_id in ENVS]  # fmt: skip
    print(f"# HRM-DQN FLOPs ({datetime.date.today()}, {platform.machine()}, python {platform.python_version()})\n")
    print("## Cross-check with torch.utils.flop_counter.FlopCounterMode (math SDPA backend)\n")
    print("| preset | env | what | analytic | FlopCounterMode | counter / analytic |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for setup in setups:
        analytic = forward_flops(setup.cfg)
        counted = counted_forward_flops(setup.cfg, args.check_batch)
        print(f"| {setup.name} | {setup.env_id} | forward / sample | {si(analytic)}FLOP | {si(counted)}FLOP | {counted / analytic:.3f} |")
    cpu = setups[0]  # the paper-size training step is ~0.4 TFLOP: too long for this check on a CPU
    analytic, counted = step_flops(cpu)["train"], counted_train_flops(cpu)
    print(f"| {cpu.name} | {cpu.env_id} | HRMDQN.train / optimizer step (batch {cpu.batch_size}) | {si(analytic)}FLOP | "
          f"{si(counted)}FLOP | {counted / analytic:.3f} |")  # fmt: skip

    print("\n## Per optimizer step\n")
    print("| preset | env | model and loop | forward / sample | segment fwd | backward | TD target | acting | total |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for setup in setups:
        p = step_flops(setup)
        print(f"| {setup.name} | {setup.env_id} | {describe(setup)} | {si(forward_flops(setup.cfg))}FLOP | "
              f"{si(p['segment forward'])}FLOP | {si(p['backward'])}FLOP | {si(p['TD target'])}FLOP | "
              f"{si(p['acting'])}FLOP | {si(p['total'])}FLOP |")  # fmt: skip

    print("\n## One run (the preset's n_timesteps)\n")
    rates = " | ".join(f"at {t:.0f} TFLOP/s" for t in ASSUMED_TFLOPS)
    print(f"| preset | env | env steps | optimizer steps | training FLOPs | with evaluations (bound) | {rates} |")
    print("| --- | --- | ---: | ---: | ---: | ---: |" + " ---: |" * len(ASSUMED_TFLOPS))
    totals = {}
    for setup in setups:
        train = setup.optimizer_steps * step_flops(setup)["total"]
        total = train + eval_flops_bound(setup)
        totals[(setup.name, setup.env_id)] = total
        times = " | ".join(duration(total / (t * 1e12)) for t in ASSUMED_TFLOPS)
        print(f"| {setup.name} | {setup.env_id} | {setup.env_steps:,} | {setup.optimizer_steps:,} | {si(train)}FLOP | "
              f"{si(total)}FLOP | {times} |")  # fmt: skip
    paper_suite = 2 * 3 * sum(v for (name, _), v in totals.items() if name == "paper")  # carry + reset, 3 seeds
    times = ", ".join(f"{duration(paper_suite / (t * 1e12))} at {t:.0f} TFLOP/s" for t in ASSUMED_TFLOPS)
    print(f"\nThe HRM-DQN runs of benchmarks/suites/paper.yaml (Carry Z and Reset Z, 3 seeds, both envs): "
          f"{si(paper_suite)}FLOP; {times}.")  # fmt: skip

    if args.cpu_seconds > 0:
        print("\n## Measured on this CPU (HRM.forward, no gradient, float32, 1 torch thread)\n")
        print("| preset | batch | GFLOP/s | paper-size run at this rate |")
        print("| --- | ---: | ---: | ---: |")
        paper_run = totals[("paper", "FourRooms-Dynamic-v0")]
        for setup in (setups[0], setups[2]):
            batch = setup.batch_size if setup.name == "cpu" else 8
            rate = cpu_gflops(setup.cfg, batch, args.cpu_seconds)
            print(f"| {setup.name} | {batch} | {rate:.1f} | {duration(paper_run / (rate * 1e9))} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

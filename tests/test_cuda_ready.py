"""Ready for CUDA without a GPU: the paper suite is accepted with ``--device cuda`` up to the first GPU work, and the
bf16 autocast path of HRM-DQN runs on the CPU (``torch.autocast("cpu", bfloat16)``, the policy's
``autocast_bf16`` switch). The tests marked ``cuda`` run the same checks on a GPU and are skipped without one.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th

import hrm_mazes  # noqa: F401
from agents.hrm_dqn import HRMDQN
from agents.hrm_dqn.model import HRM, HRMConfig
from agents.hrm_dqn.policies import HRMQPolicy

ROOT = Path(__file__).resolve().parent.parent
PAPER_SUITE = ROOT / "benchmarks" / "suites" / "paper.yaml"
PAPER = dict(d_model=64, num_heads=2, H_layers=4, L_layers=4, H_cycles=2, L_cycles=2, segments=8)
TINY = dict(d_model=16, num_heads=2, H_layers=1, L_layers=1, H_cycles=2, L_cycles=1, segments=2, expansion=2.0,
            mlp_multiple=16)  # fmt: skip

th.set_num_threads(1)


def observations(n: int, env_id: str = "FourRooms-Dynamic-v0") -> np.ndarray:
    env = gym.make(env_id)
    return np.stack([env.reset(seed=seed)[0] for seed in range(n)])


# --- the paper suite with --device cuda -----------------------------------------------------------------------


def test_paper_suite_is_accepted_with_device_cuda(tmp_path, monkeypatch):
    """benchmark --suite paper.yaml --device cuda, up to the first trial: the suite loads, and every trial's config
    is checked and resolved to cuda, with the paper's sizes (the checks run_suite makes before it starts)."""
    from agents.harness.benchmark.suites import load_suite, suite_jobs
    from agents.harness.runtime import resolve_device
    from agents.harness.training import resolve_fresh

    monkeypatch.setattr(th.cuda, "is_available", lambda: True)  # the only thing this machine lacks
    suite = load_suite(PAPER_SUITE)
    jobs = suite_jobs(suite, tmp_path / "paper", resolve_device("cuda"), progress=False)
    assert len(jobs) == 5 * 2 * 3  # algorithms x envs x seeds
    runs = {(entry["label"], config.env_id): resolve_fresh(config) for entry, config in jobs if config.seed == 0}
    assert len(runs) == 10 and all(run.device == "cuda" for run in runs.values())
    hrm = {key: run.hyperparams for key, run in runs.items() if run.algo == "hrm-dqn"}
    assert len(hrm) == 4
    for (label, _), hp in hrm.items():
        assert (hp["n_envs"], hp["batch_size"], hp["buffer_size"], hp["n_timesteps"]) == (256, 256, 1_048_576, 6_400_000)
        assert {k: hp["policy_kwargs"][k] for k in PAPER} == PAPER
        assert hp["policy_kwargs"]["carry"] == ("reset" if label == "hrm-dqn-reset" else "last_token")
    assert not (tmp_path / "paper").exists()  # checking touches no file


def test_paper_suite_without_cuda_is_one_clear_error(tmp_path, monkeypatch):
    from agents.errors import UserError
    from agents.harness.benchmark.trials import run_suite

    monkeypatch.setattr(th.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="CUDA is not available"):
        run_suite(PAPER_SUITE, out=tmp_path / "paper", device="cuda", progress=False)
    assert not (tmp_path / "paper").exists()


# --- bf16 autocast on the CPU ---------------------------------------------------------------------------------


def test_autocast_switch():
    space, actions = gym.make("FourRooms-Dynamic-v0").observation_space, gym.spaces.Discrete(4)
    default = HRMQPolicy(space, actions, lambda _: 1e-4, **TINY)
    forced = HRMQPolicy(space, actions, lambda _: 1e-4, autocast_bf16=True, **TINY)
    x = th.ones(2, 16)
    with default.autocast():
        assert default.q_net.q_head(x).dtype == th.float32  # CPU default: float32 (SPEC section 4)
    with forced.autocast():
        assert forced.q_net.q_head(x).dtype == th.bfloat16  # what CUDA gets by default


def test_bf16_segment_matches_float32_at_paper_size():
    """The training path (one segment with gradient from a given z, then the Q head) at the paper's size: bf16
    Q-values are finite and within 0.1 of float32 (Q ~ N(0, 1) at init), the same greedy action in most cases."""
    th.manual_seed(0)
    net = HRM(HRMConfig(grid_shape=(11, 11), **PAPER))
    tokens = th.as_tensor(observations(8))
    z_H, z_L = net.broadcast(net.initial_carry(8))
    results = {}
    for dtype in (th.float32, th.bfloat16):
        with th.autocast("cpu", dtype=th.bfloat16, enabled=dtype == th.bfloat16):
            h, _ = net.segment(z_H, z_L, net.embed_tokens(tokens))
            results[dtype] = net.q_values(h, tokens)
    q32, q16 = results[th.float32], results[th.bfloat16]
    assert q16.dtype == th.float32 and th.isfinite(q16).all()
    assert (q16 - q32).abs().max() < 0.1
    assert (q16.argmax(1) == q32.argmax(1)).float().mean() >= 0.75


def test_bf16_acting_at_paper_size_stays_finite():
    """Acting (8 segments, no gradient) in bf16: finite Q-values and carry, float32 out, carry at RMSNorm scale.

    Not compared with float32 value by value: the untrained paper-size recurrence amplifies any rounding (a 1e-3
    change of the carry moves the Q-values by ~1 after 8 segments in float32 too; docs/cuda.md)."""
    space, actions = gym.make("FourRooms-Dynamic-v0").observation_space, gym.spaces.Discrete(4)
    policy = HRMQPolicy(space, actions, lambda _: 1e-4, autocast_bf16=True, **PAPER)
    q, carry = policy.q_values(observations(4))
    assert q.dtype == np.float32 and carry.dtype == np.float32 and carry.shape == (4, 2, 64)
    assert np.isfinite(q).all() and np.isfinite(carry).all() and np.abs(q).max() < 20
    rms = np.sqrt((carry**2).mean(-1))
    assert np.all((rms > 0.5) & (rms < 2.0))  # post-norm blocks: z has unit RMS


def test_hrmdqn_trains_under_bf16_autocast_on_cpu():
    """HRMDQN.learn with autocast_bf16 on the CPU: the TD target, the segment updates and the EMA run in the CUDA
    configuration's precision; weights stay float32 and finite, the TD target is close to float32's."""
    model = HRMDQN("HRMQPolicy", "FourRooms-Dynamic-v0", buffer_size=200, learning_starts=16, batch_size=8, seed=0,
                   device="cpu", policy_kwargs=dict(TINY, autocast_bf16=True))  # fmt: skip
    model.learn(40)
    assert model._n_updates > 0
    for p in model.policy.parameters():
        assert p.dtype == th.float32 and th.isfinite(p).all()
    data = model.replay_buffer.sample(8)
    bf16_target = model.td_target(data)
    model.policy.autocast_bf16 = False
    fp32_target = model.td_target(data)
    assert th.isfinite(bf16_target).all() and (bf16_target - fp32_target).abs().max() < 0.05


# --- on a GPU -----------------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not th.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_paper_size_bf16_segment_matches_float32():
    th.manual_seed(0)
    net = HRM(HRMConfig(grid_shape=(11, 11), **PAPER)).cuda()
    tokens = th.as_tensor(observations(64), device="cuda")
    z_H, z_L = net.broadcast(net.initial_carry(64))
    with th.no_grad():
        h32, _ = net.segment(z_H, z_L, net.embed_tokens(tokens))
        with th.autocast("cuda", dtype=th.bfloat16):
            h16, _ = net.segment(z_H, z_L, net.embed_tokens(tokens))
            q16 = net.q_values(h16, tokens)
        q32 = net.q_values(h32, tokens)
    assert th.isfinite(q16).all() and (q16 - q32).abs().max() < 0.1


@pytest.mark.cuda
@pytest.mark.skipif(not th.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_paper_size_minibatch():
    """One paper-size minibatch (batch 256, 8 optimizer steps) on CUDA in bf16, from a small replay buffer."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([lambda: gym.make("FourRooms-Dynamic-v0")] * 16)
    model = HRMDQN("HRMQPolicy", venv, buffer_size=1024, learning_starts=256, batch_size=256, seed=0, device="cuda",
                   policy_kwargs=PAPER)  # fmt: skip
    model.learn(16 * 20)
    assert model.policy.device.type == "cuda" and model._n_updates >= 8
    assert all(th.isfinite(p).all() for p in model.policy.parameters())

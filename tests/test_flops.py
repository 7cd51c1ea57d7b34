"""benchmarks/flops.py: the analytic FLOP count of HRM-DQN agrees with torch's FlopCounterMode."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from agents.hrm_dqn.model import HRMConfig

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def flops():
    spec = importlib.util.spec_from_file_location("flops", ROOT / "benchmarks" / "flops.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["flops"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("flops", None)


# Two segments of 2x2 cycles: every part of the count (passes with and without gradient, the head) appears.
TINY = HRMConfig(grid_shape=(11, 11), d_model=16, num_heads=2, H_layers=1, L_layers=2, H_cycles=2, L_cycles=2,
                 segments=2, expansion=2.0, mlp_multiple=16)  # fmt: skip


@pytest.mark.parametrize("readout", ["last", "neighbours"])
def test_forward_count_matches_flop_counter(flops, readout):
    cfg = dataclasses.replace(TINY, readout=readout)
    analytic = flops.forward_flops(cfg)
    counted = flops.counted_forward_flops(cfg, batch=3)
    assert counted == pytest.approx(analytic, rel=0.10)


@pytest.mark.parametrize("double_q", [False, True])
def test_optimizer_step_count_matches_flop_counter(flops, double_q):
    setup = flops.Setup("tiny", "FourRooms-Dynamic-v0", TINY, batch_size=8, n_envs=4, double_q=double_q)
    analytic = flops.step_flops(setup)["train"]
    counted = flops.counted_train_flops(setup)
    assert counted == pytest.approx(analytic, rel=0.10)


def test_presets_and_paper_totals(flops):
    paper = flops.preset("paper", "hrm-dqn.yaml", "FourRooms-Dynamic-v0")
    assert (paper.cfg.d_model, paper.cfg.H_layers, paper.cfg.L_layers, paper.cfg.segments) == (64, 4, 4, 8)
    assert (paper.batch_size, paper.n_envs, paper.optimizer_steps) == (256, 256, 200_000)
    step = flops.step_flops(paper)
    # N = B: acting costs what the target costs; the backward is 2x the forward of the last L and H pass.
    assert step["acting"] == pytest.approx(step["TD target"])
    assert step["backward"] == pytest.approx(step["segment forward"] * 2 * 2 / 6, rel=0.01)
    cpu = flops.preset("cpu", "hrm-dqn-cpu.yaml", "FourRooms-Dynamic-v0")
    assert cpu.double_q and cpu.batch_size == 64 and cpu.cfg.segments == 1


def test_the_script_prints_its_tables(flops, capsys, monkeypatch):
    monkeypatch.setattr(flops, "counted_forward_flops", lambda cfg, batch: flops.forward_flops(cfg))
    monkeypatch.setattr(flops, "counted_train_flops", lambda setup: flops.step_flops(setup)["train"])
    assert flops.main(["--cpu-seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert "| paper | FourRooms-Dynamic-v0 | 6,400,000 | 200,000 |" in out and "TFLOP/s" in out

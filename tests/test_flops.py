"""benchmarks/flops.py: the analytic FLOP count of HRM-DQN agrees with torch's FlopCounterMode."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from agents.harness.hyperparams import load_preset
from agents.hrm_dqn.model import HRMConfig

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
ENV = "FourRooms-Dynamic-v0"
PRESETS = [("paper", "hrm-dqn.yaml", None), ("cpu", "hrm-dqn-cpu.yaml", "cpu")]  # the script's name, file, --config
HRM_FIELDS = {f.name for f in dataclasses.fields(HRMConfig)}


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


def optimizer_steps(hp: dict) -> int:
    """A run's optimizer steps: ``segments`` per minibatch, ``gradient_steps`` minibatches per ``train_freq``
    collection steps of all ``n_envs`` envs."""
    collections = hp["n_timesteps"] // (hp["n_envs"] * hp.get("train_freq", 1))
    return collections * hp.get("gradient_steps", 1) * hp["policy_kwargs"]["segments"]


@pytest.mark.parametrize(("name", "file", "config"), PRESETS)
def test_presets_are_read_from_the_configs(flops, name, file, config):
    hp, path = load_preset("hrm-dqn", ENV, config)
    assert path.name == file
    setup = flops.preset(name, file, ENV)
    model = {k: v for k, v in hp["policy_kwargs"].items() if k in HRM_FIELDS}
    assert {k: getattr(setup.cfg, k) for k in model} == model and "segments" in model
    assert (setup.batch_size, setup.n_envs, setup.env_steps) == (hp["batch_size"], hp["n_envs"], hp["n_timesteps"])
    assert (setup.train_freq, setup.gradient_steps, setup.double_q) == (
        hp.get("train_freq", 1), hp.get("gradient_steps", 1), hp.get("double_q", False))  # fmt: skip
    assert setup.optimizer_steps == optimizer_steps(hp)


@pytest.mark.parametrize(("name", "file", "config"), PRESETS)
def test_the_parts_of_an_optimizer_step_keep_their_ratios(flops, name, file, config):
    hp, _ = load_preset("hrm-dqn", ENV, config)
    setup, model = flops.preset(name, file, ENV), hp["policy_kwargs"]
    step = flops.step_flops(setup)
    # Acting runs the online net on n_envs grids per collection step, the TD target on batch_size grids per
    # minibatch (twice with double-Q): with the paper's N = B acting costs what the target costs.
    targets = setup.batch_size * (2 if setup.double_q else 1) * setup.gradient_steps
    assert step["acting"] / step["TD target"] == pytest.approx(setup.n_envs * setup.train_freq / targets)
    # The backward is 2x the forward of the part with gradient (the last L and H pass) of a segment's passes.
    passes = model["H_cycles"] * (model["L_cycles"] * model["L_layers"] + model["H_layers"])
    grad_share = (model["L_layers"] + model["H_layers"]) / passes
    assert step["backward"] / step["segment forward"] == pytest.approx(2 * grad_share, rel=0.01)
    assert step["train"] == pytest.approx(step["segment forward"] + step["backward"] + step["TD target"])


def test_the_script_prints_its_tables(flops, capsys, monkeypatch):
    monkeypatch.setattr(flops, "counted_forward_flops", lambda cfg, batch: flops.forward_flops(cfg))
    monkeypatch.setattr(flops, "counted_train_flops", lambda setup: flops.step_flops(setup)["train"])
    assert flops.main(["--cpu-seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert "TFLOP/s" in out
    for name, _, config in PRESETS:
        hp, _ = load_preset("hrm-dqn", ENV, config)
        assert f"| {name} | {ENV} | {hp['n_timesteps']:,} | {optimizer_steps(hp):,} |" in out

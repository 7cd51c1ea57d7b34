"""``hrm-mazes analyze``: HRM.trace runs what forward runs, the traced play acts as the policy does, the door flag
on a hand-made maze, the outputs on a tiny untrained model, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from cli_helpers import assert_one_line_error, run_cli

import hrm_mazes  # noqa: F401
from agents.analyze import (
    FIRST,
    METRICS,
    SPLITS,
    STATES,
    door_changed_on_path,
    load_hrm_agent,
    planned_path,
    trace_episodes,
)
from agents.cli import build_parser
from agents.harness.config import TrainConfig
from agents.harness.evaluation import ModelPlayer, eval_seeds, run_episodes
from agents.harness.rundir import RunPaths, write_run
from agents.hrm_dqn import HRMDQN
from agents.hrm_dqn.model import HRM, HRMConfig
from hrm_mazes import core

ENV = "FourRooms-Dynamic-v0"
TINY = dict(d_model=16, num_heads=2, H_layers=1, L_layers=1, H_cycles=1, L_cycles=2, segments=2, expansion=2.0,
            mlp_multiple=16)  # fmt: skip
UPDATES = 2 * 1 * (2 + 1)  # segments * H_cycles * (L_cycles + 1)

th.set_num_threads(1)


def save_tiny_hrm(path: Path, carry: str = "last_token", **env_kwargs) -> Path:
    model = HRMDQN("HRMQPolicy", gym.make(ENV, **env_kwargs), buffer_size=100, device="cpu", seed=0,
                   policy_kwargs={**TINY, "carry": carry})  # fmt: skip
    model.save(path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A bare tiny Carry Z model, a Reset Z one, and a run directory (run.yaml, doors redrawn every other step)."""
    root = tmp_path_factory.mktemp("analyze")
    run = root / "run"
    run.mkdir()
    env_kwargs = {"p_change": 0.5}
    save_tiny_hrm(run / "model.zip", **env_kwargs)
    hyperparams = {"policy": "HRMQPolicy", "obs_mode": "tokens", "env_kwargs": env_kwargs, "policy_kwargs": TINY}
    write_run(RunPaths(run), TrainConfig(algo="hrm-dqn", env_id=ENV, seed=0, hyperparams=hyperparams), {})
    return {
        "carry": save_tiny_hrm(root / "carry.zip"),
        "reset": save_tiny_hrm(root / "reset.zip", carry="reset"),
        "grid": save_tiny_hrm(root / "grid.zip", carry="grid"),
        "run": run,
    }


# --- HRM.trace -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes", [dict(H_cycles=1, L_cycles=1, segments=1), dict(H_cycles=2, L_cycles=2, segments=3), dict(H_cycles=3, L_cycles=1, segments=2, readout="agent")]
)  # fmt: skip
def test_trace_runs_what_forward_runs(sizes):
    th.manual_seed(0)
    model = HRM(
        HRMConfig((5, 6), d_model=16, num_heads=2, H_layers=1, L_layers=2, expansion=2.0, mlp_multiple=16, **sizes)
    )
    tokens = th.randint(0, 7, (3, 5, 6))
    tokens[:, 1, 2] = core.AGENT
    carry = th.randn(3, 2, 16)
    for segments in (None, 1):
        q, next_carry = model(tokens, carry, segments)
        q_traced, carry_traced, states, modules = model.trace(tokens, carry, segments)
        assert th.equal(q_traced, q) and th.equal(carry_traced, next_carry)
        n_segments = segments or model.cfg.segments
        per_cycle = ["L"] * model.cfg.L_cycles + ["H"]
        assert modules == tuple(per_cycle * model.cfg.H_cycles * n_segments)
        assert states.shape == (3, len(modules), 2, 16) and states.dtype == th.float32 and not states.requires_grad
        assert th.equal(states[:, -1], next_carry)
    # An L update leaves z_H as it was, an H update leaves z_L.
    _, _, states, modules = model.trace(tokens, carry)
    for u in range(1, len(modules)):
        kept = 0 if modules[u] == "L" else 1
        assert th.equal(states[:, u, kept], states[:, u - 1, kept])


def test_trace_of_the_grid_carry_records_every_token():
    """With the grid carry the carried state is every token's z: trace records all of it (flattened), so the
    analysis' MSE is over the whole carried state, and the last update's record is the next carry."""
    th.manual_seed(0)
    model = HRM(HRMConfig((5, 6), d_model=16, num_heads=2, H_layers=1, L_layers=1, H_cycles=1, L_cycles=2, segments=1,
                          expansion=2.0, mlp_multiple=16, carry_tokens="all"))  # fmt: skip
    tokens = th.randint(0, 7, (3, 5, 6))
    tokens[:, 1, 2] = core.AGENT
    carry = th.randn(3, *model.cfg.carry_shape)
    q, next_carry = model(tokens, carry)
    q_traced, carry_traced, states, modules = model.trace(tokens, carry)
    assert th.equal(q_traced, q) and th.equal(carry_traced, next_carry) and modules == ("L", "L", "H")
    seq_len = model.cfg.seq_len
    assert states.shape == (3, 3, 2, seq_len * 16)
    assert th.equal(states[:, -1], next_carry.flatten(2))


@pytest.mark.parametrize("carry", ["last_token", "reset", "grid"])
def test_traced_play_acts_exactly_as_the_policy(carry, models, monkeypatch):
    """Same Q-values at every step as evaluate's ModelPlayer (predict with the carried state, episode starts)."""
    agent = load_hrm_agent(models[{"last_token": "carry"}.get(carry, carry)], ENV, "cpu")
    policy, seeds = agent.model.policy, eval_seeds(2)
    seen: dict[str, list[np.ndarray]] = {"act": [], "trace": []}
    act, trace = policy.act, policy.q_net.trace

    def spy_act(obs, state):
        q, next_state = act(obs, state)
        seen["act"].append(q.numpy())
        return q, next_state

    def spy_trace(tokens, state, segments=None):
        out = trace(tokens, state, segments)
        seen["trace"].append(out[0].numpy())
        return out

    monkeypatch.setattr(policy, "act", spy_act)
    monkeypatch.setattr(policy.q_net, "trace", spy_trace)
    records = run_episodes(ModelPlayer(agent.model), agent.env_fn, seeds, n_parallel=1)
    traced = trace_episodes(agent.model, agent.env_fn, seeds, n_parallel=1)
    assert traced.records == records
    assert len(seen["trace"]) == len(seen["act"]) == sum(r["length"] for r in records)
    np.testing.assert_array_equal(np.concatenate(seen["trace"]), np.concatenate(seen["act"]))
    assert traced.convergence.shape == traced.divergence.shape == (len(seen["act"]), UPDATES, 2)
    assert list(traced.split).count(FIRST) == len(seeds)


# --- the door flag ---------------------------------------------------------------------------------------------


def test_planned_path_and_the_door_flag_on_a_hand_made_maze():
    layout = core.FOUR_ROOMS  # doors (3, 6) top, (6, 2) left, (7, 9) right, (10, 6) bottom
    w = layout.shape[1]
    flat = {tuple(map(int, p)): int(p[0]) * w + int(p[1]) for p in layout.door_positions}
    none = np.zeros(layout.num_doors, dtype=bool)
    agent, goal = (2, 2), (2, 10)  # top-left room to top-right room: through the top door

    def blocked(closed):
        return core.blocked_grid(layout, none[None], np.asarray(closed)[None])[0].ravel()

    path = planned_path(layout, none, none, agent, goal)
    assert path[0] == 2 * w + 2 and path[-1] == 2 * w + 10 and len(path) == 11  # 10 steps
    assert all(abs(a - b) in (1, w) for a, b in zip(path, path[1:], strict=False))
    assert flat[(3, 6)] in path and not blocked(none)[path].any()
    top, bottom = none.copy(), none.copy()
    top[0], bottom[3] = True, True
    assert door_changed_on_path(path, blocked(none), blocked(top))  # the top door closes on the plan
    assert not door_changed_on_path(path, blocked(none), blocked(bottom))  # a door elsewhere
    assert not door_changed_on_path(path, blocked(none), blocked(none))
    # Top door closed: the plan goes round by the three other doors, and its reopening changes the plan.
    detour = planned_path(layout, none, top, agent, goal)
    assert {flat[(6, 2)], flat[(10, 6)], flat[(7, 9)]} <= set(detour) and flat[(3, 6)] not in detour
    assert door_changed_on_path(detour, blocked(top), blocked(top | bottom))
    assert not door_changed_on_path(detour, blocked(top), blocked(none))  # opening a door off the detour
    # Cut off (top and left doors closed): the oracle's plan through the closed top door.
    cut = none.copy()
    cut[[0, 1]] = True
    assert planned_path(layout, none, cut, agent, goal) == path


# --- the command -----------------------------------------------------------------------------------------------


def test_analyze_writes_the_json_and_figures(models, tmp_path, capsys):
    out = tmp_path / "out"
    rc, stdout, _ = run_cli(["analyze", "--model", str(models["run"]), "--compare", str(models["reset"]),
                             "--episodes", "3", "--out", str(out), "--device", "cpu", "--no-progress"], capsys)  # fmt: skip
    assert rc == 0 and f"outputs written to {out}" in stdout
    data = json.loads((out / "analysis.json").read_text())
    assert data["env_id"] == ENV and data["episodes"] == 3 and len(data["models"]) == 2
    carry, reset = data["models"]
    assert (carry["carry_mode"], reset["carry_mode"]) == ("last_token", "reset")
    assert carry["label"] == "Carry Z (run)" and reset["label"] == "Reset Z (reset)"
    assert carry["env_kwargs"] == {"p_change": 0.5} and reset["env_kwargs"] == {}  # each model's own dynamics
    for result in data["models"]:
        assert result["model"] in (str(models["run"]), str(models["reset"])) and 0 <= result["success_rate"] <= 1
        assert result["updates_per_step"] == UPDATES and result["modules"] == ["L", "L", "H"] * 2
        counts = result["counts"]
        assert counts["changed"] + counts["unchanged"] + counts["first"] == counts["all"] > 0 and counts["first"] == 3
        for metric in METRICS:
            for state in STATES:
                for split in SPLITS:
                    stats = result["stats"][metric][state][split]
                    assert set(stats) == {"median", "q25", "q75"}
                    for key in stats:
                        assert len(stats[key]) == UPDATES
                        if counts[split]:
                            assert all(np.isfinite(v) and v >= 0 for v in stats[key])
                        else:
                            assert all(v is None for v in stats[key])
                    if counts[split]:
                        assert np.all(np.array(stats["q25"]) <= np.array(stats["q75"]))
        assert result["stats"]["convergence"]["z_L"]["all"]["median"][-1] == 0  # the reference update itself
        assert result["stats"]["divergence"]["z_L"]["all"]["median"][0] == 0
    assert carry["counts"]["changed"] > 0  # doors redrawn every other step cross the plan sometimes
    for name in ("convergence.png", "divergence.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == [".hrm-mazes", "analysis.json", "convergence.png", "divergence.png"]


def test_default_output_is_in_the_run_and_never_overwritten_silently(models, capsys):
    args = ["analyze", "--model", str(models["run"]), "--episodes", "1", "--device", "cpu", "--no-progress"]
    out = models["run"] / "analysis"
    assert run_cli(args, capsys)[0] == 0 and (out / "analysis.json").is_file()
    rc, _, err = run_cli(args, capsys)
    assert_one_line_error(rc, err, "already exists", "--force")
    assert run_cli([*args, "--force"], capsys)[0] == 0
    (out / "notes.txt").write_text("mine")
    rc, _, err = run_cli([*args, "--force"], capsys)
    assert_one_line_error(rc, err, "notes.txt")
    assert (out / "notes.txt").read_text() == "mine"


def test_force_replaces_only_an_analysis_directory(models, tmp_path, capsys):
    """``--force`` follows the rule of every output directory (``rundir.claim_output_dir``): it replaces an
    analysis hrm-mazes wrote, also one from before the marker file, and nothing else."""
    args = ["analyze", "--model", str(models["run"]), "--episodes", "1", "--device", "cpu", "--no-progress", "--force"]
    legacy = tmp_path / "legacy"  # what the analyze of before the marker left: its files, a temporary one
    legacy.mkdir()
    for name in ("analysis.json", "convergence.png", "divergence.png", ".divergence.png.tmp"):
        (legacy / name).write_text("old")
    assert run_cli([*args, "--out", str(legacy)], capsys)[0] == 0
    assert sorted(p.name for p in legacy.iterdir()) == [".hrm-mazes", "analysis.json", "convergence.png", "divergence.png"]
    assert json.loads((legacy / "analysis.json").read_text())["episodes"] == 1
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    for folder, words in ((models["run"], ("is a run directory, not an analysis directory",)),  # its own run
                          (mine, ("was not created by hrm-mazes",))):  # fmt: skip
        before = sorted(p.name for p in folder.iterdir())
        rc, _, err = run_cli([*args, "--out", str(folder)], capsys)
        assert_one_line_error(rc, err, str(folder), *words)
        assert sorted(p.name for p in folder.iterdir()) == before


def test_a_bare_model_writes_beside_itself(models, capsys):
    rc, stdout, _ = run_cli(["analyze", "--model", str(models["carry"]), "--env", ENV, "--episodes", "1",
                             "--device", "cpu", "--no-progress"], capsys)  # fmt: skip
    out = models["carry"].with_name("carry.analysis")
    assert rc == 0 and (out / "divergence.png").is_file() and str(out) in stdout


def test_a_grid_carry_model_is_analysed_and_labelled(models, tmp_path, capsys):
    rc, stdout, _ = run_cli(["analyze", "--model", str(models["grid"]), "--env", ENV, "--episodes", "2",
                             "--device", "cpu", "--no-progress", "--out", str(tmp_path / "a")], capsys)  # fmt: skip
    assert rc == 0 and "Carry Z (grid)" in stdout
    (model,) = json.loads((tmp_path / "a" / "analysis.json").read_text())["models"]
    assert model["carry_mode"] == "grid" and model["label"] == "Carry Z (grid) (grid)"


def test_errors_are_one_line(models, tmp_path, capsys):
    from stable_baselines3 import DQN

    dqn = tmp_path / "dqn.zip"
    DQN(
        "MlpPolicy", gym.make(ENV, obs_mode="onehot"), buffer_size=100, policy_kwargs={"net_arch": [8]}, device="cpu"
    ).save(dqn)
    cases = [
        (["--model", str(tmp_path / "missing.zip")], ("does not exist",)),
        (["--model", str(dqn), "--env", ENV], ("dqn model", "hrm-dqn")),
        (["--model", str(models["carry"])], ("no run.yaml", "--env")),
        (["--model", str(models["run"]), "--label", "a", "--label", "b"], ("--label", "one per model")),
        (["--model", str(models["run"]), "--out", str(Path.cwd())], ("current directory",)),
    ]
    for args, words in cases:
        rc, _, err = run_cli(["analyze", *args, "--episodes", "1", "--device", "cpu", "--no-progress"], capsys)
        assert_one_line_error(rc, err, *words)
    assert "analyze" in build_parser().format_help()

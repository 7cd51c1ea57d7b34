"""``benchmarks/ship_pretrained.py``: evaluate a checkpoint and add it to a (temporary) pretrained manifest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import yaml
from cli_helpers import ship_pretrained

from agents.cli import main
from hrm_mazes.host import cpu_model

ENV = "FourRooms-Dynamic-v0"
TINY = {"policy": "HRMQPolicy", "obs_mode": "tokens", "n_envs": 2, "buffer_size": 1000, "learning_starts": 96,
        "batch_size": 16, "tau": 0.01, "gamma": 0.95, "train_freq": 1, "gradient_steps": 1, "exploration_steps": 50,
        "policy_kwargs": {"d_model": 16, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1,
                          "segments": 1, "readout": "agent", "carry": "last_token"}}  # fmt: skip


@pytest.fixture
def ship(monkeypatch, tmp_path):
    return ship_pretrained(monkeypatch, tmp_path / "pretrained")


@pytest.mark.slow
def test_shipping_evaluates_records_and_keeps_each_evaluation(ship, tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({ENV: TINY}))
    run = tmp_path / "run"
    assert main(["train", "--algo", "hrm-dqn", "--env", ENV, "--config", str(config), "--steps", "128",
                 "--device", "cpu", "--eval-freq", "128", "--eval-episodes", "2", "--out", str(run), "--no-progress"]) == 0
    evaluations = []
    for file in ("a.zip", "b.zip"):  # the same label twice: the second must not overwrite the first evaluation
        argv = ["--checkpoint", str(run), "--label", "tiny", "--command", "hrm-mazes train ...", "--episodes", "5",
                "--file", file, "--force"]  # fmt: skip
        assert ship.main(argv) == 0
        out = capsys.readouterr().out
        evaluations.append(Path(re.search(r"the evaluation is in (\S+)", out).group(1)))
        assert (ship.PRETRAINED_DIR / file).is_file()
    assert evaluations[0] != evaluations[1] and all(path.is_file() for path in evaluations)
    manifest = json.loads((ship.PRETRAINED_DIR / "manifest.json").read_text())
    assert [entry["file"] for entry in manifest] == ["b.zip"]  # one agent per (env, algorithm): --force replaced a.zip
    entry = manifest[0]
    assert entry["trained"]["machine"].startswith(cpu_model()) and entry["trained"]["env_steps"] == 128
    assert entry["evaluation"]["episodes"] == 5
    assert json.loads(evaluations[1].read_text())["summary"]["episodes"] == 5


def test_the_machine_is_the_one_the_run_recorded(ship):
    host = {"cpu": "AMD EPYC", "cpu_count": 16, "cuda": "NVIDIA H200"}
    assert ship.machine(host, "cuda") == "AMD EPYC, 16 CPUs, NVIDIA H200"
    assert ship.machine({**host, "cuda": None}, "cpu") == "AMD EPYC, 16 CPUs, no GPU, torch 1 thread"
    assert ship.machine({}, "cpu").startswith(cpu_model())  # a run from before run.yaml recorded the host


@pytest.mark.parametrize("compiled", [False, True])
def test_the_shipped_copy_has_the_trained_weights_without_compile(compiled, ship, tmp_path):
    from agents.harness.loading import load_agent
    from agents.hrm_dqn import HRMDQN

    source = tmp_path / "trained.zip"
    kwargs = {**TINY["policy_kwargs"], "compile": compiled}
    HRMDQN("HRMQPolicy", ENV, policy_kwargs=kwargs, buffer_size=100, learning_starts=10, seed=0, device="cpu").save(source)
    trained = load_agent(source, env_id=ENV, algo="hrm-dqn", device="cpu")
    ship.save_shipped(trained, tmp_path / "shipped.zip")
    shipped = load_agent(tmp_path / "shipped.zip", env_id=ENV, algo="hrm-dqn", device="cpu").model
    assert shipped.policy_kwargs["compile"] is False and shipped.policy.compile is False
    before, after = trained.model.policy.state_dict(), shipped.policy.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    if not compiled:  # nothing to change: the very file
        assert (tmp_path / "shipped.zip").read_bytes() == source.read_bytes()


def test_the_shipped_copy_drops_the_rollout_carry_and_still_trains(ship, tmp_path):
    """The per-env carry of the training rollout (1.5 MB for the maze's grid carry) is not shipped; learn rebuilds it."""
    import zipfile

    from agents.harness.loading import load_agent
    from agents.hrm_dqn import HRMDQN

    source = tmp_path / "trained.zip"
    model = HRMDQN("HRMQPolicy", ENV, policy_kwargs=TINY["policy_kwargs"], buffer_size=100, learning_starts=10,
                   batch_size=8, seed=0, device="cpu")  # fmt: skip
    model.learn(20)
    assert model._last_carry is not None
    model.save(source)
    assert "_last_carry" in json.loads(zipfile.ZipFile(source).read("data"))
    ship.save_shipped(load_agent(source, env_id=ENV, algo="hrm-dqn", device="cpu"), tmp_path / "shipped.zip")
    assert "_last_carry" not in json.loads(zipfile.ZipFile(tmp_path / "shipped.zip").read("data"))
    shipped = HRMDQN.load(tmp_path / "shipped.zip", env=model.get_env(), device="cpu")
    shipped.learn(20, reset_num_timesteps=False)
    assert shipped._last_carry is not None and shipped.num_timesteps == 40

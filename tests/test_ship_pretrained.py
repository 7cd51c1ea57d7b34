"""``benchmarks/ship_pretrained.py``: evaluate a checkpoint and add it to a (temporary) pretrained manifest."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

from agents.cli import main
from hrm_mazes.host import cpu_model

ROOT = Path(__file__).resolve().parents[1]
ENV = "FourRooms-Dynamic-v0"
TINY = {"policy": "HRMQPolicy", "obs_mode": "tokens", "n_envs": 2, "buffer_size": 1000, "learning_starts": 96,
        "batch_size": 16, "tau": 0.01, "gamma": 0.95, "train_freq": 1, "gradient_steps": 1, "exploration_steps": 50,
        "policy_kwargs": {"d_model": 16, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1,
                          "segments": 1, "readout": "agent", "carry": "last_token"}}  # fmt: skip


@pytest.fixture
def ship(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("ship_pretrained", ROOT / "benchmarks" / "ship_pretrained.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path / "pretrained"
    folder.mkdir()
    (folder / "manifest.json").write_text("[]")
    monkeypatch.setattr(module, "PRETRAINED_DIR", folder)
    return module


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

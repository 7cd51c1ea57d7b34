"""One way to load a saved model to play it (:func:`agents.harness.loading.load_agent`): ``evaluate``, ``watch``, a
benchmark trial's evaluation and ``benchmarks/ship_pretrained.py`` refuse a wrong file with the same one-line
message. The refusal of a model made for another grid size is ``load_agent``'s own check, so an entry point that
loaded the file another way (``models.load_model`` and its own env) would fail these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli, ship_pretrained

import agents.harness.pretrained as pretrained
from agents.errors import UserError
from agents.harness.benchmark.trials import Trial, run_trial
from agents.harness.config import TrainConfig
from agents.harness.rundir import RunPaths, write_run

ENV = "FourRooms-Dynamic-v0"
TINY_DQN = {"policy": "MlpPolicy", "obs_mode": "onehot", "buffer_size": 100, "learning_starts": 10,
            "policy_kwargs": {"net_arch": [8]}}  # fmt: skip


def run_holding(tmp_path: Path, trained_on: str, recorded_algo: str) -> Path:
    """A finished run directory whose run.yaml records ``recorded_algo`` on FourRooms, holding a tiny DQN trained on
    the env ``trained_on``."""
    from agents.harness.models import build_model, make_train_env

    run = tmp_path / "run"
    run.mkdir()
    venv = make_train_env(trained_on, TINY_DQN, 1, 0)
    build_model("dqn", TINY_DQN, venv, 0, "cpu").save(run / "model.zip")
    venv.close()
    config = TrainConfig(algo=recorded_algo, env_id=ENV, seed=0, device="cpu", out=run, hyperparams=TINY_DQN)
    write_run(RunPaths(run), config, {})
    return run


def refusals(run: Path, algo: str, tmp_path: Path, monkeypatch, capsys) -> dict[str, str]:
    """The one-line message with which each entry point refuses the run's model."""
    messages = {}
    for command in (["evaluate", "--episodes", "2", "--no-progress"], ["watch", "--save", str(tmp_path / "w.gif")]):
        rc, _, err = run_cli([*command, "--model", str(run)], capsys)
        assert_one_line_error(rc, err)
        messages[command[0]] = err.strip().split(": error: ", 1)[1]
    trial = Trial(1, 1, algo, algo, TrainConfig(algo=algo, env_id=ENV, seed=0, out=run), 2, True, "cpu", False)
    with pytest.raises(UserError) as refused:
        run_trial(trial)  # resume=True and a model.zip: it evaluates the finished run
    messages["benchmark"] = str(refused.value)
    ship = ship_pretrained(monkeypatch, tmp_path / "pretrained")
    with pytest.raises(SystemExit) as refused:
        ship.main(["--checkpoint", str(run), "--label", "x", "--command", "hrm-mazes train ..."])
    messages["ship_pretrained"] = str(refused.value.code).removeprefix("ship_pretrained: ")
    assert json.loads((tmp_path / "pretrained" / "manifest.json").read_text()) == []  # nothing shipped
    capsys.readouterr()
    return messages


def test_a_model_of_another_algorithm_is_refused_alike_everywhere(tmp_path, monkeypatch, capsys):
    run = run_holding(tmp_path, ENV, "hrm-dqn")
    messages = refusals(run, "hrm-dqn", tmp_path, monkeypatch, capsys)
    assert len(set(messages.values())) == 1, messages
    message = messages["evaluate"]
    assert message.startswith(f"{run / 'model.zip'} is a dqn") and "model, not a hrm-dqn model; use --algo dqn" in message


def test_a_model_for_another_grid_is_refused_alike_everywhere(tmp_path, monkeypatch, capsys):
    run = run_holding(tmp_path, "RandomDoorMaze-v0", "dqn")
    messages = refusals(run, "dqn", tmp_path, monkeypatch, capsys)
    assert len(set(messages.values())) == 1, messages
    message = messages["evaluate"]
    assert message.startswith(f"{run / 'model.zip'} expects observations of shape (7, ")
    assert message.endswith(f"{ENV} gives (7, 11, 11): evaluate it on an env with the same grid size")
    # A shipped file goes the same way: the manifest names the algorithm and the env, the check is the same.
    folder = tmp_path / "shipped"
    folder.mkdir()
    (folder / "grid.zip").write_bytes((run / "model.zip").read_bytes())
    trained = dict.fromkeys(pretrained.TRAINED_KEYS, 0)
    evaluation = {"episodes": 0, "success_rate": 0.0, "success_lo": 0.0, "success_hi": 1.0}
    entry = {"env_id": ENV, "algo": "dqn", "file": "grid.zip", "label": "grid", "trained": trained, "evaluation": evaluation}
    (folder / "manifest.json").write_text(json.dumps([entry]))
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", folder)
    rc, _, err = run_cli(["evaluate", "--pretrained", ENV, "--episodes", "2", "--no-progress"], capsys)
    assert_one_line_error(rc, err, message.replace(str(run / "model.zip"), str(folder / "grid.zip")))


def test_a_loaded_run_carries_what_its_run_yaml_records(tmp_path):
    from agents.harness.loading import load_agent

    run = run_holding(tmp_path, ENV, "dqn")
    agent = load_agent(run, device="cpu")
    assert (agent.algo, agent.env_id, agent.run_dir, agent.model_path) == ("dqn", ENV, run, run / "model.zip")
    assert agent.run.seed == 0 and agent.run.hyperparams == TINY_DQN and agent.shipped is None
    assert agent.encoding["obs_mode"] == "onehot" and str(agent.model.device) == "cpu"
    bare = load_agent(run / "model.zip", env_id=ENV, algo="dqn", device="cpu")
    assert bare.run_dir == run  # the run.yaml beside a .zip is found


def test_a_full_view_model_is_refused_on_a_partial_view(tmp_path, capsys):
    """Same grid, one token more: a model trained on the full view cannot read a partial view's unseen token."""
    from agents.harness.models import build_model, make_train_env

    tokens = {**TINY_DQN, "obs_mode": "tokens"}
    venv = make_train_env(ENV, tokens, 1, 0)
    build_model("dqn", tokens, venv, 0, "cpu").save(tmp_path / "model.zip")
    venv.close()
    partial = "FourRooms-Dynamic-Partial-v0"
    rc, _, err = run_cli(["evaluate", "--model", str(tmp_path / "model.zip"), "--algo", "dqn", "--env", partial,
                          "--episodes", "2", "--no-progress"], capsys)  # fmt: skip
    assert_one_line_error(rc, err, "reads observation values in [0, 6]", f"{partial} gives [0, 7]", "unseen token")

"""Every YAML file a command reads (a ``train --config`` file, a ``benchmark --suite`` file, a run's run.yaml, a
study's tune.yaml) goes through one reader: a file that is missing, not UTF-8 text or not YAML is a one-line error
naming it, before any training starts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from cli_helpers import assert_one_line_error, run_cli

ENV = "FourRooms-Dynamic-v0"
# What is wrong with the file, and the words its error line holds besides the path.
DAMAGES = {
    "not UTF-8": (b"FourRooms-Dynamic-v0:\n  n_envs: 2\n  label: \xff\xfe caf\xe9\n", ["not UTF-8 text"]),
    "not YAML": (b"FourRooms-Dynamic-v0: {n_envs: 2\n  gamma: [0.9\n", ["not valid YAML", "line "]),
    "missing": (None, ["does not exist"]),
}


def damaged(path: Path, damage: str) -> Path:
    """``path`` written with the damage's bytes (left absent for ``missing``)."""
    content = DAMAGES[damage][0]
    if content is not None:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_bad_train_config_is_one_line(damage, tmp_path, capsys):
    config = damaged(tmp_path / "bad.yaml", damage)
    out = tmp_path / "run"
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", ENV, "--config", str(config), "--out", str(out),
                          "--no-progress"], capsys)  # fmt: skip
    assert_one_line_error(rc, err, "config file", str(config), *DAMAGES[damage][1])
    assert not out.exists()


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_bad_suite_file_is_one_line(damage, tmp_path, capsys):
    suite = damaged(tmp_path / "suite.yaml", damage)
    out = tmp_path / "bench"
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--no-progress"], capsys)
    assert_one_line_error(rc, err, "suite file", str(suite), *DAMAGES[damage][1])
    assert not out.exists()


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_run_with_a_bad_run_yaml_is_one_line(damage, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    damaged(run / "run.yaml", damage)
    (run / "model.zip").write_bytes(b"PK")
    rc, _, err = run_cli(["evaluate", "--model", str(run / "model.zip"), "--episodes", "2", "--no-progress"], capsys)
    if damage == "missing":  # the model has no run: evaluate needs to be told how it was trained
        assert_one_line_error(rc, err, "no run.yaml next to", str(run / "model.zip"), "--algo and --env")
    else:  # hrm-mazes wrote run.yaml: a file it cannot read is corrupt
        assert_one_line_error(rc, err, str(run / "run.yaml"), "is corrupt", *DAMAGES[damage][1])
    rc, _, err = run_cli(["train", "--resume", "--out", str(run), "--no-progress"], capsys)
    if damage == "missing":
        assert_one_line_error(rc, err, f"{run} is not a run directory (no run.yaml)")
    else:
        assert_one_line_error(rc, err, str(run / "run.yaml"), "is corrupt", *DAMAGES[damage][1])


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_study_with_a_bad_tune_yaml_is_one_line(damage, tmp_path, capsys):
    from agents.harness.config import TuneConfig
    from agents.harness.tune.study import prepare_study

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({ENV: {"policy": "MlpPolicy", "obs_mode": "onehot", "buffer_size": 100}}))
    _, study, _ = prepare_study(TuneConfig(algo="dqn-cnn", env_id=ENV, trials=1, minutes=1, config=str(config),
                                           steps=100, device="cpu", out=tmp_path / "study", progress=False))  # fmt: skip
    (study / "study.journal").write_bytes(b"")  # a study on disk as far as --resume looks before tune.yaml
    (study / "tune.yaml").unlink()
    damaged(study / "tune.yaml", damage)
    before = sorted(p.name for p in study.iterdir())
    rc, _, err = run_cli(["tune", "--algo", "dqn-cnn", "--env", ENV, "--trials", "2", "--minutes", "1", "--out",
                          str(study), "--resume", "--no-progress"], capsys)  # fmt: skip
    if damage == "missing":  # no tune.yaml: not a study
        assert_one_line_error(rc, err, f"{study} holds no study (no tune.yaml")
    else:  # hrm-mazes wrote tune.yaml: a file it cannot read is corrupt
        assert_one_line_error(rc, err, str(study / "tune.yaml"), "is corrupt", *DAMAGES[damage][1])
    assert sorted(p.name for p in study.iterdir()) == before  # no trial ran


@pytest.mark.parametrize(("key", "value"), [("steps", 0), ("seed", -1), ("eval_freq", "5"), ("startup_trials", True),
                                            ("trial_seconds", -1.0), ("base", [1])])  # fmt: skip
def test_a_tune_yaml_value_out_of_its_options_bounds_is_corrupt(key, value, tmp_path, capsys):
    """tune.yaml's numbers are checked as the TuneConfig options they came from (bounds, an int as written)."""
    from agents.harness.config import TuneConfig
    from agents.harness.tune.study import prepare_study

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({ENV: {"policy": "MlpPolicy", "obs_mode": "onehot", "buffer_size": 100}}))
    _, study, _ = prepare_study(TuneConfig(algo="dqn-cnn", env_id=ENV, trials=1, minutes=1, config=str(config),
                                           steps=100, device="cpu", out=tmp_path / "study", progress=False))  # fmt: skip
    (study / "study.journal").write_bytes(b"")
    saved = yaml.safe_load((study / "tune.yaml").read_text())
    (study / "tune.yaml").write_text(yaml.safe_dump({**saved, key: value}))
    rc, _, err = run_cli(["tune", "--algo", "dqn-cnn", "--env", ENV, "--trials", "2", "--minutes", "1", "--out",
                          str(study), "--resume", "--no-progress"], capsys)  # fmt: skip
    assert_one_line_error(rc, err, str(study / "tune.yaml"), "is corrupt", f"{key} is {value!r}")


def test_one_reader_names_the_cause(tmp_path):
    """The reader itself: a folder or an unreadable file is a one-line error too, and a good file is its document."""
    from agents.errors import UserError
    from agents.harness.rundir import read_yaml

    with pytest.raises(UserError, match=re.escape(f"cannot read suite file {tmp_path} (")):
        read_yaml(tmp_path, "suite file")
    good = tmp_path / "good.yaml"
    good.write_text("a: [1, 2]\nb: café\n", encoding="utf-8")
    assert read_yaml(good, "config file") == {"a": [1, 2], "b": "café"}

"""Benchmark reports and tune studies write their text outputs whole (``rundir.write_atomic``), and a file that cannot
be written is one ``UserError`` line naming it, with nothing half-written left behind."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.distributions import CategoricalDistribution, FloatDistribution

from agents.errors import UserError
from agents.harness.benchmark.report import write_report
from agents.harness.config import TuneConfig
from agents.harness.tune.study import prepare_study, write_outputs

ENV = "FourRooms-Dynamic-v0"
SUITE = {"name": "tiny", "final_episodes": 10, "envs": []}  # no env: no curves to plot, only the text outputs
TINY_DQN_CNN = {"policy": "MlpPolicy", "obs_mode": "onehot", "features_extractor": "grid-cnn",
                "features_extractor_kwargs": {"features_dim": 16, "channels": [4, 4]}, "n_envs": 2, "buffer_size": 1000,
                "learning_starts": 196, "batch_size": 16, "gamma": 0.95, "train_freq": 1, "gradient_steps": 1,
                "target_update_interval": 100, "exploration_fraction": 0.3, "policy_kwargs": {"net_arch": []},
                "eval_episodes": 2}  # fmt: skip


def unwritable(tmp_path: Path, kind: str) -> Path:
    """A folder nothing can be written into: missing, a file, or read-only."""
    if kind == "missing":
        return tmp_path / "gone" / "deeper"
    if kind == "a file":
        (tmp_path / "file").write_text("keep")
        return tmp_path / "file"
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def all_files(root: Path) -> dict[str, bytes]:
    return {os.fspath(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_one_line_naming(err: pytest.ExceptionInfo, path: Path) -> None:
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"cannot write {path} ("), message


KINDS = ["missing", "a file", "read-only"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_report_that_cannot_be_written_is_one_line_naming_the_file(tmp_path, kind):
    out = unwritable(tmp_path, kind)
    before = all_files(tmp_path)
    with pytest.raises(UserError) as err:
        write_report(out, SUITE, [], [], "cpu")
    assert_one_line_naming(err, out / "results.md")
    assert all_files(tmp_path) == before  # nothing written, not even a temporary file


def test_a_report_is_written_whole(tmp_path):
    write_report(tmp_path, SUITE, [], [], "cpu")
    assert sorted(all_files(tmp_path)) == ["results.csv", "results.json", "results.md"]  # no temporary file left
    assert (tmp_path / "results.md").read_text().startswith("# Benchmark: tiny")
    assert json.loads((tmp_path / "results.json").read_text())["suite"] == SUITE
    assert (tmp_path / "results.csv").read_text().startswith("label,env_id,seed,")


@pytest.fixture
def study_settings(tmp_path) -> dict:
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({ENV: TINY_DQN_CNN}))
    _, _, settings = prepare_study(TuneConfig(algo="dqn-cnn", env_id=ENV, trials=2, minutes=1, config=str(config),
                                              steps=200, out=tmp_path / "made"))  # fmt: skip
    return settings


def tiny_study() -> optuna.Study:
    """Two finished trials as a study records them: the base preset (trial 0) and a sampled one that did better."""
    study = optuna.create_study(direction="maximize")
    distributions = {"learning_rate": FloatDistribution(1e-5, 1e-2, log=True), "channels": CategoricalDistribution(["4-4", "16-16"])}
    for value, lr, channels, attrs in ((0.25, 1e-3, "16-16", {"base_preset": True}), (0.5, 3e-4, "4-4", {})):
        overrides = {"learning_rate": lr, "features_extractor_kwargs": {"channels": [int(c) for c in channels.split("-")]}}
        study.add_trial(optuna.trial.create_trial(params={"learning_rate": lr, "channels": channels}, distributions=distributions,
                                                  value=value, user_attrs={**attrs, "overrides": overrides, "env_steps": 200}))  # fmt: skip
    return study


def test_a_study_writes_optunas_trials_dataframe_and_its_best_whole(tmp_path, study_settings):
    out = tmp_path / "study"
    out.mkdir()
    best_yaml = write_outputs(tiny_study(), study_settings, out, "hrm-mazes tune ...")
    assert best_yaml == out / "best.yaml"
    assert sorted(all_files(out)) == ["best.yaml", "study.csv", "summary.md"]  # no temporary file left
    with (out / "study.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["number", "value", "datetime_start", "datetime_complete", "duration", "params_channels",
                             "params_learning_rate", "user_attrs_base_preset", "user_attrs_env_steps",
                             "user_attrs_overrides", "state"]  # fmt: skip
    assert [(r["number"], float(r["value"]), r["state"]) for r in rows] == [("0", 0.25, "COMPLETE"), ("1", 0.5, "COMPLETE")]
    assert [r["user_attrs_base_preset"] for r in rows] == ["True", ""]
    assert [(r["params_channels"], float(r["params_learning_rate"]), r["user_attrs_env_steps"]) for r in rows] == [
        ("16-16", 1e-3, "200"), ("4-4", 3e-4, "200")]  # fmt: skip
    assert json.loads(rows[1]["user_attrs_overrides"])["features_extractor_kwargs"] == {"channels": [4, 4]}  # JSON
    best = yaml.safe_load(best_yaml.read_text())[ENV]
    assert best["learning_rate"] == 3e-4 and best["features_extractor_kwargs"]["channels"] == [4, 4]


@pytest.mark.parametrize("kind", KINDS)
def test_a_study_that_cannot_be_written_is_one_line_naming_the_file(tmp_path, study_settings, kind):
    out = unwritable(tmp_path, kind)
    before = all_files(tmp_path)
    with pytest.raises(UserError) as err:
        write_outputs(tiny_study(), study_settings, out, "hrm-mazes tune ...")
    assert_one_line_naming(err, out / "study.csv")
    assert all_files(tmp_path) == before

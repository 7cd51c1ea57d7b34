"""The command configs (agents.harness.config): one check per number for every source (train's and tune's alike),
the options --resume keeps, run.yaml round trips, and the output-directory guard shared by train, benchmark and
demo."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import pytest

from agents.errors import UserError
from agents.harness.config import MAX_SEED, TrainConfig, TuneConfig, fixed_options, option
from agents.harness.rundir import claim_output_dir
from hrm_mazes.cli_args import describe_int, parse_int


@pytest.mark.parametrize(("value", "expected"), [(5, 5), ("5", 5), ("2e4", 20_000), (2e4, 20_000), (3.0, 3), (" 7 ", 7)])
def test_parse_int_accepts_whole_numbers(value, expected):
    assert parse_int(value, lo=1) == expected


@pytest.mark.parametrize("value", [True, "x", 1.5, "1.5", None, math.nan, math.inf, "", [1]])
def test_parse_int_rejects_anything_else(value):
    with pytest.raises(ValueError, match="expected an integer"):
        parse_int(value)


def test_parse_int_ranges_and_their_messages():
    assert parse_int(0, 0, 99) == 0 and parse_int(99, 0, 99) == 99
    with pytest.raises(ValueError, match=r"expected an integer in \[0, 99\], got 100"):
        parse_int(100, 0, 99)
    with pytest.raises(ValueError, match="expected a positive integer, got '0'"):
        parse_int("0", lo=1)
    with pytest.raises(ValueError, match="non-negative"):
        parse_int(-1, lo=0)
    assert describe_int(2) == "an integer >= 2" and describe_int() == "an integer"


def test_train_config_checks_every_integer_from_python_and_yaml():
    assert TrainConfig(steps="2e4", n_envs=4.0).steps == 20_000
    with pytest.raises(UserError, match=rf"seed must be an integer in \[0, {MAX_SEED}\], got 100"):
        TrainConfig(seed=100)
    with pytest.raises(UserError, match="--eval-episodes must be a positive integer"):
        TrainConfig(eval_episodes=0)
    with pytest.raises(UserError, match="steps"):
        TrainConfig(algo="dqn").replace(steps=-1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"trials": 0}, "--trials must be a positive integer, got 0"),
     ({"trials": "2.5"}, "--trials must be a positive integer, got '2.5'"),
     ({"seed": 100}, rf"--seed must be an integer in \[0, {MAX_SEED}\], got 100"),
     ({"minutes": 0}, "--minutes must be a finite number > 0, got 0"),
     ({"minutes": "nan"}, "--minutes must be a finite number > 0, got 'nan'"),
     ({"trial_minutes": True}, "--trial-minutes must be a finite number > 0, got 'True'"),
     ({"startup_trials": -1}, "--startup-trials must be a non-negative integer, got -1"),
     ({"workers": [2]}, r"--workers must be a positive integer, got '\[2\]'"),
     ({"trials": None}, "--trials is required")],
)  # fmt: skip
def test_tune_config_checks_its_fields_as_train_config_does(changes, message):
    """TuneConfig's numbers are checked from Python by their option types, with TrainConfig's one-line words."""
    given = {"algo": "dqn-cnn", "env_id": "FourRooms-Dynamic-v0", "trials": 2, "minutes": 1}
    assert TuneConfig(**{**given, "trials": "2e1", "minutes": "1.5"}).minutes == 1.5
    with pytest.raises(UserError, match=message) as caught:
        TuneConfig(**{**given, **changes})
    assert "\n" not in str(caught.value)


def test_an_option_train_and_tune_share_is_refused_with_the_same_words():
    given = {"algo": "dqn-cnn", "env_id": "FourRooms-Dynamic-v0", "trials": 2, "minutes": 1}
    for changes in ({"steps": 0}, {"seed": -1}, {"eval_freq": "often"}):
        with pytest.raises(UserError) as train_error:
            TrainConfig(**changes)
        with pytest.raises(UserError) as tune_error:
            TuneConfig(**given, **changes)
        assert str(train_error.value) == str(tune_error.value)


@dataclass
class LoggedTrainConfig(TrainConfig):
    log_interval: int | None = option(None, "log every N episodes", lo=1, saved=True, fixed=True)


@dataclass
class SampledTuneConfig(TuneConfig):
    sampler_seed: int | None = option(None, "the sampler's seed", lo=0, fixed=True)


def test_the_options_resume_keeps_are_derived_from_the_fields(tmp_path):
    """``fixed=True`` on a field is all it takes for train's and tune's --resume to refuse another value."""
    from agents.harness import training
    from agents.harness.tune import study as tune_study

    assert fixed_options(TrainConfig) == {"seed": "--seed", "config": "--config", "eval_freq": "--eval-freq",
                                          "eval_episodes": "--eval-episodes", "checkpoint_freq": "--checkpoint-freq"}
    assert set(fixed_options(TuneConfig)) == {"trial_minutes", "steps", "config", "seed", "eval_freq", "eval_episodes",
                                              "startup_trials"}  # fmt: skip
    assert fixed_options(LoggedTrainConfig)["log_interval"] == "--log-interval"
    saved = LoggedTrainConfig(algo="dqn", env_id="FourRooms-Dynamic-v0", log_interval=10)
    training._check_fixed_options(LoggedTrainConfig(log_interval=10), saved, tmp_path)  # the same value: fine
    with pytest.raises(UserError, match="--resume: --log-interval is fixed by the run .* --log-interval 10"):
        training._check_fixed_options(LoggedTrainConfig(log_interval=20), saved, tmp_path)

    study = {"algo": "dqn-cnn", "env_id": "FourRooms-Dynamic-v0", "config": "/pkg/dqn-cnn-cpu.yaml",
             "config_given": "cpu", "seed": 0, "steps": 200, "trial_seconds": 30.0, "eval_freq": 100,
             "eval_episodes": 2, "startup_trials": 5, "sampler_seed": 3}  # fmt: skip
    given = {"algo": "dqn-cnn", "env_id": "FourRooms-Dynamic-v0", "trials": 2, "minutes": 1, "resume": True}
    tune_study._check_fixed_options(SampledTuneConfig(**given, config="cpu", trial_minutes=0.5, sampler_seed=3), study, tmp_path)
    with pytest.raises(UserError, match="--resume: --sampler-seed is fixed by the study"):
        tune_study._check_fixed_options(SampledTuneConfig(**given, sampler_seed=4), study, tmp_path)
    with pytest.raises(UserError, match="--resume: --trial-minutes is fixed by the study"):
        tune_study._check_fixed_options(SampledTuneConfig(**given, trial_minutes=1), study, tmp_path)


def test_every_field_is_documented():
    for f in fields(TrainConfig):
        assert f.metadata["help"], f.name
    saved = {f.name for f in fields(TrainConfig) if f.metadata["saved"]}
    assert {"algo", "env_id", "seed", "steps", "device", "config", "hyperparams"} <= saved
    assert not saved & {"out", "resume", "force", "progress", "max_wall_s"}  # how one invocation behaves


def test_run_yaml_round_trip():
    config = TrainConfig(algo="dqn", env_id="FourRooms-Dynamic-v0", steps=100, seed=3, eval_freq=10, eval_episodes=5,
                         checkpoint_freq=10, config="x.yaml", device="cpu", hyperparams={"gamma": 0.9},
                         out="runs/x", force=True, progress=False)  # fmt: skip
    data = config.to_run_yaml()
    assert "out" not in data and "force" not in data and data["hyperparams"] == {"gamma": 0.9}
    restored = TrainConfig.from_run_yaml({**data, "versions": {"torch": "2"}, "host": {}})
    assert restored == config.replace(out=None, force=False, progress=True)


def test_claim_output_dir_deletes_only_on_create(tmp_path):
    new = claim_output_dir(tmp_path / "new", force=False)
    assert not new.replace and not new.path.exists()
    assert new.create().is_dir() and (new.path / ".hrm-mazes").is_file()  # the marker: hrm-mazes made it
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not claim_output_dir(empty, force=False).replace
    full = claim_output_dir(tmp_path / "full", force=False).create()
    (full / "run.yaml").write_text("x")
    with pytest.raises(UserError, match="run directory .* already exists; use --resume to continue it, --force"):
        claim_output_dir(full, force=False, resumable=True)
    with pytest.raises(UserError, match="use --force to replace it or --out to pick another$"):
        claim_output_dir(full, force=False)
    claimed = claim_output_dir(full, force=True)
    assert (full / "run.yaml").is_file()  # nothing deleted yet: the caller still checks its other input
    claimed.create()
    assert full.is_dir() and [p.name for p in full.iterdir()] == [".hrm-mazes"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        claim_output_dir(tmp_path / "file", force=True)
    users = tmp_path / "users"
    users.mkdir()
    (users / "keep.txt").write_text("x")
    with pytest.raises(UserError, match="already exists and was not made by hrm-mazes; use --out to pick another$"):
        claim_output_dir(users, force=False)


def test_one_integer_check_for_options_configs_and_the_suite_commands(capsys):
    """``--steps 2e4`` means 20,000 in every command (train's generated options, evaluate's, the suite's own play),
    and a fraction is refused by each with the same words: one parser and one check (hrm_mazes.cli_args) for all."""
    import argparse

    from agents.cli import build_parser
    from hrm_mazes.cli_args import int_option
    from hrm_mazes.play import main as play_main

    parse = int_option(1)
    assert parse("2e4") == parse_int("2e4", 1) == 20_000
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be a positive integer, got '2.5'"):
        parse("2.5")
    parser = build_parser()
    assert parser.parse_args(["train", "--algo", "dqn", "--env", "FourRooms-Dynamic-v0", "--steps", "2e4"]).steps == 20_000
    for argv, run in ((["evaluate", "--agent", "random", "--episodes", "2.5"], parser.parse_args),
                      (["--seed", "2.5"], play_main)):  # fmt: skip
        with pytest.raises(SystemExit):
            run(argv)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "2.5" in err and ("positive integer" in err or "non-negative integer" in err)

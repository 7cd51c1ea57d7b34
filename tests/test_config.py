"""The run config (agents.harness.config): one integer check for every source, run.yaml round trips, and the
output-directory guard shared by train, benchmark and demo."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest

from agents.errors import UserError
from agents.harness.config import MAX_SEED, TrainConfig
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
    with pytest.raises(UserError, match="eval_episodes must be a positive integer"):
        TrainConfig(eval_episodes=0)
    with pytest.raises(UserError, match="steps"):
        TrainConfig(algo="dqn").replace(steps=-1)


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

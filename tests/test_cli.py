"""The hrm-mazes command line: every subcommand with tiny budgets, resume after an interruption, clear errors.

The fast layer calls ``main([...])`` in-process with tiny configs (a 1,000-transition replay buffer keeps the
checkpoints small); the ``slow`` tests run real processes and the demo at its smoke scale.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from cli_helpers import AtStep, assert_one_line_error, raising, run_cli

import agents.harness.training
from agents.cli import build_parser, main
from agents.harness.checkpoints import latest_checkpoint, read_state
from agents.harness.config import TrainConfig, TuneConfig, flag_of
from agents.harness.rundir import RunPaths, claim_output_dir, read_eval_rows, read_run
from agents.harness.training import train

ENV = "FourRooms-Dynamic-v0"
# A DQN small enough that a run of a hundred steps takes about a second, checkpoints included.
TINY_DQN = {"policy": "MlpPolicy", "obs_mode": "onehot", "n_envs": 2, "buffer_size": 1000, "learning_starts": 20,
            "batch_size": 16, "gamma": 0.95, "train_freq": 1, "gradient_steps": 1, "target_update_interval": 50,
            "exploration_fraction": 0.3, "policy_kwargs": {"net_arch": [32]}, "eval_episodes": 4}  # fmt: skip
TINY_OVERRIDES = {"buffer_size": 1000, "learning_starts": 20, "policy_kwargs": {"net_arch": [32]}}
TINY_PPO = {"policy": "MlpPolicy", "obs_mode": "onehot", "n_envs": 2, "n_steps": 10, "batch_size": 10, "n_epochs": 1,
            "gamma": 0.95, "policy_kwargs": {"net_arch": [16]}, "eval_episodes": 2}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("configs") / "tiny-dqn.yaml"
    path.write_text(yaml.safe_dump({ENV: TINY_DQN}))
    return path


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_config) -> Path:
    out = tmp_path_factory.mktemp("cli") / "dqn-run"
    args = ["train", "--algo", "dqn", "--env", ENV, "--config", str(tiny_config), "--steps", "60", "--eval-freq", "30",
            "--checkpoint-freq", "30", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    return out


# --- help, imports and the generated train options ----------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["benchmark"], ["watch"], ["play"], ["demo"], ["tune"], ["analyze"]])
def test_help_everywhere(command, capsys):
    rc, out, _ = run_cli([*command, "--help"], capsys)
    assert rc == 0 and "usage: hrm-mazes" in out


def test_help_and_play_do_not_import_torch():
    code = (
        "import sys, hrm_mazes.play as play\n"
        "play.main = lambda argv: 0\n"
        "import agents\n"
        "from agents.cli import build_parser, main\n"
        "build_parser()\n"
        "assert 'torch' not in sys.modules, 'build_parser imported torch'\n"
        "assert main(['play', '--env', 'RandomDoorMaze-v0', '--seed', '3']) == 0\n"
        "assert 'torch' not in sys.modules, 'play imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_train_options_are_generated_from_the_config_fields(capsys):
    parser = build_parser()
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    dests = {a.dest for a in train_parser._actions if a.dest != "help"}
    assert dests == {f.name for f in fields(TrainConfig) if f.metadata["cli"]}
    rc, out, _ = run_cli(["train", "--help"], capsys)
    assert "training seed in [0, 99] (default 0)" in " ".join(out.split())  # range and default from the field
    args = parser.parse_args(["train", "--algo", "dqn", "--env", ENV, "--steps", "2e4", "--no-progress", "--seed", "7"])
    config = TrainConfig.from_args(args)
    assert config == TrainConfig(algo="dqn", env_id=ENV, steps=20_000, seed=7, progress=False)


@pytest.mark.parametrize("command, config_class", [("train", TrainConfig), ("tune", TuneConfig)])
def test_train_and_tune_options_are_exactly_their_config_fields(command, config_class):
    subparser = build_parser()._subparsers._group_actions[0].choices[command]
    options = {a.dest: a.option_strings for a in subparser._actions if a.dest != "help"}
    assert options == {f.name: [flag_of(f)] for f in fields(config_class) if f.metadata["cli"]}
    required = {a.dest for a in subparser._actions if a.required}
    assert required == {f.name for f in fields(config_class) if f.metadata["required"]}


def test_the_choices_docs_cli_shows_are_the_commands_choices():
    """Each ``--option {a,b,c}`` of a usage line in docs/cli.md lists the command's choices, in their order; tune's
    ``--algo`` lists the algorithms with a search space (its parser takes every algorithm and names those in its
    error)."""
    from agents.harness.tune.search_spaces import SEARCH_SPACES

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices
    shown = {}
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.match(r"hrm-mazes ([a-z-]+)", line)
            if command:
                for option, choices in re.findall(r"(--[a-z-]+) \{([^}]*)\}", line):
                    shown[command[1], option] = choices.split(",")
    assert {("train", "--algo"), ("tune", "--algo"), ("evaluate", "--agent")} <= set(shown)
    for (command, option), choices in shown.items():
        if (command, option) == ("tune", "--algo"):
            expected = list(SEARCH_SPACES)
        else:
            expected = list(next(a for a in commands[command]._actions if option in a.option_strings).choices)
        assert choices == expected, f"docs/cli.md: {command} {option}"


def test_tune_options_give_the_config_back():
    """The command a study prints (its resume command, commands.txt) is its config's options: parsed, the same config."""
    config = TuneConfig(algo="dqn-cnn", env_id=ENV, trials=3, minutes=1.5, trial_minutes=0.25, seed=4, out="a b",
                        resume=True, progress=False, workers=2, ray_address="local")  # fmt: skip
    args = build_parser().parse_args(["tune", *config.to_argv()])
    assert TuneConfig.from_args(args) == config
    assert config.to_argv()[:8] == ["--algo", "dqn-cnn", "--env", ENV, "--trials", "3", "--minutes", "1.5"]


@pytest.mark.parametrize(("option", "value"), [("--steps", "0"), ("--seed", "100"), ("--eval-freq", "1.5")])
def test_a_bad_value_is_the_same_error_in_train_and_tune(option, value, capsys):
    """One option type per field: the options train and tune share reject a bad value with the same words."""
    errors = []
    for command in (["train", "--algo", "dqn", "--env", ENV], ["tune", "--algo", "dqn", "--env", ENV, "--trials", "1",
                                                                 "--minutes", "1"]):  # fmt: skip
        rc, _, err = run_cli([*command, option, value], capsys)
        assert_one_line_error(rc, err, option, repr(value))
        errors.append(err.split(": error: ")[1])
    assert errors[0] == errors[1]


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [("--steps", "-5", ["--steps", "positive"]), ("--n-envs", "0", ["--n-envs", "positive"]),
     ("--eval-freq", "1.5", ["--eval-freq", "positive"]), ("--seed", "100", ["--seed", "[0, 99]"]),
     ("--eval-episodes", "ten", ["--eval-episodes", "positive"]), ("--checkpoint-freq", "0", ["positive"])],
)  # fmt: skip
def test_bad_integer_options_are_one_line_errors(option, value, words, capsys):
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", ENV, option, value], capsys)
    assert_one_line_error(rc, err, *words)


# --- the subcommands with tiny budgets ----------------------------------------------------------------------


def test_train_writes_a_complete_run(trained_run, tiny_config):
    paths = RunPaths(trained_run)
    checkpoint = latest_checkpoint(paths)
    assert checkpoint.dir == paths.checkpoints / "step-000000060"
    for p in (paths.model, checkpoint.model, checkpoint.replay_buffer, checkpoint.state, paths.evaluations, paths.run_yaml):
        assert p.is_file(), p
    assert sorted(p.name for p in paths.checkpoints.iterdir()) == ["latest", "step-000000030", "step-000000060"]
    assert any(paths.tensorboard.iterdir())
    run = yaml.safe_load(paths.run_yaml.read_text())
    expected = {"algo": "dqn", "env_id": ENV, "steps": 60, "seed": 0, "device": "cpu", "config": str(tiny_config),
                "eval_freq": 30, "eval_episodes": 4, "checkpoint_freq": 30}  # fmt: skip
    assert {k: run[k] for k in expected} == expected
    assert run["hyperparams"] == TINY_DQN and {"torch", "stable_baselines3", "hrm_mazes"} <= set(run["versions"])
    assert read_run(trained_run) == TrainConfig(**expected, hyperparams=TINY_DQN)
    assert [r["env_steps"] for r in read_eval_rows(paths.evaluations)] == [30, 60]
    assert all(r["episodes"] == 4 for r in read_eval_rows(paths.evaluations))
    state = read_state(paths)
    assert state.env_steps == 60 and state.optimizer_steps == (60 - 20) // 2 and state.resumes == 0
    header = (trained_run / "progress.csv").read_text().splitlines()[0].split(",")
    assert "eval/success_rate" in header and "charts/optimizer_steps" in header
    assert not [key for key in header if key.startswith(("rollout/", "train/", "time/"))]  # CleanRL names only


def test_train_prints_the_result_and_where_it_went(tmp_path, tiny_config, capsys):
    out = tmp_path / "run"
    rc, stdout, _ = run_cli(["train", "--algo", "dqn", "--env", ENV, "--config", str(tiny_config), "--steps", "20",
                             "--out", str(out), "--no-progress"], capsys)  # fmt: skip
    assert rc == 0
    assert "done: 20 env steps, 0 optimizer steps" in stdout and "over 4 validation episodes" in stdout
    assert stdout.strip().splitlines()[-1].startswith(f"outputs written to {out}/")


def test_force_replaces_a_run_but_only_after_the_input_checks(tmp_path, tiny_config, capsys):
    out = tmp_path / "run"
    base = ["train", "--algo", "dqn", "--env", ENV, "--steps", "20", "--out", str(out), "--no-progress"]
    assert run_cli([*base, "--config", str(tiny_config)], capsys)[0] == 0
    (out / "model.zip").write_bytes(b"the old model")
    rc, _, err = run_cli([*base, "--config", str(tiny_config)], capsys)
    assert_one_line_error(rc, err, "already exists", "--resume", "--force")
    rc, _, err = run_cli([*base, "--config", "nope", "--force"], capsys)
    assert_one_line_error(rc, err, "unknown config")
    assert (out / "model.zip").read_bytes() == b"the old model"  # a bad input never costs the directory
    rc, _, _ = run_cli([*base, "--config", str(tiny_config), "--force"], capsys)
    assert rc == 0 and (out / "model.zip").read_bytes() != b"the old model"


def test_force_never_deletes_a_directory_hrm_mazes_did_not_make(tmp_path, tiny_config, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    base = ["train", "--algo", "dqn", "--env", ENV, "--steps", "20", "--config", str(tiny_config), "--no-progress"]
    rc, _, err = run_cli([*base, "--out", str(out)], capsys)
    assert_one_line_error(rc, err, "already exists and was not made by hrm-mazes")
    rc, _, err = run_cli([*base, "--out", str(out), "--force"], capsys)
    assert_one_line_error(rc, err, "not created by hrm-mazes", "nothing is deleted")
    run = tmp_path / "run"
    assert run_cli([*base, "--out", str(run)], capsys)[0] == 0
    (run / "notes.txt").write_text("my notes")  # a user's file inside a run directory
    rc, _, err = run_cli([*base, "--out", str(run), "--force"], capsys)
    assert_one_line_error(rc, err, "notes.txt", "nothing is deleted")
    assert (out / "keep.txt").read_text() == "mine" and (run / "notes.txt").read_text() == "my notes"


@pytest.fixture
def no_cuda(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def _our_dir(path: Path, kind: str) -> list[str]:
    """A directory as hrm-mazes leaves it (marker and a precious file); returns its listing."""
    claim_output_dir(path, force=False, kind=kind).create()
    (path / {"run": "model.zip", "demo": "results.md", "suite": "results.md"}[kind]).write_bytes(b"precious")
    return sorted(p.name for p in path.iterdir())


def test_force_deletes_nothing_before_the_whole_command_is_valid(tmp_path, tiny_config, no_cuda, capsys):
    out = tmp_path / "o"
    before = _our_dir(out, "run")
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text(yaml.safe_dump({ENV: {**TINY_DQN, "learning_rate": "fast"}}))
    base = ["train", "--algo", "dqn", "--env", ENV, "--steps", "100", "--out", str(out), "--force", "--no-progress"]
    for extra, words in [(["--device", "cuda"], "CUDA"), (["--config", "nope"], "unknown config"),
                         (["--config", str(bad_config)], "learning_rate")]:  # fmt: skip
        rc, _, err = run_cli([*base, *extra], capsys)
        assert_one_line_error(rc, err, words)
        assert sorted(p.name for p in out.iterdir()) == before
    demo = tmp_path / "demo"
    before = _our_dir(demo, "demo")
    rc, _, err = run_cli(["demo", "--out", str(demo), "--force", "--device", "cuda"], capsys)
    assert_one_line_error(rc, err, "CUDA")
    assert sorted(p.name for p in demo.iterdir()) == before
    # benchmark: the second trial's config is wrong; the whole suite is checked before anything is deleted
    bench = tmp_path / "bench"
    before = _our_dir(bench, "suite")
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({
        "name": "two", "envs": [ENV], "algos": [{"algo": "dqn", "config": str(tiny_config)}, {"algo": "dqn", "config": "nope"}],
        "seeds": [0], "steps": 20, "device": "cpu",
    }))  # fmt: skip
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(bench), "--force", "--no-progress"], capsys)
    assert_one_line_error(rc, err, "unknown config")
    assert sorted(p.name for p in bench.iterdir()) == before and (bench / "results.md").read_bytes() == b"precious"


@pytest.mark.parametrize("out", ["", ".", ".."])
def test_the_working_directory_is_never_an_output_directory(out, tmp_path, tiny_config, monkeypatch, capsys):
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / "mine.txt").write_text("mine")
    monkeypatch.chdir(cwd)
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"envs": [ENV], "algos": [{"algo": "dqn", "config": str(tiny_config)}], "steps": 20}))
    commands = [
        ["train", "--algo", "dqn", "--env", ENV, "--steps", "20", "--config", str(tiny_config), "--no-progress"],
        ["demo", "--scale", "0.01", "--no-progress"],
        ["benchmark", "--suite", str(suite), "--no-progress"],
    ]
    for command in commands:
        for force in ([], ["--force"]):
            rc, _, err = run_cli([*command, "--out", out, *force], capsys)
            assert_one_line_error(rc, err, "empty" if out == "" else "directory")
            assert sorted(p.name for p in cwd.iterdir()) == ["mine.txt"]
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", out, "--resume", "--no-progress"], capsys)
    assert_one_line_error(rc, err)
    assert sorted(p.name for p in cwd.iterdir()) == ["mine.txt"]


def test_evaluate_model_and_reference_agents(trained_run, tmp_path, capsys):
    rc, out, _ = run_cli(["evaluate", "--model", str(trained_run / "model.zip"), "--episodes", "6", "--no-progress"], capsys)
    assert rc == 0
    assert "dqn on FourRooms-Dynamic-v0: 6 held-out episodes (seeds 1000000..1000005), greedy" in out
    assert "success rate" in out and "path efficiency" in out and "oracle           100.0% success" in out
    data = json.loads((trained_run / "evaluation_6.json").read_text())
    assert data["summary"]["episodes"] == 6 and data["seed_offset"] == 1_000_000 and data["agent"] == "dqn"
    assert data["encoding"]["obs_mode"] == "onehot" and data["device"] == "cpu"
    assert [r["seed"] for r in data["records"]] == list(range(1_000_000, 1_000_006))
    assert out.strip().splitlines()[-1] == f"outputs written to {trained_run / 'evaluation_6.json'}"
    target = tmp_path / "oracle.json"
    rc, out, _ = run_cli(["evaluate", "--agent", "oracle", "--env", ENV, "--episodes", "20",
                          "--json", str(target), "--no-progress"], capsys)  # fmt: skip
    assert rc == 0 and str(target) in out
    summary = json.loads(target.read_text())["summary"]
    assert summary["success_rate"] == 1.0 and summary["path_efficiency"] == pytest.approx(1.0)
    rc, _, err = run_cli(["evaluate", "--agent", "random", "--env", ENV, "--episodes", "2", "--seed-offset", "5",
                          "--json", str(tmp_path / "r.json"), "--no-progress"], capsys)  # fmt: skip
    assert rc == 0 and "not held-out episodes" in err


def test_watch_frames_show_the_model_values(trained_run):
    from agents.harness.loading import load_agent
    from agents.watch import record_frames

    agent = load_agent(trained_run, device="cpu")
    frames = record_frames(agent, 1, 1_000_000, on_frame=lambda frame: False)  # the first frame only
    assert len(frames) == 1 and frames[0].shape[1] > 352  # the maze and the side panel
    maze = agent.env_fn(render_mode="rgb_array")
    maze.reset(seed=1_000_000)
    assert (frames[0][: maze.render().shape[0], : maze.render().shape[1]] == maze.render()).all()


def test_watch_saves_a_gif(tmp_path, capsys):
    import imageio.v3 as iio

    gif = tmp_path / "oracle.gif"
    rc, out, _ = run_cli(["watch", "--agent", "oracle", "--env", ENV, "--episodes", "1", "--save", str(gif)], capsys)
    assert rc == 0 and out.startswith(f"outputs written to {gif} (")
    frames = iio.imread(gif, index=None)
    assert frames.ndim == 4 and frames.shape[2] > 352 and len(frames) > 2


@pytest.mark.slow
def test_watch_saves_gif_with_values(trained_run, tmp_path, capsys):
    import imageio.v3 as iio

    gif = tmp_path / "watch.gif"
    rc, out, _ = run_cli(["watch", "--model", str(trained_run), "--episodes", "1", "--save", str(gif)], capsys)
    assert rc == 0 and gif.is_file() and f"outputs written to {gif}" in out
    frames = iio.imread(gif, index=None)
    assert frames.ndim == 4 and frames.shape[2] > 352  # maze + the side panel
    gif2 = tmp_path / "oracle.gif"
    rc, _, _ = run_cli(["watch", "--agent", "oracle", "--env", "RandomDoorMaze-v0", "--episodes", "1", "--save", str(gif2)], capsys)
    assert rc == 0 and gif2.is_file()


def test_watch_window_headless(capsys):
    rc, out, _ = run_cli(["watch", "--agent", "random", "--env", ENV, "--episodes", "1", "--fps", "1000"], capsys)
    assert rc == 0 and "window closed" in out


def test_benchmark_small_suite(tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({
        "name": "tiny", "envs": [ENV], "algos": [{"algo": "dqn", "config": "cpu-small"}],
        "seeds": [0, 1], "steps": 40, "eval_freq": 20, "eval_episodes": 2, "final_episodes": 6,
        "n_envs": 2, "references": ["oracle", "random"], "device": "cpu", "overrides": TINY_OVERRIDES,
    }))  # fmt: skip
    out = tmp_path / "bench"
    # --workers 1: in this process (the pool and Ray paths: tests/test_benchmark_parallel.py)
    argv = ["benchmark", "--suite", str(suite), "--out", str(out), "--workers", "1", "--no-progress"]
    rc, stdout, _ = run_cli(argv, capsys)
    assert rc == 0 and f"outputs written to {out}/" in stdout
    assert "[1/2] dqn-cpu-small on FourRooms-Dynamic-v0, seed 0" in stdout
    md = (out / "results.md").read_text()
    assert "| dqn-cpu-small | 2 | 40 |" in md and "| oracle |" in md and "| random |" in md
    assert (out / "results.csv").read_text().count("\n") == 1 + 2 + 2  # header, 2 runs, 2 references
    results = json.loads((out / "results.json").read_text())
    assert results["summary"][0]["n_seeds"] == 2 and results["device"] == "cpu"
    assert [r["seed"] for r in results["runs"]] == [0, 1] and all(r["episodes"] == 6 for r in results["runs"])
    assert results["references"][0]["success_rate"] == 1.0  # the oracle
    run = read_run(out / "runs" / "dqn-cpu-small" / ENV / "seed1")
    assert run.seed == 1 and run.steps == 40 and run.hyperparams["buffer_size"] == 1000
    curves = ["env_steps", "optimizer_steps", "wall_time_s", "mean_length_optimizer_steps", "mean_length_wall_time_s"]
    for name in curves:
        assert (out / "curves" / f"{ENV}_{name}.png").stat().st_size > 1000
        assert f"(curves/{ENV}_{name}.png)" in md
    # Existing output: refused without --resume; with --resume the finished runs are reused.
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(out)], capsys)
    assert_one_line_error(rc, err, "already exists", "--resume")
    rc, stdout, _ = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--resume", "--no-progress"], capsys)
    assert rc == 0 and stdout.count("reusing the finished run") == 2


def test_demo_refuses_bad_input_before_touching_anything(tmp_path, capsys):
    out = tmp_path / "demo"
    before = _our_dir(out, "demo")
    rc, _, err = run_cli(["demo", "--out", str(out)], capsys)
    assert_one_line_error(rc, err, "already exists", "--force")
    for scale in ("0", "nan", "inf"):
        rc, _, err = run_cli(["demo", "--out", str(out), "--force", "--scale", scale], capsys)
        assert_one_line_error(rc, err, "--scale")
    assert sorted(p.name for p in out.iterdir()) == before


@pytest.mark.slow
def test_demo_tiny_scale(tmp_path, capsys):
    out = tmp_path / "demo"
    rc, stdout, _ = run_cli(["demo", "--out", str(out), "--scale", "0.02", "--episodes", "10", "--no-progress"], capsys)
    assert rc == 0
    for name in ("results.md", "results.json", "curves_env_steps.png", "curves_optimizer_steps.png", "hrm_dqn.gif"):
        assert (out / name).is_file(), name
    assert "| hrm-dqn |" in stdout and "| dqn-cnn |" in stdout and "| oracle |" in stdout and "| random |" in stdout
    results = json.loads((out / "results.json").read_text())
    from agents.demo import PRETRAINED_LABEL
    from agents.harness.pretrained import list_pretrained

    shipped = any(e["env_id"] == ENV and e["algo"] == "hrm-dqn" for e in list_pretrained())
    expected = {"hrm-dqn", "dqn-cnn", "oracle", "random", *([PRETRAINED_LABEL] if shipped else [])}
    assert results["episodes"] == 10 and set(results["summaries"]) == expected
    assert all((out / run["run_dir"] / "model.zip").is_file() for run in results["runs"].values())
    assert (f"| {PRETRAINED_LABEL} |" in stdout) is shipped and (results["pretrained"] is not None) is shipped
    # Budgets at scale 0.02 (dqn-cnn 240, hrm-dqn 52 updates), or fewer when the (also scaled) wall-clock safety cap
    # comes first; the CNN trains the demo's recipe.
    from agents.demo import AGENTS, CNN_RECIPE

    runs = results["runs"]
    assert {label: run["update_budget"] for label, run in runs.items()} == {a.label: round(a.updates * 0.02) for a in AGENTS}
    assert runs["dqn-cnn"]["update_budget"] == 240 and runs["hrm-dqn"]["update_budget"] == 52
    assert CNN_RECIPE.items() <= runs["dqn-cnn"]["overrides"].items()
    for run in runs.values():
        assert 0 < run["optimizer_steps"] <= run["update_budget"]
        assert run["optimizer_steps"] == run["update_budget"] or run["stopped_by_time_cap"]
    assert runs["hrm-dqn"]["config"] == "cpu" and runs["dqn-cnn"]["config"] == "cpu"
    assert runs["hrm-dqn"]["trained_in_parallel"] is ((os.cpu_count() or 1) >= 2)
    rc, _, err = run_cli(["demo", "--out", str(out)], capsys)
    assert_one_line_error(rc, err, "already exists")


# --- resume -------------------------------------------------------------------------------------------------


def test_resume_after_a_crash_continues_from_the_checkpoint(tmp_path, tiny_config, capsys):
    from stable_baselines3 import DQN

    out = tmp_path / "run"
    config = TrainConfig(algo="dqn", env_id=ENV, steps=120, config=str(tiny_config), out=out, device="cpu",
                         eval_freq=20, checkpoint_freq=20, progress=False)  # fmt: skip
    with pytest.raises(RuntimeError, match="simulated"):
        train(config, callbacks=[AtStep(70, raising(RuntimeError))])
    paths = RunPaths(out)
    crashed = read_state(paths)
    assert crashed.env_steps == 60 and crashed.optimizer_steps > 0 and not paths.model.exists()
    assert [r["env_steps"] for r in read_eval_rows(paths.evaluations)] == [20, 40, 60]

    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", ENV, "--steps", "120", "--out", str(out)], capsys)
    assert_one_line_error(rc, err, "already exists", "--resume")

    rc, out_text, _ = run_cli(["train", "--resume", "--out", str(out), "--no-progress"], capsys)
    assert rc == 0 and "done: 120 env steps" in out_text
    state = read_state(paths)
    assert state.env_steps == 120 and state.resumes == 1
    assert [r["env_steps"] for r in read_eval_rows(paths.evaluations)] == [20, 40, 60, 80, 100, 120]
    checkpoint = latest_checkpoint(paths)
    model = DQN.load(checkpoint.model, device="cpu")
    model.load_replay_buffer(checkpoint.replay_buffer)
    assert model.num_timesteps == 120
    assert model.replay_buffer.size() == 120 // 2  # 60 vec steps x 2 envs, nothing lost at the crash point
    # DQN trains once per vec step after learning_starts: 30 vec steps after the checkpoint.
    assert model._n_updates == crashed.optimizer_steps + 30

    # Extending a finished run: --resume with a larger --steps.
    rc, _, _ = run_cli(["train", "--resume", "--out", str(out), "--steps", "140", "--no-progress"], capsys)
    assert rc == 0 and read_state(paths).env_steps == 140 and read_run(out).steps == 140


def test_keyboard_interrupt_saves_a_checkpoint(tmp_path, tiny_config):
    out = tmp_path / "run"
    config = TrainConfig(algo="dqn", env_id=ENV, steps=80, config=str(tiny_config), out=out, device="cpu", progress=False)
    result = train(config, callbacks=[AtStep(40, raising(KeyboardInterrupt))])
    assert result.interrupted and result.model_path is None
    # SB3 counts the step at 40 before the callback runs and stores its transitions after: the checkpoint
    # leaves that step out, so that its step count and its replay buffer agree.
    assert read_state(RunPaths(out)).env_steps == 38 and result.checkpoint_steps == 38
    result = train(TrainConfig(out=out, resume=True, device="cpu", progress=False))
    assert not result.interrupted and result.env_steps == 80 and result.model_path.is_file()


def test_sigterm_stops_train_like_ctrl_c(tmp_path, tiny_config, monkeypatch, capsys):
    """A run in the background (where SIGINT is ignored) is stopped with SIGTERM: checkpoint, exit 130, resumable."""
    real_train = agents.harness.training.train
    terminate = AtStep(40, lambda: os.kill(os.getpid(), signal.SIGTERM))  # as `kill PID` or a job scheduler would
    monkeypatch.setattr(agents.harness.training, "train", lambda config: real_train(config, callbacks=[terminate]))
    before = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "run"
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", ENV, "--config", str(tiny_config), "--steps", "80",
                          "--out", str(out), "--no-progress"], capsys)  # fmt: skip
    assert rc == 130 and "--resume" in err
    assert read_state(RunPaths(out)).env_steps == 38  # the Ctrl-C checkpoint (see the test above)
    assert signal.getsignal(signal.SIGTERM) is before  # the CLI's handler does not outlive the command
    monkeypatch.setattr(agents.harness.training, "train", real_train)
    rc, out_text, _ = run_cli(["train", "--resume", "--out", str(out), "--no-progress"], capsys)
    assert rc == 0 and "done: 80 env steps" in out_text


def test_resume_hrm_dqn(tmp_path, capsys):
    out = tmp_path / "hrm"
    config = TrainConfig(algo="hrm-dqn", env_id=ENV, steps=48, config="cpu-small", out=out, device="cpu", n_envs=4,
                         eval_freq=24, eval_episodes=2, checkpoint_freq=24, progress=False,
                         overrides={"learning_starts": 8, "batch_size": 4, "buffer_size": 500})  # fmt: skip
    with pytest.raises(RuntimeError):
        train(config, callbacks=[AtStep(32, raising(RuntimeError))])
    crashed = read_state(RunPaths(out))
    assert crashed.env_steps == 24 and crashed.optimizer_steps > 0
    buffer = latest_checkpoint(RunPaths(out)).replay_buffer
    buffer.rename(tmp_path / "aside.pkl")
    rc, _, err = run_cli(["train", "--resume", "--out", str(out), "--no-progress"], capsys)
    assert_one_line_error(rc, err, "replay buffer", "--allow-empty-buffer")
    (tmp_path / "aside.pkl").rename(buffer)
    result = train(TrainConfig(out=out, resume=True, device="cpu", progress=False))
    assert result.env_steps == 48 and result.optimizer_steps > crashed.optimizer_steps


def _crashed_dqn_run(out: Path, tiny_config: Path, at: int = 50) -> RunPaths:
    config = TrainConfig(algo="dqn", env_id=ENV, steps=120, config=str(tiny_config), out=out, device="cpu",
                         eval_freq=20, checkpoint_freq=20, progress=False)  # fmt: skip
    with pytest.raises(RuntimeError, match="simulated"):
        train(config, callbacks=[AtStep(at, raising(RuntimeError))])
    return RunPaths(out)


def test_resume_refuses_a_missing_replay_buffer_unless_asked(tmp_path, tiny_config, capsys):
    paths = _crashed_dqn_run(tmp_path / "run", tiny_config)
    latest_checkpoint(paths).replay_buffer.unlink()
    rc, _, err = run_cli(["train", "--resume", "--out", str(paths.root), "--no-progress"], capsys)
    assert_one_line_error(rc, err, "replay buffer", "--allow-empty-buffer")
    assert read_state(paths).env_steps == 40  # nothing changed
    rc, out, err = run_cli(["train", "--resume", "--out", str(paths.root), "--allow-empty-buffer", "--no-progress"], capsys)
    assert rc == 0 and "done: 120 env steps" in out and "empty replay buffer" in err


def test_resume_refuses_an_inconsistent_checkpoint(tmp_path, tiny_config, capsys):
    paths = _crashed_dqn_run(tmp_path / "run", tiny_config)
    latest, previous = paths.checkpoints / "step-000000040", paths.checkpoints / "step-000000020"
    assert latest_checkpoint(paths).dir == latest and previous.is_dir()  # the last two are kept
    saved = (latest / "replay_buffer.pkl").read_bytes()
    (latest / "replay_buffer.pkl").write_bytes((previous / "replay_buffer.pkl").read_bytes())  # a buffer of another step
    rc, _, err = run_cli(["train", "--resume", "--out", str(paths.root), "--no-progress"], capsys)
    assert_one_line_error(rc, err, "inconsistent", "replay buffer", "step-000000020")
    (latest / "replay_buffer.pkl").write_bytes(saved)
    state = json.loads((latest / "state.json").read_text())
    (latest / "state.json").write_text(json.dumps({**state, "env_steps": 60}))  # a state.json of another step
    rc, _, err = run_cli(["train", "--resume", "--out", str(paths.root), "--no-progress"], capsys)
    assert_one_line_error(rc, err, "inconsistent", "state.json")


def test_a_crash_while_writing_a_checkpoint_resumes_from_the_previous_one(tmp_path, tiny_config, monkeypatch, capsys):
    from stable_baselines3 import DQN

    original, calls = DQN.save, []

    def failing_save(self, path, *args, **kwargs):
        calls.append("checkpoints" in str(path))  # (best_model.zip saves are not checkpoints)
        if calls.count(True) == 3 and calls[-1]:  # the checkpoint at 60 env steps
            raise RuntimeError("simulated crash while saving")
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(DQN, "save", failing_save)
    out = tmp_path / "run"
    config = TrainConfig(algo="dqn", env_id=ENV, steps=120, config=str(tiny_config), out=out, device="cpu",
                         eval_freq=20, checkpoint_freq=20, progress=False)  # fmt: skip
    with pytest.raises(RuntimeError, match="simulated crash while saving"):
        train(config)
    monkeypatch.setattr(DQN, "save", original)
    assert read_state(RunPaths(out)).env_steps == 40
    rc, _, _ = run_cli(["train", "--resume", "--out", str(out), "--no-progress"], capsys)
    assert rc == 0
    checkpoint = latest_checkpoint(RunPaths(out))
    model = DQN.load(checkpoint.model, device="cpu")
    model.load_replay_buffer(checkpoint.replay_buffer)
    assert model.num_timesteps == 120 and model.replay_buffer.size() == 60  # one transition per env step, no more


@pytest.mark.parametrize("algo", ["dqn", "ppo"])
def test_resume_keeps_the_logs_and_redoes_an_interrupted_evaluation(algo, tmp_path, monkeypatch, capsys):
    from agents.harness.callback import TrainingCallback

    config_file = tmp_path / "tiny.yaml"
    config_file.write_text(yaml.safe_dump({ENV: TINY_DQN if algo == "dqn" else TINY_PPO}))
    out = tmp_path / "run"
    original = TrainingCallback.evaluate

    def interrupted_at_100(self):
        if self.model.num_timesteps == 100:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the evaluation at 100 env steps
        original(self)

    monkeypatch.setattr(TrainingCallback, "evaluate", interrupted_at_100)
    args = ["train", "--algo", algo, "--env", ENV, "--config", str(config_file), "--steps", "140", "--eval-freq", "20",
            "--checkpoint-freq", "40", "--out", str(out), "--no-progress"]  # fmt: skip
    rc, _, _ = run_cli(args, capsys)
    assert rc == 130
    progress_before = (out / "progress.csv").read_text().splitlines()
    assert len(progress_before) > 1
    monkeypatch.setattr(TrainingCallback, "evaluate", original)
    rc, _, _ = run_cli(["train", "--resume", "--out", str(out), "--no-progress"], capsys)
    assert rc == 0
    assert [r["env_steps"] for r in read_eval_rows(out / "evaluations.csv")] == [20, 40, 60, 80, 100, 120, 140]
    with (out / "progress.csv").open() as f:
        rows = list(csv.DictReader(f))
    eval_steps = [int(float(r["charts/env_steps"])) for r in rows if r.get("eval/success_rate")]
    assert eval_steps == [20, 40, 60, 80, 100, 120, 140]  # rows before the interruption kept, none twice
    header = progress_before[0].split(",")
    assert [r[header[0]] for r in rows[: len(progress_before) - 1]] == [line.split(",")[0] for line in progress_before[1:]]


def test_resume_refuses_options_the_run_fixed(trained_run, tmp_path, monkeypatch, capsys):
    before = (trained_run / "evaluations.csv").read_text()
    base = ["train", "--resume", "--out", str(trained_run), "--no-progress"]
    for extra, words in [(["--config", "cpu-small"], "--config"), (["--n-envs", "4"], "--n-envs"),
                         (["--eval-freq", "10"], "--eval-freq"), (["--eval-episodes", "9"], "--eval-episodes"),
                         (["--checkpoint-freq", "7"], "--checkpoint-freq"), (["--seed", "3"], "--seed"),
                         (["--force"], "--force"), (["--steps", "30"], "below")]:  # fmt: skip
        rc, _, err = run_cli([*base, *extra], capsys)
        assert_one_line_error(rc, err, words)
    assert (trained_run / "evaluations.csv").read_text() == before
    rc, _, err = run_cli([*base, "--seed", "0", "--steps", "60"], capsys)  # the run's own values: fine
    assert rc == 0, err
    monkeypatch.chdir(trained_run)  # resuming in place writes only into the run: allowed
    rc, _, err = run_cli(["train", "--resume", "--out", ".", "--no-progress"], capsys)
    assert rc == 0, err


# --- bad input: one line, exit code 2, no traceback ----------------------------------------------------------


def test_unknown_names_are_one_line_errors(capsys):
    rc, _, err = run_cli(["train", "--algo", "sac", "--env", ENV], capsys)
    assert_one_line_error(rc, err, "sac")
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", "CartPole-v1"], capsys)
    assert_one_line_error(rc, err, "CartPole-v1")
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", ENV, "--config", "nope"], capsys)
    assert_one_line_error(rc, err, "unknown config")
    rc, _, err = run_cli(["train", "--env", ENV], capsys)
    assert_one_line_error(rc, err, "--algo and --env")
    rc, _, err = run_cli(["frobnicate"], capsys)
    assert_one_line_error(rc, err)


def test_missing_and_corrupt_files_are_one_line_errors(trained_run, tmp_path, capsys):
    rc, _, err = run_cli(["evaluate", "--model", str(tmp_path / "missing.zip")], capsys)
    assert_one_line_error(rc, err, "does not exist")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "run.yaml").write_text((trained_run / "run.yaml").read_text())
    (corrupt / "model.zip").write_bytes(b"PK\x03\x04 definitely not a model")
    rc, _, err = run_cli(["evaluate", "--model", str(corrupt / "model.zip"), "--episodes", "2"], capsys)
    assert_one_line_error(rc, err, "corrupt")
    rc, _, err = run_cli(["watch", "--model", str(corrupt)], capsys)
    assert_one_line_error(rc, err, "corrupt")
    rc, _, err = run_cli(["evaluate", "--agent", "oracle"], capsys)
    assert_one_line_error(rc, err, "--env")
    rc, _, err = run_cli(["watch", "--agent", "oracle", "--env", ENV, "--save", "x.avi"], capsys)
    assert_one_line_error(rc, err, ".gif")
    rc, _, err = run_cli(["benchmark", "--suite", str(tmp_path / "none.yaml")], capsys)
    assert_one_line_error(rc, err, "does not exist")
    bad_suite = tmp_path / "bad.yaml"
    bad_suite.write_text(yaml.safe_dump({"envs": [ENV], "algos": ["dqn"], "seeds": [0, 100]}))
    rc, _, err = run_cli(["benchmark", "--suite", str(bad_suite)], capsys)
    assert_one_line_error(rc, err, "seeds", "[0, 99]")


def test_resume_errors(trained_run, tmp_path, capsys):
    rc, _, err = run_cli(["train", "--resume", "--out", str(tmp_path / "nothing")], capsys)
    assert_one_line_error(rc, err, "run.yaml")
    rc, _, err = run_cli(["train", "--resume"], capsys)
    assert_one_line_error(rc, err, "--resume needs --out")
    broken = tmp_path / "broken"
    shutil.copytree(trained_run, broken)
    checkpoint = latest_checkpoint(RunPaths(broken))
    checkpoint.model.write_bytes(b"garbage")
    rc, _, err = run_cli(["train", "--resume", "--out", str(broken), "--steps", "400"], capsys)
    assert_one_line_error(rc, err, "corrupt")
    checkpoint.state.write_bytes(b"\x89\xfe random bytes")
    rc, _, err = run_cli(["train", "--resume", "--out", str(broken), "--steps", "400"], capsys)
    assert_one_line_error(rc, err, "state.json is corrupt")
    checkpoint.state.write_text('{"env_steps": "sixty"}')
    rc, _, err = run_cli(["train", "--resume", "--out", str(broken), "--steps", "400"], capsys)
    assert_one_line_error(rc, err, "state.json is corrupt", "env_steps")
    rc, _, err = run_cli(["train", "--resume", "--out", str(trained_run), "--algo", "ppo"], capsys)
    assert_one_line_error(rc, err, "'dqn'")


@pytest.mark.parametrize(
    ("change", "words"),
    [({"learning_rate": "fast"}, ["learning_rate", "a finite number > 0", "'fast'"]),
     ({"batch_size": "big"}, ["batch_size", "positive integer", "'big'"]),
     ({"n_envs": "eight"}, ["n_envs", "positive integer"]),
     ({"gamma": "high"}, ["gamma", "[0, 1]"]),
     ({"gamma": 1.5}, ["gamma", "[0, 1]"]),
     ({"exploration_fraction": float("nan")}, ["exploration_fraction"]),
     ({"obs_mode": "pixels"}, ["obs_mode", "tokens, onehot, rgb", "'pixels'"]),
     ({"env_kwargs": {"p_change": 7}}, ["env rejects", "p_change"]),
     ({"env_kwargs": {"walls": 3}}, ["env rejects", "walls"]),
     ({"env_kwargs": [1]}, ["env_kwargs", "mapping"]),
     ({"policy_kwargs": {"net_arch": "wide"}}, ["bad hyperparameters"]),
     ({"learning_rat": 0.1}, ["unknown hyperparameter", "learning_rat"]),
     ({"seed": 3}, ["seed", "--seed"]),
     ("scalar", ["entry for FourRooms-Dynamic-v0", "must map"])],
    ids=lambda v: str(v)[:30],
)  # fmt: skip
def test_bad_hyperparameters_are_one_line_errors_before_anything_runs(change, words, tmp_path, capsys):
    entry = 5 if change == "scalar" else {**TINY_DQN, **change}
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({ENV: entry}, allow_unicode=True) if change == "scalar" or "nan" not in str(change)
                      else yaml.safe_dump({ENV: {**TINY_DQN, "exploration_fraction": ".nan"}}).replace("'.nan'", ".nan"))  # fmt: skip
    out = tmp_path / "run"
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", ENV, "--config", str(config), "--steps", "20",
                          "--out", str(out), "--no-progress"], capsys)  # fmt: skip
    assert_one_line_error(rc, err, *words)
    assert not out.exists()


@pytest.mark.parametrize(
    ("change", "words"),
    [({"algos": [5]}, ["algos", "5"]), ({"algos": [{"algo": "dqn", "lable": "x"}]}, ["lable"]),
     ({"algos": [{"algo": "dqn", "label": "../x"}]}, ["label", "folder name"]),
     ({"seeds": ["abc"]}, ["seeds", "'abc'"]), ({"seeds": 5}, ["seeds", "list"]), ({"seeds": [0, 0]}, ["different"]),
     ({"steps": "abc"}, ["steps", "'abc'"]), ({"steps": float("inf")}, ["steps"]), ({"overrides": [1, 2]}, ["overrides", "mapping"]),
     ({"algos": [{"algo": "dqn", "overrides": 3}]}, ["overrides", "mapping"]),
     ({"final_episodes": 0}, ["final_episodes", "positive"]), ({"eval_episodes": -1}, ["eval_episodes"]),
     ({"n_envs": "two"}, ["n_envs"]), ({"references": "oracle"}, ["references", "list"]),
     ({"references": ["oracle", "sage"]}, ["unknown reference", "'sage'", "memory-oracle"]),
     ({"device": "tpu"}, ["device"]), ({"envs": [3]}, ["envs"]), ({"name": "../up"}, ["name"]),
     ({"overrides": {"gamma": "high"}}, ["gamma", "[0, 1]"])],
    ids=lambda v: str(v)[:30],
)  # fmt: skip
def test_bad_suites_are_one_line_errors_before_anything_runs(change, words, tmp_path, tiny_config, capsys):
    suite = tmp_path / "suite.yaml"
    base = {"name": "s", "envs": [ENV], "algos": [{"algo": "dqn", "config": str(tiny_config)}], "seeds": [0], "steps": 20,
            "final_episodes": 4, "device": "cpu"}  # fmt: skip
    suite.write_text(yaml.safe_dump({**base, **change}))
    out = tmp_path / "bench"
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--no-progress"], capsys)
    assert_one_line_error(rc, err, *words)
    assert not out.exists()


def test_outputs_that_cannot_be_written_are_refused_before_the_work(trained_run, tmp_path, tiny_config, monkeypatch, capsys):
    import agents.harness.evaluation
    import agents.watch

    (tmp_path / "file").write_text("x")
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", ENV, "--config", str(tiny_config), "--steps", "20",
                          "--out", str(tmp_path / "file" / "run"), "--no-progress"], capsys)  # fmt: skip
    assert_one_line_error(rc, err, "not a directory")
    rc, _, err = run_cli(["demo", "--out", str(tmp_path / "file")], capsys)
    assert_one_line_error(rc, err, "is a file")

    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(agents.harness.evaluation, "run_episodes", no_work)
    monkeypatch.setattr(agents.watch, "record_frames", no_work)
    evaluate = ["evaluate", "--agent", "oracle", "--env", ENV, "--episodes", "2", "--no-progress"]
    for json_out, words in [(tmp_path / "file" / "r.json", "not a directory"), (tmp_path, "is a directory"),
                            (tmp_path / "file", "already exists")]:  # fmt: skip
        rc, _, err = run_cli([*evaluate, "--json", str(json_out)], capsys)
        assert_one_line_error(rc, err, words)
    for save, words in [(tmp_path / "file" / "w.gif", "not a directory"), (tmp_path / "x.avi", ".gif")]:
        rc, _, err = run_cli(["watch", "--agent", "oracle", "--env", ENV, "--save", str(save)], capsys)
        assert_one_line_error(rc, err, words)
    (tmp_path / "old.gif").write_bytes(b"GIF89a mine")
    rc, _, err = run_cli(["watch", "--agent", "oracle", "--env", ENV, "--save", str(tmp_path / "old.gif")], capsys)
    assert_one_line_error(rc, err, "already exists", "--force")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    rc, _, err = run_cli([*evaluate, "--json", str(tmp_path / "new.json")], capsys)
    assert_one_line_error(rc, err, "not writable")
    assert (tmp_path / "old.gif").read_bytes() == b"GIF89a mine"


@pytest.mark.parametrize(
    "args",
    [["evaluate", "--agent", "oracle", "--env", ENV, "--seed-offset", "-5"],
     ["evaluate", "--agent", "oracle", "--env", ENV, "--episodes", "inf"],
     ["evaluate", "--agent", "oracle", "--env", ENV, "--episodes", "1e400"],
     ["watch", "--agent", "oracle", "--env", ENV, "--seed", "-1"],
     ["watch", "--agent", "oracle", "--env", ENV, "--episodes", "nan"],
     ["watch", "--agent", "oracle", "--env", ENV, "--fps", "nan"],
     ["watch", "--agent", "oracle", "--env", ENV, "--fps", "0"],
     ["watch", "--agent", "oracle", "--env", ENV, "--fps", "-3"],
     ["watch", "--agent", "oracle", "--env", ENV, "--fps", "inf"],
     ["train", "--algo", "dqn", "--env", ENV, "--steps", "1e400"],
     ["train", "--algo", "dqn", "--env", ENV, "--eval-freq", "inf"],
     ["play", "--seed", "-2"],
     ["demo", "--episodes", "inf"], ["demo", "--scale", "nan"]],
    ids=lambda args: " ".join(args[:1] + args[-2:]),
)  # fmt: skip
def test_negative_seeds_and_non_finite_numbers_are_one_line_errors(args, capsys):
    rc, _, err = run_cli(args, capsys)
    assert_one_line_error(rc, err, args[-2])


def test_evaluate_refuses_a_model_of_another_algorithm_or_env(trained_run, tmp_path, capsys):
    from agents.harness.models import build_model, make_train_env

    hyperparams = {"policy": "HRMQPolicy", "obs_mode": "tokens", "buffer_size": 100, "learning_starts": 10,
                   "policy_kwargs": {"d_model": 16, "num_heads": 2, "H_layers": 1, "L_layers": 1, "segments": 1}}  # fmt: skip
    venv = make_train_env(ENV, hyperparams, 1, 0)
    hrm = tmp_path / "hrm.zip"
    build_model("hrm-dqn", hyperparams, venv, 0, "cpu").save(hrm)
    rc, _, err = run_cli(["evaluate", "--model", str(hrm), "--algo", "dqn", "--env", ENV, "--episodes", "2"], capsys)
    assert_one_line_error(rc, err, "is a hrm-dqn model, not a dqn model", "--algo hrm-dqn")
    bare = tmp_path / "dqn.zip"
    shutil.copy(trained_run / "model.zip", bare)
    rc, _, err = run_cli(["evaluate", "--model", str(bare), "--algo", "ppo", "--env", ENV, "--episodes", "2"], capsys)
    assert_one_line_error(rc, err, "not a ppo model")
    rc, _, err = run_cli(["evaluate", "--model", str(trained_run), "--env", "RandomDoorMaze-v0", "--episodes", "2"], capsys)
    assert_one_line_error(rc, err, "RandomDoorMaze-v0", "observations", "FourRooms-Dynamic-v0")
    rc, _, err = run_cli(["watch", "--model", str(trained_run), "--env", "RandomDoorMaze-v0", "--save", str(tmp_path / "w.gif")], capsys)
    assert_one_line_error(rc, err, "RandomDoorMaze-v0", "observations")


def test_evaluate_writes_next_to_a_bare_model_and_never_overwrites(trained_run, tmp_path, monkeypatch, capsys):
    models = tmp_path / "models"
    models.mkdir()
    for name in ("a.zip", "b.zip"):
        shutil.copy(trained_run / "model.zip", models / name)
    monkeypatch.chdir(tmp_path)
    written = []
    for name in ("a.zip", "b.zip", "a.zip"):
        rc, out, _ = run_cli(["evaluate", "--model", str(models / name), "--algo", "dqn", "--env", ENV, "--episodes", "2",
                              "--no-progress"], capsys)  # fmt: skip
        assert rc == 0
        written.append(out.strip().splitlines()[-1].removeprefix("outputs written to "))
    assert written == [str(models / "a.evaluation_2.json"), str(models / "b.evaluation_2.json"),
                       str(models / "a.evaluation_2-2.json")]  # fmt: skip
    assert not (tmp_path / "runs").exists()
    target = tmp_path / "mine.json"
    target.write_text("my results")
    evaluate = ["evaluate", "--agent", "oracle", "--env", ENV, "--episodes", "2", "--json", str(target), "--no-progress"]
    rc, _, err = run_cli(evaluate, capsys)
    assert_one_line_error(rc, err, "already exists", "--force")
    assert target.read_text() == "my results"
    rc, _, _ = run_cli([*evaluate, "--force"], capsys)
    assert rc == 0 and json.loads(target.read_text())["episodes"] == 2


def test_progress_in_a_log_is_lines_not_carriage_returns(tmp_path, tiny_config, capsys):
    out = tmp_path / "run"
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", ENV, "--config", str(tiny_config), "--steps", "60",
                          "--out", str(out)], capsys)  # fmt: skip
    assert rc == 0 and "\r" not in err
    lines = [line for line in err.splitlines() if line.startswith(f"dqn {ENV}:")]
    assert 1 <= len(lines) <= 11 and lines[-1].startswith(f"dqn {ENV}: 60/60 step (100%)")
    rc, _, err = run_cli(["evaluate", "--model", str(out), "--episodes", "20"], capsys)
    assert rc == 0 and "\r" not in err and "20/20 ep (100%)" in err


@pytest.mark.slow
def test_errors_in_a_real_process_have_no_traceback(tmp_path):
    done = subprocess.run(["hrm-mazes", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "train" in done.stdout and "demo" in done.stdout
    cases = [
        ["evaluate", "--model", str(tmp_path / "missing.zip")],
        ["train", "--algo", "dqn", "--env", "Nope-v0"],
        ["train", "--algo", "dqn", "--env", ENV, "--steps", "20", "--out", "", "--force"],
        ["demo", "--out", ".", "--force"],
        ["evaluate", "--agent", "oracle", "--env", ENV, "--seed-offset", "-5"],
        ["watch", "--agent", "oracle", "--env", ENV, "--fps", "nan"],
    ]
    (tmp_path / "mine.txt").write_text("mine")
    for args in cases:
        done = subprocess.run(["hrm-mazes", *args], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_parser_has_every_command_and_each_help_runs(capsys):
    [subparsers] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    commands = set(subparsers.choices)  # the real subparsers, not the words of the parser's description
    assert commands >= {"train", "evaluate", "benchmark", "watch", "play", "bench-env", "demo", "tune", "analyze"}
    for command in sorted(commands):
        rc, out, err = run_cli([command, "--help"], capsys)
        assert rc == 0 and out.startswith(f"usage: hrm-mazes {command}"), (command, err)


def test_play_delegates_to_hrm_mazes_play(monkeypatch, capsys):
    import hrm_mazes.play

    seen = {}
    monkeypatch.setattr(hrm_mazes.play, "main", lambda argv: seen.setdefault("argv", argv) and 0)
    rc, _, _ = run_cli(["play", "--env", "RandomDoorMaze-v0", "--seed", "3"], capsys)
    assert rc == 0 and seen["argv"] == ["--env", "RandomDoorMaze-v0", "--seed", "3"]


def test_bench_env_prints_the_throughput_table(capsys):
    assert main(["bench-env", "--seconds", "0.05", "--sizes", "8"]) == 0
    out = capsys.readouterr().out
    assert "MiniGrid-FourRooms-v0" in out and "vs MiniGrid" in out
    for env_id in ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0"):
        assert f"{env_id} (batched)" in out
    assert "Command: hrm-mazes bench-env" in out


def test_bench_env_bad_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench-env", "--sizes", "many"])
    assert exc.value.code == 2
    assert "--sizes" in capsys.readouterr().err


# --- validation episodes and best_model.zip ----------------------------------------------------------------


def test_periodic_evaluations_play_validation_episodes_and_keep_the_best_model(tmp_path, tiny_config, monkeypatch, capsys):
    import agents.harness.callback as callback
    from agents.harness.evaluation import EVAL_SEED_OFFSET, VALIDATION_SEED_OFFSET

    assert VALIDATION_SEED_OFFSET >= EVAL_SEED_OFFSET + 1_000_000  # disjoint from any test of up to 1M episodes
    offsets, real_evaluate = [], callback.evaluate
    scores = iter([0.2, 0.5, 0.5, 0.1, 0.3, 0.4])  # a made-up success rate per evaluation, in order

    def evaluate(*args, seed_offset, **kwargs):
        offsets.append(seed_offset)
        result = real_evaluate(*args, seed_offset=seed_offset, **kwargs)
        result.summary["success_rate"] = next(scores)
        return result

    monkeypatch.setattr(callback, "evaluate", evaluate)
    out = tmp_path / "run"
    args = ["train", "--algo", "dqn", "--env", ENV, "--config", str(tiny_config), "--steps", "80", "--eval-freq", "20",
            "--checkpoint-freq", "20", "--out", str(out), "--no-progress"]  # fmt: skip
    assert run_cli(args, capsys)[0] == 0
    assert offsets == [VALIDATION_SEED_OFFSET] * 4
    info = json.loads((out / "best_model.json").read_text())
    assert (info["env_steps"], info["success_rate"], info["seed_offset"]) == (40, 0.5, VALIDATION_SEED_OFFSET)  # first of a tie
    from stable_baselines3 import DQN

    assert DQN.load(out / "best_model.zip", device="cpu").num_timesteps == 40
    rc, stdout, err = run_cli(["evaluate", "--model", str(out / "best_model.zip"), "--episodes", "2", "--no-progress"], capsys)
    assert rc == 0 and "2 held-out episodes (seeds 1000000..1000001)" in stdout, err  # the run's run.yaml is found
    # a resumed run goes on from the best so far: 0.3 and 0.4 do not beat the 0.5 kept before the resume
    assert run_cli(["train", "--resume", "--out", str(out), "--steps", "120", "--no-progress"], capsys)[0] == 0
    assert json.loads((out / "best_model.json").read_text())["env_steps"] == 40
    assert [row["success_rate"] for row in read_eval_rows(out / "evaluations.csv")] == [0.2, 0.5, 0.5, 0.1, 0.3, 0.4]

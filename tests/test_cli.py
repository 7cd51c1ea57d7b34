"""The hrm-mazes command line: every subcommand with tiny budgets, resume after an interruption, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from stable_baselines3.common.callbacks import BaseCallback

from agents.cli import build_parser, main
from agents.training import RunPaths, read_eval_rows, read_state, train

TINY_DQN = ["--algo", "dqn", "--env", "FourRooms-Dynamic-v0", "--config", "cpu-small", "--n-envs", "2",
            "--eval-episodes", "4", "--no-progress"]  # fmt: skip


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        rc = main(args)
    except SystemExit as exit_:  # argparse: --help and usage errors
        rc = exit_.code
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc: int, err: str, *words: str) -> None:
    assert rc == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("hrm-mazes") and "error" in lines[0] and "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "dqn-run"
    assert main(["train", *TINY_DQN, "--steps", "300", "--out", str(out)]) == 0
    return out


# --- help and imports ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["benchmark"], ["watch"], ["play"], ["demo"]])
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
        "assert main(['play', '--env', 'RandomDoorMaze-v0', '--seed', '3']) == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    done = subprocess.run(["hrm-mazes", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "train" in done.stdout and "demo" in done.stdout


def test_play_delegates_to_hrm_mazes_play(monkeypatch, capsys):
    import hrm_mazes.play

    seen = {}
    monkeypatch.setattr(hrm_mazes.play, "main", lambda argv: seen.setdefault("argv", argv) and 0)
    rc, _, _ = run_cli(["play", "--env", "RandomDoorMaze-v0", "--seed", "3"], capsys)
    assert rc == 0 and seen["argv"] == ["--env", "RandomDoorMaze-v0", "--seed", "3"]


# --- the subcommands with tiny budgets ----------------------------------------------------------------------


def test_train_writes_a_complete_run(trained_run):
    paths = RunPaths(trained_run)
    for p in (paths.model, paths.checkpoint, paths.replay_buffer, paths.state, paths.evaluations, paths.run_yaml):
        assert p.is_file(), p
    assert any(paths.tensorboard.iterdir())
    run = yaml.safe_load(paths.run_yaml.read_text())
    assert run["algo"] == "dqn" and run["steps"] == 300 and run["device"] == "cpu"
    rows = read_eval_rows(paths.evaluations)
    assert rows[-1]["env_steps"] == 300
    header = (trained_run / "progress.csv").read_text().splitlines()[0]
    assert "charts/success_rate" in header or "charts/episodic_length" in header or "eval/success_rate" in header


def test_evaluate_model_and_reference_agents(trained_run, tmp_path, capsys):
    rc, out, _ = run_cli(["evaluate", "--model", str(trained_run / "model.zip"), "--episodes", "12", "--no-progress"], capsys)
    assert rc == 0 and "success rate" in out and "path efficiency" in out
    data = json.loads((trained_run / "evaluation_12.json").read_text())
    assert data["summary"]["episodes"] == 12 and data["seed_offset"] == 1_000_000
    target = tmp_path / "oracle.json"
    rc, out, _ = run_cli(["evaluate", "--agent", "oracle", "--env", "FourRooms-Dynamic-v0", "--episodes", "20",
                          "--json", str(target), "--no-progress"], capsys)  # fmt: skip
    assert rc == 0 and json.loads(target.read_text())["summary"]["success_rate"] == 1.0
    assert str(target) in out


def test_watch_saves_gif_with_values(trained_run, tmp_path, capsys):
    import imageio.v3 as iio

    gif = tmp_path / "watch.gif"
    rc, out, _ = run_cli(["watch", "--model", str(trained_run), "--episodes", "1", "--save", str(gif)], capsys)
    assert rc == 0 and gif.is_file() and str(gif) in out
    frames = iio.imread(gif, index=None)
    assert frames.ndim == 4 and frames.shape[2] > 352  # maze + the side panel
    gif2 = tmp_path / "oracle.gif"
    rc, _, _ = run_cli(["watch", "--agent", "oracle", "--env", "RandomDoorMaze-v0", "--episodes", "1", "--save", str(gif2)], capsys)
    assert rc == 0 and gif2.is_file()


def test_watch_window_headless(capsys):
    rc, out, _ = run_cli(["watch", "--agent", "random", "--env", "FourRooms-Dynamic-v0", "--episodes", "1", "--fps", "1000"], capsys)
    assert rc == 0


def test_benchmark_small_suite(tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({
        "name": "tiny", "envs": ["FourRooms-Dynamic-v0"], "algos": [{"algo": "dqn", "config": "cpu-small"}],
        "seeds": [0, 1], "steps": 200, "eval_freq": 100, "eval_episodes": 4, "final_episodes": 10,
        "n_envs": 2, "references": ["oracle", "random"], "device": "cpu",
    }))  # fmt: skip
    out = tmp_path / "bench"
    rc, stdout, _ = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--no-progress"], capsys)
    assert rc == 0 and str(out) in stdout
    md = (out / "results.md").read_text()
    assert "| dqn-cpu-small | 2 |" in md and "| oracle |" in md and "| random |" in md
    assert (out / "results.csv").read_text().count("\n") == 1 + 2 + 2  # header, 2 runs, 2 references
    assert json.loads((out / "results.json").read_text())["summary"][0]["n_seeds"] == 2
    for x in ("env_steps", "optimizer_steps"):
        assert (out / "curves" / f"FourRooms-Dynamic-v0_{x}.png").stat().st_size > 1000
    # Existing output: refused without --resume; with --resume the finished runs are reused.
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(out)], capsys)
    assert_one_line_error(rc, err, "already exists")
    rc, stdout, _ = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--resume", "--no-progress"], capsys)
    assert rc == 0 and "reusing" in stdout


def test_demo_tiny_scale(tmp_path, capsys):
    out = tmp_path / "demo"
    rc, stdout, _ = run_cli(["demo", "--out", str(out), "--scale", "0.02", "--episodes", "10", "--no-progress"], capsys)
    assert rc == 0
    for name in ("results.md", "results.json", "curves_env_steps.png", "curves_optimizer_steps.png", "hrm_dqn.gif"):
        assert (out / name).is_file(), name
    assert "| hrm-dqn |" in stdout and "| dqn |" in stdout and "| oracle |" in stdout and "| random |" in stdout
    rc, _, err = run_cli(["demo", "--out", str(out)], capsys)
    assert_one_line_error(rc, err, "already exists")


# --- resume -------------------------------------------------------------------------------------------------


class Crash(BaseCallback):
    """Simulates an interruption once ``at`` env steps are done."""

    def __init__(self, at: int, exc: type[BaseException]) -> None:
        super().__init__()
        self.at, self.exc = at, exc

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.at:
            raise self.exc("simulated interruption")
        return True


def test_resume_after_a_crash_continues_from_the_checkpoint(tmp_path, capsys):
    from stable_baselines3 import DQN

    out = tmp_path / "run"
    kwargs = dict(steps=800, config="cpu-small", out=out, device="cpu", n_envs=2, eval_freq=200, eval_episodes=4,
                  checkpoint_freq=200, progress=False, overrides={"learning_starts": 100})  # fmt: skip
    with pytest.raises(RuntimeError, match="simulated"):
        train("dqn", "FourRooms-Dynamic-v0", callbacks=[Crash(500, RuntimeError)], **kwargs)
    paths = RunPaths(out)
    crashed = read_state(paths)
    assert crashed.env_steps == 400 and crashed.optimizer_steps > 0 and not paths.model.exists()
    assert [r["env_steps"] for r in read_eval_rows(paths.evaluations)] == [200, 400]

    rc, _, err = run_cli(["train", *TINY_DQN, "--steps", "800", "--out", str(out)], capsys)
    assert_one_line_error(rc, err, "already exists", "--resume")

    rc, out_text, _ = run_cli(["train", "--resume", "--out", str(out), "--no-progress"], capsys)
    assert rc == 0 and "800 env steps" in out_text
    state = read_state(paths)
    assert state.env_steps == 800 and state.resumes == 1
    assert [r["env_steps"] for r in read_eval_rows(paths.evaluations)] == [200, 400, 600, 800]
    model = DQN.load(paths.checkpoint, device="cpu")
    model.load_replay_buffer(paths.replay_buffer)
    assert model.num_timesteps == 800
    assert model.replay_buffer.size() == 800 // 2  # 400 vec steps x 2 envs, nothing lost at the crash point
    # DQN trains once per vec step after learning_starts: 150 (before the crash) + 200 (after).
    assert model._n_updates == crashed.optimizer_steps + 200

    # Extending a finished run: --resume with a larger --steps.
    rc, _, _ = run_cli(["train", "--resume", "--out", str(out), "--steps", "1000", "--no-progress"], capsys)
    assert rc == 0 and read_state(paths).env_steps == 1000


def test_keyboard_interrupt_saves_a_checkpoint(tmp_path):
    out = tmp_path / "run"
    result = train("dqn", "FourRooms-Dynamic-v0", steps=600, config="cpu-small", out=out, device="cpu", n_envs=2,
                   eval_episodes=2, progress=False, callbacks=[Crash(300, KeyboardInterrupt)])  # fmt: skip
    assert result.interrupted and result.model_path is None
    assert read_state(RunPaths(out)).env_steps == 300
    result = train(None, None, out=out, resume=True, device="cpu", progress=False)
    assert not result.interrupted and result.env_steps == 600


def test_resume_hrm_dqn(tmp_path):
    pytest.importorskip("agents.hrm_dqn")
    out = tmp_path / "hrm"
    kwargs = dict(steps=160, config="cpu-small", out=out, device="cpu", n_envs=4, eval_freq=80, eval_episodes=2,
                  checkpoint_freq=80, progress=False, overrides={"learning_starts": 40, "batch_size": 8})  # fmt: skip
    with pytest.raises(RuntimeError):
        train("hrm-dqn", "FourRooms-Dynamic-v0", callbacks=[Crash(100, RuntimeError)], **kwargs)
    assert read_state(RunPaths(out)).env_steps == 80
    result = train(None, None, out=out, resume=True, device="cpu", progress=False)
    assert result.env_steps == 160 and result.optimizer_steps > 0


# --- bad input: one line, exit code 2, no traceback ----------------------------------------------------------


def test_unknown_names_are_one_line_errors(capsys):
    rc, _, err = run_cli(["train", "--algo", "sac", "--env", "FourRooms-Dynamic-v0"], capsys)
    assert_one_line_error(rc, err, "sac")
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", "CartPole-v1"], capsys)
    assert_one_line_error(rc, err, "CartPole-v1")
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", "FourRooms-Dynamic-v0", "--config", "nope"], capsys)
    assert_one_line_error(rc, err, "unknown config")
    rc, _, err = run_cli(["train", "--algo", "dqn", "--env", "FourRooms-Dynamic-v0", "--steps", "-5"], capsys)
    assert_one_line_error(rc, err, "positive")
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
    rc, _, err = run_cli(["watch", "--agent", "oracle", "--env", "FourRooms-Dynamic-v0", "--save", "x.avi"], capsys)
    assert_one_line_error(rc, err, ".gif")
    rc, _, err = run_cli(["benchmark", "--suite", str(tmp_path / "none.yaml")], capsys)
    assert_one_line_error(rc, err, "does not exist")


def test_resume_errors(trained_run, tmp_path, capsys):
    rc, _, err = run_cli(["train", "--resume", "--out", str(tmp_path / "nothing")], capsys)
    assert_one_line_error(rc, err, "run.yaml")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("run.yaml",):
        (broken / name).write_text((trained_run / name).read_text())
    (broken / "checkpoints").mkdir()
    (broken / "checkpoints" / "state.json").write_text((trained_run / "checkpoints" / "state.json").read_text())
    (broken / "checkpoints" / "last.zip").write_bytes(b"garbage")
    rc, _, err = run_cli(["train", "--resume", "--out", str(broken), "--steps", "400"], capsys)
    assert_one_line_error(rc, err, "corrupt")
    rc, _, err = run_cli(["train", "--resume", "--out", str(trained_run), "--algo", "ppo"], capsys)
    assert_one_line_error(rc, err, "'dqn'")


def test_errors_in_a_real_process_have_no_traceback(tmp_path):
    cases = [
        ["evaluate", "--model", str(tmp_path / "missing.zip")],
        ["train", "--algo", "dqn", "--env", "Nope-v0"],
    ]
    for args in cases:
        done = subprocess.run(["hrm-mazes", *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_parser_lists_every_algorithm():
    text = build_parser().format_help()
    assert all(cmd in text for cmd in ("train", "evaluate", "benchmark", "watch", "play", "demo"))


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

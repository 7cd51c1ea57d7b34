"""Every script in examples/ runs to completion with a tiny budget (as a user would run it), and the docs build.

Fast layer: every example imports and parses its options in-process, the quick ones run end to end.
``slow``: the ones that train, in their own processes.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))


def run_example(name: str, *args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{Path(name).stem}", EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_has_a_test():
    tested = {"quickstart.py", "random_agent.py", "train_hrm_dqn.py", "compare_dqn.py", "record_video.py"}
    assert set(SCRIPTS) == tested


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_example_imports_and_has_help(name, capsys):
    module = load_example(name)
    with pytest.raises(SystemExit) as exit_:
        module.main(["--help"])
    assert exit_.value.code == 0 and "usage:" in capsys.readouterr().out


def test_quickstart(tmp_path):
    out = run_example("quickstart.py", "--env", "RandomDoorMaze-v0", "--out", str(tmp_path / "q.png"), cwd=tmp_path)
    assert "observation (11, 13) uint8" in out and (tmp_path / "q.png").is_file()


def test_random_agent(tmp_path):
    out = run_example("random_agent.py", "--episodes", "20", cwd=tmp_path)
    assert "random" in out and "oracle" in out and "100.0%" in out


def test_record_video_of_the_oracle(tmp_path, capsys):
    gif = tmp_path / "oracle.gif"
    assert load_example("record_video.py").main(["--episodes", "1", "--out", str(gif)]) == 0
    assert gif.is_file() and (tmp_path / "oracle_plain.gif").is_file() and "outputs written" in capsys.readouterr().out


@pytest.mark.slow
def test_train_hrm_dqn(tmp_path):
    out = run_example("train_hrm_dqn.py", "--steps", "160", "--episodes", "4", "--out", str(tmp_path / "m.zip"), cwd=tmp_path)
    assert "HRM-DQN after 160 env steps" in out and (tmp_path / "m.zip").is_file()


@pytest.mark.slow
def test_compare_dqn(tmp_path):
    out = run_example("compare_dqn.py", "--steps", "160", "--episodes", "4", "--out", str(tmp_path / "cmp"), cwd=tmp_path)
    for name in ("hrm-dqn", "dqn", "oracle", "random"):
        assert name in out
    for algo in ("hrm-dqn", "dqn"):
        assert (tmp_path / "cmp" / algo / "model.zip").is_file()


@pytest.mark.slow
def test_record_video(tmp_path):
    gif = tmp_path / "oracle.gif"
    out = run_example("record_video.py", "--episodes", "1", "--out", str(gif), cwd=tmp_path)
    assert gif.is_file() and (tmp_path / "oracle_plain.gif").is_file() and "outputs written" in out


def test_docs_build_strict(tmp_path):
    """The docs site builds with warnings as errors (broken links, pages missing from the nav)."""
    pytest.importorskip("mkdocs")
    root = EXAMPLES.parent
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=root, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()


def test_agents_extra_declares_what_the_sb3_progress_bar_needs():
    """``model.learn(progress_bar=True)`` (examples/train_hrm_dqn.py, a user's first script) needs tqdm and rich:
    both are declared in the ``agents`` extra, and SB3's callback builds in this install."""
    import configparser

    from stable_baselines3.common.callbacks import ProgressBarCallback

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parent.parent / "setup.cfg")
    declared = {line.split(">")[0].split("=")[0].strip() for line in cfg["options.extras_require"]["agents"].split("\n")}
    assert {"tqdm", "rich"} <= declared
    ProgressBarCallback()

"""benchmarks/gpu_check.py, the one-shot GPU check: without CUDA it stops in one line before any work, it never
overwrites an earlier result, and its CPU dry run (``--device cpu --tiny``) writes every phase's numbers to the
JSON and Markdown reports. Timings are never asserted, only that they are positive."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("gpu_check", None)


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check: error: ")
    return lines[0]


def test_without_cuda_stops_in_one_line_before_any_work(gpu_check, tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a machine that has a GPU
    out = tmp_path / "gpu"
    assert gpu_check.main(["--out", str(out)]) == 2  # the default is --device cuda
    line = one_error_line(capsys)
    assert "CUDA is not available" in line and "--device cpu --tiny" in line
    assert not out.exists()


def test_cpu_runs_only_the_dry_run(gpu_check, tmp_path, capsys):
    assert gpu_check.main(["--device", "cpu", "--out", str(tmp_path / "gpu")]) == 2
    assert "--tiny" in one_error_line(capsys)
    assert not (tmp_path / "gpu").exists()


def test_an_existing_run_dir_is_refused_before_any_work(gpu_check, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("someone else's")
    argv = ["--device", "cpu", "--tiny", "--out", str(tmp_path / "gpu"), "--run-dir", str(run_dir)]
    assert gpu_check.main(argv) == 2
    assert str(run_dir) in one_error_line(capsys)
    assert not (tmp_path / "gpu").exists() and (run_dir / "notes.txt").read_text() == "someone else's"


def test_outputs_never_overwrite_an_earlier_result(gpu_check, tmp_path):
    first = gpu_check.free_outputs(tmp_path, None)
    assert (first.json.name, first.markdown.name, first.model.name, first.run_dir.name) == (
        "gpu_check.json", "gpu_check.md", "gpu_check_model.zip", "gpu_check_run")  # fmt: skip
    first.json.write_text("{}")
    second = gpu_check.free_outputs(tmp_path, None)
    assert (second.json.name, second.markdown.name, second.run_dir.name) == ("gpu_check-2.json", "gpu_check-2.md", "gpu_check_run-2")
    second.run_dir.mkdir()  # any one of the names taken moves all of them on
    assert gpu_check.free_outputs(tmp_path, None).json.name == "gpu_check-3.json"
    assert gpu_check.free_outputs(tmp_path, str(tmp_path / "mine")).run_dir == tmp_path / "mine"


def test_pytest_summaries_are_counted(gpu_check):
    lines = [
        "ERROR tests/test_tune.py - ModuleNotFoundError: No module named 'optuna'",
        "ERROR tests/test_x.py::test_y - RuntimeError: boom",
        "FAILED tests/test_cuda_ready.py::test_cuda_paper_size_minibatch - AssertionError",
        "2 failed, 3 passed, 1 skipped, 851 deselected, 2 errors, 4 warnings in 31.20s",
    ]
    counts = gpu_check.parse_pytest(lines)
    assert {k: counts[k] for k in ("passed", "failed", "skipped", "deselected", "errors", "collection_errors")} == {
        "passed": 3, "failed": 2, "skipped": 1, "deselected": 851, "errors": 2, "collection_errors": 1}  # fmt: skip
    assert gpu_check.parse_pytest(["a::b", "3/854 tests collected (851 deselected) in 21.30s"])["collected"] == 3


@pytest.mark.slow
def test_cpu_dry_run_writes_every_phase(tmp_path):
    """The dry run as a user runs it (a subprocess), its tests phase narrowed to one file to keep it short."""
    out = tmp_path / "gpu"
    env = dict(os.environ, OMP_NUM_THREADS="1", HRM_MAZES_THREADS="1")
    argv = [sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--out", str(out), "--tests", "tests/test_cuda_ready.py"]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.splitlines()[-1].startswith(f"outputs written to {out / 'gpu_check.json'}")

    report = json.loads((out / "gpu_check.json").read_text())
    assert report["status"] == "ok" and report["dry_run"] is True
    assert report["command"].startswith("python benchmarks/gpu_check.py --device cpu --tiny")
    assert report["date"] and report["device"]["type"] == "cpu" and report["device"]["torch"]
    phases = report["phases"]
    assert list(phases) == ["cuda_tests", "hrm_steps", "env_steps", "training"]
    assert all(p["status"] == "ok" and p["wall_s"] > 0 for p in phases.values())

    tests = phases["cuda_tests"]
    assert tests["collect_only"] and tests["collected"] >= 2 and tests["exit_code"] == 0

    hrm = phases["hrm_steps"]
    assert [row["precision"] for row in hrm["rows"]] == ["bf16", "float32"]
    for row in hrm["rows"]:
        for key in ("optimizer_steps_per_s", "env_steps_per_s", "network_optimizer_steps_per_s", "learn_ms"):
            assert row[key] > 0

    envs = phases["env_steps"]["rows"]
    assert {row["env_id"] for row in envs} == {"FourRooms-Dynamic-v0", "RandomDoorMaze-v0"}
    assert len(envs) == 4 and all(row["steps_per_s"] > 0 for row in envs)

    training = phases["training"]
    assert training["env_steps"] > 0 and training["optimizer_steps"] > 0 and training["evaluations"]
    assert all(0.0 <= e["success_rate"] <= 1.0 for e in training["evaluations"])
    assert training["test"]["episodes"] == 20 and 0.0 <= training["test"]["success_rate"] <= 1.0
    assert (out / "gpu_check_model.zip").is_file() and (out / "gpu_check_run" / "evaluations.csv").is_file()

    markdown = (out / "gpu_check.md").read_text()
    for title in ("1. CUDA tests", "2. HRM-DQN optimizer steps/s", "3. batched env steps/s", "4. training"):
        assert f"## {title}" in markdown
    assert "cut off before it finished" not in markdown and "error:" not in markdown

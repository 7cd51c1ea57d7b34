"""``benchmarks/suite_curves.py``: the learning curves of a committed benchmark as numbers, and rliable's
statistics on the area under each seed's curve."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def suite_curves():
    spec = importlib.util.spec_from_file_location("suite_curves", ROOT / "benchmarks" / "suite_curves.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["suite_curves"] = module
    spec.loader.exec_module(module)
    return module


def write_run(root: Path, label: str, seed: int, successes: list[float]) -> None:
    run = root / "runs" / label / "FourRooms-Dynamic-v0" / f"seed{seed}"
    run.mkdir(parents=True)
    with (run / "evaluations.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["env_steps", "optimizer_steps", "wall_time_s", "episodes", "success_rate"])
        for i, value in enumerate(successes, start=1):
            writer.writerow([1000 * i, 30 * i, 10.0 * i, 200, value])


def test_areas_and_comparison(tmp_path, suite_curves, capsys):
    write_run(tmp_path, "a", 0, [0.2, 0.4, 0.6])
    write_run(tmp_path, "a", 1, [0.1, 0.3, 0.5])
    write_run(tmp_path, "b", 0, [0.0, 0.1, 0.2])
    write_run(tmp_path, "b", 1, [0.0, 0.0, 0.1])
    (tmp_path / "results.json").write_text(json.dumps({"suite": {"compare": [["a", "b"]]}}))
    runs = suite_curves.load_curves(tmp_path)["FourRooms-Dynamic-v0"]
    assert suite_curves.areas(runs) == {"a": pytest.approx([0.4, 0.3]), "b": pytest.approx([0.1, 1 / 30])}
    assert suite_curves.main(["--suite", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| 60 | 2,000 | 35.0% [30.0%, 40.0%] (2) | 5.0% [0.0%, 10.0%] (2) |" in out
    assert "| a | b | 1.00 |" in out  # every seed of a has a larger area than every seed of b


def test_committed_suite_reads(suite_curves, capsys):
    assert suite_curves.main(["--suite", str(ROOT / "results" / "carry-cpu-v2")]) == 0
    out = capsys.readouterr().out
    assert "hrm-dqn-carry | hrm-dqn-reset" in out and "| 3,937 | 128,000 |" in out

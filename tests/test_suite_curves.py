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


ENV = "FourRooms-Dynamic-v0"


def write_run(root: Path, label: str, seed: int, evaluations: list[tuple[int, float]]) -> None:
    """One run's evaluations.csv: ``(env steps, success rate)`` per evaluation, 30 optimizer steps per 1,000 env steps."""
    run = root / "runs" / label / ENV / f"seed{seed}"
    run.mkdir(parents=True)
    with (run / "evaluations.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["env_steps", "optimizer_steps", "wall_time_s", "episodes", "success_rate"])
        for env_steps, success in evaluations:
            writer.writerow([env_steps, 3 * env_steps // 100, env_steps / 100, 200, success])


@pytest.fixture
def suite(tmp_path) -> Path:
    """Label a: two seeds, three evaluations each; b: two seeds, one stopped after two evaluations; c: one seed
    evaluated once, between the others' evaluation points."""
    write_run(tmp_path, "a", 0, [(1000, 0.2), (2000, 0.4), (3000, 0.6)])
    write_run(tmp_path, "a", 1, [(1000, 0.1), (2000, 0.3), (3000, 0.5)])
    write_run(tmp_path, "b", 0, [(1000, 0.0), (2000, 0.1), (3000, 0.2)])
    write_run(tmp_path, "b", 1, [(1000, 0.0), (2000, 0.0)])
    write_run(tmp_path, "c", 0, [(1500, 0.5)])
    return tmp_path


# Per evaluation point, per label: the mean over the seeds evaluated there [lowest, highest] (how many); "-": none.
CURVE_TABLE = [
    "| optimizer steps | env steps | a: mean [min, max] | b: mean [min, max] | c: mean [min, max] |",
    "| ---: | ---: | --- | --- | --- |",
    "| 30 | 1,000 | 15.0% [10.0%, 20.0%] (2) | 0.0% [0.0%, 0.0%] (2) | - |",
    "| 45 | 1,500 | - | - | 50.0% [50.0%, 50.0%] (1) |",
    "| 60 | 2,000 | 35.0% [30.0%, 40.0%] (2) | 5.0% [0.0%, 10.0%] (2) | - |",
    "| 90 | 3,000 | 55.0% [50.0%, 60.0%] (2) | 20.0% [20.0%, 20.0%] (1) | - |",
]
# The area of a seed's curve is the mean of its evaluations; IQM of two seeds = their mean, and its bootstrap
# interval runs from the lower seed to the higher (each is drawn twice in a quarter of the resamples).
AREA_TABLE = [
    "| agent | seeds | area per seed | IQM | 95% CI |",
    "| --- | ---: | --- | ---: | --- |",
    "| a | 2 | 40.0%, 30.0% | 35.0% | [30.0, 40.0] |",
    "| b | 2 | 10.0%, 0.0% | 5.0% | [0.0, 10.0] |",
    "| c | 1 | 50.0% | 50.0% | not defined with one seed |",
    "",
    "| X | Y | P(X > Y) on the area | 95% CI |",
    "| --- | --- | ---: | --- |",
]


def test_only_the_runs_of_the_report_count_when_there_is_one(suite, suite_curves, capsys):
    """A suite still running has trials with half a curve: with a (partial) report, only its runs count."""
    (suite / "results.json").write_text(json.dumps({"suite": {}, "runs": [
        {"label": "a", "env_id": ENV, "seed": 0}, {"label": "a", "env_id": ENV, "seed": 1}, {"label": "b", "env_id": ENV, "seed": 0}]}))  # fmt: skip
    curves = suite_curves.load_curves(suite)[ENV]
    assert {label: sorted(seeds) for label, seeds in curves.items()} == {"a": [0, 1], "b": [0]}
    assert sorted(suite_curves.load_curves(suite, finished_only=False)[ENV]["b"]) == [0, 1]
    assert suite_curves.main(["--suite", str(suite)]) == 0
    assert "Left out, not in" in capsys.readouterr().out.splitlines()[0]


def test_curves_and_areas_match_hand_computed_values(suite, suite_curves):
    curves = suite_curves.load_curves(suite)
    assert list(curves) == [ENV] and {label: sorted(seeds) for label, seeds in curves[ENV].items()} == {
        "a": [0, 1], "b": [0, 1], "c": [0]}  # fmt: skip
    runs = curves[ENV]
    assert suite_curves.curve_table(runs) == CURVE_TABLE
    assert suite_curves.areas(runs) == {"a": pytest.approx([0.4, 0.3]), "b": pytest.approx([0.1, 0.0]), "c": [0.5]}


def test_areas_are_compared_on_the_suites_pairs_or_every_pair(suite, suite_curves, capsys):
    assert suite_curves.main(["--suite", str(suite)]) == 0  # no results.json: every pair
    out = capsys.readouterr().out.splitlines()
    start = out.index(AREA_TABLE[0])
    assert out[start : start + len(AREA_TABLE) + 3] == [*AREA_TABLE, "| a | b | 1.00 | [1.00, 1.00] |",
                                                        "| a | c | 0.00 | not defined with one seed |",
                                                        "| b | c | 0.00 | not defined with one seed |"]  # fmt: skip
    assert out[out.index(CURVE_TABLE[0]) : out.index(CURVE_TABLE[0]) + len(CURVE_TABLE)] == CURVE_TABLE
    (suite / "results.json").write_text(json.dumps({"suite": {"compare": [["a", "b"], ["a", "gone"]]}}))
    assert suite_curves.main(["--suite", str(suite)]) == 0  # the suite's pairs; one naming a label without runs: left out
    out = capsys.readouterr().out.splitlines()
    start = out.index(AREA_TABLE[0])
    assert out[start : start + len(AREA_TABLE) + 2] == [*AREA_TABLE, "| a | b | 1.00 | [1.00, 1.00] |", ""]


def test_the_committed_suite_still_parses(suite_curves, capsys):
    committed = ROOT / "results" / "carry-cpu-v2"
    assert suite_curves.main(["--suite", str(committed)]) == 0
    out = capsys.readouterr().out
    labels = sorted(p.name for p in (committed / "runs").iterdir() if p.is_dir())
    assert labels and "| optimizer steps | env steps | " + " | ".join(f"{x}: mean [min, max]" for x in labels) + " |" in out
    assert all(f"| {label} | " in out for label in labels) and "| X | Y | P(X > Y) on the area | 95% CI |" in out


def test_iqm_curves_need_every_seed_and_band_two_or_more(suite, suite_curves):
    runs = suite_curves.load_curves(suite)[ENV]
    curves = suite_curves.iqm_curves(runs)
    # a: two seeds at each point: IQM = their mean, band from the lower seed to the higher
    assert [(c["optimizer_steps"], c["n_seeds"]) for c in curves["a"]] == [(30, 2), (60, 2), (90, 2)]
    assert [c["iqm"] for c in curves["a"]] == pytest.approx([0.15, 0.35, 0.55])
    assert curves["a"][0]["ci"] == pytest.approx([0.1, 0.2])
    assert [c["optimizer_steps"] for c in curves["b"]] == [30, 60]  # seed 1 stopped: no IQM of one seed at 90
    assert curves["c"] == [{"env_steps": 1500, "optimizer_steps": 45, "n_seeds": 1, "iqm": 0.5, "ci": None}]
    table = suite_curves.iqm_table(runs)
    assert table[2] == "| 30 | 1,000 | 15.0% [10.0, 20.0] | 0.0% [0.0, 0.0] | - |"
    assert table[3] == "| 45 | 1,500 | - | - | 50.0% not defined with one seed |"
    assert table[5] == "| 90 | 3,000 | 55.0% [50.0, 60.0] | - | - |"


def test_updates_to_first_reach_a_success_rate_per_seed(suite, suite_curves):
    runs = suite_curves.load_curves(suite)[ENV]
    assert suite_curves.first_reach(runs["a"][0], 0.4) == 60 and suite_curves.first_reach(runs["a"][1], 0.4) == 90
    assert suite_curves.first_reach(runs["b"][1], 0.1) is None
    rows = suite_curves.reach_table(runs, (0.5,))
    assert "| a | 50% | 0: 90, 1: 90 | 2 of 2 |" in rows
    assert "| b | 50% | 0: never, 1: never | 0 of 2 |" in rows


def test_the_iqm_plot_is_written(suite, suite_curves, tmp_path, capsys):
    assert suite_curves.main(["--suite", str(suite), "--plot", str(tmp_path / "plots")]) == 0
    png = tmp_path / "plots" / f"{ENV}_iqm.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(png) in capsys.readouterr().out


def test_an_iqm_plot_on_a_full_disk_is_one_line_and_leaves_no_file(suite, suite_curves, tmp_path, monkeypatch, capsys):
    import errno
    import os

    from matplotlib.figure import Figure

    def savefig(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"\x89PNG half a figure")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Figure, "savefig", savefig)
    plots = tmp_path / "plots"
    with pytest.raises(SystemExit) as exit_:
        suite_curves.main(["--suite", str(suite), "--plot", str(plots)])
    png = plots / f"{ENV}_iqm.png"
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"python benchmarks/suite_curves.py: error: cannot write {png} (No space left on device)\n"
    assert list(plots.iterdir()) == []

"""``hrm-mazes benchmark``: trials on a process pool or Ray, ``--resume`` after an interruption, the rliable
statistics in the report, and the errors of ``--workers``, ``--ray`` and ``compare``.

The fast tests run the trials in this process (``--workers 1``) with a tiny DQN; the ``slow`` ones start
worker processes (a pool, a local Ray instance), which costs seconds of imports each.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from cli_helpers import AtStep, assert_one_line_error, raising, run_cli

import agents.harness.training
from agents.cli import main

ENV = "FourRooms-Dynamic-v0"
TINY_OVERRIDES = {"buffer_size": 1000, "learning_starts": 20, "policy_kwargs": {"net_arch": [32]}}


def write_suite(path: Path, seeds: list[int], steps: int = 40, **extra) -> Path:
    suite = {"name": "tiny", "envs": [ENV], "algos": [{"algo": "dqn", "config": "cpu-small"}], "seeds": seeds,
             "steps": steps, "eval_freq": steps // 2, "eval_episodes": 2, "final_episodes": 6, "n_envs": 2,
             "references": ["oracle"], "device": "cpu", "overrides": TINY_OVERRIDES, **extra}  # fmt: skip
    path.write_text(yaml.safe_dump(suite))
    return path


def run_dir(out: Path, seed: int, label: str = "dqn-cpu-small") -> Path:
    return out / "runs" / label / ENV / f"seed{seed}"


def file_times(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its modification time (ns)."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


# --- command line -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "x", "-2", "1.5"])
def test_bad_workers_is_a_usage_error(value, tmp_path, capsys):
    suite = write_suite(tmp_path / "suite.yaml", [0])
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(tmp_path / "out"), "--workers", value], capsys)
    assert_one_line_error(rc, err, "--workers", repr(value))
    assert not (tmp_path / "out").exists()


def test_ray_missing_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    suite = write_suite(tmp_path / "suite.yaml", [0])
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(tmp_path / "out"), "--ray", "local"], capsys)
    assert_one_line_error(rc, err, "--ray", "hrm-mazes[ray]", "'ray' extra")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("compare", "words"),
    [("dqn-cpu-small", ["compare", "list"]), ([["dqn-cpu-small", "nope"]], ["compare", "'nope'"]),
     ([["dqn-cpu-small", "dqn-cpu-small"]], ["compare", "two different labels"]), ([["dqn-cpu-small"]], ["compare"])],
    ids=str,
)  # fmt: skip
def test_bad_compare_is_a_one_line_error(compare, words, tmp_path, capsys):
    suite = write_suite(tmp_path / "suite.yaml", [0], compare=compare)
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(tmp_path / "out")], capsys)
    assert_one_line_error(rc, err, *words)
    assert not (tmp_path / "out").exists()


# --- resume -------------------------------------------------------------------------------------------------


def test_resume_retrains_only_the_unfinished_trial(tmp_path, capsys):
    suite = write_suite(tmp_path / "suite.yaml", [0, 1])
    out = tmp_path / "bench"
    rc, stdout, _ = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--workers", "1", "--no-progress"], capsys)
    assert rc == 0 and "[1/2] dqn-cpu-small on FourRooms-Dynamic-v0, seed 0: training" in stdout
    assert "[2/2] dqn-cpu-small on FourRooms-Dynamic-v0, seed 1: success" in stdout and "2/2 trials done" in stdout
    before = file_times(run_dir(out, 0))
    for name in ("model.zip", "trial.json"):  # as if the suite had stopped before trial 2 wrote its model
        (run_dir(out, 1) / name).unlink()
    rc, stdout, _ = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--resume", "--no-progress"], capsys)
    assert rc == 0
    assert f"[1/2] dqn-cpu-small on FourRooms-Dynamic-v0, seed 0: reusing the finished run in {run_dir(out, 0)}" in stdout
    assert "seed 1: resuming from its checkpoint" in stdout and "seed 0: resuming" not in stdout
    assert file_times(run_dir(out, 0)) == before  # not trained, not even evaluated again
    assert (run_dir(out, 1) / "model.zip").is_file()
    results = json.loads((out / "results.json").read_text())
    assert [r["seed"] for r in results["runs"]] == [0, 1] and all(r["episodes"] == 6 for r in results["runs"])
    # run directories are relative to the report, so that a copied or committed report still finds its runs
    assert [out / r["run_dir"] for r in results["runs"]] == [run_dir(out, 0), run_dir(out, 1)]
    assert not any(Path(r["run_dir"]).is_absolute() for r in results["runs"])


def test_an_interrupted_suite_keeps_finished_trials_and_resumes(tmp_path, monkeypatch, capsys):
    suite = write_suite(tmp_path / "suite.yaml", [0, 1], steps=60)
    out = tmp_path / "bench"
    real_train = agents.harness.training.train

    def train(config, callbacks=None):  # Ctrl-C in trial 2's first run only
        interrupt = config.seed == 1 and not config.resume
        return real_train(config, [AtStep(30, raising(KeyboardInterrupt))] if interrupt else callbacks)

    monkeypatch.setattr(agents.harness.training, "train", train)
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--workers", "1", "--no-progress"], capsys)
    assert rc == 130 and "interrupted" in err and f"--out {out} --resume" in err
    assert (run_dir(out, 0) / "model.zip").is_file() and not (run_dir(out, 1) / "model.zip").exists()
    assert (run_dir(out, 1) / "checkpoints" / "latest").is_file() and not (out / "results.json").exists()
    before = file_times(run_dir(out, 0))
    rc, stdout, _ = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--resume", "--no-progress"], capsys)
    assert rc == 0 and "seed 0: reusing the finished run" in stdout and "seed 1: resuming from its checkpoint" in stdout
    assert file_times(run_dir(out, 0)) == before
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert [r["env_steps"] for r in runs] == [60, 60]


def fresh_clone(out: Path) -> None:
    """Delete what git does not keep of a benchmark folder (.gitignore: models, checkpoints, TensorBoard logs)."""
    for path in [*out.rglob("*.zip"), *out.rglob(".hrm-mazes")]:
        path.unlink()
    for path in [*out.rglob("checkpoints"), *out.rglob("tb")]:
        shutil.rmtree(path)


def test_a_suite_runs_in_parts_on_machines_that_keep_only_the_committed_files(tmp_path, capsys):
    """Part 1 trains seeds 0 and 1 and is committed; part 2, on a fresh clone (no models, no checkpoints), adds
    seed 2: it trains seed 2 only and reports all three from the rows the finished trials recorded."""
    out = tmp_path / "bench"
    suite = write_suite(tmp_path / "suite.yaml", [0, 1])
    rc, _, _ = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--workers", "1", "--no-progress"], capsys)
    assert rc == 0
    first = json.loads((out / "results.json").read_text())["runs"]
    fresh_clone(out)
    (run_dir(out, 1) / "trial.json").write_text((run_dir(out, 1) / "trial.json").read_text().replace('"seed": 1', '"seed": 7'))
    before = file_times(run_dir(out, 0))
    suite = write_suite(tmp_path / "suite.yaml", [0, 1, 2])
    rc, stdout, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--resume", "--workers", "1", "--no-progress"], capsys)
    assert rc == 0, err
    assert "seed 0: reusing the result it recorded" in stdout and file_times(run_dir(out, 0)) == before
    assert "seed 1: training" in stdout  # its trial.json names another seed: not this trial's result
    assert "seed 2: training" in stdout and "seed 0: training" not in stdout
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert [r["seed"] for r in runs] == [0, 1, 2] and runs[0] == first[0]
    assert runs[1]["success_rate"] == first[1]["success_rate"]  # retrained: the same seed gives the same run


def test_a_finished_trial_of_another_recipe_is_not_reused(tmp_path, capsys):
    """A suite edited between its parts (here its batch size) does not report the old runs as the new recipe's."""
    out = tmp_path / "bench"
    suite = write_suite(tmp_path / "suite.yaml", [0])
    assert run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--workers", "1", "--no-progress"], capsys)[0] == 0
    before = file_times(out)
    for clone in (False, True):
        if clone:
            fresh_clone(out)
            before = file_times(out)
        write_suite(tmp_path / "suite.yaml", [0, 1], overrides={**TINY_OVERRIDES, "batch_size": 16})
        rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--resume", "--no-progress"], capsys)
        assert_one_line_error(rc, err, "seed 0", "other hyperparameters", "batch_size 64 -> 16", "overrides")
        assert file_times(out) == before


def test_report_only_reports_the_finished_trials_and_trains_nothing(tmp_path, capsys):
    out = tmp_path / "bench"
    rc, _, err = run_cli(["benchmark", "--suite", str(write_suite(tmp_path / "s.yaml", [0])), "--out", str(out),
                          "--report-only"], capsys)  # fmt: skip
    assert_one_line_error(rc, err, "--report-only", str(out), "does not exist")
    rc, _, _ = run_cli(["benchmark", "--suite", str(tmp_path / "s.yaml"), "--out", str(out), "--workers", "1", "--no-progress"], capsys)
    assert rc == 0
    suite = write_suite(tmp_path / "s.yaml", [0, 1])
    rc, _, err = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--report-only", "--force"], capsys)
    assert_one_line_error(rc, err, "--report-only", "--force")
    rc, stdout, _ = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--report-only", "--no-progress"], capsys)
    assert rc == 0 and "seed 1: not finished, left out of the report" in stdout
    assert not run_dir(out, 1).exists()
    report = json.loads((out / "results.json").read_text())
    assert [r["seed"] for r in report["runs"]] == [0]
    assert report["missing"] == ["dqn-cpu-small on FourRooms-Dynamic-v0, seed 1"]
    assert "**Partial report: 1 of 2 trials finished.** Not run yet: dqn-cpu-small on FourRooms-Dynamic-v0, seed 1" in (
        out / "results.md").read_text()
    rc, stdout, _ = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--resume", "--workers", "1", "--no-progress"], capsys)
    assert rc == 0 and "seed 1: training" in stdout
    report = json.loads((out / "results.json").read_text())
    assert report["missing"] == [] and "Partial" not in (out / "results.md").read_text()


# --- the report ---------------------------------------------------------------------------------------------


def test_report_has_the_rliable_statistics(tmp_path, capsys):
    suite = write_suite(tmp_path / "suite.yaml", [0, 1], algos=[{"algo": "dqn", "config": "cpu-small"},
                        {"algo": "dqn", "config": "cpu-small", "label": "dqn-b", "steps": 20}])  # fmt: skip
    out = tmp_path / "bench"
    rc, _, _ = run_cli(["benchmark", "--suite", str(suite), "--out", str(out), "--workers", "1", "--no-progress"], capsys)
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    aggregates = results["aggregates"]
    assert [(r["label"], r["n_seeds"]) for r in aggregates["iqm"]] == [("dqn-cpu-small", 2), ("dqn-b", 2)]
    for r in aggregates["iqm"]:
        assert r["scores"] == [run["success_rate"] for run in results["runs"] if run["label"] == r["label"]]
        assert r["ci"][0] <= r["iqm"] <= r["ci"][1]
    assert [(p["x"], p["y"]) for p in aggregates["probability_of_improvement"]] == [("dqn-cpu-small", "dqn-b")]
    md = (out / "results.md").read_text()
    assert "### Over training seeds (rliable)" in md and "| dqn-cpu-small | dqn-b |" in md
    assert md.index("| oracle |") < md.index("IQM success rate")  # after the table of means and Wilson CIs
    assert "success_lo" in (out / "results.csv").read_text().splitlines()[0]


# --- worker processes ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_process_pool_runs_and_resumes_trials(tmp_path, capfd):
    suite = write_suite(tmp_path / "suite.yaml", [0, 1, 2], steps=300)
    out = tmp_path / "bench"
    assert main(["benchmark", "--suite", str(suite), "--out", str(out), "--workers", "2"]) == 0
    stdout, stderr = capfd.readouterr()
    for seed in (0, 1, 2):  # workers print the start lines, this process the finish lines
        assert f"seed {seed}: training" in stdout and f"seed {seed}: success" in stdout
    assert "3/3 trials done" in stdout
    assert "dqn FourRooms-Dynamic-v0" not in stderr and "eval dqn-cpu-small" not in stderr  # no progress in workers
    results = json.loads((out / "results.json").read_text())
    assert [r["seed"] for r in results["runs"]] == [0, 1, 2] and all(r["env_steps"] == 300 for r in results["runs"])
    assert results["aggregates"]["iqm"][0]["n_seeds"] == 3
    before = file_times(run_dir(out, 0))
    for seed in (1, 2):  # as if stopped before these trials wrote their model and recorded their row
        for name in ("model.zip", "trial.json"):
            (run_dir(out, seed) / name).unlink()
    assert main(["benchmark", "--suite", str(suite), "--out", str(out), "--resume", "--workers", "2", "--no-progress"]) == 0
    stdout, _ = capfd.readouterr()
    assert "seed 0: reusing" in stdout and "seed 1: resuming" in stdout and "seed 2: resuming" in stdout
    assert file_times(run_dir(out, 0)) == before and (run_dir(out, 2) / "model.zip").is_file()


@pytest.mark.slow
def test_a_failed_trial_on_the_pool_lets_the_others_finish(tmp_path, capfd):
    """The runner's promise, through benchmark: a trial that fails in a worker process does not stop the others,
    and its error comes after them, one line naming the trial and the way on."""
    suite = write_suite(tmp_path / "suite.yaml", [0, 1])
    out = tmp_path / "bench"
    assert main(["benchmark", "--suite", str(suite), "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    (run_dir(out, 0) / "model.zip").write_bytes(b"not a zip")  # seed 0: a damaged model, evaluated again ...
    (run_dir(out, 0) / "evaluation_6.json").unlink()
    for name in ("model.zip", "trial.json"):  # ... while seed 1 resumes from its checkpoint
        (run_dir(out, 1) / name).unlink()
    capfd.readouterr()
    rc = main(["benchmark", "--suite", str(suite), "--out", str(out), "--resume", "--workers", "2", "--no-progress"])
    stdout, stderr = capfd.readouterr()
    assert rc == 2 and "seed 1: success" in stdout and "1/2 trials done" in stdout
    assert_one_line_error(rc, stderr, "[1/2] dqn-cpu-small on FourRooms-Dynamic-v0, seed 0: cannot load", "corrupt",
                          "the other trials finished", "--resume")  # fmt: skip
    assert (run_dir(out, 1) / "model.zip").is_file()


@pytest.mark.slow
def test_ray_runs_the_trials(tmp_path, capfd):
    pytest.importorskip("ray")
    suite = write_suite(tmp_path / "suite.yaml", [0, 1])
    out = tmp_path / "bench"
    assert main(["benchmark", "--suite", str(suite), "--out", str(out), "--ray", "local", "--no-progress"]) == 0
    stdout, _ = capfd.readouterr()
    assert "seed 0: success" in stdout and "seed 1: success" in stdout and "2/2 trials done" in stdout
    results = json.loads((out / "results.json").read_text())
    assert [r["seed"] for r in results["runs"]] == [0, 1] and all(r["episodes"] == 6 for r in results["runs"])
    # run directories are relative to the report, so that a copied or committed report still finds its runs
    assert [out / r["run_dir"] for r in results["runs"]] == [run_dir(out, 0), run_dir(out, 1)]
    assert not any(Path(r["run_dir"]).is_absolute() for r in results["runs"])
    import ray

    assert not ray.is_initialized()  # the local instance is shut down


SHIPPED_SUITES = sorted((Path(__file__).resolve().parents[1] / "benchmarks" / "suites").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED_SUITES, ids=lambda p: p.stem)
def test_every_shipped_suite_resolves_every_trial(path, tmp_path):
    """The suites in benchmarks/suites/ are commands the docs give: each must load, name its own file, and resolve
    every trial's config, hyperparameters and env (what ``benchmark`` checks before it trains anything)."""
    from agents.harness.benchmark.suites import load_suite, suite_jobs
    from agents.harness.training import resolve_fresh

    suite = load_suite(path)
    assert suite["name"] == path.stem
    jobs = suite_jobs(suite, tmp_path, "cpu", progress=False)
    assert len(jobs) == len(suite["envs"]) * len(suite["algos"]) * len(suite["seeds"])
    for _entry, config in jobs:
        resolved = resolve_fresh(config)
        assert resolved.steps == (config.steps or resolved.hyperparams["n_timesteps"])
    assert not any(tmp_path.iterdir())  # checking a suite writes nothing


def test_trials_run_seed_by_seed_so_that_a_stopped_suite_leaves_pairs(tmp_path):
    """Every algorithm's seed k comes before any seed k+1: a pool's first round, or a suite stopped early, holds
    Carry Z and Reset Z of the same seeds."""
    from agents.harness.benchmark.suites import load_suite, suite_jobs

    suite = load_suite(Path(__file__).resolve().parents[1] / "benchmarks" / "suites" / "carry-cpu-maze.yaml")
    jobs = suite_jobs(suite, tmp_path, "cpu", progress=False)
    assert [(entry["label"], config.seed) for entry, config in jobs] == [
        (label, seed) for seed in (0, 1, 2) for label in ("hrm-dqn-carry", "hrm-dqn-reset")]
    assert jobs[1][1].out == tmp_path / "runs" / "hrm-dqn-reset" / "RandomDoorMaze-v0" / "seed0"

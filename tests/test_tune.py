"""``hrm-mazes tune``: search spaces that build models, the pruning callback, tiny studies, resume and errors.

Trials here train a few hundred env steps with ``learning_starts`` just below the budget, so that every sampled
network takes a couple of optimizer steps and nothing more.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from cli_helpers import assert_one_line_error, run_cli

from agents.cli import main
from agents.harness.config import TuneConfig
from agents.harness.hyperparams import apply_overrides, check_hyperparams, load_preset
from agents.harness.models import build_model, make_train_env
from agents.harness.rundir import RunPaths, read_eval_rows
from agents.harness.tune.search_spaces import SEARCH_SPACES
from agents.harness.tune.study import prepare_study, run_trial

ENV = "FourRooms-Dynamic-v0"
TINY = {
    "dqn-cnn": {"policy": "MlpPolicy", "obs_mode": "onehot", "features_extractor": "grid-cnn",
                "features_extractor_kwargs": {"features_dim": 16, "channels": [4, 4]}, "n_envs": 2, "buffer_size": 1000,
                "learning_starts": 196, "batch_size": 16, "gamma": 0.95, "train_freq": 1, "gradient_steps": 1,
                "target_update_interval": 100, "exploration_fraction": 0.3, "policy_kwargs": {"net_arch": []},
                "eval_episodes": 2},
    "hrm-dqn": {"policy": "HRMQPolicy", "obs_mode": "tokens", "n_envs": 2, "buffer_size": 1000, "learning_starts": 196,
                "batch_size": 16, "tau": 0.01, "gamma": 0.95, "train_freq": 1, "gradient_steps": 1, "lr_warmup_steps": 10,
                "exploration_steps": 100,
                "policy_kwargs": {"d_model": 16, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1,
                                  "segments": 1, "readout": "agent", "carry": "last_token"},
                "eval_episodes": 2},
    "dqn-rconv": {"policy": "RConvQPolicy", "obs_mode": "onehot", "n_envs": 2, "buffer_size": 1000, "learning_starts": 196,
                  "batch_size": 16, "gamma": 0.95, "train_freq": 1, "gradient_steps": 1, "target_update_interval": 100,
                  "exploration_fraction": 0.3, "policy_kwargs": {"channels": 4, "iterations": 2}, "eval_episodes": 2},
    "ppo": {"policy": "MlpPolicy", "obs_mode": "onehot", "features_extractor": "grid-cnn",
            "features_extractor_kwargs": {"features_dim": 16, "channels": [4, 4]}, "n_envs": 16, "n_steps": 16,
            "batch_size": 16, "n_epochs": 1, "policy_kwargs": {"net_arch": []}, "eval_episodes": 2},
}  # fmt: skip


def tiny_config(tmp_path: Path, algo: str) -> Path:
    path = tmp_path / f"tiny-{algo}.yaml"
    path.write_text(yaml.safe_dump({ENV: TINY[algo]}))
    return path


def tune_args(tmp_path: Path, algo: str = "dqn-cnn", trials: int = 2) -> list[str]:
    return ["tune", "--algo", algo, "--env", ENV, "--trials", str(trials), "--minutes", "10",
            "--config", str(tiny_config(tmp_path, algo)), "--steps", "200", "--eval-freq", "100", "--device", "cpu",
            "--out", str(tmp_path / "study"), "--no-progress"]  # fmt: skip


def study_rows(out: Path) -> list[dict[str, str]]:
    with (out / "study.csv").open() as f:
        return list(csv.DictReader(f))


# --- search spaces ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", sorted(SEARCH_SPACES))
def test_every_sampled_override_set_builds_a_model(algo):
    space = SEARCH_SPACES[algo]
    base = space.undecided(TINY[algo])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(4):
        overrides = space.sample(study.ask())
        hyperparams = check_hyperparams(algo, ENV, apply_overrides(base, overrides), f"sample {overrides}")
        venv = make_train_env(ENV, hyperparams, hyperparams["n_envs"], seed=0)
        model = build_model(algo, hyperparams, venv, seed=0, device="cpu")
        for key in ("learning_rate", "batch_size"):
            assert getattr(model, key) == overrides[key]
        venv.close()


def test_the_dqn_cnn_space_decides_the_curriculum_itself():
    # RandomDoorMaze's dqn-cnn cpu preset has a curriculum: a sample that turns it off must not inherit it.
    from agents.harness.tune.search_spaces import CURRICULA

    space = SEARCH_SPACES["dqn-cnn"]
    preset = load_preset("dqn-cnn", "RandomDoorMaze-v0", "cpu")[0]
    assert "curriculum" in preset and "curriculum" in space.decides
    base = space.undecided(preset)
    for choice, settings in CURRICULA.items():
        trial = optuna.trial.FixedTrial({**FIXED_DQN_CNN, "curriculum": choice})
        hyperparams = apply_overrides(base, space.sample(trial))
        assert hyperparams.get("curriculum") == settings


FIXED_DQN_CNN = {"learning_rate": 1e-3, "batch_size": 64, "n_steps": 3, "target_update_interval": 2000,
                 "exploration_fraction": 0.2, "gradient_steps": 1, "double_q": True, "channels": "16-16",
                 "features_dim": 64}  # fmt: skip


@pytest.mark.parametrize("env", [ENV, "RandomDoorMaze-v0"])
def test_the_dqn_cnn_cpu_preset_is_a_point_of_its_space(env):
    from agents.harness.tune.search_spaces import base_params

    space = SEARCH_SPACES["dqn-cnn"]
    preset = load_preset("dqn-cnn", env, "cpu")[0]
    params = base_params(space, preset)
    assert params is not None and params["curriculum"] == ("off" if env == ENV else "2+2")
    kept = space.undecided(preset)
    assert apply_overrides(kept, space.sample(optuna.trial.FixedTrial(params))) == preset


@pytest.mark.parametrize("env", [ENV, "RandomDoorMaze-v0"])
def test_the_dqn_rconv_cpu_preset_is_a_point_of_its_space(env):
    from agents.harness.tune.search_spaces import base_params

    space = SEARCH_SPACES["dqn-rconv"]
    preset = load_preset("dqn-rconv", env, "cpu")[0]
    params = base_params(space, preset)
    assert params is not None and params["iterations"] == preset["policy_kwargs"]["iterations"]
    assert apply_overrides(space.undecided(preset), space.sample(optuna.trial.FixedTrial(params))) == preset


@pytest.mark.parametrize("change", [{"target_update_interval": 100}, {"learning_rate": 1.0}, {"double_q": None},
                                    {"features_extractor_kwargs": {"features_dim": 64, "channels": [4, 4]}}])
def test_a_preset_outside_the_space_has_no_base_params(change):
    from agents.harness.tune.search_spaces import base_params

    preset = {**load_preset("dqn-cnn", ENV, "cpu")[0], **change}
    assert base_params(SEARCH_SPACES["dqn-cnn"], preset) is None
    assert base_params(SEARCH_SPACES["ppo"], load_preset("ppo", ENV, None)[0]) is None  # ppo has no base function


# --- the pruning callback -----------------------------------------------------------------------------------


class AlwaysPrune(optuna.trial.FixedTrial):
    """A trial with fixed parameters whose pruner always says stop; it records what is reported."""

    def __init__(self, params: dict) -> None:
        super().__init__(params, number=0)
        self.reports: list[tuple[float, int]] = []

    def report(self, value: float, step: int) -> None:
        self.reports.append((value, step))

    def should_prune(self) -> bool:
        return True


def test_the_pruning_callback_stops_the_run_and_prunes_the_trial(tmp_path):
    config = TuneConfig(algo="dqn-cnn", env_id=ENV, trials=1, minutes=5, config=str(tiny_config(tmp_path, "dqn-cnn")),
                        steps=400, eval_freq=100, device="cpu", out=tmp_path / "study", progress=False)  # fmt: skip
    _, path, settings = prepare_study(config)
    trial = AlwaysPrune({**FIXED_DQN_CNN, "curriculum": "off"})
    with pytest.raises(optuna.TrialPruned):
        run_trial(trial, settings, path, progress=False)
    rows = read_eval_rows(RunPaths(path / "trials" / "trial-0000").evaluations)
    assert trial.reports == [(rows[0]["success_rate"], 100)]
    assert len(rows) == 1 and rows[0]["env_steps"] < 400  # stopped at the first evaluation, not at 400 steps
    assert (path / "trials" / "trial-0000" / "model.zip").is_file()  # a stopped run ends cleanly


# --- whole studies (each trial: ~1.5 s) ----------------------------------------------------------------------


@pytest.mark.slow
def test_a_tiny_dqn_cnn_study_writes_its_outputs_and_resumes(tmp_path, capsys):
    args = tune_args(tmp_path)
    out = tmp_path / "study"
    rc, stdout, err = run_cli(args, capsys)
    assert rc == 0, err
    assert [line.split(":")[0] for line in stdout.splitlines() if line.startswith("trial ")] == ["trial 0", "trial 1"]
    assert f"outputs written to {out}" in stdout
    hyperparams, _ = load_preset("dqn-cnn", ENV, out / "best.yaml")
    check_hyperparams("dqn-cnn", ENV, hyperparams, "best.yaml")
    best = min(study_rows(out), key=lambda row: -float(row["value"]))
    assert hyperparams["learning_rate"] == float(best["params_learning_rate"])
    assert [row["state"] for row in study_rows(out)] == ["COMPLETE", "COMPLETE"]
    summary = (out / "summary.md").read_text()
    assert "## Best trial" in summary and "hrm-mazes tune --algo dqn-cnn" in summary and "| 1 | complete |" in summary
    assert "greedy episodes, validation seeds 2,000,000+ (disjoint from the test episodes" in summary

    rc, _, err = run_cli(args, capsys)  # again, without --resume
    assert_one_line_error(rc, err, "already exists", "--resume")

    rc, stdout, err = run_cli([*with_option(args, "--trials", "3"), "--resume"], capsys)
    assert rc == 0, err
    assert len(study_rows(out)) == 3 and "trial 2:" in stdout
    summary = (out / "summary.md").read_text()  # the first command stays, the resume is added
    assert "- command: `hrm-mazes tune --algo dqn-cnn --env FourRooms-Dynamic-v0 --trials 2 " in summary
    assert "- continued with: `hrm-mazes tune --algo dqn-cnn --env FourRooms-Dynamic-v0 --trials 3 " in summary


@pytest.mark.slow
def test_a_study_whose_base_is_in_the_space_runs_it_as_trial_0(tmp_path, capsys):
    base = {**TINY["dqn-cnn"], "learning_rate": 1e-3, "batch_size": 64, "n_steps": 3, "target_update_interval": 2000,
            "exploration_fraction": 0.2, "double_q": True, "features_extractor_kwargs": {"features_dim": 64,
                                                                                          "channels": [16, 16]}}  # fmt: skip
    config = tmp_path / "in-space.yaml"
    config.write_text(yaml.safe_dump({ENV: base}))
    args = tune_args(tmp_path, trials=2)
    args[args.index("--config") + 1] = str(config)
    rc, stdout, err = run_cli(args, capsys)
    assert rc == 0, err
    rows = study_rows(tmp_path / "study")
    assert rows[0]["user_attrs_base_preset"] == "True" and rows[1]["user_attrs_base_preset"] == ""
    assert {k: rows[0][f"params_{k}"] for k in ("batch_size", "channels", "curriculum", "target_update_interval")} == {
        "batch_size": "64", "channels": "16-16", "curriculum": "off", "target_update_interval": "2000"}
    summary = (tmp_path / "study" / "summary.md").read_text()
    assert "yardstick: trial 0 runs the base preset itself (objective" in summary
    assert "| 0 (base preset) |" in summary and "trial 0 (base preset):" in stdout


@pytest.mark.slow
def test_a_tiny_hrm_dqn_study(tmp_path, capsys):
    rc, stdout, err = run_cli(tune_args(tmp_path, "hrm-dqn"), capsys)
    assert rc == 0, err
    hyperparams, _ = load_preset("hrm-dqn", ENV, tmp_path / "study" / "best.yaml")
    check_hyperparams("hrm-dqn", ENV, hyperparams, "best.yaml")
    assert ("target_update_interval" in hyperparams) == (hyperparams["tau"] == 0.001)
    assert hyperparams["policy_kwargs"]["num_heads"] == 2  # the base's policy settings are kept
    assert len(study_rows(tmp_path / "study")) == 2


# --- parallel studies: worker processes and Ray ---------------------------------------------------------------


def trial_dirs(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "trials").iterdir())


@pytest.mark.slow
def test_two_worker_processes_share_one_study_within_its_cap_and_resume_it(tmp_path, capfd):
    args = [*tune_args(tmp_path, trials=3), "--workers", "2"]
    out = tmp_path / "study"
    assert main(args) == 0
    stdout, _ = capfd.readouterr()
    assert "up to 3 trials in 10 min on 2 worker processes" in stdout and f"outputs written to {out}" in stdout
    rows = study_rows(out)
    assert [row["number"] for row in rows] == ["0", "1", "2"] and {row["state"] for row in rows} == {"COMPLETE"}
    pids = {row["user_attrs_worker_pid"] for row in rows}
    assert len(pids) == 2 and str(os.getpid()) not in pids  # two processes, neither of them this one
    assert len({row["params_learning_rate"] for row in rows}) == 3  # the workers' samplers draw different trials
    assert [row["user_attrs_run_dir"] for row in rows] == [f"trials/trial-{k:04d}" for k in range(3)]
    assert trial_dirs(out) == ["trial-0000", "trial-0001", "trial-0002"]
    assert sum(line.startswith("trial ") for line in stdout.splitlines()) == 3
    assert not list(out.glob("*.lock"))

    assert main([*with_option(args, "--trials", "5"), "--resume"]) == 0
    stdout, _ = capfd.readouterr()
    rows = study_rows(out)
    assert [row["number"] for row in rows] == ["0", "1", "2", "3", "4"] and {row["state"] for row in rows} == {"COMPLETE"}
    assert len({row["user_attrs_worker_pid"] for row in rows[3:]} - pids) == 2  # the new session's own two workers
    assert trial_dirs(out) == [f"trial-{k:04d}" for k in range(5)]
    summary = (out / "summary.md").read_text()
    assert "- continued with: `hrm-mazes tune --algo dqn-cnn --env FourRooms-Dynamic-v0 --trials 5 " in summary
    assert "--workers 2" in summary and "--resume" in summary


@pytest.mark.slow
def test_ray_workers_run_the_study(tmp_path, capfd):
    pytest.importorskip("ray")
    out = tmp_path / "study"
    assert main([*tune_args(tmp_path, trials=2), "--ray", "local"]) == 0
    stdout, _ = capfd.readouterr()
    assert "Ray task" in stdout and f"outputs written to {out}" in stdout
    rows = study_rows(out)
    assert [row["state"] for row in rows] == ["COMPLETE", "COMPLETE"] and (out / "best.yaml").is_file()
    assert str(os.getpid()) not in {row["user_attrs_worker_pid"] for row in rows}
    assert trial_dirs(out) == ["trial-0000", "trial-0001"]
    import ray

    assert not ray.is_initialized()  # the local instance is shut down


# --- errors and the command line ----------------------------------------------------------------------------


def with_option(args: list[str], option: str, value: str) -> list[str]:
    if option in args:
        args = list(args)
        args[args.index(option) + 1] = value
        return args
    return [*args, option, value]


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--trials", "0", ["--trials", "positive integer"]),
        ("--minutes", "-1", ["--minutes", "finite number > 0", "'-1'"]),
        ("--minutes", "nan", ["--minutes", "finite number > 0", "'nan'"]),
        ("--trial-minutes", "0", ["--trial-minutes", "finite number > 0"]),
        ("--algo", "qrdqn", ["qrdqn", "search space"]),
    ],
)
def test_bad_arguments_are_one_clear_line(tmp_path, capsys, option, value, words):
    rc, _, err = run_cli(with_option(tune_args(tmp_path), option, value), capsys)
    assert_one_line_error(rc, err, *words)
    assert not (tmp_path / "study").exists()


@pytest.mark.parametrize("value", ["0", "x", "1.5"])
def test_bad_workers_is_a_usage_error(value, tmp_path, capsys):
    rc, _, err = run_cli([*tune_args(tmp_path), "--workers", value], capsys)
    assert_one_line_error(rc, err, "--workers", repr(value))
    assert not (tmp_path / "study").exists()


def test_ray_missing_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    rc, _, err = run_cli([*tune_args(tmp_path), "--ray", "local"], capsys)
    assert_one_line_error(rc, err, "--ray", "hrm-mazes[ray]", "'ray' extra")
    assert not (tmp_path / "study").exists()


def test_resume_and_force_together_are_one_line(tmp_path, capsys):
    rc, _, err = run_cli([*tune_args(tmp_path), "--resume", "--force"], capsys)
    assert_one_line_error(rc, err, "--resume", "--force")


def test_an_existing_study_is_resumed_or_replaced_never_overwritten(tmp_path, capsys):
    args = tune_args(tmp_path)
    config = TuneConfig(algo="dqn-cnn", env_id=ENV, trials=1, minutes=1, config=str(tiny_config(tmp_path, "dqn-cnn")),
                        steps=200, out=tmp_path / "study")  # fmt: skip
    prepare_study(config)
    rc, _, err = run_cli(args, capsys)
    assert_one_line_error(rc, err, "already exists", "--resume", "--force")
    foreign = tmp_path / "mine"
    (foreign / "notes.txt").parent.mkdir()
    (foreign / "notes.txt").write_text("keep")
    rc, _, err = run_cli([*with_option(args, "--out", str(foreign)), "--force"], capsys)
    assert_one_line_error(rc, err, "was not created by hrm-mazes", "nothing is deleted")
    assert (foreign / "notes.txt").read_text() == "keep"


def test_a_study_scored_on_the_test_episodes_is_not_resumed(tmp_path, capsys):
    """A study from before periodic evaluations played validation episodes has no eval_seed_offset in tune.yaml (its
    trials played the test episodes): resuming it would mix trials scored on different episodes."""
    config = TuneConfig(algo="dqn-cnn", env_id=ENV, trials=1, minutes=1, config=str(tiny_config(tmp_path, "dqn-cnn")),
                        steps=200, out=tmp_path / "study")  # fmt: skip
    _, path, settings = prepare_study(config)
    assert settings["eval_seed_offset"] == 2_000_000
    old = {k: v for k, v in settings.items() if k != "eval_seed_offset"}
    (path / "tune.yaml").write_text(yaml.safe_dump(old, sort_keys=False))
    (path / "study.db").write_bytes(b"")  # never opened: the check comes first
    rc, _, err = run_cli([*tune_args(tmp_path), "--resume"], capsys)
    assert_one_line_error(rc, err, "--resume", "test episodes", "1,000,000+", "start a new study")
    assert yaml.safe_load((path / "tune.yaml").read_text()) == old and (path / "study.db").read_bytes() == b""


def test_resume_without_a_study_is_one_line(tmp_path, capsys):
    rc, _, err = run_cli([*tune_args(tmp_path), "--resume"], capsys)
    assert_one_line_error(rc, err, "--resume", "no study")


def test_tune_help_imports_neither_torch_nor_optuna():
    code = (
        "import sys\nfrom agents.cli import build_parser\n"
        "try:\n    build_parser().parse_args(['tune', '--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules and 'optuna' not in sys.modules, 'tune --help imported torch or optuna'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--trials" in result.stdout


@pytest.mark.parametrize("given, shown", [("cpu", "dqn-cnn cpu preset"), (None, "/pkg/dqn-cnn-cpu.yaml"),
                                          ("mine.yaml", "/pkg/dqn-cnn-cpu.yaml")])  # fmt: skip
def test_the_summary_names_a_bundled_base_preset_by_name(given, shown):
    from agents.harness.tune.study import _base_name

    assert _base_name({"algo": "dqn-cnn", "config_given": given, "config": "/pkg/dqn-cnn-cpu.yaml"}) == shown

"""Issue 22's reliability findings: a full disk, odd study paths, corrupt study files, a run resumed without its
replay buffer, a run.yaml that is not text, a model of another network, output paths checked before the work.

Each failure is one ``hrm-mazes: error: ...`` line naming the file and the cause, leaves no temporary file behind,
and keeps what was saved before (the last complete checkpoint stays resumable). A full disk is simulated by
making a write raise ``OSError(ENOSPC)`` partway, so that the tests need no ``mount``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from cli_helpers import AtStep, assert_one_line_error, raising, run_cli

import agents.harness.tune.study as tune_module
from agents.errors import UserError
from agents.harness.checkpoints import latest_checkpoint, read_state
from agents.harness.config import TrainConfig, TuneConfig
from agents.harness.rundir import RunPaths, check_location, save_model_atomic, write_atomic
from agents.harness.training import train
from agents.harness.tune.study import prepare_study, tune

ENV = "FourRooms-Dynamic-v0"
# A DQN small enough that a run of a hundred steps takes about a second, checkpoints included.
TINY_DQN = {"policy": "MlpPolicy", "obs_mode": "onehot", "n_envs": 2, "buffer_size": 1000, "learning_starts": 20,
            "batch_size": 16, "gamma": 0.95, "train_freq": 1, "gradient_steps": 1, "target_update_interval": 50,
            "exploration_fraction": 0.3, "policy_kwargs": {"net_arch": [32]}, "eval_episodes": 4}  # fmt: skip
TINY_DQN_CNN = {"policy": "MlpPolicy", "obs_mode": "onehot", "features_extractor": "grid-cnn",
                "features_extractor_kwargs": {"features_dim": 16, "channels": [4, 4]}, "n_envs": 2, "buffer_size": 1000,
                "learning_starts": 196, "batch_size": 16, "gamma": 0.95, "train_freq": 1, "gradient_steps": 1,
                "target_update_interval": 100, "exploration_fraction": 0.3, "policy_kwargs": {"net_arch": []},
                "eval_episodes": 2}  # fmt: skip


def disk_full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def leftovers(root: Path) -> list[str]:
    """Temporary files and folders anywhere under ``root``."""
    return sorted(os.fspath(p.relative_to(root)) for p in root.rglob("*") if ".tmp" in p.name)


def all_files(root: Path) -> dict[str, bytes]:
    return {os.fspath(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("configs") / "tiny-dqn.yaml"
    path.write_text(yaml.safe_dump({ENV: TINY_DQN}))
    return path


def train_args(tiny_config: Path, out: Path, steps: int = 80) -> list[str]:
    return ["train", "--algo", "dqn", "--env", ENV, "--config", str(tiny_config), "--steps", str(steps),
            "--eval-freq", "40", "--checkpoint-freq", "20", "--out", str(out), "--no-progress"]  # fmt: skip


# --- 1. a full disk ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", [1, 2], ids=["first checkpoint", "second checkpoint"])
def test_a_full_disk_at_a_checkpoint_is_one_line_and_keeps_the_last_one(failing, tmp_path, tiny_config, monkeypatch, capsys):
    from stable_baselines3 import DQN

    original, calls = DQN.save_replay_buffer, []

    def save_replay_buffer(self, path):
        calls.append(path)
        if len(calls) == failing:  # the disk fills up halfway through the buffer
            Path(path).write_bytes(b"\0" * 10_000)
            raise disk_full()
        return original(self, path)

    monkeypatch.setattr(DQN, "save_replay_buffer", save_replay_buffer)
    out = tmp_path / "run"
    rc, _, err = run_cli(train_args(tiny_config, out), capsys)
    assert_one_line_error(rc, err, "cannot write checkpoint", str(out / "checkpoints" / "step-"), "No space left on device")
    assert leftovers(out) == []
    paths = RunPaths(out)
    if failing == 1:
        assert latest_checkpoint(paths) is None and "--force" in err
        return
    assert latest_checkpoint(paths).dir.name == "step-000000020" and "step-000000020" in err and "--resume" in err
    assert sorted(p.name for p in paths.checkpoints.iterdir()) == ["latest", "step-000000020"]
    monkeypatch.setattr(DQN, "save_replay_buffer", original)  # space freed
    rc, stdout, err = run_cli(["train", "--resume", "--out", str(out), "--no-progress"], capsys)
    assert rc == 0 and "done: 80 env steps" in stdout, err


def test_a_file_written_whole_is_kept_old_and_leaves_no_temporary_file_on_a_full_disk(tmp_path, monkeypatch):
    target = tmp_path / "evaluations.csv"
    target.write_text("old")

    def fsync(fd):
        raise disk_full()  # (a full disk or quota can surface only when the data is flushed)

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        with pytest.raises(UserError, match=f"^cannot write {target} \\(No space left on device\\)$"):
            write_atomic(target, "new")
    assert target.read_text() == "old" and leftovers(tmp_path) == []

    class HalfSaver:
        def save(self, path):
            Path(path).write_bytes(b"PK\3\4 half a zip")
            raise disk_full()

    model = tmp_path / "model.zip"
    model.write_bytes(b"the old model")
    with pytest.raises(UserError, match=f"^cannot write {model} \\(No space left on device\\)$"):
        save_model_atomic(HalfSaver(), model)
    assert model.read_bytes() == b"the old model" and leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_watch_save_on_a_full_disk_leaves_no_file(suffix, tmp_path, monkeypatch):
    import imageio.v3 as iio

    from agents.watch import save_video

    def imwrite(path, frames, **kwargs):
        Path(path).write_bytes(b"GIF89a half a video")
        raise disk_full()

    monkeypatch.setattr(iio, "imwrite", imwrite)
    video = tmp_path / f"agent{suffix}"
    with pytest.raises(UserError) as error:
        save_video([np.zeros((8, 8, 3), np.uint8)] * 2, video, fps=5)
    assert str(error.value) == f"cannot write {video} (No space left on device)"
    assert list(tmp_path.iterdir()) == []


def fill_disk_at_figure(monkeypatch, failing: int = 1) -> list[str]:
    """The ``failing``-th PNG a figure saves writes half a file, then finds the disk full; the list records the
    files figures were saved to."""
    from matplotlib.figure import Figure

    original, saved_to = Figure.savefig, []

    def savefig(self, fname, *args, **kwargs):
        saved_to.append(os.fspath(fname))
        if len(saved_to) == failing:
            Path(fname).write_bytes(b"\x89PNG half a figure")
            raise disk_full()
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return saved_to


def test_a_full_disk_while_plotting_a_benchmark_curve_leaves_no_figure(tmp_path, monkeypatch):
    """The curves of a benchmark report (and of the demo, which draws them with the same function)."""
    from agents.harness.benchmark.report import write_report

    suite = {"name": "tiny", "final_episodes": 10, "envs": [ENV]}
    oracle = {"label": "oracle", "env_id": ENV, "success_rate": 1.0, "success_ci": [0.9, 1.0], "mean_length": 12.0,
              "length_ci": [11.0, 13.0], "path_efficiency": 1.0, "efficiency_ci": [1.0, 1.0]}  # fmt: skip
    fill_disk_at_figure(monkeypatch)
    out = tmp_path / "bench"
    png = out / "curves" / f"{ENV}_env_steps.png"
    with pytest.raises(UserError) as error:
        write_report(out, suite, [], [oracle], "cpu")
    assert str(error.value) == f"cannot write {png} (No space left on device)"
    assert [p for p in out.rglob("*") if p.is_file()] == []  # no half figure, no temporary file, no report


def test_a_full_disk_while_analyze_draws_its_figures_is_one_line_and_leaves_no_figure(tmp_path, monkeypatch, capsys):
    import gymnasium as gym

    from agents.hrm_dqn import HRMDQN

    model = tmp_path / "hrm.zip"
    tiny = dict(d_model=16, num_heads=2, H_layers=1, L_layers=1, H_cycles=1, L_cycles=1, segments=1, expansion=2.0,
                mlp_multiple=16)  # fmt: skip
    HRMDQN("HRMQPolicy", gym.make(ENV), buffer_size=100, device="cpu", seed=0, policy_kwargs=tiny).save(model)
    saved_to = fill_disk_at_figure(monkeypatch, failing=2)  # convergence.png is written, divergence.png is not
    out = tmp_path / "analysis"
    rc, _, err = run_cli(["analyze", "--model", str(model), "--env", ENV, "--episodes", "1", "--device", "cpu",
                          "--out", str(out), "--no-progress"], capsys)  # fmt: skip
    assert_one_line_error(rc, err, f"cannot write {out / 'divergence.png'}", "No space left on device")
    assert len(saved_to) == 2 and leftovers(tmp_path) == []
    assert sorted(p.name for p in out.iterdir()) == [".hrm-mazes", "analysis.json", "convergence.png"]
    monkeypatch.undo()  # space freed: the unfinished analysis is ours, and --force replaces it
    rc, stdout, err = run_cli(["analyze", "--model", str(model), "--env", ENV, "--episodes", "1", "--device", "cpu",
                               "--out", str(out), "--no-progress", "--force"], capsys)  # fmt: skip
    assert rc == 0 and (out / "divergence.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", err


@pytest.fixture
def fake_bench(monkeypatch):
    """``bench-env`` with every timed job replaced by a constant; the list records the jobs that ran."""
    from hrm_mazes import throughput

    ran = []
    monkeypatch.setattr(throughput, "bench_single", lambda *args, **kwargs: ran.append(args) or 1000.0)
    monkeypatch.setattr(throughput, "bench_vector", lambda *args, **kwargs: ran.append(args) or 50_000.0)
    monkeypatch.setattr(throughput, "batched_memory", lambda *args, **kwargs: (300.0, 143, 1 << 20, 1 << 24))
    return ran


def bench_env(args: list[str], capsys) -> tuple[int, str, str]:
    return run_cli(["bench-env", "--sizes", "1", *args], capsys)


def test_bench_env_checks_its_markdown_path_before_the_benchmark(fake_bench, tmp_path, capsys):
    (tmp_path / "a-file").write_text("keep")
    for bad, cause in ((tmp_path / "a-file" / "x.md", "is not a directory"), (tmp_path, "is a directory")):
        rc, _, err = bench_env(["--markdown", str(bad)], capsys)
        assert_one_line_error(rc, err, "--markdown", str(bad), cause)
        assert fake_bench == []  # refused before any row was timed
    assert (tmp_path / "a-file").read_text() == "keep"
    new = tmp_path / "new-folder" / "table.md"  # a missing folder is made, as for every other output file
    rc, stdout, err = bench_env(["--markdown", str(new)], capsys)
    assert rc == 0 and new.read_text().startswith("| ") and f"written to {new}" in stdout, err


def test_bench_env_markdown_on_a_full_disk_is_one_line_and_leaves_no_file(fake_bench, tmp_path, monkeypatch, capsys):
    def fsync(fd):
        raise disk_full()

    monkeypatch.setattr(os, "fsync", fsync)
    table = tmp_path / "table.md"
    rc, _, err = bench_env(["--markdown", str(table)], capsys)
    assert_one_line_error(rc, err, f"cannot write {table}", "No space left on device")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc, where nothing can be made even by root")
def test_an_out_path_where_nothing_can_be_made_is_refused_before_any_work(tmp_path, tiny_config, monkeypatch, capsys):
    real_access = os.access
    # root's view: os.access says every folder is writable (also /proc, where no file can be made)
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: str(path).startswith("/proc") or real_access(path, mode, **kw))
    with pytest.raises(UserError, match="cannot write run directory /proc/hrm-mazes-x: /proc is not writable"):
        check_location("/proc/hrm-mazes-x", "run directory")
    rc, _, err = run_cli(train_args(tiny_config, Path("/proc/hrm-mazes-x")), capsys)
    assert_one_line_error(rc, err, "/proc/hrm-mazes-x", "not writable")
    assert leftovers(tmp_path) == []


# --- 2. tune: study paths and corrupt study files ----------------------------------------------------------------


def tune_config(tmp_path: Path, out: Path, **changes) -> TuneConfig:
    config = tmp_path / "tiny-dqn-cnn.yaml"
    config.write_text(yaml.safe_dump({ENV: TINY_DQN_CNN}))
    settings = {"algo": "dqn-cnn", "env_id": ENV, "trials": 1, "minutes": 1, "config": str(config), "steps": 200,
                "eval_freq": 100, "device": "cpu", "out": out, "progress": False}  # fmt: skip
    return TuneConfig(**{**settings, **changes})


@pytest.fixture
def instant_trials(monkeypatch):
    """Trials that train nothing: each scores 0.5 at once (the study's storage is what these tests are about)."""

    def run_trial(trial, settings, study_dir, progress=True, keep_checkpoints=False):
        trial.set_user_attr("overrides", {})
        return 0.5

    monkeypatch.setattr(tune_module, "run_trial", run_trial)


@pytest.mark.parametrize("name", ["q?x", "p%20x", "a b#c;d"])
def test_a_study_directory_named_with_url_characters_is_written_and_resumed(name, tmp_path, instant_trials, capsys):
    out = tmp_path / "tu" / name
    result = tune(tune_config(tmp_path, out))
    assert result.finished == 1 and (out / "study.journal").is_file()
    assert sorted(p.name for p in (tmp_path / "tu").iterdir()) == [name]  # no study file written beside it
    result = tune(tune_config(tmp_path, out, trials=2, config=None, steps=None, eval_freq=None, resume=True))
    assert result.finished == 2


def to_sqlite(path: Path) -> Path:
    """The study in ``path`` as a study made before the journal holds it: in study.db (SQLite), no study.journal."""
    import optuna

    journal = path / "study.journal"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(os.fspath(journal)))
    optuna.copy_study(from_study_name="tune", from_storage=storage, to_storage=tune_module.storage_url(path / "study.db"))
    journal.unlink()
    return path / "study.db"


@pytest.mark.parametrize("name", ["study", "q?x", "a b#c;d"])
def test_a_study_made_before_the_journal_resumes_on_its_sqlite_file(name, tmp_path, instant_trials, capsys):
    """Older studies keep study.db: --resume continues them there (percent-encoded URL and all)."""
    out = tmp_path / "tu" / name
    tune(tune_config(tmp_path, out))
    db = to_sqlite(out)
    result = tune(tune_config(tmp_path, out, trials=2, config=None, steps=None, eval_freq=None, resume=True))
    assert result.finished == 2 and not (out / "study.journal").exists()
    assert len(tune_module._optuna().load_study(study_name="tune", storage=tune_module.storage_url(db)).trials) == 2
    assert sorted(p.name for p in (tmp_path / "tu").iterdir()) == [name]


def prepared_study(tmp_path: Path) -> Path:
    _, path, _ = prepare_study(tune_config(tmp_path, tmp_path / "study"))
    return path


def resume_args(path: Path) -> list[str]:
    return ["tune", "--algo", "dqn-cnn", "--env", ENV, "--trials", "2", "--minutes", "1", "--out", str(path), "--resume"]


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, b"- algo\n- env_id\n", b"algo: dqn-cnn\nenv_id: FourRooms-Dynamic-v0\n"],
                         ids=["random bytes", "a YAML list", "missing settings"])  # fmt: skip
def test_resume_with_a_corrupt_tune_yaml_is_one_line_naming_it(content, tmp_path, instant_trials, capsys):
    path = prepared_study(tmp_path)
    (path / "tune.yaml").write_bytes(content)
    (path / "study.db").write_bytes(b"")
    before = all_files(path)
    rc, _, err = run_cli(resume_args(path), capsys)
    assert_one_line_error(rc, err, str(path / "tune.yaml"), "corrupt")
    assert all_files(path) == before


@pytest.mark.parametrize("storage", ["study.journal", "study.db"])
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_resume_with_a_corrupt_study_file_is_one_line_naming_it(damage, storage, tmp_path, instant_trials, capsys):
    path = tmp_path / "study"
    tune(tune_config(tmp_path, path))
    file = to_sqlite(path) if storage == "study.db" else path / storage
    data = file.read_bytes()
    cut = data[: len(data) // 3].rstrip(b"\n")  # (a journal cut at a record's end is an earlier state of the study)
    file.write_bytes(cut if damage == "truncated" else b"not a database " * 100)
    before = all_files(path)
    rc, _, err = run_cli(resume_args(path), capsys)
    assert_one_line_error(rc, err, str(file), "corrupt")
    assert all_files(path) == before  # (commands.txt gets no line for a session that never ran)


# --- 3. a run resumed without its replay buffer ------------------------------------------------------------------


def test_a_run_resumed_without_its_replay_buffer_stays_resumable(tmp_path, tiny_config, capsys):
    out = tmp_path / "run"
    config = TrainConfig(algo="dqn", env_id=ENV, steps=120, config=str(tiny_config), out=out, device="cpu",
                         eval_freq=40, checkpoint_freq=20, progress=False)  # fmt: skip
    with pytest.raises(RuntimeError, match="simulated"):
        train(config, callbacks=[AtStep(50, raising(RuntimeError))])
    paths = RunPaths(out)
    latest_checkpoint(paths).replay_buffer.unlink()  # the checkpoint at 40 env steps loses its buffer
    resumed = TrainConfig(out=out, resume=True, allow_empty_buffer=True, device="cpu", progress=False)
    result = train(resumed, callbacks=[AtStep(70, raising(KeyboardInterrupt))])  # Ctrl-C after the next checkpoint
    assert result.interrupted and result.checkpoint_steps == 68
    assert read_state(paths).buffer_start == 40  # the buffer restarted empty at 40 env steps
    # The checkpoint before (60 env steps, the fallback an inconsistency would suggest) resumes too.
    (paths.checkpoints / "latest").write_text("step-000000060\n")
    rc, stdout, err = run_cli(["train", "--resume", "--out", str(out), "--steps", "80", "--no-progress"], capsys)
    assert rc == 0 and "done: 80 env steps" in stdout and "does not match" not in err, err
    rc, stdout, err = run_cli(["train", "--resume", "--out", str(out), "--steps", "120", "--no-progress"], capsys)
    assert rc == 0 and "done: 120 env steps" in stdout and "does not match" not in err, err
    assert read_state(paths).env_steps == 120 and read_state(paths).buffer_start == 40


# --- 4. smaller ones --------------------------------------------------------------------------------------------


def test_a_run_yaml_that_is_not_text_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.yaml").write_bytes(b"algo: dqn\n\xff\xfe\x00 not UTF-8\n")
    (run / "model.zip").write_bytes(b"PK")
    rc, _, err = run_cli(["train", "--resume", "--out", str(run), "--no-progress"], capsys)
    assert_one_line_error(rc, err, str(run / "run.yaml"), "corrupt", "UTF-8")
    rc, _, err = run_cli(["evaluate", "--model", str(run / "model.zip"), "--episodes", "2", "--no-progress"], capsys)
    assert_one_line_error(rc, err, str(run / "run.yaml"), "corrupt", "UTF-8")


def saved(tmp_path: Path, algo: str, hyperparams: dict) -> Path:
    from agents.harness.models import build_model, make_train_env

    venv = make_train_env(ENV, hyperparams, 1, 0)
    path = tmp_path / f"{algo}.zip"
    build_model(algo, hyperparams, venv, 0, "cpu").save(path)
    venv.close()
    return path


def test_a_model_is_told_apart_by_its_network(tmp_path, capsys):
    from agents.harness.models import saved_algos

    flat = {"policy": "MlpPolicy", "obs_mode": "onehot", "buffer_size": 100, "learning_starts": 10, "policy_kwargs": {"net_arch": [8]}}
    grid = {**flat, "features_extractor": "grid-cnn", "features_extractor_kwargs": {"features_dim": 8, "channels": [2, 2]}}
    dqn, double, grid_dqn = saved(tmp_path, "dqn", flat), saved(tmp_path, "dqn-cnn", grid), saved(tmp_path, "dqn-stack", grid)
    assert saved_algos(dqn) == ["dqn"]
    assert saved_algos(double) == ["dqn-cnn"]  # DoubleDQN records double_q
    assert saved_algos(grid_dqn) == ["dqn-cnn", "dqn-stack"]  # (a dqn-cnn model from before DoubleDQN looks the same)
    for algo in ("dqn-cnn", "dqn-stack"):
        rc, _, err = run_cli(["evaluate", "--model", str(dqn), "--algo", algo, "--env", ENV, "--episodes", "2"], capsys)
        assert_one_line_error(rc, err, f"is a dqn model, not a {algo} model", "--algo dqn")
    rc, _, err = run_cli(["evaluate", "--model", str(grid_dqn), "--algo", "dqn", "--env", ENV, "--episodes", "2"], capsys)
    assert_one_line_error(rc, err, "is a dqn-cnn / dqn-stack model, not a dqn model")


@pytest.mark.parametrize("train_freq, stops", [(3, [70]), (4, [70]), (3, [70, 70])])
def test_a_run_stopped_mid_rollout_resumes_onto_the_uninterrupted_schedule(train_freq, stops, tmp_path):
    """With train_freq = k > 1 a Ctrl-C inside a rollout used to shift every later rollout on resume (a 204-step
    run took 30 gradient steps instead of 31). Now the resumed run trains at the same steps and ends on the same
    counts, also when the first, shortened rollout after a resume is itself interrupted (the second case)."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({ENV: {**TINY_DQN, "train_freq": train_freq}}))
    base = dict(algo="dqn", env_id=ENV, steps=200, config=str(config), device="cpu", progress=False,
                eval_freq=1000, checkpoint_freq=1000)  # fmt: skip
    plain = train(TrainConfig(out=tmp_path / "plain", **base))
    out = tmp_path / "stopped"
    first = train(TrainConfig(out=out, **base), callbacks=[AtStep(stops[0], raising(KeyboardInterrupt))])
    assert first.interrupted and (first.checkpoint_steps // 2) % train_freq != 0  # stopped inside a rollout
    for at in stops[1:]:  # stopped again inside the shortened rollout that finishes the interrupted one
        again = train(TrainConfig(out=out, resume=True, device="cpu", progress=False),
                      callbacks=[AtStep(at + 2, raising(KeyboardInterrupt))])  # fmt: skip
        assert again.interrupted and again.checkpoint_steps == first.checkpoint_steps + 2
    resumed = train(TrainConfig(out=out, resume=True, device="cpu", progress=False))
    assert (resumed.env_steps, resumed.optimizer_steps) == (plain.env_steps, plain.optimizer_steps)


def test_an_on_policy_run_stopped_mid_rollout_resumes_onto_the_uninterrupted_schedule(tmp_path):
    """PPO learns from whole rollouts: a Ctrl-C inside one discards it, and the checkpoint now counts only the
    rollouts learned from, so the resumed run collects the same rollouts and ends on the same env steps (it used
    to end 14 env steps later, its schedule shifted by the discarded part)."""
    config = tmp_path / "tiny-ppo.yaml"
    config.write_text(yaml.safe_dump({ENV: {"policy": "MlpPolicy", "obs_mode": "onehot", "n_envs": 2, "n_steps": 10,
                                            "batch_size": 10, "n_epochs": 1, "policy_kwargs": {"net_arch": [16]}}}))  # fmt: skip
    base = dict(algo="ppo", env_id=ENV, steps=200, config=str(config), device="cpu", progress=False,
                eval_freq=1000, checkpoint_freq=1000)  # fmt: skip
    plain = train(TrainConfig(out=tmp_path / "plain", **base))
    out = tmp_path / "stopped"
    stopped = train(TrainConfig(out=out, **base), callbacks=[AtStep(74, raising(KeyboardInterrupt))])
    assert stopped.interrupted and stopped.checkpoint_steps == 60  # 3 whole rollouts of 10 steps x 2 envs
    resumed = train(TrainConfig(out=out, resume=True, device="cpu", progress=False))
    assert (resumed.env_steps, resumed.optimizer_steps) == (plain.env_steps, plain.optimizer_steps) == (200, 20)

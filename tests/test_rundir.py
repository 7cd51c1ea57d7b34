"""Run directories (agents.harness.rundir): what --force may delete, output files, checkpoints as one unit,
state.json and evaluations.csv that survive a crash. No training here: the checkpoint tests use a stand-in model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agents.errors import UserError
from agents.harness.checkpoints import RunState, latest_checkpoint, read_state, save_checkpoint
from agents.harness.rundir import RunPaths, append_eval_row, check_output_file, claim_output_dir, read_eval_rows

ROW = {"env_steps": 20, "optimizer_steps": 5, "wall_time_s": 1.5, "episodes": 4, "success_rate": 0.5,
       "success_lo": 0.1, "success_hi": 0.9, "mean_length": 40.0, "path_efficiency": 0.8}  # fmt: skip


# --- what --force may delete -------------------------------------------------------------------------------


def test_force_replaces_a_directory_hrm_mazes_made(tmp_path):
    run = claim_output_dir(tmp_path / "run", force=False).create()
    (run / "run.yaml").write_text("algo: dqn\n")
    (run / "checkpoints").mkdir()
    (run / "analysis").mkdir()  # written by 'hrm-mazes analyze' into the run directory
    (run / "analysis" / "analysis.json").write_text("{}")
    claim_output_dir(run, force=True).create()
    assert run.is_dir() and not (run / "run.yaml").exists()
    # A run directory from before the marker file: recognised by its run.yaml.
    old = tmp_path / "old"
    old.mkdir()
    (old / "run.yaml").write_text("algo: dqn\n")
    (old / "evaluations.csv").write_text("env_steps\n")
    claim_output_dir(old, force=True).create()
    assert not (old / "run.yaml").exists()


@pytest.mark.parametrize("extra", [None, "keep.txt"])
def test_force_never_deletes_a_directory_that_is_not_ours(tmp_path, extra):
    target = tmp_path / "target"
    if extra is None:  # a user's directory
        target.mkdir()
        (target / "notes.txt").write_text("mine")
        words = "not created by hrm-mazes"
    else:  # ours, but someone put a file in it
        claim_output_dir(target, force=False).create()
        (target / "run.yaml").write_text("algo: dqn\n")
        (target / extra).write_text("mine")
        words = extra
    before = sorted(p.name for p in target.iterdir())
    with pytest.raises(UserError, match=words):
        claim_output_dir(target, force=True)
    assert sorted(p.name for p in target.iterdir()) == before


def test_force_refuses_a_directory_of_another_kind(tmp_path):
    suite = claim_output_dir(tmp_path / "bench", force=False, kind="suite").create()
    (suite / "suite.yaml").write_text("name: x\n")
    with pytest.raises(UserError, match="benchmark output directory, not a run directory"):
        claim_output_dir(suite, force=True, kind="run")
    assert (suite / "suite.yaml").is_file()


@pytest.mark.parametrize("force", [False, True])
def test_the_working_directory_its_parents_and_home_are_never_output_directories(tmp_path, monkeypatch, force):
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True)
    (cwd / "mine.txt").write_text("mine")
    monkeypatch.chdir(cwd)
    for path, words in [("", "empty"), (".", "current directory"), (str(cwd), "current directory"),
                        ("..", "parent"), (str(tmp_path), "parent"), ("/", "parent"),
                        (str(Path.home()), "home")]:  # fmt: skip
        with pytest.raises(UserError, match=words):
            claim_output_dir(path, force=force)
    assert (cwd / "mine.txt").read_text() == "mine"


def test_output_directory_under_a_file_or_not_writable(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        claim_output_dir(tmp_path / "file", force=True)
    with pytest.raises(UserError, match="is not a directory"):
        claim_output_dir(tmp_path / "file" / "run", force=False)
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(UserError, match="not writable"):
        claim_output_dir(tmp_path / "new" / "run", force=False)


def test_check_output_file(tmp_path, monkeypatch):
    assert check_output_file(tmp_path / "new" / "r.json", force=False, option="--json") == tmp_path / "new" / "r.json"
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(UserError, match="already exists; use --force"):
        check_output_file(tmp_path / "r.json", force=False, option="--json")
    assert check_output_file(tmp_path / "r.json", force=True, option="--json").name == "r.json"
    with pytest.raises(UserError, match="is a directory"):
        check_output_file(tmp_path, force=True, option="--json")
    with pytest.raises(UserError, match="is not a directory"):
        check_output_file(tmp_path / "r.json" / "x.json", force=False, option="--json")
    with pytest.raises(UserError, match="empty"):
        check_output_file("", force=False, option="--json")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(UserError, match="not writable"):
        check_output_file(tmp_path / "s.json", force=False, option="--json")


# --- checkpoints -------------------------------------------------------------------------------------------


class FakeBuffer:
    def __init__(self, n_envs: int, buffer_size: int) -> None:
        self.n_envs, self.buffer_size, self.pos, self.full = n_envs, buffer_size, 0, False


class FakeModel:
    """Just enough of an SB3 off-policy model for save_checkpoint: counters, save() and save_replay_buffer()."""

    def __init__(self, fail_buffer_at: int | None = None) -> None:
        self.num_timesteps, self._n_updates = 0, 0
        self.replay_buffer = FakeBuffer(n_envs=2, buffer_size=50)
        self.fail_buffer_at = fail_buffer_at

    def step(self, env_steps: int) -> None:
        for _ in range(env_steps // 2):
            self.num_timesteps += 2
            self.replay_buffer.pos = (self.replay_buffer.pos + 1) % 50
            self.replay_buffer.full |= self.replay_buffer.pos == 0

    def save(self, path) -> None:
        Path(path).write_text(json.dumps({"num_timesteps": self.num_timesteps}))

    def save_replay_buffer(self, path) -> None:
        if self.num_timesteps == self.fail_buffer_at:
            raise OSError("disk full")
        Path(path).write_text(json.dumps({"pos": self.replay_buffer.pos}))


def test_a_checkpoint_is_committed_as_one_unit(tmp_path):
    paths = RunPaths(tmp_path)
    model, state = FakeModel(fail_buffer_at=60), RunState()
    for _ in range(2):
        model.step(20)
        save_checkpoint(model, paths, state, off_policy=True, wall_time_s=1.0)
    checkpoint = latest_checkpoint(paths)
    assert checkpoint.dir.name == "step-000000040" and (paths.checkpoints / "latest").read_text().strip() == checkpoint.dir.name
    assert json.loads(checkpoint.model.read_text())["num_timesteps"] == 40
    assert read_state(paths).env_steps == 40 and read_state(paths).replay_buffer == {"pos": 20, "full": False, "n_envs": 2, "buffer_size": 50}
    model.step(20)
    with pytest.raises(UserError, match="disk full"):  # the disk fills up while the third checkpoint is written
        save_checkpoint(model, paths, state, off_policy=True, wall_time_s=2.0)
    assert latest_checkpoint(paths).dir.name == "step-000000040" and read_state(paths).env_steps == 40
    model.fail_buffer_at = None
    for _ in range(3):
        model.step(20)
        save_checkpoint(model, paths, state, off_policy=True, wall_time_s=3.0)
    names = sorted(p.name for p in paths.checkpoints.iterdir())
    assert names == ["latest", "step-000000100", "step-000000120"]  # the last two complete ones, no leftovers
    save_checkpoint(model, paths, state, off_policy=True, wall_time_s=3.0)  # the same step again: a new unit
    assert latest_checkpoint(paths).dir.name == "step-000000120.1"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads file names of descriptors from /proc")
def test_a_checkpoint_is_on_disk_before_it_is_named(tmp_path, monkeypatch):
    # Every part is fsynced, then its folder, before the rename commits it; then the pointer, then its folder.
    import agents.harness.checkpoints as checkpoints

    events = []
    real_fsync, real_rename, real_replace = os.fsync, os.rename, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", lambda a, b: (events.append(("rename", str(a))), real_rename(a, b)))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(b))), real_replace(a, b)))
    model = FakeModel()
    model.step(20)
    checkpoints.save_checkpoint(model, RunPaths(tmp_path), RunState(), off_policy=True, wall_time_s=1.0)
    tmp = str(tmp_path / "checkpoints" / ".step-000000020.tmp")
    synced = [path for kind, path in events[: events.index(("rename", tmp))] if kind == "fsync"]
    assert sorted(synced[:3]) == sorted(f"{tmp}/{name}" for name in os.listdir(tmp_path / "checkpoints" / "step-000000020"))
    assert synced[3:] == [tmp]
    after = events[events.index(("rename", tmp)) + 1 :]
    assert after[-2:] == [("replace", str(tmp_path / "checkpoints" / "latest")), ("fsync", str(tmp_path / "checkpoints"))]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads file names of descriptors from /proc")
def test_a_saved_model_is_on_disk_before_it_is_named(tmp_path, monkeypatch):
    # model.zip / best_model.zip: the temporary file is fsynced before the rename, the folder after it.
    from agents.harness.rundir import save_model_atomic

    class Saver:
        def save(self, path):
            Path(path).write_bytes(b"model")

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(a))), real_replace(a, b)))
    save_model_atomic(Saver(), tmp_path / "model.zip")
    tmp = str(tmp_path / ".model.zip.tmp")
    assert events == [("fsync", tmp), ("replace", tmp), ("fsync", str(tmp_path))]
    assert (tmp_path / "model.zip").read_bytes() == b"model" and not Path(tmp).exists()


def test_a_pointer_to_a_missing_or_foreign_checkpoint_is_refused(tmp_path):
    paths = RunPaths(tmp_path)
    assert latest_checkpoint(paths) is None
    paths.checkpoints.mkdir()
    (paths.checkpoints / "latest").write_text("../../etc\n")
    with pytest.raises(UserError, match="corrupt"):
        latest_checkpoint(paths)
    (paths.checkpoints / "latest").write_text("step-000000040\n")
    with pytest.raises(UserError, match="step-000000040.*missing"):
        latest_checkpoint(paths)


@pytest.mark.parametrize(
    "content",
    [b"\x89\xfe\x00garbage", b"[1, 2]", b'{"env_steps": "many"}', b'{"env_steps": -4}', b'{"env_steps": 4, "wall_time_s": "x"}',
     b'{"env_steps": 4, "resumes": 1.5}', b'{"env_steps": 4, "extra": 3}', b'{"env_steps": 4, "replay_buffer": {"pos": "a"}}'],
    ids=["bytes", "list", "text-steps", "negative", "text-time", "float-resumes", "extra", "buffer"],
)  # fmt: skip
def test_a_corrupt_state_json_is_a_user_error(tmp_path, content):
    paths = RunPaths(tmp_path)
    save_checkpoint(FakeModel(), paths, RunState(), off_policy=True, wall_time_s=0.0)
    latest_checkpoint(paths).state.write_bytes(content)
    with pytest.raises(UserError, match="state.json is corrupt"):
        read_state(paths)


# --- evaluations.csv ---------------------------------------------------------------------------------------


def test_evaluations_csv_survives_a_torn_last_row(tmp_path):
    path = tmp_path / "evaluations.csv"
    append_eval_row(path, ROW)
    append_eval_row(path, {**ROW, "env_steps": 40})
    assert [r["env_steps"] for r in read_eval_rows(path)] == [20, 40]
    text = path.read_text()
    path.write_text(text + "60,15,3.1,4,0.2")  # a row cut off by a crash: no newline, too few columns
    assert [r["env_steps"] for r in read_eval_rows(path)] == [20, 40]
    path.write_text(text + "6")  # cut inside the first number
    assert [r["env_steps"] for r in read_eval_rows(path)] == [20, 40]
    append_eval_row(path, {**ROW, "env_steps": 60})  # the torn row is dropped, not continued
    assert [r["env_steps"] for r in read_eval_rows(path)] == [20, 40, 60]
    assert not [p for p in tmp_path.iterdir() if p.name != "evaluations.csv"]  # written via a temporary file
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "x,y", *lines[1:]]) + "\n")
    with pytest.raises(UserError, match="evaluations.csv is corrupt"):
        read_eval_rows(path)

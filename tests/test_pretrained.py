"""Shipped pretrained agents: the manifest, loading, ``watch`` / ``evaluate --pretrained``, and the shipped files.

The mechanism is tested on a tiny HRM-DQN checkpoint in a temporary manifest directory; the last tests check the
real ``agents/pretrained/manifest.json`` (they pass trivially while it is empty).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run_cli

import agents.harness.pretrained as pretrained
from agents.errors import UserError
from agents.hrm_dqn import HRMDQN

ENV = "FourRooms-Dynamic-v0"
TINY = dict(d_model=16, num_heads=2, H_layers=1, L_layers=1, H_cycles=1, L_cycles=1, segments=2, expansion=2.0,
            mlp_multiple=16)  # fmt: skip
SHIPPED_DIR = pretrained.PRETRAINED_DIR


def entry(**changes) -> dict:
    base = {
        "env_id": ENV,
        "algo": "hrm-dqn",
        "file": "tiny-four-rooms.zip",
        "label": "tiny-hrm-dqn",
        "trained": {"command": "hrm-mazes train --algo hrm-dqn ...", "machine": "test", "date": "2026-12-02",
                    "env_steps": 0, "optimizer_steps": 0, "wall_time_s": 0.0, "seed": 0},
        "evaluation": {"episodes": 0, "success_rate": 0.0, "success_lo": 0.0, "success_hi": 1.0},
    }  # fmt: skip
    return {**base, **changes}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An untrained tiny HRM-DQN saved as a bare .zip (no run.yaml), as the shipped ones are."""
    path = tmp_path_factory.mktemp("checkpoint") / "tiny-four-rooms.zip"
    model = HRMDQN("HRMQPolicy", ENV, policy_kwargs=TINY, buffer_size=100, learning_starts=10, seed=0, device="cpu")
    model.save(path)
    return path


@pytest.fixture
def manifest_dir(tmp_path, tiny_checkpoint, monkeypatch) -> Path:
    folder = tmp_path / "pretrained"
    folder.mkdir()
    (folder / tiny_checkpoint.name).write_bytes(tiny_checkpoint.read_bytes())
    (folder / "manifest.json").write_text(json.dumps([entry()]))
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", folder)
    return folder


# --- the mechanism ------------------------------------------------------------------------------------------


def test_load_pretrained(manifest_dir):
    assert [e["label"] for e in pretrained.list_pretrained()] == ["tiny-hrm-dqn"]
    model, found = pretrained.load_pretrained(ENV)
    assert isinstance(model, HRMDQN) and found == entry()
    assert model.policy.config.d_model == 16 and model.device.type == "cpu"
    q, state = model.q_values(np.zeros((1, 11, 11), np.uint8))
    assert q.shape == (1, 4) and state.shape == (1, 2, 16)


def test_watch_pretrained_saves_a_gif(manifest_dir, tmp_path, capsys):
    import imageio.v3 as iio

    gif = tmp_path / "x.gif"
    rc, out, err = run_cli(["watch", "--pretrained", ENV, "--save", str(gif), "--episodes", "1", "--device", "cpu"], capsys)
    assert rc == 0, err
    assert out.startswith(f"outputs written to {gif} (")
    frames = iio.imread(gif, index=None)
    assert frames.ndim == 4 and frames.shape[2] > 352 and len(frames) > 3  # maze + panel; the last frame is held


def test_evaluate_pretrained(manifest_dir, tmp_path, capsys):
    out_json = tmp_path / "r.json"
    args = ["evaluate", "--pretrained", ENV, "--episodes", "2", "--json", str(out_json), "--no-progress", "--device", "cpu"]
    rc, out, err = run_cli(args, capsys)
    assert rc == 0, err
    data = json.loads(out_json.read_text())
    assert data["agent"] == "tiny-hrm-dqn" and data["pretrained"] == ENV and data["algo"] == "hrm-dqn"


def test_the_best_agent_of_an_env_is_the_default_and_algo_picks_another(manifest_dir, tmp_path):
    other = entry(algo="dqn-rconv", label="tiny-planner", evaluation={**entry()["evaluation"], "success_rate": 0.5})
    (manifest_dir / "manifest.json").write_text(json.dumps([entry(), other]))
    assert pretrained.pretrained_entry(ENV)["label"] == "tiny-planner"  # the higher held-out success rate
    assert pretrained.pretrained_entry(ENV, "hrm-dqn")["label"] == "tiny-hrm-dqn"
    with pytest.raises(UserError, match="no pretrained qrdqn agent.*--algo can be: dqn-rconv, hrm-dqn"):
        pretrained.pretrained_entry(ENV, "qrdqn")


def test_evaluate_pretrained_with_algo(manifest_dir, tmp_path, capsys):
    out_json = tmp_path / "r.json"
    args = ["evaluate", "--pretrained", ENV, "--algo", "hrm-dqn", "--episodes", "1", "--json", str(out_json), "--no-progress"]
    rc, _, err = run_cli(args, capsys)
    assert rc == 0, err
    assert json.loads(out_json.read_text())["algo"] == "hrm-dqn"
    rc, _, err = run_cli([*args[:3], "--algo", "dqn", *args[5:], "--force"], capsys)
    assert_one_line_error(rc, err, "no pretrained dqn agent", "--algo can be: hrm-dqn")


def test_no_entry_names_the_available_ones(manifest_dir, capsys):
    for command in (["watch", "--save", "x.gif"], ["evaluate"]):
        rc, _, err = run_cli([*command, "--pretrained", "RandomDoorMaze-v0"], capsys)
        assert_one_line_error(rc, err, "RandomDoorMaze-v0", f"available: {ENV}")


def test_no_entry_in_an_empty_manifest(tmp_path, monkeypatch, capsys):
    (tmp_path / "manifest.json").write_text("[]")
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    rc, _, err = run_cli(["watch", "--pretrained", ENV], capsys)
    assert rc == 2 and err.startswith("hrm-mazes: error: no pretrained agent for") and "none yet" in err
    assert len(err.strip().splitlines()) == 1


def test_pretrained_excludes_model_and_agent(capsys):
    rc, _, err = run_cli(["watch", "--pretrained", ENV, "--agent", "oracle"], capsys)
    assert_one_line_error(rc, err, "not allowed with")


def test_bad_manifests_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    cases = [("{", "cannot read"), ("{}", "JSON list"), (json.dumps([{"env_id": ENV}]), "lacks algo"),
             (json.dumps([entry(trained={})]), "trained.command"), (json.dumps([entry(label="a b")]), "label"),
             (json.dumps([entry(file="gone.zip")]), "gone.zip")]  # fmt: skip
    for text, words in cases:
        (tmp_path / "manifest.json").write_text(text)
        with pytest.raises(UserError, match=words):
            pretrained.load_pretrained(ENV)


def test_watch_panel_marks_a_door_change():
    from agents.watch import DOOR_CHANGED, compose

    frame = np.zeros((300, 300, 3), np.uint8)
    still = compose(frame, np.zeros(4), 0, "Q", "a\nb", doors_changed=False, door_changes=0)
    moved = compose(frame, np.zeros(4), 0, "Q", "a\nb", doors_changed=True, door_changes=1)
    gold = np.all(moved[:, 300:] == DOOR_CHANGED, axis=-1).sum()
    assert gold > 1000 and not np.all(still[:, 300:] == DOOR_CHANGED, axis=-1).any()


def test_watch_counts_the_door_changes(monkeypatch):
    """Frames after a step whose info says doors_changed get the gold doors line."""
    from agents.harness.loading import load_agent
    from agents.watch import DOOR_CHANGED, record_frames

    agent = load_agent(None, "random", ENV)
    agent.encoding = {**agent.encoding, "env_kwargs": {"p_change": 1.0}}  # a redraw every step
    frames = record_frames(agent, 1, 3)
    width = frames[0].shape[1] - 250
    gold = [np.all(f[:, width:] == DOOR_CHANGED, axis=-1).any() for f in frames]
    assert not gold[0] and sum(gold) >= len(frames) // 2


# --- what the package ships ---------------------------------------------------------------------------------


def shipped_entries() -> list[dict]:
    return json.loads((SHIPPED_DIR / "manifest.json").read_text())


def test_shipped_manifest_is_a_list_of_complete_entries():
    entries = shipped_entries()
    assert isinstance(entries, list)
    for e in entries:
        assert pretrained.missing_keys(e) == [], e.get("label")
        assert pretrained.LABEL_PATTERN.fullmatch(e["label"])
        ev = e["evaluation"]
        assert ev["episodes"] >= 1 and 0 <= ev["success_lo"] <= ev["success_rate"] <= ev["success_hi"] <= 1
        assert e["trained"]["env_steps"] > 0 and e["trained"]["optimizer_steps"] > 0
    keys = [(e["env_id"], e["algo"]) for e in entries]
    assert len(keys) == len(set(keys)), "one shipped agent per (env id, algorithm)"


def test_shipped_checkpoints_exist_and_load():
    from agents.harness.algos import get_algo
    from agents.harness.models import load_model

    for shipped in shipped_entries():
        path = SHIPPED_DIR / shipped["file"]
        assert path.is_file() and path.parent == SHIPPED_DIR, shipped["file"]
        if shipped["algo"] == "hrm-dqn":
            model = HRMDQN.load(path, device="cpu")
        else:
            model = load_model(shipped["algo"], path, device="cpu")
        assert isinstance(model, get_algo(shipped["algo"]).load_class())
        agent, _ = pretrained.pretrained_agent(shipped["env_id"], device="cpu", algo=shipped["algo"])  # its env fits
        assert agent.name == shipped["label"]


@pytest.mark.parametrize("shipped", shipped_entries(), ids=lambda e: f"{e['env_id']}-{e['algo']}")
def test_shipped_agents_play_as_documented(shipped, tmp_path, capsys):
    """On the first 100 of the manifest's held-out episodes, a shipped agent's Wilson interval overlaps the one its
    manifest reports for 1,000: the model code still plays the checkpoint the way it was evaluated."""
    documented = shipped["evaluation"]
    out_json = tmp_path / "eval.json"
    args = ["evaluate", "--pretrained", shipped["env_id"], "--algo", shipped["algo"], "--episodes", "100", "--json", str(out_json), "--no-progress", "--device", "cpu"]
    rc, _, err = run_cli(args, capsys)
    assert rc == 0, err
    lo, hi = json.loads(out_json.read_text())["summary"]["success_ci"]
    assert lo <= documented["success_hi"] and hi >= documented["success_lo"], (lo, hi, documented)

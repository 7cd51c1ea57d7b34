"""The bundled presets (``agents/configs``): each env's entry resolves to the hyperparameters recorded in
``tests/presets_resolved.json``, and an env with no entry of its own takes its base env's entry (a variant) or
the file's ``default`` entry.

The record holds every preset's resolved entry for the two registered envs, written before the files gained
their ``default`` entries; it catches a YAML edit that changes an existing env's settings by accident (anchors,
merge keys). After an intended change, record again: ``python tests/test_presets.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.errors import UserError
from agents.harness.hyperparams import PRESET_DIR, bundled_presets, load_preset

RECORD = Path(__file__).with_name("presets_resolved.json")
RECORDED_ENVS = ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0")


def resolved(name: str, env_id: str) -> str:
    """The entry of bundled preset ``name`` for ``env_id``, as canonical JSON (key order fixed)."""
    return json.dumps(load_preset(name, env_id, PRESET_DIR / f"{name}.yaml")[0], sort_keys=True)


def record() -> dict[str, dict[str, dict]]:
    return {
        name: {env_id: json.loads(resolved(name, env_id)) for env_id in RECORDED_ENVS} for name in bundled_presets()
    }


RECORDED = json.loads(RECORD.read_text()) if RECORD.is_file() else {}


def test_the_record_covers_the_presets_it_was_written_for():
    assert {"hrm-dqn", "hrm-dqn-cpu", "dqn-cpu-small", "dqn-cnn-cpu", "ppo"} <= set(RECORDED)


@pytest.mark.parametrize("name", sorted(RECORDED))
@pytest.mark.parametrize("env_id", RECORDED_ENVS)
def test_every_preset_resolves_as_recorded(name, env_id):
    assert name in bundled_presets(), f"{name}.yaml is gone: record again (python tests/test_presets.py)"
    assert resolved(name, env_id) == json.dumps(RECORDED[name][env_id], sort_keys=True)


@pytest.mark.parametrize("name", bundled_presets())
def test_every_preset_has_a_default_entry_for_other_envs(name):
    data = yaml.safe_load((PRESET_DIR / f"{name}.yaml").read_text())
    assert isinstance(data.get("default"), dict)
    assert load_preset(name, "NotRegistered-v0", PRESET_DIR / f"{name}.yaml")[0] == data["default"]


def test_an_env_entry_wins_over_default_and_without_either_the_error_names_the_entries(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("default: {n_envs: 2}\nA-v0: {n_envs: 3}\n")
    assert load_preset("dqn", "A-v0", path)[0] == {"n_envs": 3}
    assert load_preset("dqn", "B-v0", path)[0] == {"n_envs": 2}
    path.write_text("A-v0: {n_envs: 3}\n")
    with pytest.raises(UserError, match=r"p.yaml has no entry for 'B-v0' and no 'default' entry \(it has: A-v0\)"):
        load_preset("dqn", "B-v0", path)
    path.write_text("default: 3\n")
    with pytest.raises(UserError, match="the entry for B-v0 .default. must map hyperparameters to values"):
        load_preset("dqn", "B-v0", path)


def test_a_variant_takes_its_base_envs_entry_before_default(tmp_path):
    """The partially observed maze is the maze seen through a window: with no entry of its own it gets the maze's
    settings (the HRM's local attention and grid carry), not the FourRooms ones behind ``default``."""
    from hrm_mazes.registry import base_env_id

    assert base_env_id("RandomDoorMaze-Partial-v0") == "RandomDoorMaze-v0"
    assert base_env_id("FourRooms-Dynamic-Partial-v0") == "FourRooms-Dynamic-v0"
    assert base_env_id("RandomDoorMaze-v0") is None and base_env_id("NotRegistered-v0") is None
    for name in bundled_presets():
        for variant in ("RandomDoorMaze-Partial-v0", "FourRooms-Dynamic-Partial-v0"):
            assert resolved(name, variant) == resolved(name, base_env_id(variant))
    path = tmp_path / "p.yaml"
    path.write_text("default: {n_envs: 2}\nRandomDoorMaze-v0: {n_envs: 3}\nRandomDoorMaze-Partial-v0: {n_envs: 4}\n")
    assert load_preset("dqn", "RandomDoorMaze-Partial-v0", path)[0] == {"n_envs": 4}  # its own entry first
    path.write_text("default: {n_envs: 2}\nRandomDoorMaze-v0: 5\n")
    with pytest.raises(UserError, match=r"the entry for RandomDoorMaze-Partial-v0 \(RandomDoorMaze-v0\) must map"):
        load_preset("dqn", "RandomDoorMaze-Partial-v0", path)


if __name__ == "__main__":
    RECORD.write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(bundled_presets())} presets x {len(RECORDED_ENVS)} envs to {RECORD}")

"""``lin_<x>`` schedules: new configs build SB3's ``LinearSchedule``; models saved while ``lin_<x>`` built the
project's own ``agents.harness.hyperparams.LinearDecay`` still load, with the same values."""

from __future__ import annotations

import pickle

import cloudpickle
import pytest
from stable_baselines3.common.utils import LinearSchedule

import agents.harness.hyperparams as hyperparams
from agents.harness.hyperparams import check_hyperparams, schedule_value

PROGRESS = [1.0, 0.75, 0.5, 0.25, 0.1, 0.0]  # progress remaining: 1 at the start of a run, 0 at its end


def old_linear_decay_class() -> type:
    """``LinearDecay`` as it was before lin_<x> became SB3's class (the code saved models pickled)."""

    def __init__(self, initial: float) -> None:
        self.initial = initial

    def __call__(self, progress_remaining: float) -> float:
        return self.initial * progress_remaining

    return type("LinearDecay", (), {"__module__": "agents.harness.hyperparams", "__init__": __init__, "__call__": __call__})


def test_new_configs_give_sb3s_linear_schedule():
    checked = check_hyperparams("dqn", "FourRooms-Dynamic-v0", {"learning_rate": "lin_1e-3"}, "test")
    schedule = schedule_value(checked["learning_rate"])
    assert type(schedule) is LinearSchedule
    assert (schedule.start, schedule.end, schedule.end_fraction) == (1e-3, 0.0, 1.0)
    assert [schedule(p) for p in PROGRESS] == pytest.approx([1e-3 * p for p in PROGRESS], rel=1e-12, abs=0)
    assert schedule(0.0) == 0.0
    assert schedule_value("3e-4") == 3e-4 and schedule_value(0.1) == 0.1


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps], ids=["pickle", "cloudpickle"])  # SB3 saves with cloudpickle
def test_a_schedule_pickled_as_the_old_linear_decay_loads_with_the_same_values(dumps, monkeypatch):
    old_class = old_linear_decay_class()
    monkeypatch.setattr(hyperparams, "LinearDecay", old_class)  # the module as it was when the model was saved
    old = old_class(7e-4)
    blob = dumps(old)
    monkeypatch.undo()
    assert b"agents.harness.hyperparams" in blob and b"LinearDecay" in blob and b"initial" in blob  # by reference
    loaded = pickle.loads(blob)
    assert type(loaded) is LinearSchedule and loaded.start == 7e-4
    assert [loaded(p) for p in PROGRESS] == pytest.approx([old(p) for p in PROGRESS], rel=1e-12, abs=0)
    assert loaded(0.0) == old(0.0) == 0.0 and loaded(1.0) == old(1.0)
    assert type(pickle.loads(pickle.dumps(loaded))) is LinearSchedule  # and it saves as SB3's class from now on

"""The demo's helpers that need no training (the demo itself: tests/test_cli.py, slow layer)."""

from __future__ import annotations

from agents.demo import _curriculum_reached


def test_curriculum_reached_reads_the_last_complete_row(tmp_path):
    # progress.csv rows log only what changed: the last row may lack the training success rate.
    (tmp_path / "progress.csv").write_text(
        "charts/curriculum_max_distance,charts/success_rate,charts/epsilon\n"
        "2,0.5,0.9\n"
        "6,0.76,0.05\n"
        "8,,0.05\n"
    )
    assert _curriculum_reached(tmp_path) == (6, 0.76, 0.05)


def test_curriculum_reached_without_a_curriculum(tmp_path):
    assert _curriculum_reached(tmp_path) is None  # no progress.csv
    (tmp_path / "progress.csv").write_text("charts/success_rate,charts/epsilon\n0.5,0.9\n")
    assert _curriculum_reached(tmp_path) is None


def test_time_caps_scale_down_to_a_floor_that_leaves_room_for_torch_compile():
    from agents.demo import MIN_CAP_S, _cap

    assert _cap(450.0, 1.0) == 450.0 and _cap(450.0, 2.0) == 900.0
    assert _cap(450.0, 0.02) == MIN_CAP_S >= 60.0

"""``agents.harness.aggregate``: the rliable statistics over training seeds (IQM, probability of improvement) and
their stratified-bootstrap intervals, against hand-computed values and against rliable itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rliable import metrics

from agents.harness.aggregate import (
    NO_INTERVAL,
    aggregate_runs,
    improvement_interval,
    improvement_replicates,
    iqm,
    iqm_interval,
    iqm_replicates,
    markdown_sections,
    probability_of_improvement,
)

ENV = "FourRooms-Dynamic-v0"


def rows(label: str, scores: list[float], env_id: str = ENV) -> list[dict]:
    return [{"label": label, "env_id": env_id, "seed": k, "success_rate": s} for k, s in enumerate(scores)]


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) == pytest.approx(0.45)  # mean of 0.3 ... 0.6
    assert iqm([4, 1, 3, 2]) == pytest.approx(2.5)  # order does not matter: mean of 2 and 3
    assert iqm([0.0, 0.0, 0.0, 1.0]) == pytest.approx(0.0)  # an outlier seed does not move it
    assert iqm([0.2, 0.4, 0.9]) == pytest.approx(0.5)  # three seeds: a quarter of 3 rounds down to none trimmed
    assert iqm([0.3]) == pytest.approx(0.3)


def test_probability_of_improvement_hand_values():
    assert probability_of_improvement([0.6, 0.7, 0.8], [0.1, 0.2]) == 1.0  # every seed of X beats every seed of Y
    assert probability_of_improvement([0.1, 0.2], [0.6, 0.7, 0.8]) == 0.0
    assert probability_of_improvement([0.5, 0.5], [0.5, 0.5]) == 0.5  # ties
    assert probability_of_improvement([0.5], [0.5, 0.5, 0.5]) == 0.5
    # 4 x 3 pairs: 0.1 beats none; each 0.5 beats 0.2, ties 0.5; 0.9 beats 0.5 and 0.2, ties 0.9
    assert probability_of_improvement([0.1, 0.5, 0.5, 0.9], [0.5, 0.2, 0.9]) == pytest.approx((0 + 1.5 + 1.5 + 2.5) / 12)
    x, y = [0.3, 0.9, 0.4], [0.5, 0.1]
    assert probability_of_improvement(x, y) + probability_of_improvement(y, x) == pytest.approx(1.0)


def test_vectorised_replicates_equal_rliable():
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 4, 7) / 4, rng.integers(0, 4, 5) / 4  # few values: many ties
    ix, iy = rng.integers(7, size=(40, 7)), rng.integers(5, size=(40, 5))
    expected_iqm = [metrics.aggregate_iqm(x[i][:, None]) for i in ix]
    expected_poi = [metrics.probability_of_improvement(x[i][:, None], y[j][:, None]) for i, j in zip(ix, iy, strict=True)]
    np.testing.assert_allclose(iqm_replicates(x, ix), expected_iqm)
    np.testing.assert_allclose(improvement_replicates(x, y, ix, iy), expected_poi)


def test_intervals_contain_the_estimate_and_are_deterministic():
    scores = [0.12, 0.55, 0.61, 0.35, 0.9]
    lo, hi = iqm_interval(scores)
    assert lo <= iqm(scores) <= hi and 0.12 <= lo < hi <= 0.9
    assert iqm_interval(scores) == [lo, hi] and iqm_interval(list(scores)) == [lo, hi]
    other = [0.1, 0.4, 0.3, 0.2]
    lo, hi = improvement_interval(scores, other)
    assert lo <= probability_of_improvement(scores, other) <= hi and 0.0 <= lo < hi <= 1.0
    assert improvement_interval(scores, other) == [lo, hi]
    assert improvement_interval([0.6, 0.7, 0.8], [0.1, 0.2]) == [1.0, 1.0]  # dominated in every resample


def test_one_seed_has_no_interval():
    assert iqm_interval([0.4]) is None
    assert improvement_interval([0.4], [0.1, 0.2]) is None and improvement_interval([0.4, 0.5], [0.1]) is None
    result = aggregate_runs(rows("a", [0.4]) + rows("b", [0.1, 0.3]))
    single = result["iqm"][0]
    assert single["ci"] is None and single["note"] == NO_INTERVAL and single["iqm"] == 0.4
    assert result["iqm"][1]["ci"] is not None and "note" not in result["iqm"][1]
    pair = result["probability_of_improvement"][0]
    assert (pair["x"], pair["y"], pair["probability"], pair["ci"]) == ("a", "b", 1.0, None)
    md = "\n".join(markdown_sections(result, ENV))
    assert f"| a | 1 | 40.0% | {NO_INTERVAL} |" in md and f"| a | b | 1.00 | {NO_INTERVAL} |" in md
    assert "[" in md.split("| b | 2 |")[1].splitlines()[0]  # two seeds: an interval


def test_aggregate_runs_groups_pairs_and_compare():
    data = rows("hrm-dqn-carry", [0.8, 0.9, 0.7]) + rows("hrm-dqn-reset", [0.2, 0.3, 0.1]) + rows("dqn", [0.5, 0.5, 0.5])
    data += rows("dqn", [0.4, 0.6], env_id="RandomDoorMaze-v0")
    result = aggregate_runs(data)
    assert [(r["label"], r["env_id"], r["n_seeds"]) for r in result["iqm"]] == [
        ("hrm-dqn-carry", ENV, 3), ("hrm-dqn-reset", ENV, 3), ("dqn", ENV, 3), ("dqn", "RandomDoorMaze-v0", 2),
    ]  # fmt: skip
    pairs = [(p["env_id"], p["x"], p["y"]) for p in result["probability_of_improvement"]]
    assert pairs == [(ENV, "hrm-dqn-carry", "hrm-dqn-reset"), (ENV, "hrm-dqn-carry", "dqn"), (ENV, "hrm-dqn-reset", "dqn")]
    assert result["probability_of_improvement"][0]["probability"] == 1.0
    assert result["method"]["reps"] == 2000 and "rliable" in result["method"]["reference"]
    json.dumps(result, allow_nan=False)  # results.json-ready
    chosen = aggregate_runs(data, compare=[["hrm-dqn-reset", "hrm-dqn-carry"]])
    assert [(p["x"], p["y"], p["probability"]) for p in chosen["probability_of_improvement"]] == [
        ("hrm-dqn-reset", "hrm-dqn-carry", 0.0)
    ]
    assert chosen == aggregate_runs(data, compare=[["hrm-dqn-reset", "hrm-dqn-carry"]])  # deterministic
    with pytest.raises(ValueError, match="nope"):
        aggregate_runs(data, compare=[["dqn", "nope"]])


def test_matches_rliable_library_where_it_imports():
    """rliable's own bootstrap, where it runs: arch < 8 (arch 8 refuses its ``random_state``), with pandas < 3."""
    x = np.array([0.12, 0.55, 0.61, 0.35, 0.9, 0.4])
    y = np.array([0.1, 0.42, 0.3, 0.2, 0.5])
    np.random.seed(0)  # rliable resamples with numpy's global generator
    try:
        from rliable import library

        _, ci = library.get_interval_estimates({"x": x[:, None]}, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=20000)
    except (ImportError, TypeError) as err:
        pytest.skip(f"rliable.library does not run with this arch / pandas ({type(err).__name__})")
    np.testing.assert_allclose(iqm_interval(x, reps=20000), ci["x"].ravel(), atol=0.02)
    _, ci = library.get_interval_estimates({"xy": [x[:, None], y[:, None]]}, metrics.probability_of_improvement, reps=4000)
    np.testing.assert_allclose(improvement_interval(x, y, reps=4000), ci["xy"].ravel(), atol=0.04)

"""Metrics and confidence intervals of agents.harness.evaluation, and the oracle / random reference numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.harness.aggregate import across_seeds
from agents.harness.evaluation import (
    EVAL_SEED_OFFSET,
    REFERENCE_PLAYERS,
    OraclePlayer,
    RandomPlayer,
    bootstrap_interval,
    eval_seeds,
    evaluate,
    format_ci,
    run_episodes,
    summarize,
    t_interval,
    t_quantile_975,
    wilson_interval,
)

# t_{0.975, df} from a published table (NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.6.7.2,
# "Critical values of the Student's t distribution", column 0.025): scipy's quantile, which the module returns,
# agrees with it to the table's 3 decimals.
PUBLISHED_T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 5: 2.571, 10: 2.228, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042,
                   40: 2.021, 50: 2.009, 60: 2.000, 80: 1.990, 100: 1.984}  # fmt: skip


@pytest.mark.parametrize(("df", "published"), sorted(PUBLISHED_T_975.items()))
def test_t_quantiles_match_a_published_table(df, published):
    assert t_quantile_975(df) == pytest.approx(published, abs=6e-4)  # the table rounds to 3 decimals


def test_t_quantile_refuses_no_degrees_of_freedom():
    with pytest.raises(ValueError):
        t_quantile_975(0)


def test_wilson_interval_known_values_and_edges():
    lo, hi = wilson_interval(50, 100)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    lo, hi = wilson_interval(100, 100)
    assert hi == 1.0 and 0.96 < lo < 0.97  # never a degenerate [1, 1] at 100%
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.35
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_t_interval_and_bootstrap():
    lo, hi = t_interval([0.9, 1.0, 0.95])
    assert lo < 0.95 < hi
    assert (0.95 - lo) == pytest.approx(4.303 * np.std([0.9, 1.0, 0.95], ddof=1) / math.sqrt(3), abs=1e-3)
    assert all(math.isnan(v) for v in t_interval([0.5]))
    values = np.arange(100.0)
    assert bootstrap_interval(values) == bootstrap_interval(values)  # fixed resampling seed
    lo, hi = bootstrap_interval(values)
    assert lo < 49.5 < hi and hi - lo < 15


def test_summarize_path_efficiency_uses_only_episodes_both_solved():
    records = [
        {"seed": 1, "success": True, "length": 20, "return": 1.0},
        {"seed": 2, "success": False, "length": 80, "return": 0.0},
        {"seed": 3, "success": True, "length": 10, "return": 1.0},
    ]
    oracle = [
        {"success": True, "length": 10, "return": 1.0},
        {"success": True, "length": 12, "return": 1.0},
        {"success": False, "length": 80, "return": 0.0},
    ]
    s = summarize(records, oracle)
    assert s["success_rate"] == pytest.approx(2 / 3)
    assert s["mean_length"] == pytest.approx(110 / 3)
    assert s["mean_length_success"] == pytest.approx(15)
    assert s["path_efficiency"] == pytest.approx(0.5)  # only seed 1: 10 / 20
    assert s["efficiency_episodes"] == 1
    assert s["oracle_success_rate"] == pytest.approx(2 / 3)


def test_aggregate_over_seeds_uses_student_t_and_clips_rates():
    summaries = [
        {"success_rate": 0.2, "success_ci": [0, 1], "mean_length": 10.0, "length_ci": [0, 1], "path_efficiency": 0.9, "efficiency_ci": [0, 1]},
        {"success_rate": 0.9, "success_ci": [0, 1], "mean_length": 12.0, "length_ci": [0, 1], "path_efficiency": 0.8, "efficiency_ci": [0, 1]},
    ]
    agg = across_seeds(summaries)
    assert agg["n_seeds"] == 2
    assert agg["success_rate"]["mean"] == pytest.approx(0.55)
    assert agg["success_rate"]["ci"][0] == 0.0 and agg["success_rate"]["ci"][1] == 1.0  # t band clipped to [0, 1]
    single = across_seeds(summaries[:1])
    assert single["mean_length"]["ci"] == [0.0, 1.0]  # one seed keeps its within-run interval


def test_format_ci():
    assert format_ci(0.971, [0.96, 0.98], percent=True) == "97.1% [96.0, 98.0]"
    assert format_ci(math.nan, [0, 1]) == "-"


def test_eval_seeds_are_held_out():
    seeds = eval_seeds(5)
    assert seeds[0] == EVAL_SEED_OFFSET == 1_000_000 and list(np.diff(seeds)) == [1] * 4


@pytest.mark.parametrize("env_id", ["FourRooms-Dynamic-v0", "RandomDoorMaze-v0"])
def test_oracle_and_random_numbers_are_plausible(env_id):
    oracle = evaluate(OraclePlayer(), env_id, episodes=200).summary
    random = evaluate(RandomPlayer(), env_id, episodes=200).summary
    # SPEC reference: BFS re-planning ~100% / ~98% success, ~11.5 steps.
    assert oracle["success_rate"] >= (0.99 if env_id.startswith("FourRooms") else 0.95)
    assert 9.0 < oracle["mean_length_success"] < 14.0
    # Playing the oracle as a player replays exactly the oracle's reference episodes.
    assert oracle["path_efficiency"] == pytest.approx(1.0)
    assert 0.10 < random["success_rate"] < 0.40
    assert random["mean_length"] > 55
    assert 0.1 < random["path_efficiency"] < 0.6


def test_numbers_are_stable_and_independent_of_batching():
    env_id = "RandomDoorMaze-v0"
    a = evaluate(RandomPlayer(), env_id, episodes=60, n_parallel=7).records
    b = evaluate(RandomPlayer(), env_id, episodes=60, n_parallel=32).records
    assert a == b
    import gymnasium as gym

    seeds = eval_seeds(30)
    one = run_episodes(OraclePlayer(), lambda: gym.make(env_id), seeds, n_parallel=1)
    many = run_episodes(OraclePlayer(), lambda: gym.make(env_id), seeds, n_parallel=16)
    assert one == many


def test_reference_players_by_name():
    assert REFERENCE_PLAYERS == {"oracle": OraclePlayer, "random": RandomPlayer}
    assert all(player().name == name for name, player in REFERENCE_PLAYERS.items())


def test_aggregate_keeps_missing_intervals_missing():
    summaries = [
        {"success_rate": 0.03, "mean_length": 70.0, "path_efficiency": 1.0},
        {"success_rate": 0.0, "mean_length": 80.0, "path_efficiency": math.nan},  # solved nothing
    ]
    agg = across_seeds(summaries)
    assert agg["path_efficiency"]["mean"] == 1.0 and all(math.isnan(c) for c in agg["path_efficiency"]["ci"])
    assert agg["mean_length"]["ci"][1] == 80.0  # clipped to the time limit
    assert format_ci(agg["path_efficiency"]["mean"], agg["path_efficiency"]["ci"], digits=3) == "1.000"


class CountingOracle(OraclePlayer):
    """The oracle, counting the steps it was asked to act on."""

    def __init__(self) -> None:
        self.calls = 0

    def act(self, obs, episode_start, envs, seeds):
        self.calls += 1
        return super().act(obs, episode_start, envs, seeds)


def test_epsilon_player_adds_reproducible_noise_and_keeps_the_player_acting():
    import gymnasium as gym

    from agents.harness.evaluation import EpsilonPlayer

    def env_fn():
        return gym.make("RandomDoorMaze-v0")

    seeds = eval_seeds(24)
    greedy = run_episodes(OraclePlayer(), env_fn, seeds, n_parallel=8)
    assert run_episodes(EpsilonPlayer(OraclePlayer(), 0.0), env_fn, seeds, n_parallel=8) == greedy
    inner = CountingOracle()
    noisy = run_episodes(EpsilonPlayer(inner, 0.5), env_fn, seeds, n_parallel=8)
    assert noisy != greedy and inner.calls >= max(r["length"] for r in noisy)  # asked on every step
    assert run_episodes(EpsilonPlayer(OraclePlayer(), 0.5), env_fn, seeds, n_parallel=5) == noisy  # any batching
    assert sum(r["length"] for r in noisy) > sum(r["length"] for r in greedy)
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
        EpsilonPlayer(OraclePlayer(), 1.5)


def test_evaluate_reports_epsilon_beside_greedy(tmp_path, capsys):
    import json

    from agents.cli import main

    out = tmp_path / "e.json"
    assert main(["evaluate", "--agent", "oracle", "--env", "FourRooms-Dynamic-v0", "--episodes", "10", "--epsilon", "1",
                 "--json", str(out), "--no-progress"]) == 0  # fmt: skip
    data = json.loads(out.read_text())
    assert data["summary"]["success_rate"] == 1.0 and data["epsilon"]["epsilon"] == 1.0
    assert data["epsilon"]["summary"]["success_rate"] < 1.0  # every action random: the uniform random walk
    assert "epsilon 1" in capsys.readouterr().out
    for bad in ("2", "-0.1", "nan"):
        with pytest.raises(SystemExit) as stop:
            main(["evaluate", "--agent", "oracle", "--env", "FourRooms-Dynamic-v0", "--epsilon", bad])
        assert stop.value.code == 2 and "--epsilon: must be a finite number in [0.0, 1.0]" in capsys.readouterr().err

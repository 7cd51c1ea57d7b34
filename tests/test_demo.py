"""The demo's helpers (the demo itself: tests/test_cli.py, slow layer)."""

from __future__ import annotations

import pytest

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


def test_budgets_count_updates_whatever_the_machine():
    """Each demo agent gets exactly its update budget (before the safety cap): env steps = n_envs x (collection
    steps before learning_starts + updates), checked against the configs the demo trains."""
    from agents.demo import AGENTS, _env_steps
    from agents.harness.hyperparams import apply_overrides, load_preset

    for agent in AGENTS:
        hyperparams = apply_overrides(load_preset(agent.algo, "FourRooms-Dynamic-v0", agent.config)[0], agent.overrides)
        n_envs, starts = hyperparams["n_envs"], hyperparams["learning_starts"]
        steps, per_update, overrides = _env_steps(agent, agent.updates)
        assert per_update == n_envs and steps % n_envs == 0
        # SB3 trains after each collection step whose count exceeds learning_starts: count them.
        collected = range(n_envs, steps + 1, n_envs)
        assert sum(1 for t in collected if t > starts) == agent.updates
        assert agent.cap_s >= 60 and agent.updates > 0
        if "exploration_fraction" in hyperparams:  # epsilon reaches its floor at the agent's (else the preset's)
            decay = agent.epsilon_env_steps or hyperparams["exploration_fraction"] * hyperparams["n_timesteps"]
            assert overrides["exploration_fraction"] * steps == pytest.approx(min(decay, steps))


def test_an_update_budget_refuses_a_config_without_one_update_per_collection_step():
    from agents.demo import DemoAgent, _env_steps

    with pytest.raises(ValueError, match="train_freq = gradient_steps = 1"):
        _env_steps(DemoAgent("x", "dqn-cnn", "cpu", 10, 60.0, 5, {"train_freq": 4}), 10)


def test_epsilon_decays_over_the_agents_env_steps_whatever_the_budget():
    """``epsilon_env_steps`` fixes the env step at which epsilon reaches its floor, so a scaled budget does not
    stretch or squeeze it; it cannot be given beside an ``exploration_fraction`` override."""
    from agents.demo import DemoAgent, _env_steps

    agent = DemoAgent("x", "dqn-cnn", "cpu", 3_000, 60.0, 500, epsilon_env_steps=64_000)
    for updates in (3_000, 6_000):
        steps, _, overrides = _env_steps(agent, updates)
        assert overrides["exploration_fraction"] * steps == pytest.approx(64_000)
    steps, _, overrides = _env_steps(agent, 100)  # a budget shorter than the decay: epsilon decays over all of it
    assert overrides["exploration_fraction"] == 1.0
    with pytest.raises(ValueError, match="epsilon_env_steps or an exploration_fraction override"):
        _env_steps(DemoAgent("x", "dqn-cnn", "cpu", 10, 60.0, 5, {"exploration_fraction": 0.5}, 64_000), 10)


@pytest.mark.slow  # two tiny trainings in spawned workers: ~10-20 s
def test_parallel_trainings_run_on_the_shared_runner_and_come_back_by_label(tmp_path, monkeypatch, capsys):
    """The demo's trainings go through agents.harness.runner's pool (the same workers as benchmark and tune);
    each result comes back under its own label, with a heartbeat line while they train."""
    import agents.demo as demo
    from agents.harness import runner
    from agents.harness.config import TrainConfig

    calls = []
    real = runner.run_tasks
    monkeypatch.setattr(runner, "run_tasks", lambda *a, **k: calls.append(k) or real(*a, **k))
    monkeypatch.setattr(demo, "HEARTBEAT_S", 0.5)
    configs = {
        label: TrainConfig(algo="dqn", env_id="FourRooms-Dynamic-v0", steps=64, seed=0, config="cpu-small",
                           out=tmp_path / label, progress=True)  # fmt: skip
        for label in ("first", "second")
    }
    results = demo._train_in_parallel(configs)
    assert calls and calls[0]["workers"] == 2
    assert set(results) == {"first", "second"}
    for label, (run_dir, time_limited) in results.items():
        assert run_dir == tmp_path / label and (run_dir / "model.zip").is_file() and time_limited is False
    out = capsys.readouterr().out
    assert "first done after" in out and "second done after" in out

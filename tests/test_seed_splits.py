"""The train / validation / test seed splits: one definition (``hrm_mazes.seeds``), disjoint ranges, and every code
path that trains or evaluates draws its episodes from the split it should."""

from __future__ import annotations

import ast
import dataclasses
import itertools
import json
import re
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli

import hrm_mazes
from agents.errors import UserError
from hrm_mazes.seeds import SEED_SPLITS, TEST, TRAIN, VALIDATION, SeedSplit, split_of

ROOT = Path(__file__).resolve().parents[1]
ENV = "FourRooms-Dynamic-v0"


# --- the definition -----------------------------------------------------------------------------------------


def test_the_splits_are_exported_and_keep_their_published_numbers():
    assert hrm_mazes.SEED_SPLITS is SEED_SPLITS and hrm_mazes.seeds.TEST is TEST
    assert set(SEED_SPLITS) == {"train", "validation", "test"}
    # every committed result played these seeds: changing them would silently change what "test" means
    assert (TRAIN.start, TEST.start, VALIDATION.start) == (0, 1_000_000, 2_000_000)
    from agents.harness.evaluation import EVAL_SEED_OFFSET, VALIDATION_SEED_OFFSET

    assert (EVAL_SEED_OFFSET, VALIDATION_SEED_OFFSET) == (TEST.start, VALIDATION.start)  # the old names stay


def test_the_splits_are_disjoint_ranges():
    for a, b in itertools.combinations(SEED_SPLITS.values(), 2):
        assert a.stop <= b.start or b.stop <= a.start, (a, b)
    for split in SEED_SPLITS.values():
        assert split.size > 0 and split_of(split.start) is split and split_of(split.stop - 1) is split


def test_seeds_and_seed_stay_inside_their_split():
    assert TEST.seeds(3) == range(TEST.start, TEST.start + 3)
    assert TEST.seed(0) == TEST.start and VALIDATION.seed(VALIDATION.size - 1) == VALIDATION.stop - 1
    assert TEST.start in TEST and TEST.stop not in TEST and True not in TRAIN
    with pytest.raises(ValueError, match=r"episodes must be an integer in \[1, 1,000,000\].*test seeds 1,000,000\.\.1,999,999"):
        TEST.seeds(TEST.size + 1)
    with pytest.raises(ValueError, match=r"--eval-episodes must be an integer in \[1, 1,000,000\]"):
        VALIDATION.seeds(0, "--eval-episodes")
    with pytest.raises(ValueError, match=r"episode index must be an integer in \[0, 999,999\]"):
        TRAIN.seed(TRAIN.size)
    with pytest.raises(ValueError, match=r"n_envs must be an integer in \[1, 2\]"):  # from index size - 2: two seeds left
        TRAIN.check(3, "n_envs", first=TRAIN.size - 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        TEST.start = 0  # type: ignore[misc]
    assert SeedSplit("x", 5, 2).seeds(2) == range(5, 7)


# --- who plays which split ----------------------------------------------------------------------------------


def test_training_env_seeds_lie_in_the_train_split():
    from agents.harness.config import MAX_SEED
    from agents.harness.training import train_env_seeds

    for seed, resumes, n_envs in itertools.product((0, 1, MAX_SEED), range(12), (1, 256, 1000)):
        seeds = train_env_seeds(seed, resumes, n_envs)
        assert len(seeds) == n_envs and seeds[0] in TRAIN and seeds[-1] in TRAIN
    with pytest.raises(UserError, match=r"n_envs must be an integer in \[1, "):
        train_env_seeds(MAX_SEED, 9, 2000)


def test_a_fresh_run_seeds_its_training_envs_in_the_train_split(tmp_path):
    """The envs built by the real start of a run, after the model's constructor has (re)seeded them."""
    from agents.harness.config import MAX_SEED, TrainConfig
    from agents.harness.training import _start_fresh

    config = TrainConfig(algo="dqn", env_id=ENV, config="cpu-small", seed=MAX_SEED, out=tmp_path / "run", device="cpu",
                         progress=False)  # fmt: skip
    session = _start_fresh(config)
    try:
        pending = session.venv.unwrapped._seeds  # what the next reset() hands env i (SB3's VecEnv.seed)
        assert len(pending) == session.venv.num_envs and all(seed in TRAIN for seed in pending), pending
    finally:
        session.venv.close()


def test_evaluate_plays_the_test_split(tmp_path, capsys):
    target = tmp_path / "random.json"
    rc, out, err = run_cli(["evaluate", "--agent", "random", "--env", ENV, "--episodes", "3", "--json", str(target),
                            "--no-progress"], capsys)  # fmt: skip
    assert rc == 0, err
    data = json.loads(target.read_text())
    assert [r["seed"] for r in data["records"]] == list(TEST.seeds(3)) and data["seed_offset"] == TEST.start


def test_evaluate_refuses_episodes_that_run_out_of_their_split(tmp_path, capsys):
    args = ["evaluate", "--agent", "random", "--env", ENV, "--json", str(tmp_path / "r.json"), "--no-progress"]
    rc, _, err = run_cli([*args, "--episodes", "3", "--seed-offset", str(TEST.stop - 2)], capsys)
    assert_one_line_error(rc, err, "--episodes", "[1, 2]", TEST.describe())
    rc, _, err = run_cli([*args, "--episodes", str(TEST.size + 1)], capsys)
    assert_one_line_error(rc, err, "--episodes", f"[1, {TEST.size:,}]")
    assert not (tmp_path / "r.json").exists()


def test_periodic_evaluations_play_the_validation_split(tmp_path, monkeypatch):
    """The evaluation of the training callback (evaluations.csv, best_model.zip, a tune trial's objective)."""
    import numpy as np

    import agents.harness.callback as callback
    from agents.harness.checkpoints import RunState
    from agents.harness.config import TrainConfig
    from agents.harness.rundir import RunPaths

    class AlwaysNorth:  # a model that only moves north: enough to play episodes
        def predict(self, obs, state=None, episode_start=None, deterministic=True):
            return np.zeros(len(obs), dtype=np.int64), None

    class Played(Exception):
        pass

    played, real_evaluate = [], callback.evaluate

    def spy(*args, **kwargs):
        played.extend(record["seed"] for record in real_evaluate(*args, **kwargs).records)
        raise Played  # the rest (logging, best_model.zip) needs a real model

    monkeypatch.setattr(callback, "evaluate", spy)
    run = TrainConfig(algo="dqn", env_id=ENV, steps=10, eval_freq=5, eval_episodes=7, checkpoint_freq=5, progress=False,
                      hyperparams={})  # fmt: skip
    trainer = callback.TrainingCallback(run, RunPaths(tmp_path), RunState())
    trainer.model = AlwaysNorth()
    with pytest.raises(Played):
        trainer.evaluate()
    assert len(played) == 7 and all(int(seed) in VALIDATION for seed in played), played


def test_a_tune_study_records_the_validation_split(tmp_path):
    from agents.harness.config import TuneConfig
    from agents.harness.tune.study import prepare_study

    _, _, settings = prepare_study(TuneConfig(algo="dqn-cnn", env_id=ENV, trials=1, minutes=1, steps=200,
                                              out=tmp_path / "study"))  # fmt: skip
    assert split_of(settings["eval_seed_offset"]) is VALIDATION
    assert settings["eval_episodes"] <= VALIDATION.size


# --- no other definition ------------------------------------------------------------------------------------

SPLIT_STARTS = {TEST.start, VALIDATION.start}
SEED_TEXT = re.compile(r"\b[12],000,000\b")
# Numbers equal to a split's start that are not seeds: (file, the module-level name or function they sit in).
NOT_SEEDS = {("agents/demo.py", "AGENTS")}  # the HRM-DQN's env-step budget


def _owner(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    """The name of the function, class or module-level assignment that holds ``node``."""
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return node.name
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(parents.get(node), ast.Module):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            return ",".join(t.id for t in targets if isinstance(t, ast.Name))
    return "<module>"


def seed_literals(path: Path) -> list[str]:
    """Where ``path`` spells a split's first seed itself: an integer 1_000_000 / 2_000_000 (any spelling: the
    parser reads 1000000 and 1_000_000 alike) or text about seeds with 1,000,000 / 2,000,000 in it."""
    tree = ast.parse(path.read_text(), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    where = path.relative_to(ROOT).as_posix()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant):
            continue
        if type(node.value) is int and node.value in SPLIT_STARTS and (where, _owner(node, parents)) not in NOT_SEEDS:
            found.append(f"{where}:{node.lineno}: {node.value}")
        elif isinstance(node.value, str) and SEED_TEXT.search(node.value) and "seed" in node.value.lower():
            found.append(f"{where}:{node.lineno}: {node.value.strip()[:80]!r}")
    return found


def test_only_hrm_mazes_seeds_spells_the_seed_splits():
    definition = ROOT / "hrm_mazes" / "seeds.py"
    assert seed_literals(definition), "the scan finds nothing, not even in the definition"
    sources = sorted((ROOT / "agents").rglob("*.py")) + sorted((ROOT / "hrm_mazes").rglob("*.py"))
    offenders = [hit for path in sources if path != definition for hit in seed_literals(path)]
    assert not offenders, "use hrm_mazes.seeds (TRAIN / VALIDATION / TEST) instead of:\n" + "\n".join(offenders)

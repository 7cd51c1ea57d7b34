"""DistanceCurriculum: promotions on training success, the end of the curriculum, persistence, config checks."""

import numpy as np
import pytest
from stable_baselines3.common.logger import configure

from agents.errors import UserError
from agents.harness.curriculum import CurriculumSettings, DistanceCurriculum
from hrm_mazes import core
from hrm_mazes.sb3 import make_sb3_vec_env


class StubModel:
    def __init__(self, venv):
        self.venv = venv
        self.logger = configure(None, [])
        self.num_timesteps = 0

    def get_env(self):
        return self.venv


def episodes(callback, outcomes):
    """Feed finished episodes (one per env slot) with the given successes."""
    n = len(outcomes)
    callback.locals = {"dones": np.ones(n, dtype=bool), "infos": [{"is_success": ok} for ok in outcomes]}
    callback.on_step()


def make(settings):
    venv = make_sb3_vec_env("FourRooms-Dynamic-v0", num_envs=4, seed=0)
    model = StubModel(venv)
    callback = DistanceCurriculum(settings, core.FOUR_ROOMS)
    callback.init_callback(model)
    callback.on_training_start({}, {})
    return callback, model, venv


def test_promotes_when_the_window_reaches_the_success_rate():
    callback, model, venv = make(CurriculumSettings(start=2, step=3, success=0.5, window=4))
    assert venv.get_attr("max_distance") == [2] * 4 and model.curriculum_max_distance == 2
    episodes(callback, [True, False, True])  # window not full yet
    assert callback.max_distance == 2
    episodes(callback, [False])  # 2 of 4: promoted
    assert callback.max_distance == 5 and venv.get_attr("max_distance") == [5] * 4
    episodes(callback, [False, False, True, False])  # 1 of 4: stays
    assert callback.max_distance == 5
    # Episodes that are not finished do not count.
    before = list(callback.outcomes)
    callback.locals = {"dones": np.zeros(4, dtype=bool), "infos": [{"is_success": True}] * 4}
    callback.on_step()
    assert list(callback.outcomes) == before == [False, False, True, False]

def test_ends_with_the_unmodified_task():
    largest = core.max_open_map_distance(core.FOUR_ROOMS)
    callback, model, venv = make(CurriculumSettings(start=largest - 2, step=2, success=1.0, window=2))
    episodes(callback, [True, True])
    assert callback.max_distance is None and model.curriculum_max_distance is None
    assert venv.get_attr("max_distance") == [None] * 4
    episodes(callback, [True, True])  # nothing left to do
    assert callback.max_distance is None


def test_a_resumed_model_continues_at_its_limit(tmp_path):
    from agents.double_dqn import DoubleDQN

    venv = make_sb3_vec_env("FourRooms-Dynamic-v0", num_envs=2, seed=0, obs_mode="onehot")
    model = DoubleDQN("MlpPolicy", venv, buffer_size=100, learning_starts=10, device="cpu")
    model.curriculum_max_distance = 7
    model.save(tmp_path / "m.zip")
    loaded = DoubleDQN.load(tmp_path / "m.zip", env=venv)
    loaded.set_logger(configure(None, []))  # (learn() sets one up; the harness sets its own)
    callback = DistanceCurriculum(CurriculumSettings(start=2), core.FOUR_ROOMS)
    callback.init_callback(loaded)
    callback.on_training_start({}, {})
    assert callback.max_distance == 7 and venv.get_attr("max_distance") == [7, 7]


@pytest.mark.parametrize(
    "value, message",
    [
        (3, "curriculum must be a mapping"),
        ({"start": 0}, "curriculum.start must be a positive integer"),
        ({"step": 1.5}, "curriculum.step must be a positive integer"),
        ({"window": True}, "curriculum.window must be a positive integer"),
        ({"success": 0}, r"curriculum.success must be a finite number in \(0, 1\]"),
        ({"success": "high"}, r"curriculum.success must be a finite number in \(0, 1\]"),
        ({"speed": 2}, r"unknown curriculum key\(s\) \['speed'\]"),
    ],
)
def test_bad_settings_are_one_clear_error(value, message):
    with pytest.raises(UserError, match=message):
        CurriculumSettings.from_config(value)


def test_settings_from_a_config_entry():
    assert CurriculumSettings.from_config({"start": 4, "success": 0.9}) == CurriculumSettings(4, 2, 0.9, 200)


@pytest.mark.parametrize("value", ["2e4", "20000", 20000.0, "2.0", 3, "2.5", "inf", "nan", "1e400", 0, -1, True, "many", None])
def test_the_curriculum_takes_the_integers_every_other_integer_key_takes(value):
    """curriculum.window is checked as the config's other integer keys (and the integer options) are: ``"2e4"`` is
    20000, and what they refuse it refuses with the same allowed values."""
    from agents.harness.hyperparams import check_hyperparams

    try:
        expected = check_hyperparams("dqn", "FourRooms-Dynamic-v0", {"eval_episodes": value}, "test")["eval_episodes"]
    except UserError as refused:
        with pytest.raises(UserError) as err:
            CurriculumSettings.from_config({"window": value})
        assert str(err.value).startswith("curriculum.window must be ")
        assert str(err.value).split(" must be ")[1] == str(refused).split(" must be ")[1]  # "a positive integer, got ..."
    else:
        assert CurriculumSettings.from_config({"window": value}).window == expected


@pytest.mark.parametrize("text", ["8e-1", "1", "0", "-0.5", "1.5", "nan", "inf", "high"])
def test_the_curriculum_takes_the_rates_the_command_line_takes(text):
    """curriculum.success is checked as a number option in (0, 1] of the command line is, with the same words."""
    import argparse

    from hrm_mazes.cli_args import float_option

    try:
        expected = float_option(0, 1, low_open=True)(text)
    except argparse.ArgumentTypeError as refused:
        with pytest.raises(UserError) as err:
            CurriculumSettings.from_config({"success": text})
        assert str(err.value) == f"curriculum.success {refused}"
    else:
        assert CurriculumSettings.from_config({"success": text}).success == expected


# --- through the harness: a config key turns it on, and checkpoints keep the level -----------------------

TINY_CNN = {"policy": "MlpPolicy", "obs_mode": "onehot", "n_envs": 4, "buffer_size": 1000, "learning_starts": 20,
            "features_extractor": "grid-cnn", "features_extractor_kwargs": {"features_dim": 16, "channels": [4, 4]},
            "policy_kwargs": {"net_arch": []}}  # fmt: skip


def write_config(tmp_path, **extra):
    import yaml

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({"FourRooms-Dynamic-v0": {**TINY_CNN, **extra}}))
    return path


def test_a_config_with_a_curriculum_trains_with_it(tmp_path):
    from agents.harness.config import TrainConfig
    from agents.harness.loading import load_agent
    from agents.harness.training import train

    config = write_config(tmp_path, curriculum={"start": 1, "step": 1, "success": 0.01, "window": 2})
    result = train(TrainConfig(algo="dqn-cnn", env_id="FourRooms-Dynamic-v0", steps=1200, config=str(config),
                               out=tmp_path / "run", device="cpu", eval_episodes=5, progress=False))  # fmt: skip
    model = load_agent(result.model_path, device="cpu").model
    # The first episodes (begun before the limit) end at the time limit (80 steps); after them, random play
    # solves goals one step away, so the limit rose from 1 (and was saved with the model).
    level = model.curriculum_max_distance
    assert level is None or level > 1
    import csv

    with (tmp_path / "run" / "progress.csv").open() as f:
        rows = list(csv.DictReader(f))
    limits = [row["charts/curriculum_max_distance"] for row in rows]
    assert rows and all(limits), limits  # the current limit on every logged row


@pytest.mark.parametrize("bad", [3, {"start": 0}, {"success": 2}, {"pace": 1}])
def test_a_bad_curriculum_entry_is_one_line_error_before_the_run(tmp_path, bad):
    from agents.harness.config import TrainConfig
    from agents.harness.training import train

    config = write_config(tmp_path, curriculum=bad)
    with pytest.raises(UserError, match="curriculum must be a mapping of start, step"):
        train(TrainConfig(algo="dqn-cnn", env_id="FourRooms-Dynamic-v0", steps=100, config=str(config),
                          out=tmp_path / "run", device="cpu", progress=False))  # fmt: skip
    assert not (tmp_path / "run").exists()


def test_unknown_keys_are_refused_for_a_subclass_that_passes_kwargs_on(tmp_path):
    """DoubleDQN takes ``**kwargs`` for SB3 DQN's arguments: a typo must still be caught."""
    from agents.harness.config import TrainConfig
    from agents.harness.training import train

    config = write_config(tmp_path, exploraton_fraction=0.5)
    with pytest.raises(UserError, match="unknown hyperparameter.*exploraton_fraction"):
        train(TrainConfig(algo="dqn-cnn", env_id="FourRooms-Dynamic-v0", steps=100, config=str(config),
                          out=tmp_path / "run", device="cpu", progress=False))  # fmt: skip

"""The distance curriculum's env side: start and goal at most ``max_distance`` open-map steps apart, uniformly
over such pairs, in the single and the batched env; off (the task's law, same random stream) by default."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hrm_mazes  # noqa: F401
from hrm_mazes import core
from hrm_mazes.sb3 import make_sb3_vec_env

ENV_IDS = ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0")
LAYOUTS = {"FourRooms-Dynamic-v0": core.FOUR_ROOMS, "RandomDoorMaze-v0": core.DOOR_MAZE}


def open_distance(layout, a, b):
    cells = layout.walkable_positions
    w = layout.shape[1]
    index = {int(r * w + c): i for i, (r, c) in enumerate(cells)}
    return int(core.open_map_distances(layout)[index[a[0] * w + a[1]], index[b[0] * w + b[1]]])


def test_open_map_distances_are_the_bfs_on_the_map_without_doors():
    layout = core.FOUR_ROOMS
    distances = core.open_map_distances(layout)
    assert distances.shape == (104, 104) and (np.diag(distances) == 0).all()
    assert (distances == distances.T).all() and (distances[~np.eye(104, dtype=bool)] > 0).all()
    # Corner to corner of one room, and through a doorway: (1,1) -> (3,6) doorway is 2 + 5 = 7 steps.
    assert open_distance(layout, (1, 1), (5, 5)) == 8
    assert open_distance(layout, (1, 1), (3, 6)) == 7
    assert core.max_open_map_distance(layout) == distances.max()


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(max_examples=25)
@given(max_distance=st.integers(1, 25), seed=st.integers(0, 2**31 - 1))
def test_single_env_draws_start_and_goal_within_the_limit(env_id, max_distance, seed):
    env = gym.make(env_id)
    env.unwrapped.set_max_distance(max_distance)
    _, info = env.reset(seed=seed)
    start, goal = tuple(info["agent_pos"]), tuple(info["goal_pos"])
    assert start != goal
    assert 1 <= open_distance(LAYOUTS[env_id], start, goal) <= max_distance


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_law_is_uniform_over_the_pairs_within_the_limit(env_id):
    layout = LAYOUTS[env_id]
    distances = core.open_map_distances(layout)
    allowed = np.argwhere((distances > 0) & (distances <= 2))
    envs = gym.make_vec(env_id, num_envs=4000, vectorization_mode="vector_entry_point")
    envs.set_max_distance(2)
    cells = layout.walkable_positions
    w = layout.shape[1]
    index = np.full(layout.shape[0] * w, -1)
    index[cells[:, 0] * w + cells[:, 1]] = np.arange(len(cells))
    counts = np.zeros(distances.shape, dtype=np.int64)
    for seed in range(5):
        _, info = envs.reset(seed=seed)
        start = index[info["agent_pos"][:, 0] * w + info["agent_pos"][:, 1]]
        goal = index[info["goal_pos"][:, 0] * w + info["goal_pos"][:, 1]]
        np.add.at(counts, (start, goal), 1)
    inside = counts[allowed[:, 0], allowed[:, 1]]
    assert inside.sum() == counts.sum() == 20_000  # nothing outside the limit
    expected = 20_000 / len(allowed)
    chi2 = ((inside - expected) ** 2 / expected).sum()
    dof = len(allowed) - 1
    assert chi2 < dof + 5 * np.sqrt(2 * dof), (chi2, dof)  # ~5 sigma of the chi-square law


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_off_by_default_and_none_restores_the_task_stream(env_id):
    fresh, curriculum = gym.make(env_id), gym.make(env_id)
    curriculum.unwrapped.set_max_distance(1)
    curriculum.reset(seed=0)
    curriculum.unwrapped.set_max_distance(None)
    for seed in range(20):
        a, info_a = fresh.reset(seed=seed)
        b, info_b = curriculum.reset(seed=seed)
        assert np.array_equal(a, b) and info_a == info_b
    far = [open_distance(LAYOUTS[env_id], tuple(i["agent_pos"]), tuple(i["goal_pos"]))
           for i in (fresh.reset(seed=s)[1] for s in range(50))]  # fmt: skip
    assert max(far) > 3


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_reset_option_holds_for_one_episode(env_id):
    env = gym.make(env_id)
    layout = LAYOUTS[env_id]
    for seed in range(30):
        _, info = env.reset(seed=seed, options={"max_distance": 1})
        assert open_distance(layout, tuple(info["agent_pos"]), tuple(info["goal_pos"])) == 1
    later = [env.reset()[1] for _ in range(50)]
    assert max(open_distance(layout, tuple(i["agent_pos"]), tuple(i["goal_pos"])) for i in later) > 1
    _, info = env.reset(seed=3, options={"start": (1, 1), "max_distance": 2})
    assert tuple(info["agent_pos"]) == (1, 1)
    assert open_distance(layout, (1, 1), tuple(info["goal_pos"])) <= 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", True, np.array([2])])
def test_bad_max_distance_is_one_clear_error_and_the_env_stays_usable(bad):
    env = gym.make("FourRooms-Dynamic-v0")
    env.reset(seed=0)  # (Gymnasium's passive checker breaks step() if the very first reset raised)
    with pytest.raises(ValueError, match=r"max_distance.*integer in \[1, "):
        env.unwrapped.set_max_distance(bad)
    with pytest.raises(ValueError, match=r"options\['max_distance'\].*integer in \[1, "):
        env.reset(seed=0, options={"max_distance": bad})
    envs = gym.make_vec("FourRooms-Dynamic-v0", num_envs=4, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match=r"max_distance.*integer in \[1, "):
        envs.set_max_distance(bad)
    with pytest.raises(ValueError, match=r"options\['max_distance'\].*integer in \[1, "):
        envs.reset(seed=0, options={"max_distance": bad})
    assert env.unwrapped.max_distance is None and envs.max_distance is None
    env.reset(seed=0)
    env.step(0)
    envs.reset(seed=0)
    envs.step(np.zeros(4, dtype=np.int64))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_batched_auto_resets_follow_the_limit_and_the_sb3_adapter_reaches_it(env_id):
    layout = LAYOUTS[env_id]
    venv = make_sb3_vec_env(env_id, num_envs=64, seed=1)
    venv.reset()
    venv.env_method("set_max_distance", 2)
    assert venv.get_attr("max_distance") == [2] * 64
    base = venv._base  # the batched env behind the adapter
    starts = set()
    for _ in range(120):
        _, _, dones, _ = venv.step(np.random.default_rng(0).integers(4, size=64))
        for i in np.flatnonzero(dones):
            start = tuple(base._pos_table[base._start[i]])
            goal = tuple(base._pos_table[base._goal[i]])
            starts.add(start)
            assert 1 <= open_distance(layout, start, goal) <= 2
    assert len(starts) > 10

"""Invalid input fails loudly with a ValueError that names the offending argument and what is allowed, and a
rejected call leaves the environment untouched (SPEC section 2: "validated with clear errors")."""

from __future__ import annotations

import copy
import warnings

import gymnasium as gym
import numpy as np
import pytest

from hrm_mazes import FourRoomsDynamicEnv, RandomDoorMazeEnv

ENV_IDS = ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0")
ENV_CLASSES = {"FourRooms-Dynamic-v0": FourRoomsDynamicEnv, "RandomDoorMaze-v0": RandomDoorMazeEnv}


def _env_state(env: gym.Env) -> tuple:
    e = env.unwrapped
    return (
        e.agent_pos,
        e.start_pos,
        e.goal_pos,
        e.fixed_walls.tobytes(),
        e.closed_doors.tobytes(),
        copy.deepcopy(e.np_random.bit_generator.state),
    )


# --- actions --------------------------------------------------------------------------------------------

BAD_ACTIONS = [4, -1, 1.0, np.float32(2), True, np.bool_(False), np.array([1]), np.array([[0, 1]]), None, "north", "1"]


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("action", BAD_ACTIONS, ids=repr)
def test_invalid_action_is_rejected_and_env_stays_usable(env_id, action):
    env = gym.make(env_id)
    reference = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    reference.reset(seed=0)
    env.step(1)
    reference.step(1)
    before = _env_state(env)
    with pytest.raises(ValueError, match="action") as excinfo:
        env.step(action)
    assert "{0, 1, 2, 3}" in str(excinfo.value)
    assert _env_state(env) == before
    # The rejected call consumed nothing, not even a time-limit step: the env keeps matching a twin that never
    # saw it, down to truncation at the same step.
    for t in range(200):
        a = t % 4
        out, ref = env.step(a), reference.step(a)
        np.testing.assert_array_equal(out[0], ref[0])
        assert out[1:] == ref[1:]
        if out[2] or out[3]:
            break


@pytest.mark.parametrize("action", [0, 3, np.int64(2), np.uint8(1), np.array(2)], ids=repr)
def test_valid_action_types(action):
    env = gym.make("FourRooms-Dynamic-v0")
    env.reset(seed=0)
    env.step(action)


# --- constructor arguments ------------------------------------------------------------------------------

BAD_KWARGS = [
    # (env id, kwargs, words the message must contain: the parameter name and the allowed values)
    ("FourRooms-Dynamic-v0", {"p_change": -0.1}, ["p_change", "[0, 1]"]),
    ("FourRooms-Dynamic-v0", {"p_change": 1.5}, ["p_change", "[0, 1]"]),
    ("FourRooms-Dynamic-v0", {"p_change": float("nan")}, ["p_change", "[0, 1]"]),
    ("FourRooms-Dynamic-v0", {"p_change": "x"}, ["p_change", "[0, 1]"]),
    ("FourRooms-Dynamic-v0", {"p_change": None}, ["p_change", "[0, 1]"]),
    ("RandomDoorMaze-v0", {"p_change": 2}, ["p_change", "[0, 1]"]),
    ("FourRooms-Dynamic-v0", {"n_closed_doors": 5}, ["n_closed_doors", "[0, 4]"]),
    ("FourRooms-Dynamic-v0", {"n_closed_doors": -1}, ["n_closed_doors", "[0, 4]"]),
    ("FourRooms-Dynamic-v0", {"n_closed_doors": 1.0}, ["n_closed_doors", "[0, 4]"]),
    ("RandomDoorMaze-v0", {"n_fixed_walls": 40, "n_temp_doors": 10}, ["n_fixed_walls + n_temp_doors", "49"]),
    ("RandomDoorMaze-v0", {"n_fixed_walls": -1}, ["n_fixed_walls", "[0, 49]"]),
    ("RandomDoorMaze-v0", {"n_fixed_walls": 50}, ["n_fixed_walls", "[0, 49]"]),
    ("RandomDoorMaze-v0", {"n_temp_doors": 2.5}, ["n_temp_doors", "[0, 49]"]),
    ("RandomDoorMaze-v0", {"n_temp_doors": -3}, ["n_temp_doors", "[0, 49]"]),
    ("FourRooms-Dynamic-v0", {"obs_mode": "pixels"}, ["obs_mode", "tokens", "onehot", "rgb"]),
    ("RandomDoorMaze-v0", {"obs_mode": None}, ["obs_mode", "tokens", "onehot", "rgb"]),
    ("FourRooms-Dynamic-v0", {"render_mode": "window"}, ["render_mode", "human", "rgb_array", "ansi"]),
    ("FourRooms-Dynamic-v0", {"distinct_doors": "yes"}, ["distinct_doors", "True", "False"]),
    ("FourRooms-Dynamic-v0", {"tile_size": 0}, ["tile_size", "[4, 256]"]),
    ("FourRooms-Dynamic-v0", {"tile_size": 1000}, ["tile_size", "[4, 256]"]),
    ("RandomDoorMaze-v0", {"tile_size": 16.0}, ["tile_size", "[4, 256]"]),
    ("RandomDoorMaze-v0", {"tile_size": "32"}, ["tile_size", "[4, 256]"]),
]


@pytest.mark.parametrize("env_id, kwargs, words", BAD_KWARGS, ids=lambda v: repr(v) if isinstance(v, dict) else None)
def test_invalid_kwargs_are_rejected(env_id, kwargs, words):
    for make in (lambda: gym.make(env_id, **kwargs), lambda: ENV_CLASSES[env_id](**kwargs)):
        with pytest.raises(ValueError) as excinfo, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gym.make's own notice about an unknown render_mode
            make()
        for word in words:
            assert word in str(excinfo.value), (word, str(excinfo.value))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_maze_kwargs_at_the_limits_are_accepted(env_id):
    limits = (
        [{"n_closed_doors": 0}, {"n_closed_doors": 4}, {"p_change": 0}, {"p_change": 1}]
        if env_id == "FourRooms-Dynamic-v0"
        else [{"n_fixed_walls": 0, "n_temp_doors": 49}, {"n_fixed_walls": 49, "n_temp_doors": 0}, {"p_change": 1.0}]
    )
    for kwargs in limits + [{"tile_size": 4}, {"tile_size": 256, "obs_mode": "tokens"}]:
        env = gym.make(env_id, **kwargs)
        env.reset(seed=0)
        env.step(0)


def test_maze_rejects_unknown_kwarg():
    with pytest.raises(TypeError):
        gym.make("RandomDoorMaze-v0", n_closed_doors=1)  # a FourRooms knob


# --- call order -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_before_reset_raises(env_id):
    with pytest.raises(gym.error.ResetNeeded):
        ENV_CLASSES[env_id]().step(0)
    with pytest.raises(gym.error.ResetNeeded):
        gym.make(env_id).step(0)


# --- reset options --------------------------------------------------------------------------------------

BAD_OPTIONS = [
    # (options, words the message must contain); map coordinates of both maps: (0, 0) is the outer wall.
    ({"start": (0, 0)}, ["start", "walkable"]),  # outer wall
    ({"goal": (0, 5)}, ["goal", "walkable"]),
    ({"start": (6, 4)}, ["start", "walkable"]),  # an inner wall in both maps
    ({"start": (1, 1), "goal": (1, 1)}, ["start", "goal", "differ"]),
    ({"start": (1, 40)}, ["start", "walkable"]),  # out of bounds
    ({"goal": (-1, 1)}, ["goal", "walkable"]),
    ({"start": (1.5, 1)}, ["start", "integers"]),
    ({"goal": "ab"}, ["goal", "integers"]),
    ({"goal": (1, 1, 1)}, ["goal", "integers"]),
    ({"start": 3}, ["start", "integers"]),
    ({"layout_seed": -1}, ["layout_seed", "non-negative integer"]),
    ({"layout_seed": 1.5}, ["layout_seed", "non-negative integer"]),
    ({"seed": 3}, ["seed", "start", "goal", "layout_seed"]),  # unknown key: the message lists the allowed keys
    ({"Start": (1, 1)}, ["Start", "start", "goal", "layout_seed"]),
]


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("options, words", BAD_OPTIONS, ids=lambda v: repr(v) if isinstance(v, dict) else None)
def test_invalid_reset_options_are_rejected(env_id, options, words):
    env = gym.make(env_id)
    # A first good reset: gymnasium's PassiveEnvChecker (gym.make) cannot recover if the very first reset raises.
    env.reset(seed=0)
    with pytest.raises(ValueError) as excinfo:
        env.reset(seed=0, options=options)
    for word in words:
        assert word in str(excinfo.value), (word, str(excinfo.value))
    env.reset(seed=0, options={"start": (1, 1)})  # still usable
    env.step(0)


def test_fourrooms_inner_wall_cell_is_a_wall():
    # The options above use (6, 4) as an inner wall; make sure it is one on both maps (else the test is vacuous).
    for env_id in ENV_IDS:
        assert gym.make(env_id).unwrapped.layout.walls[6, 4]

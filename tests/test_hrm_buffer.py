"""HRMReplayBuffer: carries stay aligned with their transitions (wrap-around, episode ends, many envs)."""

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from agents.hrm_dqn.buffers import HRMReplayBuffer, decode_carry, encode_carry

N_ENVS, SLOTS, D = 3, 10, 4
INIT = -1.0  # carry value of an episode start
OBS_SPACE = spaces.Box(0, 255, (2, 3), np.uint8)


def obs_of(t: int, env: int, final: bool = False) -> np.ndarray:
    """An observation that names its step and env (row 1 marks an episode's final observation)."""
    o = np.zeros((2, 3), np.uint8)
    o[0] = (t % 256, env, t // 256)
    o[1, 0] = 1 if final else 0
    return o


def produced(t: int, env: int) -> float:
    """The carry produced at step t (exact in float16 and bfloat16)."""
    return float((t + 1) % 32) + 0.25 * env


def fill(buffer: HRMReplayBuffer, steps: int, rng: np.random.Generator):
    """Feed ``steps`` collection steps shaped like HRMDQN's; return the expected record of every transition."""
    used = np.full(N_ENVS, INIT)
    expected = {}  # (t, env) -> (carry used, carry produced, done, truncated)
    for t in range(steps):
        done = rng.random(N_ENVS) < 0.2
        truncated = done & (rng.random(N_ENVS) < 0.5)
        infos = [{"TimeLimit.truncated": bool(truncated[e])} for e in range(N_ENVS)]
        obs = np.stack([obs_of(t, e) for e in range(N_ENVS)])
        next_obs = np.stack([obs_of(t + 1, e, final=done[e]) for e in range(N_ENVS)])
        carry = np.broadcast_to(used[:, None, None], (N_ENVS, 2, D))
        next_carry = np.broadcast_to(np.array([produced(t, e) for e in range(N_ENVS)])[:, None, None], (N_ENVS, 2, D))
        buffer.add(obs, next_obs, np.arange(N_ENVS) % 4, np.full(N_ENVS, t, np.float32), done, infos,
                   carry=carry, next_carry=next_carry)
        for e in range(N_ENVS):
            expected[(t, e)] = (used[e], produced(t, e), bool(done[e]), bool(truncated[e]))
        used = np.where(done, INIT, next_carry[:, 0, 0])
    return expected


@pytest.mark.parametrize("optimize", [False, True])
@pytest.mark.parametrize("carry_dtype", ["float16", "bfloat16", "float32"])
def test_carries_aligned_across_wraparound_and_episode_ends(optimize, carry_dtype):
    buffer = HRMReplayBuffer(SLOTS * N_ENVS, OBS_SPACE, spaces.Discrete(4), device="cpu", n_envs=N_ENVS,
                             optimize_memory_usage=optimize, carry_shape=(2, D), carry_dtype=carry_dtype)
    steps = 2 * SLOTS + 7  # wraps around twice
    expected = fill(buffer, steps, np.random.default_rng(0))
    assert buffer.full
    slots = [s for s in range(SLOTS) if not (optimize and s == buffer.pos)]
    inds = np.repeat(slots, N_ENVS)
    envs = np.tile(np.arange(N_ENVS), len(slots))
    data = buffer._get_samples(inds, env_indices=envs)
    seen = set()
    for i in range(len(inds)):
        obs = data.observations[i].numpy()
        t, e = int(obs[0, 0]) + 256 * int(obs[0, 2]), int(obs[0, 1])
        assert e == envs[i] and obs[1, 0] == 0
        assert steps - SLOTS <= t < steps, "only the newest SLOTS steps per env are kept"
        carry, next_carry, done, truncated = expected[(t, e)]
        assert th.all(data.carries[i] == carry), (t, e)
        assert th.all(data.next_carries[i] == next_carry), (t, e)
        assert data.rewards[i, 0] == t
        assert data.dones[i, 0] == float(done and not truncated), "a truncation is not a termination"
        next_obs = data.next_observations[i].numpy()
        assert (int(next_obs[0, 0]) + 256 * int(next_obs[0, 2]), int(next_obs[0, 1])) == (t + 1, e)
        assert next_obs[1, 0] == int(done), "episode ends keep their final observation"
        seen.add((t, e))
    assert len(seen) == len(inds)


@pytest.mark.parametrize("optimize", [False, True])
def test_sample_returns_only_stored_transitions(optimize):
    buffer = HRMReplayBuffer(SLOTS * N_ENVS, OBS_SPACE, spaces.Discrete(4), device="cpu", n_envs=N_ENVS,
                             optimize_memory_usage=optimize, carry_shape=(2, D))
    expected = fill(buffer, 6, np.random.default_rng(1))  # not full yet
    data = buffer.sample(500)
    for i in range(500):
        obs = data.observations[i].numpy()
        t, e = int(obs[0, 0]), int(obs[0, 1])
        assert (t, e) in expected
        assert th.all(data.carries[i] == expected[(t, e)][0])


def test_reset_mode_stores_no_carries_and_missing_carries_are_an_error():
    buffer = HRMReplayBuffer(20, OBS_SPACE, spaces.Discrete(4), device="cpu", n_envs=1, carry_shape=None)
    buffer.add(obs_of(0, 0)[None], obs_of(1, 0)[None], np.array([1]), np.array([0.0]), np.array([False]), [{}])
    data = buffer.sample(4)
    assert data.carries is None and data.next_carries is None
    assert buffer.carries is None
    with_carries = HRMReplayBuffer(20, OBS_SPACE, spaces.Discrete(4), device="cpu", n_envs=1, carry_shape=(2, D))
    with pytest.raises(ValueError, match="carry"):
        with_carries.add(obs_of(0, 0)[None], obs_of(1, 0)[None], np.array([1]), np.array([0.0]), np.array([False]), [{}])
    with pytest.raises(ValueError, match="carry_dtype"):
        HRMReplayBuffer(20, OBS_SPACE, spaces.Discrete(4), carry_shape=(2, D), carry_dtype="int8")


def test_memory_layout_is_lean():
    space = spaces.Box(0, 6, (11, 11), np.uint8)
    plain = HRMReplayBuffer(1000, space, spaces.Discrete(4), device="cpu", n_envs=4, carry_shape=(2, 64))
    lean = HRMReplayBuffer(1000, space, spaces.Discrete(4), device="cpu", n_envs=4, carry_shape=(2, 64),
                           optimize_memory_usage=True)
    assert plain.observations.dtype == np.uint8 and plain.carries.dtype == np.float16
    assert lean.nbytes < 0.6 * plain.nbytes
    assert not hasattr(lean, "next_observations") and lean.next_carries is None


@pytest.mark.parametrize("dtype, tol", [("float32", 0.0), ("float16", 1e-3), ("bfloat16", 8e-3)])
def test_carry_encoding_round_trip(dtype, tol):
    x = np.random.default_rng(0).normal(size=(100, 2, 8)).astype(np.float32)
    y = decode_carry(encode_carry(x, dtype), dtype)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x, rtol=tol, atol=tol)


@pytest.mark.parametrize("optimize", [False, True])
def test_n_step_returns_by_hand(optimize):
    """3-step returns, gamma 0.5, on 8 slots filled with steps t = 0..9 (the buffer wraps: slots hold t = 2..9).

    Env 0 terminates at t = 4 and is truncated at t = 8; t = 9 is the newest entry. Reward at t is t + 1, the
    carry produced at t is 200 + t, so the carry used at t is 199 + t (-1 at an episode start).
    """
    slots, n_envs = 8, 2
    buffer = HRMReplayBuffer(slots * n_envs, OBS_SPACE, spaces.Discrete(4), device="cpu", n_envs=n_envs,
                             optimize_memory_usage=optimize, carry_shape=(2, D), carry_dtype="float32",
                             n_steps=3, gamma=0.5)
    used = np.array([199.0, 199.0])
    for t in range(10):
        done = np.array([t in (4, 8), False])
        infos = [{"TimeLimit.truncated": t == 8}, {}]
        obs = np.stack([obs_of(t, e) for e in range(n_envs)])
        next_obs = np.stack([obs_of(t + 1, e, final=done[e]) for e in range(n_envs)])
        produced_now = np.array([200.0 + t, 200.0 + t])
        buffer.add(obs, next_obs, np.zeros(n_envs), np.array([t + 1.0, 10.0 * (t + 1)]), done, infos,
                   carry=np.broadcast_to(used[:, None, None], (n_envs, 2, D)),
                   next_carry=np.broadcast_to(produced_now[:, None, None], (n_envs, 2, D)))
        used = np.where(done, -1.0, produced_now)
    # t: (n-step return, gamma ** k, terminated, carry used at t, last step t + k - 1 of the window)
    expected = {
        2: (3 + 0.5 * 4 + 0.25 * 5, 0.125, 1.0, 201.0, 4),  # stops at the termination (included)
        3: (4 + 0.5 * 5, 0.25, 1.0, 202.0, 4),
        4: (5, 0.5, 1.0, 203.0, 4),
        5: (6 + 0.5 * 7 + 0.25 * 8, 0.125, 0.0, -1.0, 7),  # a full window
        6: (7 + 0.5 * 8 + 0.25 * 9, 0.125, 0.0, 205.0, 8),  # crosses slot 7 -> 0, stops at the truncation
        7: (8 + 0.5 * 9, 0.25, 0.0, 206.0, 8),
        8: (9, 0.5, 0.0, 207.0, 8),  # a truncation bootstraps: not terminated
        9: (10, 0.5, 0.0, -1.0, 9),  # the newest entry: its successor slot holds no transition yet
    }
    ts = [t for t in expected if not (optimize and t % slots == buffer.pos)]
    data = buffer._get_samples(np.array([t % slots for t in ts]), env_indices=np.zeros(len(ts), int))
    for i, t in enumerate(ts):
        ret, discount, terminated, carry, last = expected[t]
        assert data.rewards[i, 0].item() == pytest.approx(ret, abs=1e-6), t
        assert data.discounts[i, 0].item() == discount, t
        assert data.dones[i, 0].item() == terminated, t
        assert th.all(data.carries[i] == carry), t
        assert th.all(data.next_carries[i] == 200.0 + last), t
        next_obs = data.next_observations[i].numpy()
        assert int(next_obs[0, 0]) == last + 1 and next_obs[1, 0] == int(last in (4, 8)), t
    # Env 1 never ends an episode: t = 8 sums its own rewards (90, 100) up to the newest entry.
    data = buffer._get_samples(np.array([8 % slots]), env_indices=np.array([1]))
    assert data.rewards[0, 0].item() == pytest.approx(90 + 0.5 * 100) and data.discounts[0, 0].item() == 0.25
    assert th.all(data.next_carries[0] == 209.0)


def test_one_step_is_the_plain_transition():
    buffer = HRMReplayBuffer(SLOTS * N_ENVS, OBS_SPACE, spaces.Discrete(4), device="cpu", n_envs=N_ENVS,
                             carry_shape=(2, D), gamma=0.9)
    expected = fill(buffer, SLOTS + 3, np.random.default_rng(2))
    data = buffer._get_samples(np.arange(SLOTS), env_indices=np.zeros(SLOTS, int))
    for i in range(SLOTS):
        t = int(data.observations[i, 0, 0]) + 256 * int(data.observations[i, 0, 2])
        assert data.rewards[i, 0] == t and data.discounts[i, 0] == pytest.approx(0.9)
        assert th.all(data.next_carries[i] == expected[(t, 0)][1])


def test_n_steps_is_validated():
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        HRMReplayBuffer(20, OBS_SPACE, spaces.Discrete(4), n_steps=0)

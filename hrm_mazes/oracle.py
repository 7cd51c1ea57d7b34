"""The BFS re-planning oracle: the upper-bound baseline, and a check that the mazes are solvable as specified.

At every step the oracle re-plans with the doors as they are now and takes the first move of a shortest
path. When the goal is cut off by closed temporary doors it plans as if those doors were open (fixed walls
stay walls) and walks towards the goal; when the next cell of that plan is a closed door it pushes against
it, which keeps it in place (a blocked move, -0.01) until the door opens or the doors are redrawn.
Ties between equally short moves go to the lowest action index, so the oracle is deterministic.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from hrm_mazes import core
from hrm_mazes.core import Layout


def _first_move(layout: Layout, dist_to_goal: list[int], agent: tuple[int, int]) -> int | None:
    """The lowest action that lowers the distance to the goal by one, or None if the agent is cut off."""
    w = layout.shape[1]
    here = dist_to_goal[agent[0] * w + agent[1]]
    if here <= 0:
        return None
    for action, (dr, dc) in enumerate(core.ACTION_DELTAS):
        if dist_to_goal[(agent[0] + dr) * w + agent[1] + dc] == here - 1:
            return action
    return None


def oracle_action(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    agent: tuple[int, int],
    goal: tuple[int, int],
) -> int:
    """The oracle's action for one maze state (map coordinates, per-door booleans as in :mod:`hrm_mazes.core`)."""
    w = layout.shape[1]
    goal_flat = goal[0] * w + goal[1]
    blocked = core.blocked_grid(layout, fixed_walls[None], closed_doors[None])[0].ravel().tolist()
    action = _first_move(layout, core.bfs_distances(layout, blocked, goal_flat), agent)
    if action is not None:
        return action
    # Cut off: head for the goal through the closed doors and wait at the first one.
    optimistic = core.blocked_grid(layout, fixed_walls[None], np.zeros_like(closed_doors)[None])[0].ravel().tolist()
    action = _first_move(layout, core.bfs_distances(layout, optimistic, goal_flat), agent)
    return core.NORTH if action is None else action


class BFSOracle:
    """A policy object for one env: ``action = oracle(obs, info)`` reads the env's true state.

    :param env: a :class:`~hrm_mazes.envs.DynamicDoorsEnv`, possibly wrapped (``gym.make`` result).
    """

    def __init__(self, env: gym.Env) -> None:
        self.env = env.unwrapped

    def __call__(self, obs: Any = None, info: dict | None = None) -> int:
        e = self.env
        return oracle_action(e.layout, e.fixed_walls, e.closed_doors, e.agent_pos, e.goal_pos)


def run_oracle_episode(env: gym.Env, seed: int | None = None, options: dict | None = None) -> dict[str, Any]:
    """Play one episode with the oracle; returns ``success``, ``length``, ``return`` and the initial ``shortest_path``."""
    oracle = BFSOracle(env)
    obs, info = env.reset(seed=seed, options=options)
    initial_shortest = info["shortest_path"]
    total, length = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = env.step(oracle(obs, info))
        total += float(reward)
        length += 1
        if terminated or truncated:
            return {"success": bool(info["is_success"]), "length": length, "return": total, "shortest_path": initial_shortest}


# --- batched oracle (the batched vector env) ------------------------------------------------------------


def _batched_first_move(layout: Layout, distance: np.ndarray, agent_flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the lowest action that lowers the distance by one, and whether there is one (``_first_move``)."""
    n, cells = distance.shape
    w = layout.shape[1]
    flat_delta = core.ACTION_DELTAS[:, 0] * w + core.ACTION_DELTAS[:, 1]
    at = np.arange(n, dtype=np.int64) * cells + agent_flat
    here = distance.reshape(-1).take(at)
    around = distance.reshape(-1).take(at[:, None] + flat_delta[None, :])  # (n, 4): never wraps (outer wall)
    downhill = (around == (here - 1)[:, None]) & (here > 0)[:, None]
    return downhill.argmax(axis=1), downhill.any(axis=1)


def batched_oracle_actions(
    layout: Layout,
    fixed_walls: np.ndarray,
    closed_doors: np.ndarray,
    agent: np.ndarray,
    goal: np.ndarray,
    distance: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`oracle_action` for ``N`` maze states at once: ``(N,)`` int64 actions, the same choice per state.

    :param fixed_walls, closed_doors: ``(N, K)`` bool. :param agent, goal: ``(N, 2)`` map positions.
    :param distance: optional ``(N, H*W)`` distance-to-goal fields with the doors as they are (the batched
        env keeps them); computed with :func:`hrm_mazes.core.batched_goal_distances` when omitted.
    """
    agent, goal = np.asarray(agent), np.asarray(goal)
    w = layout.shape[1]
    agent_flat = agent[:, 0] * w + agent[:, 1]
    if distance is None:
        distance = core.batched_goal_distances(layout, fixed_walls, closed_doors, goal)
    actions, found = _batched_first_move(layout, distance, agent_flat)
    if not found.all():
        # Cut off: head for the goal through the closed doors and wait at the first one (as the scalar oracle).
        cut = np.flatnonzero(~found)
        optimistic = core.batched_goal_distances(
            layout, fixed_walls[cut], np.zeros_like(closed_doors[cut]), goal[cut]
        )
        detour, ok = _batched_first_move(layout, optimistic, agent_flat[cut])
        actions[cut] = np.where(ok, detour, core.NORTH)
    return actions


class BatchedBFSOracle:
    """The oracle for a batched vector env: ``actions = oracle(obs, info)`` reads every env's true state.

    :param venv: a :class:`hrm_mazes.vector.DynamicDoorsVectorEnv` (``gym.make_vec(..., "vector_entry_point")``).
    """

    def __init__(self, venv: Any) -> None:
        self.venv = venv.unwrapped

    def __call__(self, obs: Any = None, info: dict | None = None) -> np.ndarray:
        v = self.venv
        return batched_oracle_actions(
            v.layout, v.fixed_walls, v.closed_doors, v.agent_pos, v.goal_pos, distance=v.goal_distance_field
        )


def run_batched_oracle_episodes(venv: Any, seed: int | None = None) -> dict[str, np.ndarray]:
    """Play the first episode of every env of a batched env with the oracle (one episode per env, no bias
    towards short episodes). Returns ``(N,)`` arrays ``success``, ``length``, ``return``, ``shortest_path``
    (at the start). Uses the env's auto-reset, whatever its mode: later episodes are ignored.
    """
    oracle = BatchedBFSOracle(venv)
    _, info = venv.reset(seed=seed)
    n = venv.unwrapped.num_envs
    initial = np.asarray(info["shortest_path"]).copy()
    total = np.zeros(n)
    length = np.zeros(n, dtype=np.int64)
    success = np.zeros(n, dtype=bool)
    running = np.ones(n, dtype=bool)
    while running.any():
        _, reward, terminated, truncated, info = venv.step(oracle())
        total += np.where(running, reward, 0.0)
        length += running
        success |= running & terminated
        running &= ~(terminated | truncated)
    return {"success": success, "length": length, "return": total, "shortest_path": initial}

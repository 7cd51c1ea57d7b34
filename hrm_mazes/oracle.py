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

"""The BFS re-planning oracle: the upper-bound baseline, and a check that the mazes are solvable as specified.

At every step the oracle re-plans with the doors as they are now and takes the first move of a shortest
path. When the goal is cut off by closed temporary doors it plans as if those doors were open (fixed walls
stay walls) and walks towards the goal; when the next cell of that plan is a closed door it pushes against
it, which keeps it in place (a blocked move, -0.01) until the door opens or the doors are redrawn.
Ties between equally short moves go to the lowest action index, so the oracle is deterministic.

:class:`ViewOracle` is the same planner fed only with what the agent observes, the reference of the partially
observed variants: with memory it plans on its belief map (each cell's last seen token), without it on the
current view alone; cells it does not know are assumed open.
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


# --- observation-only oracles (the partially observed variants) -------------------------------------------

BLOCKING_TOKENS = (core.WALL, core.CLOSED_DOOR, core.FIXED_WALL)


def observed_tokens(layout: Layout, obs: np.ndarray) -> np.ndarray:
    """An observation as its ``(rows, cols)`` token grid: tokens as they are, one-hot planes by their argmax."""
    obs = np.asarray(obs)
    if obs.shape == tuple(layout.obs_shape):
        return obs
    if obs.ndim == 3 and obs.shape[1:] == tuple(layout.obs_shape):
        return obs.argmax(axis=0)
    raise ValueError(
        f"the observation-only oracles read token grids {tuple(layout.obs_shape)} or one-hot planes "
        f"(C, {layout.obs_shape[0]}, {layout.obs_shape[1]}) (obs_mode 'tokens' or 'onehot'), got shape {obs.shape}"
    )


def _plan(layout: Layout, blocked: np.ndarray, agent: tuple[int, int], goal_flat: int) -> int | None:
    """The first move of a shortest path on the map ``blocked`` (``(H, W)`` bool), or None when there is none."""
    return _first_move(layout, core.bfs_distances(layout, blocked.ravel().tolist(), goal_flat), agent)


def view_oracle_action(
    layout: Layout,
    belief: np.ndarray,
    view: np.ndarray,
    reopening_token: int,
    seen_at: np.ndarray | None = None,
) -> int:
    """The observation-only oracle's action: BFS to the goal on what it believes, first move of a shortest path.

    :param belief: ``(H, W)`` map tokens the planner believes (``UNSEEN``: unknown, assumed open).
    :param view: ``(H, W)`` map tokens of the current observation (``UNSEEN`` outside it); it locates the agent and
        the goal (always shown).
    :param reopening_token: the token of a closed door, which may reopen (:func:`hrm_mazes.core.door_tokens`).
    :param seen_at: ``(H, W)`` when each cell was last seen (larger: later), for a planner with memory.

    Permanent walls come from the layout, the same in every episode. When what it remembers cuts the goal off, the
    planner forgets remembered closed doors outside the view, oldest first, until a path appears (doors move:
    the oldest sighting is the likeliest to be stale). When the doors in view cut it off too, it heads for the
    goal as if every closed door were open and waits at the first one, as :func:`oracle_action` does.
    """
    agent_cells, goal_cells = np.argwhere(view == core.AGENT), np.argwhere(view == core.GOAL)
    if len(agent_cells) != 1 or len(goal_cells) != 1:  # the agent stands on the goal: the episode is over
        return core.NORTH
    agent = (int(agent_cells[0, 0]), int(agent_cells[0, 1]))
    goal_flat = int(goal_cells[0, 0]) * layout.shape[1] + int(goal_cells[0, 1])
    blocked = np.isin(belief, BLOCKING_TOKENS)
    action = _plan(layout, blocked, agent, goal_flat)
    if action is not None:
        return action
    closed = layout.door_mask & (belief == reopening_token)
    if seen_at is not None:
        remembered = np.flatnonzero(closed & (view == core.UNSEEN))
        for cell in remembered[np.argsort(seen_at.ravel()[remembered], kind="stable")]:
            blocked.ravel()[cell] = False
            action = _plan(layout, blocked, agent, goal_flat)
            if action is not None:
                return action
    action = _plan(layout, blocked & ~closed, agent, goal_flat)  # cut off now: wait at a closed door
    return core.NORTH if action is None else action


class ViewOracle:
    """BFS re-planning from the observations alone: ``action = oracle(obs)``, one episode at a time.

    It knows the static layout (the permanent walls and which cells can hold a door: the same in every episode,
    as a trained agent learns them) and the observation semantics (which token a closed door reads as); it never
    reads the env's state. ``memory=True``: its belief map keeps each cell's last seen token (and when it was
    seen); ``memory=False``: the current view only. Unknown cells are assumed open; it re-plans every step
    (:func:`view_oracle_action`).

    :param layout: the env's layout. :param distinct_doors: the env's ``distinct_doors`` setting.
    :param memory: keep the belief map between steps (call :meth:`reset` at every episode start).
    """

    def __init__(self, layout: Layout, distinct_doors: bool = False, memory: bool = True) -> None:
        self.layout = layout
        self.memory = memory
        self.reopening_token = core.door_tokens(layout, distinct_doors)[1]
        self.reset()

    @classmethod
    def for_env(cls, env: gym.Env, memory: bool = True) -> ViewOracle:
        """The oracle for ``env`` (possibly wrapped): its layout and ``distinct_doors``, nothing of its state."""
        base = env.unwrapped
        return cls(base.layout, base.distinct_doors, memory)

    def reset(self) -> None:
        """Forget the belief map (a new episode)."""
        self.belief: np.ndarray | None = None
        self.seen_at = np.full(self.layout.shape, -1, dtype=np.int64)
        self.steps = 0

    def __call__(self, obs: np.ndarray) -> int:
        view = np.full(self.layout.shape, core.UNSEEN, dtype=np.uint8)
        view[self.layout.obs_window] = observed_tokens(self.layout, obs)
        if not self.memory:
            return view_oracle_action(self.layout, view, view, self.reopening_token)
        seen = view != core.UNSEEN
        self.belief = view if self.belief is None else np.where(seen, view, self.belief)
        self.seen_at[seen] = self.steps
        self.steps += 1
        return view_oracle_action(self.layout, self.belief, view, self.reopening_token, self.seen_at)


def run_view_oracle_episode(
    env: gym.Env, memory: bool = True, seed: int | None = None, options: dict | None = None
) -> dict[str, Any]:
    """Play one episode with :class:`ViewOracle` (token or one-hot observations); returns ``success``, ``length``
    and ``return``."""
    oracle = ViewOracle.for_env(env, memory)
    obs, _ = env.reset(seed=seed, options=options)
    total, length = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = env.step(oracle(obs))
        total += float(reward)
        length += 1
        if terminated or truncated:
            return {"success": bool(info["is_success"]), "length": length, "return": total}

"""Batched vector environments: ``N`` mazes in numpy arrays, advanced together by one ``step()``.

``gymnasium.make_vec("RandomDoorMaze-v0", num_envs=4096, vectorization_mode="vector_entry_point")`` returns a
:class:`RandomDoorMazeVectorEnv`. Every sub-environment follows the rules of the single env
(:class:`hrm_mazes.envs.DynamicDoorsEnv`): the layouts, door rules, token painter and fixed-wall rule all come
from :mod:`hrm_mazes.core`; ``tests/test_vector_equivalence.py`` checks the two against each other.

* :mod:`~hrm_mazes.vector.base`: :class:`DynamicDoorsVectorEnv`, the Gymnasium API (reset, step, auto-reset in
  its three modes, render, infos) over flat per-env arrays;
* :mod:`~hrm_mazes.vector.door_cache`: what depends on the doors (blocked cells, tokens without the agent,
  distances to the goal), kept so that a step is a few gathers;
* :mod:`~hrm_mazes.vector.envs`: the two registered classes.

What makes a step cheap (see ``docs/design.md``, "Batched environment"): a move is one gather into the blocked
cells, an observation one copy plus the agent painted, ``info["shortest_path"]`` one or two gathers; what
depends on the doors is recomputed only for the envs whose doors changed (~5% of steps); auto-resets take their
episodes from a pool drawn in bulk. There is no Python loop over environments in ``step()`` or ``reset()``.
"""

from hrm_mazes.vector.base import INFO_KEYS, VECTOR_RENDER_MODES, VECTOR_RESET_OPTION_KEYS, DynamicDoorsVectorEnv
from hrm_mazes.vector.envs import FourRoomsDynamicVectorEnv, RandomDoorMazeVectorEnv

__all__ = [
    "INFO_KEYS",
    "VECTOR_RENDER_MODES",
    "VECTOR_RESET_OPTION_KEYS",
    "DynamicDoorsVectorEnv",
    "FourRoomsDynamicVectorEnv",
    "RandomDoorMazeVectorEnv",
]

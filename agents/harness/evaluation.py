"""Evaluation metrics shared by every command: success rate, episode length, path efficiency, confidence intervals.

Protocol (SPEC section 5):

* Episodes are played greedily on **held-out seeds**, the test split of :mod:`hrm_mazes.seeds`: episode ``i`` is
  ``env.reset(seed=TEST.seed(i))`` (``EVAL_SEED_OFFSET + i``). Training envs are seeded in the train split (see
  :mod:`agents.harness.training`), so the two never meet. The periodic evaluations of a training run play the
  **validation** split (``VALIDATION_SEED_OFFSET + i``), which meets neither: a checkpoint or a configuration
  chosen on it is tested on episodes it was not chosen on.
* **Success rate**: fraction of episodes that reach the goal before the 80-step limit.
* **Episode length**: steps per episode, all episodes (a failure counts its 80 steps); the mean over
  successful episodes is reported too.
* **Path efficiency**: on the *same seeded episode* (same seed, same options, hence the same maze, start, goal
  and door schedule) the BFS re-planning oracle of :mod:`hrm_mazes.oracle` is played; efficiency is
  ``oracle steps / agent steps``, averaged over the episodes both solved. It can exceed 1 on a single episode
  (the oracle waits at a closed door; an agent may get lucky), so its mean is not clipped.

Confidence intervals (95%):

* within one run: **Wilson** score interval for the success rate; percentile **bootstrap** (2,000 resamples,
  fixed seed) for mean length and path efficiency;
* over training seeds: **Student-t** interval of the per-seed means (``mean +- t_{0.975, n-1} * sd / sqrt(n)``);
  with a single seed the interval is the within-run one.

Who plays is a *player* (:class:`Player`): a trained model (:class:`ModelPlayer`, anything with SB3's ``predict``),
the BFS oracle, the uniform random walk, or one of the observation-only oracles of the partially observed variants
(``memory-oracle``, ``memoryless-oracle``). (An SB3 *policy* is the network inside a model.) This module imports
neither torch nor SB3.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

import hrm_mazes  # noqa: F401  (registers the envs)
from hrm_mazes.core import MAX_EPISODE_STEPS
from hrm_mazes.oracle import BFSOracle, ViewOracle, run_oracle_episode
from hrm_mazes.seeds import TEST, VALIDATION, split_of

# The first seed of the held-out (test) episodes; older code imports this name.
EVAL_SEED_OFFSET = TEST.start
# The periodic evaluations during training (and a tune study's objective) play seeds from here: validation
# episodes, disjoint from the test episodes, so that choosing a checkpoint (best_model.zip) or hyperparameters
# on them never looks at the test episodes.
VALIDATION_SEED_OFFSET = VALIDATION.start
Z_95 = 1.959963984540054

def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf``)."""
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df}")
    import scipy.stats

    return float(scipy.stats.t.ppf(0.975, df))


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved at 0% and 100%)."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_interval(values: Sequence[float], n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the mean (deterministic: fixed resampling seed)."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return (math.nan, math.nan)
    if len(x) == 1:
        return (float(x[0]), float(x[0]))
    return percentile_bootstrap(lambda i: x[i].mean(axis=1), [len(x)], n_resamples, seed)


def percentile_bootstrap(
    statistic: Callable[..., np.ndarray],
    sizes: Sequence[int],
    reps: int = 2000,
    seed: int = 0,
    quantiles: tuple[float, float] = (0.025, 0.975),
) -> tuple[float, float]:
    """The percentile-bootstrap interval of a statistic: the ``quantiles`` of its ``reps`` resampled values.

    :param statistic: takes one index array ``(reps, n)`` per sample (drawn with replacement from ``range(n)``)
        and returns the statistic of each resample, ``(reps,)``.
    :param sizes: the size ``n`` of each sample; their index arrays are drawn in this order from one generator.
    :param seed: the generator's seed: the same samples always give the same interval.
    """
    rng = np.random.default_rng(seed)
    lo, hi = np.quantile(statistic(*(rng.integers(n, size=(reps, n)) for n in sizes)), quantiles)
    return (float(lo), float(hi))


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """Student-t 95% interval of the mean of ``values`` (one value per training seed)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return (math.nan, math.nan)
    half = t_quantile_975(len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return (float(x.mean() - half), float(x.mean() + half))


# --- players -----------------------------------------------------------------------------------------------


class Player(Protocol):
    """Who plays the episodes of :func:`run_episodes`: one action per parallel env slot."""

    name: str

    def reset(self, n_slots: int) -> None: ...

    def act(self, obs: np.ndarray, episode_start: np.ndarray, envs: list[gym.Env], seeds: np.ndarray) -> np.ndarray: ...


class ModelPlayer:
    """A trained model, played greedily. Works for SB3 feed-forward models, RecurrentPPO and HRM-DQN alike:
    the state returned by ``predict`` is passed back with ``episode_start`` (RecurrentPPO's contract).

    :param model: anything with ``predict(obs, state=, episode_start=, deterministic=) -> (actions, state)``.
    """

    def __init__(self, model: Any, name: str = "model") -> None:
        self.model = model
        self.name = name
        self.state: Any = None

    def reset(self, n_slots: int) -> None:
        self.state = None

    def act(self, obs: np.ndarray, episode_start: np.ndarray, envs: list[gym.Env], seeds: np.ndarray) -> np.ndarray:
        actions, self.state = self.model.predict(obs, state=self.state, episode_start=episode_start, deterministic=True)
        return np.asarray(actions).reshape(len(envs))


class RandomPlayer:
    """Uniform random actions, reproducible per episode: each episode's generator is seeded with its env seed."""

    name = "random"

    def __init__(self) -> None:
        self._rngs: list[np.random.Generator] = []

    def reset(self, n_slots: int) -> None:
        self._rngs = [np.random.default_rng(0) for _ in range(n_slots)]

    def act(self, obs: np.ndarray, episode_start: np.ndarray, envs: list[gym.Env], seeds: np.ndarray) -> np.ndarray:
        for i in np.flatnonzero(episode_start):
            self._rngs[i] = np.random.default_rng([int(seeds[i]), 7])
        return np.array([int(rng.integers(4)) for rng in self._rngs])


class OraclePlayer:
    """The BFS re-planning oracle (:class:`hrm_mazes.oracle.BFSOracle`): reads each env's true state."""

    name = "oracle"

    def reset(self, n_slots: int) -> None:
        pass

    def act(self, obs: np.ndarray, episode_start: np.ndarray, envs: list[gym.Env], seeds: np.ndarray) -> np.ndarray:
        return np.array([BFSOracle(env)() for env in envs])


class EpsilonPlayer:
    """Another player with epsilon-greedy noise: each step, with probability ``epsilon``, a uniform random action
    replaces the player's. The wrapped player still acts on every step, so a recurrent state stays current.

    A greedy policy that loops on tied Q-values fails where a little noise succeeds; one that does not know the
    way fails either way (Dopamine evaluates DQN at epsilon 0.001). The noise is reproducible per episode: each
    slot's generator is seeded with its episode's seed.

    :param player: the player to perturb. :param epsilon: probability of a random action, in [0, 1].
    """

    def __init__(self, player: Player, epsilon: float) -> None:
        if not 0.0 <= float(epsilon) <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}")
        self.player, self.epsilon = player, float(epsilon)
        self.name = f"{player.name} (epsilon {self.epsilon:g})"
        self._rngs: list[np.random.Generator] = []

    def reset(self, n_slots: int) -> None:
        self.player.reset(n_slots)
        self._rngs = [np.random.default_rng(0) for _ in range(n_slots)]

    def act(self, obs: np.ndarray, episode_start: np.ndarray, envs: list[gym.Env], seeds: np.ndarray) -> np.ndarray:
        actions = np.array(self.player.act(obs, episode_start, envs, seeds)).reshape(len(envs))
        for i in np.flatnonzero(episode_start):
            self._rngs[i] = np.random.default_rng([int(seeds[i]), 11])
        for i, rng in enumerate(self._rngs):
            explore, action = rng.random() < self.epsilon, int(rng.integers(4))  # two draws every step: reproducible
            if explore:
                actions[i] = action
        return actions


class ViewOraclePlayer:
    """The observation-only BFS oracle (:class:`hrm_mazes.oracle.ViewOracle`) with its belief map: it reads the
    observations (tokens or one-hot) and the env's static layout, never the env's state, so it is a fair reference
    on the partially observed variants. One oracle per slot, started afresh at every episode."""

    name = "memory-oracle"
    memory = True

    def __init__(self) -> None:
        self._oracles: list[ViewOracle | None] = []

    def reset(self, n_slots: int) -> None:
        self._oracles = [None] * n_slots

    def act(self, obs: np.ndarray, episode_start: np.ndarray, envs: list[gym.Env], seeds: np.ndarray) -> np.ndarray:
        if len(self._oracles) != len(envs):  # a caller that never called reset() (watch)
            self.reset(len(envs))
        for i, env in enumerate(envs):
            if episode_start[i] or self._oracles[i] is None:
                self._oracles[i] = ViewOracle.for_env(env, self.memory)
        return np.array([oracle(obs[i]) for i, oracle in enumerate(self._oracles)])


class MemorylessViewOraclePlayer(ViewOraclePlayer):
    """:class:`ViewOraclePlayer` without memory: it plans on the current observation alone."""

    name = "memoryless-oracle"
    memory = False


# The reference players of every env, by the name the command line, the benchmark suites and the demo use.
REFERENCE_PLAYERS: dict[str, type[Player]] = {"oracle": OraclePlayer, "random": RandomPlayer}
# Every player the command line can name (``evaluate`` / ``watch --agent``): the references, and the two
# observation-only oracles that bound what memory is worth on the partially observed variants.
PLAYERS: dict[str, type[Player]] = {
    **REFERENCE_PLAYERS,
    "memory-oracle": ViewOraclePlayer,
    "memoryless-oracle": MemorylessViewOraclePlayer,
}


# --- playing episodes --------------------------------------------------------------------------------------


def eval_seeds(episodes: int, offset: int = EVAL_SEED_OFFSET) -> np.ndarray:
    """The seeds of an evaluation: ``offset, offset + 1, ...``; a ``ValueError`` if they start in one seed split
    (:mod:`hrm_mazes.seeds`) and run out of it."""
    split = split_of(offset)
    if split is not None:
        split.check(episodes, "episodes", first=offset - split.start)
    return np.arange(offset, offset + episodes, dtype=np.int64)


class EpisodeSlots:
    """One episode per seed on ``n_parallel`` single envs (*slots*), for a player that acts on all slots at once.

    Each slot resets its env with the next seed when its episode ends, so every episode depends only on its seed
    and the player, never on the batching. Slot ``i`` holds ``envs[i]``, ``obs[i]``, ``slot_seeds[i]``,
    ``active[i]`` (false once the seeds ran out) and ``episode_start[i]`` (its next step is an episode's first).
    A context manager: leaving it closes the envs and the progress bar.
    """

    def __init__(
        self,
        env_fn: Callable[[], gym.Env],
        seeds: Sequence[int],
        n_parallel: int = 32,
        progress: bool = False,
        desc: str = "evaluating",
    ) -> None:
        self.seeds = [int(s) for s in seeds]
        n_slots = max(1, min(n_parallel, len(self.seeds)))
        self.envs = [env_fn() for _ in range(n_slots)]
        self.slot_seeds = np.full(n_slots, -1, dtype=np.int64)
        self.active = np.zeros(n_slots, dtype=bool)
        self.episode_start = np.ones(n_slots, dtype=bool)
        self.obs: list[np.ndarray] = [np.empty(0)] * n_slots
        self._queue = list(reversed(self.seeds))
        self._returns = np.zeros(n_slots)
        self._lengths = np.zeros(n_slots, dtype=np.int64)
        self._records: dict[int, dict[str, Any]] = {}
        for i, env in enumerate(self.envs):
            self.obs[i], _ = env.reset(seed=self._queue[-1] if self._queue else 0)
            if self._queue:
                self.slot_seeds[i], self.active[i] = self._queue.pop(), True
        self._bar = _progress_bar(len(self.seeds), desc) if progress else None

    def step(self, i: int, action: int) -> tuple[dict[str, Any], bool]:
        """Play ``action`` in slot ``i``; when its episode ends, record it and start the next seed (or idle the slot).

        :return: the step's ``info`` and whether the episode ended (``obs[i]`` is then the next episode's first).
        """
        obs, reward, terminated, truncated, info = self.envs[i].step(action)
        self.obs[i] = obs
        self.episode_start[i] = False
        self._returns[i] += float(reward)
        self._lengths[i] += 1
        if not (terminated or truncated):
            return info, False
        seed = int(self.slot_seeds[i])
        self._records[seed] = {
            "seed": seed,
            "success": bool(info["is_success"]),
            "length": int(self._lengths[i]),
            "return": float(self._returns[i]),
        }
        self._returns[i], self._lengths[i] = 0.0, 0
        if self._bar is not None:
            self._bar.update(1)
        if self._queue:
            self.slot_seeds[i] = self._queue.pop()
            self.obs[i], _ = self.envs[i].reset(seed=int(self.slot_seeds[i]))
            self.episode_start[i] = True
        else:
            self.active[i] = False
        return info, True

    def records(self) -> list[dict[str, Any]]:
        """One record per seed, in seed order: ``seed``, ``success``, ``length``, ``return``."""
        return [self._records[s] for s in self.seeds]

    def __enter__(self) -> EpisodeSlots:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
        for env in self.envs:
            env.close()


def run_episodes(
    player: Player,
    env_fn: Callable[[], gym.Env],
    seeds: Sequence[int],
    n_parallel: int = 32,
    progress: bool = False,
    desc: str = "evaluating",
) -> list[dict[str, Any]]:
    """Play one episode per seed, ``n_parallel`` at a time (:class:`EpisodeSlots`), and return one record per seed
    (in seed order).

    :return: dicts with ``seed``, ``success``, ``length``, ``return``.
    """
    with EpisodeSlots(env_fn, seeds, n_parallel, progress, desc) as slots:
        player.reset(len(slots.envs))
        while slots.active.any():
            actions = player.act(np.stack(slots.obs), slots.episode_start.copy(), slots.envs, slots.slot_seeds)
            for i in np.flatnonzero(slots.active):
                slots.step(i, int(actions[i]))
        return slots.records()


def _progress_bar(total: int, desc: str):
    from agents.harness.progress import progress_bar

    return progress_bar(total, desc, unit="ep", leave=False)


_ORACLE_CACHE: dict[tuple, dict[str, Any]] = {}


def oracle_records(env_id: str, seeds: Sequence[int], env_kwargs: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The oracle's episode on each seed (``success``, ``length``, ``return``, ``shortest_path``), cached per process.

    The oracle env gets the same dynamics kwargs; observation and render options do not touch the env's
    random stream, so ``reset(seed=s)`` replays the agent's episode exactly (same maze, same door draws).
    """
    kwargs = {k: v for k, v in (env_kwargs or {}).items() if k not in ("obs_mode", "render_mode", "tile_size")}
    key_kwargs = tuple(sorted((k, repr(v)) for k, v in kwargs.items()))
    missing = [int(s) for s in seeds if (env_id, key_kwargs, int(s)) not in _ORACLE_CACHE]
    if missing:
        env = gym.make(env_id, **kwargs)
        for s in missing:
            _ORACLE_CACHE[(env_id, key_kwargs, s)] = run_oracle_episode(env, seed=s)
        env.close()
    return [_ORACLE_CACHE[(env_id, key_kwargs, int(s))] for s in seeds]


# --- summaries ---------------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """The episodes of one evaluation and their summary (see :func:`summarize`)."""

    records: list[dict[str, Any]]
    summary: dict[str, Any]


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The flat headline numbers of a :func:`summarize` result: one ``evaluations.csv`` row's evaluation part."""
    return {
        "episodes": summary["episodes"],
        "success_rate": summary["success_rate"],
        "success_lo": summary["success_ci"][0],
        "success_hi": summary["success_ci"][1],
        "mean_length": summary["mean_length"],
        "path_efficiency": summary["path_efficiency"],
    }


def summarize(records: Sequence[dict[str, Any]], oracle: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Metrics and 95% CIs of one run's episodes (``oracle``: the oracle's records on the same seeds).

    :return: ``episodes``, ``success_rate`` (+ ``success_ci``, Wilson), ``mean_length`` (+ ``length_ci``,
        bootstrap), ``mean_length_success``, ``mean_return``, and with ``oracle``: ``path_efficiency``
        (+ ``efficiency_ci``, bootstrap), ``efficiency_episodes``, ``oracle_success_rate``, ``oracle_mean_length``.
    """
    n = len(records)
    success = np.array([r["success"] for r in records], dtype=bool)
    lengths = np.array([r["length"] for r in records], dtype=float)
    out: dict[str, Any] = {
        "episodes": n,
        "success_rate": float(success.mean()) if n else math.nan,
        "success_ci": list(wilson_interval(int(success.sum()), n)),
        "mean_length": float(lengths.mean()) if n else math.nan,
        "length_ci": list(bootstrap_interval(lengths)),
        "mean_length_success": float(lengths[success].mean()) if success.any() else math.nan,
        "mean_return": float(np.mean([r["return"] for r in records])) if n else math.nan,
    }
    if oracle is not None:
        if len(oracle) != n:
            raise ValueError(f"oracle has {len(oracle)} episodes, the agent {n}: they must be the same seeds")
        oracle_success = np.array([o["success"] for o in oracle], dtype=bool)
        oracle_len = np.array([o["length"] for o in oracle], dtype=float)
        both = success & oracle_success
        ratios = oracle_len[both] / lengths[both]
        out.update(
            path_efficiency=float(ratios.mean()) if len(ratios) else math.nan,
            efficiency_ci=list(bootstrap_interval(ratios)),
            efficiency_episodes=int(both.sum()),
            oracle_success_rate=float(oracle_success.mean()),
            oracle_mean_length=float(oracle_len.mean()),
        )
    return out


def evaluate(
    player: Player,
    env_id: str,
    episodes: int = 1000,
    env_fn: Callable[[], gym.Env] | None = None,
    env_kwargs: dict[str, Any] | None = None,
    seed_offset: int = EVAL_SEED_OFFSET,
    n_parallel: int = 32,
    progress: bool = False,
    with_oracle: bool = True,
) -> Evaluation:
    """Greedy evaluation of ``player`` on ``episodes`` held-out seeds, with the oracle on the same episodes.

    :param env_fn: builds one env with the player's observation encoding (default: ``gym.make(env_id, **env_kwargs)``).
    :param env_kwargs: the env's dynamics kwargs (``p_change``...), shared with the oracle's env.
    """
    seeds = eval_seeds(episodes, seed_offset)
    if env_fn is None:

        def env_fn() -> gym.Env:
            return gym.make(env_id, **(env_kwargs or {}))

    records = run_episodes(player, env_fn, seeds, n_parallel=n_parallel, progress=progress, desc=f"eval {player.name}")
    oracle = oracle_records(env_id, seeds, env_kwargs) if with_oracle else None
    return Evaluation(records, summarize(records, oracle))


METRICS = ("success_rate", "mean_length", "path_efficiency")
# A t band is symmetric: clip it to what the metric can be (efficiency alone may exceed 1, see above).
SEED_BOUNDS = {"success_rate": (0.0, 1.0), "mean_length": (1.0, float(MAX_EPISODE_STEPS)), "path_efficiency": (0.0, math.inf)}
WITHIN_RUN_CI = {"success_rate": "success_ci", "mean_length": "length_ci", "path_efficiency": "efficiency_ci"}


def format_ci(mean: float, ci: Sequence[float], percent: bool = False, digits: int = 1) -> str:
    """``"97.1% [96.0, 98.0]"`` / ``"12.3 [11.9, 12.8]"``; NaN reads ``"-"``."""
    if mean is None or math.isnan(mean):
        return "-"
    scale, unit = (100.0, "%") if percent else (1.0, "")
    text = f"{mean * scale:.{digits}f}{unit}"
    if ci is not None and not any(math.isnan(c) for c in ci):
        text += f" [{ci[0] * scale:.{digits}f}, {ci[1] * scale:.{digits}f}]"
    return text

"""Benchmark suites: the YAML file of ``hrm-mazes benchmark``, checked key by key, and its trials.

A suite is a YAML file::

    name: small                       # used for the default output folder
    envs: [FourRooms-Dynamic-v0]
    algos:                            # a name (its default config) or a mapping
      - dqn
      - {algo: hrm-dqn, config: cpu-small, label: hrm-dqn-small}
    seeds: [0, 1, 2]
    steps: 20000                      # env steps per run (default: each config's n_timesteps)
    eval_freq: 5000                   # periodic evaluation for the learning curves (env steps)
    eval_episodes: 100                # episodes per periodic evaluation
    final_episodes: 1000              # episodes of the final held-out evaluation
    references: [oracle, random]      # reference players evaluated on the same seeds (also memory-oracle,
                                      # memoryless-oracle: the partial variants' bounds)
    device: auto
    overrides: {}                     # hyperparameters applied to every run (e.g. {n_envs: 4})
    compare: [[hrm-dqn-small, dqn]]   # pairs for P(X > Y) on each env (default: every pair of labels)
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from agents.errors import UserError
from agents.harness.algos import ALGOS, DEVICES, check_env_id
from agents.harness.config import TrainConfig, check_value
from agents.harness.evaluation import PLAYERS
from agents.harness.rundir import read_yaml

SUITE_KEYS = {
    "name", "envs", "algos", "seeds", "steps", "eval_freq", "eval_episodes", "final_episodes",
    "references", "device", "overrides", "out", "n_envs", "compare",
}  # fmt: skip
ENTRY_KEYS = {"algo", "config", "label", "steps", "eval_freq", "n_envs", "overrides"}
_TRAIN_FIELDS = {f.name: f for f in fields(TrainConfig)}
# Labels and suite names become folder names.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def load_suite(path: str | Path) -> dict[str, Any]:
    """Read and check a suite file; every problem is one :class:`UserError` line naming the key."""
    path = Path(path)
    suite = read_yaml(path, "suite file")
    if not isinstance(suite, dict):
        raise UserError(f"suite file {path} must be a mapping with envs, algos, seeds")
    where = f"suite {path.name}"
    unknown = set(map(str, suite)) - SUITE_KEYS
    if unknown:
        raise UserError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(SUITE_KEYS)}")
    suite.setdefault("name", path.stem)
    _check_name(where, "name", suite["name"])
    for key in ("envs", "algos"):
        if not isinstance(suite.get(key), list) or not suite[key]:
            raise UserError(f"{where}: '{key}' must be a non-empty list")
    for env_id in suite["envs"]:
        if not isinstance(env_id, str):
            raise UserError(f"{where}: envs must be env ids, got {env_id!r}")
        check_env_id(env_id)
    suite["algos"] = [_suite_entry(where, item) for item in suite["algos"]]
    labels = [e["label"] for e in suite["algos"]]
    if len(set(labels)) != len(labels):
        raise UserError(f"{where}: algorithm labels must be unique, got {labels}")
    seeds = suite.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds:
        raise UserError(f"{where}: seeds must be a non-empty list such as [0, 1, 2], got {seeds!r}")
    suite["seeds"] = [_suite_int(where, "seeds", s, "seed") for s in seeds]
    if len(set(suite["seeds"])) != len(suite["seeds"]):
        raise UserError(f"{where}: seeds must be different, got {suite['seeds']}")
    suite.setdefault("references", ["oracle", "random"])
    if not isinstance(suite["references"], list):
        raise UserError(f"{where}: references must be a list such as [oracle, random], got {suite['references']!r}")
    for ref in suite["references"]:
        if ref not in PLAYERS:
            raise UserError(f"{where}: unknown reference {ref!r}; use any of {', '.join(PLAYERS)}")
    # the final evaluation's episodes are counted as the periodic one's
    suite["final_episodes"] = _suite_int(where, "final_episodes", suite.get("final_episodes", 1000), "eval_episodes")
    suite["eval_episodes"] = _suite_int(where, "eval_episodes", suite.get("eval_episodes", 100))
    for key in ("steps", "eval_freq", "n_envs"):
        if suite.get(key) is not None:
            suite[key] = _suite_int(where, key, suite[key])
    suite["overrides"] = _suite_mapping(where, "overrides", suite.get("overrides"))
    if suite.get("device", "auto") not in DEVICES:
        raise UserError(f"{where}: device must be one of {', '.join(DEVICES)}, got {suite['device']!r}")
    if "out" in suite and (not isinstance(suite["out"], str) or not suite["out"].strip()):
        raise UserError(f"{where}: out must be a directory path, got {suite['out']!r}")
    if suite.get("compare") is not None:
        suite["compare"] = _suite_pairs(where, suite["compare"], labels)
    return suite


def _suite_entry(where: str, item: Any) -> dict[str, Any]:
    """One entry of ``algos``: a name, or a mapping with ``algo`` and optional settings."""
    if isinstance(item, str):
        entry: dict[str, Any] = {"algo": item}
    elif isinstance(item, dict):
        entry = dict(item)
    else:
        raise UserError(f"{where}: each entry of algos must be an algorithm name or a mapping with 'algo', got {item!r}")
    unknown = set(map(str, entry)) - ENTRY_KEYS
    if unknown:
        raise UserError(f"{where}: algos entry {item!r} has unknown key(s) {sorted(unknown)}; allowed: {sorted(ENTRY_KEYS)}")
    if entry.get("algo") not in ALGOS:
        raise UserError(f"{where}: unknown algorithm {entry.get('algo')!r}; choose from {', '.join(ALGOS)}")
    if entry.get("config") is not None and not isinstance(entry["config"], str):
        raise UserError(f"{where}: config of {entry['algo']} must be a file or preset name, got {entry['config']!r}")
    entry.setdefault("label", entry["algo"] if not entry.get("config") else f"{entry['algo']}-{Path(entry['config']).stem}")
    _check_name(where, "label", entry["label"])
    for key in ("steps", "eval_freq", "n_envs"):
        if entry.get(key) is not None:
            entry[key] = _suite_int(where, f"{entry['label']}: {key}", entry[key], key)
    entry["overrides"] = _suite_mapping(where, f"{entry['label']}: overrides", entry.get("overrides"))
    return entry


def _suite_pairs(where: str, value: Any, labels: list[str]) -> list[list[str]]:
    """``compare``: a list of ``[x, y]`` pairs of two different labels of the suite."""
    if not isinstance(value, list):
        raise UserError(f"{where}: compare must be a list of label pairs such as [[{labels[0]}, {labels[-1]}]], got {value!r}")
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and all(label in labels for label in pair) and pair[0] != pair[1]):
            raise UserError(f"{where}: compare: each entry must be two different labels of the suite {labels}, got {pair!r}")
    return [list(pair) for pair in value]


def _check_name(where: str, key: str, value: Any) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise UserError(f"{where}: {key} must be a folder name (letters, digits, '.', '_', '-'), got {value!r}")


def _suite_mapping(where: str, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{where}: {key} must be a mapping of hyperparameters such as {{n_envs: 4}}, got {value!r}")
    return value


def _suite_int(where: str, key: str, value: Any, option: str | None = None) -> int:
    """A suite's integer, checked as the :class:`TrainConfig` field ``option`` (default ``key``) is checked from every
    other source: its bounds and its words."""
    try:
        return check_value(_TRAIN_FIELDS[option or key], value)
    except ValueError as err:
        raise UserError(f"{where}: {key}: {err}") from None


def suite_jobs(suite: dict[str, Any], out: Path, device: str, progress: bool) -> list[tuple[dict[str, Any], TrainConfig]]:
    """One fresh-run :class:`TrainConfig` per (algorithm, env, seed), in the order they run: env, then seed, then
    algorithm, so that each seed of every algorithm is done before the next seed starts and a suite stopped early
    (or a pool's first round) leaves paired seeds to compare."""
    jobs = []
    for env_id in suite["envs"]:
        for seed in suite["seeds"]:
            for entry in suite["algos"]:
                config = TrainConfig(
                    algo=entry["algo"],
                    env_id=env_id,
                    steps=entry.get("steps", suite.get("steps")),
                    seed=seed,
                    device=device,
                    config=entry.get("config"),
                    out=out / "runs" / entry["label"] / env_id / f"seed{seed}",
                    eval_freq=entry.get("eval_freq", suite.get("eval_freq")),
                    eval_episodes=suite["eval_episodes"],
                    n_envs=entry.get("n_envs", suite.get("n_envs")),
                    progress=progress,
                    overrides={**suite["overrides"], **entry["overrides"]},
                )
                jobs.append((entry, config))
    return jobs

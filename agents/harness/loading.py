"""An agent to evaluate or watch: a trained model with the env it expects, or a reference player.

:func:`load_agent` is the one way a saved model is loaded to be played: ``evaluate``, ``watch``, ``analyze``,
``benchmark``'s trials, ``demo``, the shipped agents (:mod:`agents.harness.pretrained`) and
``benchmarks/ship_pretrained.py`` all call it, so each resolves the algorithm, the device and the env the same
way and refuses a wrong file with the same message. Below it, :func:`agents.harness.models.load_model` reads
one file as one algorithm's model (``train --resume`` uses it to put a checkpoint back on its training envs).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.errors import UserError
from agents.harness.algos import check_env_id
from agents.harness.checkpoints import latest_checkpoint
from agents.harness.config import TrainConfig
from agents.harness.encodings import TOKENS, env_encoding, guess_encoding, make_env
from agents.harness.evaluation import PLAYERS, ModelPlayer, Player
from agents.harness.rundir import RunPaths, find_run_for_model


@dataclass
class LoadedAgent:
    """A player ready for :func:`agents.harness.evaluation.evaluate`, with the env it expects.

    :param encoding: the observation encoding of ``env_fn``'s envs (see :mod:`agents.harness.encodings`).
    :param model: the SB3 model behind a :class:`ModelPlayer` (None for a reference player).
    :param run_dir: the model's run directory, where it has one.
    :param model_path: the model file (None for a reference player, and for a shipped agent: nothing may be
        written beside it).
    :param run: the config the model's run.yaml records (None without a run directory).
    :param shipped: the manifest entry of a shipped agent (:mod:`agents.harness.pretrained`), else None.
    """

    name: str
    player: Player
    env_id: str
    encoding: dict[str, Any]
    model: Any = None
    algo: str | None = None
    run_dir: Path | None = None
    model_path: Path | None = None
    run: TrainConfig | None = None
    shipped: dict[str, Any] | None = None

    def env_fn(self, render_mode: str | None = None):
        return make_env(self.env_id, render_mode=render_mode, **self.encoding)


def load_agent(
    model: str | os.PathLike | None = None,
    agent: str | None = None,
    env_id: str | None = None,
    algo: str | None = None,
    device: str = "auto",
    pretrained: str | None = None,
) -> LoadedAgent:
    """A trained model (``model``: a .zip, a checkpoint folder or a run directory), a reference player (``agent``:
    a name of :data:`~agents.harness.evaluation.PLAYERS`), or the agent shipped for the env id ``pretrained``.

    The model's run.yaml says how it was trained; a bare .zip needs ``algo`` and ``env_id``, and its encoding is
    read off its observation space. ``env_id`` may name another env with the same observation shape. With
    ``pretrained``, ``algo`` picks among the env's shipped agents (default: the best, by held-out success).
    A file that is not what was asked for (missing, corrupt, saved by another algorithm, made for another grid
    size) is a one-line :class:`UserError` that names it and what was expected.

    :param device: ``auto``, ``cpu`` or ``cuda[:N]``, resolved here; on the CPU the torch threads are set too.
    """
    from agents.harness.models import load_model
    from agents.harness.runtime import configure_threads, resolve_device

    if pretrained is not None:
        from agents.harness.pretrained import pretrained_entry, pretrained_file

        entry = pretrained_entry(pretrained, algo)
        shipped = load_agent(pretrained_file(entry), None, env_id or pretrained, entry["algo"], device)
        # No model_path: evaluate's default output must not go into the installed package.
        return dataclasses.replace(shipped, name=entry["label"], model_path=None, shipped=entry)
    if agent is not None:
        if env_id is None:
            raise UserError(f"--agent {agent} needs --env")
        check_env_id(env_id)
        return LoadedAgent(agent, PLAYERS[agent](), env_id, dict(TOKENS, env_kwargs={}))
    if model is None:
        raise UserError(f"give --model PATH or --agent {{{','.join(PLAYERS)}}}")
    path = Path(model)
    if not path.exists():
        raise UserError(f"model file {path} does not exist")
    if path.is_dir():
        checkpoint = None if (path / "model.zip").is_file() else latest_checkpoint(RunPaths(path))
        path = path / "model.zip" if checkpoint is None else checkpoint.model
        if not path.is_file():
            raise UserError(f"{model} holds no model.zip and no checkpoint")
    try:
        run_dir, run = find_run_for_model(path)
    except UserError:
        if algo is None or env_id is None:
            raise
        run_dir, run = None, TrainConfig(algo=algo, env_id=env_id)
    recorded = run_dir is not None and algo in (None, run.algo)  # the run's own algorithm (its config chose the network)
    algo = algo or run.algo
    env_id = check_env_id(env_id or run.env_id)
    device = resolve_device(device)
    configure_threads(device)
    loaded = load_model(algo, path, device, recorded=recorded)
    if run.hyperparams:
        encoding = env_encoding(run.hyperparams)
    else:
        encoding = guess_encoding(loaded.observation_space, _num_tokens(env_id))
    recorded_run = run if run_dir is not None else None  # not the stand-in of a bare .zip
    agent = LoadedAgent(algo, ModelPlayer(loaded, algo), env_id, encoding, loaded, algo, run_dir, path, recorded_run)
    env = agent.env_fn()
    space = env.observation_space
    env.close()
    trained = f" ({run.env_id})" if run.env_id and run.env_id != env_id else ""
    if space.shape != loaded.observation_space.shape:
        raise UserError(
            f"{path} expects observations of shape {tuple(loaded.observation_space.shape)}{trained}; {env_id} gives "
            f"{tuple(space.shape)}: evaluate it on an env with the same grid size"
        )
    expected = (int(loaded.observation_space.low.min()), int(loaded.observation_space.high.max()))
    if (int(space.low.min()), int(space.high.max())) != expected:
        raise UserError(
            f"{path} reads observation values in [{expected[0]}, {expected[1]}]{trained}; {env_id} gives "
            f"[{int(space.low.min())}, {int(space.high.max())}]: a model trained on the full view cannot read a "
            "partial view's unseen token, nor the reverse"
        )
    return agent


def _num_tokens(env_id: str) -> int:
    """The token ids ``env_id``'s observations use (7, or 8 for a partially observed variant)."""
    env = make_env(env_id)
    try:
        return int(env.observation_space.high.max()) + 1
    finally:
        env.close()

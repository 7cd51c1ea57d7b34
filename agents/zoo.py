"""Use the hrm-mazes algorithms and configs from RL Baselines3 Zoo (``rl_zoo3``, not a dependency).

Three pieces:

* :func:`register_algos` adds ``hrm-dqn`` to the Zoo's ``ALGOS`` table (the other algorithms are already there:
  ``dqn``, ``qrdqn``, ``ppo``, ``ppo_lstm``);
* :func:`zoo_hyperparams` turns a config of ``agents/configs`` into the Zoo's format (the observation encoding
  becomes ``env_wrapper`` entries, ``features_extractor`` the class itself);
* ``python -m agents.zoo train --algo ALGO --env ID [zoo options]`` does both and runs ``rl_zoo3.train`` with
  ``--gym-packages hrm_mazes``; ``python -m agents.zoo export --algo ALGO`` prints a ``--conf-file`` for
  running ``python -m rl_zoo3.train`` yourself.

See docs/zoo.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import hrm_mazes
from agents.harness.algos import ALGO_NAMES, ALGOS
from hrm_mazes.core import tokens_to_onehot

# The Zoo's format keeps these run keys; the other run keys become wrappers or are ours alone.
_ZOO_RUN_KEYS = ("n_timesteps", "policy", "n_envs")

# When the Zoo imports this module as a --conf-file (``--conf-file agents.zoo``), it reads this dict.
hyperparams: dict[str, dict[str, Any]] = {}


class OneHot(gym.ObservationWrapper):
    """Token grid (H, W) -> one-hot planes (V, H, W) uint8, one per token id of the env's space (7, or 8 with a
    partial view): ``obs_mode="onehot"`` as a wrapper (the Zoo sets wrappers from its hyperparameters but env
    kwargs only from its command line)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        rows, cols = env.observation_space.shape
        self.num_tokens = int(env.observation_space.high.max()) + 1
        self.observation_space = spaces.Box(0, 1, (self.num_tokens, rows, cols), np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return tokens_to_onehot(observation, self.num_tokens)


def zoo_hyperparams(algo: str, config: str | None = None) -> dict[str, dict[str, Any]]:
    """The preset ``config`` of ``algo`` (see :func:`agents.harness.hyperparams.resolve_preset_path`) for every
    env, in Zoo format: the run keys the Zoo knows, the encoding as ``env_wrapper`` and the constructor kwargs
    exactly as ``hrm-mazes train`` passes them (:func:`agents.harness.models.algo_kwargs`)."""
    from agents.harness.algos import get_algo
    from agents.harness.hyperparams import load_preset
    from agents.harness.models import algo_kwargs

    get_algo(algo)
    out = {}
    for env_id in hrm_mazes.ENV_IDS:
        params, _ = load_preset(algo, env_id, config)
        wrappers: list[Any] = []
        if params.get("obs_mode", "tokens") == "onehot":
            wrappers.append("agents.zoo.OneHot")
        if int(params.get("frame_stack", 1)) > 1:
            wrappers.append({"agents.harness.encodings.FrameStack": {"n": int(params["frame_stack"])}})
        entry = {k: params[k] for k in _ZOO_RUN_KEYS if k in params}
        if wrappers:
            entry["env_wrapper"] = wrappers
        out[env_id] = {**entry, **algo_kwargs(params)}
    return out


def register_algos() -> None:
    """Add HRM-DQN, double DQN and the recurrent-conv planner to ``rl_zoo3.utils.ALGOS`` (the table behind the Zoo's ``--algo``)."""
    from rl_zoo3.utils import ALGOS

    from agents.double_dqn import DoubleDQN
    from agents.hrm_dqn import HRMDQN
    from agents.rconv import RConvDQN

    ALGOS["hrm-dqn"] = HRMDQN
    ALGOS["double-dqn"] = DoubleDQN
    ALGOS["rconv-dqn"] = RConvDQN


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.zoo", description="hrm-mazes algorithms in RL Baselines3 Zoo")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("train", help="rl_zoo3.train with HRM-DQN registered and our config; other options go to the Zoo")
    run.add_argument("--algo", required=True, choices=ALGO_NAMES)
    run.add_argument("--env", required=True)
    run.add_argument("--config", help="our config name or file (default: the algorithm's)")
    enjoy = sub.add_parser("enjoy", help="rl_zoo3.enjoy with our algorithms registered; other options go to the Zoo")
    enjoy.add_argument("--algo", required=True, choices=ALGO_NAMES)
    enjoy.add_argument("--env", required=True)
    export = sub.add_parser("export", help="print a --conf-file (Python) for python -m rl_zoo3.train")
    export.add_argument("--algo", required=True, choices=ALGO_NAMES)
    export.add_argument("--config", help="our config name or file (default: the algorithm's)")
    args, rest = parser.parse_known_args(argv)

    if args.command == "export":
        config = "" if args.config is None else f", config={args.config!r}"
        print(f"# python -m rl_zoo3.train --algo {ALGOS[args.algo].zoo_name} --env ENV --gym-packages hrm_mazes --conf-file THIS_FILE.py")
        print("from agents.zoo import zoo_hyperparams\n")
        print(f"hyperparams = zoo_hyperparams({args.algo!r}{config})")
        return 0
    if args.command == "enjoy":
        try:
            import rl_zoo3.enjoy as zoo_enjoy
        except ImportError:
            print("agents.zoo: RL Baselines3 Zoo is not installed: pip install rl_zoo3", file=sys.stderr)
            return 2
        register_algos()
        sys.argv = ["rl_zoo3.enjoy", "--algo", ALGOS[args.algo].zoo_name, "--env", args.env, "--gym-packages", "hrm_mazes", *rest]
        zoo_enjoy.enjoy()
        return 0
    try:
        import rl_zoo3.train as zoo_train
    except ImportError:
        print("agents.zoo: RL Baselines3 Zoo is not installed: pip install rl_zoo3", file=sys.stderr)
        return 2
    register_algos()
    # The Zoo imports "agents.zoo", which under `python -m` is not this __main__ module: fill that one's dict.
    from agents import zoo as conf_module

    conf_module.hyperparams.clear()
    conf_module.hyperparams.update(zoo_hyperparams(args.algo, args.config))
    sys.argv = ["rl_zoo3.train", "--algo", ALGOS[args.algo].zoo_name, "--env", args.env, "--gym-packages", "hrm_mazes",
                "--conf-file", "agents.zoo", *rest]  # fmt: skip
    zoo_train.train()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

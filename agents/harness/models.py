"""The algorithms as SB3 objects: constructor kwargs from a config entry, the training VecEnv, building and
loading models, and :class:`GridCNN`, the feature extractor the CNN baselines share.

The registry of names (which class, on- or off-policy) is :mod:`agents.harness.algos`, importable without
torch; this module is its torch side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from agents.errors import UserError
from agents.harness.algos import get_algo
from agents.harness.encodings import env_encoding, make_env
from agents.harness.hyperparams import RUN_KEYS, schedule_value


class GridCNN(BaseFeaturesExtractor):
    """Two 3x3 convolutions with padding and no stride (every cell keeps its own features), then a linear layer.

    NatureCNN's 8x8 stride-4 first layer would collapse an 11x13 maze to 2x2; this keeps the full resolution.

    :param observation_space: ``Box`` of shape (C, H, W) (one-hot planes, possibly frame-stacked).
    :param features_dim: output width.
    :param channels: output channels of the two convolutions.
    """

    def __init__(self, observation_space: spaces.Box, features_dim: int = 256, channels: tuple[int, int] = (32, 64)):
        super().__init__(observation_space, features_dim)
        c, h, w = observation_space.shape
        self.cnn = nn.Sequential(
            nn.Conv2d(c, channels[0], 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels[0], channels[1], 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.linear = nn.Sequential(nn.Linear(channels[1] * h * w, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.linear(self.cnn(observations.float()))


FEATURES_EXTRACTORS = {"grid-cnn": GridCNN}


def algo_kwargs(hyperparams: dict[str, Any]) -> dict[str, Any]:
    """The algorithm's constructor kwargs in a config entry: every key but :data:`RUN_KEYS`, with the named
    features extractor resolved into ``policy_kwargs`` and YAML's strings and lists made the types SB3 expects.

    The one place where a config's policy settings are interpreted (``train`` and ``agents.zoo`` both use it).
    """
    kwargs = {k: v for k, v in hyperparams.items() if k not in RUN_KEYS}
    extractor = hyperparams.get("features_extractor")
    if extractor:
        if extractor not in FEATURES_EXTRACTORS:
            raise UserError(f"unknown features_extractor {extractor!r}; choose one of {list(FEATURES_EXTRACTORS)}")
        extractor_kwargs = dict(hyperparams.get("features_extractor_kwargs") or {})
        if "channels" in extractor_kwargs:
            extractor_kwargs["channels"] = tuple(extractor_kwargs["channels"])
        kwargs["policy_kwargs"] = {
            **(kwargs.get("policy_kwargs") or {}),
            "features_extractor_class": FEATURES_EXTRACTORS[extractor],
            "features_extractor_kwargs": extractor_kwargs,
        }
    for key in ("learning_rate", "clip_range"):  # YAML reads 1e-4 as a string; lin_1e-4 is a linear decay
        if key in kwargs:
            kwargs[key] = schedule_value(kwargs[key])
    for key in ("buffer_size", "learning_starts", "batch_size"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = int(float(kwargs[key]))
    if isinstance(kwargs.get("train_freq"), list):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    return kwargs


def make_train_env(env_id: str, hyperparams: dict[str, Any], n_envs: int, seed: int):
    """The training VecEnv: the suite's batched env behind SB3's VecEnv API where the encoding allows it
    (``vec_env: auto`` or ``batched``, no frame stacking), else a DummyVecEnv of :func:`make_env` envs."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    encoding = env_encoding(hyperparams)
    if hyperparams.get("vec_env", "auto") in ("auto", "batched") and encoding["frame_stack"] == 1:
        from hrm_mazes.sb3 import make_sb3_vec_env

        # VecMonitor adds the per-episode return / length that SB3's logger and the progress bar read.
        venv = VecMonitor(make_sb3_vec_env(env_id, num_envs=n_envs, obs_mode=encoding["obs_mode"], **encoding["env_kwargs"]))
        venv.seed(seed)
        return venv
    return make_vec_env(make_env, n_envs=n_envs, seed=seed, vec_env_cls=DummyVecEnv, env_kwargs={"env_id": env_id, **encoding})


def build_model(algo: str, hyperparams: dict[str, Any], venv, seed: int, device: str):
    """A new model of ``algo`` on ``venv`` with the config entry's settings."""
    cls = get_algo(algo).load_class()
    policy = hyperparams.get("policy", "MlpPolicy")
    try:
        return cls(policy, venv, seed=seed, device=device, verbose=0, **algo_kwargs(hyperparams))
    except (TypeError, ValueError, AssertionError) as err:  # what SB3's constructors raise for a bad combination
        raise UserError(f"bad hyperparameters for {algo}: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None


def saved_algos(path: str | Path, network: bool = True) -> list[str] | None:
    """The registry names whose class could have saved the model ``path`` (read from the zip's policy class,
    without loading it); None when the file does not say (not an SB3 zip).

    :param network: also tell apart the algorithms that share SB3's DQN policy by their network, as the zip
        records it: a GridCNN features extractor for ``dqn-cnn`` and ``dqn-stack`` (and ``double_q``, saved by
        DoubleDQN, for ``dqn-cnn`` alone), SB3's default (flattened grid) for ``dqn``.
    """
    import json
    import zipfile

    from agents.harness.algos import ALGOS

    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
        module = data["policy_class"]["__module__"]
    except Exception:  # a corrupt or foreign file: load_model reports it
        return None
    names = []
    for name, spec in ALGOS.items():
        try:
            cls = spec.load_class()
        except UserError:
            continue
        if module in {policy.__module__ for policy in cls.policy_aliases.values()}:
            names.append(name)
    if network and isinstance(data, dict):
        kwargs = data.get("policy_kwargs")
        extractor = str(kwargs.get("features_extractor_class", "")) if isinstance(kwargs, dict) else ""
        grid_cnn = extractor.endswith(f".{GridCNN.__name__}'>")  # SB3 writes a class as "<class 'module.Name'>"
        fits = {"dqn": not grid_cnn, "dqn-cnn": grid_cnn, "dqn-stack": grid_cnn and "double_q" not in data}
        names = [name for name in names if fits.get(name, True)]
    return names


def load_model(algo: str, path: str | Path, device: str = "auto", env=None, recorded: bool = False):
    """Load a saved model or checkpoint; an unreadable file, or one another algorithm saved, is a
    :class:`UserError`, never a traceback.

    :param recorded: ``algo`` is what the model's own run.yaml records; its config may have given it any network,
        so only the algorithm class is checked (:func:`saved_algos` without ``network``).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist")
    cls = get_algo(algo).load_class()
    actual = saved_algos(path, network=not recorded)
    if actual is not None and algo not in actual:
        real = " / ".join(actual) if actual else "an unknown algorithm's"
        raise UserError(f"{path} is a {real} model, not a {algo} model" + (f"; use --algo {actual[0]}" if actual else ""))
    try:
        return cls.load(path, env=env, device=device)
    except UserError:
        raise
    except Exception as err:  # a corrupt zip raises anything from BadZipFile to KeyError or pickle errors
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"cannot load {path}: the file is corrupt or not a {algo} model ({message})") from None

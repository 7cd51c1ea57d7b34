"""SB3's logger with CleanRL's names: every logged number is named the same way in TensorBoard and progress.csv
(``charts/episodic_return``, ``losses/td_loss``, ...), whatever the algorithm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stable_baselines3.common.logger import CSVOutputFormat, KVWriter, Logger, TensorBoardOutputFormat

# SB3 key -> CleanRL-style name; other keys: rollout/ and time/ go to charts/, train/ to losses/.
_RENAMES = {
    "rollout/ep_rew_mean": "charts/episodic_return",
    "rollout/ep_len_mean": "charts/episodic_length",
    "rollout/success_rate": "charts/success_rate",
    "rollout/exploration_rate": "charts/epsilon",
    "time/fps": "charts/SPS",
    "time/total_timesteps": "charts/env_steps",
    "train/learning_rate": "charts/learning_rate",
    "train/n_updates": "charts/n_updates",
    "train/value_loss": "losses/value_loss",
    "train/policy_gradient_loss": "losses/policy_loss",
    "train/entropy_loss": "losses/entropy",
    "train/clip_fraction": "losses/clipfrac",
}


def cleanrl_name(key: str, off_policy: bool) -> str:
    """The CleanRL-style name of an SB3 logger key (``train/loss`` is the TD loss of an off-policy algorithm)."""
    if key in _RENAMES:
        return _RENAMES[key]
    if key == "train/loss":
        return "losses/td_loss" if off_policy else "losses/loss"
    prefix, _, rest = key.partition("/")
    if prefix in ("rollout", "time"):
        return f"charts/{rest}"
    if prefix == "train":
        return f"losses/{rest}"
    return key


class RenamedWriter(KVWriter):
    """Passes every record to ``inner`` under its :func:`cleanrl_name`."""

    def __init__(self, inner: KVWriter, off_policy: bool) -> None:
        self.inner = inner
        self.off_policy = off_policy

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0) -> None:
        renamed = {cleanrl_name(k, self.off_policy): v for k, v in key_values.items()}
        excluded = {cleanrl_name(k, self.off_policy): v for k, v in key_excluded.items()}
        self.inner.write(renamed, excluded, step)

    def close(self) -> None:
        self.inner.close()


def make_logger(folder: Path, off_policy: bool) -> Logger:
    """A Logger writing TensorBoard into ``folder`` and ``progress.csv`` beside it, with CleanRL-style names."""
    folder.mkdir(parents=True, exist_ok=True)
    formats: list[KVWriter] = [RenamedWriter(CSVOutputFormat(str(folder.parent / "progress.csv")), off_policy)]
    try:
        formats.append(RenamedWriter(TensorBoardOutputFormat(str(folder)), off_policy))
    except ImportError:  # tensorboard missing: CSV only
        pass
    return Logger(str(folder), formats)

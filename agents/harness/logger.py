"""SB3's logger with CleanRL's names: every logged number is named the same way in TensorBoard and progress.csv
(``charts/episodic_return``, ``losses/td_loss``, ...), whatever the algorithm."""

from __future__ import annotations

import csv
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


class ContinuedCSV(CSVOutputFormat):
    """SB3's CSV writer, continuing an existing file: its rows up to ``max_env_steps`` (``charts/env_steps``) are
    kept, later ones (written after the checkpoint being resumed) and a line cut off by a crash are dropped."""

    def __init__(self, filename: str, max_env_steps: int) -> None:
        kept = _rows_until(Path(filename), max_env_steps)
        super().__init__(filename)  # truncates the file
        if kept:
            self.keys = next(csv.reader([kept[0]]))
            self.file.writelines(kept)
            self.file.flush()


def _rows_until(path: Path, max_env_steps: int) -> list[str]:
    """The header and the rows of ``path`` up to the first one past ``max_env_steps``, as text lines."""
    if not path.is_file():
        return []
    lines = path.read_text(errors="replace").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]
    if not lines:
        return []
    header = next(csv.reader([lines[0]]))
    column = header.index("charts/env_steps") if "charts/env_steps" in header else None
    kept = lines[:1]
    for line in lines[1:]:
        values = next(csv.reader([line]), [])
        try:
            steps = float(values[column]) if column is not None and values[column] != "" else None
        except (IndexError, ValueError):
            break
        if steps is not None and steps > max_env_steps:
            break
        kept.append(line)
    return kept


def make_logger(folder: Path, off_policy: bool, resume_at: int | None = None) -> Logger:
    """A Logger writing TensorBoard into ``folder`` and ``progress.csv`` beside it, with CleanRL-style names.

    :param resume_at: the env steps of the checkpoint being resumed: ``progress.csv`` is continued from there.
    """
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = str(folder.parent / "progress.csv")
    csv_writer = CSVOutputFormat(csv_path) if resume_at is None else ContinuedCSV(csv_path, resume_at)
    formats: list[KVWriter] = [RenamedWriter(csv_writer, off_policy)]
    try:
        formats.append(RenamedWriter(TensorBoardOutputFormat(str(folder)), off_policy))
    except ImportError:  # tensorboard missing: CSV only
        pass
    return Logger(str(folder), formats)

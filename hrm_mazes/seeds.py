"""Named seed splits: which episode seeds are for training, for validation and for testing.

Every episode of these envs is fixed by its reset seed (maze, start, goal and door schedule), so a split of the
seeds is a split of the episodes, as Procgen's ``start_level`` / ``num_levels``. The three splits are disjoint:

* :data:`TRAIN` (seeds ``0 .. 999,999``): the reset seeds of training envs (``hrm-mazes train``, ``tune``,
  ``benchmark``, ``demo``; see :func:`agents.harness.training.train_env_seeds`).
* :data:`VALIDATION` (``2,000,000 .. 2,999,999``): the periodic evaluations during training, hence
  ``best_model.zip`` and a tune study's objective: what a checkpoint or a configuration is chosen on.
* :data:`TEST` (``1,000,000 .. 1,999,999``): the held-out episodes that ``evaluate``, ``benchmark``, ``demo``,
  ``watch``, ``analyze`` and the reports play; episode ``i`` is ``env.reset(seed=TEST.seed(i))``.

(TEST lies below VALIDATION because it came first: the numbers stay so that published results stay valid.)
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)  # numpy integers count, True does not


@dataclass(frozen=True)
class SeedSplit:
    """A named range of episode seeds: ``start, start + 1, ..., start + size - 1``.

    :param name: what the split is for (``"train"``, ``"validation"``, ``"test"``).
    :param start: its first seed.
    :param size: how many seeds it holds.
    """

    name: str
    start: int
    size: int

    @property
    def stop(self) -> int:
        """One past the last seed."""
        return self.start + self.size

    def __contains__(self, seed: object) -> bool:
        return _is_int(seed) and self.start <= seed < self.stop

    def describe(self) -> str:
        """``"test seeds 1,000,000..1,999,999"``: the split, for messages and docs."""
        return f"{self.name} seeds {self.start:,}..{self.stop - 1:,}"

    def check(self, n: int, param: str = "episodes", first: int = 0) -> None:
        """Raise ``ValueError`` (naming ``param`` and its allowed range) unless the ``n`` seeds from index ``first``
        of the split (``seed(first) .. seed(first + n - 1)``) all lie inside it."""
        if not 0 <= first < self.size:
            raise ValueError(f"the first seed {self.start + first:,} is not one of the {self.describe()}")
        room = self.size - first
        if not _is_int(n) or not 1 <= n <= room:
            raise ValueError(
                f"{param} must be an integer in [1, {room:,}] so that its seeds stay within the "
                f"{self.describe()} (from seed {self.start + first:,}), got {n!r}"
            )

    def seed(self, i: int) -> int:
        """The seed of the split's episode ``i`` (``0 <= i < size``)."""
        if not _is_int(i) or not 0 <= i < self.size:
            raise ValueError(f"episode index must be an integer in [0, {self.size - 1:,}] for the {self.describe()}, got {i!r}")
        return self.start + int(i)

    def seeds(self, n: int, param: str = "episodes") -> range:
        """The seeds of the split's first ``n`` episodes; ``param`` names ``n`` in the error when they do not fit."""
        self.check(n, param)
        return range(self.start, self.start + int(n))


TRAIN = SeedSplit("train", 0, 1_000_000)
TEST = SeedSplit("test", 1_000_000, 1_000_000)
VALIDATION = SeedSplit("validation", 2_000_000, 1_000_000)

SEED_SPLITS: dict[str, SeedSplit] = {split.name: split for split in (TRAIN, VALIDATION, TEST)}


def split_of(seed: int) -> SeedSplit | None:
    """The split that holds ``seed``, or None (a seed above all of them)."""
    return next((split for split in SEED_SPLITS.values() if seed in split), None)


__all__ = ["SEED_SPLITS", "TEST", "TRAIN", "VALIDATION", "SeedSplit", "split_of"]

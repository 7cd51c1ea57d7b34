"""The distance curriculum: train on nearby goals first and widen the limit as training success rises.

The envs draw start and goal at most ``max_distance`` open-map steps apart (``set_max_distance``, see
``docs/envs/index.md#distance-curriculum``). :class:`DistanceCurriculum` starts at ``start``, and each time the
success rate of the last ``window`` training episodes (epsilon-greedy, under the current limit) reaches
``success``, raises the limit by ``step``; once the limit reaches the layout's largest distance the envs get
the unmodified task. Evaluation never sees the curriculum: it builds its own envs.

A config turns it on with a run key (``agents/configs``)::

    curriculum: {start: 2, step: 2, success: 0.8, window: 200}

The current limit is an attribute of the model (``curriculum_max_distance``), so SB3 saves it with every
checkpoint and ``--resume`` continues where the run stopped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from agents.errors import UserError
from hrm_mazes import core
from hrm_mazes.cli_args import describe_int, describe_number, parse_int, parse_number


@dataclass(frozen=True)
class CurriculumSettings:
    """:param start: the first limit (open-map steps). :param step: how much each promotion adds.
    :param success: training success rate over the window that earns a promotion, in (0, 1].
    :param window: training episodes the success rate is measured over."""

    start: int = 2
    step: int = 2
    success: float = 0.8
    window: int = 200

    @classmethod
    def from_config(cls, value: Any) -> CurriculumSettings:
        """The ``curriculum`` run key of a config: a mapping with the fields above (each optional)."""
        if not isinstance(value, dict):
            raise UserError(f"curriculum must be a mapping with keys start, step, success, window; got {value!r}")
        unknown = set(value) - {"start", "step", "success", "window"}
        if unknown:
            raise UserError(f"unknown curriculum key(s) {sorted(unknown)}; allowed: start, step, success, window")
        checked = {}
        for name, number in value.items():
            allowed, convert = _RULES[name]
            try:
                checked[name] = convert(number)
            except ValueError:
                raise UserError(f"curriculum.{name} must be {allowed}, got {number!r}") from None
        return cls(**checked)


# What each setting allows, checked as every other number option is (``"2e4"`` is 20000): key -> (allowed, convert).
_RULES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    **{name: (describe_int(1), lambda number: parse_int(number, 1)) for name in ("start", "step", "window")},
    "success": (describe_number(0, 1, low_open=True), lambda rate: parse_number(rate, 0, 1, low_open=True)),
}


class DistanceCurriculum(BaseCallback):
    """Widen the training envs' ``max_distance`` as training success rises (see the module docstring).

    :param settings: start, step, success threshold and window.
    :param layout: the env's layout (its largest open-map distance ends the curriculum).
    """

    ATTRIBUTE = "curriculum_max_distance"  # on the model, so that checkpoints keep it

    def __init__(self, settings: CurriculumSettings, layout: core.Layout, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.settings = settings
        self.largest = core.max_open_map_distance(layout)
        self.outcomes: deque[bool] = deque(maxlen=settings.window)

    @property
    def max_distance(self) -> int | None:
        """The current limit; None once the task is unmodified."""
        return getattr(self.model, self.ATTRIBUTE, self.settings.start)

    def _apply(self, limit: int | None) -> None:
        if limit is not None and limit >= self.largest:
            limit = None
        setattr(self.model, self.ATTRIBUTE, limit)
        self.training_env.env_method("set_max_distance", limit)
        self.outcomes.clear()

    def _record(self, limit: int | None) -> None:
        # Every step (a dict write), so that each row of progress.csv / TensorBoard shows the current limit.
        self.logger.record("charts/curriculum_max_distance", self.largest if limit is None else limit)

    def _on_training_start(self) -> None:
        self._apply(self.max_distance)

    def _on_step(self) -> bool:
        limit = self.max_distance
        self._record(limit)
        if limit is None:
            return True
        for done, info in zip(self.locals["dones"], self.locals["infos"], strict=True):
            if done:
                self.outcomes.append(bool(info.get("is_success", False)))
        if len(self.outcomes) == self.outcomes.maxlen and np.mean(self.outcomes) >= self.settings.success:
            self._apply(limit + self.settings.step)
            self._record(self.max_distance)
        return True

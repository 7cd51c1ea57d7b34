"""HRM-DQN agent, baselines and tooling for the hrm_mazes environments.

``from agents import HRMDQN, HRMQPolicy, HRMReplayBuffer, HRM, HRMConfig`` works (all from :mod:`agents.hrm_dqn`),
but the names are imported lazily: ``import agents`` itself does not import torch (the CLI's ``play`` command must
run without it).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {name: "agents.hrm_dqn" for name in ("HRMDQN", "HRMQPolicy", "HRMReplayBuffer", "HRM", "HRMConfig")}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)

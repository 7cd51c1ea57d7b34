"""HRM-DQN agent, baselines and tooling for the hrm_mazes environments.

``from agents import HRMDQN, HRMQPolicy`` works, but the names are imported lazily: ``import agents`` itself
does not import torch (the CLI's ``play`` command must run without it).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "HRMDQN": "agents.hrm_dqn",
    "HRMQPolicy": "agents.policies",
    "HRMReplayBuffer": "agents.buffers",
    "HRM": "agents.hrm",
    "HRMConfig": "agents.hrm",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)

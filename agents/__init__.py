"""HRM-DQN agent, baselines and tooling for the hrm_mazes environments.

``from agents import HRMDQN, HRMQPolicy, HRMReplayBuffer, HRM, HRMConfig`` works (all from :mod:`agents.hrm_dqn`),
but the names are imported lazily: ``import agents`` itself does not import torch (the CLI's ``play`` command must
run without it).
"""

from __future__ import annotations

from agents._lazy import lazy_exports

_LAZY = {name: "agents.hrm_dqn" for name in ("HRMDQN", "HRMQPolicy", "HRMReplayBuffer", "HRM", "HRMConfig")}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY)

"""HRM-DQN: the HRM-Agent of Dang & Rawlinson (2025) as a Stable-Baselines3 algorithm.

One module per layer, as in sb3-contrib:

* :mod:`~agents.hrm_dqn.model`: the HRM core (``HRMConfig``, ``HRM``), pure PyTorch;
* :mod:`~agents.hrm_dqn.policies`: ``HRMQPolicy``, online and target networks with a stateful ``predict``;
* :mod:`~agents.hrm_dqn.buffers`: ``HRMReplayBuffer``, replay entries with their carried latent state;
* :mod:`~agents.hrm_dqn.hrm_dqn`: ``HRMDQN``, the algorithm (collection, deep-supervision training, target).
"""

from agents.hrm_dqn.buffers import HRMReplayBuffer
from agents.hrm_dqn.hrm_dqn import HRMDQN
from agents.hrm_dqn.model import HRM, HRMConfig
from agents.hrm_dqn.policies import HRMQPolicy

__all__ = ["HRM", "HRMDQN", "HRMConfig", "HRMQPolicy", "HRMReplayBuffer"]

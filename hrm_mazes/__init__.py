"""hrm_mazes: grid mazes whose doors open and close while the agent moves (Gymnasium environments).

Importing the package registers ``FourRooms-Dynamic-v0`` and ``RandomDoorMaze-v0``. The train / validation / test
seed ranges are :data:`SEED_SPLITS` (:mod:`hrm_mazes.seeds`).
"""

from gymnasium.envs.registration import register, registry

from hrm_mazes.core import MAX_EPISODE_STEPS
from hrm_mazes.envs import DynamicDoorsEnv, FourRoomsDynamicEnv, RandomDoorMazeEnv
from hrm_mazes.seeds import SEED_SPLITS, SeedSplit

__version__ = "0.1.0"

ENV_IDS = ("FourRooms-Dynamic-v0", "RandomDoorMaze-v0")

_ENTRY_POINTS = {
    "FourRooms-Dynamic-v0": ("FourRoomsDynamicEnv", "FourRoomsDynamicVectorEnv"),
    "RandomDoorMaze-v0": ("RandomDoorMazeEnv", "RandomDoorMazeVectorEnv"),
}

for _env_id, (_single, _batched) in _ENTRY_POINTS.items():
    if _env_id not in registry:
        register(
            id=_env_id,
            entry_point=f"hrm_mazes.envs:{_single}",
            vector_entry_point=f"hrm_mazes.vector:{_batched}",
            max_episode_steps=MAX_EPISODE_STEPS,
        )

__all__ = ["ENV_IDS", "SEED_SPLITS", "DynamicDoorsEnv", "FourRoomsDynamicEnv", "RandomDoorMazeEnv", "SeedSplit", "__version__"]

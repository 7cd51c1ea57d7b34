"""hrm_mazes: grid mazes whose doors open and close while the agent moves (Gymnasium environments).

Importing the package registers ``FourRooms-Dynamic-v0`` and ``RandomDoorMaze-v0`` and their partially observed
variants ``FourRooms-Dynamic-Partial-v0`` and ``RandomDoorMaze-Partial-v0``, the envs of :data:`ENV_SPECS`
(:mod:`hrm_mazes.registry`: an env's id, entry points and kwargs, in one list). The train /
validation / test seed ranges are :data:`SEED_SPLITS` (:mod:`hrm_mazes.seeds`).
"""

from hrm_mazes.envs import DynamicDoorsEnv, FourRoomsDynamicEnv, RandomDoorMazeEnv
from hrm_mazes.registry import ENV_IDS, ENV_SPECS, MazeEnvSpec, register_env
from hrm_mazes.seeds import SEED_SPLITS, SeedSplit

__version__ = "0.1.0"

for _spec in ENV_SPECS:
    register_env(_spec)

__all__ = [
    "ENV_IDS",
    "ENV_SPECS",
    "SEED_SPLITS",
    "DynamicDoorsEnv",
    "FourRoomsDynamicEnv",
    "MazeEnvSpec",
    "RandomDoorMazeEnv",
    "SeedSplit",
    "__version__",
    "register_env",
]

"""The environment classes of the suite."""

from hrm_mazes.envs.base import DynamicDoorsEnv
from hrm_mazes.envs.four_rooms import FourRoomsDynamicEnv
from hrm_mazes.envs.random_door_maze import RandomDoorMazeEnv

__all__ = ["DynamicDoorsEnv", "FourRoomsDynamicEnv", "RandomDoorMazeEnv"]

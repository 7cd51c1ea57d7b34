"""Token ids, actions, rewards and episode defaults shared by every part of the suite."""

from __future__ import annotations

import numpy as np

# --- tokens -------------------------------------------------------------------------------------------

FLOOR, WALL, AGENT, GOAL, START, CLOSED_DOOR, FIXED_WALL, UNSEEN = range(8)
NUM_TOKENS = 7  # the full view's tokens, FLOOR ... FIXED_WALL: Box(0, 6) (the paper's envs; never changes)
# The partially observed variants (``view_radius``) add UNSEEN, a cell outside the agent's view: Box(0, 7).
NUM_PARTIAL_TOKENS = 8
TOKEN_NAMES = ("floor", "wall", "agent", "goal", "start", "closed_door", "fixed_wall", "unseen")

# --- actions ------------------------------------------------------------------------------------------

NORTH, EAST, SOUTH, WEST = range(4)
ACTION_NAMES = ("north", "east", "south", "west")
ACTION_DELTAS = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)
NUM_ACTIONS = 4
# "{0, 1, 2, 3} (0=north, 1=east, 2=south, 3=west)": the allowed actions, as error messages name them.
ACTION_CHOICES = (
    "{" + ", ".join(map(str, range(NUM_ACTIONS))) + "} ("
    + ", ".join(f"{i}={name}" for i, name in enumerate(ACTION_NAMES)) + ")"
)

# --- rewards and episodes -----------------------------------------------------------------------------

REWARD_GOAL = 1.0
REWARD_BLOCKED = -0.01
REWARD_STEP = 0.0

MAX_EPISODE_STEPS = 80
DEFAULT_P_CHANGE = 0.05

# --- partial view ---------------------------------------------------------------------------------------

# The registered partially observed variants see a (2r + 1) x (2r + 1) window around the agent: 5 x 5 cells.
DEFAULT_VIEW_RADIUS = 2
# A radius of 12 covers every cell of a 13-wide map from anywhere: larger would change nothing.
MAX_VIEW_RADIUS = 12

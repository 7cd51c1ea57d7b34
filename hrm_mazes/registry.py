"""The suite's environments: :data:`ENV_SPECS`, one :class:`MazeEnvSpec` per id, is the one list that Gymnasium's
registration, :data:`ENV_IDS` and every command's ``--env`` choices come from.

A new environment takes its layout (``core/layouts.py``), its single and batched classes (``envs/<name>.py``,
``vector/envs.py``; a variant of an existing env may pass ``kwargs`` instead), one :class:`MazeEnvSpec` line
here, and its page in ``docs/envs/``. The presets need no change: an env with no entry of its own takes its
``base`` env's entry (a variant: the same rules, another view), else each preset file's ``default`` entry
(:func:`agents.harness.hyperparams.load_preset`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from gymnasium.envs.registration import register, registry

from hrm_mazes.core import DEFAULT_VIEW_RADIUS, MAX_EPISODE_STEPS


@dataclass(frozen=True)
class MazeEnvSpec:
    """One environment of the suite, as :func:`register_env` hands it to Gymnasium.

    :param id: the Gymnasium id, e.g. ``"FourRooms-Dynamic-v0"``.
    :param entry_point: the single env: ``"module:Class"`` or a callable returning a :class:`gymnasium.Env`.
    :param vector_entry_point: the batched env (same forms), built by
        ``gym.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")``.
    :param kwargs: constructor kwargs both entry points get unless the caller overrides them.
    :param base: the id of the env this one is a variant of (same layout family and rules, e.g. a partial view):
        a preset with no entry for this id uses the base's entry before its ``default``.
    """

    id: str
    entry_point: str | Callable[..., Any]
    vector_entry_point: str | Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    base: str | None = None


ENV_SPECS: tuple[MazeEnvSpec, ...] = (
    MazeEnvSpec(
        "FourRooms-Dynamic-v0", "hrm_mazes.envs:FourRoomsDynamicEnv", "hrm_mazes.vector:FourRoomsDynamicVectorEnv"
    ),
    MazeEnvSpec("RandomDoorMaze-v0", "hrm_mazes.envs:RandomDoorMazeEnv", "hrm_mazes.vector:RandomDoorMazeVectorEnv"),
    # The partially observed variants: the same envs, seen through a 5x5 window around the agent (and the goal).
    MazeEnvSpec(
        "FourRooms-Dynamic-Partial-v0",
        "hrm_mazes.envs:FourRoomsDynamicEnv",
        "hrm_mazes.vector:FourRoomsDynamicVectorEnv",
        {"view_radius": DEFAULT_VIEW_RADIUS},
        base="FourRooms-Dynamic-v0",
    ),
    MazeEnvSpec(
        "RandomDoorMaze-Partial-v0",
        "hrm_mazes.envs:RandomDoorMazeEnv",
        "hrm_mazes.vector:RandomDoorMazeVectorEnv",
        {"view_radius": DEFAULT_VIEW_RADIUS},
        base="RandomDoorMaze-v0",
    ),
)

_REGISTERED: dict[str, MazeEnvSpec] = {}  # id -> spec, in registration order


class RegisteredEnvIds(Sequence[str]):
    """The ids registered through :func:`register_env`, in order, read each time it is used: an env registered
    after a command line was built (a plug-in, a test) is still among its ``--env`` choices."""

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return tuple(_REGISTERED)[index]

    def __len__(self) -> int:
        return len(_REGISTERED)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, list, RegisteredEnvIds)):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # it changes when an env is registered

    def __repr__(self) -> str:
        return repr(tuple(self))


ENV_IDS = RegisteredEnvIds()


def register_env(spec: MazeEnvSpec) -> None:
    """Register ``spec`` with Gymnasium (``max_episode_steps=80``, both entry points) and add it to :data:`ENV_IDS`.

    An id Gymnasium already holds is kept as it is (importing the package twice registers nothing twice).
    """
    if spec.id not in registry:
        register(
            id=spec.id,
            entry_point=spec.entry_point,
            vector_entry_point=spec.vector_entry_point,
            max_episode_steps=MAX_EPISODE_STEPS,
            kwargs=dict(spec.kwargs),
        )
    _REGISTERED[spec.id] = spec


def base_env_id(env_id: str) -> str | None:
    """The id ``env_id`` is a variant of (its spec's ``base``), or None (not a variant, or not registered here)."""
    spec = _REGISTERED.get(env_id)
    return None if spec is None else spec.base


def unregister_env(env_id: str) -> None:
    """Remove ``env_id`` from Gymnasium's registry and from :data:`ENV_IDS` (a test's env, after the test)."""
    registry.pop(env_id, None)
    _REGISTERED.pop(env_id, None)

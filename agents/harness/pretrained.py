"""The trained agents shipped in ``agents/pretrained/``: list them, pick one per env, load it.

``agents/pretrained/manifest.json`` is a JSON list with one entry per shipped checkpoint (the keys are
:data:`ENTRY_KEYS`, :data:`TRAINED_KEYS` and :data:`EVALUATION_KEYS`); the checkpoint is the entry's ``file``
beside the manifest. The model is loaded by :func:`agents.harness.loading.load_agent` (``pretrained=ENV_ID``), as a
bare ``.zip`` whose algorithm and env come from the entry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agents.errors import UserError

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
MANIFEST_NAME = "manifest.json"
ENTRY_KEYS = ("env_id", "algo", "file", "label", "trained", "evaluation")
TRAINED_KEYS = ("command", "machine", "date", "env_steps", "optimizer_steps", "wall_time_s", "seed")
EVALUATION_KEYS = ("episodes", "success_rate", "success_lo", "success_hi")
LABEL_PATTERN = re.compile(r"[A-Za-z0-9._-]+")  # the label names output files (evaluate's default JSON)


def manifest_path() -> Path:
    return PRETRAINED_DIR / MANIFEST_NAME


def missing_keys(entry: Any) -> list[str]:
    """The metadata keys an entry lacks, as ``trained.seed`` for nested ones (empty when complete)."""
    if not isinstance(entry, dict):
        return list(ENTRY_KEYS)
    missing = [k for k in ENTRY_KEYS if k not in entry]
    for group, keys in (("trained", TRAINED_KEYS), ("evaluation", EVALUATION_KEYS)):
        inner = entry.get(group)
        if group in entry:
            missing += [f"{group}.{k}" for k in keys if not isinstance(inner, dict) or k not in inner]
    return missing


def list_pretrained() -> list[dict[str, Any]]:
    """Every entry of the manifest, checked: a list of complete entries with file-safe labels."""
    path = manifest_path()
    try:
        entries = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read {path} ({err})") from None
    if not isinstance(entries, list):
        raise UserError(f"{path} must hold a JSON list of entries, got {type(entries).__name__}")
    for i, entry in enumerate(entries):
        missing = missing_keys(entry)
        if missing:
            raise UserError(f"{path}: entry {i} lacks {', '.join(missing)}")
        if not LABEL_PATTERN.fullmatch(str(entry["label"])):
            raise UserError(f"{path}: entry {i}: label {entry['label']!r} must be letters, digits, '.', '_' or '-'")
    return entries


def pretrained_entry(env_id: str, algo: str | None = None) -> dict[str, Any]:
    """The manifest entry for ``env_id``: the one of ``algo`` when given, else the env's best shipped agent (highest
    held-out success rate). A :class:`UserError` names what is shipped when nothing matches."""
    entries = list_pretrained()
    for_env = [e for e in entries if e["env_id"] == env_id]
    if for_env and algo is not None:
        of_algo = [e for e in for_env if e["algo"] == algo]
        if not of_algo:
            shipped = ", ".join(sorted({e["algo"] for e in for_env}))
            raise UserError(f"no pretrained {algo} agent for {env_id!r}; --algo can be: {shipped}")
        for_env = of_algo
    if for_env:
        return max(for_env, key=lambda e: float(e["evaluation"]["success_rate"]))  # max keeps the first of ties
    available = sorted({e["env_id"] for e in entries})
    listed = ", ".join(available) if available else f"none yet ({manifest_path().name} is empty)"
    raise UserError(f"no pretrained agent for {env_id!r}; available: {listed}")


def pretrained_file(entry: dict[str, Any]) -> Path:
    """The checkpoint of an entry (a :class:`UserError` if the package does not hold it)."""
    path = PRETRAINED_DIR / entry["file"]
    if not path.is_file():
        label, file = entry["label"], entry["file"]
        raise UserError(f"the pretrained agent {label!r} names {file}, which is not in {PRETRAINED_DIR}")
    return path


def pretrained_agent(env_id: str, device: str = "cpu", play_env_id: str | None = None, algo: str | None = None):
    """The shipped agent for ``env_id`` as a :class:`~agents.harness.loading.LoadedAgent` named by its label, and
    its manifest entry (:func:`agents.harness.loading.load_agent` with ``pretrained``).

    :param play_env_id: play it on another env with the same grid size (default ``env_id``).
    :param algo: which of the env's shipped agents (default: the best, :func:`pretrained_entry`).
    """
    from agents.harness.loading import load_agent

    agent = load_agent(env_id=play_env_id, algo=algo, device=device, pretrained=env_id)
    return agent, agent.shipped


def load_pretrained(env_id: str, device: str = "cpu", algo: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The shipped model for ``env_id`` (the best one, or ``algo``'s) and its manifest entry."""
    agent, entry = pretrained_agent(env_id, device, algo=algo)
    return agent.model, entry

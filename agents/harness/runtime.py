"""Where a run executes: the torch device, CPU threads, and the versions and host recorded in run.yaml."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from agents.errors import UserError
from hrm_mazes.cli_args import describe_int, parse_int


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; asking for CUDA without it is a :class:`UserError`."""
    import torch

    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise UserError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("CUDA is not available on this machine; use --device cpu (or auto)")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def fresh_compile_caches() -> None:
    """Start a task with empty ``torch.compile`` caches. A compiled function (the HRM's ``segment``) keeps one
    cache entry per model and input shape in the process, and past ``torch._dynamo.config.recompile_limit`` (8)
    it runs eagerly: a process that trains a second task (a pool worker, tasks one after another in one process,
    a script that loads several models) would train or play it uncompiled, several times slower. The previous
    task's models are gone, so nothing of worth is dropped; costless when nothing was compiled."""
    dynamo = sys.modules.get("torch._dynamo")
    if dynamo is not None:
        dynamo.reset()


def configure_threads(device: str) -> None:
    """On CPU use ``HRM_MAZES_THREADS`` torch threads (default 1: these networks are small, and extra threads
    mostly fight over cores with the env loop)."""
    import torch

    if device != "cpu":
        return
    text = os.environ.get("HRM_MAZES_THREADS", "1")
    try:
        threads = parse_int(text)
    except ValueError:
        raise UserError(f"HRM_MAZES_THREADS must be {describe_int(1)}, got {text!r}") from None
    torch.set_num_threads(max(1, threads))


def environment_record() -> dict[str, Any]:
    """``versions`` and ``host`` for run.yaml."""
    import stable_baselines3
    import torch

    import hrm_mazes
    from hrm_mazes.host import cpu_model

    return {
        "versions": {
            "hrm_mazes": hrm_mazes.__version__,
            "torch": str(torch.__version__),
            "stable_baselines3": str(stable_baselines3.__version__),
            "python": platform.python_version(),
        },
        "host": {
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
    }

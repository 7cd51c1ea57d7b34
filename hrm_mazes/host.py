"""What machine a number came from: the CPU's model name, for run records, result tables and benchmark headers."""

from __future__ import annotations

import platform


def cpu_model() -> str:
    """The CPU's model name as ``/proc/cpuinfo`` gives it (``platform.processor()`` is empty on Linux), else
    ``platform.processor()``, else the architecture (``x86_64``)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"

"""``hrm_mazes.host.cpu_model``: every run record and result header names the CPU it ran on."""

from __future__ import annotations

import builtins
import platform
from pathlib import Path

import pytest

from agents.harness.runtime import environment_record
from hrm_mazes.host import cpu_model


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="no /proc/cpuinfo on this OS")
def test_the_cpu_model_is_the_first_model_name_of_proc_cpuinfo():
    names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.startswith("model name")]  # fmt: skip
    assert cpu_model() == (names[0] if names else platform.processor() or platform.machine())


def test_without_proc_cpuinfo_the_cpu_model_falls_back_to_platform(monkeypatch):
    real_open = builtins.open

    def no_cpuinfo(path, *args, **kwargs):
        if str(path) == "/proc/cpuinfo":
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_cpuinfo)
    monkeypatch.setattr(platform, "processor", lambda: "")
    assert cpu_model() == platform.machine() or (not platform.machine() and cpu_model() == "unknown CPU")


def test_run_records_name_the_cpu():
    host = environment_record()["host"]
    assert host["cpu"] == cpu_model() and host["cpu"]

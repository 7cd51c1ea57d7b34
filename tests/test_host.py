"""``hrm_mazes.host.cpu_model``: every run record and result header names the CPU it ran on."""

from __future__ import annotations

import io
import platform

import pytest

import hrm_mazes.host
from agents.harness.runtime import environment_record
from hrm_mazes.host import cpu_model

# /proc/cpuinfo of a two-core x86 machine: one block per core, "model name" in each.
X86_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz
flags\t\t: fpu vme de pse tsc msr pae mce

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz
"""
# /proc/cpuinfo of an ARM board: no "model name" line.
ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
"""


@pytest.fixture
def host(monkeypatch):
    """Sets what ``cpu_model`` reads: the text of /proc/cpuinfo (None: no such file) and what ``platform`` says."""

    def set_host(cpuinfo: str | None, processor: str = "", machine: str = "") -> None:
        def fake_open(path, *args, **kwargs):
            assert str(path) == "/proc/cpuinfo", path
            if cpuinfo is None:
                raise FileNotFoundError(2, "No such file or directory", str(path))
            return io.StringIO(cpuinfo)

        monkeypatch.setattr(hrm_mazes.host, "open", fake_open, raising=False)  # the module's open, not builtins'
        monkeypatch.setattr(platform, "processor", lambda: processor)
        monkeypatch.setattr(platform, "machine", lambda: machine)

    return set_host


def test_the_cpu_model_is_the_first_model_name_of_proc_cpuinfo(host):
    host(X86_CPUINFO, processor="x86_64", machine="x86_64")
    assert cpu_model() == "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"


def test_a_model_name_line_is_read_whatever_its_spacing(host):
    host("processor : 0\nmodel name:AMD EPYC 7R13 Processor  \nmodel name : a later core\n")
    assert cpu_model() == "AMD EPYC 7R13 Processor"


@pytest.mark.parametrize(
    ("cpuinfo", "processor", "machine", "expected"),
    [
        (ARM_CPUINFO, "", "aarch64", "aarch64"),  # Linux on ARM: no model name, platform.processor() is empty
        (None, "arm", "arm64", "arm"),  # macOS: no /proc/cpuinfo, platform.processor() names the CPU
        (None, "", "x86_64", "x86_64"),
        (None, "", "", "unknown CPU"),
    ],
)
def test_without_a_model_name_the_cpu_model_falls_back_to_platform(host, cpuinfo, processor, machine, expected):
    host(cpuinfo, processor, machine)
    assert cpu_model() == expected


def test_run_records_name_the_cpu(host):
    host(X86_CPUINFO, processor="x86_64", machine="x86_64")
    assert environment_record()["host"]["cpu"] == "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"

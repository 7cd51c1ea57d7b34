"""Command-line parsing for every command of the project (``hrm-mazes ...``, ``python -m hrm_mazes.play``, ``hrm-mazes
bench-env``): a parser whose errors are one line, and option types that name the allowed range when they reject a
value. It lives in ``hrm_mazes`` (which needs no torch) so that the suite's own commands and the agents' CLI share it."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad command line prints one line ``<prog>: error: ...`` (no usage block) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _range_text(low: float | None, high: float | None, low_open: bool = False) -> str:
    if high is None:
        return f"{'>' if low_open else '>='} {low}"
    return f"in {'(' if low_open else '['}{low}, {high}]"


def describe_int(lo: int | None = None, hi: int | None = None) -> str:
    """``"a positive integer"``, ``"an integer in [0, 99]"``...: the allowed values, for messages."""
    if hi is not None:
        return f"an integer in [{lo}, {hi}]"
    return {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(lo, f"an integer >= {lo}")


def parse_int(value: Any, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` (an int, or text / a float that is a whole number: ``"20000"``, ``"2e4"``, ``2e4``) as an int in
    ``[lo, hi]`` (either bound may be None); anything else (``"2.5"``, ``"inf"``, ``"nan"``, ``"1e400"``, a bool)
    raises ``ValueError`` naming the allowed values. The one integer check of the project: command-line options
    (:func:`int_option`), config files and Python arguments all go through it."""
    allowed = describe_int(lo, hi)
    if isinstance(value, bool):
        raise ValueError(f"expected {allowed}, got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(value, 10) if isinstance(value, str) else None  # exact for long decimal text
        except ValueError:
            number = None
        if number is None:
            try:
                as_float = float(value)  # YAML reads 2e4 as text; both are whole numbers
            except (TypeError, ValueError):
                raise ValueError(f"expected {allowed}, got {value!r}") from None
            if not as_float.is_integer():
                raise ValueError(f"expected {allowed}, got {value!r}")
            number = int(as_float)
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise ValueError(f"expected {allowed}, got {value!r}")
    return number


def int_option(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An option type: a whole number in ``[low, high]`` (either bound may be None), by :func:`parse_int`."""

    def parse(text: str) -> int:
        try:
            return parse_int(text, low, high)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {describe_int(low, high)}, got {text!r}") from None

    parse.__name__ = "integer"
    return parse


def describe_number(low: float, high: float | None = None, low_open: bool = False) -> str:
    """``"a finite number > 0"``, ``"a finite number in [0, 1]"``...: the allowed values, for messages."""
    return f"a finite number {_range_text(low, high, low_open)}"


def parse_number(value: Any, low: float, high: float | None = None, low_open: bool = False) -> float:
    """``value`` (an int or float, or text such as ``"1e-4"``, which YAML reads as text) as a float in ``[low, high]``
    (``(low, high]`` when ``low_open``; no upper bound when ``high`` is None); anything else (NaN, infinities, a
    bool, ``"fast"``) raises ``ValueError`` naming the allowed values. The one number check of the project:
    command-line options (:func:`float_option`), config files and Python arguments all go through it."""
    allowed = describe_number(low, high, low_open)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected {allowed}, got {value!r}")
    try:
        number = float(value)
    except (ValueError, OverflowError):  # OverflowError: an int too large for a float
        raise ValueError(f"expected {allowed}, got {value!r}") from None
    inside = math.isfinite(number) and (number > low if low_open else number >= low)
    if not inside or (high is not None and number > high):
        raise ValueError(f"expected {allowed}, got {value!r}")
    return number


def float_option(low: float, high: float | None = None, low_open: bool = False) -> Callable[[str], float]:
    """An option type: a finite number in ``[low, high]`` (``(low, high]`` when ``low_open``; no upper bound when
    ``high`` is None), by :func:`parse_number`."""

    def parse(text: str) -> float:
        try:
            return parse_number(text, low, high, low_open)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {describe_number(low, high, low_open)}, got {text!r}") from None

    parse.__name__ = "number"
    return parse


def output_file(text: str) -> Path:
    """An option type: a file the command writes when its work is done, checked before the work: not a folder, and
    in a folder that exists or can be made where files can be made (tried with a probe folder, made and removed)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty ('')")
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a directory; give a file name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {path}: {folder} is not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".probe-", dir=folder))
    except OSError as err:
        raise argparse.ArgumentTypeError(f"cannot write {path}: {folder} is not writable ({err.strerror or err})") from None
    return path

"""Command-line parsing for the suite's own commands (``python -m hrm_mazes.play``, ``hrm-mazes bench-env``): a
parser whose errors are one line, and option types that name the allowed range when they reject a value."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad command line prints one line ``<prog>: error: ...`` (no usage block) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _range_text(low: float | None, high: float | None, low_open: bool = False) -> str:
    if high is None:
        return f"{'>' if low_open else '>='} {low}"
    return f"in {'(' if low_open else '['}{low}, {high}]"


def int_option(low: int, high: int | None = None) -> Callable[[str], int]:
    """An option type: a decimal integer in ``[low, high]`` (no upper bound when ``high`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)  # also rejects "inf", "nan", "1e400" and "2.5"
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be an integer {_range_text(low, high)}, got {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


def float_option(low: float, high: float | None = None, low_open: bool = False) -> Callable[[str], float]:
    """An option type: a finite number in ``[low, high]`` (``(low, high]`` when ``low_open``; no upper bound when
    ``high`` is None). NaN and infinities are rejected."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        inside = math.isfinite(value) and (value > low if low_open else value >= low)
        if not inside or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be a finite number {_range_text(low, high, low_open)}, got {text!r}")
        return value

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

"""Calling ``hrm-mazes`` in-process, checking its one-line errors, and interrupting a training run; shared by the
command-line tests. Also ``benchmarks/ship_pretrained.py`` as a module, writing to a temporary manifest."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from stable_baselines3.common.callbacks import BaseCallback

from agents.cli import main

# ``hrm-mazes: error: ...`` from a handler, ``hrm-mazes <command>: error: ... (see --help)`` from argparse.
ERROR_LINE = re.compile(r"hrm-mazes( [a-z-]+)?: error: ")


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """``main(args)`` with its exit code (argparse's ``--help`` and usage errors exit), stdout and stderr."""
    try:
        rc = main(args)
    except SystemExit as exit_:
        rc = exit_.code
    out, err = capsys.readouterr()
    return rc, out, err


def ship_pretrained(monkeypatch, folder: Path) -> ModuleType:
    """``benchmarks/ship_pretrained.py`` imported as a module that ships into ``folder`` (an empty manifest is
    written there) instead of ``agents/pretrained/``."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "ship_pretrained.py"
    spec = importlib.util.spec_from_file_location("ship_pretrained", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder.mkdir(exist_ok=True)
    (folder / "manifest.json").write_text("[]")
    monkeypatch.setattr(module, "PRETRAINED_DIR", folder)
    return module


def assert_one_line_error(rc: int, err: str, *words: str) -> None:
    """A user error: exit code 2 and one ``hrm-mazes...: error:`` line on stderr holding ``words``, no traceback."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1, err
    assert ERROR_LINE.match(lines[0]) and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]


class AtStep(BaseCallback):
    """Calls ``action`` at every env step from ``at`` on: a crash, a Ctrl-C or a signal in the middle of training."""

    def __init__(self, at: int, action: Callable[[], object]) -> None:
        super().__init__()
        self.at, self.action = at, action

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.at:
            self.action()
        return True


def raising(exc: type[BaseException]) -> Callable[[], None]:
    """An :class:`AtStep` action that raises ``exc`` (``KeyboardInterrupt``: a Ctrl-C)."""

    def action() -> None:
        raise exc("simulated interruption")

    return action

"""Writing a file whole: into a temporary file beside it, flushed to disk, then renamed over it, so that a reader
(or a crash, or a full disk) sees the old file or the complete new one, never a part. The commands' writers
(``agents.harness.rundir.write_whole`` / ``write_atomic``, ``bench-env --markdown``) all go through
:func:`replace_whole`; this module sits in ``hrm_mazes`` so that the environments' own tools can use it without
the agents' dependencies."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def replace_whole(path: Path, write: Callable[[Path], object], tmp: Path | None = None) -> None:
    """``write(tmp)`` into a temporary file beside ``path`` (default ``.<name>.tmp``), flushed to disk and then
    renamed to ``path``, whose folder's new entry is flushed too. On any failure the temporary file is removed,
    ``path`` is left as it was, and the exception (an ``OSError`` for a full disk or a missing folder) propagates."""
    tmp = tmp or path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        fsync_file(tmp)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def fsync_file(file: Path) -> None:
    """Flush one file's contents to disk."""
    with file.open("rb") as f:
        os.fsync(f.fileno())


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename or a new file in it) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

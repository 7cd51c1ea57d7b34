"""``agents.harness.runner``: how the process pool's workers stop (the pool's results are tested through the
benchmark in test_benchmark_parallel.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agents import cli

# A parent that runs 4 tasks on a pool of 2: each task says it started, works until its Ctrl-C, then "saves".
PARENT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from agents.harness.runner import run_tasks

    def task(i):
        out = Path(sys.argv[1])
        (out / f"started-{i}-{os.getpid()}").touch()
        try:
            while True:
                time.sleep(0.05)
        except KeyboardInterrupt:
            (out / f"saved-{i}").touch()
        return i

    if __name__ == "__main__":
        run_tasks(task, [0, 1, 2, 3], workers=2)
    """
)


def _wait_for(condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has stopped: only its exit status is left for its (new) parent


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_workers_of_a_killed_parent_save_their_task_and_exit_without_starting_the_queued_ones(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=Path(__file__).parents[1])
    try:
        assert _wait_for(lambda: len(list(tmp_path.glob("started-*"))) == 2, 120), "the pool never started"
        workers = [int(path.name.split("-")[2]) for path in tmp_path.glob("started-*")]
        parent.send_signal(signal.SIGKILL)  # no chance to interrupt its workers
        parent.wait()
        assert _wait_for(lambda: not any(_alive(pid) for pid in workers), 30), "orphaned workers kept running"
    finally:
        parent.kill()
        for pid in workers if "workers" in locals() else []:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    started = sorted(path.name.split("-")[1] for path in tmp_path.glob("started-*"))
    saved = sorted(path.name.split("-")[1] for path in tmp_path.glob("saved-*"))
    assert started == saved and len(started) == 2  # each running task saved; no queued task started


def test_benchmark_takes_sigterm_as_ctrl_c(monkeypatch, tmp_path, capsys):
    """``kill PID`` on a background benchmark stops it as Ctrl-C does (each trial checkpoints), exit 130."""

    def handler(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal arrives within this: a KeyboardInterrupt, not the process's death
        raise AssertionError("SIGTERM did not interrupt the benchmark")

    def not_stopped(signum, frame):  # what runs if the command leaves SIGTERM alone (instead of dying)
        raise AssertionError("benchmark does not take SIGTERM as Ctrl-C")

    monkeypatch.setitem(cli.HANDLERS, "benchmark", handler)
    previous = signal.signal(signal.SIGTERM, not_stopped)
    try:
        assert cli.main(["benchmark", "--suite", str(tmp_path / "suite.yaml")]) == 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "interrupted" in capsys.readouterr().err


def test_every_task_starts_with_empty_compile_caches(monkeypatch):
    """A compiled HRM ``segment`` keeps cache entries per model and shape for the whole process; past dynamo's
    recompile limit (8) it runs eagerly, so a second trial in one process (here, or a pool worker: the same
    call) would train uncompiled. Found when a suite's FourRooms trial followed a maze trial in one worker."""
    import torch._dynamo

    from agents.harness.runner import run_tasks
    from agents.harness.runtime import fresh_compile_caches

    resets: list[int] = []
    monkeypatch.setattr(torch._dynamo, "reset", lambda: resets.append(len(resets)))
    seen: list[tuple[int, int]] = []
    run_tasks(lambda task: seen.append((task, len(resets))), [10, 20, 30], workers=1)
    assert seen == [(10, 1), (20, 2), (30, 3)]  # each task ran after its own reset

    # The real thing: with a recompile limit of 2 that fails when hit, new shapes in new tasks compile every time.
    def double(x):
        return x * 2

    compiled = torch.compile(double, backend="eager", dynamic=False)
    monkeypatch.undo()
    with torch._dynamo.config.patch(recompile_limit=2, fail_on_recompile_limit_hit=True):
        for n in range(1, 6):
            fresh_compile_caches()
            assert compiled(torch.ones(n)).sum().item() == 2 * n
        with pytest.raises(Exception, match="recompile"):  # without the resets the limit is hit
            for n in range(6, 10):
                compiled(torch.ones(n))
    fresh_compile_caches()

"""``hrm-mazes bench-env`` (``hrm_mazes.throughput``): its command line and its progress output. The benchmark
itself is a script that prints a table, never timed in a test: here every timed job is replaced by a constant."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout

import pytest

from hrm_mazes import ENV_IDS, throughput

PROG = "hrm-mazes bench-env"
BAD_COMMAND_LINES = [
    # (arguments, words the one error line must contain: the option and the allowed range)
    (["--sizes", "0"], ["--sizes", "[1, 16777216]", "'0'"]),
    (["--sizes", "8", "-3"], ["--sizes", "[1, 16777216]"]),
    (["--sizes", "inf"], ["--sizes", "[1, 16777216]"]),
    (["--sizes", "1e400"], ["--sizes", "[1, 16777216]"]),
    (["--sizes", "many"], ["--sizes", "[1, 16777216]"]),
    (["--sizes", "99999999"], ["--sizes", "[1, 16777216]"]),
    (["--seconds", "-1"], ["--seconds", "(0.0, 3600.0]"]),
    (["--seconds", "0"], ["--seconds", "(0.0, 3600.0]"]),
    (["--seconds", "nan"], ["--seconds", "(0.0, 3600.0]"]),
    (["--seconds", "inf"], ["--seconds", "(0.0, 3600.0]"]),
    (["--seconds", "1e400"], ["--seconds", "(0.0, 3600.0]"]),
    (["--bogus"], ["--bogus"]),
]


@pytest.mark.parametrize("argv, words", BAD_COMMAND_LINES, ids=[" ".join(argv) for argv, _ in BAD_COMMAND_LINES])
def test_bad_command_line_is_one_error_line(argv, words, capsys):
    with pytest.raises(SystemExit) as excinfo:
        throughput.main(argv, prog=PROG)
    assert excinfo.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{PROG}: error: "), captured.err
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_script_entry_point_rejects_bad_sizes_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "hrm_mazes.throughput", "--sizes", "0"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "--sizes" in result.stderr


def test_progress_is_one_plain_line_per_row(monkeypatch, tmp_path):
    """Redirected output (a log file) gets whole lines: no carriage-return updates, one line per timed row."""
    monkeypatch.setattr(throughput, "bench_single", lambda *args, **kwargs: 1000.0)
    monkeypatch.setattr(throughput, "bench_vector", lambda *args, **kwargs: 50_000.0)
    monkeypatch.setattr(throughput, "batched_memory", lambda *args, **kwargs: (300.0, 143, 1 << 20, 1 << 24))
    out = io.StringIO()
    markdown = tmp_path / "table.md"
    with redirect_stdout(out):
        assert throughput.main(["--sizes", "1", "64", "--markdown", str(markdown)], prog=PROG) == 0
    text = out.getvalue()
    assert "\r" not in text
    progress = [line for line in text.splitlines() if line.startswith("[")]
    n_rows = len(progress)
    assert n_rows == len(ENV_IDS) * (2 + 2) + ("MiniGrid" in text)  # per env: gym.make, SyncVectorEnv, 2 batch sizes
    assert all(line.startswith(f"[{k}/{n_rows}] ") and line.endswith(" steps/s") for k, line in enumerate(progress, 1))
    assert text.rstrip().endswith(f"Markdown table written to {markdown}") and markdown.exists()


def test_env_option_measures_only_the_named_envs(monkeypatch):
    """``--env`` picks the rows (every registered env by default); an unknown id is a one-line usage error."""
    measured = []
    monkeypatch.setattr(throughput, "bench_single", lambda env_id, *args, **kwargs: measured.append(env_id) or 1000.0)
    monkeypatch.setattr(throughput, "bench_vector", lambda env_id, *args, **kwargs: measured.append(env_id) or 5e4)
    monkeypatch.setattr(throughput, "batched_memory", lambda *args, **kwargs: (300.0, 143, 1 << 20, 1 << 24))
    with redirect_stdout(io.StringIO()):
        assert throughput.main(["--sizes", "1", "--env", "RandomDoorMaze-Partial-v0"], prog=PROG) == 0
    assert set(measured) - {throughput.MINIGRID_ID} == {"RandomDoorMaze-Partial-v0"}
    with pytest.raises(SystemExit) as excinfo:
        throughput.main(["--env", "Nope-v0"], prog=PROG)
    assert excinfo.value.code == 2

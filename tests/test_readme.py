"""The README's Python examples run as written, and its two set-up commands stay at the top."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_starts_with_the_main_job_and_the_test_command():
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), re.S).group(1)
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert commands == [
        'pip install "torch==2.13.0" -e ".[all]" && hrm-mazes demo',
        'pip install "torch==2.13.0" -e ".[all]" && python -m pytest -q && python -m pytest -q -m slow',
    ]


def test_ci_runs_the_readme_test_layers():
    ci = (README.parent / ".ci" / "run").read_text().splitlines()
    assert "python -m pytest -q" in ci and "python -m pytest -q -m slow" in ci


def test_readme_python_examples_compile_and_import():
    for block in python_blocks():
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)


def test_readme_environment_example_runs():
    namespace: dict = {}
    exec(compile(python_blocks()[0], str(README), "exec"), namespace)
    assert namespace["frame"].shape == (352, 416, 3)
    assert namespace["envs"].num_envs == 4096


@pytest.mark.slow
def test_readme_python_examples_run():
    import torch

    code = "\n".join(python_blocks())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model runs fastest single-threaded, and CI machines are small
    try:
        namespace: dict = {}
        exec(compile(code, str(README), "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
    assert namespace["frame"].shape == (352, 416, 3)
    assert namespace["envs"].num_envs == 4096
    assert int(namespace["action"]) in range(4)
    assert namespace["state"].shape == (1, 2, 32)

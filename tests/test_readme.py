"""The README's Python examples run as written, its two set-up commands stay at the top, and its command table
lists every ``hrm-mazes`` subcommand."""

from __future__ import annotations

import argparse
import ast
import importlib
import re
import shlex
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


def readme_table_commands() -> list[str]:
    """The subcommands named in the first cell of the rows of README's "Command line" table."""
    section = README.read_text().split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split(" | ")[0] for line in section.splitlines() if line.startswith("| `hrm-mazes ")]
    return [name for cell in first_cells for name in re.findall(r"`hrm-mazes ([a-z][a-z-]*)", cell)]


def parser_commands() -> set[str]:
    """The subcommands ``hrm-mazes`` defines, read from its parser."""
    from agents.cli import build_parser

    (subcommands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return set(subcommands.choices)


def test_readme_command_table_lists_every_subcommand_once():
    commands = readme_table_commands()
    assert len(commands) == len(set(commands)), commands
    assert set(commands) == parser_commands()


def test_readme_train_row_lists_every_algorithm():
    from agents.harness.algos import ALGO_NAMES

    section = README.read_text().split("\n## Command line\n", 1)[1]
    (choices,) = re.findall(r"`hrm-mazes train --algo \{([a-z,-]+)\}", section)
    assert choices.split(",") == list(ALGO_NAMES)


def test_readme_command_lines_parse_and_watch_both_shipped_agents():
    from agents.cli import build_parser
    from agents.harness.pretrained import list_pretrained

    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)
    commands = [shlex.split(line, comments=True)[1:] for block in blocks for line in block.splitlines()
                if line.startswith("hrm-mazes ")]  # fmt: skip
    watched = {argv[argv.index("--pretrained") + 1] for argv in commands if argv[0] == "watch" and "--pretrained" in argv}
    assert watched == {entry["env_id"] for entry in list_pretrained()}  # every env that ships an agent
    assert any(argv[0] == "watch" and "--save" in argv for argv in commands)  # for a machine without a display
    for argv in commands:
        if argv[0] != "bench-env":  # its options belong to hrm_mazes.throughput
            build_parser().parse_args(argv)


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


def test_cli_docs_list_and_document_every_subcommand():
    """docs/cli.md's command table names each subcommand once, and each has its own section."""
    text = (README.parent / "docs" / "cli.md").read_text()
    table = re.findall(r"^\| `([a-z-]+)` \|", text.split("\n## ", 1)[0], re.M)
    assert len(table) == len(set(table)) and set(table) == parser_commands()
    assert set(re.findall(r"^## ([a-z-]+)$", text, re.M)) == parser_commands()

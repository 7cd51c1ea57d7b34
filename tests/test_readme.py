"""The README's Python examples run as written, its two set-up commands stay at the top and install and test as
CI does, and its command table lists every ``hrm-mazes`` subcommand."""

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


def pip_install(argv: list[str]) -> tuple[list[str], list[str]]:
    """The requirements and the ``-e`` targets of one ``pip install`` command line."""
    assert argv[:2] == ["pip", "install"], argv
    requirements, editable, words = [], [], iter(argv[2:])
    for word in words:
        if word == "-e":
            editable.append(next(words))
        elif not word.startswith("-"):
            requirements.append(word)
    return requirements, editable


def readme_set_up() -> list[tuple[list[str], list[str]]]:
    """The two command lines at the top of README, each split at ``&&`` into argument lists: an install, then
    what to run."""
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), re.S).group(1)
    lines = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 2, lines
    parts = [[shlex.split(part) for part in line.split(" && ")] for line in lines]
    return [(install, run) for install, *run in parts]


def ci_script() -> tuple[list[str], list[str], list[list[str]]]:
    """What ``.ci/run`` installs (requirements, ``-e`` targets, over all its ``pip install`` lines) and the pytest
    commands it runs, in order."""
    requirements, editable, tests = [], [], []
    for line in (README.parent / ".ci" / "run").read_text().splitlines():
        argv = shlex.split(line, comments=True)
        if argv[:2] == ["pip", "install"]:
            more, targets = pip_install(argv)
            requirements += more
            editable += targets
        elif argv[:3] == ["python", "-m", "pytest"]:
            tests.append(argv)
    return requirements, editable, tests


def torch_pin(requirements: list[str]) -> str:
    from packaging.requirements import Requirement

    (pin,) = [r for r in requirements if Requirement(r).name == "torch"]
    return pin


def test_readme_set_up_installs_what_ci_installs_and_runs_its_tests():
    """README's first two lines install what CI installs (the same torch pin, extras setup.cfg defines) and then
    run the demo and CI's test command."""
    import configparser

    from packaging.requirements import Requirement

    from agents.cli import build_parser

    setup = configparser.ConfigParser(interpolation=None)
    setup.read(README.parent / "setup.cfg")
    extras = setup["options.extras_require"]
    ci_requirements, ci_editable, ci_tests = ci_script()
    ci_pin = torch_pin(ci_requirements)
    (demo, demo_run), (test, test_run) = readme_set_up()
    for install in (demo, test):
        requirements, editable = pip_install(install)
        assert torch_pin(requirements) == ci_pin and editable == ci_editable
        for target in editable:
            assert target.startswith(".") and set(Requirement(f"hrm-mazes{target[1:]}").extras) <= set(extras), target
    (agents_torch,) = [r for r in extras["agents"].split() if Requirement(r).name == "torch"]
    (pinned,) = Requirement(ci_pin).specifier
    assert pinned.operator == "==" and Requirement(agents_torch).specifier.contains(pinned.version)  # a pin it accepts
    assert set(re.findall(r"torch==[^\s`\"]+", README.read_text())) == {ci_pin}  # the prose names the same pin
    (demo_argv,) = demo_run
    assert demo_argv[:2] == ["hrm-mazes", "demo"]
    build_parser().parse_args(demo_argv[1:])
    assert test_run == ci_tests


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

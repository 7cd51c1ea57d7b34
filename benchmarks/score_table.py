"""The score table: every agent's greedy success rate on the held-out test episodes, per env and budget tier,
computed from the committed raw results under ``results/`` and nothing else.

It writes the table at the top of docs/results.md (between ``<!-- score-table:start -->`` and
``<!-- score-table:end -->``) and a short form, one line per agent at its largest measured budget, into README.md's
"Results and status" (between ``<!-- score-summary:start -->`` and ``<!-- score-summary:end -->``)::

    python benchmarks/score_table.py            # rewrite both blocks in place
    python benchmarks/score_table.py --check    # exit 1 if either file's block differs from what the results give

Which results fill which row is :data:`SOURCES`, one line per (row, results folder or glob, suite label, section of
docs/results.md); adding a result to the table is adding a line there. A cell's statistic over training seeds comes
from the shared functions: IQM and its stratified-bootstrap interval (:mod:`agents.harness.aggregate`) for three
seeds or more, otherwise :func:`agents.harness.aggregate.across_seeds` (Student-t over two seeds; one seed keeps the
Wilson interval of its own test episodes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from agents.harness.aggregate import across_seeds, iqm, iqm_interval
from agents.harness.evaluation import EVAL_SEED_OFFSET
from agents.harness.rundir import read_eval_rows
from hrm_mazes import ENV_IDS

ROOT = Path(__file__).resolve().parents[1]
TABLE_MARK = "score-table"  # the block in docs/results.md
SUMMARY_MARK = "score-summary"  # the block in README.md
COMMAND = "python benchmarks/score_table.py"
EPISODES = 1000  # a cell counts only evaluations on this many held-out test episodes
# Budget tiers: upper bounds on the environment steps of training of every seed of a cell. They fit what was run:
# the suites at 128k and 320k env steps (PPO ends its last rollout a little later) and the presets' own budgets
# (438k-864k). A result above the last bound gets a tier of its own ("> 1M").
TIERS = (150_000, 350_000, 1_000_000)

REFERENCES = "Reference players (1,000 held-out episodes)"
PARTIAL_REFERENCES = "The partially observed variants: what memory is worth"
DQN_CNN = "The `dqn-cnn` cpu preset: double DQN with a small CNN"
DQN_CNN_MAZE = "RandomDoorMaze-v0: the maze entry of the preset"
HRM = "The `hrm-dqn` cpu preset"
HRM_LIN = "FourRooms: the last model of three seeds with a decaying learning rate (the preset since 2026-12-03)"
RCONV_MAZE = "RandomDoorMaze-v0: the planning baseline `dqn-rconv`"
HRM_MAZE = "The `hrm-dqn` cpu preset on RandomDoorMaze-v0"
HRM_MAZE_LOCAL = "RandomDoorMaze-v0: the HRM with local attention and the grid carry (the maze preset since 2026-12-03)"
CARRY = "FourRooms-Dynamic-v0, the last-token preset (`carry-cpu`)"
CARRY_MAZE_LOCAL = "RandomDoorMaze-v0, the maze preset (`carry-cpu-maze-local`)"
CARRY_V2 = "The first comparison: the earlier preset at 3,938 updates (`carry-cpu-v2`)"


@dataclass(frozen=True)
class Source:
    """One line of the table's provenance.

    :param row: the table row (an agent; rows come in the order of their first source).
    :param path: a glob relative to ``results/``: benchmark suite folders (``results.json``), run folders
        (``run.yaml`` and ``evaluation_1000*.json``), or reference-player files (``ref-*.json``). Run folders that
        match together are the seeds of one cell per env.
    :param section: the heading of docs/results.md the cell links to (its command, machine and date).
    :param label: for a suite, the label of its runs to take; default: the row.
    """

    row: str
    path: str
    section: str
    label: str | None = None


# The current presets only: earlier ones (`-v1`, `-v2`, the 2+2-block and 2-segment HRMs, the demo's 300-episode
# probes) are in the sections of docs/results.md. Where two sources fill one cell, the first listed is shown.
SOURCES: tuple[Source, ...] = (
    Source("random walk", "references/ref-random-*.json", REFERENCES),
    Source("BFS oracle", "references/ref-oracle-*.json", REFERENCES),
    Source("memory oracle (sees the view)", "references/ref-memory-oracle-*.json", PARTIAL_REFERENCES),
    Source("memoryless oracle (sees the view)", "references/ref-memoryless-oracle-*.json", PARTIAL_REFERENCES),
    Source("dqn-cnn", "dqn-cnn-cpu/FourRooms-Dynamic-v0/seed0", DQN_CNN),
    Source("dqn-cnn", "dqn-cnn-cpu/RandomDoorMaze-v0/seed0", DQN_CNN_MAZE),
    Source("dqn-cnn", "carry-cpu-baselines", CARRY),
    Source("dqn-cnn", "carry-cpu-baselines-v2", CARRY_V2),
    Source("dqn-rconv", "dqn-rconv-cpu/RandomDoorMaze-v0/seed?", RCONV_MAZE),
    Source("dqn-rconv", "dqn-rconv-cpu/FourRooms-Dynamic-v0/seed?", RCONV_MAZE),
    Source("ppo", "carry-cpu-ppo", CARRY),
    Source("ppo", "carry-cpu-baselines-v2", CARRY_V2),
    Source("recurrent-ppo", "carry-cpu-recurrent-ppo", CARRY),
    Source("recurrent-ppo", "carry-cpu-baselines-v2", CARRY_V2),
    Source("hrm-dqn carry", "hrm-dqn-cpu-stability/seed?-lr-lin", HRM_LIN),
    Source("hrm-dqn carry", "hrm-dqn-maze-probes/local-grid-s?", HRM_MAZE_LOCAL),
    Source("hrm-dqn carry", "carry-cpu", CARRY, label="hrm-dqn-carry"),
    Source("hrm-dqn carry", "carry-cpu-maze-local", CARRY_MAZE_LOCAL, label="hrm-dqn-carry"),
    Source("hrm-dqn reset", "carry-cpu", CARRY, label="hrm-dqn-reset"),
    Source("hrm-dqn reset", "carry-cpu-maze-local", CARRY_MAZE_LOCAL, label="hrm-dqn-reset"),
)


@dataclass(frozen=True)
class Score:
    """One training seed's (or a reference player's) final test evaluation, with the budget that produced it."""

    env_id: str
    success_rate: float
    success_ci: tuple[float, float]
    env_steps: int = 0  # 0: no training (reference players)
    wall_time_s: float = 0.0  # training wall-clock up to the evaluated model, periodic evaluations included
    seed: int | None = None
    algo: str | None = None


@dataclass(frozen=True)
class Cell:
    """One table cell: the scores of one source on one env, and their estimate over training seeds."""

    row: str
    env_id: str
    tier: int | None  # index into tier_names(); None: every tier (a reference player)
    value: float
    ci: tuple[float, float]
    n_seeds: int
    wall_time_s: float
    section: str
    source: str
    algo: str | None


# --- reading committed results ---------------------------------------------------------------------------------


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


def checked_summary(evaluation: dict, path: Path) -> dict:
    """The summary of an evaluation file (``summary`` inside, or the file itself), checked to be a test evaluation
    on :data:`EPISODES` episodes."""
    summary = evaluation.get("summary", evaluation)
    offset = evaluation.get("seed_offset", EVAL_SEED_OFFSET)
    if summary.get("episodes") != EPISODES or offset != EVAL_SEED_OFFSET:
        raise ValueError(f"{path}: not {EPISODES} test episodes from seed {EVAL_SEED_OFFSET:,}")
    return summary


def reference_scores(path: Path) -> list[Score]:
    """A reference player's file (``results/references/ref-<player>-<env>.json``)."""
    evaluation = load_json(path)
    summary = checked_summary(evaluation, path)
    return [Score(evaluation["env_id"], summary["success_rate"], tuple(summary["success_ci"]))]


def suite_scores(folder: Path, label: str) -> list[Score]:
    """The runs of one label of a benchmark suite (its ``results.json``)."""
    report = load_json(folder / "results.json")
    if report["suite"]["final_episodes"] != EPISODES:
        raise ValueError(f"{folder}: final evaluations on {report['suite']['final_episodes']} episodes, not {EPISODES}")
    return [
        Score(r["env_id"], r["success_rate"], tuple(r["success_ci"]), int(r["env_steps"]), float(r["train_wall_time_s"]), r["seed"], r["algo"])
        for r in report["runs"]
        if r["label"] == label and r["episodes"] == EPISODES
    ]  # fmt: skip


def budget_records(run: Path) -> list[tuple[int, float]]:
    """Every (env steps, training wall-clock in s) the run recorded: checkpoints, best model, periodic evaluations,
    training log."""
    records = []
    for path in [*run.glob("checkpoint_*.json"), run / "best_model.json"]:
        if path.is_file():
            state = load_json(path)
            records.append((int(state["env_steps"]), float(state["wall_time_s"])))
    for row in read_eval_rows(run / "evaluations.csv"):
        records.append((int(row["env_steps"]), row["wall_time_s"]))
    for row in read_eval_rows(run / "progress.csv"):
        steps, seconds = row.get("charts/env_steps", math.nan), row.get("charts/time_elapsed", math.nan)
        if not (math.isnan(steps) or math.isnan(seconds)):
            records.append((int(steps), seconds))
    if not records:
        raise ValueError(f"{run}: no record of its training budget")
    return records


def last_model_evaluation(run: Path, records: list[tuple[int, float]]) -> tuple[Path, int] | None:
    """The 1,000-episode evaluation of the run's last model and that model's env steps, or None.

    The last model is the final ``model.zip`` (``evaluation_1000.json`` / ``evaluation_1000_last.json``) or else
    the latest evaluated checkpoint (``evaluation_1000_step<N>.json``); the best validated model
    (``evaluation_1000_best.json``) counts only where it is the final model (saved at the run's last step).
    """
    final_steps = max(steps for steps, _ in records)
    for name in (f"evaluation_{EPISODES}.json", f"evaluation_{EPISODES}_last.json"):
        if (run / name).is_file():
            return run / name, final_steps
    checkpoints = [
        (int(m.group(1)), p)
        for p in run.glob(f"evaluation_{EPISODES}_step*.json")
        if (m := re.search(r"_step(\d+)\.json$", p.name))
    ]
    if checkpoints:
        steps, path = max(checkpoints)
        return path, steps
    best = run / f"evaluation_{EPISODES}_best.json"
    if best.is_file() and int(load_json(run / "best_model.json")["env_steps"]) == final_steps:
        return best, final_steps
    return None


def run_score(run: Path) -> Score | None:
    """One run folder's last-model test score; None where its last model was not evaluated on the test episodes."""
    meta = yaml.safe_load((run / "run.yaml").read_text())
    records = budget_records(run)
    found = last_model_evaluation(run, records)
    if found is None:
        return None
    path, steps = found
    summary = checked_summary(load_json(path), path)
    # the training clock at the model: the latest record at or before its step
    wall = max((r for r in records if r[0] <= steps), default=min(records))[1]
    return Score(
        meta["env_id"], summary["success_rate"], tuple(summary["success_ci"]), steps, wall, meta["seed"], meta["algo"]
    )


def source_scores(results: Path, source: Source) -> list[Score]:
    scores: list[Score] = []
    for path in sorted(results.glob(source.path)):
        if path.is_file() and path.suffix == ".json":
            scores += reference_scores(path)
        elif (path / "results.json").is_file():
            scores += suite_scores(path, source.label or source.row)
        elif (path / "run.yaml").is_file():
            score = run_score(path)
            scores += [score] if score else []
    return scores


# --- the cells -------------------------------------------------------------------------------------------------


def tier_of(env_steps: int) -> int:
    """Index of the smallest tier whose bound holds ``env_steps``; ``len(TIERS)`` above the last."""
    return next((i for i, bound in enumerate(TIERS) if env_steps <= bound), len(TIERS))


def steps_text(steps: int) -> str:
    return f"{steps // 1_000_000}M" if steps % 1_000_000 == 0 else f"{steps // 1000}k"


def tier_names() -> list[str]:
    return [f"≤ {steps_text(b)}" for b in TIERS] + [f"> {steps_text(TIERS[-1])}"]


def estimate(scores: Sequence[Score]) -> tuple[float, tuple[float, float]]:
    """IQM with its stratified-bootstrap 95% CI for >= 3 seeds; else the mean with its Student-t CI (2 seeds) or
    the one seed's within-run (Wilson) interval."""
    rates = [s.success_rate for s in scores]
    if len(rates) >= 3:
        lo, hi = iqm_interval(rates)
        return iqm(rates), (lo, hi)
    summaries = [{"success_rate": s.success_rate, "success_ci": list(s.success_ci)} for s in scores]
    stats = across_seeds(summaries)["success_rate"]
    return stats["mean"], tuple(stats["ci"])


def collect(results: Path, sources: Sequence[Source] | None = None, warn=print) -> list[Cell]:
    """The cells the sources (default :data:`SOURCES`) fill, one per (row, env, tier); where two sources fill one,
    the first listed."""
    sources = SOURCES if sources is None else sources
    cells: dict[tuple[str, str, int | None], Cell] = {}
    for source in sources:
        by_env: dict[str, list[Score]] = {}
        for score in source_scores(results, source):
            by_env.setdefault(score.env_id, []).append(score)
        for env_id, scores in by_env.items():
            seeds = [s.seed for s in scores if s.seed is not None]
            if len(seeds) != len(set(seeds)):
                raise ValueError(f"{source.path} ({source.row}, {env_id}): training seed repeated: {sorted(seeds)}")
            trained = bool(seeds)
            tier = tier_of(max(s.env_steps for s in scores)) if trained else None
            value, ci = estimate(scores)
            key = (source.row, env_id, tier)
            if key in cells:
                warn(f"note: {source.path} ({source.row}, {env_id}) is not shown: {cells[key].source} fills that cell")
                continue
            cells[key] = Cell(source.row, env_id, tier, value, ci, len(seeds), max(s.wall_time_s for s in scores),
                              source.section, source.path, scores[0].algo)  # fmt: skip
    return list(cells.values())


def recorded_algos(results: Path) -> set[str]:
    """The algorithms of every committed run (run folders and suite reports)."""
    algos = {yaml.safe_load(p.read_text()).get("algo") for p in results.glob("**/run.yaml")}
    for report in results.glob("**/results.json"):
        runs = load_json(report).get("runs", [])
        algos |= {r.get("algo") for r in runs if isinstance(r, dict)} if isinstance(runs, list) else set()
    return {a for a in algos if a}


# --- Markdown --------------------------------------------------------------------------------------------------


def heading_slug(title: str) -> str:
    """The anchor of a heading, where MkDocs (Python-Markdown's toc) and GitHub agree; ValueError where they do not."""
    text = title.replace("`", "")
    mkdocs = re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower())
    github = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    if mkdocs != github:
        raise ValueError(f"heading {title!r} has the anchor #{mkdocs} on MkDocs and #{github} on GitHub: link another")
    return mkdocs


def headings(markdown: str) -> list[str]:
    """The titles of the headings of a Markdown text, outside code fences."""
    titles, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6} (.+)", line)):
            titles.append(m.group(1).strip())
    return titles


def anchor(section: str, docs_text: str) -> str:
    """``#slug`` of a section of docs/results.md; ValueError unless exactly one heading has that title."""
    count = headings(docs_text).count(section)
    if count != 1:
        raise ValueError(f"docs/results.md has {count} headings {section!r}: a cell must link exactly one")
    return "#" + heading_slug(section)


def pct(value: float, ci: Sequence[float]) -> str:
    return f"{100 * value:.1f} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def cell_text(cell: Cell, link: str) -> str:
    if cell.tier is None:
        return pct(cell.value, cell.ci)  # a reference player: its row label links the section
    seeds = "1 seed" if cell.n_seeds == 1 else f"{cell.n_seeds} seeds"
    return f"{pct(cell.value, cell.ci)}<br>{seeds}, [{cell.wall_time_s / 60:.0f} min]({link})"


def layout(cells: Sequence[Cell]) -> tuple[list[str], list[tuple[str, int | None]]]:
    """Rows in source order, and the (env, tier) columns that hold a trained result; an env with reference players
    only gets one column of tier None (its references, no trained agent yet)."""
    rows = list(dict.fromkeys(c.row for c in cells))
    envs = [e for e in ENV_IDS if any(c.env_id == e for c in cells)]
    envs += sorted({c.env_id for c in cells} - set(envs))
    used = {(c.env_id, c.tier) for c in cells if c.tier is not None}
    columns: list[tuple[str, int | None]] = []
    for env_id in envs:
        columns += [(env_id, t) for t in range(len(TIERS) + 1) if (env_id, t) in used] or [(env_id, None)]
    return rows, columns


def find(cells: Sequence[Cell], row: str, env_id: str, tier: int | None) -> Cell | None:
    """The cell at (row, env, tier); a reference player's cell fills every tier."""
    return next((c for c in cells if c.row == row and c.env_id == env_id and c.tier in (tier, None)), None)


def row_label(cells: Sequence[Cell], row: str, docs_text: str, docs_link: str = "") -> str:
    """The row's name; a reference player's (untrained, the same in every tier) links its section."""
    ref = next((c for c in cells if c.row == row and c.tier is None), None)
    return f"[{row}]({docs_link}{anchor(ref.section, docs_text)}) (no training)" if ref else row


def column_budget(names: Sequence[str], tier: int | None) -> str:
    """A column's budget in the table's header; tier None: an env with reference players only."""
    return "no trained agent yet" if tier is None else f"{names[tier]} env steps"


def table_markdown(cells: Sequence[Cell], docs_text: str, unmeasured: Sequence[str] = ()) -> str:
    """The block written into docs/results.md: the rule, the table, the command that regenerates it."""
    rows, columns = layout(cells)
    names = tier_names()
    lines = [
        f"**Score table.** Greedy success rate (%) on the {EPISODES:,} held-out test episodes (seeds "
        f"{EVAL_SEED_OFFSET:,}+) per env and budget tier, computed from the committed raw results only.",
        "",
        "- Tiers count the environment steps of training: the budget every run records exactly and every agent "
        "spends alike (wall-clock depends on what shared the machine; a PPO optimizer step is not a DQN's). A "
        "result sits in the smallest tier that holds all its seeds.",
        "- A cell: the interquartile mean over training seeds with its 95% stratified-bootstrap CI (rliable) for 3 "
        "seeds or more, the mean with its Student-t CI for 2, one seed's Wilson interval over its episodes; the "
        "number of seeds; and, linked to the section with the command, machine and date, the training wall-clock "
        "of the slowest seed on one CPU core (periodic evaluations included).",
        "- A run evaluated with both its last model and its best validated model (`best_model.zip`) counts with "
        "its last model. Current presets only (earlier ones are in the sections below); – : not measured.",
        "",
        "| agent | " + " | ".join(f"{env_id}<br>{column_budget(names, t)}" for env_id, t in columns) + " |",
        "| --- | " + " | ".join("---" for _ in columns) + " |",
    ]
    for row in rows:
        texts = []
        for env_id, tier in columns:
            cell = find(cells, row, env_id, tier)
            texts.append(cell_text(cell, anchor(cell.section, docs_text)) if cell else "–")
        lines.append(f"| {row_label(cells, row, docs_text)} | " + " | ".join(texts) + " |")
    lines.append("")
    if unmeasured:
        lines.append(f"No committed result yet: {', '.join(unmeasured)}.")
    lines.append(f"Regenerate with `{COMMAND}` (reads only `results/`; `--check` fails when this table is stale).")
    return "\n".join(lines)


def summary_markdown(cells: Sequence[Cell], docs_text: str, docs_link: str) -> str:
    """The block written into README.md: one line per agent, each env at its largest measured budget."""
    rows, columns = layout(cells)
    envs = list(dict.fromkeys(e for e, _ in columns))
    names = tier_names()
    lines = [
        f"Greedy success (%) on {EPISODES:,} held-out test episodes, each agent at the largest budget it was "
        f"measured at (IQM over training seeds with its 95% CI for 3 seeds or more; the whole table by budget, "
        f"the rules and the sections: [docs/results.md]({docs_link})):",
        "",
        "| agent | " + " | ".join(envs) + " |",
        "| --- | " + " | ".join("---" for _ in envs) + " |",
    ]
    for row in rows:
        texts = []
        for env_id in envs:
            tiers = [t for e, t in columns if e == env_id]
            cell = next((c for t in reversed(tiers) if (c := find(cells, row, env_id, t))), None)
            if cell is None:
                texts.append("–")
                continue
            link = docs_link + anchor(cell.section, docs_text)
            if cell.tier is None:
                texts.append(pct(cell.value, cell.ci))
            else:
                seeds = "1 seed" if cell.n_seeds == 1 else f"{cell.n_seeds} seeds"
                budget = f"{names[cell.tier]} env steps, {cell.wall_time_s / 60:.0f} min"
                texts.append(f"{pct(cell.value, cell.ci)}, {seeds}, [{budget}]({link})")
        lines.append(f"| {row_label(cells, row, docs_text, docs_link)} | " + " | ".join(texts) + " |")
    return "\n".join(lines)


def replace_block(text: str, mark: str, block: str, where: str) -> str:
    """``text`` with what lies between ``<!-- mark:start -->`` and ``<!-- mark:end -->`` replaced by ``block``."""
    start, end = f"<!-- {mark}:start -->", f"<!-- {mark}:end -->"
    if text.count(start) != 1 or text.count(end) != 1:
        raise ValueError(f"{where}: needs one line {start} and one line {end} around the generated block")
    head, rest = text.split(start)
    tail = rest.split(end)[1]
    return f"{head}{start}\n\n{block}\n\n{end}{tail}"  # blank lines: Markdown, not HTML


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, default=ROOT / "results", help="the committed raw results")
    parser.add_argument(
        "--docs", type=Path, default=ROOT / "docs" / "results.md", help="file with the score-table block"
    )
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md", help="file with the score-summary block")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a block differs from the results"
    )
    args = parser.parse_args(argv)

    cells = collect(args.results, warn=lambda message: print(message, file=sys.stderr))
    from agents.harness.algos import ALGO_NAMES

    shown = {c.algo for c in cells}
    unmeasured = [a for a in ALGO_NAMES if a not in shown]
    for algo in sorted(recorded_algos(args.results) - shown):
        print(f"note: {args.results} holds runs of {algo} that no line of SOURCES shows", file=sys.stderr)

    docs_text, readme_text = args.docs.read_text(), args.readme.read_text()
    table = table_markdown(cells, docs_text, unmeasured)
    docs_link = Path(os.path.relpath(args.docs, args.readme.parent)).as_posix()
    summary = summary_markdown(cells, docs_text, docs_link)
    updated = {
        args.docs: (docs_text, replace_block(docs_text, TABLE_MARK, table, str(args.docs))),
        args.readme: (readme_text, replace_block(readme_text, SUMMARY_MARK, summary, str(args.readme))),
    }
    if args.check:
        stale = [str(path) for path, (old, new) in updated.items() if old != new]
        for path in stale:
            print(f"{path}: the score table differs from {args.results}; run `{COMMAND}`", file=sys.stderr)
        if not stale:
            print(f"{', '.join(map(str, updated))}: up to date with {args.results}")
        return 1 if stale else 0
    for path, (old, new) in updated.items():
        if new != old:
            path.write_text(new)
    print(table)
    print(f"\nwrote the score table to {args.docs} and its summary to {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

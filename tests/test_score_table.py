"""``benchmarks/score_table.py``: the score table of docs/results.md and README.md, computed from committed results
only, with the shared statistics (IQM and its bootstrap CI for >= 3 seeds, one seed's Wilson interval)."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

from agents.harness.aggregate import iqm, iqm_interval

ROOT = Path(__file__).resolve().parents[1]
FR = "FourRooms-Dynamic-v0"
SUITE_SCORES = [0.5, 0.7, 0.9]
DOCS = """# Results

<!-- score-table:start -->
<!-- score-table:end -->

## Reference players (1,000 held-out episodes)

## Suite A

## Run `b` on FourRooms
"""
README = "# x\n\n## Results and status\n\n<!-- score-summary:start -->\n<!-- score-summary:end -->\n"


@pytest.fixture(scope="module")
def score_table():
    spec = importlib.util.spec_from_file_location("score_table", ROOT / "benchmarks" / "score_table.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["score_table"] = module
    spec.loader.exec_module(module)
    return module


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def summary(rate: float, ci: list[float]) -> dict:
    return {"episodes": 1000, "success_rate": rate, "success_ci": ci}


def write_run(run: Path, evaluations: dict[str, float], best_steps: int, final_steps: int = 864_000) -> None:
    """A single training run: run.yaml, its periodic evaluations every 32k env steps, best_model.json, and the
    1,000-episode evaluations named in ``evaluations`` (file suffix -> success rate)."""
    run.mkdir(parents=True)
    (run / "run.yaml").write_text(yaml.safe_dump({"algo": "hrm-dqn", "env_id": FR, "seed": 0, "steps": final_steps}))
    with (run / "evaluations.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["env_steps", "optimizer_steps", "wall_time_s", "episodes", "success_rate"])
        for steps in range(32_000, final_steps + 1, 32_000):
            writer.writerow([steps, steps // 32, steps / 250, 200, 0.5])
    write_json(
        run / "best_model.json",
        {"env_steps": best_steps, "optimizer_steps": best_steps // 32, "wall_time_s": best_steps / 250},
    )
    for suffix, rate in evaluations.items():
        write_json(
            run / f"evaluation_1000{suffix}.json",
            {"env_id": FR, "seed_offset": 1_000_000, "summary": summary(rate, [rate - 0.02, rate + 0.02])},
        )


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """One suite with 3 seeds of one label, a single run (last checkpoint and best model evaluated), references."""
    root = tmp_path / "results"
    for player, rate in (("random", 0.224), ("oracle", 1.0)):
        ref = {
            "env_id": FR,
            "episodes": 1000,
            "seed_offset": 1_000_000,
            "summary": summary(rate, [rate - 0.03, min(1.0, rate + 0.03)]),
        }
        write_json(root / "references" / f"ref-{player}-{FR}.json", ref)
    runs = [{"label": "agent-a", "algo": "dqn-cnn", "env_id": FR, "seed": seed, "env_steps": 320_000, "episodes": 1000,
             "train_wall_time_s": 600.0 + 60 * seed, "success_rate": rate, "success_ci": [rate - 0.03, rate + 0.03]}
            for seed, rate in enumerate(SUITE_SCORES)]  # fmt: skip
    write_json(root / "suite" / "results.json", {"suite": {"final_episodes": 1000}, "runs": runs})
    write_run(root / "single" / FR / "seed0", {"_step864000": 0.80, "_best": 0.95}, best_steps=832_000)
    return root


@pytest.fixture
def sources(score_table):
    reference = "Reference players (1,000 held-out episodes)"
    return (
        score_table.Source("random walk", "references/ref-random-*.json", reference),
        score_table.Source("BFS oracle", "references/ref-oracle-*.json", reference),
        score_table.Source("agent a", "suite", "Suite A", label="agent-a"),
        score_table.Source("agent b", "single/*/seed0", "Run `b` on FourRooms"),
    )


def test_cells_use_the_shared_statistics_and_the_last_model(score_table, results, sources):
    cells = {c.row: c for c in score_table.collect(results, sources)}
    suite = cells["agent a"]
    assert suite.value == pytest.approx(iqm(SUITE_SCORES))
    assert list(suite.ci) == pytest.approx(iqm_interval(SUITE_SCORES))
    assert (suite.n_seeds, suite.tier, suite.wall_time_s) == (3, score_table.tier_of(320_000), 720.0)
    single = cells["agent b"]  # the last checkpoint (80%), not the better best validated model (95%)
    assert (single.value, list(single.ci), single.n_seeds) == (0.80, pytest.approx([0.78, 0.82]), 1)
    assert (single.tier, single.wall_time_s) == (score_table.tier_of(864_000), 864_000 / 250)
    assert cells["random walk"].tier is None and cells["random walk"].value == 0.224


def test_the_best_model_counts_only_where_it_is_the_final_model(score_table, tmp_path, sources):
    write_run(tmp_path / "final" / FR / "seed0", {"_best": 0.95}, best_steps=864_000)
    write_run(tmp_path / "earlier" / FR / "seed0", {"_best": 0.95}, best_steps=832_000)
    assert score_table.run_score(tmp_path / "final" / FR / "seed0").success_rate == 0.95
    assert score_table.run_score(tmp_path / "earlier" / FR / "seed0") is None


def table_cells(markdown: str) -> dict[str, list[str]]:
    """The score table's rows: agent name (link text) -> cells."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith(("| agent |", "| --- |")):
            name, *cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[name.split("]")[0].lstrip("[")] = cells
    return rows


def test_table_rows_tiers_and_missing_cells(score_table, results, sources):
    cells = score_table.collect(results, sources)
    markdown = score_table.table_markdown(cells, DOCS)
    header = next(line for line in markdown.splitlines() if line.startswith("| agent"))
    assert header.count(FR) == 2  # the two tiers holding a trained result, and no empty tier
    rows = table_cells(markdown)
    lo, hi = iqm_interval(SUITE_SCORES)
    assert rows["agent a"] == [
        f"{100 * iqm(SUITE_SCORES):.1f} [{100 * lo:.1f}, {100 * hi:.1f}]<br>3 seeds, [12 min](#suite-a)",
        "–",
    ]
    assert rows["agent b"] == ["–", "80.0 [78.0, 82.0]<br>1 seed, [58 min](#run-b-on-fourrooms)"]
    assert rows["random walk"] == ["22.4 [19.4, 25.4]"] * 2  # untrained: the same in every tier


def test_an_env_with_reference_players_only_gets_one_column(score_table, results, sources):
    """The partially observed variants have their oracles before any trained agent: one column, filled only by the
    reference players, in the table and the README summary."""
    partial = "FourRooms-Dynamic-Partial-v0"
    write_json(results / "references" / f"ref-memory-oracle-{partial}.json",
               {"env_id": partial, "episodes": 1000, "seed_offset": 1_000_000, "summary": summary(0.9, [0.88, 0.92])})  # fmt: skip
    memory = score_table.Source("memory oracle", "references/ref-memory-oracle-*.json", "Reference players (1,000 held-out episodes)")
    cells = score_table.collect(results, (*sources, memory))
    markdown = score_table.table_markdown(cells, DOCS)
    header = next(line for line in markdown.splitlines() if line.startswith("| agent"))
    assert header.count(FR) == 2 and header.count(partial) == 1 and f"{partial}<br>no trained agent yet" in header
    rows = table_cells(markdown)
    assert rows["memory oracle"] == ["–", "–", "90.0 [88.0, 92.0]"]
    assert rows["agent a"][-1] == "–" and rows["random walk"][-1] == "–"
    summary_rows = table_cells(score_table.summary_markdown(cells, DOCS, "docs/results.md"))
    assert summary_rows["memory oracle"] == ["–", "90.0 [88.0, 92.0]"]


def test_write_then_check(score_table, results, sources, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(score_table, "SOURCES", sources)
    docs, readme = tmp_path / "results.md", tmp_path / "README.md"
    docs.write_text(DOCS)
    readme.write_text(README)
    argv = ["--results", str(results), "--docs", str(docs), "--readme", str(readme)]
    assert score_table.main([*argv, "--check"]) == 1  # the blocks are empty
    assert score_table.main(argv) == 0
    assert "| agent b | – | 80.0 [78.0, 82.0]" in docs.read_text()
    assert (
        "| agent b | 80.0 [78.0, 82.0], 1 seed, [≤ 1M env steps, 58 min](results.md#run-b-on-fourrooms) |"
        in readme.read_text()
    )
    assert score_table.main([*argv, "--check"]) == 0
    write_json(results / "single" / FR / "seed0" / "evaluation_1000_step864000.json",
               {"env_id": FR, "seed_offset": 1_000_000, "summary": summary(0.81, [0.79, 0.83])})  # fmt: skip
    assert score_table.main([*argv, "--check"]) == 1
    assert "differs" in capsys.readouterr().err


def test_a_cell_must_link_one_heading(score_table, results, sources):
    cells = score_table.collect(
        results, (*sources[:2], score_table.Source("agent c", "suite", "No such section", label="agent-a"))
    )
    with pytest.raises(ValueError, match="No such section"):
        score_table.table_markdown(cells, DOCS)


def test_committed_docs_match_committed_results(score_table):
    assert score_table.main(["--check"]) == 0

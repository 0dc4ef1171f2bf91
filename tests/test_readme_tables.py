"""benchmarks/readme_tables.py: the README's headline tables are the published pages' numbers."""

from __future__ import annotations

import json

import pytest

from benchmarks import readme_tables


def _page(results: dict) -> dict:
    return {"corpus": "toy", "windows_per_origin": {"2023-04": 4, "2023-10": 3}, "projects": {"train": 9, "eval": 5},
            "results": results}


def test_render_bolds_the_best_shown_value_and_marks_missing_ones():
    row = {"mase_mean": 0.5, "mase_median": 0.4, "trend_f1": 0.6, "level_f1": 0.7, "sql_mean": None}
    page = _page({"naive": {**row, "mase_mean": 0.9, "trend_f1": 0.8},
                  "tsfuse": {**row, "sql_mean": 0.31, "coverage_per_step": [0.8, 0.81, 0.79, 0.8, 0.8, 0.85]},
                  "seasonal_naive": {**row, "mase_mean": 0.1}})  # not a README row: cannot take the bold
    text = readme_tables.render(page, "toy-cross-project")
    assert text.startswith("toy, 7 windows of 5 unseen projects\n([`benchmarks/results/toy-cross-project.md`]")
    naive, tsfuse = [line for line in text.splitlines() if line.startswith("| naive") or line.startswith("| **tsfuse")]
    assert naive == "| naive | 0.900 | **0.400** | **0.800** | **0.700** | – | – |"
    assert tsfuse == "| **tsfuse** (global) | **0.500** | **0.400** | 0.600 | **0.700** | **0.310** | 0.80 0.81 0.79 0.80 0.80 0.85 |"
    assert "seasonal" not in text


def test_refresh_rewrites_blocks_and_refuses_a_block_without_its_page(tmp_path):
    (tmp_path / "toy-cross-project.json").write_text(json.dumps(_page({"naive": {"mase_mean": 1.0}})))
    readme = "intro\n<!-- table: toy-cross-project -->\nold numbers\n<!-- /table -->\noutro\n"
    text, changed = readme_tables.refreshed(readme, tmp_path)
    assert changed == ["toy-cross-project"] and "old numbers" not in text and "| naive | **1.000** |" in text
    assert text.startswith("intro\n<!-- table: toy-cross-project -->\ntoy, 7 windows") and text.endswith("<!-- /table -->\noutro\n")
    assert readme_tables.refreshed(text, tmp_path) == (text, [])
    with pytest.raises(SystemExit, match="no-such-page"):
        readme_tables.refreshed("<!-- table: no-such-page -->\n<!-- /table -->", tmp_path)


def test_the_readme_tables_are_the_committed_pages():
    text, changed = readme_tables.refreshed(readme_tables.README.read_text(encoding="utf-8"))
    assert "<!-- table: oss-activity-cross-project -->" in text
    assert changed == [], f"README.md tables differ from their pages {changed}: run `python benchmarks/readme_tables.py`"

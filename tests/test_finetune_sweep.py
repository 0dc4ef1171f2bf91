"""The fine-tuning sweep's project choice and summary (benchmarks/finetune_sweep.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks import finetune_sweep as sweep


def test_validation_sweep_reads_training_projects_only():
    split = {"train": [f"org/train{i}" for i in range(20)], "eval": ["org/eval0", "org/eval1"]}
    fit, swept = sweep.sweep_projects(split, "validation")
    assert set(fit) | set(swept) == set(split["train"])
    assert not set(fit) & set(swept)
    assert len(swept) == 4  # ceil(0.2 x 20)
    assert not (set(fit) | set(swept)) & set(split["eval"])
    assert sweep.sweep_projects(split, "eval") == (split["train"], split["eval"])


def test_summary_guards_with_each_variants_validation_loss():
    table = pd.DataFrame({"uid": ["a", "b"], "slice": ["full", "full"], "global": [1.0, 1.0],
                          "lr1e3": [0.5, 2.0], "lr1e3_pre": [1.0, 1.0], "lr1e3_best": [0.9, 1.1]})
    assert sweep.variant_names(table) == ["lr1e3"]
    (row,) = sweep.summary_rows(table)
    assert row["lr1e3"] == pytest.approx(1.25)
    assert row["lr1e3 guarded"] == pytest.approx(0.75)  # b's fine-tune did not beat the global model: kept


def test_unknown_variant_setting_is_refused_before_training(monkeypatch):
    monkeypatch.setattr(sweep, "load_named_corpus", lambda name: pytest.fail("read the corpus"))
    with pytest.raises(SystemExit, match="unknown setting.*'epochs'"):
        sweep.run("oss-activity", pd.Timestamp("2024-04-01"), variants={"bad": {"epochs": 3}})

"""The Optuna search (benchmarks/search.py): it never touches the evaluation projects, and a stopped
study continues from its journal."""

from __future__ import annotations

import optuna
import pytest

from benchmarks import search
from benchmarks.common import load_named_corpus, load_split


def test_the_search_projects_are_the_training_side_split_again():
    corpus = load_named_corpus("oss-activity")
    fit, val, desc = search.search_projects(corpus)
    split, _ = load_split(corpus)
    assert not set(fit) & set(val)
    assert set(fit) | set(val) == set(split["train"])  # the evaluation projects are on neither side
    assert desc["validation_projects"] == len(val) and desc["evaluation_projects_excluded"] == len(split["eval"])


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_quick_study_runs_continues_from_its_journal_and_is_summarised(tmp_path):
    journal = tmp_path / "s.journal"
    common = ["--quick", "--startup", "1", "--journal", str(journal)]
    assert search.main(["run", "--trials", "2", *common]) == 0
    assert search.main(["run", "--trials", "3", *common]) == 0  # one more, not three
    study = optuna.load_study(study_name="oss-activity", storage=search.storage_for("oss-activity", str(journal))[0])
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 3
    assert [t.params for t in finished if t.user_attrs.get("reference")] == [search.REFERENCE]  # queued once
    for t in finished:
        if t.state == optuna.trial.TrialState.COMPLETE:
            assert 0 < t.value < 10 and t.user_attrs["fit_projects"] == 12
    assert search.main(["summarize", "--journal", str(journal), "--out", str(tmp_path)]) == 0
    page = (tmp_path / "search-oss-activity.md").read_text()
    assert "3 finished" in page and page.count("\n| ") >= 4  # header + 3 trials

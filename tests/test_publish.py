"""benchmarks/publish.py: every published page from one clean commit, with the shipped corpus recipes."""

from __future__ import annotations

import json

import pytest

from benchmarks import publish
from tsfuse.config import corpus_recipe

COMMIT = "a" * 40


@pytest.fixture
def clean(monkeypatch):
    monkeypatch.setattr(publish, "git_state", lambda: {"commit": COMMIT, "dirty": False})
    calls = []
    monkeypatch.setattr(publish.subprocess, "call", lambda argv, cwd: calls.append(argv) or 0)
    return calls


def test_steps_train_with_the_shipped_recipes():
    by_name = {s.name: s for s in publish.steps()}
    assert {"oss-activity-cross-project", "opendigger-cross-project", "oss-activity-v2-cross-project"} <= set(by_name)
    for name, task in (("oss-activity-cross-project", "oss-activity"), ("opendigger-cross-project", "opendigger"),
                       ("oss-activity-v2-cross-project", "oss-activity")):
        args = list(by_name[name].args)
        assert json.loads(args[args.index("--tsfuse-model") + 1]) == corpus_recipe(task)["model"]
        assert json.loads(args[args.index("--tsfuse-train") + 1]) == corpus_recipe(task)["train"]
        assert "--finetune" in args


def test_refuses_a_dirty_checkout_and_an_out_inside_it(monkeypatch, tmp_path, clean):
    with pytest.raises(SystemExit, match="inside the checkout"):
        publish.run([], publish.REPO / "benchmarks" / "results")
    monkeypatch.setattr(publish, "git_state", lambda: {"commit": COMMIT, "dirty": True})
    with pytest.raises(SystemExit, match="uncommitted changes"):
        publish.run([], tmp_path)
    assert clean == []


def test_skips_pages_of_this_commit_and_refuses_other_commits(tmp_path, clean):
    (tmp_path / "opendigger-cross-project.json").write_text(json.dumps({"git": {"commit": COMMIT, "dirty": False}}))
    assert publish.run(["oss-activity-cross-project", "opendigger-cross-project"], tmp_path) == 0
    assert len(clean) == 1 and "oss-activity" in clean[0] and str(tmp_path) in clean[0]
    (tmp_path / "oss-activity-in-corpus.json").write_text(json.dumps({"git": {"commit": "b" * 40, "dirty": False}}))
    with pytest.raises(SystemExit, match="another commit"):
        publish.run([], tmp_path)
    with pytest.raises(SystemExit, match="unknown step"):
        publish.run(["no-such-page"], tmp_path)


def test_learning_curve_runs_write_beside_the_pages(tmp_path, clean):
    assert publish.run(["learning-curve-oss-activity-v2"], tmp_path) == 0
    run_argv, summarize_argv = clean
    assert run_argv[run_argv.index("--out") + 1] == str(tmp_path / "learning-curve")
    assert run_argv.index("--out") < run_argv.index("--")  # learning_curve.py's own option, not run.py's
    assert summarize_argv[summarize_argv.index("--pages") + 1] == str(tmp_path)

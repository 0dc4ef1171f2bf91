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


def _page(folder, name, commit=COMMIT, dirty=False):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"git": {"commit": commit, "dirty": dirty}}))
    (folder / f"{name}.md").write_text(f"# {name}\n")


def test_install_copies_a_finished_publication_and_refuses_an_unfinished_or_mixed_one(tmp_path, capsys):
    out, results, nav = tmp_path / "out", tmp_path / "results", tmp_path / "mkdocs.yml"
    names = [s.name for s in publish.steps()]
    for name in names[:-1]:
        _page(out, name)
    (out / ".oss-activity-transfer.partial").mkdir()  # a stopped step's units: never published
    (out / ".oss-activity-transfer.partial" / "2023-04-naive.json").write_text("{}")
    nav.write_text("".join(f"  - x: benchmarks/results/{n}.md\n" for n in names[1:]))
    with pytest.raises(SystemExit, match="not a folder"):
        publish.install(tmp_path / "no-such-folder", results, nav)
    with pytest.raises(SystemExit, match=names[-1]):
        publish.install(out, results, nav)
    assert not results.exists()
    _page(out, names[-1])
    _page(out / publish.LEARNING_CURVE, "oss-activity-v2-train3")
    (out / "oss-activity-cross-project-horizon.png").write_bytes(b"png")
    copied = publish.install(out, results, nav)
    assert {p.name for p in copied} == ({f"{n}.{e}" for n in names for e in ("json", "md")}
                                        | {"oss-activity-v2-train3.json", "oss-activity-v2-train3.md",
                                           "oss-activity-cross-project-horizon.png"})
    assert (results / publish.LEARNING_CURVE / "oss-activity-v2-train3.md").is_file()
    assert not any(p.name.startswith(".") for p in results.rglob("*"))
    assert f"{names[0]}.md is not in mkdocs.yml" in capsys.readouterr().out  # the nav lacks the first page
    _page(out, names[0], commit="b" * 40)
    with pytest.raises(SystemExit, match="2 commits"):
        publish.install(out, results, nav)
    _page(out, names[0], dirty=True)
    with pytest.raises(SystemExit, match="2 commits"):
        publish.install(out, results, nav)
    for name in names:
        _page(out, name, dirty=True)
    _page(out / publish.LEARNING_CURVE, "oss-activity-v2-train3", dirty=True)
    with pytest.raises(SystemExit, match="uncommitted changes"):
        publish.install(out, results, nav)

"""Corpus v2: the assembler's filters (datasets/corpus_v2/assemble.py) and the shipped corpus."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsfuse.data.corpus import EMBEDDED_ROOT, load_corpus

HERE = Path(__file__).resolve().parents[2] / "datasets" / "corpus_v2"
sys.path.insert(0, str(HERE))
assemble = pytest.importorskip("assemble")
RESERVED = HERE.parents[1].parent / "shared" / "data" / "reserved-projects.txt"


def _projects(rows):
    return pd.DataFrame(rows, columns=["repo", "unique_id", "part", "order", "span_months", "n_commits", "root_commit"])


def test_filters_and_the_fork_rule():
    p = _projects([
        ("a/keep", "a/keep", "x", 1, 30, 500, "r1"),
        ("a/fork", "a/fork", "x", 2, 40, 900, "r2 r1"),  # shares r1 with a/keep, more commits: wins
        ("a/chain", "a/chain", "x", 3, 40, 100, "r2"),  # linked to both through r2
        ("a/young", "a/young", "x", 4, 12, 900, "r3"),
        ("a/tiny", "a/tiny", "x", 5, 40, 49, "r4"),
        ("a/tie1", "a/tie1", "y", 6, 20, 80, "r5"),
        ("a/tie2", "a/tie2", "y", 7, 20, 80, "r5"),  # tie: the lower order wins
        ("Own/Reserved", "Own/Reserved", "y", 8, 99, 999, "r6"),
        ("a/short-fork", "a/short-fork", "y", 9, 10, 999, "r1"),  # fails a filter: not part of the fork groups
    ])
    sel, counts = assemble.select(p, {"own/reserved"})
    kept = set(sel.loc[sel["kept"], "unique_id"])
    assert kept == {"a/fork", "a/tie1"}
    why = dict(zip(sel["unique_id"], sel["reason"]))
    assert why["a/keep"].startswith("root commit shared with a/fork") and why["a/chain"].startswith("root commit")
    assert why["a/tie2"] == "root commit shared with a/tie1 (more commits)"
    assert why["a/young"] == "span_months 12 < 18" and why["a/tiny"] == "n_commits 49 < 50"
    assert why["Own/Reserved"] == "reserved" and why["a/short-fork"] == "span_months 10 < 18"
    assert counts == {"built": 9, "reserved": 1, "span_lt_18": 2, "commits_lt_50": 1, "span_lt_18_and_commits_lt_50": 0,
                      "shared_root_commit": 3, "kept": 2, "kept_by_part": {"x": 1, "y": 1}}


@pytest.fixture(scope="module")
def v2():
    if not (EMBEDDED_ROOT / "oss-activity-v2" / "v1" / "MANIFEST.json").is_file():
        pytest.skip("oss-activity-v2 is not assembled in this checkout")
    return load_corpus("oss-activity-v2")


def test_the_shipped_v2_corpus_keeps_what_the_filters_keep(v2):
    manifest = json.loads((EMBEDDED_ROOT / "oss-activity-v2" / "v1" / "MANIFEST.json").read_text())
    assert len(v2.projects) == manifest["counts"]["kept"] and v2.meta["unique_id"].is_unique
    meta = v2.meta.set_index("unique_id")
    assert (meta["span_months"] >= 18).all() and (meta["n_commits"] >= 50).all()
    roots = [r for roots in meta["root_commit"] for r in roots.split()]
    assert len(roots) == len(set(roots)), "two projects share a root commit"
    if RESERVED.is_file():
        reserved = {ln.strip().lower() for ln in RESERVED.read_text().splitlines() if ln.strip()}
        assert not reserved & {p.lower() for p in v2.projects}
    assert set(meta["readme_as_of"]) == {"versions"}


def test_v2_readme_versions_are_dated_embeddings_and_series_end_at_their_snapshot(v2):
    versions = v2.texts
    assert "text" not in versions.columns and set(versions["unique_id"]) <= set(v2.projects)
    vectors = np.stack(versions["embedding"])
    assert vectors.shape[1] == 384 and not vectors[~versions["present"]].any()
    np.testing.assert_allclose(np.linalg.norm(vectors[versions["present"]], axis=1), 1.0, atol=5e-3)
    assert (versions.groupby("unique_id")["valid_from"].apply(lambda s: s.is_monotonic_increasing and s.is_unique)).all()
    last = v2.panel.groupby("unique_id")["ds"].max()
    snapshot = pd.to_datetime(v2.meta.set_index("unique_id")["snapshot"], utc=True).dt.tz_localize(None)
    month_of_snapshot = snapshot.dt.to_period("M").dt.to_timestamp()
    # each series ends at its snapshot's last complete month: not earlier, never filled up to today
    assert (last == (month_of_snapshot - pd.DateOffset(months=1)).reindex(last.index)).all()

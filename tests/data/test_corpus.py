"""load_corpus: embedded copies, raw folders, an independent recomputation and a reproducible build."""

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsfuse.data.build import build, reserved_projects
from tsfuse.data.corpus import EMBEDDED_ROOT, load_corpus
from tsfuse.data.readme_store import EMBEDDINGS_FILE
from tsfuse.data.quality import FLAGS
from tsfuse.data.schema import PanelError, validate_panel
from tsfuse.text.names import DEFAULT_ENCODER

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "oss-activity").is_dir() or not (SHARED / "opendigger").is_dir(),
                                  reason=f"raw corpora not found at {SHARED}")
OSS_COVARIATES = ["authors", "new_authors", "churn", "merges", "releases"]
OD_METRICS = ["openrank", "stars", "participants", "issues_new", "issues_closed", "change_requests",
              "change_requests_accepted", "new_contributors", "bus_factor", "technical_fork", "attention"]


@pytest.fixture(scope="module")
def corpora():
    return {name: load_corpus(name) for name in ("oss-activity", "opendigger")}


@pytest.mark.parametrize("name, n_projects, covariates", [
    ("oss-activity", 253, OSS_COVARIATES),
    ("opendigger", 224, [c for m in OD_METRICS for c in (m, f"{m}_missing")]),
])
def test_embedded_corpus(corpora, name, n_projects, covariates):
    corpus = corpora[name]
    assert corpus.name == name and corpus.task.name == name
    assert corpus.panel[["unique_id", "ds", "y"]].equals(validate_panel(corpus.panel)[["unique_id", "ds", "y"]])
    assert list(corpus.panel.columns) == ["unique_id", "ds", "y", *covariates]
    assert corpus.panel["unique_id"].nunique() == n_projects
    assert corpus.projects == sorted(corpus.texts["unique_id"]) == sorted(corpus.panel["unique_id"].unique())
    assert corpus.meta["unique_id"].is_unique and len(corpus.meta) == n_projects
    flags = corpus.panel.attrs["quality_flags"]
    assert set(flags) == set(FLAGS) and all(isinstance(v, list) for v in flags.values())
    for flag in ("dead", "burst", "stops_early", "cut_start", "event_test_bot"):
        assert flags[flag] == sorted(corpus.meta.loc[corpus.meta[flag], "unique_id"])


def test_embedded_texts_and_meta(corpora):
    oss, od = corpora["oss-activity"], corpora["opendigger"]
    for corpus in (oss, od):  # README embeddings, one HEAD version per project, no text
        versions = corpus.texts
        assert "text" not in versions.columns and versions["unique_id"].is_unique
        assert set(versions["valid_from"]) == {pd.Timestamp("1970-01-01")} and set(versions["text_model"]) == {DEFAULT_ENCODER}
        assert set(corpus.meta["readme_as_of"]) == {"head"}
        vectors = np.stack(versions["embedding"])
        assert vectors.shape == (len(versions), 384)
        np.testing.assert_allclose(np.linalg.norm(vectors[versions["present"]], axis=1), 1.0, atol=2e-3)
        assert not vectors[~versions["present"]].any()
    assert oss.texts["present"].sum() > 240 and not od.texts["present"].any()
    row = oss.meta.set_index("unique_id").loc["angular/angular.js"]
    assert row["snapshot"].startswith("20") and row["language_group"] == "js_ts"
    assert row["first_month"] >= pd.Timestamp("2009-01-01")  # its 1970 commits are ignored
    assert set(od.meta["last_month"]) == {pd.Timestamp("2023-03-01")}


def test_load_errors(tmp_path):
    with pytest.raises(PanelError, match="unknown corpus 'nope'"):
        load_corpus("nope")
    with pytest.raises(PanelError, match="neither commits.csv.gz"):
        load_corpus(tmp_path)


def test_raw_oss_activity_folder(tmp_path):
    pd.DataFrame({"project": ["a/x", "a/x", "a/y"],
                  "authored_at": ["2023-01-02T00:00:00Z", "2023-03-02T00:00:00Z", "2022-12-05T00:00:00Z"],
                  "author_id": ["u1", "u2", "u1"], "is_merge": [0, 1, 0], "insertions": [1, 0, 5],
                  "deletions": [0, 0, 1]}).to_csv(tmp_path / "commits.csv.gz", index=False)
    pd.DataFrame({"project": ["a/x"], "tag": ["v1"], "tagged_at": ["2023-02-01T00:00:00Z"]}).to_csv(
        tmp_path / "tags.csv.gz", index=False)
    pd.DataFrame({"project": ["a/x", "a/y"], "snapshot_taken_approx": ["2023-04-03T00:00:00Z", "2023-02-01T00:00:00Z"],
                  "language_group": ["go", "rust"], "rows_trimmed_years": ["", "2019"]}).to_csv(
        tmp_path / "projects.csv", index=False)
    (tmp_path / "readmes").mkdir()
    (tmp_path / "readmes" / "a__x.txt").write_text("# x")
    corpus = load_corpus(tmp_path)
    assert corpus.texts == {"a/x": "# x", "a/y": ""}
    x = corpus.panel[corpus.panel["unique_id"] == "a/x"]
    assert x["y"].tolist() == [1, 0, 0] and x["merges"].tolist() == [0, 0, 1] and x["releases"].tolist() == [0, 1, 0]
    assert corpus.meta.set_index("unique_id")["cut_start"].to_dict() == {"a/x": False, "a/y": True}


# --- independent recomputation from the raw files (plain pandas, month periods) ---------------------------

OSS_SAMPLE = ["angular/angular.js", "antirez/kilo", "hashicorp/vagrant", "tj/co", "Alamofire/Alamofire"]
OD_SAMPLE = ["apache/spark", "google-test/signclav2-probe-repo", "AUTOMATIC1111/stable-diffusion-webui"]


def expected_oss(commits, tags, snapshot):
    """Monthly oss-activity series of one project, following BENCHMARK.md literally."""
    month = pd.to_datetime(commits["authored_at"], utc=True).dt.tz_localize(None).dt.to_period("M")
    end = pd.Timestamp(snapshot).tz_localize(None).to_period("M")  # incomplete: excluded
    keep = (month >= pd.Period("1995-01", "M")) & (month < end)
    commits, month = commits[keep], month[keep]
    months = pd.period_range(month.min(), end - 1, freq="M")
    own = commits["is_merge"] == 0
    tag_month = pd.to_datetime(tags["tagged_at"], utc=True).dt.tz_localize(None).dt.to_period("M")
    out = pd.DataFrame({
        "y": commits[own].groupby(month[own]).size(),
        "authors": commits[own].groupby(month[own])["author_id"].nunique(),
        "new_authors": month.groupby(commits["author_id"]).min().value_counts(),
        "churn": (commits["insertions"] + commits["deletions"])[own].groupby(month[own]).sum(),
        "merges": commits[~own].groupby(month[~own]).size(),
        "releases": tag_month.value_counts(),
    })
    return out.reindex(months).fillna(0).astype(float)


@pytest.fixture(scope="module")
def raw_oss():
    read = lambda name: pd.read_csv(SHARED / "oss-activity" / name)  # noqa: E731
    commits = read("commits.csv.gz")
    return commits[commits["project"].isin(OSS_SAMPLE)], read("tags.csv.gz"), read("projects.csv")


@needs_shared
@pytest.mark.parametrize("uid", OSS_SAMPLE)
def test_oss_activity_matches_raw_recomputation(corpora, raw_oss, uid):
    commits, tags, projects = raw_oss
    snapshot = projects.set_index("project").loc[uid, "snapshot_taken_approx"]
    expected = expected_oss(commits[commits["project"] == uid], tags[tags["project"] == uid], snapshot)
    got = corpora["oss-activity"].panel.query("unique_id == @uid").set_index("ds")
    assert len(got) == len(expected)
    assert got.index.to_period("M").equals(expected.index)
    pd.testing.assert_frame_equal(got[expected.columns].reset_index(drop=True), expected.reset_index(drop=True))


@needs_shared
@pytest.mark.parametrize("uid", OD_SAMPLE)
def test_opendigger_matches_raw_json(corpora, uid):
    folder = SHARED / "opendigger" / "top_300_metrics" / uid
    activity = json.loads((folder / "activity.json").read_text())
    months = pd.period_range(min(k for k in activity if len(k) == 7), "2023-03", freq="M").strftime("%Y-%m")
    got = corpora["opendigger"].panel.query("unique_id == @uid")
    assert got["ds"].dt.strftime("%Y-%m").tolist() == list(months)
    assert got["y"].tolist() == [float(activity.get(m, 0)) for m in months]
    for metric in OD_METRICS:
        path = folder / f"{metric}.json"
        values = json.loads(path.read_text()) if path.exists() else {}
        assert got[metric].tolist() == [float(values.get(m, 0)) for m in months], metric
        assert set(got[f"{metric}_missing"]) == {0.0 if path.exists() else 1.0}


# --- the build script is reproducible and the embedded copy is current ------------------------------------

@needs_shared
@pytest.mark.slow  # encodes the READMEs (cached after the first run)
def test_build_twice_gives_identical_bytes_equal_to_the_embedded_copy(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    script = [sys.executable, str(REPO / "datasets" / "build_corpora.py"), "--shared", str(SHARED), "--out", str(first)]
    subprocess.run(script, check=True, capture_output=True)
    build(SHARED, second)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) == 10
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
        if rel.name in (EMBEDDINGS_FILE, "MANIFEST.json"):  # float16 embeddings: last bits may differ by CPU
            continue
        assert (first / rel).read_bytes() == (EMBEDDED_ROOT / rel).read_bytes(), \
            f"{rel}: embedded copy is stale; run python datasets/build_corpora.py"
    for name in ("oss-activity", "opendigger"):
        built, shipped = (np.load(root / name / "v1" / EMBEDDINGS_FILE) for root in (first, EMBEDDED_ROOT))
        np.testing.assert_allclose(built.astype(np.float32), shipped.astype(np.float32), atol=2e-3)
    with gzip.open(first / "oss-activity" / "v1" / "panel.csv.gz", "rt") as fh:
        assert fh.readline().strip() == "unique_id,ds,y," + ",".join(OSS_COVARIATES)


@needs_shared
def test_no_reserved_project_is_shipped(corpora):
    reserved = reserved_projects(SHARED)
    assert {"apache/arrow", "vitejs/vite"} <= reserved  # in the raw v1 corpora, left out of the shipped copies
    for name, corpus in corpora.items():
        assert not [p for p in corpus.projects if p.lower() in reserved], name
        manifest = json.loads((EMBEDDED_ROOT / name / "v1" / "MANIFEST.json").read_text())
        assert manifest["left_out_reserved"] and all(p.lower() in reserved for p in manifest["left_out_reserved"])


@needs_shared
def test_no_readme_text_in_the_repository():
    """No prose line of any raw README (60+ characters, 8+ words) is in a tracked file, plain or gzipped."""
    lines = set()
    for path in sorted((SHARED / "oss-activity" / "readmes").glob("*.txt")):
        lines |= {ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()
                  if len(ln.strip()) >= 60 and len(re.findall(r"[A-Za-z]{3,}", ln)) >= 8}
    assert len(lines) > 1000
    probes = sorted(lines)[::7]  # a deterministic sample keeps the scan short
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True, check=True).stdout
    for rel in tracked.split():
        path = REPO / rel
        if not path.is_file() or path.suffix in (".png", ".npy", ".safetensors"):
            continue
        data = path.read_bytes()
        if rel.endswith(".gz"):
            data = gzip.decompress(data)
        text = data.decode("utf-8", errors="ignore")
        hits = [p for p in probes if p in text]
        assert not hits, f"{rel} holds README text, e.g. {hits[0][:80]!r}"

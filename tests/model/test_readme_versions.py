"""A window reads the README as it was before its origin, through from_git, the bulk builder and the
backtest path the benchmark uses; a property test checks the rule on random versions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.data.test_git import ALICE, commit, git
from tsfuse.config import ModelConfig
from tsfuse.data.sources.bulk import build_bulk, load_readme_versions
from tsfuse.data.sources.git import from_git
from tsfuse.data.tasks import get_task
from tsfuse.estimator import Forecaster
from tsfuse.text.versions import check_versions, version_rows

ORIGIN = pd.Timestamp("2023-01-01")


class SpyEncoder:
    """A stand-in text encoder that records what it is asked to encode."""

    name, dim = "spy", 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        from tsfuse.text.encoder import TextEmbeddings

        self.seen.extend(texts)
        vectors = np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], np.float32).reshape(-1, 4)
        return TextEmbeddings(vectors, np.array([bool(t) for t in texts]))


@pytest.fixture
def repo(tmp_path, isolated_git):
    """Monthly commits from 2021-06 to 2023-09; README "old" in 2022-03, "before" one month before the
    origin (2022-12-10), "after" one month after it (2023-02-10)."""
    r = tmp_path / "demo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    readmes = {"2022-03": "old", "2022-12": "before", "2023-02": "after"}
    for month in pd.period_range("2021-06", "2023-09", freq="M").strftime("%Y-%m"):
        files = {"src.txt": month}
        if month in readmes:
            files["README.md"] = readmes[month]
        commit(r, files, ALICE, f"{month}-10T10:00:00+00:00")
    return r


def _model(encoder: SpyEncoder) -> Forecaster:
    config = ModelConfig(hidden_size=8, num_layers=1, fusion_size=8, text_model="spy", text_dim=4, text_proj_size=4)
    return Forecaster(config, get_task("oss-activity"), text_encoder=encoder)


def test_the_window_at_an_origin_reads_the_readme_from_before_it(repo, tmp_path):
    panel, versions = from_git(repo, readme_history=True, until="2023-08")
    assert list(versions["text"]) == ["old", "before", "after"]
    encoder = SpyEncoder()
    windows, _ = _model(encoder).backtest(panel, [ORIGIN], versions.assign(unique_id=panel["unique_id"].iloc[0]))
    assert len(windows) == 1 and encoder.seen == ["before"]  # not "after", committed after the origin

    listing = tmp_path / "repos.txt"
    listing.write_text(f"{repo}\n")
    build_bulk(listing, tmp_path / "out", snapshot="2023-09-15", progress=False)
    built = load_readme_versions(tmp_path / "out")
    encoder = SpyEncoder()
    _model(encoder).backtest(panel, [ORIGIN], built)
    assert encoder.seen == ["before"]


@settings(max_examples=40, deadline=None)
@given(starts=st.lists(st.integers(0, 60), min_size=1, max_size=8, unique=True), origin=st.integers(0, 70))
def test_no_window_reads_a_version_dated_after_its_origin(starts, origin):
    months = pd.Timestamp("2020-01-01") + pd.to_timedelta(0, "D")
    frame = check_versions(pd.DataFrame({
        "unique_id": "p", "valid_from": [months + pd.DateOffset(months=s) for s in starts],
        "text": [f"v{s}" for s in starts]}))
    when = (months + pd.DateOffset(months=origin)).to_datetime64()
    row = version_rows(frame, np.array(["p", "q"]), np.array([when, when]))
    assert row[1] == -1  # a project without versions reads none
    known = [s for s in starts if s <= origin]
    if not known:
        assert row[0] == -1
    else:
        assert frame["text"].iloc[row[0]] == f"v{max(known)}"
        assert frame["valid_from"].iloc[row[0]] <= pd.Timestamp(when)


def test_stored_embeddings_are_read_not_encoded_and_only_by_their_own_encoder(repo, tmp_path):
    from tsfuse.data.readme_store import embed_versions, read_versions, write_versions
    from tsfuse.errors import TextInputError

    panel, versions = from_git(repo, readme_history=True, until="2023-08")
    uid = panel["unique_id"].iloc[0]
    stored = embed_versions(versions.assign(unique_id=uid), SpyEncoder())
    assert "text" not in stored.columns and set(stored["text_model"]) == {"spy"}
    assert stored["embedding"].iloc[0].dtype == np.float16 and stored["sha256"].str.len().eq(64).all()
    write_versions(tmp_path, stored)
    back = read_versions(tmp_path)
    np.testing.assert_array_equal(np.stack(back["embedding"]), np.stack(stored["embedding"]).astype(np.float32))
    encoder = SpyEncoder()
    windows, _ = _model(encoder).backtest(panel, [ORIGIN], back)
    assert len(windows) == 1 and encoder.seen == []  # the stored vector is used as is
    with pytest.raises(TextInputError, match="made by \\['other'\\].*reads 'spy'"):
        _model(SpyEncoder()).backtest(panel, [ORIGIN], back.assign(text_model="other"))


def test_one_projects_readme_versions_take_its_name():
    from tsfuse.text.versions import project_readme

    frame = pd.DataFrame({"unique_id": "corpus/name", "valid_from": ["2022-01-01", "2021-01-01"], "text": ["b", "a"]})
    got = project_readme(frame, "me/mine")
    assert list(got["unique_id"]) == ["me/mine", "me/mine"] and list(got["text"]) == ["a", "b"]
    assert project_readme("# hi", "me/mine") == {"me/mine": "# hi"}


@pytest.mark.parametrize("when", ["soon", None])
def test_a_version_without_a_date_is_refused_naming_its_row(when):
    from tsfuse.errors import TextInputError

    frame = pd.DataFrame({"unique_id": ["p", "p"], "valid_from": ["2022-01-01", when], "text": ["a", "b"]})
    with pytest.raises(TextInputError, match=r"'valid_from' at row 1 \(project 'p'\) is .* not a date"):
        check_versions(frame)

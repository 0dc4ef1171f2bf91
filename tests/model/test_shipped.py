"""The shipped pretrained models: fit one embedded project from them (real MiniLM, offline)."""

import numpy as np
import pytest

import tsfuse
from tsfuse.api import PRETRAINED_DIR
from tsfuse.data.corpus import load_corpus
from tsfuse.text.versions import texts_for


def _check(table):
    q = table[["p10", "p50", "p90"]].to_numpy()
    assert len(table) == 6 and np.isfinite(q).all()
    assert (q[:, 0] <= q[:, 1] + 1e-9).all() and (q[:, 1] <= q[:, 2] + 1e-9).all()
    np.testing.assert_allclose(table[["trend_down", "trend_flat", "trend_up"]].sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(table[[f"level_{i}" for i in range(5)]].sum(1), 1, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("corpus, project", [("oss-activity", "pallets/flask"), ("opendigger", "apache/spark")])
def test_fit_one_project_from_the_shipped_model(corpus, project, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert (PRETRAINED_DIR / corpus / "model.safetensors").is_file()
    c = load_corpus(corpus)
    df = c.panel[c.panel.unique_id == project]
    model = tsfuse.fit(df, texts_for(c.texts, project), pretrained=corpus)  # its stored README versions
    assert model.info["finetune"]["windows"] > 0
    _check(model.predict())


@pytest.mark.slow
def test_fit_with_y_alone_masks_the_known_covariates(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    c = load_corpus("oss-activity")
    df = c.panel[c.panel.unique_id == "psf/requests"][["ds", "y"]]
    readme = c.texts[c.texts["unique_id"] == "psf/requests"]  # its stored README embedding
    model = tsfuse.fit(df, readme, unique_id="psf/requests", max_epochs=2)
    _check(model.predict())

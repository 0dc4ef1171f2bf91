import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from tsfuse.train import recipes
from tests.conftest import TINY_MODEL, TINY_TRAIN
from tsfuse.config import ModelConfig, RunConfig, TrainConfig, resolve_settings
from tsfuse.estimator import Forecaster
from tsfuse.data.features import FeatureSpec
from tsfuse.nn.towers import build_tower
from tsfuse.train.ssl import CropDataset, coles_loss, pretrain_temporal, project_histories

COVS = ("authors", "churn")
MODEL = ModelConfig(covariates=COVS, hidden_size=16, num_layers=1, dropout=0.0, text_model=None)
SSL = {"ssl_epochs": 12, "ssl_batch_projects": 16, "ssl_lr": 5e-3, "progress_bar": False, "logger": "none"}


def _settings(**overrides) -> tuple[TrainConfig, RunConfig]:
    """(train, run) settings: SSL's with ``overrides`` (flat names)."""
    return resolve_settings(TrainConfig(), RunConfig(), {**SSL, **overrides})


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models: a second thread only adds contention on a shared, busy CPU (70x slower steps seen)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tower(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_tower(MODEL, FeatureSpec.for_covariates(COVS).series_channels)


def _easy_panel(n: int = 8, months: int = 48) -> pd.DataFrame:
    """Noise-free series that differ in seasonal phase and trend: each project is easy to tell apart."""
    t = np.arange(months)
    frames = []
    for i in range(n):
        y = 50 * np.exp((i % 4 - 1.5) * 0.03 * t) * (1 + 0.8 * np.sin(2 * np.pi * t / 12 + 2 * np.pi * i / n))
        frames.append(pd.DataFrame({"unique_id": f"org/p{i}", "ds": pd.date_range("2019-01", periods=months, freq="MS"),
                                    "y": np.round(y), "authors": np.round(np.sqrt(y)), "churn": np.round(10 * y)}))
    return pd.concat(frames, ignore_index=True)


def _pos_neg_gap(tower: torch.nn.Module, panel: pd.DataFrame) -> float:
    """Mean cosine similarity of crops of the same project minus that of crops of different projects."""
    dataset = CropDataset(project_histories(panel, COVS, None, 9), COVS, 24, n_crops=4, min_len=9, seed=123)
    batch = dataset[list(range(len(dataset)))]
    tower.eval()
    with torch.no_grad():
        z = F.normalize(tower(batch["series"], batch["mask"]), dim=-1)
    sim = (z @ z.T).numpy()
    same = (batch["project"][:, None] == batch["project"][None, :]).numpy()
    off_diagonal = ~np.eye(len(sim), dtype=bool)
    return float(sim[same & off_diagonal].mean() - sim[~same].mean())


def test_coles_loss_matches_closed_form_and_prefers_separated_projects():
    labels = torch.arange(3).repeat_interleave(4)  # 3 projects x 4 crops
    separated = F.one_hot(labels, 3).float()  # positives cosine 1, negatives 0
    t = 0.5
    # each anchor: 3 positives at logit 1/t, 8 negatives at 0
    expected = -(1 / t - math.log(3 * math.exp(1 / t) + 8))
    assert coles_loss(separated, labels, t).item() == pytest.approx(expected, rel=1e-6)
    mixed = F.one_hot(torch.arange(12) % 3, 3).float()  # crops of a project spread over all directions
    assert coles_loss(mixed, labels, t).item() > expected + 1.0


def test_ssl_loss_decreases(panel):
    info = pretrain_temporal(_tower(), panel, MODEL, *_settings())
    assert info["epochs"] == 12 and info["projects"] == 10
    losses = info["losses"]
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    assert info["first_loss"] == losses[0] and info["final_loss"] == losses[-1]


def test_positives_closer_than_negatives_after_ssl():
    panel = _easy_panel()
    tower = _tower()
    before = _pos_neg_gap(tower, panel)
    pretrain_temporal(tower, panel, MODEL, *_settings(ssl_epochs=60, ssl_lr=2e-2))
    after = _pos_neg_gap(tower, panel)
    assert before < 0.05 and after > 0.4, (before, after)


def test_ssl_never_reads_months_at_or_after_before(panel):
    cut = pd.Timestamp("2021-06-01")
    later = panel.ds >= cut
    changed = panel.copy()
    changed.loc[later, ["y", "authors", "churn"]] = changed.loc[later, ["y", "authors", "churn"]] * 10 + 7
    cfg = _settings(ssl_epochs=3)
    a, b = _tower(), _tower()
    pretrain_temporal(a, panel, MODEL, *cfg, before=cut)
    pretrain_temporal(b, changed, MODEL, *cfg, before=cut)
    for (name, wa), wb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(wa, wb), name
    # the month just before the cut-off is read: changing it changes the weights
    earlier = changed.copy()
    earlier.loc[earlier.ds == cut - pd.offsets.MonthBegin(1), "y"] += 100
    c = _tower()
    pretrain_temporal(c, earlier, MODEL, *cfg, before=cut)
    assert any(not torch.equal(wa, wc) for wa, wc in zip(a.state_dict().values(), c.state_dict().values()))


def test_supervised_training_and_refit_start_from_the_ssl_tower(panel, task, monkeypatch):
    seen = {}
    starts = []
    real_ssl, real_training = recipes.pretrain_temporal, recipes.run_training

    def spy_ssl(tower, *args, **kwargs):
        seen["init"] = {k: v.clone() for k, v in tower.state_dict().items()}
        info = real_ssl(tower, *args, **kwargs)
        seen["ssl"] = {k: v.clone() for k, v in tower.state_dict().items()}
        return info

    def spy_training(module, *args, **kwargs):
        starts.append({k: v.clone() for k, v in module.net.temporal.state_dict().items()})
        return real_training(module, *args, **kwargs)

    monkeypatch.setattr(recipes, "pretrain_temporal", spy_ssl)
    monkeypatch.setattr(recipes, "run_training", spy_training)
    model = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL,
                                train={**TINY_TRAIN, "ssl_epochs": 2})
    assert model.info["training"]["refit_epochs"] >= 1
    assert len(starts) == 2  # the supervised training, then the refit on every window
    assert any(not torch.equal(seen["init"][k], seen["ssl"][k]) for k in seen["ssl"])
    for start in starts:
        assert all(torch.equal(start[k], seen["ssl"][k]) for k in seen["ssl"])


def test_pretrain_with_ssl_end_to_end(panel, task):
    model = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL,
                                train={**TINY_TRAIN, "ssl_epochs": 2, "ssl_batch_projects": 4})
    ssl = model.info["ssl"]
    assert ssl["epochs"] == 2 and ssl["projects"] == 10 and np.isfinite(ssl["final_loss"])
    table = model.predict(panel)
    assert len(table) == 6 * 10 and np.isfinite(table[["p10", "p50", "p90"]].to_numpy()).all()
    plain = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train=TINY_TRAIN)
    assert "ssl" not in plain.info


def test_ssl_settings_are_checked(panel):
    with pytest.raises(ValueError, match=r"ssl_crops must be >= 2 \(a crop needs a positive from its own project\), "
                                         r"got 1"):
        _settings(ssl_epochs=1, ssl_crops=1)
    with pytest.raises(ValueError, match=r"ssl_min_len must be in \[1, context_length=24\], got 30"):
        pretrain_temporal(_tower(), panel, MODEL, *_settings(ssl_epochs=1, ssl_min_len=30))
    with pytest.raises(ValueError, match="needs at least 2 projects with >= ssl_min_len=9 months before 2019-03-01; "
                                         "got 0: lower ssl_min_len or set ssl_epochs=0"):
        pretrain_temporal(_tower(), panel, MODEL, *_settings(ssl_epochs=1), before="2019-03-01")

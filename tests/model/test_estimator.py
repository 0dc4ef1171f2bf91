import numpy as np
import pandas as pd
import pytest
import torch

import tsfuse
from tests.conftest import TINY_MODEL, TINY_TRAIN
from tsfuse.config import TrainConfig
from tsfuse.estimator import Forecaster
from tsfuse.io.persistence import ModelFileError


@pytest.fixture(scope="module")
def global_model(panel, task):
    return Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train=TINY_TRAIN)


def _check_forecast(table: pd.DataFrame, n_projects: int) -> None:
    assert len(table) == 6 * n_projects
    q = table[["p10", "p50", "p90"]].to_numpy()
    assert np.isfinite(q).all() and (q >= 0).all()
    assert (table.p10 <= table.p50 + 1e-9).all() and (table.p50 <= table.p90 + 1e-9).all()
    np.testing.assert_allclose(table[["trend_down", "trend_flat", "trend_up"]].sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(table[[f"level_{i}" for i in range(5)]].sum(1), 1.0, atol=1e-5)


def test_pretrain_and_predict_every_project(global_model, panel):
    table = global_model.predict(panel)
    _check_forecast(table, panel.unique_id.nunique())
    last = panel.groupby("unique_id").ds.max()
    first_fc = table.groupby("unique_id").ds.min()
    assert (first_fc == last + pd.offsets.MonthBegin(1)).all()


def test_backtest_origin_uses_months_before_it(global_model, panel):
    origin = "2021-09-01"
    a = global_model.predict(panel, origin=origin)
    changed = panel.copy()
    changed.loc[changed.ds >= origin, "y"] *= 10
    b = global_model.predict(changed, origin=origin)
    pd.testing.assert_frame_equal(a, b)


def test_time_split_reads_nothing_at_or_after_the_cutoff(global_model, panel):
    before, val_months = pd.Timestamp("2022-01-01"), 6
    split = global_model.inputs.time_split(panel, before, val_months, global_model.train_config)
    train, val, every = split.train, split.validation, split.every
    val_start = np.datetime64("2021-07")
    assert len(train) and len(val) and len(every) > len(val)
    assert (train.origin < val_start).all() and (val.origin >= val_start).all()
    assert (val.origin < np.datetime64("2022-01")).all()
    # training targets stop before the validation months, validation targets before the cut-off
    last_train = train.origin.astype("datetime64[M]").astype(int)[:, None] + np.arange(6)[None, :]
    assert np.isnan(train.target[last_train >= val_start.astype(int)]).all()
    changed = panel.copy()
    changed.loc[changed.ds >= before, "y"] += 1000
    every2 = global_model.inputs.time_split(changed, before, val_months, global_model.train_config).every
    np.testing.assert_array_equal(every.target, every2.target)
    np.testing.assert_array_equal(every.context, every2.context)


def test_save_load_identical_predictions(global_model, panel, tmp_path):
    one = panel[panel.unique_id == "org/project-3"]
    tuned = global_model.finetune(one, max_epochs=2)
    path = tuned.save(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "history.csv", "model.safetensors", "texts.json"]
    loaded = tsfuse.load(path)
    pd.testing.assert_frame_equal(loaded.predict(), tuned.predict())


def test_loading_refuses_a_changed_weights_file(global_model, tmp_path):
    path = global_model.save(tmp_path / "m")
    data = bytearray((path / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (path / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        tsfuse.load(path)


def test_progressive_unfreezing(global_model, panel):
    one = panel[panel.unique_id == "org/project-2"]
    before = {k: v.clone() for k, v in global_model.module.net.state_dict().items()}
    frozen = global_model.finetune(one, freeze_epochs=2, max_epochs=2, guard=False)
    after = frozen.module.net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("temporal."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("heads."))
    thawed = global_model.finetune(one, freeze_epochs=1, max_epochs=3, guard=False)
    assert any(not torch.equal(before[k], thawed.module.net.state_dict()[k]) for k in before
               if k.startswith("temporal."))


def test_finetune_that_does_not_help_keeps_the_pretrained_model(global_model, panel):
    one = panel[panel.unique_id == "org/project-2"]
    wrecked = global_model.finetune(one, lr=50.0, freeze_epochs=0, max_epochs=2)  # a learning rate that diverges
    info = wrecked.info["finetune"]
    assert info["kept_pretrained"] and info["best_val_loss"] >= info["pretrained_val_loss"]
    pd.testing.assert_frame_equal(wrecked.predict(one), global_model.predict(one))
    helped = global_model.finetune(one, max_epochs=4)
    info = helped.info["finetune"]
    assert info["kept_pretrained"] == (info["best_val_loss"] >= info["pretrained_val_loss"])


def test_finetune_with_too_little_history_keeps_pretrained(global_model, panel, caplog):
    short = panel[panel.unique_id == "org/project-4"].tail(4)
    tuned = global_model.finetune(short)
    assert tuned.info["finetune"]["skipped"]
    assert "fine-tuning skipped" in caplog.text


def test_cold_start_forecast_from_a_few_months(global_model, panel, caplog, tmp_path):
    project = panel[panel.unique_id == "org/project-4"]
    saved = global_model.save(tmp_path / "global")
    for months in (3, 6):
        cold = project.head(months)
        table = tsfuse.fit(cold, "a web framework", pretrained=str(saved)).predict()
        _check_forecast(table, 1)
        assert table.ds.min() == cold.ds.max() + pd.offsets.MonthBegin(1)
        assert "cold start" in caplog.text


def test_predict_refuses_too_short_history(global_model, panel):
    short = panel[panel.unique_id == "org/project-4"].tail(2)
    with pytest.raises(ValueError, match="fewer than 3 months"):
        global_model.predict(short)


def test_same_seed_same_model(panel, task):
    a = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train=TINY_TRAIN)
    b = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train=TINY_TRAIN)
    pd.testing.assert_frame_equal(a.predict(panel), b.predict(panel))


def test_embed_and_summary(global_model, panel):
    emb = global_model.embed(panel)
    assert emb.shape == (panel.unique_id.nunique(), 16)
    assert "trainable" in global_model.summary() and "lstm" in global_model.summary()


def test_fit_one_project_from_a_pretrained_folder(global_model, panel, tmp_path):
    path = global_model.save(tmp_path / "pre")
    one = panel[panel.unique_id == "org/project-1"][["ds", "y"]]  # y alone: covariates masked
    model = tsfuse.fit(one, "", pretrained=str(path), max_epochs=2)
    _check_forecast(model.predict(), 1)
    with pytest.raises(ValueError, match="one project"):
        tsfuse.fit(panel, "", pretrained=str(path))
    with pytest.raises(FileNotFoundError, match="neither"):
        tsfuse.fit(one, "", pretrained=str(tmp_path / "nope"))


def test_load_pretrained_encoder_reports_matched_and_missing_keys(global_model, panel, task, tmp_path):
    path = global_model.save(tmp_path / "src")
    same = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train={**TINY_TRAIN, "seed": 5})
    report = same.load_pretrained_encoder(path, strict=True)
    assert report["matched"] and not (report["missing"] or report["unexpected"] or report["mismatched"])
    src = global_model.module.net.temporal.state_dict()
    assert all(torch.equal(v, src[k]) for k, v in same.module.net.temporal.state_dict().items())
    other = Forecaster.pretrain(panel, {}, task, preset="light", train=TINY_TRAIN,
                                model={**TINY_MODEL, "num_layers": 2})
    report = other.load_pretrained_encoder(path)
    assert report["matched"] and any("l1" in k for k in report["missing"])
    with pytest.raises(ValueError, match="does not match"):
        other.load_pretrained_encoder(path, strict=True)


def test_held_out_projects_validate_and_never_train_the_first_fit(global_model, panel, task, caplog):
    from tsfuse.train.inputs import held_out_projects

    ids = panel.unique_id.unique()
    held = held_out_projects(ids, 0.25)
    assert len(held) == int(np.ceil(0.25 * len(ids))) and set(held) <= set(ids)
    assert list(held_out_projects(ids[::-1], 0.25)) == list(held)  # fixed per id, not by the panel's order
    split = global_model.inputs.time_split(panel, pd.Timestamp("2022-01-01"), 6, global_model.train_config, 0.25)
    plain = global_model.inputs.time_split(panel, pd.Timestamp("2022-01-01"), 6, global_model.train_config)
    assert set(split.validation.unique_id) == set(held) and not set(split.train.unique_id) & set(held)
    assert len(split.every) == len(plain.every) and len(split.validation) < len(plain.validation)
    model = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL,
                                train={**TINY_TRAIN, "val_projects": 0.25, "refit": False})
    assert set(model.validation[0].unique_id) == set(held)
    one = panel[panel.unique_id == ids[0]]
    assert len(held_out_projects(one.unique_id.unique(), 0.25)) == 0 and "needs at least 2 projects" in caplog.text
    with pytest.raises(ValueError, match="val_projects must be a share in"):
        TrainConfig(val_projects=1.0)


def test_refit_retrains_on_every_window_for_the_chosen_epochs(panel, task, global_model):
    training = global_model.info["training"]
    assert training["refit_epochs"] == training["best_epoch"] + 1
    no_refit = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL,
                                   train={**TINY_TRAIN, "refit": False})
    assert "refit_epochs" not in no_refit.info["training"]
    assert not np.allclose(no_refit.predict(panel).p50, global_model.predict(panel).p50)


def test_validation_forecasts_are_the_first_fits_on_the_held_out_latest_origins(panel, task, global_model):
    no_refit = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL,
                                   train={**TINY_TRAIN, "refit": False})
    windows, out = no_refit.validation
    end = panel.ds.max() + pd.offsets.MonthBegin(1)
    origins = pd.to_datetime(windows.origin.astype("datetime64[M]"))
    assert len(windows) and (origins >= end - pd.DateOffset(months=TrainConfig().val_months)).all() and (origins < end).all()
    for key, value in no_refit.predict_windows(windows).items():  # no refit: the model is that first fit
        np.testing.assert_allclose(out[key], value, rtol=1e-5, atol=1e-6)
    refit_windows, refit_out = global_model.validation  # refit: kept from before it, not the final model's
    assert not np.allclose(refit_out["quantiles"], global_model.predict_windows(refit_windows)["quantiles"])
    assert global_model.finetune(panel[panel.unique_id == panel.unique_id.iloc[0]], max_epochs=1).validation is None


@pytest.mark.parametrize("frame, readme, error, message", [
    (pd.DataFrame(columns=["ds", "y"]), "", tsfuse.PanelError, "the panel is empty"),
    (pd.DataFrame({"month": pd.date_range("2020-01-01", periods=30, freq="MS"), "y": 1.0}), "",
     tsfuse.PanelError, r"missing column\(s\) \['ds'\]"),
    (pd.DataFrame({"ds": pd.date_range("2020-01-01", periods=30, freq="D"), "y": 1.0}), "",
     tsfuse.PanelError, "must hold month starts"),
    ([1, 2, 3], "", TypeError, "must be a pandas DataFrame"),
    (pd.DataFrame({"ds": pd.date_range("2020-01-01", periods=30, freq="MS"), "y": 1.0}), 123,
     TypeError, "readme_text must be a str"),
])
def test_fit_rejects_bad_input_clearly(frame, readme, error, message, global_model, tmp_path):
    path = global_model.save(tmp_path / "pre")
    with pytest.raises(error, match=message):
        tsfuse.fit(frame, readme, pretrained=str(path))


def test_texts_given_to_predict_go_through_the_readme_checks(global_model, panel):
    one = panel[panel.unique_id == "org/project-1"]
    with pytest.raises(tsfuse.TextInputError, match=r"texts\['org/project-1'\]"):
        global_model.predict(one, texts={"org/project-1": "\x00\x01binary"})
    with pytest.raises(TypeError, match="texts must be a dict"):
        global_model.predict(one, texts=["a README"])
    _check_forecast(global_model.predict(one, texts={"org/project-1": "# A project\n\nDoes things."}), 1)


def test_the_shipped_model_is_chosen_by_the_panels_source_and_a_mismatch_is_refused():
    from tsfuse.api import shipped_model_for
    from tsfuse.errors import PanelError

    months = pd.date_range("2021-01-01", periods=30, freq="MS")
    base = pd.DataFrame({"unique_id": "a/b", "ds": months, "y": 5.0})
    opendigger = base.assign(openrank=1.0, stars=3.0, stars_missing=0.0)
    git = base.assign(authors=2.0, churn=10.0)
    assert shipped_model_for(opendigger) == "opendigger"
    assert shipped_model_for(git) == "oss-activity"
    assert shipped_model_for(base) == "oss-activity"  # y alone: commits, said in a log line
    with pytest.raises(PanelError, match="are OpenDigger activity, but the 'oss-activity' model forecasts monthly "
                                         "commits from git: use pretrained='opendigger'"):
        shipped_model_for(opendigger, "oss-activity")
    with pytest.raises(PanelError, match="mixes git covariates"):
        shipped_model_for(git.assign(openrank=1.0))
    assert shipped_model_for(opendigger, "my/model/folder") == "my/model/folder"  # a user's model: their call


def test_a_missing_shipped_model_names_the_command_that_rebuilds_it_from_its_corpus(tmp_path, monkeypatch):
    import tsfuse.api as api

    monkeypatch.setattr(api, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="tsfuse pretrain --corpus oss-activity-v2 --out .*oss-activity`"):
        api.pretrained_path("oss-activity")
    with pytest.raises(FileNotFoundError, match="tsfuse pretrain --corpus opendigger --out"):
        api.pretrained_path("opendigger")


def test_cross_validation_is_the_backtest_as_a_long_frame(global_model, panel):
    cv = global_model.cross_validation(panel, n_windows=2, step_size=3)
    last = panel["ds"].max()
    origins = [last - pd.DateOffset(months=8), last - pd.DateOffset(months=5)]
    windows, out = global_model.backtest(panel, origins)
    assert sorted(cv["cutoff"].unique()) == [o - pd.DateOffset(months=1) for o in origins]
    assert len(cv) == len(windows) * 6
    first = cv.groupby(["unique_id", "cutoff"], sort=False).head(1)
    np.testing.assert_allclose(np.sort(cv["p50"].to_numpy()), np.sort(out["quantiles"][:, :, 1].ravel()), rtol=1e-6)
    np.testing.assert_allclose(np.sort(cv["y"].to_numpy()), np.sort(windows.target.ravel()))
    assert set(first["trend_true"]) <= {"down", "flat", "up"}
    with pytest.raises(ValueError, match="give origins"):
        global_model.cross_validation(panel)
    with pytest.raises(ValueError, match="n_windows and step_size must be >= 1, got n_windows=2, step_size=0"):
        global_model.cross_validation(panel, n_windows=2, step_size=0)


def test_horizon_and_quantile_levels_are_chosen_at_pretraining(panel, task):
    from tests.conftest import TINY_MODEL, TINY_TRAIN

    model = Forecaster.pretrain(panel, {}, task, preset="light", train=TINY_TRAIN,
                                model={**TINY_MODEL, "horizon": 12, "quantiles": (0.05, 0.25, 0.5, 0.75, 0.95)})
    table = model.predict(panel)
    assert model.task.horizon == 12 and table.groupby("unique_id").size().eq(12).all()
    assert {"p5", "p25", "p50", "p75", "p95"} <= set(table.columns)
    assert (table["p5"] <= table["p95"]).all()
    with pytest.raises(ValueError, match="horizon must be an integer from 3 to 12"):
        Forecaster.pretrain(panel, {}, task, preset="light", train=TINY_TRAIN, model={**TINY_MODEL, "horizon": 24})


def test_a_class_trunk_model_pretrains_finetunes_saves_and_loads(panel, task, tmp_path):
    model = Forecaster.pretrain(panel, {}, task, preset="light", model={**TINY_MODEL, "class_trunk": True},
                                train={**TINY_TRAIN, "max_epochs": 1})
    one = panel[panel.unique_id == "org/project-2"]
    before = {k: v.clone() for k, v in model.module.net.state_dict().items()}
    frozen = model.finetune(one, freeze_epochs=2, max_epochs=2, guard=False)
    after = frozen.module.net.state_dict()
    assert any(k.startswith("class_temporal.") for k in before)
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith(("temporal.", "class_temporal.")))
    path = frozen.save(tmp_path / "model")
    loaded = tsfuse.load(path)
    assert loaded.module.net.config.class_trunk
    pd.testing.assert_frame_equal(loaded.predict(), frozen.predict())

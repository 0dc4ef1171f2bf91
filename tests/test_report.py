import json
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.conftest import TINY_MODEL, TINY_TRAIN
from tsfuse.api import fit, load
from tsfuse.app.cli import main
from tsfuse.data.corpus import load_corpus
from tsfuse.data.schema import DS, ID
from tsfuse.estimator import Forecaster
from tsfuse.app.report import holdout_check, holdout_origins, pretraining_saw_holdout, write_report

HOLDOUT = 12


@pytest.fixture(scope="module")
def pretrained_dir(panel, task, tmp_path_factory):
    train = {**TINY_TRAIN, "max_epochs": 3, "finetune_max_epochs": 3}
    model = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train=train)
    return model.save(tmp_path_factory.mktemp("m") / "pre")


@pytest.fixture(scope="module")
def project(panel):
    longest = panel.groupby(ID).size().idxmax()
    return panel[panel[ID] == longest].reset_index(drop=True)


def test_loss_curves_are_recorded_per_epoch_and_saved(pretrained_dir, project, tmp_path):
    pre = load(pretrained_dir)
    curve = pre.info["training"]["curve"]
    assert [c["epoch"] for c in curve] == [0, 1, 2]
    assert all(isinstance(c["train_loss"], float) and isinstance(c["val_loss"], float) for c in curve)
    tuned = fit(project, "", pretrained=pretrained_dir)
    tuned_curve = tuned.info["finetune"]["curve"]
    assert len(tuned_curve) == tuned.info["finetune"]["epochs"] and tuned_curve[0]["val_loss"] is not None
    saved = json.loads((tuned.save(tmp_path / "m") / "config.json").read_text())["info"]
    assert saved["finetune"]["curve"] == tuned_curve and saved["training"]["curve"] == curve


def test_holdout_origins_cover_the_holdout_and_refuse_short_projects(project, task):
    start, origins = holdout_origins(project, task, HOLDOUT)
    last = project[DS].max()
    assert start == last - pd.DateOffset(months=HOLDOUT - 1)
    assert origins[0] == start and origins[-1] == last - pd.DateOffset(months=task.horizon - 1)
    assert len(origins) == HOLDOUT - task.horizon + 1
    with pytest.raises(ValueError, match=r"holdout_months \(--holdout\) must be at least the horizon, 6 months"):
        holdout_origins(project, task, 5)
    short = project.tail(20)
    with pytest.raises(ValueError, match=re.escape(
            f"{short[ID].iloc[0]} has 20 months of history; a holdout check of 12 months needs 12 months before it "
            "(24 in all): pass a smaller --holdout (from 6 to 8)")):
        holdout_origins(short, task, HOLDOUT)
    assert len(holdout_origins(short, task, 8)[1]) == 3
    with pytest.raises(ValueError, match=re.escape(
            "has 17 months of history; a holdout check of 6 months needs 12 months before it (18 in all): "
            "the smallest check needs 18 months; `tsfuse fit` still forecasts it")):
        holdout_origins(project.tail(17), task, 6)


def test_confusion_counts_sum_to_the_backtest_windows(project, task, pretrained_dir):
    _, origins = holdout_origins(project, task, HOLDOUT)
    check = holdout_check(project, "", pretrained_dir, origins)
    n = len(origins)  # one project: one window per origin
    assert check.trend.shape == (3, 3) and check.level.shape == (5, 5)
    assert check.windows == check.trend.sum() == check.level.sum() == n
    assert check.months == n * task.horizon and 0 <= check.covered <= check.months
    # the true classes are the windows' own labels
    truth = fit(project, "", pretrained=pretrained_dir, finetune=False).backtest(project, origins)[0]
    np.testing.assert_array_equal(check.trend.sum(1), np.bincount(truth.trend, minlength=3))
    np.testing.assert_array_equal(check.level.sum(1), np.bincount(truth.level, minlength=5))


def test_pretraining_caveat_only_when_pretraining_reached_into_the_holdout(pretrained_dir):
    model, start = load(pretrained_dir), pd.Timestamp("2023-01-01")
    uid = "facebook/react"
    assert model.task.name == "oss-activity" and model.info["trained_on"]["before"] is None
    assert pretraining_saw_holdout(model, start, "oss-activity", uid)
    assert not pretraining_saw_holdout(model, start, None, uid)  # a project from git or CSV was never pretrained on
    assert not pretraining_saw_holdout(model, start, "opendigger", uid)  # nor one of another corpus
    model.info["trained_on"]["before"] = "2023-06-01"
    assert pretraining_saw_holdout(model, start, "oss-activity", uid)
    model.info["trained_on"]["before"] = "2023-01-01"
    assert not pretraining_saw_holdout(model, start, "oss-activity", uid)


def test_pretraining_caveat_for_a_v1_project_follows_membership_of_the_v2_corpus_the_model_saw(pretrained_dir):
    """The shipped oss-activity model is pretrained on oss-activity-v2: a v1 project is seen iff v2 kept it."""
    model, start = load(pretrained_dir), pd.Timestamp("2023-01-01")
    model.task = replace(model.task, name="oss-activity-v2")
    v1, v2 = set(load_corpus("oss-activity").projects), set(load_corpus("oss-activity-v2").projects)
    kept, dropped = sorted(v1 & v2), sorted(v1 - v2)
    assert kept and dropped
    assert pretraining_saw_holdout(model, start, "oss-activity", kept[0])
    assert not pretraining_saw_holdout(model, start, "oss-activity", dropped[0])


def test_write_report_page_tables_and_images(project, pretrained_dir, tmp_path):
    page = write_report(project, "", tmp_path / "rep", pretrained=pretrained_dir, holdout_months=HOLDOUT,
                        source="synthetic", corpus="oss-activity")
    text = page.read_text(encoding="utf-8")
    months = pd.date_range(project[DS].max() + pd.offsets.MonthBegin(1), periods=6, freq="MS")
    for month in months.strftime("%Y-%m"):
        assert re.search(rf"<tr>\s*<td>{month}</td>(\s*<td>[0-9.]+</td>){{3}}\s*</tr>", text), month
    n = HOLDOUT - 6 + 1
    assert f"<b>{n} rolling origins</b>" in text
    assert "Caveat: the pretrained model was trained on the oss-activity corpus, months up to the end" in text
    for name in ("forecast.png", "confusion.png", "training.png"):
        assert f'<img src="{name}"' in text
        with Image.open(page.parent / name) as img:
            img.verify()
            assert img.format == "PNG" and img.size[0] > 600


def test_cli_report_from_csv_and_its_errors(project, pretrained_dir, tmp_path, capsys):
    csv = tmp_path / "project.csv"
    project[[DS, "y"]].to_csv(csv, index=False)
    out = tmp_path / "rep"
    assert main(["report", "--csv", str(csv), "--pretrained", str(pretrained_dir), "--holdout", str(HOLDOUT),
                 "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"report: {out / 'index.html'}")
    text = (out / "index.html").read_text(encoding="utf-8")
    assert f"CSV file {csv}" in text and "Caveat" not in text
    assert main(["report"]) == 2
    assert "error: which project? give OWNER/NAME, --git PATH or --csv FILE" in capsys.readouterr().err
    assert main(["report", "pallets/flask", "--csv", str(csv)]) == 2
    assert "error: give the project once: OWNER/NAME (pallets/flask) or --project, --git or --csv" in \
        capsys.readouterr().err
    assert main(["report", "--csv", str(csv), "--pretrained", str(pretrained_dir), "--holdout", "5"]) == 2
    assert "must be at least the horizon, 6 months" in capsys.readouterr().err


@pytest.mark.parametrize("months, expected", [(19, "The holdout is 7 months instead of the 18 asked for"),
                                              (15, "No holdout check: the project has 15 months of history")])
def test_a_young_project_still_gets_a_report_that_says_what_was_done(project, pretrained_dir, tmp_path, months,
                                                                     expected):
    young = project.tail(months)
    page = write_report(young, "", tmp_path / "rep", pretrained=pretrained_dir, holdout_months=18, source="young")
    text = page.read_text(encoding="utf-8")
    assert expected in text
    assert "too little history to fine-tune it" in text  # fewer than 24 months: fine-tuning is skipped
    assert ("confusion.png" in text) == (months == 19)

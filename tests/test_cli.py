import pandas as pd
import pytest

from tests.conftest import TINY_MODEL, TINY_TRAIN
from tsfuse.app.cli import main
from tsfuse.estimator import Forecaster


def test_data_show_prints_table_and_sparkline(capsys):
    assert main(["data", "show", "pallets/flask"]) == 0
    out = capsys.readouterr().out
    assert "pallets/flask (oss-activity)" in out and "last 24 months" in out
    assert any(ch in out for ch in "▁▂▃▄▅▆▇█")


def test_data_show_a_v2_project_counts_its_stored_readme_versions(capsys):
    assert main(["data", "show", "--corpus", "oss-activity-v2", "pallets/flask"]) == 0
    out = capsys.readouterr().out
    assert "pallets/flask (oss-activity-v2)" in out and "stored version(s) (embeddings" in out


def test_data_show_unknown_project_names_it(capsys):
    assert main(["data", "show", "nobody/nothing"]) == 2
    assert "error: project 'nobody/nothing' is not in the oss-activity corpus" in capsys.readouterr().err


def test_pretrain_resume_needs_a_log_dir(capsys):
    assert main(["pretrain", "--out", "/nonexistent/never-written", "--resume"]) == 2
    assert "error: --resume needs --log-dir" in capsys.readouterr().err


@pytest.mark.parametrize("corpus", ["oss-activity", "oss-activity-v2", "opendigger"])
def test_pretrain_applies_the_corpus_recipe_unless_told_not_to(corpus, monkeypatch, capsys):
    from tsfuse.config import CORPUS_RECIPES

    seen = []

    def fake_pretrain(cls, panel, texts, task, **kwargs):
        seen.append(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(Forecaster, "pretrain", classmethod(fake_pretrain))
    for extra in ([], ["--recipe", "none"], ["--temporal", "transformer", "--max-epochs", "2"]):
        with pytest.raises(RuntimeError, match="stop here"):
            main(["pretrain", "--corpus", corpus, "--out", "/nonexistent/never-written", *extra])
    recipe, bare, flags = seen
    assert recipe["model"] == CORPUS_RECIPES[corpus]["model"] and recipe["train"] == CORPUS_RECIPES[corpus]["train"]
    assert bare["model"] == {} and bare["train"] == {}
    assert flags["model"] == {**CORPUS_RECIPES[corpus]["model"], "temporal": "transformer"}
    assert flags["train"] == {**CORPUS_RECIPES[corpus]["train"], "max_epochs": 2}
    assert f"recipe of {corpus}" in capsys.readouterr().err


def test_data_check_reports_flags(capsys):
    assert main(["data", "check", "--corpus", "opendigger"]) == 0
    out = capsys.readouterr().out
    assert "224 projects" in out and "missing_metrics" in out and "cut_start" in out


@pytest.fixture(scope="module")
def pretrained_dir(panel, task, tmp_path_factory):
    model = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL, train=TINY_TRAIN)
    return model.save(tmp_path_factory.mktemp("m") / "pre")


def test_fit_from_csv_prints_forecast_writes_chart_and_model(panel, pretrained_dir, tmp_path, capsys):
    csv = tmp_path / "project.csv"
    panel[panel.unique_id == "org/project-5"][["ds", "y"]].to_csv(csv, index=False)
    png, out_dir = tmp_path / "fan.png", tmp_path / "fitted"
    assert main(["fit", "--csv", str(csv), "--pretrained", str(pretrained_dir), "--plot", str(png),
                 "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "p50" in out and "trend_up" in out
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["predict", "--model", str(out_dir)]) == 0
    assert "p90" in capsys.readouterr().out


def test_fit_with_bad_csv_gives_clear_error(tmp_path, pretrained_dir, capsys):
    csv = tmp_path / "bad.csv"
    pd.DataFrame({"month": ["2020-01-01"], "y": [1]}).to_csv(csv, index=False)
    assert main(["fit", "--csv", str(csv), "--pretrained", str(pretrained_dir)]) == 2
    assert "missing column(s) ['ds']" in capsys.readouterr().err


def test_version_flag_prints_the_package_version(capsys):
    from tsfuse import __version__
    from tsfuse.app.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"tsfuse {__version__}"


def test_backtest_origins_are_the_latest_whose_horizon_is_observed(tmp_path, capsys):
    import io

    import pandas as pd

    from tsfuse.app.cli import main
    from tsfuse.data.synthetic import generate_panel

    panel = generate_panel(1, 36, seed=4, start="2021-01")
    csv = tmp_path / "p.csv"
    panel[["ds", "y"]].to_csv(csv, index=False)
    assert main(["backtest", "--csv", str(csv), "--n-windows", "2", "--step-size", "3", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    # last month 2023-12, horizon 6: origins 2023-04 and 2023-07, so cutoffs 2023-03 and 2023-06
    assert sorted(table["cutoff"].unique()) == ["2023-03-01", "2023-06-01"]
    assert len(table) == 12 and table["y"].notna().all()

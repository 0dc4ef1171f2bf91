"""from_opendigger / from_opendigger_tree on hand-made metric folders."""

import json

import pandas as pd

import pytest

from tsfuse.data.sources.opendigger import COVARIATES, from_opendigger, from_opendigger_tree
from tsfuse.data.schema import PanelError, validate_panel

APRIL_2023_MS = 1680399078645  # 2023-04-02, as in the OpenSODA 2023 export


def project(root, uid, metrics, updated=APRIL_2023_MS):
    folder = root / uid
    folder.mkdir(parents=True)
    for name, data in metrics.items():
        (folder / f"{name}.json").write_text(json.dumps(data))
    if updated is not None:
        (folder / "meta.json").write_text(json.dumps({"updatedAt": updated}))
    return folder


def by_month(panel, column):
    return dict(zip(panel["ds"].dt.strftime("%Y-%m"), panel[column]))


def test_series_rules(tmp_path):
    folder = project(tmp_path, "own/repo", {
        "activity": {"2022-11": 5.5, "2023-01": 7, "2021-10-raw": 99, "2022": 100, "2022Q4": 9},
        "stars": {"2022-10": 1000, "2022-11": 3, "2023-03": 4},  # 2022-10 is before the series start
        "openrank": {"2022-12": 1.25},
    })
    panel, readme = from_opendigger(folder)
    assert readme == ""  # an export has no README
    assert set(panel["unique_id"]) == {"own/repo"}
    assert by_month(panel, "y") == {"2022-11": 5.5, "2022-12": 0, "2023-01": 7, "2023-02": 0, "2023-03": 0}
    assert by_month(panel, "stars") == {"2022-11": 3, "2022-12": 0, "2023-01": 0, "2023-02": 0, "2023-03": 4}
    assert by_month(panel, "openrank")["2022-12"] == 1.25
    assert list(panel.columns[:3]) == ["unique_id", "ds", "y"]
    for metric in COVARIATES:
        assert metric in panel.columns and f"{metric}_missing" in panel.columns
    assert panel["stars_missing"].eq(0).all()
    assert panel["bus_factor_missing"].eq(1).all() and panel["bus_factor"].eq(0).all()
    absent = [m for m in COVARIATES if panel[f"{m}_missing"].eq(1).all()]
    assert absent == [m for m in COVARIATES if m not in ("stars", "openrank")]
    validate_panel(panel)


def test_end_month(tmp_path):
    no_meta = project(tmp_path, "a/no-meta", {"activity": {"2020-01": 1, "2020-03": 2}}, updated=None)
    assert by_month(from_opendigger(no_meta)[0], "y") == {"2020-01": 1, "2020-02": 0, "2020-03": 2}
    assert from_opendigger(no_meta, end="2020-05")[0]["ds"].max().strftime("%Y-%m") == "2020-05"
    late = project(tmp_path, "a/late", {"activity": {"2023-03": 1, "2023-04": 8}})
    assert by_month(from_opendigger(late, unique_id="x/y")[0], "y") == {"2023-03": 1}  # April is incomplete


def test_tree_reader_accepts_tree_or_parent(tmp_path):
    tree = tmp_path / "top_300_metrics"
    project(tree, "b/two", {"activity": {"2023-02": 2}})
    project(tree, "a/one", {"activity": {"2023-01": 1}})
    for root in (tmp_path, tree):
        panel = from_opendigger_tree(root)
        assert panel["unique_id"].unique().tolist() == ["a/one", "b/two"]
        assert len(panel) == 5  # both run to 2023-03


def test_errors(tmp_path):
    empty = tmp_path / "o" / "empty"
    empty.mkdir(parents=True)
    with pytest.raises(PanelError, match="no activity.json"):
        from_opendigger(empty)
    with pytest.raises(PanelError, match=r"have no activity.json, e.g. \['o/empty'\]"):
        from_opendigger_tree(tmp_path)
    with pytest.raises(PanelError, match="does not exist"):
        from_opendigger_tree(tmp_path / "missing")
    bad = project(tmp_path / "t", "p/bad", {"activity": {"2023-01": "many"}})
    with pytest.raises(PanelError, match="'2023-01' holds 'many'"):
        from_opendigger(bad)
    (bad / "activity.json").write_text("{not json")
    with pytest.raises(PanelError, match="not valid JSON"):
        from_opendigger(bad)
    (bad / "activity.json").write_text("{}")
    with pytest.raises(PanelError, match="no monthly key"):
        from_opendigger(bad)


def test_an_opendigger_panel_is_forecast_by_the_opendigger_model(tmp_path, capsys):
    import tsfuse
    from tsfuse.app.cli import main

    folder = tmp_path / "owner" / "repo"
    folder.mkdir(parents=True)
    months = pd.period_range("2020-01", periods=36, freq="M").strftime("%Y-%m")
    (folder / "activity.json").write_text(json.dumps({m: 100.0 + i for i, m in enumerate(months)}))
    (folder / "openrank.json").write_text(json.dumps({m: 5.0 for m in months}))
    model = tsfuse.fit(*from_opendigger(folder), finetune=False)
    assert model.task.name == "opendigger"
    assert main(["fit", "--opendigger", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "owner/repo" in out and "p50" in out

"""Quality flags on hand-made panels, and the report on the embedded corpora."""

import pandas as pd
import pytest

from tsfuse.data.corpus import Corpus, load_corpus
from tsfuse.data.corpus import quality_report
from tsfuse.data.quality import FLAGS, flag_lists, format_quality_report, quality_flags
from tsfuse.data.tasks import TASKS


def project(uid, values, start="2020-01-01", **covariates):
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(values), freq="MS"),
                         "y": [float(v) for v in values], **covariates})


def test_dead_burst_stops_early():
    panel = pd.concat([
        project("a/steady", [5] * 36),
        project("a/dead", [5] * 24 + [0] * 12),
        project("a/almost-dead", [5] * 24 + [0] * 11 + [1]),
        project("a/burst", [1] * 35 + [300]),  # 300 >= 25% of 335 and >= 20x the mean 1 of the others
        project("a/big-month", [10] * 35 + [150]),  # 15x the others' mean: not a burst
        project("a/short", [5] * 30),  # ends 2022-06, before the corpus end 2022-12
    ], ignore_index=True)
    flags = quality_flags(panel)
    assert flags.index[flags["dead"]].tolist() == ["a/dead"]
    assert flags.index[flags["burst"]].tolist() == ["a/burst"]
    assert flags.index[flags["stops_early"]].tolist() == ["a/short"]


def test_stops_early_uses_the_task_end():
    panel = pd.concat([project("a/long", [1] * 60), project("a/to-2023-03", [1] * 39)], ignore_index=True)
    flags = quality_flags(panel, task=TASKS["opendigger"])  # last origin 2022-10 + 5 = 2023-03
    assert not flags["stops_early"].any()
    flags = quality_flags(panel, task=TASKS["oss-activity"])  # needs 2024-09; a/long ends 2024-12
    assert flags["stops_early"].tolist() == [False, True]


def test_cut_start_needs_a_pile_up_at_the_first_month_or_truncated_history():
    one_early = pd.concat([project("a/oldest", [1] * 40), project("a/b", [1] * 20, start="2021-09-01"),
                           project("a/c", [1] * 10, start="2022-07-01")], ignore_index=True)
    assert not quality_flags(one_early)["cut_start"].any()
    two = pd.concat([one_early, project("a/also-oldest", [1] * 40)], ignore_index=True)
    assert not quality_flags(two)["cut_start"].any()
    piled = pd.concat([two, project("a/third-oldest", [1] * 40)], ignore_index=True)
    flags = quality_flags(piled)
    assert flags.index[flags["cut_start"]].tolist() == ["a/also-oldest", "a/oldest", "a/third-oldest"]
    meta = pd.DataFrame({"unique_id": ["a/b", "a/c", "a/oldest"], "history_truncated": [False, True, False]})
    assert quality_flags(one_early, meta=meta)["cut_start"].tolist() == [False, True, False]


@pytest.mark.parametrize("uid, text, reason", [
    ("archway-network/testnets", "", "name 'testnets'"),
    ("education/GitHubGraduation-2022", "", "name 'graduation'"),
    ("firstcontributions/first-contributions", "", "name 'first-contribution'"),
    ("MetaMask/eth-phishing-detect", "", "name 'phishing'"),
    ("someone/thing", "This is a test repository for our CI.", "README 'this is a test repository'"),
    ("pytest-dev/pytest", "", ""),
    ("google/googletest", "A testing framework, used for testing purposes.", ""),
    ("thoughtbot/factory_bot", "", ""),
])
def test_event_test_bot(uid, text, reason):
    flags = quality_flags(project(uid, [1] * 24), texts={uid: text})
    assert reason in flags.at[uid, "event_test_bot_reason"]
    assert flags.at[uid, "event_test_bot"] == bool(reason)


def test_missing_metrics_and_flag_lists():
    panel = pd.concat([project("a/x", [1] * 24, stars=0.0, stars_missing=1.0, bus_factor=1.0, bus_factor_missing=1.0),
                       project("a/y", [1] * 24, stars=1.0, stars_missing=0.0, bus_factor=1.0, bus_factor_missing=0.0)],
                      ignore_index=True)
    flags = quality_flags(panel)
    assert flags["missing_metrics"].tolist() == ["stars;bus_factor", ""]
    lists = flag_lists(flags)
    assert set(lists) == set(FLAGS) and lists["missing_metrics"] == ["a/x"]


def test_report_on_a_small_corpus():
    panel = pd.concat([project("a/dead", [5] * 24 + [0] * 12), project("a/ok", [5] * 35, start="2020-02-01")],
                      ignore_index=True)
    meta = pd.DataFrame({"unique_id": ["a/dead", "a/ok"]})
    corpus = Corpus("oss-activity", panel, {"a/dead": "", "a/ok": ""}, meta, TASKS["oss-activity"])
    report = quality_report(corpus)
    assert report.loc["a/dead", "n_flags"] == 2 and report.loc["a/ok", "n_flags"] == 1  # dead + stops_early
    text = format_quality_report(report)
    assert "oss-activity: 2 projects, 71 project-months, 2020-01 .. 2022-12" in text
    assert "dead (1): a/dead" in text


@pytest.fixture(scope="module")
def reports():
    return {name: quality_report(load_corpus(name)) for name in ("oss-activity", "opendigger")}


def test_embedded_corpora_flags(reports):
    od, oss = reports["opendigger"], reports["oss-activity"]
    assert od.loc["archway-network/testnets", ["burst", "event_test_bot"]].all()
    assert od["cut_start"].sum() == 61 and (od.loc[od["cut_start"], "first_month"] == "2015-01-01").all()
    assert od.loc["apache/spark", "missing_metrics"] == "issues_new;issues_closed"
    assert oss.loc["stevemao/left-pad", "dead"] and oss.loc["kennethreitz/records", "burst"]
    assert not oss["cut_start"].any() and oss["missing_metrics"].eq("").all()
    assert "opendigger: 224 projects" in format_quality_report(od)

"""from_commits: the oss-activity series rules on hand-made commit tables."""

import pandas as pd
import pytest

from tsfuse.data.sources.commits import COVARIATES, from_commits
from tsfuse.data.schema import PanelError, validate_panel


def commit(when, author, merge=0, ins=0, dels=0, project="o/p"):
    return {"project": project, "authored_at": when, "author_id": author, "is_merge": merge,
            "insertions": ins, "deletions": dels}


def frame(*rows):
    return pd.DataFrame(list(rows))


def series(panel, column, uid="o/p"):
    part = panel[panel["unique_id"] == uid]
    return dict(zip(part["ds"].dt.strftime("%Y-%m"), part[column]))


def test_monthly_counts_gaps_and_snapshot_month_dropped():
    commits = frame(
        commit("2023-01-05T10:00:00Z", "a", ins=3, dels=1),
        commit("2023-01-20T10:00:00Z", "b", ins=2),
        commit("2023-01-21T10:00:00Z", "a", ins=1),
        commit("2023-03-02T10:00:00Z", "c", merge=1, ins=50),  # merge: counts in merges and new_authors only
        commit("2023-03-03T10:00:00Z", "b", dels=4),
        commit("2023-04-10T10:00:00Z", "d", ins=9),  # in the snapshot month: dropped
    )
    tags = pd.DataFrame({"project": ["o/p", "o/p", "o/p"],
                         "tagged_at": ["2023-01-31T23:59:59Z", "2023-03-01T00:00:00Z", "2022-06-01T00:00:00Z"]})
    panel = from_commits(commits, tags, snapshot="2023-04-15")
    assert list(panel.columns) == ["unique_id", "ds", "y", *COVARIATES]
    assert series(panel, "y") == {"2023-01": 3, "2023-02": 0, "2023-03": 1}
    assert series(panel, "authors") == {"2023-01": 2, "2023-02": 0, "2023-03": 1}
    assert series(panel, "new_authors") == {"2023-01": 2, "2023-02": 0, "2023-03": 1}
    assert series(panel, "churn") == {"2023-01": 7, "2023-02": 0, "2023-03": 4}
    assert series(panel, "merges") == {"2023-01": 0, "2023-02": 0, "2023-03": 1}
    assert series(panel, "releases") == {"2023-01": 1, "2023-02": 0, "2023-03": 1}  # 2022 tag before the start
    validate_panel(panel)


def test_series_starts_at_first_commit_even_a_merge():
    commits = frame(commit("2022-11-30T12:00:00Z", "m", merge=1), commit("2023-01-02T00:00:00Z", "a"))
    panel = from_commits(commits, snapshot="2023-02-01")
    assert series(panel, "y") == {"2022-11": 0, "2022-12": 0, "2023-01": 1}
    assert series(panel, "new_authors") == {"2022-11": 1, "2022-12": 0, "2023-01": 1}


def test_new_author_counted_once_at_first_commit_of_any_kind():
    commits = frame(commit("2023-01-02T00:00:00Z", "x", merge=1), commit("2023-02-02T00:00:00Z", "x"),
                    commit("2023-02-03T00:00:00Z", "x"))
    panel = from_commits(commits, snapshot="2023-03-01")
    assert series(panel, "new_authors") == {"2023-01": 1, "2023-02": 0}
    assert series(panel, "authors") == {"2023-01": 0, "2023-02": 1}


def test_default_snapshot_drops_the_month_of_the_latest_commit():
    commits = frame(commit("2023-01-02T00:00:00Z", "a"), commit("2023-03-09T00:00:00Z", "a"))
    assert series(from_commits(commits), "y") == {"2023-01": 1, "2023-02": 0}


def test_months_before_1995_and_after_snapshot_are_ignored():
    commits = frame(commit("1970-01-01T00:00:01Z", "z"), commit("2000-05-05T00:00:00Z", "a"),
                    commit("2000-06-05T00:00:00Z", "z"), commit("2031-01-01T00:00:00Z", "a"))
    panel = from_commits(commits, snapshot="2000-07-10")
    assert series(panel, "y") == {"2000-05": 1, "2000-06": 1}
    assert series(panel, "new_authors") == {"2000-05": 1, "2000-06": 1}  # z's 1970 commit does not count


def test_months_are_utc():
    commits = frame(commit("2023-01-31T23:30:00-02:00", "a"), commit("2023-02-28T23:00:00Z", "a"))
    assert series(from_commits(commits, snapshot="2023-03-02"), "y") == {"2023-02": 2}


def test_per_project_snapshots_and_unique_id():
    commits = frame(commit("2023-01-02T00:00:00Z", "a", project="x/one"),
                    commit("2023-02-02T00:00:00Z", "a", project="x/one"),
                    commit("2023-01-03T00:00:00Z", "b", project="x/two"))
    panel = from_commits(commits, snapshot={"x/one": "2023-04-01", "x/two": "2023-02-10"})
    assert series(panel, "y", "x/one") == {"2023-01": 1, "2023-02": 1, "2023-03": 0}
    assert series(panel, "y", "x/two") == {"2023-01": 1}
    single = from_commits(commits[commits["project"] == "x/two"].drop(columns="project"),
                          snapshot="2023-02-10", unique_id="me/mine")
    assert set(single["unique_id"]) == {"me/mine"}


def test_project_without_a_complete_month_warns():
    commits = frame(commit("2023-01-02T00:00:00Z", "a", project="x/old"),
                    commit("2023-05-02T00:00:00Z", "a", project="x/new"))
    with pytest.warns(UserWarning, match="x/new"):
        panel = from_commits(commits, snapshot="2023-05-20")
    assert set(panel["unique_id"]) == {"x/old"}


@pytest.mark.parametrize("drop, message", [
    ("authored_at", r"missing column\(s\) \['authored_at'\]"),
    ("project", r"missing column\(s\) \['project'\] \(or pass unique_id"),
])
def test_missing_columns(drop, message):
    with pytest.raises(PanelError, match=message):
        from_commits(frame(commit("2023-01-02T00:00:00Z", "a")).drop(columns=drop))


def test_unparsable_date_names_row_and_value():
    commits = frame(commit("2023-01-02T00:00:00Z", "a"), commit("yesterday", "a"))
    with pytest.raises(PanelError, match=r"'authored_at'.*'yesterday' at row 1"):
        from_commits(commits)
    tags = pd.DataFrame({"project": ["o/p"], "tagged_at": ["soon"]})
    with pytest.raises(PanelError, match=r"tags column 'tagged_at'.*'soon'"):
        from_commits(frame(commit("2023-01-02T00:00:00Z", "a")), tags, snapshot="2023-03-01")


def test_bad_values_and_conflicts():
    with pytest.raises(PanelError, match="is_merge"):
        from_commits(frame(commit("2023-01-02T00:00:00Z", "a", merge=2)))
    with pytest.raises(PanelError, match="insertions"):
        from_commits(frame(commit("2023-01-02T00:00:00Z", "a", ins=-1)))
    with pytest.raises(PanelError, match="unique_id='a/b'"):
        from_commits(frame(commit("2023-01-02T00:00:00Z", "a")), unique_id="a/b")
    with pytest.raises(PanelError, match="no entry for project"):
        from_commits(frame(commit("2023-01-02T00:00:00Z", "a")), snapshot={"other/x": "2024-01-01"})
    with pytest.raises(PanelError, match="snapshot is not a date"):
        from_commits(frame(commit("2023-01-02T00:00:00Z", "a")), snapshot="later")
    with pytest.raises(PanelError, match="no commit falls in a complete month"):
        from_commits(frame(commit("2023-01-02T00:00:00Z", "a")))
    with pytest.raises(PanelError, match="empty"):
        from_commits(frame(commit("2023-01-02T00:00:00Z", "a")).iloc[:0])

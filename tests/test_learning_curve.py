"""The learning curve (benchmarks/learning_curve.py, run.py --train-fraction): nested shares of the
training projects, the same evaluation windows at every share."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from benchmarks import learning_curve as lc
from benchmarks import run as bench
from benchmarks.common import BenchmarkError, nested_sample, sha_order


def test_shares_are_nested_and_sized_by_ceiling():
    ids = [f"owner/project-{i}" for i in range(203)]
    small, mid, full = (nested_sample(ids, f) for f in (0.03, 0.3, 1.0))
    assert (len(small), len(mid), len(full)) == (7, 61, 203)
    assert small == mid[:7] and mid == full[:61] and full == sha_order(ids)
    assert nested_sample(ids[:3], 0.01) == sha_order(ids[:3])[:1]  # never empty


def test_train_fraction_is_refused_in_corpus_and_out_of_range(tmp_path):
    with pytest.raises(BenchmarkError, match="cross-project"):
        bench.main(["--quick", "--methods", "naive", "--train-fraction", "0.5", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        bench.main(["--mode", "cross-project", "--train-fraction", "0", "--out", str(tmp_path)])


def test_a_curve_trains_on_nested_shares_and_scores_the_same_windows(tmp_path, capsys):
    out = tmp_path / "curve"
    args = ["--corpus", "oss-activity", "--fractions", "0.1,0.3", "--methods", "naive,ridge", "--out", str(out)]
    assert lc.main(["run", *args, "--", "--origins", "2024-04"]) == 0
    assert lc.main(["run", *args, "--", "--origins", "2024-04"]) == 0  # a second run keeps the finished ones
    assert "done already" in capsys.readouterr().err
    split = json.loads((tmp_path / "curve" / "oss-activity-train10.json").read_text())
    full = json.loads((tmp_path / "curve" / "oss-activity-train30.json").read_text())
    n_train = int(split["split"]["train_fraction_rule"].split("x ")[1].split(")")[0])
    assert split["projects"]["train"] == math.ceil(0.1 * n_train) and full["projects"]["train"] == math.ceil(0.3 * n_train)
    assert split["projects"]["eval"] == full["projects"]["eval"]
    assert {a["projects"] for a in split["training_audit"]} == {split["projects"]["train"]}  # every fit saw the share
    assert lc.main(["summarize", "--corpus", "oss-activity", "--out", str(out), "--pages", str(out)]) == 0
    result = json.loads((out / "learning-curve-oss-activity.json").read_text())
    assert result["gains"]["gain"]["naive"]["gain"] == 0.0  # naive is local: the same windows, the same errors
    assert result["gains"]["gain"]["ridge"]["windows"] == split["results"]["ridge"]["windows"]
    page = (out / "learning-curve-oss-activity.md").read_text()
    assert "| ridge | 0.1 |" in page and (out / "learning-curve-oss-activity.png").stat().st_size > 0


def test_train_projects_restricts_the_training_side_only(tmp_path):
    from benchmarks.common import load_named_corpus, load_split

    split, _ = load_split(load_named_corpus("oss-activity"))
    listed = tmp_path / "listed.txt"
    listed.write_text("# a comment\n" + "\n".join([*split["train"][:5], split["eval"][0], "nobody/nothing"]) + "\n")
    out = tmp_path / "run"
    bench.main(["--corpus", "oss-activity", "--mode", "cross-project", "--methods", "naive,ridge", "--origins",
                "2024-04", "--train-projects", str(listed), "--out", str(out), "--name", "listed"])
    page = json.loads((out / "listed.json").read_text())
    assert {a["projects"] for a in page["training_audit"]} == {5}
    scored = set(pd.read_csv(out / "listed-windows.csv.gz")["unique_id"])
    assert scored and scored <= set(split["eval"])  # the scored side is the split's, untouched
    assert "2 listed ones are not training projects" in page["split"]["train_projects_rule"]
    (tmp_path / "none.txt").write_text(split["eval"][0] + "\n")
    with pytest.raises(BenchmarkError, match="none of its 1 projects"):
        bench.main(["--corpus", "oss-activity", "--mode", "cross-project", "--methods", "naive", "--train-projects",
                    str(tmp_path / "none.txt"), "--out", str(out)])
    with pytest.raises(BenchmarkError, match="cross-project"):
        bench.main(["--quick", "--methods", "naive", "--train-projects", str(listed), "--out", str(out)])

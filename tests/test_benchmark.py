"""The benchmark runner (benchmarks/run.py): a quick end-to-end run, and cross-project runs on raw folders
that must never train on an evaluation project."""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from benchmarks import run as bench
from benchmarks.common import GROWING_CORPORA, RAW_DATA_DIR, REPO, BenchmarkError, hash_split, make_split, sha_order
from benchmarks.report import fast_macro_f1
from tsfuse.eval.metrics import macro_f1

QUALITY = ("mase_mean", "mase_median", "smape", "rmsle", "trend_f1", "trend_acc", "level_f1", "level_acc")


def _finite_rows(results: dict) -> None:
    for method, row in results.items():
        for key in (*QUALITY, "fit_s", "predict_s"):
            assert row[key] is not None and math.isfinite(row[key]), (method, key, row[key])
        assert row["windows"] > 0 and row["projects"] > 0


# ------------------------------------------------------------------------- quick run
@pytest.mark.slow
def test_quick_run_end_to_end(tmp_path):
    # a fresh interpreter, as a user runs it: run.py sets OMP_WAIT_POLICY=PASSIVE before torch / LightGBM
    # load OpenMP (set after that, in this test process, LightGBM and torch spin-wait: 4x slower on 2 cores)
    proc = subprocess.run([sys.executable, "benchmarks/run.py", "--quick", "--out", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "wrote" in proc.stdout and "tsfuse" in proc.stdout
    stem = "oss-activity-in-corpus"
    for suffix in (".md", ".json", "-horizon.png", "-windows.csv.gz"):
        assert (tmp_path / f"{stem}{suffix}").stat().st_size > 0, suffix
    report = json.loads((tmp_path / f"{stem}.json").read_text())
    assert list(report["results"]) == list(bench.ALL_METHODS)  # every method, same windows
    _finite_rows(report["results"])
    assert {r["windows"] for r in report["results"].values()} == {sum(report["windows_per_origin"].values())}
    assert report["origins"] == ["2023-04"] and report["quick"] and report["seed"] == 0
    assert report["command"].startswith("python benchmarks/run.py --quick")
    for pkg in ("torch", "lightning", "pandas", "statsforecast", "lightgbm", "pytorch-forecasting", "tsfuse"):
        assert report["versions"][pkg] != "not installed"
    assert report["machine"]["cpu_count"] >= 1
    assert set(report["verdict"]) == set(QUALITY)
    assert set(report["text_ablation"]) == {"tsfuse-text-empty", "tsfuse-no-text-tower"}
    for d in report["text_ablation"].values():
        for key in ("mase", "trend_f1", "level_f1"):
            mean, lo, hi = d[key]
            assert lo <= mean + 1e-9 and mean <= hi + 1e-9
    _finite_rows(report["text_ablation_rows"])
    curves = report["per_horizon"]["tsfuse"]
    assert len(curves["mae"]) == len(curves["mase"]) == 6
    windows = pd.read_csv(tmp_path / f"{stem}-windows.csv.gz")
    assert set(windows["method"]) == set(bench.ALL_METHODS) | {"tsfuse-text-empty", "tsfuse-no-text-tower"}
    md = (tmp_path / f"{stem}.md").read_text()
    assert "QUICK RUN" in md and "Text ablation" in md and "beats the best baseline" in md
    assert all(a["last_month"] < "2023-04" for a in report["training_audit"])


# -------------------------------------------------------------------- raw folders
def _write_raw(folder, projects: list[str], seed: int) -> None:
    """A tiny oss-activity raw export: commits 2019-01 .. 2024-12, snapshot 2025-01-20."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    (folder / "readmes").mkdir()
    commits, tags = [], []
    months = pd.date_range("2019-01-01", "2024-12-01", freq="MS")
    for k, project in enumerate(projects):
        level = 5 + 10 * k
        for i, m in enumerate(months):
            for j in range(int(rng.poisson(level * (1 + 0.3 * np.sin(i / 4))))):
                when = m + pd.Timedelta(days=int(rng.integers(0, 27)), hours=int(rng.integers(0, 23)))
                stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
                commits.append({"project": project, "sha": f"{k:02d}{i:03d}{j:07d}", "authored_at": stamp,
                                "committed_at": stamp, "author_id": f"a{int(rng.integers(0, 6)):011d}",
                                "is_merge": int(rng.random() < 0.1), "files_changed": 1,
                                "insertions": int(rng.integers(1, 50)), "deletions": int(rng.integers(0, 20))})
            if i % 6 == 0:
                tags.append({"project": project, "tag": f"v{i}", "tagged_at": m.strftime("%Y-%m-15T00:00:00Z")})
        (folder / "readmes" / f"{project.replace('/', '__')}.txt").write_text(
            f"# {project}\n\nA small library for parsing things, number {k}.\n", encoding="utf-8")
    for name, rows in (("commits.csv.gz", commits), ("tags.csv.gz", tags)):
        with gzip.open(folder / name, "wt", encoding="utf-8") as fh:
            pd.DataFrame(rows).to_csv(fh, index=False)
    pd.DataFrame({"project": projects, "snapshot_taken_approx": "2025-01-20T00:00:00Z",
                  "main_language": "Python", "language_group": "python"}).to_csv(folder / "projects.csv", index=False)


@pytest.fixture(scope="module")
def raw_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    train = [f"train-org/lib{i}" for i in range(4)]
    test = [f"eval-org/app{i}" for i in range(3)]
    _write_raw(root / "train", train, seed=1)
    _write_raw(root / "eval", test, seed=2)
    _write_raw(root / "overlap", [test[0], "other-org/tool"], seed=3)
    return root, train, test


def _spy(monkeypatch, seen: list) -> None:
    """Record the projects and last month of every panel a global method is trained on."""
    from tsfuse.eval.baselines.lags import LagForecaster
    from tsfuse.eval.baselines.neural import _NeuralBaseline
    from tsfuse.estimator import Forecaster

    def note(who, panel, cutoff):
        seen.append((who, set(panel["unique_id"].astype(str)), pd.Timestamp(panel["ds"].max()), pd.Timestamp(cutoff)))

    original_pretrain = Forecaster.pretrain.__func__

    def pretrain(cls, panel, texts, task, **kw):
        note("tsfuse", panel, kw["before"])
        ids = set(texts["unique_id"]) if isinstance(texts, pd.DataFrame) else set(texts)
        assert ids <= set(panel["unique_id"]), "README texts of projects outside the training panel"
        return original_pretrain(cls, panel, texts, task, **kw)

    monkeypatch.setattr(Forecaster, "pretrain", classmethod(pretrain))
    for cls in (LagForecaster, _NeuralBaseline):
        original = cls.fit

        def fit(self, train_panel, cutoff, _original=original):
            note(type(self).__name__, train_panel, cutoff)
            return _original(self, train_panel, cutoff)

        monkeypatch.setattr(cls, "fit", fit)


@pytest.mark.slow
def test_train_dir_eval_dir_never_trains_on_eval_projects(raw_dirs, tmp_path, monkeypatch):
    root, train, test = raw_dirs
    seen: list = []
    _spy(monkeypatch, seen)
    code = bench.main(["--train-dir", str(root / "train"), "--eval-dir", str(root / "eval"), "--quick",
                       "--methods", "naive,ridge,tft,tsfuse", "--out", str(tmp_path)])
    assert code == 0
    report = json.loads((tmp_path / "oss-activity-cross-project-dirs.json").read_text())
    _finite_rows(report["results"])
    assert report["mode"] == "cross-project"
    assert report["leak_check"]["global_fits"] == 5  # naive, ridge, tft, tsfuse, tsfuse without text tower
    assert report["projects"] == {"train": len(train), "eval": len(test)}
    assert all(r["projects"] == len(test) for r in report["results"].values())
    # the spies saw every global fit: ridge, tft, tsfuse and tsfuse without text tower (the text ablation)
    assert sorted(w for w, *_ in seen) == ["LagForecaster", "TFTBaseline", "tsfuse", "tsfuse"]
    for who, ids, last, cutoff in seen:
        assert ids <= set(train) and not ids & set(test), who
        assert last < cutoff, who


def _git_repos(root, names, seed):
    """Small git repositories (monthly commits 2020-06 .. 2024-06, a README changed in 2022 and 2023)."""
    from tests.data.test_git import ALICE, BOB, commit, git

    rng = np.random.default_rng(seed)
    for name in names:
        repo = root / name
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        for month in pd.period_range("2020-06", "2024-06", freq="M").strftime("%Y-%m"):
            for k in range(int(rng.integers(1, 4))):
                files = {"src.txt": f"{month}-{k}"}
                if month in ("2022-02", "2023-08") and k == 0:
                    files["README.md"] = f"{name} as of {month}: a small library"
                commit(repo, files, ALICE if k % 2 else BOB, f"{month}-1{k}T10:00:00+00:00")
    return [root / n for n in names]


@pytest.mark.slow
def test_eval_repos_are_built_with_the_data_layer_and_never_trained_on(tmp_path, monkeypatch, isolated_git):
    from tsfuse.data.sources.bulk import build_bulk

    train = _git_repos(tmp_path / "train", ["lib0", "lib1", "lib2"], seed=4)
    scored = _git_repos(tmp_path / "eval", ["app0", "app1"], seed=5)
    (tmp_path / "train.txt").write_text("".join(f"{p}\n" for p in train))
    build_bulk(tmp_path / "train.txt", tmp_path / "built", progress=False)
    (tmp_path / "eval.txt").write_text("".join(f"{p}\n" for p in scored))
    seen: list = []
    _spy(monkeypatch, seen)
    code = bench.main(["--train-dir", str(tmp_path / "built"), "--eval-repos", str(tmp_path / "eval.txt"), "--quick",
                       "--methods", "naive,ridge,tsfuse", "--no-ablation", "--out", str(tmp_path / "out")])
    assert code == 0
    report = json.loads((tmp_path / "out" / "oss-activity-cross-project-repos.json").read_text())
    assert report["projects"] == {"train": 3, "eval": 2}
    _finite_rows(report["results"])
    assert sorted(w for w, *_ in seen) == ["LagForecaster", "tsfuse"]
    for who, ids, last, cutoff in seen:
        assert ids == {"lib0", "lib1", "lib2"} and last < cutoff, who
    (tmp_path / "both.txt").write_text(f"{train[0]}\n{scored[0]}\n")
    with pytest.raises(BenchmarkError, match="lib0"):
        bench.main(["--train-dir", str(tmp_path / "built"), "--eval-repos", str(tmp_path / "both.txt"), "--quick",
                    "--methods", "naive", "--out", str(tmp_path / "out2")])


def test_overlapping_folders_are_refused(raw_dirs, tmp_path):
    root, _, test = raw_dirs
    with pytest.raises(BenchmarkError, match="both") as info:
        bench.main(["--train-dir", str(root / "overlap"), "--eval-dir", str(root / "eval"), "--quick",
                    "--methods", "naive", "--out", str(tmp_path)])
    assert test[0] in str(info.value)
    with pytest.raises(BenchmarkError, match="both"):
        bench.main(["--train-dir", str(root / "eval"), "--eval-dir", str(root / "eval"), "--quick",
                    "--methods", "naive", "--out", str(tmp_path)])
    assert not list(tmp_path.iterdir())  # refused before anything ran


# --------------------------------------------------------------------------- pieces
def test_split_rule_and_committed_splits():
    ids = [f"org/p{i}" for i in range(23)]
    split = make_split(ids)
    order = sha_order(ids)
    assert split["eval"] == sorted(order[4::5]) and len(split["train"]) + len(split["eval"]) == 23
    assert not set(split["train"]) & set(split["eval"])
    from benchmarks.common import SPLITS_DIR

    for path in SPLITS_DIR.glob("*.json"):
        committed = json.loads(path.read_text())
        if committed["corpus"] in GROWING_CORPORA:
            assert {k: v for k, v in committed.items() if k != "corpus"} == hash_split(committed["train"] + committed["eval"])
            continue
        left_out = committed.get("left_out_reserved", [])  # reserved projects, dropped after the split was made
        again = make_split(committed["train"] + committed["eval"] + left_out)
        assert ([u for u in again["train"] if u not in left_out], [u for u in again["eval"] if u not in left_out]) \
            == (committed["train"], committed["eval"]), path


def test_the_split_of_a_growing_corpus_never_moves_a_project():
    small = hash_split([f"org/p{i}" for i in range(40)])
    large = hash_split([f"org/p{i}" for i in range(400)])
    assert set(small["eval"]) <= set(large["eval"]) and set(small["train"]) <= set(large["train"])
    assert 0.1 < len(large["eval"]) / 400 < 0.3  # about one in five


def test_fast_macro_f1_matches_scikit_learn():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n, k = int(rng.integers(1, 40)), int(rng.integers(1, 6))
        true, pred = rng.integers(0, k, n), rng.integers(0, k, n)
        assert fast_macro_f1(true, pred, 5) == pytest.approx(macro_f1(true, pred), abs=1e-12)


def test_unknown_method_is_refused(tmp_path):
    with pytest.raises(BenchmarkError, match="unknown method"):
        bench.main(["--quick", "--methods", "naive,prophet", "--out", str(tmp_path)])
    with pytest.raises(BenchmarkError, match="--blend needs tsfuse and lightgbm"):
        bench.main(["--quick", "--methods", "naive,tsfuse", "--blend", "--out", str(tmp_path)])


@pytest.mark.slow
def test_finetune_and_transfer_use_only_the_projects_own_past(raw_dirs, tmp_path, monkeypatch):
    from tsfuse.estimator import Forecaster

    root, train, test = raw_dirs
    seen: list = []
    _spy(monkeypatch, seen)
    tuned: list = []
    original = Forecaster.finetune

    def finetune(self, panel, texts=None, **kw):
        tuned.append((set(panel["unique_id"]), pd.Timestamp(panel["ds"].max())))
        return original(self, panel, texts, **kw)

    monkeypatch.setattr(Forecaster, "finetune", finetune)
    code = bench.main(["--train-dir", str(root / "train"), "--eval-dir", str(root / "eval"), "--quick",
                       "--methods", "naive,tsfuse", "--finetune", "--transfer", "--no-ablation", "--out", str(tmp_path)])
    assert code == 0
    report = json.loads((tmp_path / "oss-activity-cross-project-dirs.json").read_text())
    _finite_rows(report["results"])
    assert list(report["results"]) == ["naive", "tsfuse", "tsfuse-ft"]
    summary = report["transfer"]["summary"]
    for variant in ("global", "fine-tuned", "alone"):
        assert summary[variant]["full"]["windows"] == len(test)
        assert math.isfinite(summary[variant]["full"]["mase_mean"])
    assert summary["alone"]["short"]["windows"] == len(test)  # 12 months: 3-month contexts train alone
    assert summary["alone"]["cold"]["windows"] is None  # 6 months: nothing to train on alone
    for slice_name in ("short", "cold"):  # under 24 months: no complete validation window, global kept
        assert summary["fine-tuned"][slice_name]["kept_pretrained"] == len(test)
    origin = pd.Timestamp("2023-04-01")
    # global pretraining: training projects only; per-project training: one evaluation project's months before O
    assert [ids for who, ids, *_ in seen if ids & set(test)] and all(
        ids <= set(train) or len(ids) == 1 for who, ids, *_ in seen)
    assert all(last < origin for *_, last, _ in seen)
    assert tuned and all(len(ids) == 1 and ids <= set(test) and last < origin for ids, last in tuned)


@pytest.mark.skipif(not (RAW_DATA_DIR / "oss-activity").is_dir(), reason="the public corpora are not beside this checkout")
@pytest.mark.parametrize("corpus", ["oss-activity", "opendigger"])
def test_deterministic_baselines_reproduce_the_reference(corpus, tmp_path):
    """The run scores the shipped copy (reserved projects left out); its protocol check recomputes the
    reference on the public corpus as published, with tsfuse's own baselines and metrics."""
    assert bench.main(["--corpus", corpus, "--methods", "naive,seasonal_naive,mean3", "--out", str(tmp_path)]) == 0
    check = json.loads((tmp_path / f"{corpus}-in-corpus.json").read_text())["reference_check"]
    assert set(check) == {"windows", "trend classes", "level classes", "naive", "seasonal_naive", "mean3"}
    assert all(c["ok"] for c in check.values()), check


def test_compare_runs_pairs_windows_of_two_runs(tmp_path, capsys):
    from benchmarks import compare_runs

    keys = {"unique_id": ["a", "b", "c", "d"], "origin": ["2023-04"] * 4, "trend_true": [0, 1, 2, 1],
            "trend_pred": [0, 1, 2, 1], "level_true": [1, 1, 2, 3], "level_pred": [1, 1, 2, 3]}
    a = pd.DataFrame({"method": "tsfuse", "mase": [1.0, 2.0, 3.0, 4.0], "sql": [1.0] * 4, **keys})
    b = pd.DataFrame({"method": "tsfuse", "mase": [0.5, 1.5, 2.5, 3.5], "sql": [0.5] * 4, **keys})
    a.to_csv(tmp_path / "a.csv.gz", index=False)
    b.to_csv(tmp_path / "b.csv.gz", index=False)
    assert compare_runs.main([str(tmp_path / "a.csv.gz"), "tsfuse", str(tmp_path / "b.csv.gz"), "tsfuse"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "| 4 | 2.000 | -0.500 [-0.500, -0.500] | -0.500 [-0.500, -0.500] |" in line


@pytest.mark.slow
def test_history_slices_score_the_same_windows_and_full_equals_the_main_table(tmp_path, isolated_git):
    from tsfuse.data.sources.bulk import build_bulk

    train = _git_repos(tmp_path / "train", ["lib0", "lib1", "lib2"], seed=4)
    scored = _git_repos(tmp_path / "eval", ["app0", "app1"], seed=5)
    (tmp_path / "train.txt").write_text("".join(f"{p}\n" for p in train))
    build_bulk(tmp_path / "train.txt", tmp_path / "built", progress=False)
    (tmp_path / "eval.txt").write_text("".join(f"{p}\n" for p in scored))
    code = bench.main(["--train-dir", str(tmp_path / "built"), "--eval-repos", str(tmp_path / "eval.txt"), "--quick",
                       "--methods", "naive,tsfuse", "--no-ablation", "--slices", "--out", str(tmp_path / "out")])
    assert code == 0
    report = json.loads((tmp_path / "out" / "oss-activity-cross-project-repos.json").read_text())
    slices = report["text_ablation_by_slice"]
    assert list(slices) == ["cold-3", "cold-6", "last-12", "full"]
    main_windows = report["results"]["tsfuse"]["windows"]
    for name, entry in slices.items():
        assert set(entry) == {"tsfuse", "tsfuse-text-empty", "differences"}, name
        assert entry["tsfuse"]["windows"] == entry["tsfuse-text-empty"]["windows"] == main_windows
    # the full slice gives the models what the main table gave them
    assert slices["full"]["tsfuse"]["mase_mean"] == pytest.approx(report["results"]["tsfuse"]["mase_mean"], abs=1e-9)
    assert slices["cold-3"]["tsfuse"]["mase_mean"] != slices["full"]["tsfuse"]["mase_mean"]  # it was given less
    assert "## Text ablation by history slice" in (tmp_path / "out" / "oss-activity-cross-project-repos.md").read_text()


def test_a_history_slice_forecasts_only_the_projects_with_a_benchmark_window():
    from benchmarks.transfer import score_backtest
    from tests.conftest import TINY_MODEL
    from tsfuse.data.synthetic import generate_panel
    from tsfuse.data.tasks import get_task
    from tsfuse.data.windows import make_windows
    from tsfuse.estimator import Forecaster

    task = get_task("oss-activity")
    panel = generate_panel(4, 40, covariates=("authors",), seed=3)
    origin = panel.ds.max() - pd.DateOffset(months=6)
    young = panel.unique_id.iloc[0]  # 6 months before the origin: no benchmark window, but one for a 3-month slice
    panel = panel[(panel.unique_id != young) | (panel.ds >= origin - pd.DateOffset(months=6))]
    windows = make_windows(panel, task, [origin])
    assert young not in set(windows.unique_id) and len(windows) == 3
    model = Forecaster.pretrain(panel, {}, task, preset="light", model=TINY_MODEL,
                                train={"max_epochs": 1, "progress_bar": False, "logger": "none", "refit": False})
    given = panel[panel.ds >= origin - pd.DateOffset(months=3)]
    assert len(model.backtest(given, [origin], min_history=3)[0]) == 4  # the young project has a window here
    rows = score_backtest("tsfuse", model, given, origin, windows, {}, panel, task, min_history=3)
    assert sorted(rows.unique_id) == sorted(windows.unique_id)


# ---------------------------------------------------------------------- seed ensembles
def test_a_seed_ensemble_is_the_mean_of_its_members_and_fine_tunes_each():
    from benchmarks.methods import Budgets, SeedEnsemble
    from tests.conftest import TINY_MODEL
    from tsfuse.data.synthetic import generate_panel
    from tsfuse.data.tasks import get_task
    from tsfuse.estimator import Forecaster

    panel = generate_panel(6, 40, covariates=("authors",), seed=2)
    train = {"max_epochs": 2, "progress_bar": False, "logger": "none", "refit": False}
    members = [Forecaster.pretrain(panel, {}, get_task("oss-activity"), preset="light", model=TINY_MODEL,
                                   train={**train, "seed": s}) for s in (0, 1)]
    origin = panel.ds.max() - pd.DateOffset(months=6)  # the whole horizon observed
    ensemble = SeedEnsemble(members)
    got, out = ensemble.backtest(panel, [origin])
    alone = [m.backtest(panel, [origin])[1] for m in members]
    assert len(got) == 6 and not np.allclose(alone[0]["quantiles"], alone[1]["quantiles"])  # the seeds differ
    for key in ("quantiles", "trend_proba", "level_proba"):
        np.testing.assert_allclose(out[key], (alone[0][key] + alone[1][key]) / 2, rtol=1e-6)
    assert (np.diff(out["quantiles"], axis=-1) >= 0).all()  # still ordered p10 <= p50 <= p90
    windows, validation = ensemble.validation
    np.testing.assert_allclose(validation["quantiles"], (members[0].validation[1]["quantiles"]
                                                         + members[1].validation[1]["quantiles"]) / 2, rtol=1e-6)
    history = panel[(panel.unique_id == panel.unique_id.iloc[0]) & (panel.ds < origin)]
    tuned = ensemble.finetune(history, None, max_epochs=1, freeze_epochs=0)
    assert isinstance(tuned, SeedEnsemble) and len(tuned.members) == 2 and tuned.info["seeds"] == 2
    with pytest.raises(BenchmarkError, match="--tsfuse-seeds must be >= 1"):
        Budgets.make(seed=0, quick=True, tsfuse_seeds=0)


@pytest.mark.parametrize("corpus", ["oss-activity", "opendigger"])
def test_the_headline_pages_ran_the_corpus_recipe_the_shipped_models_train_with(corpus):
    from tsfuse.config import CORPUS_RECIPES

    page = json.loads((REPO / "benchmarks" / "results" / f"{corpus}-cross-project.json").read_text())
    budgets = page["budgets"]
    assert page["mode"] == "cross-project" and "tsfuse-ft" in page["results"]
    assert budgets["preset"] == "balanced" and budgets["tsfuse_model"] == CORPUS_RECIPES[corpus]["model"]
    assert {k: budgets["tsfuse_train"][k] for k in CORPUS_RECIPES[corpus]["train"]} == CORPUS_RECIPES[corpus]["train"]
    assert all(len(r["coverage_per_step"]) == 6 for m, r in page["results"].items() if m.startswith("tsfuse"))


def test_the_blend_weight_is_chosen_on_the_training_projects_validation_windows_only():
    from types import SimpleNamespace

    from benchmarks.methods import BLEND, Budgets, Context, blend_weight
    from tests.conftest import TINY_MODEL
    from tsfuse.data.synthetic import generate_panel
    from tsfuse.data.tasks import get_task
    from tsfuse.estimator import Forecaster

    task = get_task("oss-activity")
    panel = generate_panel(8, 48, covariates=("authors",), seed=3)
    origin = panel.ds.max() - pd.DateOffset(months=5)
    model = Forecaster.pretrain(panel, {}, task, preset="light", before=origin, model=TINY_MODEL,
                                train={"max_epochs": 2, "progress_bar": False, "logger": "none"})
    windows, _ = model.validation
    assert (pd.to_datetime(windows.origin.astype("datetime64[M]")) < origin).all()
    # eval_panel None: the weight may only read the training projects
    ctx = Context(task=task, train_panel=panel, eval_panel=None, train_texts={}, eval_texts={},
                  budgets=Budgets.make(seed=0, quick=True))
    truth = np.repeat(np.nan_to_num(windows.target)[..., None], 3, axis=-1)

    def stub(quantiles):
        return SimpleNamespace(validation=(windows, {"quantiles": quantiles}))

    perfect, info = blend_weight(ctx, origin, stub(truth))
    assert perfect == 1.0 and info["validation_mase"]["1.0"] == 0.0
    assert info["validation_windows"] == int((~np.isnan(windows.target)).all(axis=1).sum())
    assert blend_weight(ctx, origin, stub(truth * 20 + 100))[0] == 0.0  # far off: LightGBM alone
    fit = ctx.audit[-1]
    assert fit["method"] == f"{BLEND}-validation" and fit["last_month"] < min(info["validation_origins"])
    with pytest.raises(BenchmarkError, match="no validation forecasts"):
        blend_weight(ctx, origin, SimpleNamespace(validation=None))


# ------------------------------------------------------------------------- resume
def _windows(path) -> pd.DataFrame:
    with gzip.open(path, "rt") as f:
        return pd.read_csv(f)


@pytest.mark.slow
def test_a_stopped_run_resumes_and_writes_the_page_of_an_uninterrupted_run(raw_dirs, tmp_path, monkeypatch):
    from tsfuse.estimator import Forecaster

    root, _, _ = raw_dirs
    args = ["--train-dir", str(root / "train"), "--eval-dir", str(root / "eval"), "--quick",
            "--methods", "naive,ridge,tsfuse", "--finetune", "--no-ablation"]
    page = "oss-activity-cross-project-dirs"
    assert bench.main([*args, "--out", str(tmp_path / "straight")]) == 0

    def stop(self, *a, **kw):
        raise KeyboardInterrupt  # the run is stopped while fine-tuning, after tsfuse's global fit

    with monkeypatch.context() as m:
        m.setattr(Forecaster, "finetune", stop)
        with pytest.raises(KeyboardInterrupt):
            bench.main([*args, "--out", str(tmp_path / "resumed")])
    store = tmp_path / "resumed" / f".{page}.partial"
    assert sorted(p.name for p in store.glob("*.json")) == [
        "2023-04-naive.json", "2023-04-ridge.json", "2023-04-tsfuse.json", "key.json"]

    trained: list = []
    original = Forecaster.pretrain.__func__
    monkeypatch.setattr(Forecaster, "pretrain", classmethod(lambda cls, *a, **kw: trained.append(1) or
                                                            original(cls, *a, **kw)))
    assert bench.main([*args, "--out", str(tmp_path / "resumed")]) == 0
    assert trained == []  # tsfuse came from its unit; fine-tuning ran on the restored model
    assert not store.exists()
    pd.testing.assert_frame_equal(_windows(tmp_path / "resumed" / f"{page}-windows.csv.gz"),
                                  _windows(tmp_path / "straight" / f"{page}-windows.csv.gz"))

"""The methods a benchmark run compares, their budgets, and one adapter per kind.

Every method is run per origin O on the same evaluation windows: a global method is fitted on
the training panel's rows with ds < O only, then forecasts each window from its project's months
before O. Baselines go through :func:`tsfuse.eval.baselines.forecast_windows` (which cuts both panels at
O and blanks the windows' targets); tsfuse through ``Forecaster.pretrain(..., before=O)`` and
``Forecaster.backtest`` (inputs from months before O only).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from benchmarks.common import BenchmarkError
from tsfuse.eval.baselines import before, blind, forecast_windows, make_baseline, past_values
from tsfuse.eval.metrics import mase
from tsfuse.data.schema import DS, ID
from tsfuse.data.tasks import TaskSpec
from tsfuse.data.windows import WindowSet
from tsfuse.text.versions import texts_for

BASELINE_METHODS = ("naive", "seasonal_naive", "mean3", "AutoETS", "AutoTheta", "AutoARIMA", "lightgbm", "ridge",
                    "ens", "tft", "nhits")
TSFUSE_METHODS = ("tsfuse", "tsfuse-ft", "tsfuse-ssl")
ABLATION_METHODS = ("tsfuse-text-empty", "tsfuse-no-text-tower")  # the text ablation's two variants
ALL_METHODS = (*BASELINE_METHODS, "tsfuse")
# tsfuse with self-supervised (CoLES) pretraining of its temporal tower: named in --methods, not in the default run
SELECTABLE_METHODS = (*ALL_METHODS, "tsfuse-ssl")
ENS_MEMBERS = ("AutoETS", "AutoTheta", "lightgbm")
BLEND = "tsfuse+lgbm"  # an extra row (--blend): tsfuse and the global LightGBM, weighted on validation windows
BLEND_MEMBERS = ("tsfuse", "lightgbm")
BLEND_WEIGHTS = tuple(round(w, 1) for w in np.linspace(0.0, 1.0, 11))  # tsfuse's share, 0 = LightGBM alone


@dataclass
class Budgets:
    """Training budgets and seeds of every learned method (``quick``: tiny, for smoke runs)."""

    seed: int = 0
    quick: bool = False
    preset: str = "balanced"
    tsfuse_model: dict[str, Any] = field(default_factory=dict)
    tsfuse_train: dict[str, Any] = field(default_factory=dict)
    finetune: dict[str, Any] = field(default_factory=dict)
    neural: dict[str, Any] = field(default_factory=dict)
    lightgbm: dict[str, Any] = field(default_factory=dict)
    stats_jobs: int = 2
    tsfuse_seeds: int = 1  # > 1: the tsfuse rows are the mean of this many models (seeds seed, seed + 1, ...)
    ssl: dict[str, Any] = field(default_factory=lambda: {"ssl_epochs": 100})  # tsfuse-ssl: TrainConfig overrides

    @classmethod
    def make(cls, *, seed: int, quick: bool, preset: str | None = None, max_epochs: int | None = None,
             jobs: int | None = None, tsfuse_model: dict[str, Any] | None = None,
             tsfuse_train: dict[str, Any] | None = None, tsfuse_seeds: int = 1) -> "Budgets":
        """The run's budgets; ``tsfuse_model`` / ``tsfuse_train``: ModelConfig / training overrides of tsfuse;
        ``tsfuse_seeds``: models averaged in each tsfuse row (:class:`SeedEnsemble`)."""
        if tsfuse_seeds < 1:
            raise BenchmarkError(f"--tsfuse-seeds must be >= 1, got {tsfuse_seeds}")
        train: dict[str, Any] = {"seed": seed, "progress_bar": False, "logger": "none"}
        if quick:
            b = cls(seed=seed, quick=True, preset=preset or "light",
                    tsfuse_train={**train, "max_epochs": 2, "batch_size": 128, "patience": 1},
                    finetune={"max_epochs": 1, "freeze_epochs": 0},
                    neural={"max_epochs": 1, "limit_train_batches": 3, "batch_size": 64, "seed": seed},
                    lightgbm={"n_estimators": 50, "seed": seed}, stats_jobs=1 if jobs is None else jobs,
                    ssl={"ssl_epochs": 2})
        else:
            b = cls(seed=seed, quick=False, preset=preset or "balanced", tsfuse_train=train, finetune={},
                    neural={"seed": seed}, lightgbm={"seed": seed}, stats_jobs=2 if jobs is None else jobs)
        if max_epochs is not None:
            b.tsfuse_train["max_epochs"] = max_epochs
        b.tsfuse_model.update(tsfuse_model or {})
        b.tsfuse_train.update(tsfuse_train or {})
        b.tsfuse_seeds = tsfuse_seeds
        return b

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Context:
    """What every method of one run sees: the panels, READMEs, task and budgets."""

    task: TaskSpec
    train_panel: pd.DataFrame
    eval_panel: pd.DataFrame
    train_texts: dict[str, str] | pd.DataFrame  # a frame: README versions (each window reads its own)
    eval_texts: dict[str, str] | pd.DataFrame
    budgets: Budgets
    text_encoder: Any = None
    audit: list[dict] = field(default_factory=list)  # one entry per fit: what it was trained on
    models: dict[tuple[str, str], Any] = field(default_factory=dict)  # (method, origin) -> fitted tsfuse model

    def record_fit(self, method: str, origin: pd.Timestamp, panel: pd.DataFrame) -> None:
        """Note (and check) the rows a fit is given: all strictly before the origin."""
        last = panel[DS].max() if len(panel) else None
        if last is not None and last >= origin:
            raise BenchmarkError(f"{method}: training rows reach {last:%Y-%m}, at or after the origin {origin:%Y-%m}")
        self.audit.append({"method": method, "origin": f"{origin:%Y-%m}", "projects": int(panel[ID].nunique()),
                           "rows": int(len(panel)), "last_month": None if last is None else f"{last:%Y-%m}",
                           "unique_ids": sorted(map(str, panel[ID].unique()))})


@dataclass
class Output:
    """One method's forecasts for one origin's windows (aligned with them) and its time."""

    forecast: np.ndarray  # [N, H] values
    fit_s: float
    predict_s: float
    trend_pred: np.ndarray | None = None  # [N] from a direction head, else derived from the forecast
    level_pred: np.ndarray | None = None  # [N] from a level head
    quantiles: np.ndarray | None = None  # [N, H, 3] p10 / p50 / p90, from a method that gives intervals
    info: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------- baselines
def make_method(name: str, ctx: Context):
    """A fresh baseline forecaster (the interface of :mod:`tsfuse.eval.baselines`) with the run's budgets."""
    b = ctx.budgets
    if name in ("AutoETS", "AutoTheta", "AutoARIMA"):
        return make_baseline(name, ctx.task, n_jobs=b.stats_jobs)
    if name == "lightgbm":
        from tsfuse.eval.baselines import lags

        return lags.lightgbm(ctx.task, **b.lightgbm)
    if name == "ens":
        from tsfuse.eval.baselines import MeanEnsemble

        return MeanEnsemble([make_method(m, ctx) for m in ENS_MEMBERS])
    if name in ("tft", "nhits"):
        from tsfuse.eval.baselines.neural import NHiTSBaseline, TFTBaseline

        cls = TFTBaseline if name == "tft" else NHiTSBaseline
        return cls(horizon=ctx.task.horizon, min_history=ctx.task.min_history, **b.neural)
    return make_baseline(name, ctx.task)


def run_baseline(name: str, ctx: Context, origin: pd.Timestamp, windows: WindowSet) -> Output:
    method = make_method(name, ctx)
    ctx.record_fit(name, origin, before(ctx.train_panel, origin))
    result = forecast_windows(method, ctx.eval_panel, windows, ctx.train_panel)
    info = {"n_fallback": getattr(method, "n_fallback", 0)} if hasattr(method, "n_fallback") else {}
    return Output(result.forecasts, result.fit_seconds, result.predict_seconds, quantiles=result.quantiles, info=info)


def ensemble_of(outputs: list[Output]) -> Output:
    """``ens`` from its members' forecasts of the same windows (their fit / predict times added)."""
    return Output(np.mean([o.forecast for o in outputs], axis=0), sum(o.fit_s for o in outputs),
                  sum(o.predict_s for o in outputs), info={"from_members": list(ENS_MEMBERS)})


# --------------------------------------------------------------------------- tsfuse
def _align(windows: WindowSet, got: WindowSet) -> np.ndarray:
    """Positions in ``got`` of each of ``windows`` (same projects and origin)."""
    pos = {(str(u), str(o)): i for i, (u, o) in enumerate(zip(got.unique_id, got.origin.astype("datetime64[M]")))}
    keys = [(str(u), str(o)) for u, o in zip(windows.unique_id, windows.origin.astype("datetime64[M]"))]
    missing = [k for k in keys if k not in pos]
    if missing or len(got) != len(windows):
        raise BenchmarkError(f"tsfuse backtest windows differ from the benchmark windows: {len(got)} vs "
                             f"{len(windows)}, missing {missing[:3]}")
    return np.array([pos[k] for k in keys], dtype=np.int64)


def _tsfuse_output(model, windows: WindowSet, got: WindowSet, out: dict, fit_s: float, predict_s: float) -> Output:
    idx = _align(windows, got)
    q = list(model.model_config.quantiles)
    median = q.index(0.5) if 0.5 in q else len(q) // 2
    band = [q.index(0.1), median, q.index(0.9)] if {0.1, 0.9} <= set(q) else None
    return Output(out["quantiles"][idx, :, median], fit_s, predict_s,
                  trend_pred=out["trend_proba"][idx].argmax(1), level_pred=out["level_proba"][idx].argmax(1),
                  quantiles=None if band is None else out["quantiles"][idx][:, :, band],
                  info={"training": model.info.get("training", {}), "trained_on": model.info.get("trained_on", {}),
                        **({"ssl": model.info["ssl"]} if "ssl" in model.info else {})})


class SeedEnsemble:
    """Several tsfuse models of one recipe, trained with different seeds, used as one: each output is
    the members' mean (every quantile level averaged across members, which keeps them ordered; class
    probabilities averaged). Fine-tuning tunes every member.

    Args:
        members: fitted :class:`tsfuse.Forecaster` models of the same architecture.
    """

    def __init__(self, members: list) -> None:
        self.members = members
        self.model_config = members[0].model_config

    @property
    def validation(self) -> tuple[WindowSet, dict[str, np.ndarray]] | None:
        """The members' mean forecasts of their (common) validation windows, as each member's ``validation``."""
        if any(m.validation is None for m in self.members):
            return None
        windows, first = self.members[0].validation
        return windows, {k: np.mean([m.validation[1][k] for m in self.members], axis=0) for k in first}

    @property
    def info(self) -> dict[str, Any]:
        first = self.members[0].info
        return {"trained_on": first.get("trained_on", {}), "seeds": len(self.members),
                "training": [m.info.get("training", {}) for m in self.members],
                "finetune": {key: all(m.info.get("finetune", {}).get(key) for m in self.members)
                             for key in ("skipped", "kept_pretrained")}}

    def backtest(self, panel: pd.DataFrame, origins, texts=None, **kwargs) -> tuple[WindowSet, dict[str, np.ndarray]]:
        results = [m.backtest(panel, origins, texts, **kwargs) for m in self.members]
        got = results[0][0]
        return got, {k: np.mean([out[k] for _, out in results], axis=0) for k in results[0][1]}

    def finetune(self, panel: pd.DataFrame, texts=None, **kwargs) -> "SeedEnsemble":
        return SeedEnsemble([m.finetune(panel, texts, **kwargs) for m in self.members])


def pretrain(ctx: Context, origin: pd.Timestamp, name: str, text: bool = True, train: dict[str, Any] | None = None):
    """A global tsfuse model on the training panel's rows before ``origin`` (``train``: TrainConfig overrides
    on top of the run's budget); a :class:`SeedEnsemble` when the budgets ask for several seeds."""
    from tsfuse.estimator import Forecaster

    b = ctx.budgets
    model_kw = dict(b.tsfuse_model)
    if not text:
        model_kw["text_model"] = None
    train_panel = before(ctx.train_panel, origin)
    ctx.record_fit(name, origin, train_panel)
    settings = {**b.tsfuse_train, **(train or {})}
    members = [Forecaster.pretrain(train_panel, ctx.train_texts, ctx.task, preset=b.preset, before=origin,
                                   model=model_kw, train={**settings, "seed": settings.get("seed", b.seed) + i},
                                   text_encoder=ctx.text_encoder if text else None)
               for i in range(b.tsfuse_seeds)]
    return members[0] if len(members) == 1 else SeedEnsemble(members)


def run_tsfuse(name: str, ctx: Context, origin: pd.Timestamp, windows: WindowSet) -> Output:
    """``tsfuse`` (value = p50, classes = argmax of its heads) and its variants:

    - ``tsfuse-text-empty``: the same trained model, every evaluation README replaced by "";
    - ``tsfuse-no-text-tower``: a model trained with ``text_model=None``;
    - ``tsfuse-ft``: the trained model fine-tuned per evaluation project on its months before O;
    - ``tsfuse-ssl``: tsfuse whose temporal tower is first pretrained self-supervised (``Budgets.ssl``).
    """
    key = ("tsfuse", f"{origin:%Y-%m}")
    if name in ("tsfuse", "tsfuse-no-text-tower", "tsfuse-ssl"):
        t0 = time.perf_counter()
        model = pretrain(ctx, origin, name, text=name != "tsfuse-no-text-tower",
                         train=ctx.budgets.ssl if name == "tsfuse-ssl" else None)
        t1 = time.perf_counter()
        got, out = model.backtest(ctx.eval_panel, [origin], ctx.eval_texts)
        t2 = time.perf_counter()
        if name in ("tsfuse", "tsfuse-no-text-tower"):  # kept for the variants and the history slices
            ctx.models[(name, key[1])] = (model, t1 - t0)
        return _tsfuse_output(model, windows, got, out, t1 - t0, t2 - t1)
    if key not in ctx.models:
        raise BenchmarkError(f"{name} needs the tsfuse model of {origin:%Y-%m}: include tsfuse in --methods")
    model, fit_s = ctx.models[key]
    if name == "tsfuse-text-empty":
        t0 = time.perf_counter()
        got, out = model.backtest(ctx.eval_panel, [origin], dict.fromkeys(map(str, windows.unique_id), ""))
        return _tsfuse_output(model, windows, got, out, 0.0, time.perf_counter() - t0)
    if name == "tsfuse-ft":
        return _finetune_each(model, fit_s, ctx, origin, windows)
    raise BenchmarkError(f"unknown tsfuse variant {name!r}")


def _finetune_each(model, pretrain_s: float, ctx: Context, origin: pd.Timestamp, windows: WindowSet) -> Output:
    """Fine-tune a copy of ``model`` on each evaluation project's own months before ``origin``."""
    H = ctx.task.horizon
    forecast, trend, level = np.zeros((len(windows), H)), np.zeros(len(windows), np.int64), np.zeros(len(windows), np.int64)
    quantiles = np.zeros((len(windows), H, 3))
    fit_s = predict_s = 0.0
    skipped = kept = 0
    for i, uid in enumerate(map(str, windows.unique_id)):
        project = ctx.eval_panel[ctx.eval_panel[ID] == uid]
        texts = texts_for(ctx.eval_texts, uid)
        t0 = time.perf_counter()
        history = before(project, origin)
        ctx.record_fit(f"tsfuse-ft:{uid}", origin, history)
        tuned = model.finetune(history, texts, **ctx.budgets.finetune)
        t1 = time.perf_counter()
        got, out = tuned.backtest(project, [origin], texts)
        predict_s += time.perf_counter() - t1
        fit_s += t1 - t0
        skipped += bool(tuned.info.get("finetune", {}).get("skipped"))
        kept += bool(tuned.info.get("finetune", {}).get("kept_pretrained"))
        one = _tsfuse_output(tuned, windows.subset(np.array([i])), got, out, 0, 0)
        forecast[i], trend[i], level[i], quantiles[i] = one.forecast[0], one.trend_pred[0], one.level_pred[0], one.quantiles[0]
    return Output(forecast, pretrain_s + fit_s, predict_s, trend, level, quantiles,
                  info={"finetune_seconds": fit_s, "pretrain_seconds": pretrain_s, "skipped": skipped,
                        "kept_pretrained": kept})  # kept: the guard found no epoch better than the pretrained model


# --------------------------------------------------------------------------- blend
def blend_of(ctx: Context, origin: pd.Timestamp, tsfuse: Output, lightgbm: Output) -> Output:
    """``tsfuse+lgbm``: ``w`` x tsfuse + (1 - w) x the global LightGBM, values and p10 / p50 / p90 alike
    (quantile averaging), with ``w`` from :func:`blend_weight`; trend and level come from tsfuse's heads."""
    model, _ = ctx.models[("tsfuse", f"{origin:%Y-%m}")]
    t0 = time.perf_counter()
    weight, info = blend_weight(ctx, origin, model)
    fit_s = time.perf_counter() - t0
    quantiles = None
    if tsfuse.quantiles is not None and lightgbm.quantiles is not None:
        quantiles = weight * tsfuse.quantiles + (1 - weight) * lightgbm.quantiles
    return Output(weight * tsfuse.forecast + (1 - weight) * lightgbm.forecast, tsfuse.fit_s + lightgbm.fit_s + fit_s,
                  tsfuse.predict_s + lightgbm.predict_s, tsfuse.trend_pred, tsfuse.level_pred, quantiles,
                  info={"tsfuse_weight": weight, **info, "weight_seconds": round(fit_s, 1)})


def blend_weight(ctx: Context, origin: pd.Timestamp, model) -> tuple[float, dict[str, Any]]:
    """tsfuse's share in :data:`BLEND`, chosen on the training projects' own validation windows.

    The windows are tsfuse's pretraining validation windows whose whole target is observed (before
    ``origin``), forecast by its first fit (:attr:`tsfuse.Forecaster.validation`, before the refit
    trains on them), and by a LightGBM fitted on the training rows before the first of them, as that
    fit was. The weight in :data:`BLEND_WEIGHTS` with the lowest mean MASE wins (ties: less tsfuse).
    No evaluation project is involved.
    """
    if model.validation is None:
        raise BenchmarkError(f"{BLEND}: the tsfuse model of {origin:%Y-%m} has no validation forecasts (val_months=0?)")
    windows, out = model.validation
    full = np.flatnonzero(~np.isnan(windows.target).any(axis=1))
    if len(full) == 0:
        raise BenchmarkError(f"{BLEND}: no validation window before {origin:%Y-%m} has its whole target observed")
    windows = windows.subset(full)
    q = out["quantiles"][full]
    tsfuse_point = q[..., q.shape[-1] // 2]
    start = pd.Timestamp(windows.origin.astype("datetime64[M]").min())
    train_panel = before(ctx.train_panel, origin)
    lightgbm = make_method("lightgbm", ctx)
    ctx.record_fit(f"{BLEND}-validation", start, before(train_panel, start))
    lightgbm.fit(train_panel, start)
    lightgbm_point = np.asarray(lightgbm.predict(train_panel, blind(windows)), float)
    history = past_values(train_panel, windows)
    blend_mase = {w: float(np.mean([mase(h, a, f) for h, a, f in zip(history, windows.target,
                                                                     w * tsfuse_point + (1 - w) * lightgbm_point)]))
                  for w in BLEND_WEIGHTS}
    weight = min(BLEND_WEIGHTS, key=lambda w: (blend_mase[w], w))
    return weight, {"validation_windows": len(windows), "validation_origins": sorted({f"{o}" for o in
                    windows.origin.astype("datetime64[M]")}), "validation_mase": {f"{w:.1f}": round(m, 4)
                                                                                  for w, m in blend_mase.items()}}


def runner(name: str) -> Callable[[str, Context, pd.Timestamp, WindowSet], Output]:
    if name in BASELINE_METHODS:
        return run_baseline
    if name in (*TSFUSE_METHODS, *ABLATION_METHODS):
        return run_tsfuse
    raise BenchmarkError(f"unknown method {name!r}; choose from {list(SELECTABLE_METHODS)} (tsfuse-ft via --finetune)")

"""From the network's raw outputs to forecasts, and the post-hoc calibration of those forecasts on
the pretraining's validation windows (projects' latest months, held out from the first fit).

Two things are calibrated, each chosen on the validation windows only:

- **the quantile band, per horizon step** (split conformal): the offsets of every quantile from the
  median are multiplied by a factor per step so that the outer band (p10-p90 by default) covers
  its nominal share of the validation targets;
- **the class probabilities, per class task** (trend, level): how much of the post-hoc logit
  adjustment (the class-weight correction of :func:`class_proba`) is applied, and how much weight
  the class the value forecast implies (BENCHMARK.md's rules applied to its mean, as for value
  baselines) gets against the head's probabilities; the pair with the best validation macro-F1 is
  kept.

A :class:`Calibration` is plain numbers: it is saved in a model's ``info`` (JSON).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import torch
from sklearn.metrics import f1_score

from tsfuse.data.labels import labels_from_forecast
from tsfuse.data.loaders import make_loader
from tsfuse.data.tasks import N_LEVELS, TREND_CLASSES, TaskSpec
from tsfuse.data.windows import WindowSet
from tsfuse.train.module import TsfuseModule

log = logging.getLogger(__name__)
CLASS_TASKS = {"trend": len(TREND_CLASSES), "level": N_LEVELS}
ADJUSTMENTS = (1.0, 0.5, 0.0)  # share of the logit adjustment applied (1: the data's class frequencies)
VALUE_WEIGHTS = (0.0, 0.2, 0.4, 1.0)  # weight of the value-implied class (1: the class rule on the forecast's mean only)
MIN_WINDOWS = 20  # fewer observed validation targets at a step: that step's band is left as it is
BAND_SCALE_LIMITS = (0.25, 4.0)


@torch.inference_mode()
def network_outputs(module: TsfuseModule, arrays: dict[str, np.ndarray], batch_size: int = 1024) -> dict[str, np.ndarray]:
    """The network's raw outputs for ``arrays``: ``quantiles`` [N, H, Q] (normalised log1p) and the
    ``trend`` [N, 3] / ``level`` [N, 5] logits."""
    module.eval()
    outs = [module.net(batch) for batch in make_loader(arrays, batch_size, shuffle=False)]
    return {k: torch.cat([o[k] for o in outs]).numpy() for k in outs[0]}


def class_proba(logits: np.ndarray, class_weights: torch.Tensor, adjustment: float = 1.0) -> np.ndarray:
    """Probabilities under the data's own class frequencies.

    A head trained with class weights w_k learns p(k|x) * w_k (up to normalisation), so
    ``adjustment`` * log w_k is subtracted (post-hoc logit adjustment; 1 = fully) before the softmax.
    """
    adjusted = torch.from_numpy(logits) - adjustment * torch.log(class_weights)
    return torch.softmax(adjusted, -1).numpy()


@dataclass(frozen=True)
class ClassRule:
    """How one class task's probabilities are formed: ``adjustment`` (see :func:`class_proba`) and
    ``value_weight``, the weight of the value-implied class (a one-hot) against the head's probabilities."""

    adjustment: float = 1.0
    value_weight: float = 0.0


@dataclass(frozen=True)
class Calibration:
    """Post-hoc calibration of a model's forecasts (identity by default).

    Args:
        band_scale: per horizon step, the factor on every quantile's offset from the median.
        trend: the trend probabilities' :class:`ClassRule`.
        level: the level probabilities' :class:`ClassRule`.
        diagnostics: what the fit saw (validation windows, coverage and macro-F1 before/after).
        implied_from: the point of the forecast the value-implied classes read: ``"mean"``
            (:func:`expected_value`), or ``"median"`` (calibrations saved before this field existed, kept as
            they were chosen).
    """

    band_scale: tuple[float, ...] = ()
    trend: ClassRule = field(default_factory=ClassRule)
    level: ClassRule = field(default_factory=ClassRule)
    diagnostics: dict = field(default_factory=dict)
    implied_from: Literal["mean", "median"] = "mean"

    def to_dict(self) -> dict:
        """JSON-ready numbers."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        """The inverse of :meth:`to_dict`."""
        implied_from = data.get("implied_from", "median")  # saved before it was recorded: the median's rules
        if implied_from not in ("mean", "median"):
            raise ValueError(f"calibration implied_from must be 'mean' or 'median', got {implied_from!r}")
        return cls(tuple(float(s) for s in data.get("band_scale", ())), ClassRule(**data.get("trend", {})),
                   ClassRule(**data.get("level", {})), dict(data.get("diagnostics", {})), implied_from)

    def point(self, quantiles: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
        """The point [N, H] of ``quantiles`` [N, H, Q] (counts, at ``levels``) the implied classes read."""
        return expected_value(quantiles, levels) if self.implied_from == "mean" else median(quantiles)

    def rule(self, name: str) -> ClassRule:
        """The :class:`ClassRule` of class task ``name``."""
        return {"trend": self.trend, "level": self.level}[name]


def forecasts(raw: dict[str, np.ndarray], log_scale: np.ndarray, windows: WindowSet, module: TsfuseModule,
              task: TaskSpec, calibration: Calibration | None = None) -> dict[str, np.ndarray]:
    """``quantiles`` [N, H, Q] (counts), ``trend_proba`` [N, 3] and ``level_proba`` [N, 5] from the raw
    outputs of :func:`network_outputs`, calibrated when ``calibration`` is given.

    Args:
        raw: the network's outputs.
        log_scale: the windows' ``log_scale`` input [N].
        windows: the windows (their context gives the value-implied trend).
        module: the module (its class weights).
        task: the class rules.
        calibration: None: the network's outputs as they are.
    """
    q = raw["quantiles"]
    if calibration is not None and calibration.band_scale:
        q = scale_band(q, np.asarray(calibration.band_scale))
    quantiles = to_counts(q, log_scale)
    out = {"quantiles": quantiles}
    implied = {} if calibration is None else implied_classes(windows, calibration.point(quantiles, module.net.config.quantiles), task)
    for name, k in CLASS_TASKS.items():
        rule = calibration.rule(name) if calibration is not None else ClassRule()
        out[f"{name}_proba"] = _class_probabilities(raw[name], module.net.class_weights(name), rule,
                                                    implied.get(name), k)
    return out


def to_counts(q: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """Quantiles [N, H, Q] in counts (at least 0) from the network's normalised log1p ones and the
    windows' ``log_scale`` [N]."""
    return np.clip(np.expm1(q + log_scale[:, None, None]), 0, None)


def implied_classes(windows: WindowSet, point: np.ndarray, task: TaskSpec) -> dict[str, np.ndarray]:
    """``{"trend", "level"}``: the classes the point forecast ``point`` [N, H] (counts) implies under the
    task's rules, as for a value baseline."""
    return dict(zip(CLASS_TASKS, labels_from_forecast(windows.context, point, task)))


def expected_value(quantiles: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """The mean of the forecast distribution [N, H] from its quantiles [N, H, Q] (counts).

    Each quantile stands for the probabilities nearer its level than any other's (cells cut halfway
    between adjacent levels, the outer ones reaching 0 and 1): for p10 / p50 / p90 the weights are
    0.3 / 0.4 / 0.3 (Swanson's rule). The class rules are defined on 3-month means of counts, which
    a right-skewed month's median understates.

    Args:
        quantiles: the forecast quantiles [N, H, Q], in increasing ``levels``.
        levels: the quantile levels [Q] (each in (0, 1)).
    """
    edges = np.concatenate([[0.0], (np.asarray(levels[:-1]) + np.asarray(levels[1:])) / 2, [1.0]])
    return quantiles @ np.diff(edges)


def median(quantiles: np.ndarray) -> np.ndarray:
    """The median of an odd number of quantiles [N, H, Q] -> [N, H]."""
    return quantiles[..., quantiles.shape[-1] // 2]


def scale_band(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Quantiles [N, H, Q] with every offset from the median multiplied by ``scale`` [H]."""
    mid = median(q)[..., None]
    return mid + scale[None, :, None] * (q - mid)


def _class_probabilities(logits: np.ndarray, weights: torch.Tensor, rule: ClassRule, implied: np.ndarray | None,
                         k: int) -> np.ndarray:
    proba = class_proba(logits, weights, rule.adjustment)
    if rule.value_weight > 0 and implied is not None:
        proba = (1 - rule.value_weight) * proba + rule.value_weight * np.eye(k)[implied]
    return proba


def fit_calibration(module: TsfuseModule, raw: dict[str, np.ndarray], log_scale: np.ndarray, windows: WindowSet,
                    task: TaskSpec, quantiles: tuple[float, ...]) -> Calibration:
    """The :class:`Calibration` that fits ``module``'s forecasts of the validation ``windows`` best.

    Args:
        module: the trained module (before any refit on these windows; its class weights).
        raw: its outputs for the windows (:func:`network_outputs`).
        log_scale: the windows' ``log_scale`` input [N].
        windows: validation windows (targets partly observed count where observed).
        task: the class rules.
        quantiles: the model's quantile levels (the outer pair's share is the band's nominal coverage).
    """
    nominal = quantiles[-1] - quantiles[0]
    target = np.log1p(windows.target) - log_scale[:, None]
    scale = np.array([_band_factor(raw["quantiles"][:, h], target[:, h], nominal) for h in range(target.shape[1])])
    calibrated = scale_band(raw["quantiles"], scale)
    diagnostics = {"validation_windows": len(windows), "nominal_coverage": round(nominal, 4),
                   "coverage_before": _coverage(raw["quantiles"], target), "coverage_after": _coverage(calibrated, target)}
    implied = implied_classes(windows, expected_value(to_counts(calibrated, log_scale), quantiles), task)  # as forecasts() will see them
    rules = {}
    for name, k in CLASS_TASKS.items():
        labels = getattr(windows, name)
        seen = labels >= 0
        rules[name], before, after = _best_rule(raw[name][seen], module.net.class_weights(name), implied[name][seen],
                                                labels[seen], k)
        diagnostics[f"{name}_macro_f1"] = {"before": before, "after": after, "windows": int(seen.sum())}
    log.info("calibrated on %d validation windows: band scale per step %s, coverage %s -> %s; trend %s, level %s",
             len(windows), [round(float(s), 2) for s in scale], diagnostics["coverage_before"],
             diagnostics["coverage_after"], rules["trend"], rules["level"])
    return Calibration(tuple(round(float(s), 4) for s in scale), rules["trend"], rules["level"], diagnostics)


def _band_factor(q: np.ndarray, target: np.ndarray, nominal: float) -> float:
    """Split-conformal factor on the outer band's offsets so that it covers ``nominal`` of ``target``.

    q [N, Q] (normalised log1p), target [N] (NaN where not observed)."""
    seen = ~np.isnan(target)
    n = int(seen.sum())
    if n < MIN_WINDOWS:
        log.warning("band calibration: only %d observed validation target(s) at a step (< %d); that step's "
                    "band is left as the network gives it", n, MIN_WINDOWS)
        return 1.0
    t, mid, lo, hi = target[seen], median(q)[seen], q[seen, 0], q[seen, -1]
    ratio = np.where(t >= mid, (t - mid) / np.maximum(hi - mid, 1e-9), (mid - t) / np.maximum(mid - lo, 1e-9))
    level = min(1.0, math.ceil((n + 1) * nominal) / n)
    factor = float(np.quantile(ratio, level, method="higher"))
    low, high = BAND_SCALE_LIMITS
    if not low <= factor <= high:
        log.warning("band calibration: factor %.3f is outside %s and is clipped: the band the network gives is far "
                    "from its nominal coverage on the validation windows", factor, BAND_SCALE_LIMITS)
    return float(np.clip(factor, low, high))


def _coverage(q: np.ndarray, target: np.ndarray) -> list[float]:
    """Share of observed targets inside the outer band, per step (None: no observed target there)."""
    inside = (target >= q[..., 0]) & (target <= q[..., -1])
    seen = ~np.isnan(target)
    return [round(float(inside[seen[:, h], h].mean()), 3) if seen[:, h].any() else None
            for h in range(target.shape[1])]


def _best_rule(logits: np.ndarray, weights: torch.Tensor, implied: np.ndarray, labels: np.ndarray,
               k: int) -> tuple[ClassRule, float | None, float | None]:
    """The :class:`ClassRule` of the grid with the best macro-F1 (ties: the first, i.e. the identity)."""
    def score(rule: ClassRule) -> float:
        pred = _class_probabilities(logits, weights, rule, implied, k).argmax(1)
        return float(f1_score(labels, pred, labels=list(range(k)), average="macro", zero_division=0))

    identity = ClassRule()
    if len(labels) == 0:
        return identity, None, None
    best, best_score = identity, score(identity)
    before = best_score
    for adjustment in ADJUSTMENTS:
        for weight in VALUE_WEIGHTS:
            rule = ClassRule(adjustment, weight)
            s = score(rule)
            if s > best_score:
                best, best_score = rule, s
    return best, round(before, 4), round(best_score, 4)

"""Pictures people would rather look at: forecast fan chart, training curves, confusion matrices;
text sparklines for the terminal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from tsfuse.data.schema import DS, ID, Y

log = logging.getLogger(__name__)
SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values) -> str:
    """A one-line unicode sparkline of non-negative values."""
    v = np.asarray(values, float)
    if v.size == 0:
        return ""
    top = v.max()
    if top <= 0:
        return SPARK[0] * v.size
    return "".join(SPARK[int(round(x / top * (len(SPARK) - 1)))] for x in v)


def fan_chart(history: pd.DataFrame, forecast: pd.DataFrame, path: str | Path, *, months: int = 36,
              title: str | None = None, task=None) -> Path:
    """PNG of the last ``months`` of history and the p10-p90 band with the p50 line, one project."""
    plt = _pyplot()
    uid = forecast[ID].iloc[0]
    hist = history[history[ID] == uid].sort_values(DS).tail(months)
    fc = forecast[forecast[ID] == uid].sort_values(DS)
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=110)
    ax.plot(hist[DS], hist[Y], color="#333333", lw=1.5, label="history")
    ax.fill_between(fc[DS], fc["p10"], fc["p90"], color="#4c72b0", alpha=0.25, label="p10–p90")
    ax.plot(fc[DS], fc["p50"], color="#4c72b0", lw=2, marker="o", ms=3, label="p50 forecast")
    if len(hist):
        ax.plot([hist[DS].iloc[-1], fc[DS].iloc[0]], [hist[Y].iloc[-1], fc["p50"].iloc[0]],
                color="#4c72b0", lw=1, ls=":")
    level = int(fc["level"].iloc[0])
    level_text = f"{level} ({task.level_range(level)})" if task is not None else str(level)
    ax.set_title(title or f"{uid}: next {len(fc)} months — trend {fc['trend'].iloc[0]}, level {level_text}",
                 fontsize=10)
    ax.set_ylabel("per month")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    return _save(fig, path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


TRAINING_STAGES = (("training", "pretraining (many projects)"), ("finetune", "fine-tuning (this project)"))


def training_curves(info: dict[str, Any], path: str | Path) -> Path:
    """PNG of the per-epoch train and validation loss of pretraining and fine-tuning.

    ``info`` is :attr:`Forecaster.info`; its ``training`` / ``finetune`` entries carry a ``curve``
    (list of ``{epoch, train_loss, val_loss}``), the best epoch and, for fine-tuning, the
    pretrained model's loss on the same validation windows. A stage without a curve (a model
    saved before curves were recorded, or fine-tuning skipped) gets a panel that says so.
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(TRAINING_STAGES), figsize=(10, 3.9), dpi=110)
    for ax, (key, label) in zip(axes, TRAINING_STAGES):
        stage = info.get(key) or {}
        curve = stage.get("curve") or []
        ax.set_title(label, fontsize=10)
        if not curve:
            why = ("fine-tuning was skipped (too little history)" if stage.get("skipped") else
                   "no loss curve recorded\n(the model was saved before tsfuse recorded them)")
            log.warning("training curves: %s: %s", label, why.replace("\n", " "))
            ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="#666666")
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        epochs = [c["epoch"] + 1 for c in curve]
        for name, color in (("train_loss", "#333333"), ("val_loss", "#4c72b0")):
            values = [np.nan if c.get(name) is None else c[name] for c in curve]
            if not np.all(np.isnan(values)):
                ax.plot(epochs, values, color=color, marker="o", ms=3, lw=1.5, label=name.replace("_", " "))
        if stage.get("best_epoch") is not None:
            kept = "" if stage.get("kept_pretrained") else " (kept)"
            ax.axvline(stage["best_epoch"] + 1, color="#c44e52", ls="--", lw=1, label=f"best epoch{kept}")
        if stage.get("pretrained_val_loss") is not None:
            kept = " (kept)" if stage.get("kept_pretrained") else ""
            ax.axhline(stage["pretrained_val_loss"], color="#55a868", ls=":", lw=1.5,
                       label=f"pretrained model, val loss{kept}")
        if stage.get("freeze_epochs"):
            ax.axvspan(0.5, stage["freeze_epochs"] + 0.5, color="#dddddd", alpha=0.5, lw=0,
                       label="temporal tower frozen")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False)
    return _save(fig, path)


def confusion_matrices(matrices: Sequence[tuple[str, np.ndarray, Sequence[str]]], path: str | Path) -> Path:
    """PNG of confusion matrices side by side: ``(title, counts [true x predicted], class names)`` each."""
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    widths = [len(names) for _, _, names in matrices]
    fig, axes = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices) + 1, 4.4), dpi=110,
                             gridspec_kw={"width_ratios": widths})
    for ax, (title, counts, names) in zip(np.atleast_1d(axes), matrices):
        ConfusionMatrixDisplay(np.asarray(counts), display_labels=list(names)).plot(
            ax=ax, cmap="Blues", colorbar=False, values_format="d")
        ax.set_title(f"{title} ({int(np.sum(counts))} windows)", fontsize=10)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        ax.tick_params(axis="y", labelsize=8)
    return _save(fig, path)

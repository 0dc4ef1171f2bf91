"""Pictures people would rather look at: forecast fan chart; text sparklines for the terminal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tsfuse.data.schema import DS, ID, Y

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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

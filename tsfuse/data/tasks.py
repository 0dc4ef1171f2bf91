"""The forecasting task per corpus, as fixed by BENCHMARK.md v1."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

TREND_CLASSES = ("down", "flat", "up")
N_LEVELS = 5


@dataclass(frozen=True)
class TaskSpec:
    """Horizon, label rules and benchmark origins of one corpus."""

    name: str
    target: str
    tau: float  # trend threshold on the log1p difference of 3-month means
    level_edges: tuple[float, ...]  # 4 edges -> 5 activity levels
    origins: tuple[str, ...] = field(default_factory=tuple)  # benchmark origins, YYYY-MM
    horizon: int = 6
    min_history: int = 12

    def level_range(self, level: int) -> str:
        """Human-readable range of an activity level, e.g. '10–<50 commits/month'."""
        edges = (0.0, *self.level_edges)
        if level >= len(self.level_edges):
            return f">={edges[-1]:g} {self.target}/month"
        return f"{edges[level]:g}–<{edges[level + 1]:g} {self.target}/month"

    def level_label(self, level: int) -> str:
        """Short label of an activity level, e.g. ``'<1'``, ``'10-<50'``, ``'>=200'`` (in the target's units)."""
        edges = self.level_edges
        if level == 0:
            return f"<{edges[0]:g}"
        if level >= len(edges):
            return f">={edges[-1]:g}"
        return f"{edges[level - 1]:g}-<{edges[level]:g}"

    def origin_timestamps(self) -> list[pd.Timestamp]:
        return [pd.Timestamp(f"{o}-01") for o in self.origins]


TASKS: dict[str, TaskSpec] = {
    "oss-activity": TaskSpec(
        name="oss-activity", target="commits", tau=0.2, level_edges=(1.0, 10.0, 50.0, 200.0),
        origins=("2023-04", "2023-10", "2024-04"),
    ),
    # BENCHMARK.md v2: corpus v2 has the same series rules and origins as oss-activity
    "oss-activity-v2": TaskSpec(
        name="oss-activity-v2", target="commits", tau=0.2, level_edges=(1.0, 10.0, 50.0, 200.0),
        origins=("2023-04", "2023-10", "2024-04"),
    ),
    "opendigger": TaskSpec(
        name="opendigger", target="activity", tau=0.1, level_edges=(400.0, 550.0, 750.0, 1100.0),
        origins=("2021-10", "2022-04", "2022-10"),
    ),
}


def get_task(name: str) -> TaskSpec:
    """The :class:`TaskSpec` of a corpus name; a clear error for an unknown one."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown corpus {name!r}; choose one of {sorted(TASKS)}") from None

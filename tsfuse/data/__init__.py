"""Monthly activity panels: sources, validation, labels and windows."""

from tsfuse.data.labels import labels_from_forecast, level_label, trend_label
from tsfuse.data.schema import DS, ID, Y, PanelError, covariate_columns, validate_panel
from tsfuse.data.tasks import TASKS, TaskSpec, get_task
from tsfuse.data.windows import WindowSet, concat_windows, forecast_origin, make_windows

__all__ = [
    "DS", "ID", "Y", "PanelError", "TASKS", "TaskSpec", "WindowSet", "concat_windows", "covariate_columns",
    "forecast_origin", "get_task", "labels_from_forecast", "level_label", "make_windows", "trend_label",
    "validate_panel",
]

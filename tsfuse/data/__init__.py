"""Monthly activity panels: sources, validation, labels, windows and the embedded corpora."""

from tsfuse.data.sources.commits import from_commits
from tsfuse.data.corpus import Corpus, load_corpus, quality_report
from tsfuse.data.sources.git import from_git
from tsfuse.data.labels import labels_from_forecast, level_label, trend_label
from tsfuse.data.sources.opendigger import from_opendigger, from_opendigger_tree
from tsfuse.data.quality import format_quality_report
from tsfuse.data.schema import DS, ID, Y, PanelError, covariate_columns, validate_panel
from tsfuse.data.tasks import TASKS, TaskSpec, get_task
from tsfuse.data.windows import WindowSet, forecast_origin, make_windows

__all__ = [
    "Corpus", "DS", "ID", "Y", "PanelError", "TASKS", "TaskSpec", "WindowSet",
    "covariate_columns", "forecast_origin", "format_quality_report", "from_commits", "from_git",
    "from_opendigger", "from_opendigger_tree", "get_task", "labels_from_forecast", "level_label",
    "load_corpus", "make_windows", "quality_report", "trend_label", "validate_panel",
]

"""tsfuse: forecast how open-source projects evolve (activity, trend, level) from history + README."""

import os

from tsfuse._version import __version__

# torch (and LightGBM in the benchmarks) share one OpenMP runtime whose idle threads spin by
# default, which slows training several-fold on small, busy machines. A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from tsfuse.api import fit, load, pretrain  # noqa: E402
from tsfuse.portfolio import forecast  # noqa: E402
from tsfuse.config import ModelConfig, TrainConfig  # noqa: E402
from tsfuse.data.schema import PanelError, validate_panel  # noqa: E402
from tsfuse.data.windows import make_windows  # noqa: E402
from tsfuse.errors import ModelFileError, TextInputError, TsfuseError  # noqa: E402
from tsfuse.estimator import Forecaster  # noqa: E402

__all__ = ["Forecaster", "ModelConfig", "ModelFileError", "PanelError", "TextInputError", "TrainConfig",
           "TsfuseError", "__version__", "fit", "forecast", "load", "make_windows", "pretrain", "validate_panel"]

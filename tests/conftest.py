import logging

import pytest

from tsfuse.data.synthetic import generate_panel
from tsfuse.data.tasks import get_task

# Lightning announces devices on every Trainer; keep test output readable.
for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
    logging.getLogger(name).setLevel(logging.ERROR)

TINY_TRAIN = {"max_epochs": 2, "progress_bar": False, "logger": "none", "batch_size": 64}
TINY_MODEL = {"hidden_size": 16, "num_layers": 1, "fusion_size": 16, "text_proj_size": 8, "text_model": None}


@pytest.fixture(scope="session")
def task():
    return get_task("oss-activity")


@pytest.fixture(scope="session")
def panel():
    return generate_panel(10, 48, covariates=("authors", "churn"), seed=1)

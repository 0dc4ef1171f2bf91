"""Model folders saved by tsfuse 0.1.0 before the layout change (tests/fixtures/saved-0.1.0) still load
and predict exactly what they predicted when they were saved."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import tsfuse

FIXTURES = Path(__file__).parent.parent / "fixtures" / "saved-0.1.0"


@pytest.mark.parametrize("name", ["lstm-text", "transformer-notext"])
def test_a_model_saved_before_the_layout_change_loads_and_predicts_identically(name):
    model = tsfuse.load(FIXTURES / name)
    expected = pd.read_csv(FIXTURES / f"{name}-predict.csv", parse_dates=["ds"])
    expected["unique_id"] = expected["unique_id"].astype(str)
    got = model.predict()
    pd.testing.assert_frame_equal(got[expected.columns.tolist()], expected, check_dtype=False, rtol=1e-6, atol=1e-7)

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tsfuse.data.windows import make_windows
from tsfuse.data.features import build_inputs


def _inputs(panel, task, origins):
    w = make_windows(panel, task, origins, context_length=24, require_target=False)
    n = len(w)
    return w, build_inputs(w, ("authors", "churn", "stars"), np.zeros((n, 4)), np.zeros(n))


@settings(max_examples=15, deadline=None)
@given(shift=st.integers(0, 20), factor=st.floats(0.0, 50.0))
def test_inputs_never_see_the_origin_or_after(panel, task, shift, factor):
    origin = np.datetime64("2021-06") + shift
    later = panel["ds"] >= np.datetime64(origin, "ns")
    perturbed = panel.copy()
    for col in ("y", "authors", "churn"):
        perturbed.loc[later, col] = perturbed.loc[later, col] * factor + 7
    _, a = _inputs(panel, task, [str(origin)])
    _, b = _inputs(perturbed, task, [str(origin)])
    for key in ("series", "static", "log_scale"):
        np.testing.assert_array_equal(a[key], b[key])


def test_absent_covariate_is_zero_and_flagged(panel, task):
    w, x = _inputs(panel, task, ["2021-06"])
    c = 3  # authors, churn, stars(absent)
    present = x["static"][:, 2 + c:]
    np.testing.assert_array_equal(present, np.tile([1.0, 1.0, 0.0], (len(w), 1)))
    assert np.all(x["series"][:, :, 1 + 2] == 0)  # the stars channel
    assert x["series"].shape == (len(w), 24, 1 + c + 3)


def test_targets_are_log_ratios_to_the_context_level(panel, task):
    w, x = _inputs(panel, task, ["2021-06"])
    expected = np.log1p(w.target) - np.log1p(w.scale)[:, None]
    np.testing.assert_allclose(x["target"], expected.astype(np.float32), rtol=1e-6)

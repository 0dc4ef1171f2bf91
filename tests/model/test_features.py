import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tsfuse.data.features import HISTORY_FEATURES, INPUT_KEYS, FeatureSpec, build_inputs
from tsfuse.data.windows import WindowSet, make_windows

COVARIATES = ("authors", "churn", "stars")
CONTEXT_KEYS = ("values", "covariates", "mask", "calendar", "log_scale", "age", "cov_scale", "cov_present", "mase_scale",
                "history")


def _inputs(panel, task, origins):
    w = make_windows(panel, task, origins, context_length=24, require_target=False)
    n = len(w)
    return w, build_inputs(w, COVARIATES, np.zeros((n, 4)), np.zeros(n))


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
    for key in CONTEXT_KEYS:
        np.testing.assert_array_equal(a[key], b[key])


def test_named_arrays_and_their_shapes(panel, task):
    w, x = _inputs(panel, task, ["2021-06"])
    n, c = len(w), len(COVARIATES)
    assert tuple(x) == INPUT_KEYS
    shapes = {"values": (n, 24), "covariates": (n, 24, c), "mask": (n, 24), "calendar": (n, 24, 2),
              "log_scale": (n,), "age": (n,), "cov_scale": (n, c), "cov_present": (n, c),
              "history": (n, len(HISTORY_FEATURES)), "text": (n, 4),
              "text_present": (n,), "target": (n, 6), "target_mask": (n, 6), "mase_scale": (n,), "trend": (n,), "level": (n,)}
    assert {k: v.shape for k, v in x.items()} == shapes
    assert x["trend"].dtype == x["level"].dtype == np.int64
    assert all(x[k].dtype == np.float32 for k in shapes if k not in ("trend", "level"))
    np.testing.assert_allclose(x["age"], np.log1p(w.age) / 5.0, rtol=1e-6)
    np.testing.assert_array_equal(x["mask"], w.mask)
    # MASE's scale of the context months alone (padding and the target months never enter it)
    for i in range(3):
        real = w.context[i][w.mask[i] > 0]
        step = np.abs(np.diff(real)).mean() if len(real) > 1 else 0.0
        assert x["mase_scale"][i] == pytest.approx(step if step > 0 else 1.0, rel=1e-6)


def test_absent_covariate_is_zero_and_flagged(panel, task):
    w, x = _inputs(panel, task, ["2021-06"])
    np.testing.assert_array_equal(x["cov_present"], np.tile([1.0, 1.0, 0.0], (len(w), 1)))
    assert np.all(x["covariates"][:, :, 2] == 0)  # the stars channel


def test_feature_spec_sizes_and_order(panel, task):
    spec = FeatureSpec.for_covariates(list(COVARIATES))
    assert spec.covariates == COVARIATES
    assert (spec.series_channels, spec.static_size) == (1 + 3 + 1 + 2, 2 + 2 * 3)
    _, x = _inputs(panel, task, ["2021-06"])
    batch = {k: torch.from_numpy(v) for k, v in x.items()}
    series, static = spec.series(batch), spec.static(batch)
    assert series.shape[-1] == spec.series_channels and static.shape[-1] == spec.static_size
    np.testing.assert_array_equal(series[..., 0].numpy(), x["values"])
    np.testing.assert_array_equal(series[..., 4].numpy(), x["mask"])  # before the two calendar channels
    np.testing.assert_array_equal(static[:, 0].numpy(), x["log_scale"])
    assert FeatureSpec().series_channels == 4 and FeatureSpec().static_size == 2
    with_history = FeatureSpec.for_covariates(list(COVARIATES), history=True)
    assert with_history.static_size == spec.static_size + len(HISTORY_FEATURES)
    np.testing.assert_array_equal(with_history.static(batch)[:, -len(HISTORY_FEATURES):].numpy(), x["history"])


def _window(context, releases):
    """One hand-made window (12 real months after 4 padded ones) with a ``releases`` covariate."""
    n_pad = 4
    context = np.array([0.0] * n_pad + context, dtype=float)[None, :]
    mask = np.array([0.0] * n_pad + [1.0] * (context.shape[1] - n_pad))[None, :]
    cov = np.array([0.0] * n_pad + releases, dtype=float)[None, :, None]
    return WindowSet(unique_id=np.array(["p"]), origin=np.array(["2022-01"], dtype="datetime64[M]"), context=context,
                     mask=mask, covariates=cov, covariate_names=("releases",), age=np.array([12]),
                     scale=np.array([context[0, -12:].mean()]), target=np.full((1, 6), np.nan),
                     trend=np.array([-1]), level=np.array([-1]))


def test_history_features_by_hand():
    y = [4, 4, 4, 4, 4, 4, 8, 8, 8, 0, 0, 0]
    releases = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    w = _window(y, releases)
    h = dict(zip(HISTORY_FEATURES, build_inputs(w, ("releases",), np.zeros((1, 2)), np.zeros(1))["history"][0]))
    log_scale = np.log1p(np.mean(y))
    assert h["mean3"] == pytest.approx(0.0 - log_scale, abs=1e-6)  # log1p(0) - log_scale
    assert h["mean6"] == pytest.approx(np.log1p(4.0) - log_scale, abs=1e-6)
    assert h["last"] == pytest.approx(-log_scale, abs=1e-6)
    assert h["std12"] == pytest.approx(np.std(np.log1p(y)), abs=1e-5)
    assert h["momentum"] == pytest.approx(np.mean(np.log1p(y[6:])) - np.log1p(4.0), abs=1e-5)
    mase = np.abs(np.diff(y)).mean()
    assert h["volatility"] == pytest.approx(np.log1p(mase) - log_scale, abs=1e-5)
    assert h["zero_share12"] == pytest.approx(3 / 12)
    assert h["since_active"] == pytest.approx(np.log1p(3) / 5)  # the last active month is 3 months back
    assert h["since_release"] == pytest.approx(np.log1p(10) / 5)  # month 2 of 12
    never = dict(zip(HISTORY_FEATURES, build_inputs(_window([0] * 12, [0] * 12), ("releases",), np.zeros((1, 2)),
                                                    np.zeros(1))["history"][0]))
    assert never["since_active"] == never["since_release"] == pytest.approx(np.log1p(12) / 5)  # none in 12 real months


def test_targets_are_log_ratios_to_the_context_level(panel, task):
    w, x = _inputs(panel, task, ["2021-06"])
    expected = np.log1p(w.target) - np.log1p(w.scale)[:, None]
    np.testing.assert_allclose(x["target"], expected.astype(np.float32), rtol=1e-6)


def test_values_and_targets_can_be_centred_on_the_last_month_or_the_last_three(panel, task):
    w = make_windows(panel, task, ["2021-06"], context_length=24)
    n = len(w)
    for centre, level in (("last", w.context[:, -1]), ("mean3", w.context[:, -3:].mean(1)), ("mean12", w.scale)):
        x = build_inputs(w, COVARIATES, np.zeros((n, 4)), np.zeros(n), centre)
        np.testing.assert_allclose(x["log_scale"], np.log1p(level), rtol=1e-5)
        np.testing.assert_allclose(x["values"][:, -1], np.log1p(w.context[:, -1]) - np.log1p(level), atol=1e-5)
    with pytest.raises(ValueError, match="centre must be one of"):
        build_inputs(w, COVARIATES, np.zeros((n, 4)), np.zeros(n), "median")

"""rbm: exact likelihood over the 2^H hidden states, exact conditionals, and Gibbs sampling that agrees."""
import copy

import numpy as np
import pandas as pd
import pytest

import plausible as pl
from plausible.core.errors import ParameterError


def clusters(n, seed):
    """Three clusters: a category picks the centre of x, and y follows x."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 3, n)
    x = np.array([-2.0, 0.5, 3.0])[k] + 0.5 * rng.standard_normal(n)
    return pd.DataFrame({"cat": np.array(list("abc"))[k], "x": x, "y": 0.8 * x + 0.3 * rng.standard_normal(n)})


@pytest.fixture(scope="module")
def fitted():
    return pl.make("rbm", seed=0, n_hidden=8, epochs=300).fit(clusters(1500, 0))


def test_density_sums_over_categories_and_integrates_to_one():
    frame = clusters(600, 1)[["cat", "x"]]
    model = pl.make("rbm", seed=0, n_hidden=5, epochs=60).fit(frame)
    grid = np.linspace(frame["x"].min(), frame["x"].max(), 4001)
    total = 0.0
    for label in "abc":
        density = np.exp(model.log_prob(pd.DataFrame({"cat": label, "x": grid})))
        total += np.trapezoid(density, grid)
    assert total == pytest.approx(1.0, abs=0.01)


def test_imputed_category_follows_the_exact_conditional(fitted):
    row = pd.DataFrame({"cat": [None], "x": [0.9], "y": [0.6]})
    draws = fitted.impute(pd.concat([row] * 3000, ignore_index=True), n_draws=1, seed=3)[0]["cat"]
    joint = np.array([fitted.log_prob(row.assign(cat=label))[0] for label in "abc"])
    expected = np.exp(joint - joint.max()) / np.exp(joint - joint.max()).sum()
    observed = draws.value_counts(normalize=True).reindex(list("abc"), fill_value=0).to_numpy()
    np.testing.assert_allclose(observed, expected, atol=0.03)


def test_gibbs_sampler_targets_the_same_distribution(fitted):
    gibbs = copy.copy(fitted)                      # the same weights, the other sampler
    gibbs.sampler, gibbs.gibbs_steps = "gibbs", 1000   # 300 sweeps: cluster shares still 0.03 off
    exact_rows, gibbs_rows = fitted.sample(3000, seed=5), gibbs.sample(3000, seed=5)
    for column in ("x", "y"):
        assert gibbs_rows[column].mean() == pytest.approx(exact_rows[column].mean(), abs=0.15)
        assert gibbs_rows[column].std() == pytest.approx(exact_rows[column].std(), rel=0.08)
    frequencies = [rows["cat"].value_counts(normalize=True).sort_index().to_numpy() for rows in (exact_rows, gibbs_rows)]
    np.testing.assert_allclose(*frequencies, atol=0.04)
    hidden = pd.DataFrame({"cat": ["c"] * 2000, "x": np.nan, "y": np.nan})   # conditionals agree too
    exact_x, gibbs_x = (m.impute(hidden, n_draws=1, seed=7)[0]["x"] for m in (fitted, gibbs))
    assert gibbs_x.mean() == pytest.approx(exact_x.mean(), abs=0.1)
    # spread compared by IQR: the std hangs on the 0.1-0.5% of draws in a far-off mode, whose share
    # Gibbs chains of 1,000 sweeps get only roughly right (checked separately, to within 1 point)
    iqr = [np.subtract(*np.percentile(x, [75, 25])) for x in (gibbs_x, exact_x)]
    assert iqr[0] == pytest.approx(iqr[1], rel=0.1)
    assert abs((gibbs_x < 0).mean() - (exact_x < 0).mean()) < 0.01


def test_hidden_units_capture_what_a_single_gaussian_cannot(fitted):
    held_out = clusters(1000, 2)
    inside = (held_out["x"].between(-3.5, 4.4)) & (held_out["y"].between(-3.4, 3.9))   # the training range
    rbm = fitted.log_prob(held_out[inside])
    gaussian = pl.make("gaussian", seed=0).fit(clusters(1500, 0)).log_prob(held_out[inside])
    assert np.isfinite(rbm).all()
    assert rbm.mean() > gaussian.mean() + 0.6   # measured: -2.67 against -3.44


def test_observed_cells_stay_and_imputations_follow_the_cluster(fitted):
    frame = clusters(200, 4)
    masked = frame.assign(x=frame["x"].where(frame.index % 2 == 0))
    draws = fitted.impute(masked, n_draws=3, seed=0)
    for draw in draws:
        pd.testing.assert_frame_equal(draw[["cat", "y"]], frame[["cat", "y"]])
        assert draw["x"].notna().all()
    hidden = frame.index % 2 == 1
    error = np.mean([np.abs(d["x"][hidden] - frame["x"][hidden]).mean() for d in draws])
    # y and the category pin x down (draws from x's marginal: error 2.3). Measured 0.62; gaussian 0.42,
    # gmm 0.36: Gaussian units are independent given h, so correlation within a cluster costs the rbm
    assert error < 0.75


def test_too_many_hidden_units_are_refused():
    with pytest.raises(ParameterError, match="n_hidden"):
        pl.make("rbm", n_hidden=21)

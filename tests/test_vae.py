"""vae: imputation of a known Gaussian table has the right conditional mean and spread, log_prob
is a proper importance-weighted estimate, and the decoder starts at the marginals."""
import numpy as np
import pandas as pd
import pytest
from _tables import conditional, gaussian

import plausible as pl

SETTINGS = {"epochs": 100, "hidden": 64}


@pytest.fixture(scope="module")
def fitted():
    return pl.make("vae", seed=0, **SETTINGS).fit(gaussian(5000, seed=1))


def test_imputation_has_the_gaussian_conditional_mean_and_spread(fitted):
    draws = fitted.impute(pd.DataFrame({"a": np.full(2000, 1.5), "b": np.nan, "c": np.nan}), n_draws=1, seed=2)[0]
    assert (draws["a"] == 1.5).all()
    mean, sd = conditional(1.5)
    # stated tolerance: means within 0.15 (a quarter of b's conditional sd), spreads within 20%
    # (measured: means 1.29 and 0.40 for 1.2 and 0.45; sds 0.67 and 0.97 for 0.6 and 0.95)
    np.testing.assert_allclose(draws[["b", "c"]].mean(), mean, atol=0.15)
    np.testing.assert_allclose(draws[["b", "c"]].std(), sd, rtol=0.2)


def test_log_prob_estimate_is_close_to_the_true_density(fitted):
    from scipy.stats import multivariate_normal
    train = gaussian(5000, seed=1)
    rows = gaussian(500, seed=7)
    rows = rows[((rows > train.min()) & (rows < train.max())).all(axis=1)]   # outside, the marginals give 0
    truth = multivariate_normal(np.zeros(3), [[1.0, 0.8, 0.3], [0.8, 1.0, 0.2], [0.3, 0.2, 1.0]]).logpdf(rows)
    estimate = fitted.log_prob(rows)
    assert np.array_equal(estimate, fitted.log_prob(rows)), "log_prob must be deterministic"
    # the mean held-out log-likelihood is within 0.15 nats of the truth's (-3.70 per row here)
    assert abs(estimate.mean() - truth.mean()) < 0.15, f"{estimate.mean():.3f} vs {truth.mean():.3f}"
    assert np.corrcoef(estimate, truth)[0, 1] > 0.9   # measured 0.94
    # a row's estimate depends on the row alone, not on the rows scored with it (up to float32 round-off)
    alone = np.array([fitted.log_prob(rows.iloc[[k]])[0] for k in range(5)])
    np.testing.assert_allclose(alone, estimate[:5], atol=1e-4)
    np.testing.assert_allclose(fitted.log_prob(rows.iloc[::-1])[::-1], estimate, atol=1e-4)


def test_an_untrained_decoder_already_draws_the_category_frequencies():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"kind": rng.choice(["a", "b", "c"], 2000, p=[0.7, 0.2, 0.1]),
                         "score": np.where(rng.random(2000) < 0.2, np.nan, rng.normal(size=2000))})
    model = pl.make("vae", seed=0, epochs=1, hidden=16).fit(data)
    samples = model.sample(5000, seed=0)
    np.testing.assert_allclose(samples["kind"].value_counts(normalize=True)[["a", "b", "c"]], [0.7, 0.2, 0.1],
                               atol=0.04)
    assert abs(samples["score"].isna().mean() - 0.2) < 0.04

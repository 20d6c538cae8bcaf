"""statespace: EM recovers a known model, and the Kalman answers equal the closed-form Gaussian ones.

The model's joint distribution of one row of length T is N(d 1, S) with
S_ij = C A^|i-j| P0 C' + R [i == j]; every exact answer (log-likelihood, imputation, forecast)
is checked against that multivariate normal computed here by brute force.
"""
import numpy as np
import pandas as pd
import pytest
from scipy import linalg, stats

import plausible as pl


def ar1_plus_noise(length, rows=1, phi=0.8, state_sd=1.0, noise_sd=0.5, seed=0):
    rng = np.random.default_rng(seed)
    x = np.empty((rows, length))
    x[:, 0] = rng.normal(0, state_sd / np.sqrt(1 - phi ** 2), rows)
    for t in range(1, length):
        x[:, t] = phi * x[:, t - 1] + rng.normal(0, state_sd, rows)
    return x + rng.normal(0, noise_sd, (rows, length))


def implied(model, length):
    """Mean (T,) and covariance (T, T) of one row under the fitted model, by brute force."""
    p = model.parameters
    lagged, autocovariance = p["P0"], np.empty(length)          # Cov(x_t+h, x_t) = A^h P0
    for h in range(length):
        autocovariance[h] = p["C"] @ lagged @ p["C"]
        lagged = p["A"] @ lagged
    return np.full(length, p["d"]), linalg.toeplitz(autocovariance) + p["R"] * np.eye(length)


def conditional(mean, cov, observed, values):
    """Mean and covariance of the cells not in `observed` given values[observed]."""
    o, u = observed, ~observed
    gain = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, u)]).T
    return mean[u] + gain @ (values[o] - mean[o]), cov[np.ix_(u, u)] - gain @ cov[np.ix_(o, u)]


@pytest.fixture(scope="module")
def windows_model():
    table = pd.DataFrame(ar1_plus_noise(10, rows=200, seed=3) + 4.0, columns=[f"t{i}" for i in range(10)])
    return pl.make("statespace", seed=0, state_dim=2).fit(table)


def test_recovers_ar1_plus_noise():
    """x_t = 0.8 x_t-1 + N(0, 1), y_t = x_t + N(0, 0.5^2): A, C^2 Q and R are identified (C and Q alone are not).

    Over 12 seeds the fit of ONE series of 2,000 steps gave phi 0.803 +- 0.020, C^2 Q 0.98 +- 0.07
    and R 0.26 +- 0.05: R is only known to ~20% from 2,000 points. Ten such series (a 10 x 2,000
    table) gave phi 0.805 +- 0.003, C^2 Q 0.98 +- 0.017, R 0.261 +- 0.010, so 15% there is ~4 sd.
    """
    model = pl.make("statespace", seed=0, state_dim=1).fit(ar1_plus_noise(2000, seed=11))
    assert abs(model.parameters["A"][0, 0] - 0.8) < 0.05, model.parameters["A"]
    p = pl.make("statespace", seed=0, state_dim=1).fit(ar1_plus_noise(2000, rows=10, seed=12)).parameters
    phi, state_var, noise_var = p["A"][0, 0], (p["C"] ** 2 * p["Q"])[0, 0], p["R"]
    assert abs(phi - 0.8) < 0.05, phi
    assert abs(state_var - 1.0) < 0.15, state_var
    assert abs(noise_var - 0.25) < 0.15 * 0.25, noise_var
    assert abs(p["d"]) < 0.1, p["d"]


def test_white_noise_forecasts_are_typical_and_calibrated():
    covered, means, variances = [], [], []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        y = rng.standard_normal(50)
        model = pl.make("statespace", seed=0).fit(y[None])
        mean, cov = model.forecast_moments(y, 10)
        means.append(mean)
        variances.append(np.diag(cov))
        paths = model.forecast(y, 10, n_paths=2000, seed=seed)
        low, high = np.quantile(paths, [0.025, 0.975], axis=0)
        future = rng.standard_normal((200, 10))
        covered.append(((future >= low) & (future <= high)).mean())
        assert paths.std(axis=1).mean() > 0.5, "paths are flat: the forecast is a mean path, not typical futures"
    means, variances = np.array(means), np.array(variances)
    # One fit sees 50 points: its level is off by ~1/sqrt(50) = 0.14 and its variance by ~0.2. A
    # fit may find spurious autocorrelation (seed 0: A = 0.43), so its first steps follow the last
    # values (measured: first-step mean 0.56); the average over all fits and steps is -0.07.
    assert np.abs(means).max() < 0.8 and np.abs(means.mean(axis=1)).max() < 0.45, means.mean(axis=1)
    assert abs(means.mean()) < 0.15, means.mean()
    assert variances.min() > 0.5 and variances.max() < 1.7 and abs(variances.mean() - 1) < 0.15, variances.mean()
    # measured 0.929 (variances 0.91 on average): an ML fit to 50 points is a little too narrow
    assert 0.90 < np.mean(covered) < 0.97, np.mean(covered)


def test_log_prob_is_the_exact_gaussian_density(windows_model):
    table = pd.DataFrame(ar1_plus_noise(10, rows=5, seed=4) + 4.0, columns=[f"t{i}" for i in range(10)])
    table.iloc[1, [2, 3, 7]] = np.nan
    table.iloc[2, 0] = np.nan
    table.iloc[3, -1] = np.nan
    mean, cov = implied(windows_model, 10)
    expected = []
    for row in table.to_numpy():
        o = ~np.isnan(row)
        expected.append(stats.multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(row[o]))
    np.testing.assert_allclose(windows_model.log_prob(table), expected, rtol=1e-9)


def test_impute_draws_from_the_gaussian_conditional(windows_model):
    row = ar1_plus_noise(10, seed=5)[0] + 4.0
    row[[0, 3, 4, 8]] = np.nan
    table = pd.DataFrame(np.tile(row, (2000, 1)), columns=[f"t{i}" for i in range(10)])
    draws = np.concatenate([d.to_numpy()[:, np.isnan(row)] for d in windows_model.impute(table, n_draws=2, seed=1)])
    mean, cov = implied(windows_model, 10)
    target_mean, target_cov = conditional(mean, cov, ~np.isnan(row), row)
    error = np.abs(draws.mean(axis=0) - target_mean) / np.sqrt(np.diag(target_cov) / len(draws))
    assert error.max() < 4, error                                   # in Monte-Carlo standard errors
    np.testing.assert_allclose(np.cov(draws.T), target_cov, atol=0.08 * np.diag(target_cov).max())
    assert np.corrcoef(draws[:, 1], draws[:, 2])[0, 1] > 0.2, "neighbouring gaps are not drawn jointly"


def test_forecast_matches_the_closed_form(windows_model):
    history = ar1_plus_noise(12, seed=6)[0] + 4.0
    history[[2, 9]] = np.nan
    mean, cov = windows_model.forecast_moments(history, 5)
    joint_mean, joint_cov = implied(windows_model, 17)
    observed = np.r_[~np.isnan(history), np.zeros(5, dtype=bool)]
    target_mean, target_cov = conditional(joint_mean, joint_cov, observed, np.r_[history, np.zeros(5)])
    unknown_future = slice(-5, None)                                 # the last 5 unknown cells are the future
    np.testing.assert_allclose(mean, target_mean[unknown_future], rtol=1e-8)
    np.testing.assert_allclose(cov, target_cov[unknown_future, unknown_future], rtol=1e-7, atol=1e-10)
    paths = windows_model.forecast(history, 5, n_paths=20000, seed=2)
    assert paths.shape == (20000, 5)
    np.testing.assert_allclose(paths.mean(axis=0), mean, atol=4 * np.sqrt(np.diag(cov).max() / 20000))
    np.testing.assert_allclose(np.cov(paths.T), cov, atol=0.05 * np.diag(cov).max())
    empty_mean, empty_cov = windows_model.forecast_moments([], 3)   # no history: the stationary model
    np.testing.assert_allclose(empty_cov, implied(windows_model, 3)[1], rtol=1e-9)


def test_the_steady_state_shortcut_is_exact():
    """Past the first steps after a gap the filter runs at its steady gain through lfilter: still exact."""
    from plausible.ladder.statespace import kalman_filter

    y = ar1_plus_noise(300, seed=1)[0]
    model = pl.make("statespace", seed=0, state_dim=2).fit(y[None])
    y[[50, 51, 52, 150, 299]] = np.nan
    filtered = kalman_filter(((y - model.center_) / model.scale_)[None], model.parameters_)
    assert filtered.steady.mean() > 0.5, "the shortcut was not used"
    mean, cov = implied(model, 304)
    o = np.r_[~np.isnan(y), np.zeros(4, dtype=bool)]
    expected = stats.multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(y[o[:300]])
    np.testing.assert_allclose(model.log_prob(y[None]), [expected], rtol=1e-10)
    target_mean, target_cov = conditional(mean, cov, o, np.r_[y, np.zeros(4)])
    forecast_mean, forecast_cov = model.forecast_moments(y, 4)
    np.testing.assert_allclose(forecast_mean, target_mean[-4:], rtol=1e-9)
    np.testing.assert_allclose(forecast_cov, target_cov[-4:, -4:], rtol=1e-9)


def test_samples_have_the_implied_covariance(windows_model):
    samples = windows_model.sample(20000, seed=3).to_numpy()
    mean, cov = implied(windows_model, 10)
    np.testing.assert_allclose(samples.mean(axis=0), mean, atol=0.05)
    np.testing.assert_allclose(np.cov(samples.T), cov, atol=0.05 * cov.max())


def test_one_long_series_forecasts_any_history(tmp_path):
    y = ar1_plus_noise(1000, seed=7)[0] + 10.0
    model = pl.make("statespace", seed=0).fit(y[None, :])
    paths = model.forecast(y[-200:], 8, n_paths=50, seed=4)
    assert paths.shape == (50, 8) and np.isfinite(paths).all()
    model.save(tmp_path / "ss")
    loaded = pl.load(tmp_path / "ss")
    np.testing.assert_array_equal(loaded.forecast(y[-200:], 8, n_paths=50, seed=4), paths)
    np.testing.assert_array_equal(loaded.forecast_moments(y, 4)[1], model.forecast_moments(y, 4)[1])
    gappy = y[None, :].copy()
    gappy[0, 100:110] = np.nan
    draws = model.impute(gappy, n_draws=2, seed=0)                   # array in, arrays out
    assert all(isinstance(d, np.ndarray) and d.shape == gappy.shape and np.isfinite(d).all() for d in draws)
    assert not np.array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(draws[0][~np.isnan(gappy)], gappy[~np.isnan(gappy)])


def test_prediction_errors_have_the_multistep_variances_of_an_ar1():
    rng = np.random.default_rng(0)
    y = np.zeros(3000)
    for t in range(1, 3000):
        y[t] = 0.8 * y[t - 1] + rng.standard_normal()
    model = pl.make("statespace", seed=0, state_dim=1).fit(y[None, :])
    errors = model.prediction_errors(y, 4)
    assert errors.shape == (3000 - 5 - 4 + 1, 4)
    expected = [(1 - 0.64 ** h) / (1 - 0.64) for h in range(1, 5)]       # sum of 0.8^(2j), j < h
    np.testing.assert_allclose(errors.var(axis=0), expected, rtol=0.08)
    np.testing.assert_allclose(errors.mean(axis=0), 0.0, atol=0.1)
    # a bootstrap forecast: the exact mean path plus those errors, so the same moments as the model's
    boot = pl.forecast(y, horizon=4, n_paths=4000, model="statespace", errors="bootstrap", difference=0, seed=0)
    mean, _ = model.forecast_moments(y, 4)
    np.testing.assert_allclose(boot.mean(axis=0), mean, atol=0.1)
    np.testing.assert_allclose(boot.var(axis=0), expected, rtol=0.1)


def test_errors_speak_to_the_user():
    table = pd.DataFrame({"t0": [1.0, 2.0], "t1": [0.5, 1.5], "x": ["a", "b"]})
    with pytest.raises(pl.SchemaError, match="column 'x' is categorical"):
        pl.make("statespace").fit(table)
    model = pl.make("statespace", state_dim=1).fit(table[["t0", "t1"]])
    with pytest.raises(ValueError, match="1-D"):
        model.forecast(np.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match="horizon"):
        model.forecast([1.0, 2.0], 0)
    single = pl.make("statespace", state_dim=1).fit(pd.DataFrame({"t0": [1.0, 2.0, 0.5]}))  # series of one step
    assert single.impute(pd.DataFrame({"t0": [np.nan, 1.0]}), n_draws=1, seed=0)[0]["t0"].notna().all()


def test_a_folder_saved_before_the_series_codec_loads_and_draws_the_same(tmp_path):
    """Folders written before the codecs kept the centre and scale in the model's state, not under
    "series": they load, and give the same samples as the folder written today."""
    import json

    y = np.cumsum(np.random.default_rng(0).standard_normal((3, 40)), axis=1)
    model = pl.make("statespace", seed=0, state_dim=2).fit(y)
    folder = model.save(tmp_path / "now.plausible")
    config = json.loads((folder / "config.json").read_text())
    series = config.pop("series")
    config["state"].update(center=series["center"], scale=series["scale"])
    (folder / "config.json").write_text(json.dumps(config))
    old = pl.load(folder)
    assert (old.center_, old.scale_) == (model.center_, model.scale_)
    np.testing.assert_array_equal(old.sample(4, seed=1), model.sample(4, seed=1))
    np.testing.assert_allclose(old.log_prob(y), model.log_prob(y), rtol=1e-12)

"""Forecast intervals calibrated on the history's own rolling-origin errors, and the log scale (issue 24)."""
import warnings

import numpy as np
import pytest

import plausible as pl
from plausible.tasks import forecast, transforms


def test_validation_origins_one_horizon_apart_on_long_histories_and_one_step_apart_on_short_ones():
    cuts, can_choose = forecast.validation_cuts(200, 8, None)
    assert can_choose and cuts == [160, 168, 176, 184, 192]
    cuts, can_choose = forecast.validation_cuts(18, 2, None)        # grunfeld-sized: too short to choose
    assert not can_choose and cuts == list(range(8, 17))[-forecast.SHORT_VALIDATION_ORIGINS:]
    assert forecast.validation_cuts(9, 2, None) == ([], False)      # no origin with 8 values before it


def fake_forecaster(width: float):
    """A stand-in for forecast_one whose paths are N(0, width^2), whatever the history."""
    def forecast_one(history, horizon, n_paths, model, seed, **options):
        return forecast.Forecast(width * np.random.default_rng(seed + 7).standard_normal((n_paths, horizon)),
                                 model, None, None)
    return forecast_one


def test_a_short_history_is_widened_by_its_own_rolling_origin_errors(monkeypatch):
    """Too short to choose among models, the history still calibrates statespace's spread: paths a
    quarter as wide as what happened get a factor near 2 (on paths given Student t tails of 4 df,
    sd sqrt(2) times theirs, and shrunk toward SPREAD_PRIOR)."""
    y = np.random.default_rng(3).standard_normal(20)
    monkeypatch.setattr(forecast, "forecast_one", fake_forecaster(0.25))
    names, scale = forecast.validate(y, 1, None)
    assert names == ["statespace"] and scale >= 1.8, scale
    assert forecast.validate(y[:8], 1, None) == (["statespace"], 1.0)   # no origin at all: nothing to calibrate


def test_the_short_history_warning_says_what_the_intervals_covered():
    y = np.random.default_rng(0).standard_normal(17)
    with pytest.warns(UserWarning, match=r"only 17 values: the intervals were widened .*covered"):
        pl.forecast(y, horizon=2, n_paths=20)
    with pytest.warns(UserWarning, match=r"only 17 values: the model's parameters .*spread='validated'"):
        pl.forecast(y, horizon=2, n_paths=20, model="statespace")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pl.forecast(np.random.default_rng(0).standard_normal(40), horizon=2, n_paths=20, model="statespace")


def test_log_scale_is_chosen_when_the_spread_grows_with_the_level():
    rng = np.random.default_rng(1)
    growth = np.exp(np.cumsum(0.02 + 0.05 * rng.standard_normal(120)))     # a price: steps in proportion
    assert transforms.spread_grows_with_level(growth)
    level = 50 + np.cumsum(rng.standard_normal(120))                       # steps of the same size at any level
    assert not transforms.spread_grows_with_level(level)
    assert not transforms.spread_grows_with_level(growth - growth.min())   # a zero: no log
    assert not transforms.spread_grows_with_level(growth[:20])             # too few blocks to tell


def test_a_logged_forecast_is_positive_and_inverts_exactly():
    rng = np.random.default_rng(2)
    y = np.exp(np.cumsum(0.03 + 0.1 * rng.standard_normal(80)))
    transform = transforms.choose_transform(y, None, log=True)
    assert transform.log
    z = transform.apply(y)
    # the transformed history, continued by its own last values, comes back as the history's scale
    np.testing.assert_allclose(transform.invert(np.zeros((1, 1)) + z[-1:], y[:-1])[0, 0], y[-1], rtol=1e-9)
    paths = pl.forecast(y, horizon=6, n_paths=200, model="statespace", log=True)
    assert (paths > 0).all()
    with pytest.raises(ValueError, match="log=True needs a history of positive values"):
        pl.forecast(y - y.mean(), horizon=2, model="statespace", log=True)
    with pytest.raises(ValueError, match="log must be"):
        pl.forecast(y, horizon=2, model="statespace", log="yes")


def test_short_histories_get_student_t_tails_and_a_factor_shrunk_toward_the_prior():
    """On a history too short to choose on, each path's deviation is scaled by its own sqrt(df / chi2):
    the mean path stays, the tails grow more than the middle; and the factor measured on few origins
    is pulled toward SPREAD_PRIOR (a factor of 1 measured on them is not trusted as 1)."""
    paths = np.random.default_rng(0).standard_normal((20000, 2))
    fat = forecast.fatten(paths, forecast.SHORT_TAIL_DF, np.random.default_rng(1))
    np.testing.assert_allclose(fat.mean(axis=0), paths.mean(axis=0))
    middle = np.quantile(np.abs(fat), 0.5) / np.quantile(np.abs(paths), 0.5)
    tail = np.quantile(np.abs(fat), 0.975) / np.quantile(np.abs(paths), 0.975)
    assert 1.0 < middle < 1.15 < tail < 1.6, (middle, tail)
    rng = np.random.default_rng(2)
    drawn = [rng.standard_normal((200, 2)) for _ in range(5)]
    actuals = [0.5 * rng.standard_normal(2) for _ in range(5)]     # narrower than the paths: the grid says 1
    assert forecast.spread_scale(drawn, actuals) == forecast.SPREAD_MARGIN
    shrunk = forecast.spread_scale(drawn, actuals, short=True) / forecast.SPREAD_MARGIN
    assert 1.0 < shrunk < forecast.SPREAD_PRIOR, shrunk


def test_a_history_of_30_values_too_short_for_five_origins_still_chooses_between_statespace_and_arima(monkeypatch):
    """Between SHORT_HISTORY values and enough for auto's five origins, the calibration origins one
    step apart choose among MEDIUM_CANDIDATES (statespace and ARIMA); shorter histories keep statespace."""
    calls = []

    def fake_arima(history, horizon, n_paths, seed, season=None):
        calls.append(len(history))
        return np.random.default_rng(seed).standard_normal((n_paths, horizon)) * 1e-3    # near-perfect for zeros

    monkeypatch.setattr(forecast, "arima_paths", fake_arima)
    monkeypatch.setattr(forecast, "forecast_one", fake_forecaster(5.0))
    y = np.zeros(40)
    cuts, can_choose = forecast.validation_cuts(len(y), 4, None)
    assert not can_choose and not forecast.few_values(len(y), 4, None)
    names, _ = forecast.validate(y, 4, None)
    assert names == ["arima"] and sorted(set(calls)) == cuts
    calls.clear()
    assert forecast.validate(np.zeros(20), 2, None)[0] == ["statespace"] and not calls   # few values: no ARIMA fit

"""Forecasting: known answers for the metrics, the transforms, the models' paths, the CLI and the demo."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import plausible as pl
from plausible.cli import main
from plausible.evaluation import series_metrics
from plausible.tasks import forecast, plots, series_frames, transforms

from test_cli_surface import fails_in_one_line


# ---------------------------------------------------------------------- metrics
def normal_crps(mu, sigma, y):
    """Closed form: CRPS(N(mu, sigma^2), y) = sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]."""
    z = (y - mu) / sigma
    return sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def test_crps_matches_the_normal_closed_form():
    rng = np.random.default_rng(0)
    mu, sigma = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 3.0])
    paths = mu + sigma * rng.standard_normal((20_000, 3))
    actual = np.array([0.3, 2.0, -8.0])
    got = series_metrics.crps_per_step(paths, actual)
    np.testing.assert_allclose(got, normal_crps(mu, sigma, actual), rtol=0.02, atol=0.005)
    assert series_metrics.crps(paths, actual) == pytest.approx(got.mean())


def test_crps_sorted_formula_equals_the_pairwise_definition():
    rng = np.random.default_rng(1)
    paths, actual = rng.standard_normal((37, 4)), rng.standard_normal(4)
    brute = np.abs(paths - actual).mean(0) - 0.5 * np.abs(paths[:, None, :] - paths[None, :, :]).mean((0, 1))
    np.testing.assert_allclose(series_metrics.crps_per_step(paths, actual), brute, atol=1e-12)
    # a single path scores its absolute error
    assert series_metrics.crps(np.array([[1.0, 2.0]]), np.array([0.0, 4.0])) == pytest.approx(1.5)


def test_mase_by_hand():
    history = np.array([1.0, 3.0, 2.0, 5.0])          # naive errors 2, 1, 3 -> scale 2
    assert series_metrics.mase(np.array([6.0, 6.0]), np.array([5.0, 8.0]), history) == pytest.approx(0.75)
    seasonal = np.array([1.0, 2.0, 3.0, 2.0, 4.0])      # season 2: errors 2, 0, 1 -> scale 1
    assert series_metrics.mase(np.array([1.0]), np.array([3.0]), seasonal, season=2) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="constant history"):
        series_metrics.mase(np.array([1.0]), np.array([1.0]), np.ones(5))


def test_coverage_and_typicality_known_answers():
    paths = np.tile(np.arange(101.0)[:, None], (1, 2))   # quantiles of 0..100: the 50% interval is [25, 75]
    assert series_metrics.coverage(paths, np.array([50.0, 90.0]), 0.5) == 0.5
    assert series_metrics.coverage(paths, np.array([[24.0, 25.0], [75.0, 76.0]]), 0.5) == 0.5
    rng = np.random.default_rng(2)
    truth = rng.standard_normal((4000, 12))               # many realised futures of N(0, I)
    true_paths = rng.standard_normal((500, 12))
    mean_path = true_paths.mean(axis=0, keepdims=True)
    assert series_metrics.typicality(true_paths, truth) == pytest.approx(1.0, abs=0.03)
    assert series_metrics.typicality(mean_path, truth) < 0.1
    for level in series_metrics.LEVELS:
        assert series_metrics.coverage(true_paths, truth, level) == pytest.approx(level, abs=0.02)
    with pytest.raises(ValueError, match="one value per step"):
        series_metrics.crps(true_paths, np.zeros(3))


# ---------------------------------------------------------------------- transforms
def test_differencing_round_trip():
    rng = np.random.default_rng(3)
    t = np.arange(120)
    y = 5 + 0.3 * t + 4 * np.sin(2 * np.pi * t / 12) + np.cumsum(rng.standard_normal(120))
    history, future = y[:100], y[100:]
    for seasonal_difference, difference in [(False, 0), (False, 1), (True, 0), (True, 1), (False, 2)]:
        for profile, trend in [(None, None), (np.linspace(-1, 1, 12), None), (None, np.array([2.0, 0.3]))]:
            transform = transforms.Transform(12, seasonal_difference, difference, 0.7, 2.5, profile, trend)
            z_future = transform.apply(y)[-20:]
            np.testing.assert_allclose(transform.invert(z_future[None, :], history)[0], future, atol=1e-9)


def test_transform_decisions():
    rng = np.random.default_rng(4)
    noise = rng.standard_normal(300)
    walk = np.cumsum(rng.standard_normal(300))
    t = np.arange(240)
    seasonal = 3 * np.sin(2 * np.pi * t / 12) + 0.3 * rng.standard_normal(240)
    assert transforms.choose_transform(noise, None).difference == 0
    assert transforms.choose_transform(walk, None).difference == 1
    line = 0.05 * np.arange(300) + noise                               # trend-stationary: a line is removed
    transform = transforms.choose_transform(line, None)
    assert transform.difference == 0 and transform.trend[1] == pytest.approx(0.05, abs=0.005)
    assert transforms.acf_season(seasonal) == 12
    assert transforms.acf_season(noise) is None
    transform = transforms.choose_transform(seasonal, 12)          # a strong, stable season: its means removed
    assert transform.seasonal_profile is not None and not transform.seasonal_difference
    np.testing.assert_allclose(transform.seasonal_profile, 3 * np.sin(2 * np.pi * np.arange(12) / 12), atol=0.25)
    assert transforms.choose_transform(seasonal, 12, seasonality="difference").seasonal_difference
    assert transforms.choose_transform(seasonal, 12, seasonality="none").seasonal_profile is None
    index = pd.date_range("2000-01-01", periods=24, freq="MS")
    assert series_frames._frequency_season(index) == 12
    assert series_frames._frequency_season(pd.date_range("2000-01-01", periods=9, freq="QS")) == 4


def test_transform_of_a_series_is_positional():
    # a pandas Series used to be differenced by label (y[12:] - y[:-12] aligned the index: zeros and
    # NaN), which broke the KPSS test inside ("cannot convert float NaN to integer")
    frame = pl.datasets.load("co2")
    series = frame.set_index("time")["value"]
    for seasonality in ("auto", "difference"):
        by_label = transforms.choose_transform(series, 12, seasonality=seasonality)
        by_position = transforms.choose_transform(series.to_numpy(), 12, seasonality=seasonality)
        assert (by_label.seasonal_difference, by_label.difference) == (by_position.seasonal_difference,
                                                                      by_position.difference)
        assert by_label.scale == pytest.approx(by_position.scale)


# ---------------------------------------------------------------------- forecasts
def test_gaussian_noise_forecast_is_n_0_1_with_statespace():
    y = np.random.default_rng(5).standard_normal(400)
    paths = pl.forecast(y, horizon=8, n_paths=3000, model="statespace", params={"state_dim": 1}, seed=0)
    assert paths.shape == (3000, 8)
    assert np.abs(paths.mean(axis=0)).max() < 0.15
    np.testing.assert_allclose(paths.var(axis=0), 1.0, atol=0.15)
    truth = np.random.default_rng(6).standard_normal((4000, 8))
    assert series_metrics.coverage(paths, truth, 0.95) == pytest.approx(0.95, abs=0.02)
    assert series_metrics.typicality(paths, truth) == pytest.approx(1.0, abs=0.1)


def test_gaussian_noise_forecast_with_a_window_model():
    y = np.random.default_rng(7).standard_normal(600)
    paths = pl.forecast(y, horizon=6, n_paths=4000, model="gaussian", seed=1)   # variance's MC error ~2%
    assert np.abs(paths.mean(axis=0)).max() < 0.15
    # this draw's variance is 0.85; the default bootstrap resamples ~590 in-sample error vectors
    # (sampling error ~6%) and scales them up by the small-sample factor (~3%)
    np.testing.assert_allclose(paths.var(axis=0), y.var(), rtol=0.15)
    np.testing.assert_allclose(paths.var(axis=0), 1.0, atol=0.25)


def test_bootstrap_errors_keep_the_shape_of_skewed_innovations():
    # AR(1) with centred exponential innovations (skewness 2): the predictive of the next value is
    # 0.6 y_T + e, e ~ Exp(1) - 1; a Gaussian conditional draws it symmetric, the bootstrap skewed
    rng = np.random.default_rng(3)
    e = rng.exponential(1.0, 2000) - 1.0
    y = np.zeros(2000)
    for t in range(1, 2000):
        y[t] = 0.6 * y[t - 1] + e[t]
    options = dict(horizon=1, n_paths=4000, model="gaussian", seed=0, difference=0, window=3)
    boot = pl.forecast(y, errors="bootstrap", **options)[:, 0] - 0.6 * y[-1]
    normal = pl.forecast(y, errors="model", **options)[:, 0] - 0.6 * y[-1]
    # (the Gaussian's draws are only skewed by the clipping to the observed range: about 0.3)
    assert stats.skew(boot) > 1.5 and abs(stats.skew(normal)) < 0.5
    truth = rng.exponential(1.0, 100_000) - 1.0
    for q in (0.05, 0.5, 0.95):   # the bootstrap's quantiles are the innovation's
        assert np.quantile(boot, q) == pytest.approx(np.quantile(truth, q), abs=0.1)
    assert np.quantile(normal, 0.05) < -1.2   # the Gaussian puts mass where Exp(1) - 1 has none (below -1)
    # auto bootstraps gaussian windows: the same paths as errors="bootstrap"
    np.testing.assert_array_equal(pl.forecast(y, **options)[:, 0] - 0.6 * y[-1], boot)


def test_bootstrap_errors_keep_the_correlation_across_the_horizon():
    rng = np.random.default_rng(4)
    y = np.cumsum(rng.standard_normal(800))               # a random walk, differenced once
    paths = pl.forecast(y, horizon=6, n_paths=3000, model="gaussian", errors="bootstrap", seed=0)
    variance = paths.var(axis=0)
    assert variance[0] == pytest.approx(1.0, abs=0.2) and 4.5 < variance[-1] < 7.5


def test_a_mixture_draws_each_models_share_of_the_paths():
    y = np.random.default_rng(12).standard_normal(200)
    result = forecast.forecast_one(y, 4, n_paths=301, model="statespace+gaussian", params=None, seed=0)
    assert result.model == "statespace+gaussian" and result.paths.shape == (301, 4)
    alone = forecast.forecast_one(y, 4, n_paths=151, model="statespace", seed=0).paths
    assert any(np.allclose(alone[0], row) for row in result.paths)       # the statespace share, shuffled in


def test_auto_widens_paths_whose_validation_errors_are_larger_than_their_spread(monkeypatch):
    """validate() scores the chosen model's validation paths widened by each factor of SPREAD_GRID:
    candidates whose paths are N(0, 0.5^2) while the truth is N(0, 1) get a factor near 2 (the
    CRPS-optimal one, up to the noise of 5 origins x 20 steps) times SPREAD_MARGIN; paths as wide
    as the truth keep about 1 (times the margin)."""
    y = np.random.default_rng(0).standard_normal(300)

    def fake(width):
        def forecast_one(history, horizon, n_paths, model, seed, **options):
            paths = width * np.random.default_rng(seed + 100).standard_normal((n_paths, horizon))
            return forecast.Forecast(paths, model, None, None)
        return forecast_one

    def fake_arima(width):    # the ARIMA candidate draws its paths without forecast_one
        return lambda history, horizon, n_paths, seed, season=None: fake(width)(history, horizon, n_paths,
                                                                                  "arima", seed).paths

    monkeypatch.setattr(forecast, "forecast_one", fake(0.5))
    monkeypatch.setattr(forecast, "arima_paths", fake_arima(0.5))
    names, scale = forecast.validate(y, 20, None)
    assert 1.8 < scale < 2.7, scale
    monkeypatch.setattr(forecast, "forecast_one", fake(1.0))
    monkeypatch.setattr(forecast, "arima_paths", fake_arima(1.0))
    assert 1.05 <= forecast.validate(y, 20, None)[1] < 1.35     # never narrowed, times SPREAD_MARGIN
    widened = forecast.widen(np.array([[0.0, 1.0], [2.0, 3.0]]), 1.5)
    np.testing.assert_allclose(widened, [[-0.5, 0.5], [2.5, 3.5]])    # the mean path (1, 2) stays


def test_spread_validated_applies_the_factor_and_model_keeps_the_paths_as_drawn(monkeypatch):
    """spread="auto" (the default) calibrates model="auto" and leaves a named model's paths as drawn;
    "validated" calibrates any model, "model" none."""
    y = np.random.default_rng(5).standard_normal(120)
    monkeypatch.setattr(forecast, "validate", lambda *args, **options: (["statespace"], 1.5))
    drawn = forecast.forecast_one(y, 6, n_paths=50, model="auto", spread="model", seed=0)
    assert drawn.spread == 1.0 and drawn.model == "statespace"
    named = forecast.forecast_one(y, 6, n_paths=50, model="statespace")
    assert named.spread == 1.0
    np.testing.assert_allclose(drawn.paths, named.paths)
    for calibrated in (forecast.forecast_one(y, 6, n_paths=50, model="auto", seed=0),
                       forecast.forecast_one(y, 6, n_paths=50, model="statespace", spread="validated", seed=0)):
        assert calibrated.spread == 1.5
        np.testing.assert_allclose(calibrated.paths, forecast.widen(drawn.paths, 1.5))
    with pytest.raises(ValueError, match="spread must be one of"):
        pl.forecast(y, horizon=2, spread="wide")
    with pytest.raises(ValueError, match="seed must be a whole number"):
        pl.forecast(y, horizon=2, seed="x")


def test_random_walk_with_drift_grows_with_the_right_drift_and_spread():
    rng = np.random.default_rng(8)
    y = np.cumsum(0.5 + rng.standard_normal(500))
    result = forecast.forecast_one(y, 10, n_paths=3000, model="gaussian", seed=0)
    assert result.transform.difference == 1
    increments = result.paths.mean(axis=0) - y[-1]
    np.testing.assert_allclose(increments[-1] / 10, 0.5, atol=0.15)     # drift per step
    variance = result.paths.var(axis=0)
    assert variance[0] == pytest.approx(1.0, abs=0.2)
    assert 7 < variance[-1] < 13                                      # a random walk: Var grows like h


def test_seasonal_series_forecast_follows_the_season():
    frame = pl.datasets.load("seasonal", n=240, seed=0)
    series = pd.Series(frame["value"].to_numpy(), index=pd.DatetimeIndex(frame["time"]))
    result = forecast.forecast_one(series.to_numpy(), 12, n_paths=500, model="gaussian", seed=0,
                                      index=series.index)
    assert result.transform.season == 12
    t = np.arange(240, 252)
    expected = 10 + 0.05 * t + 2 * np.sin(2 * np.pi * t / 12) + np.cos(4 * np.pi * t / 12)
    median = np.median(result.paths, axis=0)
    assert np.corrcoef(median, expected)[0, 1] > 0.9
    assert np.abs(median - expected).mean() < 0.8


def test_two_and_a_half_years_of_monthly_data_keep_their_season_and_noise_does_not_get_one():
    rng = np.random.default_rng(0)
    t = np.arange(36)
    y = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, 36)
    index = pd.date_range("2020-01-01", periods=36, freq="MS")
    result = forecast.forecast_one(y[:30], 6, n_paths=300, seed=0, index=index[:30])
    assert result.transform.season == 12 and result.transform.seasonal_profile is not None
    truth = 100 + 0.5 * t[30:] + 10 * np.sin(2 * np.pi * t[30:] / 12)
    assert np.abs(np.median(result.paths, axis=0) - truth).mean() < 3      # was ~8 without the season
    # on 2-3 seasons STL's strength alone calls most white noise seasonal; the phase ANOVA does not
    false = sum(transforms.choose_transform(rng.standard_normal(30), 12).seasonal_profile is not None
                for _ in range(40))
    assert false <= 2
    assert transforms.phase_anova(y[:30], 12) < 1e-4


def test_dataframe_of_several_series_gives_a_long_table():
    rng = np.random.default_rng(9)
    times = pd.date_range("2010-01-01", periods=60, freq="MS")
    frame = pd.concat([pd.DataFrame({"store": k, "month": times, "sales": rng.standard_normal(60) + 10 * k})
                       for k in (1, 2)], ignore_index=True).sample(frac=1.0, random_state=0)
    long = pl.forecast(frame, horizon=3, n_paths=5, model="gaussian", id_column="store", time_column="month",
                       value_column="sales")
    assert list(long.columns) == ["id", "step", "time", "path", "value"]
    assert len(long) == 2 * 5 * 3
    first = long[(long["id"] == 2) & (long["path"] == 0)]
    assert list(first["time"]) == list(pd.date_range("2015-01-01", periods=3, freq="MS"))
    assert first["value"].mean() == pytest.approx(20, abs=2)
    with pytest.raises(ValueError, match="no value column"):
        pl.forecast(frame.assign(other=1.0), horizon=3, value_column="nope")


def test_a_series_that_cannot_be_forecast_stops_the_table_or_is_skipped_by_choice(tmp_path, capsys):
    rng = np.random.default_rng(4)
    frame = pd.concat([pd.DataFrame({"id": key, "time": pd.date_range("2020-01-01", periods=n, freq="D"),
                                     "value": rng.standard_normal(n).cumsum()})
                       for key, n in [("a", 60), ("b", 8), ("c", 50)]], ignore_index=True)
    with pytest.raises(ValueError, match="series 'b': the series is too short for model 'gaussian'"):
        pl.forecast(frame, horizon=5, n_paths=10, model="gaussian")
    with pytest.warns(UserWarning, match="series 'b' skipped: the series is too short"):
        long = pl.forecast(frame, horizon=5, n_paths=10, model="gaussian", on_error="skip")
    assert sorted(long["id"].unique()) == ["a", "c"] and len(long) == 2 * 10 * 5
    assert list(long.attrs["skipped"]) == ["b"] and "no room for a window" in long.attrs["skipped"]["b"]
    assert sorted(long.attrs["models"]) == ["a", "c"]
    short = frame[frame["id"] == "b"]
    with pytest.raises(ValueError, match="no series could be forecast"), pytest.warns(UserWarning, match="skipped"):
        pl.forecast(pd.concat([short, short.assign(id="z")]), horizon=5, model="gaussian", on_error="skip")
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
        pl.forecast(frame, horizon=5, on_error="ignore")
    # the warnings of one series of a table say which series they are about
    with pytest.warns(UserWarning, match="series 'b': forecasting from only 8 values"):
        pl.forecast(frame, horizon=2, n_paths=10, model="statespace")
    path = tmp_path / "stores.csv"
    frame.to_csv(path, index=False)
    assert main(["forecast", str(path), "--horizon", "5", "--paths", "10", "--model", "gaussian",
                 "--out", str(tmp_path / "paths.csv"), "--on-error", "skip", "--jobs", "2"]) == 0
    said = capsys.readouterr()
    assert "for 2 series" in said.out and "skipped 1 series that could not be forecast: 'b'" in said.out
    assert "series 'b' skipped" in said.err
    assert sorted(pd.read_csv(tmp_path / "paths.csv")["id"].unique()) == ["a", "c"]
    assert "--jobs must be a positive whole number or -1" in fails_in_one_line(
        ["forecast", str(path), "--horizon", "5", "--out", str(tmp_path / "p.csv"), "--jobs", "0"])


def test_several_series_forecast_in_parallel_processes_give_the_same_paths(tmp_path):
    rng = np.random.default_rng(5)
    frame = pd.concat([pd.DataFrame({"id": key, "time": pd.date_range("2020-01-01", periods=n, freq="D"),
                                     "value": rng.standard_normal(n).cumsum()})
                       for key, n in [("a", 60), ("b", 8), ("c", 50), ("d", 40)]], ignore_index=True)
    with pytest.warns(UserWarning) as alone:
        one = pl.forecast(frame, horizon=5, n_paths=10, model="gaussian", on_error="skip")
    with pytest.warns(UserWarning) as together:
        two = pl.forecast(frame, horizon=5, n_paths=10, model="gaussian", on_error="skip", n_jobs=2)
    pd.testing.assert_frame_equal(one, two)
    assert one.attrs == two.attrs and list(two.attrs["skipped"]) == ["b"]
    assert sorted(str(w.message) for w in alone) == sorted(str(w.message) for w in together)  # none lost
    with pytest.raises(ValueError, match="series 'b': the series is too short"):
        pl.forecast(frame, horizon=5, n_paths=10, model="gaussian", n_jobs=2)
    with pytest.raises(ValueError, match="n_jobs must be a positive whole number or -1"):
        pl.forecast(frame, horizon=5, n_jobs=0)


def test_errors_speak_to_the_user():
    with pytest.raises(ValueError, match="too short for model 'gaussian'.*no room for a window"):
        pl.forecast(np.random.default_rng(0).standard_normal(15), horizon=10, model="gaussian", difference=0)
    with pytest.raises(ValueError, match="too few windows of 12 \\+ 10 steps"):
        pl.forecast(np.random.default_rng(0).standard_normal(15), horizon=10, model="gaussian", difference=0, window=12)
    with pytest.raises(ValueError, match="horizon must be a positive whole number"):
        pl.forecast(np.arange(30.0), horizon=0)
    with pytest.raises(ValueError, match="joined by '\\+'"):
        pl.forecast(np.arange(30.0), horizon=2, model="auto+gaussian")
    with pytest.raises(ValueError, match="one-dimensional"):
        pl.forecast(np.zeros((3, 4)), horizon=2)
    with pytest.raises(ValueError, match="errors must be one of"):
        pl.forecast(np.arange(30.0), horizon=2, errors="normal")
    walk = np.r_[np.arange(20.0), np.inf, np.arange(20.0)]   # infinite is not a gap: it used to be filled silently
    with pytest.raises(ValueError, match="1 infinite value\\(s\\) \\(at position 20\\)"):
        pl.forecast(walk, horizon=2, model="statespace")
    with pytest.raises(ValueError, match="value column 'value' has 1 infinite"):
        pl.forecast(pd.DataFrame({"time": np.arange(41), "value": walk}), horizon=2, model="statespace")
    with pytest.raises(ValueError, match="infinite"):
        pl.backtest(-walk, horizon=2, origins=2, model="statespace")


# ---------------------------------------------------------------------- backtest, CLI, demo
def test_backtest_returns_the_metrics_and_scores_a_callable_peer():
    y = np.random.default_rng(10).standard_normal(120)
    result = pl.backtest(y, horizon=5, origins=3, n_paths=300, model="gaussian", progress=False)
    for key in ["crps", "mase", "coverage_50", "coverage_80", "coverage_95", "typicality", "seconds"]:
        assert np.isfinite(result[key]), key
    assert len(result["per_origin"]) == 3 and list(result["per_origin"]["origin"]) == [105, 110, 115]
    assert 0.4 < result["crps"] < 0.9                   # N(0,1) noise: the ideal expected CRPS is 0.564

    def flat(history, horizon, n_paths, seed):           # the mean path, repeated: no spread at all
        return np.zeros((n_paths, horizon))
    peer = pl.backtest(y, horizon=5, origins=3, model=flat, progress=False)
    assert peer["typicality"] == 0 and peer["coverage_50"] < 0.2
    assert peer["crps"] > result["crps"]


def test_cli_forecast_writes_paths_and_a_fan_chart(tmp_path, capsys):
    data = tmp_path / "series.csv"
    pd.DataFrame({"time": pd.date_range("2000-01-01", periods=48, freq="MS").strftime("%Y-%m-%d"),
                  "value": np.random.default_rng(11).standard_normal(48)}).to_csv(data, index=False)
    out = tmp_path / "paths.csv"
    assert main(["forecast", str(data), "--horizon", "4", "--paths", "7", "--model", "gaussian",
                 "--out", str(out)]) == 0
    paths = pd.read_csv(out)
    assert list(paths.columns) == ["step", "time", "path", "value"] and len(paths) == 28
    assert paths["time"].iloc[0] == "2004-01-01"
    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(model: gaussian)" in capsys.readouterr().out
    assert main(["backtest", "nile", "--horizon", "5", "--origins", "2", "--paths", "50", "--model", "gaussian",
                 "--json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert record["model"] == "gaussian" and len(record["per_origin"]) == 2
    assert "no such file" in fails_in_one_line(["forecast", str(tmp_path / "missing.csv"), "--horizon", "3",
                                                 "--out", str(out)])


def test_datasets_lists_the_series(capsys):
    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    for name in ["noise", "seasonal", "nile", "sunspots", "co2", "macro_gdp", "unemployment", "elnino"]:
        assert name in listing
    assert pl.datasets.info("nile").kind == "series" and pl.datasets.info("wine").kind == "table"
    assert "noise" not in pl.datasets.names("table")
    co2 = pl.datasets.load("co2")
    assert co2["value"].notna().all() and series_frames._frequency(pd.DatetimeIndex(co2["time"])) == "MS"


def test_demo_forecast_runs(tmp_path, capsys):
    figure = tmp_path / "demo.png"
    assert main(["demo", "forecast", "--out", str(figure)]) == 0
    text = capsys.readouterr().out
    assert "mean path" in text and "95% interval" in text
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_demo_forecast_numbers():
    import io

    from plausible.demo import forecast_demo

    numbers = forecast_demo(n_paths=500, truth_draws=2000, figure=None, stream=io.StringIO())
    assert numbers["mean_path_within_sd"] < 0.3 < 0.7 < numbers["paths_within_sd"]
    assert numbers["typicality_mean_path"] < 0.3 and 0.7 < numbers["typicality_paths"] < 1.2
    assert numbers["coverage_95"] > 0.85


def test_diffusion_forecast_is_conditioned_on_the_past_window():
    """The diffusion model on windows: its paths follow the history it is given (masked training)."""
    rng = np.random.default_rng(21)
    y = np.zeros(800)
    for t in range(1, len(y)):
        y[t] = 0.9 * y[t - 1] + rng.standard_normal()
    params = {"updates": 400, "hidden": 64, "sampling_steps": 10}
    means = {}
    for end in (3.0, -3.0):
        history = np.append(y, [end] * 3)
        paths = pl.forecast(history, horizon=2, n_paths=200, model="diffusion", window=4, difference=0,
                            params=params, seed=0)
        assert paths.shape == (200, 2) and np.isfinite(paths).all() and paths.std(axis=0).min() > 0.2
        means[end] = paths[:, 0].mean()
    # the AR(1) answer is 0.9 * 3 = 2.7 and -2.7; a model that ignored the window would give ~0 for both
    assert means[3.0] > 1.0 and means[-3.0] < -1.0, means


def test_fair_crps_averages_over_distinct_pairs():
    paths, actual = np.array([[0.0], [2.0]]), np.array([1.0])
    assert series_metrics.crps_per_step(paths, actual)[0] == pytest.approx(0.5)      # 1 - (0 + 2 + 2 + 0) / 4 / 2
    assert series_metrics.crps_per_step(paths, actual, fair=True)[0] == pytest.approx(0.0)   # 1 - 2 / 2


# ---------------------------------------------------------------------- awkward inputs
def monthly(n=30, start=0.0, name="a"):
    return pd.DataFrame({"id": name, "time": pd.date_range("2020-01-01", periods=n, freq="MS"),
                         "value": start + np.arange(n, dtype=float)})


def test_a_count_series_whose_latest_window_holds_unseen_values_still_forecasts():
    # window columns of Poisson counts used to be fully discrete: a latest value no training
    # window had in that position raised SchemaError from inside auto
    y = np.random.default_rng(2).poisson(2, size=80).astype(float)
    paths = pl.forecast(y, horizon=3, n_paths=100, model="gaussian", seed=0)
    assert paths.shape == (100, 3) and np.isfinite(paths).all()
    assert 0.5 < paths.mean() < 4 and paths.std() > 0.5


def test_trailing_gaps_do_not_shift_the_forecast_times():
    frame = monthly()
    frame.loc[27:, "value"] = np.nan                                    # last observed: 26 on 2022-03-01
    long = pl.forecast(frame, horizon=3, n_paths=4, model="statespace")
    assert list(pd.DatetimeIndex(long["time"].unique())) == list(pd.date_range("2022-04-01", periods=3, freq="MS"))
    assert long.groupby("step")["value"].mean().iloc[0] == pytest.approx(27, abs=1.5)


def test_text_times_are_dates_and_a_shuffled_series_is_put_in_time_order():
    frame = monthly().assign(time=lambda f: f["time"].dt.strftime("%b %Y")).sample(frac=1, random_state=1)
    means = pl.forecast(frame, horizon=3, n_paths=50, model="statespace").groupby("step")["value"].mean()
    np.testing.assert_allclose(means, [30, 31, 32], atol=1.5)
    series = pd.Series(np.arange(40.0), index=pd.date_range("2020-01-01", periods=40, freq="MS"))
    np.testing.assert_allclose(pl.forecast(series.sample(frac=1, random_state=0), horizon=3, n_paths=50,
                                           model="statespace").mean(axis=0), [40, 41, 42], atol=1.5)
    with pytest.raises(ValueError, match="not dates"):
        pl.forecast(monthly().assign(time="soon"), horizon=2, model="statespace")


def test_tables_that_would_be_read_as_one_series_by_mistake_are_errors():
    stores = pd.concat([monthly(name="a"), monthly(start=1000, name="b")]).rename(
        columns={"id": "store", "time": "date", "value": "sales"})
    with pytest.raises(ValueError, match="column 'date' holds times"):
        pl.forecast(stores, horizon=2, model="statespace")
    with pytest.raises(ValueError, match="column 'store' holds labels"):
        pl.forecast(stores, horizon=2, model="statespace", time_column="date")
    long = pl.forecast(stores, horizon=2, n_paths=3, model="statespace", id_column="store", time_column="date")
    assert set(long["id"]) == {"a", "b"}
    with pytest.raises(ValueError, match="no value column 'amount'"):
        pl.forecast(stores, horizon=2, id_column="store", time_column="date", value_column="amount")
    with pytest.raises(ValueError, match="1 rows have no 'id'"):
        pl.forecast(pd.concat([monthly(), monthly(name=None).iloc[:1]]), horizon=2, model="statespace")


def test_backtest_keeps_the_time_index_through_trailing_gaps_and_takes_a_one_series_table():
    t = pd.date_range("2015-01-01", periods=60, freq="MS")
    series = pd.Series(10 * np.sin(2 * np.pi * np.arange(60) / 12)
                       + np.random.default_rng(0).normal(0, 0.5, 60), index=t)
    clean = pl.backtest(series, horizon=6, origins=2, n_paths=50, model="statespace")
    gapped = pl.backtest(pd.concat([series, pd.Series([np.nan], index=[t[-1] + pd.offsets.MonthBegin()])]),
                         horizon=6, origins=2, n_paths=50, model="statespace")
    assert gapped["crps"] == pytest.approx(clean["crps"]) and gapped["season"] == 12
    table = pd.DataFrame({"time": t, "value": series.to_numpy()})
    assert pl.backtest(table, horizon=6, origins=2, n_paths=50, model="statespace")["crps"] == pytest.approx(clean["crps"])
    with pytest.raises(ValueError, match="backtest scores one series; the table holds 2"):
        pl.backtest(pd.concat([monthly(60), monthly(60, name="b")]), horizon=6, origins=2, model="statespace")


def test_short_histories_warn_and_bootstrap_errors_need_observed_futures():
    with pytest.warns(UserWarning, match="only 5 values"):
        pl.forecast(np.random.default_rng(0).normal(size=5), horizon=2, n_paths=10, model="statespace")
    with pytest.raises(ValueError, match="errors='bootstrap' needs past origins"):
        pl.forecast(np.random.default_rng(0).normal(size=30), horizon=40, model="statespace", errors="bootstrap")


def test_the_fan_chart_is_written_in_the_format_its_suffix_names(tmp_path):
    history, paths = np.arange(20.0), np.random.default_rng(0).normal(20, 1, (30, 4))
    plots.plot_fan(history, paths, tmp_path / "fan.svg")
    assert b"<svg" in (tmp_path / "fan.svg").read_bytes()[:500]
    plots.plot_fan(history, paths, tmp_path / "fan.pdf")
    assert (tmp_path / "fan.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match="cannot write a figure as '.docx'"):
        plots.plot_fan(history, paths, tmp_path / "fan.docx")


def test_cli_backtest_of_one_step_prints_its_table(tmp_path, capsys):
    path = tmp_path / "y.csv"
    pd.DataFrame({"value": np.random.default_rng(0).normal(size=60)}).to_csv(path, index=False)
    assert main(["backtest", str(path), "--horizon", "1", "--origins", "3", "--model", "statespace",
                 "--paths", "20"]) == 0
    assert "crps" in capsys.readouterr().out


def test_backtest_survives_a_constant_start_and_names_a_callable_of_the_wrong_shape():
    y = np.concatenate([np.zeros(20), np.random.default_rng(0).poisson(3, 40)]).astype(float)
    result = pl.backtest(y, horizon=5, origins=9, n_paths=30, model="statespace")   # origin 1: 15 zeros
    assert np.isnan(result["per_origin"]["mase"].iloc[0]) and np.isfinite(result["mase"])
    assert np.isfinite(result["per_origin"]["crps"]).all()

    def flat(history, horizon, n_paths, seed):
        return np.zeros((n_paths, horizon + 1))
    with pytest.raises(ValueError, match="returned paths of shape"):
        pl.backtest(y, horizon=5, origins=2, model=flat)


def test_a_frame_whose_index_holds_the_times_forecasts_with_times():
    values = np.random.default_rng(3).normal(size=48)
    frame = pd.DataFrame({"sales": values}, index=pd.date_range("2020-01-01", periods=48, freq="MS"))
    out = pl.forecast(frame, horizon=3, n_paths=4, model="gaussian", seed=0)
    assert list(out["time"].unique()) == list(pd.date_range("2024-01-01", periods=3, freq="MS"))
    monthly = pl.forecast(frame.to_period("M"), horizon=3, n_paths=4, model="gaussian", seed=0)
    np.testing.assert_allclose(monthly["value"], out["value"])


# ---------------------------------------------------------------------- a user-style probe's findings
def test_an_id_time_index_is_several_series_and_a_series_with_one_is_refused():
    rng = np.random.default_rng(0)
    table = pd.concat([pd.DataFrame({"id": key, "time": pd.date_range("2020-01-01", periods=30, freq="D"),
                                     "value": rng.normal(size=30) + 10 * k}) for k, key in enumerate("abc")])
    long = pl.forecast(table.set_index(["id", "time"]), horizon=3, n_paths=50, model="statespace")
    means = long.groupby("id")["value"].mean()         # joined end to end they were one rising series
    assert list(means.index) == ["a", "b", "c"] and np.allclose(means, [0, 10, 20], atol=1.5)
    assert "time" in long.columns
    with pytest.raises(ValueError, match="2-level index"):
        pl.forecast(table.set_index(["id", "time"])["value"], horizon=3)


def test_rows_missing_from_a_monthly_grid_are_gaps_so_the_season_keeps_its_phase():
    rng = np.random.default_rng(0)
    t = np.arange(48)
    times = pd.date_range("2018-01-01", periods=48, freq="MS")
    values = 100 + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(size=48)
    table = pd.DataFrame({"time": times, "value": values}).drop(index=[10, 11])
    with pytest.warns(UserWarning, match="no row for 2 of its regularly spaced times"):
        long = pl.forecast(table, horizon=4, n_paths=200, model="statespace")
    holes = pd.Series(np.where(np.isin(t, [10, 11]), np.nan, values), index=times)
    expected = pl.forecast(holes, horizon=4, n_paths=200, model="statespace")
    np.testing.assert_allclose(long.pivot(index="path", columns="step", values="value").to_numpy(), expected)
    truth = 100 + 20 * np.sin(2 * np.pi * np.arange(48, 52) / 12)
    assert np.abs(np.median(expected, axis=0) - truth).max() < 3        # shifted by 2 months it was off by 10
    assert list(long["time"].unique()) == list(pd.date_range("2022-01-01", periods=4, freq="MS"))
    with pytest.warns(UserWarning, match="no row for 2"):                 # a Series on a DatetimeIndex too
        np.testing.assert_allclose(pl.forecast(holes.dropna(), horizon=4, n_paths=200, model="statespace"), expected)
    years = pd.DataFrame({"time": [2001, 2002, 2003, 2005, 2006, 2007, 2008, 2009, 2010, 2011], "value": np.arange(10.0)})
    with pytest.warns(UserWarning, match=r"no row for 1 .*\(2004\)"):
        assert list(pl.forecast(years, horizon=2, n_paths=3)["time"].unique()) == [2012, 2013]


def test_each_series_of_a_table_draws_its_own_random_numbers():
    y = np.random.default_rng(1).normal(size=60)
    table = pd.DataFrame({"id": np.repeat(["a", "b"], 60), "time": np.tile(np.arange(60), 2), "value": np.tile(y, 2)})
    long = pl.forecast(table, horizon=6, n_paths=500, model="statespace")
    a, b = (long[long["id"] == key].pivot(index="path", columns="step", values="value").to_numpy() for key in "ab")
    assert abs(np.corrcoef(a[:, 0], b[:, 0])[0, 1]) < 0.15                # the same seed made it 1.00
    np.testing.assert_allclose(a, pl.forecast(y, horizon=6, n_paths=500, model="statespace"))   # the first: seed


def test_degenerate_and_huge_series_forecast_instead_of_failing_in_the_tests():
    periodic = pl.forecast(np.array([1, 2, 3, 4.0] * 10), horizon=4, n_paths=50)   # OverflowError in KPSS
    np.testing.assert_allclose(np.median(periodic, axis=0), [1, 2, 3, 4], atol=1e-4)   # auto's ARIMA: to ~1e-5
    y = 1 + 0.1 * np.random.default_rng(0).normal(size=60)
    plain = pl.forecast(y, horizon=5, n_paths=100, model="statespace")
    huge = pl.forecast(1e160 * y, horizon=5, n_paths=100, model="statespace")      # NaN in KPSS
    assert np.isfinite(huge).all()
    np.testing.assert_allclose(np.median(huge, axis=0) / 1e160, np.median(plain, axis=0), rtol=0.05)


def test_backtest_scores_observed_outcomes_only_and_names_unknown_options():
    y = np.random.default_rng(0).normal(size=60)
    y[-2] = np.nan

    def model(history, horizon, n_paths, seed):
        return np.random.default_rng(seed).normal(size=(n_paths, horizon))

    result = pl.backtest(y, horizon=3, origins=1, n_paths=2000, model=model)
    paths = model(None, 3, 2000, 0)
    observed = [0, 2]
    assert result["crps"] == pytest.approx(series_metrics.crps(paths[:, observed], y[-3:][observed]))
    with pytest.raises(TypeError, match="unknown option.*'windw'"):
        pl.backtest(np.arange(60.0), horizon=3, windw=5)
    with pytest.raises(ValueError, match="season must be"):
        pl.forecast(np.arange(60.0), horizon=3, season=True)


def test_a_frequency_multiple_divides_the_calendar_season_and_a_numeric_index_is_sorted():
    seasons = {code: series_frames._frequency_season(pd.date_range("2020-01-01", periods=40, freq=code))
               for code in ["MS", "3MS", "2W", "6h", "2D", "5MS"]}
    assert seasons == {"MS": 12, "3MS": 4, "2W": 26, "6h": 4, "2D": None, "5MS": None}
    y = pd.Series(np.random.default_rng(2).normal(size=50).cumsum(), index=np.arange(1950, 2000))
    shuffled = y.sample(frac=1, random_state=0)
    np.testing.assert_allclose(pl.forecast(shuffled, horizon=3, n_paths=20), pl.forecast(y, horizon=3, n_paths=20))


def test_dates_that_read_both_month_first_and_day_first_are_said():
    text = [f"01/{month:02d}/2019" for month in range(1, 13)]          # 1 Jan..1 Dec day first; 1..12 Jan month first
    table = pd.DataFrame({"date": text, "value": np.arange(12.0)})
    with pytest.warns(UserWarning, match=r"'01/02/2019' that read both month first \(2019-01-02, used\) and day "
                                         r"first \(2019-02-01\)"):
        pl.forecast(table, horizon=2, n_paths=3, time_column="date")
    clear = pd.DataFrame({"date": [f"{day:02d}/01/2019" for day in range(13, 31)], "value": np.arange(18.0)})
    import warnings
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        pl.forecast(clear, horizon=2, n_paths=3, time_column="date")    # 13/01 reads one way only
    assert not [w for w in said if "month first" in str(w.message)]     # (18 values: the short-history note only)


def test_each_path_draws_its_own_seasonal_profile_around_the_estimate():
    """The removed profile is estimated from a few seasons: each path adds back the estimate plus
    centred noise of the phase means' standard errors, so a flat model path gets exactly that spread."""
    m, error = 4, np.array([0.5, 0.5, 1.0, 1.0])
    transform = transforms.Transform(m, False, 0, 0.0, 1.0, np.array([1.0, -1.0, 2.0, -2.0]), None, error)
    y = np.zeros(8)
    fixed = transform.invert(np.zeros((20000, 4)), y)
    np.testing.assert_allclose(fixed, np.tile([1.0, -1.0, 2.0, -2.0], (20000, 1)))
    drawn = transform.invert(np.zeros((20000, 4)), y, rng=np.random.default_rng(0))
    np.testing.assert_allclose(drawn.mean(axis=0), [1.0, -1.0, 2.0, -2.0], atol=0.03)
    # centred across phases: Var(e_k - mean(e)) = s_k^2 (1 - 2/m) + sum(s^2) / m^2
    expected = error ** 2 * (1 - 2 / m) + (error ** 2).sum() / m ** 2
    np.testing.assert_allclose(drawn.var(axis=0), expected, rtol=0.05)
    profile_error = transforms.choose_transform(
        10 + 3 * np.sin(2 * np.pi * np.arange(36) / 12) + np.random.default_rng(1).normal(size=36), 12).profile_error
    assert profile_error.shape == (12,) and 0.2 < profile_error.mean() < 0.8     # noise sd 1 over 3 seasons: ~0.58


def test_each_path_draws_its_own_trend_line_around_the_fitted_one():
    """A removed line is estimated too: each path adds back the line plus a draw of its (intercept,
    slope) error, so the paths' spread grows with the distance from the history's middle."""
    covariance = np.array([[0.04, -0.001], [-0.001, 0.0001]])
    transform = transforms.Transform(None, False, 0, 0.0, 1.0, None, np.array([1.0, 0.5]), None, covariance)
    y = np.zeros(30)
    drawn = transform.invert(np.zeros((40000, 3)), y, rng=np.random.default_rng(0))
    future = np.arange(30, 33)
    np.testing.assert_allclose(drawn.mean(axis=0), 1.0 + 0.5 * future, atol=0.01)
    expected = covariance[0, 0] + 2 * covariance[0, 1] * future + covariance[1, 1] * future ** 2
    np.testing.assert_allclose(drawn.var(axis=0), expected, rtol=0.05)
    # independent deviations: the textbook s^2 (X'X)^-1; autocorrelated ones: widened, at most 3x
    residual = np.random.default_rng(1).normal(size=200)
    x = np.column_stack([np.ones(200), np.arange(200)])
    plain = residual @ residual / 198 * np.linalg.inv(x.T @ x)
    np.testing.assert_allclose(transforms._line_covariance(residual), plain, rtol=0.2)
    walk = np.cumsum(residual)
    walk = walk - np.polyval(np.polyfit(np.arange(200), walk, 1), np.arange(200))
    ratio = transforms._line_covariance(walk)[1, 1] / (walk @ walk / 198 * np.linalg.inv(x.T @ x))[1, 1]
    assert ratio == pytest.approx(3.0)
    line = transforms.choose_transform(0.05 * np.arange(300) + np.random.default_rng(2).normal(size=300), None)
    assert line.trend is not None and line.trend_error.shape == (2, 2) and line.trend_error[1, 1] > 0


def test_a_float_time_grid_that_misses_observed_times_is_not_used():
    """0.1 * 7 != 0.7 in floating point: a grid that cannot hold every observed time would put a
    value in the wrong place (get_indexer's -1 is the last cell), so the times stay as they are."""
    assert series_frames.regular_grid(pd.Series([0.0, 0.1, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])) is None
    np.testing.assert_array_equal(series_frames.regular_grid(pd.Series([0.0, 0.5, 1.0, 2.0, 2.5, 3.0])),
                                  np.arange(7) * 0.5)


def test_a_model_that_cannot_impute_is_refused_before_any_training():
    """gan trained for its whole budget, then failed with 'does not offer impute'."""
    with pytest.raises(ValueError, match="'gan' cannot forecast: window models forecast by imputing"):
        pl.forecast(np.random.default_rng(0).normal(size=80), horizon=3, model="statespace+gan")


def _noisy_peer(history, horizon, n_paths, seed):
    """A module-level (so picklable) callable that warns: its warnings must reach the caller."""
    warnings.warn(f"peer saw {len(history)} values", UserWarning)
    return np.random.default_rng(seed).normal(history[-1], 1.0, size=(n_paths, horizon))


def test_backtest_origins_in_several_processes_score_the_same_and_keep_warnings():
    y = np.cumsum(np.random.default_rng(3).standard_normal(90))
    alone = pl.backtest(y, horizon=4, origins=3, n_paths=60, model="gaussian", seed=2, progress=False)
    side_by_side = pl.backtest(y, horizon=4, origins=3, n_paths=60, model="gaussian", seed=2, progress=False,
                               n_jobs=2)
    columns = ["origin", "model", "crps", "mase", "coverage_50", "coverage_95", "paths_sd"]
    pd.testing.assert_frame_equal(alone["per_origin"][columns], side_by_side["per_origin"][columns])
    assert alone["per_origin"]["crps"].nunique() == 3            # three different origins were scored
    with warnings.catch_warnings(record=True) as said:             # raised in the workers, seen here
        warnings.simplefilter("always")
        pl.backtest(y, horizon=4, origins=3, model=_noisy_peer, progress=False, n_jobs=2)
    assert sorted(str(w.message) for w in said) == [f"peer saw {n} values" for n in (78, 82, 86)]

    def closure(history, horizon, n_paths, seed):
        return np.zeros((n_paths, horizon))
    with pytest.raises(ValueError, match="cannot be sent"):
        pl.backtest(y, horizon=4, origins=3, model=closure, progress=False, n_jobs=2)
    with pytest.raises(ValueError, match="n_jobs"):
        pl.backtest(y, horizon=4, origins=3, model="gaussian", progress=False, n_jobs=0)
    assert main(["backtest", "nile", "--horizon", "5", "--origins", "2", "--paths", "30", "--model", "gaussian",
                 "--jobs", "2"]) == 0


def test_auto_can_choose_arima_without_drift_and_its_paths_start_from_the_last_value():
    """auto's ARIMA(1,1,1) candidate (no constant): a random walk without drift is its own case, and
    the paths it draws are ARIMA's mean path plus innovations through its impulse responses."""
    y = 50 + np.cumsum(np.random.default_rng(3).standard_normal(80))
    paths = forecast.arima_paths(y, 3, 4000, seed=0)
    assert paths.shape == (4000, 3) and np.all(np.diff(paths.var(axis=0)) > 0)     # spread grows with the step
    assert abs(paths[:, 0].mean() - y[-1]) < 1.0
    assert "arima" in forecast.AUTO_CANDIDATES
    result = forecast.forecast_one(y, 3, n_paths=50, seed=0)
    assert result.paths.shape == (50, 3) and np.isfinite(result.paths).all()

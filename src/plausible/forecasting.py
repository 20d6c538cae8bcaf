"""Probabilistic forecasting: many typical future paths of a series, not one average path.

    paths = pl.forecast(y, horizon=12, n_paths=200)          # (200, 12) sample paths
    long = pl.forecast(df, horizon=12)                        # id/time/value table -> long table
    result = pl.backtest(y, horizon=12, origins=5)            # rolling-origin CRPS, MASE, coverage

A forecast is a draw from P(future | past). The mean path of Gaussian noise is a flat line at 0,
which no real future ever looks like; the sample paths wiggle as much as the data does, and
their spread at each step is the forecast's uncertainty (see `plausible demo forecast`).

Models
------
- `"statespace"`: a linear Gaussian state-space model (`plausible.ladder.statespace`, Kalman
  filter and smoother) fitted on the transformed series as a 1 x T table; its `forecast`
  draws exact predictive paths.
- any other ladder model (`"gaussian"`, `"copula"`, `"gmm"`, `"flow"`, `"autoregressive"`,
  `"vae"`, `"diffusion"`...): fitted on the table of all sliding windows of length
  window + horizon of the transformed series; the forecast imputes the last `horizon` cells of
  a window whose first `window` cells are the latest history (one call, n_paths copies of that
  row). With `"gaussian"` this is the exact conditional of a stationary Gaussian process of
  order `window` (a direct multi-step linear predictor with a full joint of the future);
  `strategy="recursive"` instead fits windows of window + 1 steps and draws one step at a time,
  each path conditioning on its own previous draws (H impute calls; fewer parameters to fit).
  Small samples: the paths' deviations from their mean are scaled by
  sqrt(N / (N - p) * (1 + p / N)) (N windows, p = window + 1), the degrees-of-freedom and
  estimated-mean terms of the OLS prediction interval, so short series are not overconfident.
  Errors (`errors=`): "model" draws each path from the model's own conditional; "bootstrap"
  takes the model's conditional mean (the average of BOOTSTRAP_MEAN_DRAWS imputations) and adds
  the whole error vector of a random training window (its future minus the conditional mean
  given its past; one-step errors for the recursive strategy), scaled by the same factor, as in
  the residual bootstrap of Hyndman & Athanasopoulos (fpp3, 5.5): the spread keeps the data's own
  shape, skew and heavy tails included, where a Gaussian conditional assumes it. "auto" (the
  default) bootstraps `"gaussian"` windows when there are at least MIN_BOOTSTRAP_WINDOWS of them
  and lets every other model (copula, diffusion, ...) draw its own learned errors. In the
  benchmark it moved gaussian's mean coverage of the 50/80/95% intervals from 0.57/0.79/0.90 to
  0.49/0.77/0.91 and lowered its CRPS on 6 of 7 series (mean ratio to the best peer 0.980 ->
  0.977). `errors="bootstrap"` works for `"statespace"` too (its mean path plus the in-sample
  multi-step errors of its Kalman predictions, `StateSpace.prediction_errors`), but "auto" leaves
  statespace to its own Gaussian paths: bootstrapped, its mean 95% coverage in the benchmark fell
  from 0.92 to 0.89 and its CRPS rose on 5 of 7 series.
  `"diffusion"` is the diffusion model conditioned on the past window (masked training).
- several models, as a list or joined by "+" (`"statespace+gaussian"`): an equal mixture, each
  model drawing its share of the paths (every path is one joint draw from one model).
- `"auto"`: a small rolling-origin validation inside the history: the last 5 origins before the
  end (one every horizon) are forecast by `"statespace"`, `"gaussian"` on windows and their
  equal mixture `"statespace+gaussian"` (100 paths each, with the same transforms and errors),
  and the one with the lowest mean CRPS forecasts. Histories too short for that (fewer than 30
  values before the first validation origin, or too few windows) get `"statespace"`, the natural
  model for short series. Why: in the benchmark neither model wins everywhere (statespace on
  short and strongly seasonal series, windows on long cyclical ones such as sunspots);
  benchmarks/RESULTS.md has the numbers. It costs about ten extra fits; 3 validation origins
  cost less but chose worse (benchmark CRPS ratio 0.998 against 0.974 with 5, before the shared
  history's conditional mean was estimated once; 0.971 then, 0.976 since gaussian's shrinkage
  grid reaches down to 0.001, which changed auto's pick on elnino).
  With `spread="validated"` (opt-in) the same validation also calibrates the spread: the chosen
  model's validation paths are widened or narrowed around their mean path by each factor in
  SPREAD_GRID (0.8 to 2), and the factor with the lowest mean CRPS is applied to the forecast
  (`Forecast.spread`). Those are out-of-sample errors, so the factor covers what the models'
  in-sample spread misses: uncertainty in the parameters, the transforms and the choice itself.
  It is not the default because it did not pay on the benchmark (7 series, 5 origins): 95%
  coverage rose from 0.915 to 0.930 but 50% coverage from 0.506 to 0.533 and the CRPS ratio to
  the best peer from 0.975 to 0.978; the misses are in the tails, which one scale cannot fix,
  and 5 validation origins make a noisy factor (macro_gdp was widened 1.2 to 1.75 and lost 4% CRPS).

Trend, seasonality and scale (all decided on the history alone, inverted on every path)
--------------------------------------------------------------------------------------
1. Gaps (NaN) inside the history are filled by linear interpolation; leading and trailing gaps are
   dropped (the forecast starts after the last observed value). Infinite values are refused.
   Times that skip a few steps of a regular grid (monthly rows with two months absent; years
   2003, 2005) are put on that grid (`regular_grid`), the absent steps becoming gaps, with a
   warning: taken as consecutive rows they would shift the season's phase. Values beyond 1e100
   (or below 1e-100) in magnitude are forecast divided by a power of two and scaled back.
   A series with a 2-level (id, time) index is refused (a table with that index is reset to
   columns); in a table of several series the k-th draws from its own seed (`series_seed`).
2. Season m: `season=` if given; else from the time index's frequency (monthly 12, quarterly 4,
   weekly 52, daily 7, business-daily 5, hourly 24; yearly none); else from the autocorrelation
   of the linearly detrended series: the lag (2..n/3) of its highest local maximum, if that
   autocorrelation exceeds max(0.3, 2.5/sqrt(n)). None otherwise.
3. A strong season is removed: STL's seasonal strength F = max(0, 1 - Var(remainder) /
   Var(seasonal + remainder)) above 0.64 (the threshold of R forecast's `nsdiffs`), with at
   least two seasons of history (and two more points). With fewer than three seasons STL's
   strength is high even on noise, so there a one-way ANOVA of the detrended values by phase must
   also reject equal phase means at 1% (`phase_anova`). Two years of monthly sales with a clear
   season: at 26, 30 and 36 months the season is now removed (CRPS of the next 6 months 7.6, 4.5
   and 11.3 before, 2.0, 1.2 and 1.3 after, on a series with noise sd 2). On 20 random windows
   of 26, 30 and 34 months cut from the bundled monthly series, 6 months ahead, the mean CRPS
   against the three-season rule (benchmarks/bench_short_seasons.py): co2 0.27, 0.20, 0.22x;
   seasonal 0.52, 0.49, 0.52x; elnino (a weak, drifting season) 0.75, 0.71, 0.83x (re-run with
   today's code, the profile and line draws included).
   `seasonality="means"` (what "auto" does) subtracts the seasonal profile (STL's seasonal
   component averaged by phase t mod m) and adds it back to the paths: a stable season costs no
   noise beyond its estimation error, which each path draws (centred normal noise per phase with
   sd / sqrt(values at that phase), sd that of y minus STL's trend and the profile): on 20 windows
   each of 26, 36, 60 and 120 months cut from co2, seasonal and elnino, 6 months ahead, this and
   the line's error below lowered CRPS in all 12 cells (0.950-0.999x, most at 26-36 months) and
   raised 95% coverage by 0.01-0.14 (benchmarks/bench_short_seasons.py --experiment draws). `seasonality="difference"` takes y_t - y_{t-m}
   instead (a season that drifts); `"none"` leaves it to the model (the window covers a season).
4. Trend (`difference="auto"`): when the KPSS test rejects level stationarity of the
   (deseasonalised) series at 5% and the augmented Dickey-Fuller test does not reject a unit
   root at 5% (both agree the series wanders), it is either trend-stationary (KPSS around a
   line not rejected and ADF with a trend rejecting a unit root, both at 5%: a straight line is
   removed and extended into the future, each path with its own draw of the line's estimation
   error, `_line_covariance`) or differenced once (a stochastic trend: the spread of
   the paths grows with the horizon, like a random walk's); none otherwise.
   `difference=0, 1, 2` or `"trend"` forces it.
5. Scaling: the result is centred and divided by its standard deviation.
Forecast paths of the transformed series are unscaled, integrated (a cumulative sum per path
from the last observed level), seasonally undifferenced (y_{T+k} = u_{T+k} + y_{T+k-m}, using
the path's own earlier values beyond the history) and given back their seasonal profile, so
each path is a whole future. Window models condition on window = max(m, 8) steps of history by
default (a whole season), shortened so the series gives at least 3 x (window + horizon) windows.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import time as _time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import _check_jobs, side_by_side
from .series_metrics import LEVELS, naive_scale

AUTO_CANDIDATES = ("statespace", "gaussian", "statespace+gaussian")   # what "auto" chooses among
AUTO_VALIDATION_ORIGINS = 5  # rolling origins inside the history on which "auto" scores them
AUTO_VALIDATION_PATHS = 100
SPREAD_GRID = (0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0)   # scales spread="validated" tries (see validate)
SPREADS = ("model", "validated")
SHORT_SERIES = 10            # fewer values than this: forecast_one warns that its intervals are too narrow
STRENGTH_THRESHOLD = 0.64    # seasonal strength above which the season is removed
MIN_SEASONS = 2              # full seasons of history before a season can be measured and removed
RELIABLE_SEASONS = 3         # below this many seasons STL's strength alone is not trusted (see choose_transform)
SHORT_SEASON_P = 0.01        # ... and a one-way ANOVA of the detrended values by phase must reject at this level
SEASONALITY = ("auto", "means", "difference", "none")
TREND_UNCERTAINTY = True     # each path draws its own line around the fitted one (Transform.invert)
PROFILE_UNCERTAINTY = True   # each path draws its own seasonal profile around the estimate (Transform.invert)
AUTO_TREND = True            # difference="auto" removes a straight line from a trend-stationary series
AUTO_SEASONALITY = "means"   # what seasonality="auto" does with a strong season
MIN_WINDOW = 8
_FREQUENCY_SEASONS = {"ME": 12, "MS": 12, "M": 12, "BME": 12, "BMS": 12, "QE": 4, "QS": 4, "Q": 4, "BQE": 4,
                      "BQS": 4, "W": 52, "D": 7, "B": 5, "h": 24, "H": 24}


# ---------------------------------------------------------------------- transforms
@dataclass
class Transform:
    """What was done to the history before modelling, so it can be undone on the paths."""
    season: int | None              # the detected or given period (None: no season)
    seasonal_difference: bool       # y_t - y_{t-m} applied
    difference: int                 # regular differences applied after it (0, 1, 2)
    center: float
    scale: float
    seasonal_profile: np.ndarray | None = None   # (m,) seasonal means removed, by phase t mod m
    trend: np.ndarray | None = None              # (intercept, slope) of a straight line removed
    profile_error: np.ndarray | None = None      # (m,) standard errors of the profile's phase means
    trend_error: np.ndarray | None = None        # (2, 2) covariance of the line's (intercept, slope)

    def _deseason(self, y: np.ndarray) -> np.ndarray:
        if self.seasonal_profile is not None:
            y = y - self.seasonal_profile[np.arange(len(y)) % self.season]
        if self.trend is not None:
            y = y - (self.trend[0] + self.trend[1] * np.arange(len(y)))
        return y

    def apply(self, y: np.ndarray) -> np.ndarray:
        w = self._deseason(y)
        if self.seasonal_difference:
            w = w[self.season:] - w[:-self.season]
        for _ in range(self.difference):
            w = np.diff(w)
        return (w - self.center) / self.scale

    def invert(self, z_paths: np.ndarray, y: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Paths of the transformed series (S, H) -> paths of the series, continuing history `y`.

        With `rng` and a `profile_error`, each path adds back its own draw of the seasonal profile
        (the estimate plus centred N(0, profile_error^2) noise per phase): the profile is estimated
        from a few seasons, and treating it as known made short seasonal series overconfident."""
        w = z_paths * self.scale + self.center
        v = self._deseason(y)
        u = v[self.season:] - v[:-self.season] if self.seasonal_difference else v
        levels = [u]
        for _ in range(self.difference):
            levels.append(np.diff(levels[-1]))
        for k in range(self.difference, 0, -1):          # integrate, innermost difference first
            w = levels[k - 1][-1] + np.cumsum(w, axis=1)
        if self.seasonal_difference:
            m, horizon = self.season, w.shape[1]
            out = np.empty_like(w)
            for k in range(horizon):
                before = v[len(v) - m + k] if k < m else out[:, k - m]
                out[:, k] = w[:, k] + before
            w = out
        future = len(y) + np.arange(w.shape[1])
        if self.trend is not None:
            w = w + (self.trend[0] + self.trend[1] * future)
            if rng is not None and self.trend_error is not None and TREND_UNCERTAINTY:
                line = rng.multivariate_normal(np.zeros(2), self.trend_error, w.shape[0])   # (S, 2)
                w = w + line[:, :1] + line[:, 1:] * future
        if self.seasonal_profile is not None:
            w = w + self.seasonal_profile[future % self.season]
            if rng is not None and self.profile_error is not None and PROFILE_UNCERTAINTY:
                noise = rng.normal(0.0, 1.0, (w.shape[0], self.season)) * self.profile_error
                noise -= noise.mean(axis=1, keepdims=True)          # the level is the model's, not the profile's
                w = w + noise[:, future % self.season]
        return w


def _frequency(index) -> str | None:
    """The frequency code of a regular DatetimeIndex ("MS", "QS-OCT", "W-SUN"...), or None."""
    import pandas as pd

    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return None
    if index.freq is not None:
        return index.freqstr
    try:
        return pd.DatetimeIndex(index, freq="infer").freqstr
    except (ValueError, TypeError):
        return None


def _frequency_season(index) -> int | None:
    code = _frequency(index)
    if code is None:
        return None
    head = code.split("-")[0]
    base = head.lstrip("0123456789")
    multiple = int(head[:len(head) - len(base)] or 1)      # "3MS": every third month
    if base.startswith(("Y", "A", "BY", "BA")):
        return None
    season = _FREQUENCY_SEASONS.get(base)
    if season is None or season % multiple or season // multiple < 2:
        return None      # e.g. every 5th month or every 2nd day: no calendar cycle of whole steps
    return season // multiple


MAX_FILLED_SHARE = 0.5   # a regular time grid may be at most this share of times without a row
_GRID_SPANS = {"YS": 365.25, "YE": 365.25, "QS": 91.3, "QE": 91.3, "MS": 30.4, "ME": 30.4, "W": 7.0, "B": 1.4,
               "D": 1.0, "h": 1 / 24, "min": 1 / 1440, "s": 1 / 86400}   # days per step, roughly


def regular_grid(times):
    """The regular time grid holding every one of `times` (sorted, distinct dates or numbers)
    with a few times missing, or None (regular already, too few, or no such grid).

    Dates: the coarsest of yearly, quarterly, monthly (start or end), weekly, business-daily,
    daily, hourly, minutely, secondly steps anchored at the first time whose grid holds them all,
    if at most MAX_FILLED_SHARE of its times have no row. Numbers: steps of the smallest gap, if
    every gap is a whole number of them. A series whose rows skip some times is forecast on this
    grid, the missing times filled as gaps; taking its rows as consecutive would shift its season."""
    import pandas as pd

    if times is None or len(times) < 3:
        return None
    most = len(times) / (1 - MAX_FILLED_SHARE)
    if pd.api.types.is_datetime64_any_dtype(times):
        index = pd.DatetimeIndex(times)
        if _frequency(index) is not None:
            return None
        first, span = index[0], (index[-1] - index[0]) / pd.Timedelta(days=1)
        month, weekday = first.strftime("%b").upper(), first.strftime("%a").upper()
        for base in _GRID_SPANS:
            steps = span / _GRID_SPANS[base] + 1
            if steps < 0.9 * len(index):        # fewer steps than rows: too coarse to hold them all
                continue
            if steps > 1.1 * most:              # this and every finer grid leave too many times empty
                return None
            code = {"Y": f"{base}-{month}", "Q": f"{base}-{month}", "W": f"W-{weekday}"}.get(base[0], base)
            grid = pd.date_range(first, index[-1], freq=code)
            if len(grid) and grid[0] == first and len(grid) <= most and index.isin(grid).all():
                return grid
        return None
    if pd.api.types.is_numeric_dtype(times) and not pd.api.types.is_bool_dtype(times):
        t = np.asarray(times, dtype=float)
        gaps = np.diff(t)
        if not np.all(gaps > 0) or np.all(gaps == gaps[0]):
            return None
        ratio = gaps / gaps.min()
        count = int(round((t[-1] - t[0]) / gaps.min())) + 1
        if not np.allclose(ratio, np.round(ratio), rtol=0, atol=1e-6) or count > most:
            return None
        grid = t[0] + gaps.min() * np.arange(count)
        grid = grid.astype(np.asarray(times).dtype) if pd.api.types.is_integer_dtype(times) else grid
        if (pd.Index(grid).get_indexer(pd.Index(np.asarray(times))) < 0).any():
            return None       # float steps such as 0.1 * 3 != 0.3: the grid would misplace rows
        return grid
    return None


def _on_grid(values: np.ndarray, times, grid, where: str = ""):
    """`values` at `times` spread onto `grid` (NaN at the grid's times without a row), with a warning."""
    import pandas as pd

    positions = pd.Index(grid).get_indexer(pd.Index(times))
    full = np.full(len(grid), np.nan)
    full[positions] = values
    missing = np.setdiff1d(np.arange(len(grid)), positions)
    shown = ", ".join(str(grid[k])[:19] for k in missing[:3]) + (", ..." if len(missing) > 3 else "")
    warnings.warn(f"the series{where} has no row for {len(missing)} of its regularly spaced times ({shown}): "
                  "they are gaps, filled by interpolation, so the rows after them keep their place in the "
                  "season", stacklevel=4)
    return full


def acf_season(y: np.ndarray) -> int | None:
    """The lag of the highest local maximum of the autocorrelation of the detrended series."""
    n = len(y)
    if n < 12:
        return None
    t = np.arange(n)
    detrended = y - np.polyval(np.polyfit(t, y, 1), t)
    detrended = detrended - detrended.mean()
    denominator = (detrended ** 2).sum()
    if denominator <= 0:
        return None
    max_lag = n // 3
    acf = np.array([(detrended[k:] * detrended[:n - k]).sum() / denominator for k in range(max_lag + 2)])
    peaks = [k for k in range(2, max_lag + 1) if acf[k] > acf[k - 1] and acf[k] >= acf[k + 1]]
    if not peaks:
        return None
    best = max(peaks, key=lambda k: acf[k])
    return best if acf[best] > max(0.3, 2.5 / np.sqrt(n)) else None


def _line_covariance(residual: np.ndarray) -> np.ndarray:
    """Covariance of the least-squares (intercept, slope) of a line through a series whose
    deviations from it are `residual`: s^2 (X'X)^-1, widened by (1 + r) / (1 - r) for the
    residuals' lag-1 autocorrelation r (clipped to 0..0.5): autocorrelated deviations carry less
    information about the line than as many independent ones (the long-run variance of AR(1));
    the cap keeps a cycle that the line cuts through (sunspots) from making every path a fan."""
    n = len(residual)
    x = np.column_stack([np.ones(n), np.arange(n)])
    variance = float(residual @ residual) / max(n - 2, 1)
    r = float(np.corrcoef(residual[1:], residual[:-1])[0, 1]) if n > 3 and np.std(residual) > 0 else 0.0
    r = min(max(r if np.isfinite(r) else 0.0, 0.0), 0.5)
    return variance * (1 + r) / (1 - r) * np.linalg.inv(x.T @ x)


def seasonal_decomposition(y: np.ndarray, season: int, errors: bool = False):
    """STL's seasonal strength max(0, 1 - Var(R) / Var(S + R)) (Wang, Smith and Hyndman 2006) and
    the seasonal profile: the mean of STL's seasonal component at each phase t mod m, centred.
    `errors=True` adds the profile's standard errors s / sqrt(n_k), n_k the values at phase k and s
    the sd of y minus STL's trend minus the profile (n - m degrees of freedom)."""
    from statsmodels.tsa.seasonal import STL

    fit = STL(y, period=season, robust=True).fit()
    denominator = np.var(fit.seasonal + fit.resid)
    strength = float(max(0.0, 1 - np.var(fit.resid) / denominator)) if denominator > 0 else 0.0
    seasonal = np.asarray(fit.seasonal)
    profile = np.array([seasonal[phase::season].mean() for phase in range(season)])
    if not errors:
        return strength, profile - profile.mean()
    counts = np.array([len(seasonal[phase::season]) for phase in range(season)])
    # what is left once the fixed profile (not STL's evolving season, which on two or three seasons
    # absorbs nearly all the noise) and STL's trend are removed, with m means fitted
    rest = np.asarray(y, dtype=float) - np.asarray(fit.trend) - profile[np.arange(len(y)) % season]
    sd = float(np.sqrt((rest ** 2).sum() / max(len(y) - season, 1)))
    return strength, profile - profile.mean(), sd / np.sqrt(counts)


def phase_anova(y: np.ndarray, season: int) -> float:
    """p-value of a one-way ANOVA of the linearly detrended values grouped by phase t mod m: do the
    phases have different means? On 2-3 seasons of history STL's seasonal strength exceeds 0.64 for
    97% of white-noise series of 26 monthly points (76% at 30, 20% at 36); requiring this test at
    1% as well keeps false seasons at 0-2% (white noise, random walks, AR(1) 0.8) while a sine of
    twice the noise's sd is still found in 50% (26 points) to 97% (30 points) of series."""
    from scipy.stats import f_oneway

    t = np.arange(len(y))
    residual = y - np.polyval(np.polyfit(t, y, 1), t)
    groups = [residual[phase::season] for phase in range(season)]
    if min(len(g) for g in groups) < 2:
        return 1.0
    return float(f_oneway(*groups).pvalue)


def needs_difference(w: np.ndarray) -> bool:
    """True when KPSS rejects level stationarity at 5% and ADF does not reject a unit root at 5%."""
    return _wanders(w, "c")


def trend_stationary(w: np.ndarray) -> bool:
    """True when KPSS does not reject stationarity around a linear trend at 5% and ADF with a
    trend rejects a unit root at 5%: a straight line plus stationary noise, no random walk."""
    w = _testable(w)
    if w is None or len(w) < 30:
        return False
    from statsmodels.tsa.stattools import adfuller, kpss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return bool(kpss(w, regression="ct", nlags="auto")[1] >= 0.05
                        and adfuller(w, regression="ct", autolag="AIC")[1] < 0.05)
        except (ValueError, OverflowError, np.linalg.LinAlgError):   # a degenerate series: no line to remove
            return False


def _testable(w: np.ndarray) -> np.ndarray | None:
    """`w` standardised for the KPSS and ADF tests (they are scale-free; values near 1e160 overflow
    their sums of squares), or None when it is flat: constant up to float round-off, as what is
    left of an exactly periodic series once its season is removed."""
    w = np.asarray(w, dtype=float)
    if len(w) < 10:
        return None
    scale = np.max(np.abs(w))
    spread = np.std(w / scale) if scale > 0 else 0.0
    if not spread > 1e-9:
        return None
    return (w / scale - np.mean(w / scale)) / spread


def _wanders(w: np.ndarray, regression: str) -> bool:
    w = _testable(w)
    if w is None:
        return False
    from statsmodels.tsa.stattools import adfuller, kpss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # p-values outside the tables are clipped: fine here
        try:
            stationary_rejected = kpss(w, regression=regression, nlags="auto")[1] < 0.05
            unit_root_rejected = adfuller(w, regression=regression, autolag="AIC")[1] < 0.05
        except (ValueError, OverflowError, np.linalg.LinAlgError):   # degenerate: nothing to difference
            return False
    return bool(stationary_rejected and not unit_root_rejected)


def choose_transform(y: np.ndarray, season: int | None, difference="auto", seasonality: str = "auto") -> Transform:
    """Decide the seasonal treatment, differencing and scaling on the history `y` (see module doc).

    `y` may be an array, a list or a pandas Series; it is used by position, never by index label
    (a Series' y[m:] - y[:-m] would align labels and difference each value with itself)."""
    y = np.asarray(y, dtype=float)
    if seasonality not in SEASONALITY:
        raise ValueError(f"seasonality must be one of {', '.join(SEASONALITY)}, got {seasonality!r}")
    mode = None
    profile_error = None
    profile = None
    if season and seasonality != "none" and len(y) >= MIN_SEASONS * season + 2:
        strength, profile, profile_error = seasonal_decomposition(y, season, errors=True)
        strong = strength > STRENGTH_THRESHOLD
        if strong and len(y) < RELIABLE_SEASONS * season + 2:
            strong = phase_anova(y, season) < SHORT_SEASON_P
        if strong or seasonality in ("means", "difference"):
            mode = AUTO_SEASONALITY if seasonality == "auto" else seasonality
    transform = Transform(season, mode == "difference", 0, 0.0, 1.0, profile if mode == "means" else None,
                          profile_error=profile_error if mode == "means" else None)
    u = transform.apply(y)
    if difference not in ("auto", "trend", 0, 1, 2) or isinstance(difference, bool):
        raise ValueError(f"difference must be 'auto', 'trend', 0, 1 or 2, got {difference!r}")
    if difference == "trend" or (difference == "auto" and AUTO_TREND and needs_difference(u) and trend_stationary(u)):
        t = np.arange(len(u))
        slope, intercept = np.polyfit(t, u, 1)
        transform.trend = np.array([intercept, slope])
        transform.trend_error = _line_covariance(u - (intercept + slope * t))
        u = transform.apply(y)
        d = 0
    else:
        d = int(needs_difference(u)) if difference == "auto" else int(difference)
    w = u
    for _ in range(d):
        w = np.diff(w)
    if len(w) < 3:
        differenced = d or transform.seasonal_difference
        raise ValueError(f"the series is too short: {len(y)} value{'s' * (len(y) != 1)}" +
                         (f" leave {len(w)} after differencing; give a longer history or difference=0" if differenced
                          else "; give at least 3"))
    scale = float(np.std(w))
    transform.difference, transform.center, transform.scale = d, float(np.mean(w)), scale if scale > 0 else 1.0
    return transform


# ---------------------------------------------------------------------- input
def _as_series(series) -> tuple[np.ndarray, Any]:
    """A 1-D float array and its time index (or None) from an array, list or pandas Series."""
    index = None
    if hasattr(series, "to_numpy") and hasattr(series, "index") and getattr(series, "ndim", 1) == 1:
        import pandas as pd

        if isinstance(series.index, pd.PeriodIndex):
            series = series.set_axis(series.index.to_timestamp())
        if isinstance(series.index, pd.DatetimeIndex):
            if series.index.hasnans:
                raise ValueError("the series' time index has missing times (NaT): drop those values or give their times")
            if series.index.has_duplicates:
                raise ValueError("the series' time index repeats times: give one value per time")
        if isinstance(series.index, pd.MultiIndex):
            levels = ", ".join(map(str, series.index.names))
            raise ValueError(f"the series has a {series.index.nlevels}-level index ({levels}): for several series "
                             "give a DataFrame with id, time and value columns, e.g. series.reset_index()")
        if (isinstance(series.index, pd.DatetimeIndex) or pd.api.types.is_numeric_dtype(series.index.dtype)) \
                and not series.index.is_monotonic_increasing:
            series = series.sort_index(kind="stable")      # a shuffled Series is still one series in time order
        index = series.index
        try:
            values = series.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise ValueError(f"the series must contain numbers; got dtype {series.dtype}") from None
        grid = regular_grid(index) if isinstance(index, pd.DatetimeIndex) else None
        if grid is not None:
            values, index = _on_grid(values, index, grid), grid
    else:
        try:
            values = np.asarray(series, dtype=float)
        except (TypeError, ValueError):
            raise ValueError("the series must contain numbers (an array, a list or a pandas Series)") from None
    if values.ndim == 2 and 1 in values.shape:
        values = values.ravel()
    if values.ndim != 1:
        raise ValueError(f"a series is one-dimensional; got shape {values.shape}. For several series pass a "
                         "DataFrame with id, time and value columns")
    infinite = np.flatnonzero(np.isinf(values))
    if len(infinite):
        shown = ", ".join(str(i) for i in infinite[:5]) + (", ..." if len(infinite) > 5 else "")
        raise ValueError(f"the series has {len(infinite)} infinite value(s) (at position {shown}): replace them "
                         "with a number, or with NaN to have them filled as gaps")
    return values, index


def _span(values: np.ndarray) -> slice:
    """The positions from the first to the last observed (finite) value: what `_clean` keeps."""
    observed = np.flatnonzero(np.isfinite(values))
    if len(observed) == 0:
        raise ValueError("the series has no observed values")
    return slice(int(observed[0]), int(observed[-1]) + 1)


def _clean(values: np.ndarray) -> np.ndarray:
    """Drop leading/trailing gaps; interpolate inner ones linearly."""
    values = values[_span(values)].copy()
    gaps = ~np.isfinite(values)
    if gaps.any():
        t = np.arange(len(values))
        values[gaps] = np.interp(t[gaps], t[~gaps], values[~gaps])
    return values


def _check_positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------- models
def default_window(n: int, ahead: int, season: int | None) -> int:
    """max(season, MIN_WINDOW) steps, shortened so there are >= 3 x (window + ahead) windows.

    `ahead`: the steps each window forecasts (the horizon, or 1 for the recursive strategy)."""
    window = max(season or 0, MIN_WINDOW)
    fits = (n + 1) // 4 - ahead        # n - (w + a) + 1 >= 3 (w + a)
    return min(window, fits)


def choose_model(y: np.ndarray, horizon: int, season: int | None, seed: int = 0, **options) -> list[str]:
    """What `model="auto"` uses for the history `y` (see the module docstring): the best of
    statespace, gaussian windows and their equal mixture by CRPS on a small rolling-origin
    validation inside the history; statespace when the history is too short to validate."""
    return validate(y, horizon, season, seed, **options)[0]


def widen(paths: np.ndarray, scale: float) -> np.ndarray:
    """Paths moved away from (scale > 1) or toward (< 1) their mean path at each step, by `scale`."""
    center = paths.mean(axis=0, keepdims=True)
    return center + scale * (paths - center)


def validate(y: np.ndarray, horizon: int, season: int | None, seed: int = 0, **options) -> tuple[list[str], float]:
    """`choose_model`'s validation, returning (model names, spread scale): the scale in SPREAD_GRID
    whose `widen`ed paths of the chosen model have the lowest mean CRPS on the same validation
    origins (out-of-sample errors, so it covers what in-sample ones miss: the parameters'
    uncertainty and the choice itself); 1.0 when the history is too short to validate."""
    from .series_metrics import crps

    step = horizon
    first = len(y) - horizon - (AUTO_VALIDATION_ORIGINS - 1) * step
    ahead = horizon if options.get("strategy", "direct") == "direct" else 1
    if first < 30 or default_window(first - 2, ahead, season) < 2:
        return ["statespace"], 1.0
    drawn = {name: [] for name in AUTO_CANDIDATES}
    actuals = []
    for k in range(AUTO_VALIDATION_ORIGINS):
        cut = first + k * step
        history, actual = y[:cut], y[cut:cut + horizon]
        paths = {name: forecast_one(history, horizon, n_paths=AUTO_VALIDATION_PATHS, model=name,
                                    seed=seed + k, season=season or 1, **options).paths
                 for name in ("statespace", "gaussian")}
        half = AUTO_VALIDATION_PATHS // 2
        paths["statespace+gaussian"] = np.concatenate([paths["statespace"][:half], paths["gaussian"][:half]])
        for name in AUTO_CANDIDATES:
            drawn[name].append(paths[name])
        actuals.append(actual)

    def score(name: str, scale: float = 1.0) -> float:
        return float(np.mean([crps(widen(p, scale), a) for p, a in zip(drawn[name], actuals)]))

    best = min(AUTO_CANDIDATES, key=score)
    scale = min(SPREAD_GRID, key=lambda s: (score(best, s), abs(s - 1.0)))   # ties: the least change
    return best.split("+"), float(scale)


def _make(name: str, seed: int, params: dict | None, time_budget: float | None):
    from .registry import get_class

    cls = get_class(name)
    options = dict(params or {})
    if time_budget is not None and "time_budget" in cls.params:
        options.setdefault("time_budget", float(time_budget))
    return cls(seed=seed, **options)


ERRORS = ("auto", "model", "bootstrap")
BOOTSTRAP_MODELS = ("gaussian",)  # errors="auto": window models whose error shape is an assumption, not learned
MIN_BOOTSTRAP_WINDOWS = 40        # fewer training windows than this: too few errors to resample tails from
BOOTSTRAP_MEAN_DRAWS = 64   # imputation draws averaged into each conditional mean (errors="bootstrap")
FIRST_COPIES = 64           # ... times this for the history all paths share (4,096 draws of one row)


def _conditional_means(fitted, known: np.ndarray, ahead: int, seed: int, copies: int = 1) -> np.ndarray:
    """E[next `ahead` values | each row of `known`] under a fitted window model: the mean of
    `copies` x BOOTSTRAP_MEAN_DRAWS imputation draws (exact up to Monte Carlo error for any ladder model)."""
    query = np.repeat(np.concatenate([known, np.full((len(known), ahead), np.nan)], axis=1), copies, axis=0)
    draws = fitted.impute(query, n_draws=BOOTSTRAP_MEAN_DRAWS, seed=seed)
    futures = np.stack([np.asarray(d, dtype=float)[:, known.shape[1]:] for d in draws])   # (M, N x copies, ahead)
    return futures.reshape(len(draws), len(known), copies, ahead).mean(axis=(0, 2))


def _forecast_transformed(z: np.ndarray, horizon: int, n_paths: int, model: str, seed: int, window: int | None,
                          season: int | None, params: dict | None, time_budget: float | None,
                          strategy: str = "direct", errors: str = "auto") -> np.ndarray:
    unfitted = _make(model, seed, params, time_budget)
    if unfitted.data_kind == "series":      # a model of whole series (statespace): the history is one row
        fitted = unfitted.fit(z[None, :])
        errors_vectors = None
        wanted = errors == "bootstrap" or (errors == "auto" and model in BOOTSTRAP_MODELS)
        if wanted and hasattr(fitted, "prediction_errors"):
            errors_vectors = fitted.prediction_errors(z, horizon)
            if errors == "auto" and len(errors_vectors) < MIN_BOOTSTRAP_WINDOWS:
                errors_vectors = None
        if errors == "bootstrap" and errors_vectors is not None and not len(errors_vectors):
            raise ValueError(f"errors='bootstrap' needs past origins with {horizon} observed values after them; "
                             f"{len(z)} values (after differencing) give none: use errors='model' or a shorter horizon")
        if errors_vectors is not None and len(errors_vectors):
            # the model's mean path plus the whole in-sample error vector of a random past origin
            center = fitted.forecast_moments(z, horizon)[0]
            pick = np.random.default_rng(seed).integers(0, len(errors_vectors), n_paths)
            paths = center[None, :] + errors_vectors[pick]
        else:
            paths = np.asarray(fitted.forecast(z, horizon, n_paths, seed), dtype=float)
    else:
        ahead = horizon if strategy == "direct" else 1
        window = default_window(len(z), ahead, season) if window is None else window
        length = window + ahead
        if window < 1 or len(z) < length + 1:
            room = (f"give too few windows of {window} + {ahead} steps" if window >= 1 else
                    f"leave no room for a window of past values before {ahead} steps ahead")
            raise ValueError(f"the series is too short for model {model!r}: {len(z)} values (after differencing) "
                             f"{room}; use model='statespace', a shorter window= or a shorter horizon")
        table = np.lib.stride_tricks.sliding_window_view(z, length)          # (N, window + ahead)
        # every window column continuous (no point masses): a count series' latest window may hold
        # a value no training window had in that position, and must still condition the future
        fitted = unfitted.fit(np.ascontiguousarray(table), schema={f"x{j}": {"atoms": False} for j in range(length)})
        # small-sample correction (the OLS prediction interval): the fitted conditional variance of
        # the future given `window` regressors from N windows is biased low by (N - p) / N, and the
        # estimated conditional mean adds about p / N of it (p = window + 1)
        n_windows, p = len(table), window + 1
        inflation = np.sqrt(n_windows / max(n_windows - p, 1) * (1 + p / n_windows))
        known = np.repeat(z[None, -window:], n_paths, axis=0)                # (S, window)
        rngs = np.random.SeedSequence(seed).generate_state(horizon // ahead + 1)
        if errors == "auto":
            errors = "bootstrap" if model in BOOTSTRAP_MODELS and n_windows >= MIN_BOOTSTRAP_WINDOWS else "model"
        if errors == "bootstrap":
            # the model's conditional mean plus a whole in-sample error vector of a random training
            # window: the errors keep the data's own shape (skew, heavy tails) and, with the direct
            # strategy, their correlation across the horizon
            residuals = table[:, window:] - _conditional_means(fitted, table[:, :window], ahead, int(rngs[-1]))
            pick = np.random.default_rng(int(rngs[-1]))
            for k, draw_seed in enumerate(rngs[:-1]):                      # one step (direct) or one per step
                if k == 0:   # every path starts from the same history: one row, averaged over more draws
                    center = _conditional_means(fitted, known[:1, -window:], ahead, int(draw_seed), FIRST_COPIES)
                else:
                    center = _conditional_means(fitted, known[:, -window:], ahead, int(draw_seed))
                known = np.concatenate([known, center + inflation * residuals[pick.integers(0, n_windows, n_paths)]],
                                       axis=1)
            paths = known[:, window:]
        else:
            for k, draw_seed in enumerate(rngs[:-1]):                      # one call (direct) or one per step
                query = np.concatenate([known[:, -window:], np.full((n_paths, ahead), np.nan)], axis=1)
                completed = np.asarray(fitted.impute(query, n_draws=1, seed=int(draw_seed))[0], dtype=float)
                known = np.concatenate([known, completed[:, window:]], axis=1)
            paths = known[:, window:]
            center = paths.mean(axis=0, keepdims=True)
            paths = center + inflation * (paths - center)
    if paths.shape != (n_paths, horizon) or not np.isfinite(paths).all():
        raise RuntimeError(f"model {model!r} returned paths of shape {paths.shape} with "
                           f"{int((~np.isfinite(paths)).sum())} non-finite values; expected ({n_paths}, {horizon})")
    return paths


@dataclass
class Forecast:
    """One series' forecast with what was decided on the way (returned by `forecast_one`)."""
    paths: np.ndarray
    model: str
    transform: Transform
    window: int | None
    spread: float = 1.0     # the scale spread="validated" applied to the paths around their mean (1: none)


def forecast_one(values, horizon: int, n_paths: int = 200, model: str = "auto", seed: int = 0,
                 window: int | None = None, season: int | None = None, difference="auto",
                 params: dict | None = None, time_budget: float | None = None, strategy: str = "direct",
                 seasonality: str = "auto", errors: str = "auto", spread: str = "model", index=None) -> Forecast:
    """Like `forecast` for one series, returning the paths together with the chosen model and transforms."""
    horizon = _check_positive(horizon, "horizon")
    n_paths = _check_positive(n_paths, "n_paths")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    names = _model_names(model)
    y = _clean(np.asarray(values, dtype=float))
    magnitude = float(np.max(np.abs(y))) if len(y) else 0.0
    if magnitude > 1e100 or 0 < magnitude < 1e-100:
        # squares of such values overflow (or vanish) in the tests and models: forecast y / 2^k and
        # scale the paths back (a power of two, so both steps are exact)
        factor = 2.0 ** np.round(np.log2(magnitude))
        result = forecast_one(y / factor, horizon, n_paths=n_paths, model=model, seed=seed, window=window,
                              season=season, difference=difference, params=params, time_budget=time_budget,
                              strategy=strategy, seasonality=seasonality, errors=errors, spread=spread, index=index)
        result.paths = result.paths * factor
        return result
    if season is None:
        season = _frequency_season(index) or acf_season(y)
    elif season == 1 and not isinstance(season, bool):
        season = None
    else:
        season = _check_positive(season, "season")
    transform = choose_transform(y, season, difference, seasonality)
    z = transform.apply(y)
    if strategy not in ("direct", "recursive"):
        raise ValueError(f"strategy must be 'direct' or 'recursive', got {strategy!r}")
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {', '.join(map(repr, ERRORS))}, got {errors!r}")
    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {', '.join(map(repr, SPREADS))}, got {spread!r}")
    if spread == "validated" and names != ["auto"]:
        raise ValueError(f"spread='validated' calibrates model='auto' on its validation origins; got "
                         f"model={'+'.join(names)!r}: use model='auto' or spread='model'")
    if len(y) < SHORT_SERIES:
        warnings.warn(f"forecasting from only {len(y)} values: no trend or season can be tested on fewer than 10, "
                      "so none is removed (difference=1 or 'trend' forces one for a series you know trends), and "
                      "the model's parameters are estimated from so few points that its intervals understate the "
                      "uncertainty (on white noise, statespace's 95% intervals covered 27% of outcomes from 3 "
                      "values, 75% from 6)", stacklevel=3)
    ahead = horizon if strategy == "direct" else 1
    scale = 1.0
    if names == ["auto"]:
        names, scale = validate(y, horizon, season, seed=seed, difference=difference, seasonality=seasonality,
                                strategy=strategy, window=window, errors=errors)
        if spread != "validated":
            scale = 1.0
    if window is not None:
        window = _check_positive(window, "window")
    elif any(name != "statespace" for name in names):
        window = default_window(len(z), ahead, season)
    # a mixture: each model draws its share of the paths (each path one joint draw from one model)
    counts = [n_paths // len(names) + (k < n_paths % len(names)) for k in range(len(names))]
    pieces = [_forecast_transformed(z, horizon, count, name, seed + k, window, season, params, time_budget, strategy,
                                    errors)
              for k, (name, count) in enumerate(zip(names, counts)) if count]
    paths = np.concatenate(pieces)
    if len(pieces) > 1:
        paths = paths[np.random.default_rng(seed).permutation(n_paths)]
    windowed = any(name != "statespace" for name in names)
    paths = transform.invert(paths, y, rng=np.random.default_rng([seed, 1]))
    if scale != 1.0:
        paths = widen(paths, scale)
    return Forecast(paths, "+".join(names), transform, window if windowed else None, scale)


def _model_names(model) -> list[str]:
    """"auto", a model name, or several names (a list, or joined by "+") for an equal mixture."""
    names = model.split("+") if isinstance(model, str) else list(model) if isinstance(model, (list, tuple)) else None
    if not names or not all(isinstance(n, str) and n for n in names) or ("auto" in names and len(names) > 1):
        raise ValueError(f"model must be 'auto', a model name, or several names joined by '+' (a mixture), "
                         f"got {model!r}")
    from .registry import get_class

    for name in names:     # before any fitting: a window model forecasts by imputing, so it must impute
        cls = get_class(name) if name != "auto" else None
        if cls is not None and cls.data_kind != "series" and cls.impute_kind == "none":
            reason = cls.unsupported_reasons.get("impute", "it cannot condition on observed cells")
            raise ValueError(f"model {name!r} cannot forecast: window models forecast by imputing the future "
                             f"given the past, and {name!r} does not impute ({reason}); use 'auto', "
                             "'statespace', 'gaussian' or another model whose impute is exact or approximate")
    return names


def forecast(series, horizon: int, n_paths: int = 200, model: str = "auto", seed: int = 0,
             window: int | None = None, season: int | None = None, difference="auto",
             params: dict | None = None, time_budget: float | None = None, strategy: str = "direct",
             seasonality: str = "auto", errors: str = "auto", spread: str = "model", id_column: str = "id",
             time_column: str = "time", value_column: str = "value", progress: bool | None = None,
             on_error: str = "raise", n_jobs: int = 1):
    """Sample `n_paths` future paths of `horizon` steps from P(future | past).

    `series`: a 1-D array, list or pandas Series (a DatetimeIndex tells the season) -> an array of
    shape (n_paths, horizon). A DataFrame with `id_column`, `time_column` and `value_column`
    (the id is optional: without it the frame is one series; without a time column a DatetimeIndex
    or PeriodIndex gives the times) -> a long DataFrame with columns
    id, step (1..horizon), time (when the spacing of the times is regular), path, value; its
    `.attrs["models"]` maps each series id (None for a single series) to the model that forecast it.

    `model`: "auto", "statespace", any ladder model name (fitted on windows), or several names
    joined by "+" (an equal mixture); `window`: history steps each window model conditions on;
    `season`: the seasonal period (None: detected, 1: none); `difference`: "auto" (KPSS and ADF
    tests), 0, 1, 2 or "trend" (remove a straight line); `seasonality`: "auto"/"means" (remove a strong season's profile),
    "difference" or "none"; `strategy`: "direct" (one window of window + horizon) or "recursive"
    (one step at a time); `errors`: "auto", "model" (the window model's own conditional draws) or
    "bootstrap" (its conditional mean plus resampled in-sample errors); `spread`: "model" (as
    drawn) or "validated" (with model="auto", the paths' spread around their mean is scaled by the
    factor that minimised CRPS on auto's validation origins); `params`: the model's
    hyperparameters; `time_budget`: seconds of training for deep models. The module docstring says
    how each is decided. `on_error` (tables of several series): "raise" (default) stops at the first
    series that cannot be forecast, naming it; "skip" leaves such series out with a warning and
    lists them, with the reason, in `.attrs["skipped"]` (an error if every series fails). `n_jobs`
    (tables of several series): processes that forecast series side by side (-1: one per CPU); each
    series has its own seed, so the paths are the same for any n_jobs.
    """
    import pandas as pd

    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")

    options = dict(horizon=horizon, n_paths=n_paths, model=model, seed=seed, window=window, season=season,
                   difference=difference, params=params, time_budget=time_budget, strategy=strategy,
                   seasonality=seasonality, errors=errors, spread=spread)
    if not isinstance(series, pd.DataFrame):
        values, index = _as_series(series)
        return forecast_one(values, index=index, **options).paths
    return _forecast_frame(series, id_column, time_column, value_column, progress, options, on_error, n_jobs)


def _split_frame(frame, id_column: str, time_column: str, value_column: str):
    """[(id or None, values, times or None)] from a long DataFrame, each series sorted by time and
    cut to its first..last observed value (so its times stay aligned with what is forecast)."""
    import pandas as pd

    if len(frame) == 0:
        raise ValueError("the table has no rows")
    if isinstance(frame.index, pd.MultiIndex):     # (id, time) in the index: they are columns like any other
        names = [name for name in frame.index.names if name is not None]
        if len(names) < frame.index.nlevels or set(names) & set(frame.columns):
            levels = ", ".join(map(str, frame.index.names))
            raise ValueError(f"the table has a {frame.index.nlevels}-level index ({levels}) without distinct names: "
                             "name its levels (e.g. id and time) or reset_index() it")
        frame = frame.reset_index()
    elif time_column not in frame.columns and frame.index.name == time_column:
        frame = frame.reset_index()
    if time_column not in frame.columns and isinstance(frame.index, (pd.DatetimeIndex, pd.PeriodIndex)):
        frame = frame.rename_axis(None).reset_index(names=time_column)   # the times live in the index
    if value_column not in frame.columns:
        numeric = [c for c in frame.columns if c not in (id_column, time_column)
                   and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
        if value_column != "value" or len(numeric) != 1:   # only the default name falls back
            raise ValueError(f"no value column {value_column!r} in the table (columns: {', '.join(map(str, frame.columns))}); "
                             "name it with value_column= (--value-column), or give a table with one numeric column")
        value_column = numeric[0]
    if not pd.api.types.is_numeric_dtype(frame[value_column]):
        raise ValueError(f"the value column {value_column!r} must be numeric, got {frame[value_column].dtype}")
    infinite = int(np.isinf(frame[value_column].to_numpy(dtype=float, na_value=np.nan)).sum())
    if infinite:
        raise ValueError(f"the value column {value_column!r} has {infinite} infinite value(s): replace them with a "
                         "number, or with NaN to have them filled as gaps")
    others = [c for c in frame.columns if c not in (id_column, time_column, value_column)]
    has_time = time_column in frame.columns
    if not has_time:
        timelike = [c for c in others if pd.api.types.is_datetime64_any_dtype(frame[c])
                    or isinstance(frame[c].dtype, pd.PeriodDtype)]
        if timelike:
            raise ValueError(f"no time column {time_column!r}, but column {timelike[0]!r} holds times: name it with "
                             "time_column= (--time-column); without a time column the rows are taken in table order")
    if id_column not in frame.columns:
        labels = [c for c in others if c not in (time_column,) and not pd.api.types.is_numeric_dtype(frame[c])
                  and not pd.api.types.is_datetime64_any_dtype(frame[c])]
        if labels:
            raise ValueError(f"no id column {id_column!r}, but column {labels[0]!r} holds labels: if it tells series "
                             "apart name it with id_column= (--id-column), otherwise drop it; without an id column "
                             "every row belongs to one series")
    else:
        unnamed = int(frame[id_column].isna().sum())
        if unnamed:
            raise ValueError(f"{unnamed} rows have no {id_column!r}: give every row its series' id (or drop those rows)")
    if has_time:
        times = frame[time_column]
        if isinstance(times.dtype, pd.PeriodDtype):
            times = times.dt.to_timestamp()
        elif not (pd.api.types.is_numeric_dtype(times) or pd.api.types.is_datetime64_any_dtype(times)):
            try:   # text times ("2020-01", "Jan 2020", "01/31/2020") are dates, not words to sort alphabetically
                with warnings.catch_warnings():   # pandas' "could not infer format": parsed one by one, fine
                    warnings.simplefilter("ignore", UserWarning)
                    text = times
                    times = pd.to_datetime(text)
            except (TypeError, ValueError) as error:
                raise ValueError(f"the time column {time_column!r} holds text that is not dates ({error}); give "
                                 "dates or numbers") from None
            _warn_day_first(text, times, time_column)
        if times.isna().any():
            raise ValueError(f"{int(times.isna().sum())} rows have no {time_column!r}: give every value its time "
                             "(or drop those rows)")
        frame = frame.assign(**{time_column: times})
    groups = frame.groupby(id_column, sort=False) if id_column in frame.columns else [(None, frame)]
    out = []
    for key, group in groups:
        if has_time:
            group = group.sort_values(time_column, kind="stable")
            if group[time_column].duplicated().any():
                where = f" in series {key!r}" if key is not None else ""
                raise ValueError(f"the time column {time_column!r} has repeated times{where}; "
                                 "give one value per time (or an id column for several series)")
        values = group[value_column].to_numpy(dtype=float, na_value=np.nan)
        times = group[time_column].reset_index(drop=True) if has_time else None
        grid = regular_grid(times)
        if grid is not None:
            values = _on_grid(values, times, grid, f" {key!r}" if key is not None else "")
            times = pd.Series(grid, name=time_column)
        if np.isfinite(values).any():
            keep = _span(values)
            values = values[keep]
            times = times.iloc[keep].reset_index(drop=True) if times is not None else None
        out.append((key, values, times))
    return out, value_column


def _warn_day_first(text, times, name: str) -> None:
    """Warn when text dates such as 01/02/2019 were read month first but every one of them also
    reads day first: which one is meant cannot be told from the text (13/01/2019 would)."""
    import pandas as pd

    present = text.notna().to_numpy()                # by position: the table's index may repeat labels
    text, used = text[present].astype(str), times[present]
    if not len(text) or not text.str.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}( .*)?").all():
        return
    try:
        other = pd.to_datetime(text, dayfirst=True)
    except (TypeError, ValueError):
        return                                       # only month first reads them all: not ambiguous
    differ = np.flatnonzero(other.to_numpy() != used.to_numpy())
    if len(differ):
        k = differ[0]
        warnings.warn(f"the time column {name!r} holds dates such as {text.iloc[k]!r} that read both month first "
                      f"({used.iloc[k]:%Y-%m-%d}, used) and day first ({other.iloc[k]:%Y-%m-%d}); if they "
                      "are day first, write them as ISO dates (YYYY-MM-DD)", stacklevel=4)


def future_times(times, horizon: int):
    """The next `horizon` times after a regularly spaced time column, or None when not inferable."""
    import pandas as pd

    if times is None or len(times) < 3:
        return None
    if pd.api.types.is_datetime64_any_dtype(times):
        index = pd.DatetimeIndex(times)
        code = _frequency(index)
        if code is None:
            return None
        return pd.date_range(index[-1], periods=horizon + 1, freq=code)[1:]
    if pd.api.types.is_numeric_dtype(times):
        steps = np.diff(times.to_numpy(dtype=float))
        if len(np.unique(steps)) != 1 or steps[0] <= 0:
            return None
        last, step = times.iloc[-1], steps[0]
        result = last + step * np.arange(1, horizon + 1)
        return result.astype(times.dtype) if pd.api.types.is_integer_dtype(times) else result
    return None


def series_seed(seed: int, number: int) -> int:
    """The seed of the `number`-th series (0, 1, ...) of a table: `seed` for the first, then seeds
    spawned from (seed, number), so series do not share random numbers: path k of two independent
    series is not built from the same draws (their sums across series would be too wide)."""
    if number == 0 or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        return seed          # (a bad seed is refused by forecast_one with its message)
    return int(np.random.SeedSequence([int(seed), number]).generate_state(1)[0])


def _forecast_series(task) -> tuple:
    """One series of a table (a worker's job): (paths or None, model or None, [(warning text,
    category)], the error's text or None). Warnings and input errors travel back as values so a
    worker process loses none of them; any other error is raised when `on_error` is "raise"."""
    import pandas as pd

    number, values, times, options, on_error = task
    index = pd.DatetimeIndex(times) if times is not None and pd.api.types.is_datetime64_any_dtype(times) else None
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            result = forecast_one(values, index=index, **{**options, "seed": series_seed(options["seed"], number)})
            outcome = (result.paths, result.model, None)
        except Exception as error:       # noqa: BLE001 (the caller raises or skips, as on_error says)
            if on_error == "raise" and not isinstance(error, ValueError):
                raise                    # a bug, not bad input: its own type and traceback
            text = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
            outcome = (None, None, text)
    return outcome[0], outcome[1], [(str(w.message), w.category) for w in said], outcome[2]


def _forecast_frame(frame, id_column, time_column, value_column, progress, options, on_error: str = "raise",
                    n_jobs: int = 1):
    import sys

    import pandas as pd
    from tqdm.auto import tqdm

    series, value_column = _split_frame(frame, id_column, time_column, value_column)
    horizon, n_paths = options["horizon"], options["n_paths"]
    show = progress if progress is not None else (sys.stderr.isatty() and len(series) > 1)
    mode = "raise" if len(series) == 1 else on_error
    tasks = [(number, values, times, options, mode) for number, (_, values, times) in enumerate(series)]
    pieces, chosen, skipped = [], {}, {}
    # series are independent and each has its own seed (series_seed): the same paths for any n_jobs
    with side_by_side(_forecast_series, tasks, min(_check_jobs(n_jobs), len(series))) as results:
        for (key, _, times), (paths, used, said, failure) in zip(series, tqdm(
                results, total=len(series), desc="forecast", unit="series", disable=not show, leave=False)):
            for text, category in said:   # each series' warnings name the series they are about
                warnings.warn(f"series {key!r}: {text}" if key is not None else text, category, stacklevel=3)
            if failure is not None:
                if mode == "raise":
                    raise ValueError(f"series {key!r}: {failure}" if key is not None else failure)
                skipped[key] = failure
                warnings.warn(f"series {key!r} skipped: {failure}", UserWarning, stacklevel=3)
                continue
            chosen[key] = used
            piece = {"step": np.tile(np.arange(1, horizon + 1), n_paths),
                     "path": np.repeat(np.arange(n_paths), horizon), "value": paths.ravel()}
            upcoming = future_times(times, horizon)
            if upcoming is not None:
                piece["time"] = np.tile(np.asarray(upcoming), n_paths)
            piece = pd.DataFrame(piece)
            if key is not None:
                piece.insert(0, "id", key)
            pieces.append(piece)
    if not pieces:
        raise ValueError(f"no series could be forecast; the first failed with: {next(iter(skipped.values()))}")
    long = pd.concat(pieces, ignore_index=True)
    columns = [c for c in ["id", "step", "time", "path", "value"] if c in long.columns]
    long = long[columns]
    long.attrs["models"] = chosen   # the model that forecast each series (what "auto" chose)
    long.attrs["skipped"] = skipped  # series left out with on_error="skip", and why
    return long


# ---------------------------------------------------------------------- backtest
def backtest(series, horizon: int, origins: int = 5, n_paths: int = 200, model: str | Callable = "auto",
             seed: int = 0, step: int | None = None, season: int | None = None, progress: bool | None = None,
             id_column: str = "id", time_column: str = "time", value_column: str = "value", n_jobs: int = 1,
             **options) -> dict:
    """Rolling-origin evaluation: forecast from each of the last `origins` origins and score it.

    Origin k (k = 1..origins) forecasts the `horizon` values after the first
    T - horizon - (origins - k) * step values, refitting on that history only; `step` defaults
    to `horizon` (the test windows tile the end of the series without overlap). `model` is a
    model name, "auto", or a callable `model(history, horizon=H, n_paths=S, seed=s) -> (S, H)
    paths` (how the benchmark scores other libraries with this same code). `options` go to
    `forecast` (window, difference, params, time_budget).
    `series` may also be a DataFrame holding one series (time and value columns, named by
    `time_column` / `value_column`); a table of several series is backtested one id at a time.
    `n_jobs`: processes forecasting origins side by side (default 1; -1: one per CPU), each with
    one BLAS / OpenMP thread; the scores are the same for any n_jobs (origin k always draws from
    seed + k). A callable model must then be defined at module level (not a closure or a lambda).

    Returns {"crps", "mase", "coverage_50", "coverage_80", "coverage_95", "typicality",
    "seconds", "model", "per_origin": DataFrame}: metrics averaged over origins (typicality as a
    ratio of averages, see `series_metrics`); MASE uses the seasonal-naive scale with the season
    of the time index's frequency, else detected on the history before the first origin (or
    `season=`). A gap (NaN) in a future being scored is not an outcome: it is left out of the
    scores (the history's gaps are interpolated as in `forecast`).
    """
    import sys

    import pandas as pd
    from tqdm.auto import tqdm

    from . import series_metrics

    horizon = _check_positive(horizon, "horizon")
    origins = _check_positive(origins, "origins")
    step = horizon if step is None else _check_positive(step, "step")
    jobs = min(_check_jobs(n_jobs), origins)
    named = getattr(model, "__qualname__", type(model).__qualname__) if callable(model) else ""
    if jobs > 1 and "<" in named:
        # worker processes receive a function by reference to its module and name: a function
        # defined inside another one (a closure) or a lambda has none
        raise ValueError(f"n_jobs={n_jobs} sends the model to other processes, and {named!r} (a closure or a "
                         "lambda) cannot be sent; define it at module level, or use n_jobs=1")
    known = set(inspect.signature(forecast_one).parameters) - {"values", "horizon", "n_paths", "model", "seed",
                                                                "season", "index"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"backtest got unknown option(s) {', '.join(map(repr, unknown))}; it passes on "
                        f"{', '.join(sorted(known))}")
    if isinstance(series, pd.DataFrame):
        found, _ = _split_frame(series, id_column, time_column, value_column)
        if len(found) > 1:
            raise ValueError(f"backtest scores one series; the table holds {len(found)} (ids "
                             f"{', '.join(repr(key) for key, _, _ in found[:3])}{', ...' if len(found) > 3 else ''}): "
                             f"pass one, e.g. table[table[{id_column!r}] == id]")
        _, values, times = found[0]
        series = pd.Series(values, index=pd.DatetimeIndex(times)) \
            if times is not None and pd.api.types.is_datetime64_any_dtype(times) else values
    values, index = _as_series(series)
    if index is not None:
        index = index[_span(values)]          # the same rows `_clean` keeps: the index stays aligned
    observed = values[_span(values)]       # what is scored: a gap in the future is not an outcome
    y = _clean(values)
    first = len(y) - horizon - (origins - 1) * step
    if first < 10:
        raise ValueError(f"the series has {len(y)} values: too few for {origins} origins of horizon {horizon} "
                         f"every {step} steps (the first origin would have {first} values of history); "
                         "use fewer origins or a shorter horizon")
    metric_season = season if season is not None else (_frequency_season(index) or acf_season(y[:first]))
    show = progress if progress is not None else sys.stderr.isatty()
    tasks = []
    for k in range(origins):
        cut = first + k * step
        tasks.append((y[:cut], horizon, n_paths, model, seed + k, season,
                      index[:cut] if index is not None and len(index) == len(y) else None, options))
    rows = []
    with side_by_side(functools.partial(_origin_paths, record=True), tasks, jobs, here=_origin_paths) as results:
        for k, (paths, name, seconds, said) in enumerate(tqdm(results, total=origins, desc="backtest",
                                                              unit="origin", disable=not show, leave=False)):
            for text, category in said:      # a worker's warnings, raised here where the caller can see them
                warnings.warn(text, category, stacklevel=2)
            cut = first + k * step
            if paths.ndim != 2 or paths.shape[1] != horizon:
                raise ValueError(f"the model callable {name!r} returned paths of shape {paths.shape}; "
                                 f"backtest needs (n_paths, horizon) = (S, {horizon})")
            row = {"origin": cut, "model": name, "seconds": seconds}
            row.update(series_metrics.score(paths, observed[cut:cut + horizon], y[:cut], metric_season))
            rows.append(row)
    table = pd.DataFrame(rows)
    summary = {"crps": float(table["crps"].mean()), "mase": float(table["mase"].mean())}
    for level in LEVELS:
        summary[f"coverage_{round(level * 100)}"] = float(table[f"coverage_{round(level * 100)}"].mean())
    if "paths_sd" in table:
        actual_sd = table["actual_sd"].mean()      # a flat realised future has no typical spread: NaN
        summary["typicality"] = float(table["paths_sd"].mean() / actual_sd) if actual_sd > 0 else float("nan")
    summary.update(seconds=float(table["seconds"].sum()), model=", ".join(table["model"].unique()),
                   season=metric_season, naive_scale=naive_scale(y[:first], metric_season), per_origin=table)
    return summary


def _origin_paths(task, record: bool = False) -> tuple:
    """One backtest origin: (paths, model name, seconds, [(warning text, category)]). In a worker
    (`record`) the warnings travel back as values, so the caller sees them."""
    history, horizon, n_paths, model, seed, season, index, options = task
    with warnings.catch_warnings(record=True) if record else contextlib.nullcontext() as said:
        if record:
            warnings.simplefilter("always")
        start = _time.perf_counter()
        if callable(model):
            paths = np.asarray(model(history, horizon=horizon, n_paths=n_paths, seed=seed), dtype=float)
            name = getattr(model, "__name__", "callable")
        else:
            result = forecast_one(history, horizon, n_paths=n_paths, model=model, seed=seed, season=season,
                                  index=index, **options)
            paths, name = result.paths, result.model
        seconds = _time.perf_counter() - start
    return paths, name, seconds, [(str(w.message), w.category) for w in said or []]


# ---------------------------------------------------------------------- fan chart
def plot_fan(history, paths, path_png, future=None, title: str | None = None, n_show: int = 5,
             history_points: int | None = None, times=None, seed: int = 0):
    """Draw a fan chart: the history, the median path, 50/80/95% bands and a few sample paths.

    `future`: the realised values, drawn as a dashed line when given; `history_points`: how many
    of the last history values to show (default: max(4 x horizon, 60), at most all); `times`:
    x values for history + horizon (default 0..). Writes `path_png` atomically; returns its path.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = np.asarray(history, dtype=float)
    paths = np.asarray(paths, dtype=float)
    horizon = paths.shape[1]
    shown = history_points or min(len(history), max(4 * horizon, 60))
    x_all = np.arange(len(history) + horizon) if times is None else np.asarray(times)
    x_history, x_future = x_all[len(history) - shown:len(history)], x_all[len(history):]
    # the fan starts at the last observed value so the bands join the history line
    x_fan = np.concatenate([x_all[len(history) - 1:len(history)], x_future])
    anchor = np.full((paths.shape[0], 1), history[-1])
    fan = np.concatenate([anchor, paths], axis=1)
    figure, axes = plt.subplots(figsize=(9, 4.5))
    axes.plot(x_history, history[-shown:], color="black", linewidth=1.2, label="history")
    for level, alpha in zip(sorted(LEVELS, reverse=True), (0.15, 0.25, 0.35)):
        low, high = np.quantile(fan, [(1 - level) / 2, (1 + level) / 2], axis=0)
        axes.fill_between(x_fan, low, high, color="tab:blue", alpha=alpha, linewidth=0,
                          label=f"{round(level * 100)}% interval")
    picks = np.random.default_rng(seed).choice(paths.shape[0], size=min(n_show, paths.shape[0]), replace=False)
    for i, p in enumerate(picks):
        axes.plot(x_fan, fan[p], color="tab:orange", linewidth=0.8, alpha=0.9,
                  label="sample paths" if i == 0 else None)
    axes.plot(x_fan, np.median(fan, axis=0), color="tab:blue", linewidth=1.6, label="median")
    if future is not None:
        axes.plot(x_future, np.asarray(future, dtype=float)[:horizon], color="black", linestyle="--",
                  linewidth=1.2, label="realised")
    axes.set_title(title or f"{paths.shape[0]} sample paths, {horizon} steps ahead")
    axes.legend(loc="upper left", fontsize=8, ncol=2)
    figure.tight_layout()
    return save_figure(figure, path_png)


def figure_format(path) -> str:
    """The format a figure path asks for (its suffix; none: PNG), or ValueError when matplotlib
    cannot write it: checked before the work that draws the figure."""
    from pathlib import Path

    from matplotlib.backend_bases import FigureCanvasBase

    kind = Path(path).suffix.lstrip(".").lower() or "png"
    supported = FigureCanvasBase.get_supported_filetypes()
    if kind not in supported:
        raise ValueError(f"cannot write a figure as {Path(path).suffix!r}; use one of "
                         f"{', '.join('.' + k for k in sorted(supported))}")
    return kind


def save_figure(figure, path_png):
    """Write a matplotlib figure atomically (a temporary file, then a rename) and close it; the
    format follows the file's suffix (.png, .pdf, .svg, .jpg, ...; none: PNG)."""
    import os
    import tempfile
    from pathlib import Path

    import matplotlib.pyplot as plt

    from .io import _publish

    path_png = Path(path_png)
    try:
        kind = figure_format(path_png)
    except ValueError:
        plt.close(figure)
        raise
    path_png.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path_png.name}.", suffix=f".{kind}", dir=path_png.parent)
    os.close(handle)
    try:
        figure.savefig(temp, dpi=110, format=kind)
        _publish(temp, path_png)
    finally:
        plt.close(figure)
        if os.path.exists(temp):
            os.unlink(temp)
    return path_png

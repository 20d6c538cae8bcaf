"""Trend, seasonality and scale of a series: decided on the history alone, inverted on every path.

See `plausible.tasks.forecast` for the rules and the measurements behind them.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

STRENGTH_THRESHOLD = 0.64    # seasonal strength above which the season is removed
MIN_SEASONS = 2              # full seasons of history before a season can be measured and removed
RELIABLE_SEASONS = 3         # below this many seasons STL's strength alone is not trusted (see choose_transform)
SHORT_SEASON_P = 0.01        # ... and a one-way ANOVA of the detrended values by phase must reject at this level
SEASONALITY = ("auto", "means", "difference", "none")
LOG_RATIO = 1.5              # log="auto": a positive history whose largest value is at least this many times its smallest
LOG_BLOCK = 6                # ... whose first differences, in blocks of this many (or a season),
MIN_LOG_BLOCKS = 6           # ... at least this many, have an sd that grows with the level
LOG_T = 2.0                  # ... clearly: the slope's t statistic above this
TREND_UNCERTAINTY = True     # each path draws its own line around the fitted one (Transform.invert)
PROFILE_UNCERTAINTY = True   # each path draws its own seasonal profile around the estimate (Transform.invert)
AUTO_TREND = True            # difference="auto" removes a straight line from a trend-stationary series
AUTO_SEASONALITY = "means"   # what seasonality="auto" does with a strong season


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
    log: bool = False                            # the history was logged first (paths are exponentiated)
    unit_root_p: float | None = None             # ADF p-value of a unit root in the undifferenced history

    def _deseason(self, y: np.ndarray) -> np.ndarray:
        if self.log:
            y = np.log(y)
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
        if self.log:   # far beyond anything seen, exp overflows: paths are capped at e^50 times the largest value
            w = np.exp(np.minimum(w, np.log(np.max(y)) + 50.0))
        return w


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


def unit_root_p(w: np.ndarray) -> float | None:
    """The augmented Dickey-Fuller p-value of a unit root in `w` (with a constant); None when the
    series is too short or flat to test."""
    w = _testable(w)
    if w is None:
        return None
    from statsmodels.tsa.stattools import adfuller

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(adfuller(w, regression="c", autolag="AIC")[1])
        except (ValueError, OverflowError, np.linalg.LinAlgError):
            return None


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


def spread_grows_with_level(y: np.ndarray, season: int | None = None) -> bool:
    """Whether a positive series is better modelled on the log scale: its first differences are cut
    into blocks of max(season, LOG_BLOCK) and the log of each block's sd is regressed on the log of
    its mean level (the idea of Guerrero's 1993 choice of a Box-Cox exponent, between 0 and 1).
    True when the slope is above 1/2 (closer to spread in proportion to the level, as in a price or
    a GDP, than to a constant spread) and clearly positive (t > LOG_T), so noise in the blocks'
    spreads does not decide; the history must span a factor LOG_RATIO between its extremes."""
    y = np.asarray(y, dtype=float)
    if len(y) < 2 or not np.all(y > 0) or np.max(y) < LOG_RATIO * np.min(y):
        return False
    block = max(season or 0, LOG_BLOCK)
    count = (len(y) - 1) // block
    if count < MIN_LOG_BLOCKS:
        return False
    steps = np.diff(y)[-count * block:].reshape(count, block)
    levels = y[1:][-count * block:].reshape(count, block).mean(axis=1)
    sd = steps.std(axis=1, ddof=1)
    keep = sd > 0
    if keep.sum() < MIN_LOG_BLOCKS:
        return False
    x, v = np.log(levels[keep]), np.log(sd[keep])
    x = x - x.mean()
    if not np.any(x != 0):
        return False
    slope = float(x @ (v - v.mean()) / (x @ x))
    residual = v - v.mean() - slope * x
    error = np.sqrt(residual @ residual / max(len(x) - 2, 1) / (x @ x))
    return bool(slope > 0.5 and slope > LOG_T * error)


def choose_transform(y: np.ndarray, season: int | None, difference="auto", seasonality: str = "auto",
                     log=False) -> Transform:
    """Decide the log, seasonal treatment, differencing and scaling on the history `y` (see module doc).

    `y` may be an array, a list or a pandas Series; it is used by position, never by index label
    (a Series' y[m:] - y[:-m] would align labels and difference each value with itself)."""
    y = np.asarray(y, dtype=float)
    if seasonality not in SEASONALITY:
        raise ValueError(f"seasonality must be one of {', '.join(SEASONALITY)}, got {seasonality!r}")
    if not (isinstance(log, (bool, np.bool_)) or (isinstance(log, str) and log == "auto")):
        raise ValueError(f"log must be 'auto', True or False, got {log!r}")
    if log is True and not np.all(y > 0):
        raise ValueError("log=True needs a history of positive values; it has values <= 0: use log=False or 'auto'")
    logged = bool(spread_grows_with_level(y, season)) if log == "auto" else bool(log)
    y = np.log(y) if logged else y
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
    if difference == "auto" and d == 0:
        transform.unit_root_p = unit_root_p(transform.apply(y))
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
    transform.log = logged     # set last: everything above worked on the logged history `y`
    return transform

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
  end (one every horizon) are forecast by `"statespace"`, `"gaussian"` on windows, their
  equal mixture `"statespace+gaussian"` (100 paths each, with the same transforms and errors)
  and ARIMA(1,1,1) without drift on the untransformed values (`arima_paths`; statsmodels'
  SARIMAX, x (0,1,1) of a season of up to 12 with 3+ seasons), and the one with the lowest mean
  CRPS forecasts (its name in `Forecast.model`: "arima"; on bench_real_series' TUNE series
  CRPS/naive 0.776 -> 0.775; a random walk candidate made it 0.814). Histories too short for that
  (fewer than 30 values before the first validation origin, or too few windows) but of
  SHORT_HISTORY values or more choose between statespace and ARIMA (MEDIUM_CANDIDATES) on the
  calibration origins one step apart (Spread, below): TUNE CRPS/naive 0.811 -> 0.742 on the series
  whose origins fall there, 0.789 -> 0.787 on all (HELD-OUT 0.729 -> 0.717). Shorter ones get
  `"statespace"`. A margin before leaving a default candidate, or a mixture of the near-best, did
  not pay on TUNE (benchmarks/real_series_study.py). Why choose: neither model wins everywhere
  (statespace on short and strongly seasonal series, windows on long cyclical ones such as
  sunspots); benchmarks/RESULTS.md has the numbers. It costs about ten extra fits; 3 validation origins
  cost less but chose worse (bench_forecast CRPS ratio 0.998 against 0.974 with 5, at the time).
- Spread (`spread=`): "auto" (the default) is "validated" for model="auto" and "model" (the
  paths as drawn) for a named model; "validated" works with any model. Validated, the paths are
  widened around their mean path by the factor of SPREAD_GRID (1 to 4) whose widened validation
  paths of the chosen model score the lowest mean CRPS, times SPREAD_MARGIN = 1.1 (`spread_scale`;
  `Forecast.spread`). The validation
  forecasts are out of sample, so the factor covers what a model's own spread misses: the
  uncertainty of its estimated parameters, of the trend, season and differencing decided on a
  short history, and of the choice itself. A history too short to choose on (fewer than 30 values
  before the first of auto's origins) is still calibrated: statespace (or ARIMA) forecasts from each of its
  last SHORT_VALIDATION_ORIGINS origins one step apart with at least 8 values before them
  (`validation_cuts`); they forecast from less history than the forecast itself, which errs on
  the wide side. The factor never narrows the paths: on bench_forecast's seven series it did not
  pay when it could (95% coverage 0.915 -> 0.930, CRPS ratio to the best peer 0.975 -> 0.978,
  with factors from 0.8), while on real series outside them (benchmarks/bench_real_series.py,
  TUNE half) the paths as drawn covered only 0.42/0.65/0.78 of outcomes at 50/80/95% and
  statsmodels' grunfeld panel (11 firms, 14-18 years of history, 2 years ahead) 0.27/0.45/0.61;
  benchmarks/RESULTS.md has the numbers with the factor. Below SHORT_HISTORY = 30 values the paths also get
  Student t tails of SHORT_TAIL_DF = 4 df (`fatten`: each path's deviation from the mean path times
  its own sqrt(df / chi2(df)), the predictive of a scale estimated from few values), in validation
  too, and the factor measured on their few origins is shrunk toward SPREAD_PRIOR = 1.3 as if
  SPREAD_PRIOR_WEIGHT = 5 origins had measured that: on grunfeld 50/80/95% coverage 0.52/0.73/0.89
  -> 0.45/0.77/0.92, CRPS/naive 0.912 both (the shrunk factor alone, Gaussian paths, moved its 95%
  coverage not at all). Tried on the TUNE series and left out: dropping
  the drift of a differenced series unless its t statistic reaches 2 (CRPS/naive 0.776 -> 0.786),
  choosing the candidate by its CRPS once widened, and the equal mixture of the two best candidates
  (0.652 -> 0.653 and 0.654 on the 11 long ones). Fewer than 30 values also make
  `forecast_one` warn with the coverage measured on grunfeld (`short_history_warning`).
- Differencing hedge: when `difference="auto"` finds no unit root (KPSS and ADF, see below) half
  the paths still come from the once-differenced series (`Forecast.hedge`), unless the history
  has at least 30 values and the ADF test rejects a unit root at HEDGE_P = 5%. On a few dozen
  values the tests cannot tell a persistent stationary series from a random walk, and taking a
  random walk for stationary pulls every path back to the history's mean (a stock price, a
  country's income); the mixture carries that uncertainty of the model's form into the paths. On
  the TUNE series, statespace's CRPS relative to the naive forecast (geometric mean) went from
  0.696 to 0.673 on 14 long series and from 0.960 to 0.929 on the grunfeld panel.
- `log=True` models log(y) and exponentiates the paths (positive series whose spread grows with
  their level); `log="auto"` takes the log when `transforms.spread_grows_with_level` says so. Off
  by default: on the TUNE series it improved coverage (0.82 -> 0.88 at 95%) but raised
  statespace's relative CRPS from 0.696 to 0.722 (a GDP, a CPI and IBM's price got worse, the
  S&P 500 and a T-bill rate better).

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

import warnings
from dataclasses import dataclass

import numpy as np

from ..core.engine import check_engine, engine_client
from ..core.parallel import side_by_side
from ..core.params import _check_jobs
from ..core.registry import get_class
from ..evaluation.series_metrics import crps
from .series_frames import (_as_series, _check_positive, _clean, _frequency_season, _split_frame, future_times,
                            series_seed)
from .transforms import Transform, acf_season, choose_transform
from .window_models import ERRORS, _forecast_transformed, default_window

AUTO_CANDIDATES = ("statespace", "gaussian", "statespace+gaussian", "arima")   # what "auto" chooses among
SHORT_CANDIDATES = ("statespace",)   # ... on a history too short to choose among windows
MEDIUM_CANDIDATES = ("statespace", "arima")   # ... that has SHORT_HISTORY values all the same (validation_paths)
ARIMA = "arima"   # ARIMA(1,1,1) without a constant (x (0,1,1) of a season of at most ARIMA_MAX_SEASON with 3+ seasons)
ARIMA_MAX_SEASON = 12   # longer seasons (52 weeks) make the seasonal fit 10x slower: ARIMA(1,1,1) alone
AUTO_VALIDATION_ORIGINS = 5  # rolling origins inside the history on which "auto" scores them
AUTO_VALIDATION_PATHS = 100
MIN_CHOICE_HISTORY = 30      # values before the first of those origins for "auto" to choose (else statespace)
SHORT_VALIDATION_ORIGINS = 10  # a history too short to choose on: this many origins, one step apart, calibrate
MIN_VALIDATION_HISTORY = 8   # ... each forecasting from at least this many values
# the scales spread="validated" tries (see validate): 1 (the paths as drawn) to 4, in steps of about 6%
SPREAD_GRID = tuple(float(s) for s in np.round(np.exp(np.linspace(0.0, np.log(4.0), 25)), 3))
SPREAD_MARGIN = 1.1          # ... times this (see spread_scale)
SPREAD_PRIOR = 1.3           # a history of few values (few_values): the factor is shrunk toward this (log scale) ...
SPREAD_PRIOR_WEIGHT = 5      # ... as if this many validation origins had measured it (0: no shrinkage)
SHORT_TAIL_DF = 4            # ... and its validated paths get Student t tails of these df (fatten)
SPREADS = ("auto", "model", "validated")
HEDGE_DIFFERENCE = True      # difference="auto" without a unit root found: half the paths difference anyway ...
HEDGE_P = 0.05               # ... unless a unit root is rejected at this level on MIN_CHOICE_HISTORY values or more
SHORT_SERIES = 10            # fewer values than this: no trend or season is tested
SHORT_HISTORY = 30           # fewer values than this: forecast_one says what its intervals can be expected to cover


def short_history_warning(n: int, scale: float | None) -> str:
    """What a user forecasting from `n` < SHORT_HISTORY values can expect of the intervals, with the
    coverage measured on short real series (benchmarks/bench_real_series.py); `scale`: the factor
    spread="validated" applied (None: the paths as the model drew them)."""
    text = f"forecasting from only {n} values: "
    if n < SHORT_SERIES:
        text += ("no trend or season can be tested on fewer than 10, so none is removed (difference=1 or 'trend' "
                 "forces one for a series you know trends); ")
    if scale is None:
        return text + ("the model's parameters are estimated from so few points that its intervals understate the "
                       "uncertainty: on the 11 yearly series of statsmodels' grunfeld (14-18 values each), "
                       "statespace's 50/80/95% intervals covered 0.35/0.50/0.67 of the next two years' outcomes "
                       "(spread='validated' widens them to the history's own rolling-origin errors)")
    return text + (f"the intervals were widened {scale:.3g}x to match the history's own rolling-origin errors, "
                   "which so few values measure only roughly: 2 years ahead, the 50/80/95% intervals covered "
                   "0.45/0.77/0.92 of outcomes on the 11 yearly series of statsmodels' grunfeld (14-18 values "
                   "each; 0.50 to 1.00 at 95% for single series) and 0.50/0.67/0.87 on the 5 series of "
                   "statsmodels' copper (19-23 values); expect a 95% interval to miss one outcome in 8 to 13")


def arima_paths(y: np.ndarray, horizon: int, n_paths: int, seed: int, season: int | None = None) -> np.ndarray:
    """Paths of ARIMA(1,1,1) without a constant (no drift), times a seasonal (0,1,1) with at least
    three seasons of history, fitted by statsmodels' SARIMAX on the values as given: its mean
    forecast plus Gaussian innovations passed through the fitted model's impulse responses."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    seasonal = ((0, 1, 1, season) if season and 1 < season <= ARIMA_MAX_SEASON and len(y) >= 3 * season
                else (0, 0, 0, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = SARIMAX(y, order=(1, 1, 1), seasonal_order=seasonal, trend="n").fit(disp=False)
        mean = np.asarray(fitted.get_forecast(horizon).predicted_mean, dtype=float)
        response = np.asarray(fitted.impulse_responses(steps=horizon - 1), dtype=float).reshape(-1)[:horizon]
    # each path: the mean plus the innovations of the next steps passed through the model's responses
    psi = np.array([[response[k - i] if k >= i else 0.0 for k in range(horizon)] for i in range(horizon)])
    shocks = np.random.default_rng([seed, 11]).normal(0.0, np.sqrt(max(float(fitted.params[-1]), 0.0)),
                                                       (n_paths, horizon))
    paths = mean[None, :] + shocks @ psi
    if not np.isfinite(paths).all():
        raise ValueError("ARIMA paths are not finite")
    return paths


def widen(paths: np.ndarray, scale: float) -> np.ndarray:
    """Paths moved away from (scale > 1) or toward (< 1) their mean path at each step, by `scale`."""
    center = paths.mean(axis=0, keepdims=True)
    return center + scale * (paths - center)


def fatten(paths: np.ndarray, df: float, rng: np.random.Generator) -> np.ndarray:
    """Each path's deviation from the mean path scaled by its own draw of sqrt(df / chi2(df)): Gaussian
    paths become Student t paths of `df` degrees of freedom (the predictive of a model whose scale is
    estimated from few values), same scale, heavier tails; the mean path is kept."""
    center = paths.mean(axis=0, keepdims=True)
    deviations = (paths - center) * np.sqrt(df / rng.chisquare(df, (len(paths), 1)))
    return center + deviations - deviations.mean(axis=0, keepdims=True)


def few_values(n: int, horizon: int, season: int | None, strategy: str = "direct") -> bool:
    """A history of fewer than SHORT_HISTORY values, too short to choose on: its validated paths get
    Student t tails and its factor is shrunk toward SPREAD_PRIOR (module docstring)."""
    return n < SHORT_HISTORY and not validation_cuts(n, horizon, season, strategy)[1]


def validation_cuts(n: int, horizon: int, season: int | None, strategy: str = "direct") -> tuple[list[int], bool]:
    """Where validation forecasts start inside a history of `n` values, and whether they are enough
    to choose among models: AUTO_VALIDATION_ORIGINS origins one horizon apart when the first has
    at least MIN_CHOICE_HISTORY values before it (and room for windows); otherwise the last
    SHORT_VALIDATION_ORIGINS origins one step apart that have MIN_VALIDATION_HISTORY values."""
    first = n - horizon - (AUTO_VALIDATION_ORIGINS - 1) * horizon
    ahead = horizon if strategy == "direct" else 1
    if first >= MIN_CHOICE_HISTORY and default_window(first - 2, ahead, season) >= 2:
        return [first + k * horizon for k in range(AUTO_VALIDATION_ORIGINS)], True
    last = n - horizon
    return [cut for cut in range(last - SHORT_VALIDATION_ORIGINS + 1, last + 1) if cut >= MIN_VALIDATION_HISTORY], False


def validation_paths(y: np.ndarray, horizon: int, season: int | None, seed: int = 0, model: str = "auto",
                     **options) -> tuple[tuple[str, ...], dict, list]:
    """The forecasts `validate` scores: (candidate names, {name: [paths at each origin]}, [what
    happened after each origin]); origins whose history is too short for the model are left out."""
    cuts, can_choose = validation_cuts(len(y), horizon, season, options.get("strategy", "direct"))
    named = None if model == "auto" else "+".join(_model_names(model))
    candidates = (named,) if named is not None else AUTO_CANDIDATES if can_choose else \
        MEDIUM_CANDIDATES if len(y) >= SHORT_HISTORY else SHORT_CANDIDATES
    drawn = {name: [] for name in candidates}
    actuals = []
    options = {**options, "spread": "model"}
    with warnings.catch_warnings():   # what a validation forecast warns about, the forecast itself will say
        warnings.simplefilter("ignore")
        for k, cut in enumerate(cuts):
            history, actual = y[:cut], y[cut:cut + horizon]
            try:
                if named is None:
                    paths = {name: forecast_one(history, horizon, n_paths=AUTO_VALIDATION_PATHS, model=name,
                                                seed=seed + k, season=season or 1, **options).paths
                             for name in candidates if "+" not in name and name != ARIMA}
                    if ARIMA in candidates:
                        paths[ARIMA] = arima_paths(history, horizon, AUTO_VALIDATION_PATHS, seed + k, season)
                    if "statespace+gaussian" in candidates:
                        half = AUTO_VALIDATION_PATHS // 2
                        paths["statespace+gaussian"] = np.concatenate([paths["statespace"][:half],
                                                                       paths["gaussian"][:half]])
                else:
                    paths = {candidates[0]: forecast_one(history, horizon, n_paths=AUTO_VALIDATION_PATHS,
                                                         model=candidates[0], seed=seed + k, season=season or 1,
                                                         **options).paths}
            except ValueError:        # a history too short for this model: that origin cannot be scored
                continue
            for name in candidates:
                drawn[name].append(paths[name])
            actuals.append(actual)
    return candidates, drawn, actuals


def validate(y: np.ndarray, horizon: int, season: int | None, seed: int = 0, model: str = "auto",
             **options) -> tuple[list[str], float]:
    """Rolling-origin validation inside the history `y`: (model names, spread scale).

    With model="auto" and a history long enough to choose (`validation_cuts`), statespace,
    gaussian windows, their equal mixture and ARIMA forecast from each validation origin and the one
    with the lowest mean CRPS is chosen (statespace or ARIMA on a shorter history of SHORT_HISTORY
    values or more, statespace below). The scale is the factor in
    SPREAD_GRID whose `widen`ed validation paths of the chosen model have the lowest mean CRPS:
    these are out-of-sample errors, so the factor covers what the model's own spread misses (the
    uncertainty of its parameters, of the trend, season and differencing decided on the history,
    and of the choice itself). 1.0 when the history leaves no validation origin."""
    candidates, drawn, actuals = validation_paths(y, horizon, season, seed, model, **options)
    if not actuals:
        return list(candidates[0].split("+")), 1.0

    def score(name: str, scale: float = 1.0) -> float:
        return float(np.mean([crps(widen(p, scale), a) for p, a in zip(drawn[name], actuals)]))

    best = min(candidates, key=score)
    short = few_values(len(y), horizon, season, options.get("strategy", "direct"))
    paths = drawn[best]
    if short and SHORT_TAIL_DF:
        paths = [fatten(p, SHORT_TAIL_DF, np.random.default_rng([seed, k, 7])) for k, p in enumerate(paths)]
    return best.split("+"), spread_scale(paths, actuals, short)


def spread_scale(drawn: list, actuals: list, short: bool = False) -> float:
    """SPREAD_MARGIN times the factor of SPREAD_GRID whose `widen`ed paths have the lowest mean CRPS
    against `actuals`. The margin: the model and this factor are both chosen to fit these few
    outcomes best, so they fit them better than the future (on the TUNE series of
    benchmarks/bench_real_series.py the unmargined factor left 95% intervals covering 0.90, and
    0.86 on the grunfeld panel; with it 0.92 and 0.89, for 1% more CRPS)."""
    def score(scale: float) -> float:
        return float(np.mean([crps(widen(p, scale), a) for p, a in zip(drawn, actuals)]))

    best = min(SPREAD_GRID, key=lambda s: (score(s), abs(np.log(s))))    # ties: the least change
    if SPREAD_PRIOR_WEIGHT and short:
        n = len(actuals)
        best = max(1.0, float(np.exp((n * np.log(best) + SPREAD_PRIOR_WEIGHT * np.log(SPREAD_PRIOR))
                                     / (n + SPREAD_PRIOR_WEIGHT))))
    return float(round(best * SPREAD_MARGIN, 4))


@dataclass
class Forecast:
    """One series' forecast with what was decided on the way (returned by `forecast_one`)."""
    paths: np.ndarray
    model: str
    transform: Transform
    window: int | None
    spread: float = 1.0     # the scale spread="validated" applied to the paths around their mean (1: none)
    hedge: Transform | None = None   # the differenced transform half the paths came from (difference="auto")


def forecast_one(values, horizon: int, n_paths: int = 200, model: str = "auto", seed: int = 0,
                 window: int | None = None, season: int | None = None, difference="auto",
                 params: dict | None = None, time_budget: float | None = None, strategy: str = "direct",
                 seasonality: str = "auto", errors: str = "auto", spread: str = "auto", index=None,
                 log=False) -> Forecast:
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
                              strategy=strategy, seasonality=seasonality, errors=errors, spread=spread, index=index,
                              log=log)
        result.paths = result.paths * factor
        return result
    if season is None:
        season = _frequency_season(index) or acf_season(y)
    elif season == 1 and not isinstance(season, bool):
        season = None
    else:
        season = _check_positive(season, "season")
    transform = choose_transform(y, season, difference, seasonality, log)
    z = transform.apply(y)
    hedge = None
    if hedged(transform, len(y), difference):
        try:    # the tests found no unit root; a share of the paths assumes one all the same (module docstring)
            hedge = choose_transform(y, season, 1, seasonality, log)
        except ValueError:          # too short to difference: the tests' verdict stands
            hedge = None
    if strategy not in ("direct", "recursive"):
        raise ValueError(f"strategy must be 'direct' or 'recursive', got {strategy!r}")
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {', '.join(map(repr, ERRORS))}, got {errors!r}")
    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {', '.join(map(repr, SPREADS))}, got {spread!r}")
    if spread == "auto":
        spread = "validated" if names == ["auto"] else "model"
    ahead = horizon if strategy == "direct" else 1
    scale = 1.0
    if names == ["auto"] or spread == "validated":
        fitting = {} if names == ["auto"] else {"params": params, "time_budget": time_budget}
        chosen, scale = validate(y, horizon, season, seed=seed, model="+".join(names), difference=difference,
                                 seasonality=seasonality, strategy=strategy, window=window, errors=errors, log=log,
                                 **fitting)
        names = chosen if names == ["auto"] else names
        if spread != "validated":
            scale = 1.0
        if names == [ARIMA]:
            paths = arima_paths(y, horizon, n_paths, seed, season)
            if spread == "validated" and SHORT_TAIL_DF and few_values(len(y), horizon, season, strategy):
                paths = fatten(paths, SHORT_TAIL_DF, np.random.default_rng([seed, 7]))
            if len(y) < SHORT_HISTORY:
                warnings.warn(short_history_warning(len(y), scale if spread == "validated" else None), stacklevel=3)
            return Forecast(widen(paths, scale), ARIMA, transform, None, scale, None)
    if len(y) < SHORT_HISTORY:
        warnings.warn(short_history_warning(len(y), scale if spread == "validated" else None), stacklevel=3)
    if window is not None:
        window = _check_positive(window, "window")
    given = window                  # the hedge's windows default to its own (one value shorter) series
    if window is None and _windowed(names):
        window = default_window(len(z), ahead, season)
    # a mixture: each model (and each transform, when hedged) draws its share of the paths, each
    # path one joint draw from one model
    used = [transform] if hedge is None else [transform, hedge]
    parts = [(t, name) for t in used for name in names]
    counts = [n_paths // len(parts) + (k < n_paths % len(parts)) for k in range(len(parts))]
    pieces = []
    for k, ((t, name), count) in enumerate(zip(parts, counts)):
        if not count:
            continue
        series = z if t is transform else t.apply(y)
        drawn = _forecast_transformed(series, horizon, count, name, seed + k, window if t is transform else given,
                                      season, params, time_budget, strategy, errors)
        pieces.append(t.invert(drawn, y, rng=np.random.default_rng([seed, 1 + used.index(t)])))
    paths = np.concatenate(pieces)
    if len(pieces) > 1:
        paths = paths[np.random.default_rng(seed).permutation(n_paths)]
    windowed = _windowed(names)
    if spread == "validated" and SHORT_TAIL_DF and few_values(len(y), horizon, season, strategy):
        paths = fatten(paths, SHORT_TAIL_DF, np.random.default_rng([seed, 7]))
    if scale != 1.0:
        paths = widen(paths, scale)
    return Forecast(paths, "+".join(names), transform, window if windowed else None, scale, hedge)


def hedged(transform: Transform, n: int, difference="auto") -> bool:
    """Whether half the paths come from the differenced series although the tests chose not to
    difference (module docstring): on fewer than MIN_CHOICE_HISTORY values always, since the tests
    can tell little there, and otherwise unless the ADF test rejects a unit root at HEDGE_P."""
    if difference != "auto" or not HEDGE_DIFFERENCE or transform.difference or transform.seasonal_difference:
        return False
    p = transform.unit_root_p
    return n < MIN_CHOICE_HISTORY or (p is not None and p >= HEDGE_P)


def _windowed(names: list[str]) -> bool:
    """Whether any of the models is fitted on windows (a table model), not on the whole series."""
    return any(get_class(name).data_kind != "series" for name in names)


def _model_names(model) -> list[str]:
    """"auto", a model name, or several names (a list, or joined by "+") for an equal mixture."""
    names = model.split("+") if isinstance(model, str) else list(model) if isinstance(model, (list, tuple)) else None
    if not names or not all(isinstance(n, str) and n for n in names) or ("auto" in names and len(names) > 1):
        raise ValueError(f"model must be 'auto', a model name, or several names joined by '+' (a mixture), "
                         f"got {model!r}")
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
             seasonality: str = "auto", errors: str = "auto", spread: str = "auto", id_column: str = "id",
             time_column: str = "time", value_column: str = "value", progress: bool | None = None,
             on_error: str = "raise", n_jobs: int = 1, log=False, engine=None, workers: int | None = None):
    """Sample `n_paths` future paths of `horizon` steps from P(future | past).

    `series`: a 1-D array, list or pandas Series (a DatetimeIndex tells the season) -> an array of shape (n_paths,
    horizon). A DataFrame with `id_column`, `time_column` and `value_column` (the id is optional: without it the frame
    is one series; without a time column a DatetimeIndex or PeriodIndex gives the times) -> a long DataFrame with
    columns id, step (1..horizon), time (when the spacing of the times is regular), path, value; its
    `.attrs["models"]` maps each series id (None for a single series) to the model that forecast it.

    `model`: "auto", "statespace", any ladder model name (fitted on windows), or several names joined by "+" (an equal
    mixture); `window`: history steps each window model conditions on; `season`: the seasonal period (None: detected,
    1: none); `difference`: "auto" (KPSS and ADF tests), 0, 1, 2 or "trend" (remove a straight line); `seasonality`:
    "auto"/"means" (remove a strong season's profile), "difference" or "none"; `strategy`: "direct" (one window of
    window + horizon) or "recursive" (one step at a time); `errors`: "auto", "model" (the window model's own
    conditional draws) or "bootstrap" (its conditional mean plus resampled in-sample errors); `spread`: "auto"
    (validated for model="auto", as drawn otherwise), "model" (as drawn) or "validated" (the paths' spread around
    their mean widened by the factor that minimised CRPS on rolling origins inside the history); `log`: False, True
    (model log(y); positive series) or "auto"; `params`: the model's hyperparameters; `time_budget`: seconds of
    training for deep models. The module docstring says how each is decided. `on_error` (tables of several series):
    "raise" (default) stops at the first series that cannot be forecast, naming it; "skip" leaves such series out with
    a warning and lists them, with the reason, in `.attrs["skipped"]` (an error if every series fails). `n_jobs`
    (tables of several series): processes that forecast series side by side (-1: one per CPU); each series has its own
    seed, so the paths are the same for any n_jobs or `engine` (not with n_jobs): "dask" (a local cluster of `workers`
    processes started for the call; the distributed extra) or a `distributed.Client`, whose workers forecast the
    series (a single one is forecast here); a series whose workers keep dying fails naming it.
    """
    import pandas as pd

    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    check_engine(engine, workers, n_jobs)
    options = dict(horizon=horizon, n_paths=n_paths, model=model, seed=seed, window=window, season=season,
                   difference=difference, params=params, time_budget=time_budget, strategy=strategy,
                   seasonality=seasonality, errors=errors, spread=spread, log=log)
    if not isinstance(series, pd.DataFrame):
        values, index = _as_series(series)
        return forecast_one(values, index=index, **options).paths
    return _forecast_frame(series, id_column, time_column, value_column, progress, options, on_error, n_jobs,
                           engine, workers)


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
                    n_jobs: int = 1, engine=None, workers: int | None = None):
    import sys

    import pandas as pd
    from tqdm.auto import tqdm

    series, value_column = _split_frame(frame, id_column, time_column, value_column)
    horizon, n_paths = options["horizon"], options["n_paths"]
    show = progress if progress is not None else (sys.stderr.isatty() and len(series) > 1)
    mode = "raise" if len(series) == 1 else on_error
    tasks = [(number, values, times, options, mode) for number, (_, values, times) in enumerate(series)]
    pieces, chosen, skipped = [], {}, {}
    # series are independent and each has its own seed (series_seed): the same paths for any n_jobs or engine
    jobs = min(_check_jobs(n_jobs), len(series))
    with engine_client(engine, workers) as client, side_by_side(_forecast_series, tasks, jobs, client=client,
                                                                describe=lambda i: f"series {series[i][0]!r}") as results:
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
    long = long[[c for c in ["id", "step", "time", "path", "value"] if c in long.columns]]
    long.attrs["models"] = chosen   # the model that forecast each series (what "auto" chose)
    long.attrs["skipped"] = skipped  # series left out with on_error="skip", and why
    return long

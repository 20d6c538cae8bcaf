"""Scores of probabilistic forecasts given as sample paths: every forecaster is judged by the same code.

`paths` is an (S, H) array: S sample paths over a horizon of H steps. `actual` is the realised
future, shape (H,) (or (R, H) for R realisations of the same future, e.g. fresh draws of a known
truth; every metric then averages over them).

- `crps`: continuous ranked probability score of each step's sample distribution F against the
  realised value y, CRPS(F, y) = E|X - y| - 1/2 E|X - X'| (X, X' ~ F independent), averaged over
  the steps. It is the CRPS of the paths' empirical distribution (the plain estimator, /S^2): a
  single path scores its mean absolute error. Computed from the sorted sample in O(S log S):
  E|X - X'| = 2/S^2 sum_i (2i - S - 1) x_(i) for the sorted x_(1) <= ... <= x_(S). Lower is better;
  in the series' units.
- `mase`: mean absolute error of a point path (the median path) divided by the in-sample mean
  absolute error of the seasonal-naive forecast y_t = y_{t-m} on the history (m = season, 1 when
  none; m falls back to 1 when the history is not longer than m). Below 1: better than naive.
- `coverage`: the share of realised values inside each step's central `level` interval of the
  paths (between the (1-level)/2 and (1+level)/2 sample quantiles). Calibrated: equal to level.
- `typicality`: do the paths move like the series does? The average over paths of each path's
  standard deviation over the horizon (its values around its own mean), divided by the same
  standard deviation of the realised future (averaged over realisations when several):

      typicality = mean_s sd_h(paths[s]) / mean_r sd_h(actual[r]).

  A forecaster returning the mean path of Gaussian noise scores 0 (a flat line moves less than
  any real future); paths drawn from the true distribution score about 1 (exactly 1 in
  expectation when realisations come from the same distribution). Needs H >= 2. For trending
  series both standard deviations include the trend over the horizon. In backtests the
  numerators and denominators are averaged over origins before dividing (a ratio of averages,
  stable when one origin's future happens to be flat).
"""
from __future__ import annotations

import warnings

import numpy as np

LEVELS = (0.5, 0.8, 0.95)


def _check(paths, actual) -> tuple[np.ndarray, np.ndarray]:
    paths = np.asarray(paths, dtype=float)
    actual = np.asarray(actual, dtype=float)
    if paths.ndim == 1:
        paths = paths[None, :]
    if paths.ndim != 2:
        raise ValueError(f"paths must be an (n_paths, horizon) array, got shape {paths.shape}")
    if actual.ndim == 1:
        actual = actual[None, :]
    if actual.ndim != 2 or actual.shape[1] != paths.shape[1]:
        raise ValueError(f"actual must have one value per step of the paths ({paths.shape[1]}), "
                         f"got shape {np.asarray(actual).shape}")
    if not np.isfinite(paths).all():
        raise ValueError("paths contain NaN or infinite values")
    return paths, actual


def crps_per_step(paths, actual, fair: bool = False) -> np.ndarray:
    """CRPS at each step (H,), averaged over realisations; NaN where the realised value is missing.

    E|X − y| − ½ E|X − X'| over the S samples. `fair=True` averages |X − X'| over the S(S − 1)
    pairs of distinct samples instead of all S² (Ferro 2014): the unbiased estimate of the CRPS
    of the distribution the samples come from, which matters when S is small (imputation's M
    draws); the default is the CRPS of the S-sample empirical distribution itself.
    """
    paths, actual = _check(paths, actual)
    samples = np.sort(paths, axis=0)                                     # (S, H)
    n = samples.shape[0]
    weights = (2 * np.arange(1, n + 1) - n - 1)[:, None]                 # (S, 1): Σ|xi − xj| = 2 Σ (2i − n − 1) x(i)
    pairs = n * (n - 1) if fair else n**2
    spread = 2.0 / max(pairs, 1) * (weights * samples).sum(axis=0)       # E|X - X'|, (H,)
    error = np.abs(samples[None, :, :] - actual[:, None, :]).mean(axis=1)  # E|X - y|, (R, H)
    per_step = error - 0.5 * spread[None, :]
    if not np.isnan(actual).any():
        return per_step.mean(axis=0)
    with warnings.catch_warnings():          # a step no realisation observed is NaN, said in the docstring
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(per_step, axis=0)


def crps(paths, actual) -> float:
    """CRPS from sample paths, averaged over steps (and realisations): lower is better."""
    return float(np.nanmean(crps_per_step(paths, actual)))


def naive_scale(history, season: int | None = None) -> float:
    """In-sample mean absolute error of the (seasonal-)naive forecast on `history`."""
    history = np.asarray(history, dtype=float)
    m = season if season and season > 1 and len(history) > season else 1
    if len(history) <= m:
        raise ValueError(f"MASE needs a history longer than {m} value(s), got {len(history)}")
    scale = np.nanmean(np.abs(history[m:] - history[:-m]))
    return float(scale)


def mase(point, actual, history, season: int | None = None) -> float:
    """Mean absolute scaled error of a point path (e.g. the median path) against `actual`."""
    point = np.asarray(point, dtype=float)
    actual = np.asarray(actual, dtype=float)
    if point.shape != actual.shape:
        raise ValueError(f"point path and actual differ in shape: {point.shape} vs {actual.shape}")
    scale = naive_scale(history, season)
    if not scale > 0:
        raise ValueError("MASE is undefined for a constant history (the naive forecast makes no error)")
    return float(np.nanmean(np.abs(point - actual)) / scale)


def coverage(paths, actual, level: float) -> float:
    """Share of realised values inside the paths' central `level` interval, over steps (and realisations)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    paths, actual = _check(paths, actual)
    low, high = np.quantile(paths, [(1 - level) / 2, (1 + level) / 2], axis=0)
    inside = (actual >= low) & (actual <= high)
    return float(inside[~np.isnan(actual)].mean())


def typicality_parts(paths, actual) -> tuple[float, float]:
    """(mean within-path sd of the paths, mean sd of the realised future(s)) over the horizon."""
    paths, actual = _check(paths, actual)
    if paths.shape[1] < 2:
        raise ValueError("typicality needs a horizon of at least 2 steps")
    return float(paths.std(axis=1).mean()), float(np.nanstd(actual, axis=1).mean())


def typicality(paths, actual) -> float:
    """Average within-path sd of the paths over the sd of the realised future: ~1 typical, ~0 flat."""
    paths_sd, actual_sd = typicality_parts(paths, actual)
    return paths_sd / actual_sd if actual_sd > 0 else float("nan")


def score(paths, actual, history, season: int | None = None) -> dict[str, float]:
    """Every metric of one forecast: crps, mase (of the median path), coverage_50/80/95, typicality parts."""
    paths, actual2 = _check(paths, actual)
    # MASE is undefined (NaN here, an error from `mase`) when the history is constant: intermittent
    # demand often starts with zeros, and one such origin must not void the other metrics
    defined = len(actual2) == 1 and naive_scale(history, season) > 0
    result = {"crps": crps(paths, actual2),
              "mase": mase(np.median(paths, axis=0), actual2[0], history, season) if defined else np.nan}
    for level in LEVELS:
        result[f"coverage_{round(level * 100)}"] = coverage(paths, actual2, level)
    if paths.shape[1] >= 2:
        result["paths_sd"], result["actual_sd"] = typicality_parts(paths, actual2)
        result["typicality"] = result["paths_sd"] / result["actual_sd"] if result["actual_sd"] > 0 else np.nan
    return result

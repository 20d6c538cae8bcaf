"""Forecasting with a model: any ladder model on sliding windows, or a model of whole series.

A window model is fitted on the table of (window + ahead)-step windows and forecasts by imputing
the future cells of the latest window; a series model (statespace) forecasts the series itself.
"""
from __future__ import annotations

import numpy as np

from ..core.registry import make_for_task

MIN_WINDOW = 8


# ---------------------------------------------------------------------- models
def default_window(n: int, ahead: int, season: int | None) -> int:
    """max(season, MIN_WINDOW) steps, shortened so there are >= 3 x (window + ahead) windows.

    `ahead`: the steps each window forecasts (the horizon, or 1 for the recursive strategy)."""
    window = max(season or 0, MIN_WINDOW)
    fits = (n + 1) // 4 - ahead        # n - (w + a) + 1 >= 3 (w + a)
    return min(window, fits)




ERRORS = ("auto", "model", "bootstrap")
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
    unfitted = make_for_task(model, seed, params, time_budget)
    if unfitted.data_kind == "series":      # a model of whole series (statespace): the history is one row
        fitted = unfitted.fit(z[None, :])
        errors_vectors = None
        if errors == "bootstrap" or (errors == "auto" and unfitted.assumed_error_shape):
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
            errors = "bootstrap" if unfitted.assumed_error_shape and n_windows >= MIN_BOOTSTRAP_WINDOWS else "model"
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

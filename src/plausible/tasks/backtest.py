"""Rolling-origin backtests: forecast from several past origins and score against what happened.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import time as _time
import warnings
from typing import Callable

import numpy as np

from ..core.engine import check_engine, engine_client
from ..core.parallel import side_by_side
from ..core.params import _check_jobs
from ..evaluation import series_metrics
from ..evaluation.series_metrics import LEVELS, naive_scale
from .forecast import forecast_one
from .series_frames import _as_series, _check_positive, _clean, _frequency_season, _span, _split_frame
from .transforms import acf_season


# ---------------------------------------------------------------------- backtest
def backtest(series, horizon: int, origins: int = 5, n_paths: int = 200, model: str | Callable = "auto",
             seed: int = 0, step: int | None = None, season: int | None = None, progress: bool | None = None,
             id_column: str = "id", time_column: str = "time", value_column: str = "value", n_jobs: int = 1,
             engine=None, workers: int | None = None, **options) -> dict:
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
    `engine` (not with n_jobs): "dask" (a local Dask cluster of `workers` processes started for the
    call; `pip install 'plausible[distributed]'`) or a `distributed.Client`, whose workers forecast
    the origins (a callable model may be a closure there: Dask sends it with cloudpickle); the
    scores are the same as here. An origin whose workers keep dying fails naming it.

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

    horizon = _check_positive(horizon, "horizon")
    origins = _check_positive(origins, "origins")
    step = horizon if step is None else _check_positive(step, "step")
    check_engine(engine, workers, n_jobs)
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
    with engine_client(engine, workers) as client, side_by_side(
            functools.partial(_origin_paths, record=True), tasks, jobs, here=_origin_paths, client=client,
            describe=lambda k: f"origin {k + 1} of {origins} (after {first + k * step} values)") as results:
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

"""Series as the user gives them: one array, a pandas Series, or a long table (id, time, value).

Time grids, seasons from a time index, gaps, and each series' own seed.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

_FREQUENCY_SEASONS = {"ME": 12, "MS": 12, "M": 12, "BME": 12, "BMS": 12, "QE": 4, "QS": 4, "Q": 4, "BQE": 4,
                      "BQS": 4, "W": 52, "D": 7, "B": 5, "h": 24, "H": 24}


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

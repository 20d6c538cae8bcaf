"""The series commands: forecast and backtest.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

from .files import _check_figure_out, _check_table_out, _engine, _model_params, _read, _strict_json
from .parser import _difference


def _series_frames(args, quiet: bool = False) -> tuple:
    """The table of FILE (a file or a built-in series) and [(id or None, pandas Series, times)] per series."""
    import pandas as pd

    from ..tasks.forecast import _split_frame

    frame = _read(args.data, args)
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", UserWarning)
        series, _ = _split_frame(frame, args.id_column, args.time_column, args.value_column)
    out = []
    for key, values, times in series:
        if times is not None and pd.api.types.is_datetime64_any_dtype(times):
            out.append((key, pd.Series(values, index=pd.DatetimeIndex(times)), times))
        else:
            out.append((key, pd.Series(values), times))
    return frame, out


def _check_counts(args) -> None:
    """The CLI's own names in the messages (--paths, not n_paths)."""
    for flag in ("horizon", "paths", "origins", "window", "season"):
        value = getattr(args, flag, None)
        if value is not None and value < 1:
            raise ValueError(f"--{flag} must be a positive whole number, got {value}")


def _check_engine(args) -> None:
    """--engine/--workers as every command checks them (cli/files.py), never beside --jobs."""
    if args.engine is not None and args.jobs != 1:
        raise ValueError(f"--engine {args.engine} and --jobs {args.jobs} both spread the work over processes; "
                         "pass one of them (--workers N sizes the engine's local cluster)")
    _engine(args)


def _forecast(args) -> str:
    import numpy as np

    from ..data.io import write_table
    from ..tasks.forecast import forecast, future_times
    from ..tasks.plots import plot_fan

    _check_table_out(args.out)
    _check_figure_out(args.plot or str(Path(args.out).with_suffix(".png")))
    _check_counts(args)
    if args.jobs < 1 and args.jobs != -1:
        raise ValueError(f"--jobs must be a positive whole number or -1 (one per CPU), got {args.jobs}")
    _check_engine(args)
    params = _model_params(args.model, args.set)
    frame, series = _series_frames(args, quiet=True)       # (forecast itself warns about the same table)
    table = forecast(frame, horizon=args.horizon, n_paths=args.paths, model=args.model, seed=args.seed,
                     params=params, time_budget=args.time_budget, window=args.window, season=args.season,
                     difference=_difference(args.difference),
                     errors=args.errors, spread=args.spread, id_column=args.id_column, time_column=args.time_column,
                     value_column=args.value_column, on_error=args.on_error, n_jobs=args.jobs, engine=args.engine,
                     workers=args.workers)
    write_table(table, args.out)
    plot = args.plot or str(Path(args.out).with_suffix(".png"))
    skipped = table.attrs.get("skipped", {})
    done = [s for s in series if s[0] not in skipped]
    key, values, times = done[0]
    first = table if key is None else table[table["id"] == key]
    paths = first.pivot(index="path", columns="step", values="value").to_numpy()
    name = f"series {key!r}: " if key is not None else ""
    upcoming = future_times(times, args.horizon) if times is not None and len(times) == len(values) else None
    axis = None if upcoming is None else np.concatenate([np.asarray(times), np.asarray(upcoming)])
    used = table.attrs.get("models", {}).get(key, args.model)
    label = f"{args.model} → {used}" if args.model == "auto" else used
    plot_fan(values.to_numpy(), paths, plot, title=f"{name}{args.paths} paths, {args.horizon} steps ahead "
             f"(model {label})", seed=args.seed, times=axis)
    more = f" (fan chart of the first of {len(done)} series)" if len(done) > 1 else ""
    models = sorted(set(table.attrs.get("models", {}).values()))
    left = (f"; skipped {len(skipped)} series that could not be forecast: " +
            ", ".join(repr(k) for k in skipped)) if skipped else ""
    return (f"wrote {args.paths} paths x {args.horizon} steps for {len(done)} series to {args.out} "
            f"(model: {', '.join(models) or args.model}); fan chart {plot}{more}{left}")


def _backtest(args) -> str:
    from ..core.engine import engine_client
    from ..tasks.backtest import backtest

    _check_counts(args)
    _check_engine(args)
    params = _model_params(args.model, args.set)
    _, series = _series_frames(args)
    results = {}
    with engine_client(args.engine, args.workers) as client:   # one cluster for all the series' origins
        for key, values, _ in series:   # values: a pandas Series, on its time index when the file has dates
            try:
                results[key] = backtest(values, horizon=args.horizon, origins=args.origins, n_paths=args.paths,
                                        model=args.model, seed=args.seed, season=args.season, errors=args.errors,
                                        spread=args.spread, window=args.window,
                                        difference=_difference(args.difference), params=params,
                                        time_budget=args.time_budget, progress=False if args.json else None,
                                        n_jobs=args.jobs, engine=client)
            except ValueError as error:
                raise ValueError(f"series {key!r}: {error}" if key is not None else str(error)) from None
    keys = ["model", "crps", "mase", "coverage_50", "coverage_80", "coverage_95", "typicality", "seconds"]
    if args.json:
        return _strict_json([{"id": key, **{k: r.get(k) for k in keys + ["season"]},
                              "per_origin": json.loads(r["per_origin"].to_json(orient="records"))}
                             for key, r in results.items()])
    lines = [f"{'series':<12}" + "".join(f"{k:>13}" for k in keys)]
    for key, r in results.items():
        cells = [f"{r[k]:>13}" if isinstance(r.get(k), str) else f"{r.get(k, float('nan')):>13.4g}" for k in keys]
        lines.append(f"{str(key if key is not None else args.data)[:11]:<12}" + "".join(cells))
    lines += ["", "crps: lower is better (series units); mase < 1 beats the (seasonal-)naive forecast; "
              "coverage_L: share of outcomes inside the central L% interval (nominal L/100); typicality: "
              "paths' within-path sd over the outcome's (1: typical, 0: a flat mean path)."]
    return "\n".join(lines)

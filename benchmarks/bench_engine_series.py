"""`pl.forecast(table, model="auto", engine=...)`: many series forecast on a local Dask cluster (issue 28 part 1).

    OMP_NUM_THREADS=1 python benchmarks/bench_engine_series.py --series 100 --repeats 1      # a quick check
    OMP_NUM_THREADS=1 python benchmarks/bench_engine_series.py                               # 1,000 series, 2 workers
    PYTHONPATH=src python3 benchmarks/bench_engine_series.py --workers 16 --repeats 1 --baseline-series 100

A table of `--series` synthetic monthly series (60-120 values each: a level, a trend, a season of 12
of random strength and phase, AR(1) noise, a few with a level shift; drawn from `--seed`) is forecast
12 steps ahead with 200 paths by `model="auto"` (each series: a rolling-origin choice among
statespace, gaussian windows, their mixture and ARIMA, then the spread's calibration, about ten fits)
in three ways, each timed as a user would see it, the whole `pl.forecast` call:

- 1 process: `engine=None` (this process, one BLAS / OpenMP thread);
- dask: `engine="dask", workers=W`, a local cluster of W worker processes started for the call and
  closed after it (its start-up, about a second, and each worker's first imports are in the time);
- n_jobs (with `--n-jobs`): `n_jobs=W` process pools, for comparison.

Each way runs `--repeats` times, interleaved; the table gives the median and the speed-up against the
1-process median of the same run. Every result must equal the 1-process one exactly
(`pd.testing.assert_frame_equal`; each series draws from its own seed), else the script fails.
`auto` costs about 6 CPU-seconds per series here (2-core Xeon), so 1,000 series take ~1.8 h in one
process: `--baseline-series K` times the 1-process way on the first K series only and scales its time
by series / K (marked "extrapolated"; those K series' paths are still checked equal), for a machine
lent for minutes (16 workers forecast 1,000 series in a few minutes; one process would not).
Prints a markdown block (and writes it to `--out` when given). Needs the distributed extra
(`pip install 'plausible[distributed]'`) and plausible's source on the path.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import plausible as pl  # noqa: E402

HORIZON, PATHS = 12, 200


def make_series(count: int, seed: int = 0) -> pd.DataFrame:
    """`count` monthly series of 60-120 values in one long table (id, time, value): level, trend, a
    season of 12 (strength and phase random, absent in about a fifth), AR(1) noise and, in about one in
    ten, a level shift; positive, like sales."""
    rng = np.random.default_rng(seed)
    pieces = []
    for k in range(count):
        n = int(rng.integers(60, 121))
        t = np.arange(n)
        level = rng.uniform(50, 500)
        trend = rng.normal(0, 0.004) * level * t
        season = (rng.uniform(0.02, 0.25) * level * np.sin(2 * np.pi * (t + rng.integers(12)) / 12)
                  if rng.random() > 0.2 else 0.0)
        noise = np.zeros(n)
        phi, sd = rng.uniform(0.0, 0.8), rng.uniform(0.02, 0.08) * level
        for i in range(1, n):
            noise[i] = phi * noise[i - 1] + rng.normal(0, sd)
        shift = (t >= rng.integers(n // 2, n)) * rng.normal(0, 0.15) * level if rng.random() < 0.1 else 0.0
        value = np.maximum(level + trend + season + noise + shift, 1.0)
        pieces.append(pd.DataFrame({"id": f"sku{k:05d}",
                                    "time": pd.date_range("2010-01-01", periods=n, freq="MS"),
                                    "value": np.round(value, 2)}))
    return pd.concat(pieces, ignore_index=True)


def timed(frame: pd.DataFrame, seed: int, **how) -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    result = pl.forecast(frame, horizon=HORIZON, n_paths=PATHS, model="auto", seed=seed, progress=False, **how)
    return time.perf_counter() - start, result


def machine_line() -> str:
    try:
        from bench_core import machine
        name = machine()
    except Exception:   # noqa: BLE001 (only a label)
        import platform
        name = platform.node()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{name}, {os.cpu_count()} CPUs, load average {load:.1f} at the start"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000, help="series in the table (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each way, interleaved (median reported)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster")
    parser.add_argument("--n-jobs", action="store_true", help="also time n_jobs=WORKERS process pools")
    parser.add_argument("--baseline-series", type=int, default=None, metavar="K",
                        help="time the 1-process way on the first K series only, scaled by series / K")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="also write the markdown block to this file")
    args = parser.parse_args(argv)
    import warnings

    warnings.simplefilter("ignore")   # the series' own warnings (short histories, grids) are not measured here
    frame = make_series(args.series, args.seed)
    lengths = frame.groupby("id").size()
    ways = {"1 process": {}, f"dask, {args.workers} workers": {"engine": "dask", "workers": args.workers}}
    if args.n_jobs:
        ways[f"n_jobs={args.workers}"] = {"n_jobs": args.workers}
    seconds = {name: [] for name in ways}
    loads = {name: [] for name in ways}   # the 1-minute load average after each run: other users' work shows here
    reference = None
    started = machine_line()
    few = args.baseline_series if args.baseline_series and args.baseline_series < args.series else None
    first = sorted(frame["id"].unique())[:few] if few else None
    for repeat in range(args.repeats):
        for name, how in ways.items():
            alone = few is not None and name == "1 process"
            took, result = timed(frame[frame["id"].isin(first)] if alone else frame, args.seed, **how)
            if alone:
                took *= args.series / few
            else:
                full = result
            if reference is None:
                reference = result
            else:   # the same paths, or no speed-up is reported (on the first K series with --baseline-series)
                ids = result["id"].isin(reference["id"].unique())
                pd.testing.assert_frame_equal(reference.reset_index(drop=True), result[ids].reset_index(drop=True))
            seconds[name].append(took)
            loads[name].append(os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))
            print(f"repeat {repeat + 1}/{args.repeats}, {name}: {took:.1f} s", file=sys.stderr, flush=True)
    chosen = pd.Series(full.attrs["models"]).value_counts()
    base = statistics.median(seconds["1 process"])
    lines = [f"### bench_engine_series: {args.series} series, model=\"auto\", 1 process vs a {args.workers}-worker "
             "local Dask cluster", "",
             f"- machine: {started}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}",
             f"- command: `python benchmarks/bench_engine_series.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             f"- series: {args.series} synthetic monthly series of {lengths.min()}-{lengths.max()} values "
             f"(median {int(lengths.median())}), {HORIZON} steps ahead, {PATHS} paths each; auto chose "
             + ", ".join(f"{model} {count}" for model, count in chosen.items()),
             f"- every run's table equal to the 1-process one (assert_frame_equal): yes; repeats: {args.repeats}"
             + (f"; the 1-process time is extrapolated from the first {few} series (x {args.series / few:g})"
                if few else ""),
             "", "| way | median seconds | runs (s) | load after each run | series / s | speed-up vs 1 process |",
             "|---|---:|---|---|---:|---:|"]
    for name, runs in seconds.items():
        median = statistics.median(runs)
        lines.append(f"| {name} | {median:.1f} | {', '.join(f'{s:.1f}' for s in runs)} | "
                     f"{', '.join(f'{x:.1f}' for x in loads[name])} | {args.series / median:.2f} | {base / median:.2f}x |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

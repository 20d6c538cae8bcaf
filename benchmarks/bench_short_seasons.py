"""Short seasonal series: is a season removed from two full seasons of history better than from three?

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/bench_short_seasons.py --out benchmarks/RESULTS.md

Two or three years of monthly data is the common business case. `plausible.forecasting`
removes a season from two full seasons of history (below three, a phase ANOVA must agree with
STL's strength; see `choose_transform`); before, it needed three. This script cuts `--windows`
random windows of 26, 30 and 34 months from each bundled monthly series with a season, forecasts
the next `--horizon` months with `pl.forecast`'s default ("auto"; on histories this short it is
`statespace`) under both rules, and reports the ratio of mean CRPS (current / three-season rule)
and the share of windows where the current rule scores lower. Same seeds, same windows, the
rule is the only difference (`forecasting.MIN_SEASONS`).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from plausible import forecasting, series_metrics
from bench_core import run_lines, write_section
from bench_forecast import load_series

SECTION_START = "<!-- short_seasons:start -->"
SECTION_END = "<!-- short_seasons:end -->"
SERIES = ("co2", "seasonal", "elnino")
LENGTHS = (26, 30, 34)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=20, help="random windows per series and length (20)")
    parser.add_argument("--horizon", type=int, default=6, help="months ahead (6)")
    parser.add_argument("--paths", type=int, default=200, help="sample paths per forecast (200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="rewrite the short_seasons section of this file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(args.seed)
    current = forecasting.MIN_SEASONS
    lines = ["| series | months of history | mean CRPS, current rule | mean CRPS, three-season rule | ratio | "
             "windows where current is better |", "|---|---:|---:|---:|---:|---:|"]
    try:
        for name in SERIES:
            values, season, _ = load_series(name)
            y = values.to_numpy(float)
            for length in LENGTHS:
                scores = {current: [], 3: []}
                for k in range(args.windows):
                    start = int(rng.integers(0, len(y) - length - args.horizon))
                    history, truth = y[start:start + length], y[start + length:start + length + args.horizon]
                    for rule in scores:
                        forecasting.MIN_SEASONS = rule
                        paths = forecasting.forecast_one(history, args.horizon, n_paths=args.paths, seed=k,
                                                         season=season).paths
                        scores[rule].append(series_metrics.crps(paths, truth))
                new, old = np.array(scores[current]), np.array(scores[3])
                lines.append(f"| {name} | {length} | {new.mean():.4g} | {old.mean():.4g} | "
                             f"{new.mean() / old.mean():.2f} | {np.mean(new < old):.0%} |")
                print(lines[-1], flush=True)
    finally:
        forecasting.MIN_SEASONS = current
    body = "\n".join([
        "## bench_short_seasons: seasons on two to three years of monthly history", "",
        *run_lines("bench_short_seasons.py", argv), "",
        f"{args.windows} random windows per series and length, forecast {args.horizon} months ahead with "
        f"`pl.forecast`'s default, {args.paths} paths; CRPS in the series' units. The current rule removes a "
        "season from two full seasons of history (a phase ANOVA must agree below three); the old one needed "
        "three, so these windows got no seasonal treatment. ratio < 1: the current rule is better.", "",
        *lines])
    if args.out:
        write_section(args.out, body, SECTION_START, SECTION_END)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

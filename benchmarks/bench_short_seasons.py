"""Short seasonal series: two experiments on windows of the bundled monthly series.

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/bench_short_seasons.py --out benchmarks/RESULTS.md
    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/bench_short_seasons.py --experiment draws --out benchmarks/RESULTS.md

Two or three years of monthly data is the common business case. Each experiment cuts
`--windows` random windows of each length from each bundled monthly series with a season,
forecasts the next `--horizon` months with `pl.forecast`'s default ("auto"; on histories this
short it is `statespace`) under the current code and under one switched-off change, and reports
the ratio of mean CRPS (current / without), the share of windows where the current code scores
lower, and the 95% interval coverage of both. Same seeds, same windows; the switch is the only
difference.

- `seasons` (26, 30, 34 months): a season is removed from two full seasons of history (below
  three, a phase ANOVA must agree with STL's strength; see `choose_transform`); before, it needed
  three (`transforms.MIN_SEASONS`).
- `draws` (26, 36, 60, 120 months): each path draws its own seasonal profile and trend line around
  the estimates, with their standard errors, instead of taking them as known
  (`transforms.PROFILE_UNCERTAINTY`, `transforms.TREND_UNCERTAINTY`).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from bench_core import run_lines, write_section
from bench_forecast import load_series

from plausible.evaluation import series_metrics
from plausible.tasks import forecast, transforms

EXPERIMENTS = {
    # name: (lengths, the module settings of the code without the change, section marker, title, what the change is)
    "seasons": ((26, 30, 34), {"MIN_SEASONS": 3}, "short_seasons",
                "seasons on two to three years of monthly history",
                "The current rule removes a season from two full seasons of history (a phase ANOVA must agree below "
                "three); the old one needed three, so these windows got no seasonal treatment."),
    "draws": ((26, 36, 60, 120), {"PROFILE_UNCERTAINTY": False, "TREND_UNCERTAINTY": False}, "parameter_draws",
              "each path draws its own seasonal profile and trend line",
              "The current code adds to each path its own draw of the removed seasonal profile (per phase, standard "
              "error sd / sqrt(values at that phase)) and of a removed line ((intercept, slope) from s^2 (X'X)^-1, "
              "widened for autocorrelation); without, both are taken as known."),
}
SERIES = ("co2", "seasonal", "elnino")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", choices=sorted(EXPERIMENTS), default="seasons",
                        help="which change to switch off (see the module docstring; default seasons)")
    parser.add_argument("--windows", type=int, default=20, help="random windows per series and length (20)")
    parser.add_argument("--horizon", type=int, default=6, help="months ahead (6)")
    parser.add_argument("--paths", type=int, default=200, help="sample paths per forecast (200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="rewrite the experiment's section of this file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    lengths, without, marker, title, change = EXPERIMENTS[args.experiment]
    current = {key: getattr(transforms, key) for key in without}
    rng = np.random.default_rng(args.seed)
    lines = ["| series | months of history | mean CRPS, current | mean CRPS, without | ratio | "
             "windows where current is better | 95% coverage, current | 95% coverage, without |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    try:
        for name in SERIES:
            values, season, _ = load_series(name)
            y = values.to_numpy(float)
            for length in lengths:
                scores = {"current": [], "without": []}
                covered = {"current": [], "without": []}
                for k in range(args.windows):
                    start = int(rng.integers(0, len(y) - length - args.horizon))
                    history, truth = y[start:start + length], y[start + length:start + length + args.horizon]
                    for arm, settings in (("current", current), ("without", without)):
                        for key, value in settings.items():
                            setattr(transforms, key, value)
                        paths = forecast.forecast_one(history, args.horizon, n_paths=args.paths, seed=k,
                                                         season=season).paths
                        scores[arm].append(series_metrics.crps(paths, truth))
                        covered[arm].append(series_metrics.coverage(paths, truth, 0.95))
                new, old = np.array(scores["current"]), np.array(scores["without"])
                lines.append(f"| {name} | {length} | {new.mean():.4g} | {old.mean():.4g} | "
                             f"{new.mean() / old.mean():.3f} | {np.mean(new < old):.0%} | "
                             f"{np.mean(covered['current']):.2f} | {np.mean(covered['without']):.2f} |")
                print(lines[-1], flush=True)
    finally:
        for key, value in current.items():
            setattr(transforms, key, value)
    body = "\n".join([
        f"## bench_short_seasons ({args.experiment}): {title}", "",
        *run_lines("bench_short_seasons.py", argv), "",
        f"{args.windows} random windows per series and length, forecast {args.horizon} months ahead with "
        f"`pl.forecast`'s default, {args.paths} paths; CRPS in the series' units. {change} ratio < 1: the "
        "current code is better.", "",
        *lines])
    if args.out:
        write_section(args.out, body, f"<!-- {marker}:start -->", f"<!-- {marker}:end -->")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

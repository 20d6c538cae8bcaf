"""How much better than the peers can any forecaster or imputer be? Ceilings for issue 5's targets.

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/bench_ceiling.py                 # both parts
    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/bench_ceiling.py --part forecast --reps 2 --quick
    .venv-bench/bin/python benchmarks/bench_ceiling.py --report-only                      # re-render RESULTS.md

Issue 5 asks for forecasts with a CRPS 15% below the best of ARIMA, ETS and AutoARIMA, and for
imputations with an nRMSE 10% below IterativeImputer's. Both scores are proper: no method beats,
in expectation, the prediction made with the true distribution of the data (the *oracle*). On
real data the truth is unknown, so this benchmark builds data whose truth is known and close to
the real data, and measures how far below the peers the oracle itself lies: the most any method
could gain there.

**Forecasts.** Each bundled series is continued by the ARIMA that the `arima` peer of
bench_forecast.py selects on all of it (orders by AIC, differences by plausible's tests):
`simulate(anchor="end")` draws `ORIGINS x horizon` new steps after the real ones, `--reps` times.
The backtest origins (the last `ORIGINS`, one every horizon, exactly as bench_forecast.py) all
fall in the simulated part, whose true predictive distribution is that ARIMA with its true
parameters given the history (`oracle`: `ARIMA(...).filter(true_params).simulate(anchor="end")`).
The peers and plausible re-estimate everything from the history, as they do on real data. So the
peers' ARIMA is the right model class here: the benchmark shows the ceiling when the peer is well
specified, which the classic series roughly are.

**Imputation.** Each bundled numeric table is replaced by Gaussian rows with its mean and
covariance (same rows and columns), cells hidden completely at random (20% and 50%,
`plausible.imputation.hide_cells`). The oracle draws each row's hidden cells from the exact
conditional Gaussian of the true parameters. IterativeImputer(BayesianRidge, sample_posterior)
and `pl.impute(model="auto")` as in bench_imputation.py, M = 20 draws, scored by
`pl.evaluate_imputation` (nRMSE of the mean draw).

Records go to benchmarks/ceiling_results.json; the section between `<!-- ceiling:start -->` and
`<!-- ceiling:end -->` of RESULTS.md is re-rendered from them.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_forecast as bf  # noqa: E402

import plausible as pl  # noqa: E402

RESULTS_JSON = HERE / "ceiling_results.json"
RESULTS_MD = HERE / "RESULTS.md"
START, END = "<!-- ceiling:start -->", "<!-- ceiling:end -->"
FORECASTERS = ["oracle", "arima", "ets", "autoarima", "plausible:auto"]
PEERS = ["arima", "ets", "autoarima"]
TABLES = ["wine", "diabetes", "breast_cancer"]
IMPUTERS = ["oracle", "iterative_imputer", "plausible:auto"]
DRAWS = 20


# ---------------------------------------------------------------------- forecasts
def continued(series: pd.Series, truth, steps: int, rep: int) -> pd.Series:
    """The real series followed by `steps` values simulated from `truth` after its end."""
    values = np.asarray(truth.simulate(nsimulations=steps, repetitions=1, anchor="end",
                                       rng=np.random.default_rng(1000 + rep)), dtype=float).ravel()
    index = series.index
    if isinstance(index, pd.DatetimeIndex):
        extra = pd.date_range(index[-1], periods=steps + 1, freq=index.freq)[1:]
    else:
        extra = pd.RangeIndex(len(index), len(index) + steps)
    return pd.concat([series, pd.Series(values, index=extra)])


def oracle_peer(truth):
    """Forecasts with the generating ARIMA itself: its specification and its true parameters."""
    from statsmodels.tsa.arima.model import ARIMA

    spec = truth.model._spec_arima

    def oracle(history, horizon, n_paths, seed):
        with warnings.catch_warnings():
            bf._quiet()
            model = ARIMA(history, order=spec.order, seasonal_order=spec.seasonal_order, trend=truth.model.trend)
            return bf.simulate(model.filter(truth.params), horizon, n_paths, seed)
    return oracle


def run_forecast(name: str, contender: str, rep: int, n_paths: int) -> dict:
    series, season, horizon = bf.load_series(name)
    truth = bf.fit_arima(series, season)
    data = continued(series, truth, bf.ORIGINS * horizon, rep)
    if contender == "oracle":
        options = {"model": oracle_peer(truth)}
    elif contender.startswith("plausible:"):
        options = bf.contender_options(contender)
    else:
        options = {"model": {"arima": bf.arima_peer, "ets": bf.ets_peer, "autoarima": bf.autoarima_peer}[contender](
            season)}
    start = time.perf_counter()
    result = pl.backtest(data, horizon=horizon, origins=bf.ORIGINS, n_paths=n_paths, seed=rep, progress=False,
                         **options)
    spec = truth.model._spec_arima
    return {"part": "forecast", "series": name, "contender": contender, "rep": rep, "horizon": horizon,
            "truth": f"ARIMA{spec.order}x{spec.seasonal_order} trend={truth.model.trend!r}",
            "crps": float(result["crps"]), "coverage_95": float(result["coverage_95"]),
            "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------------- imputation
def gaussian_table(name: str, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    from bench_imputation import load_table

    real = load_table(name)
    mean, cov = real.mean().to_numpy(), np.cov(real.to_numpy(float), rowvar=False)
    rows = np.random.default_rng(seed).multivariate_normal(mean, cov, size=len(real))
    return pd.DataFrame(rows, columns=real.columns), mean, cov


def oracle_draws(masked: pd.DataFrame, mean: np.ndarray, cov: np.ndarray, seed: int) -> list:
    """DRAWS completions, each hidden block drawn from N(mu_h + S_ho S_oo^-1 (x_o - mu_o), S_hh - S_ho S_oo^-1 S_oh)."""
    values = masked.to_numpy(float)
    rng = np.random.default_rng(seed)
    out = np.repeat(values[None], DRAWS, axis=0)
    for row in range(len(values)):
        hidden = np.isnan(values[row])
        if not hidden.any():
            continue
        seen = ~hidden
        gain = np.linalg.solve(cov[np.ix_(seen, seen)], cov[np.ix_(seen, hidden)]).T if seen.any() else \
            np.zeros((hidden.sum(), 0))
        centre = mean[hidden] + gain @ (values[row, seen] - mean[seen])
        spread = cov[np.ix_(hidden, hidden)] - gain @ cov[np.ix_(seen, hidden)]
        out[:, row, hidden] = rng.multivariate_normal(centre, spread, size=DRAWS)
    return [pd.DataFrame(block, columns=masked.columns) for block in out]


def run_imputation(name: str, contender: str, share: float, seed: int) -> dict:
    from bench_imputation import run_peer

    from plausible.evaluation.imputation import hide_cells

    complete, mean, cov = gaussian_table(name, seed)
    masked = hide_cells(complete, share, seed=seed)
    start = time.perf_counter()
    if contender == "oracle":
        draws = oracle_draws(masked, mean, cov, seed)
    elif contender == "plausible:auto":
        draws = pl.impute(masked, n_draws=DRAWS, model="auto", seed=seed)
    else:
        draws = run_peer(contender, masked, DRAWS, seed)
    seconds = time.perf_counter() - start
    scores = pl.evaluate_imputation(complete, masked, draws)
    return {"part": "imputation", "table": name, "contender": contender, "share": share, "seed": seed,
            "nrmse": float(scores["nrmse"]), "coverage_90": float(scores["coverage_90"]), "seconds": seconds}


# ---------------------------------------------------------------------- report
def render(records: dict) -> str:
    rows = [r for r in records.values() if "error" not in r]
    lines = [START, "## bench_ceiling: how far below the peers can any method go? (issue 5's targets)", "",
             "CRPS and nRMSE are proper scores: in expectation nothing beats predicting with the true "
             "distribution (the *oracle*). `benchmarks/bench_ceiling.py` builds data whose truth is known and "
             "close to the real data, and measures the oracle beside the peers: the ratio oracle / best peer is "
             "the most any method could gain there. See the script's docstring for the construction.", ""]
    fc = pd.DataFrame([r for r in rows if r["part"] == "forecast"])
    if len(fc):
        lines += ["**Forecasts.** Each bundled series continued by the ARIMA the `arima` peer fits to it, "
                  f"{bf.ORIGINS} origins x horizon simulated steps per continuation; mean CRPS over "
                  "continuations; ratio = contender / best of the peers (arima, ets, autoarima) on the same "
                  "continuations. 95% coverage in brackets.", "",
                  "| series | truth | continuations | " + " | ".join(FORECASTERS) + " | oracle / arima | "
                  "oracle / best peer | plausible:auto / best peer |", "|" + "---|" * (len(FORECASTERS) + 6)]
        ratios = {"oracle": [], "plausible:auto": []}
        to_arima = []
        for name in [s for s in bf.SERIES if s in set(fc["series"])]:
            part = fc[fc["series"] == name]
            present = [p for p in PEERS if p in set(part["contender"])]
            peer_reps = set.intersection(*(set(part[part["contender"] == p]["rep"]) for p in present)) \
                if present else set()
            mean = part[part["rep"].isin(peer_reps)].groupby("contender")[["crps", "coverage_95"]].mean()
            cells = [f"{mean.loc[c, 'crps']:.4g} ({mean.loc[c, 'coverage_95']:.2f})" if c in mean.index else ""
                     for c in FORECASTERS]
            row_ratios = []
            if {"oracle", "arima"} <= set(mean.index):
                to_arima.append(mean.loc["oracle", "crps"] / mean.loc["arima", "crps"])
                row_ratios.append(f"{to_arima[-1]:.3f}")
            else:
                row_ratios.append("")
            for c in ratios:            # on the continuations both the contender and every peer ran on
                reps = peer_reps & set(part[part["contender"] == c]["rep"])
                if not reps:
                    row_ratios.append("")
                    continue
                on = part[part["rep"].isin(reps)].groupby("contender")["crps"].mean()
                ratio = on[c] / min(on[p] for p in present)
                ratios[c].append(ratio)
                row_ratios.append(f"{ratio:.3f}" + ("" if reps == peer_reps else f" ({len(reps)} cont.)"))
            lines.append(f"| {name} | {part['truth'].iloc[0]} | {len(peer_reps)} | " + " | ".join(cells) + " | "
                         + " | ".join(row_ratios) + " |")
        beaten = sum(r > 1 for r in ratios["oracle"])
        lines += ["", f"Means over series: oracle / arima {np.mean(to_arima):.3f}, oracle / best peer "
                  f"{np.mean(ratios['oracle']):.3f}"
                  + (f", plausible:auto / best peer {np.mean(ratios['plausible:auto']):.3f}"
                     if ratios["plausible:auto"] else "")
                  + f". A peer beat the oracle on {beaten} of {len(ratios['oracle'])} series: the best of three "
                  "peers is biased low, a few continuations leave a few percent of noise, and where the fitted "
                  "truth sits on the edge of its parameter space (a unit AR root, a seasonal MA of -1, as on "
                  "`seasonal`) filtering with the true parameters is not quite the exact predictive "
                  "distribution. So these ratios are indicative, not a tight bound, but the picture is clear: "
                  "where a series follows the peers' own model class, the best possible forecaster is within a "
                  "few percent of them, not 15% (issue 5's 0.85). Ours is further behind on such series than "
                  "on the real ones (bench_forecast), worst on `seasonal`'s continuations (a wandering level under "
                  "a fixed season, where ETS is best); a 15% gain on real series can only come from where the "
                  "peers' models are wrong, as on sunspots.", ""]
    im = pd.DataFrame([r for r in rows if r["part"] == "imputation"])
    if len(im):
        lines += ["**Imputation.** Gaussian tables with each bundled table's mean and covariance; medians over "
                  "masks of nRMSE (90% coverage in brackets); ratio = contender / IterativeImputer on the same "
                  "masks (median of per-mask ratios).", "",
                  "| table | hidden | masks | " + " | ".join(IMPUTERS) + " | oracle / IterativeImputer | "
                  "plausible:auto / IterativeImputer |", "|" + "---|" * (len(IMPUTERS) + 5)]
        for name in [t for t in TABLES if t in set(im["table"])]:
            for share in sorted(set(im[im["table"] == name]["share"])):
                part = im[(im["table"] == name) & (im["share"] == share)]
                peer = part[part["contender"] == "iterative_imputer"].set_index("seed")["nrmse"]
                cells, row_ratios = [], []
                for c in IMPUTERS:
                    mine = part[part["contender"] == c].set_index("seed")
                    cells.append(f"{mine['nrmse'].median():.3f} ({mine['coverage_90'].median():.2f})"
                                 if len(mine) else "")
                for c in ("oracle", "plausible:auto"):
                    mine = part[part["contender"] == c].set_index("seed")["nrmse"]
                    both = mine.index.intersection(peer.index)
                    row_ratios.append(f"{(mine[both] / peer[both]).median():.3f}" if len(both) else "")
                lines.append(f"| {name} | {share:.0%} | {part['seed'].nunique()} | " + " | ".join(cells) + " | "
                             + " | ".join(row_ratios) + " |")
        oracle = [float(x) for x in im[im["contender"] == "oracle"].merge(
            im[im["contender"] == "iterative_imputer"], on=["table", "share", "seed"]).eval("nrmse_x / nrmse_y")]
        lines += ["", f"Issue 5 asks for 0.90 on the real tables. On Gaussian data the oracle's mean draw is "
                  f"{min(oracle):.2f}-{max(oracle):.2f} of IterativeImputer's nRMSE over these masks (its chained "
                  "linear regressions are the right model class for Gaussian data; only the estimation error "
                  "of a few hundred rows separates them), so the target can only be met where the real tables "
                  "are far from Gaussian in ways a model can learn from a few hundred rows.", ""]
    dates = sorted(r["date"] for r in rows)
    if dates:
        env = rows[-1]["environment"]
        lines.append(f"Measured {dates[0][:16]} to {dates[-1][:16]} UTC, OMP_NUM_THREADS={env['threads']}, "
                     + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + ".")
    lines.append(END)
    return "\n".join(lines)


def write_section(markdown: str, path: Path) -> None:
    from plausible.data.io import write_text

    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    text = pattern.sub(lambda _: markdown, text) if pattern.search(text) else text.rstrip() + "\n\n" + markdown + "\n"
    write_text(text, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["forecast", "imputation", "both"], default="both")
    parser.add_argument("--series", default=",".join(bf.SERIES))
    parser.add_argument("--forecasters", default=",".join(FORECASTERS))
    parser.add_argument("--reps", type=int, default=5, help="continuations per series (forecasts)")
    parser.add_argument("--paths", type=int, default=bf.SAMPLE_PATHS)
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--imputers", default=",".join(IMPUTERS))
    parser.add_argument("--shares", default="0.2,0.5")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="masks (and Gaussian tables) per table and share")
    parser.add_argument("--quick", action="store_true", help="print only; nothing written")
    parser.add_argument("--results", default=str(RESULTS_JSON))
    parser.add_argument("--out", default=str(RESULTS_MD))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.imputers.split(",")) - set(IMPUTERS))
    if unknown:   # it would otherwise run as IterativeImputer under its own label
        parser.error(f"--imputers: unknown {', '.join(unknown)}; choose from {', '.join(IMPUTERS)}")
    results = Path(args.results)
    if not args.report_only:
        env = bf.environment()
        jobs = []
        if args.part in ("forecast", "both"):
            jobs += [(f"forecast/{s}/{c}/{r}", run_forecast, (s, c, r, args.paths))
                     for c in args.forecasters.split(",") for s in args.series.split(",") for r in range(args.reps)]
        if args.part in ("imputation", "both"):
            jobs += [(f"imputation/{t}/{share}/{c}/{seed}", run_imputation, (t, c, float(share), int(seed)))
                     for t in args.tables.split(",") for share in args.shares.split(",")
                     for seed in args.seeds.split(",") for c in args.imputers.split(",")]
        for key, run, job_args in jobs:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    record = run(*job_args)
            except Exception as error:  # noqa: BLE001 - one failure is one row, not the run
                record = {"error": f"{type(error).__name__}: {error}"}
            record.update(environment=env, date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes"))
            print(key, json.dumps({k: v for k, v in record.items() if k != "environment"}, default=str), flush=True)
            if not args.quick:
                records = bf.load_records(results)
                records[key] = record
                from plausible.data.io import write_text
                write_text(json.dumps(records, indent=1, default=float), results)
    if not args.quick:
        write_section(render(bf.load_records(results)), Path(args.out))
        print(f"wrote {args.out} (section {START})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

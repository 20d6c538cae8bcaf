"""Wide, tall and gappy tables: this checkout beside earlier commits and a peer, in one run.

    OMP_NUM_THREADS=1 python benchmarks/bench_scale.py --baselines 77698be,d5d36a3 --out benchmarks/RESULTS.md
    python benchmarks/bench_scale.py --quick                     # a smoke run of every scenario, ~1 minute

A probe of shapes the other benchmarks never reach (hundreds of columns, a million rows, a gap in
every row, thousands of series) found fits that took minutes and a `time_budget` that overran by
an epoch. This script reruns those shapes so that the fixes are measured rather than quoted:

- each scenario runs in a fresh process, once for this checkout and once for each `--baselines`
  commit (checked out with `git worktree` into a temporary folder and put first on PYTHONPATH, so
  the same script times the old code), and once for each peer (which does not depend on the commit);
- a run longer than `--timeout` seconds is stopped and reported as "> timeout";
- every time is the median of `--repeats` runs, except that a cell whose first run took over
  SLOW_SECONDS seconds is run once;
- a quality number beside each time shows that the faster code computes the same thing (or better).

Scenarios (all data generated here with fixed seeds, or bundled with scikit-learn):
- `wide_fit`: `gaussian` fitted on 50 rows x 300 columns from a 10-factor normal; quality = mean
  log-likelihood of 2,000 fresh rows (nats per row; the true density's is printed beside it).
  Peer: scikit-learn's `LedoitWolf` covariance (`score` is the same mean log-likelihood).
- `wider_fit`: the same with 200 rows x 1,000 columns and 500 fresh rows.
- `wide_fit_units`: `wide_fit` with each column in its own unit (multiplied by e^u, u uniform on
  [-3, 3]), as the columns of a real table are. LedoitWolf shrinks towards one common variance,
  which suits the columns of `wide_fit` (all of about the same spread) and not these; `gaussian`
  standardizes each column first, so its fit does not depend on the units.
- `gappy_impute`: 1,000 rows x 150 columns from a 5-factor normal with 20% of cells hidden at
  random; `pl.impute(n_draws=5, model="gaussian")`; quality = nRMSE of the mean draw on the hidden
  cells (`plausible.evaluate_imputation`). Peer: IterativeImputer(BayesianRidge,
  sample_posterior=True), 5 draws, as in bench_imputation.
- `breast_cancer_impute`: the same on scikit-learn's breast_cancer (569 x 30), 50% hidden, 20 draws.
- `auto_impute`: `pl.impute(n_draws=20)` as a user calls it (model and uncertainty "auto": gmm with
  one bootstrap refit per draw) on scikit-learn's diabetes (442 x 10), 50% hidden; the same peer.
- `histogram_impute`: `histogram` fitted on 100,000 rows of the generated mixed table, then 20,000
  other rows imputed with three gap patterns (income; segment and region; spend); the impute call
  is timed. No peer: nothing else draws from a 10-column joint histogram.
- `time_budget`: `vae` and `gan` with `time_budget=5` on 1,000,000 rows of the mixed table; the
  whole fit is timed (encoding included); the budget is the yardstick.
- `forecast_jobs`: `pl.forecast` of 6 monthly series of 10 years (trend, season, noise), model
  "auto", 200 paths, on one process and with `n_jobs=2` (commits without `n_jobs` say so).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTION = ("<!-- bench_scale:start -->", "<!-- bench_scale:end -->")
SLOW_SECONDS = 60.0
QUICK = os.environ.get("BENCH_SCALE_QUICK") == "1"   # --quick: every scenario on small sizes
CONTENDERS = {   # scenario -> [(contender, whether it runs plausible, and so once per commit)]
    "wide_fit": [("gaussian", True), ("sklearn LedoitWolf", False)],
    "wider_fit": [("gaussian", True), ("sklearn LedoitWolf", False)],
    "wide_fit_units": [("gaussian", True), ("sklearn LedoitWolf", False)],
    "gappy_impute": [("gaussian", True), ("IterativeImputer", False)],
    "breast_cancer_impute": [("gaussian", True), ("IterativeImputer", False)],
    "auto_impute": [("auto", True), ("IterativeImputer", False)],
    "histogram_impute": [("histogram", True)],
    "time_budget": [("vae", True), ("gan", True)],
    "forecast_jobs": [("auto, n_jobs=1", True), ("auto, n_jobs=2", True)],
}


# ---------------------------------------------------------------------- data (the same for every commit)
def factor_table(rows: int, columns: int, factors: int, seed: int):
    """Rows of a factor-model normal (loadings N(0, 1), unit noise) and its covariance."""
    import numpy as np

    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(factors, columns))
    covariance = loadings.T @ loadings + np.eye(columns)
    return rng.normal(size=(rows, factors)) @ loadings + rng.normal(size=(rows, columns)), covariance


def frame(x):
    import pandas as pd

    return pd.DataFrame(x, columns=[f"x{j}" for j in range(x.shape[1])])


def hide(x, share: float, seed: int):
    import numpy as np

    masked = x.copy()
    masked[np.random.default_rng(seed).random(x.shape) < share] = np.nan
    return masked


def monthly_series():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frames = []
    for s in range(6):
        t = np.arange(120)
        value = (100 + s * 10 + (0.2 + 0.05 * s) * t + (5 + s) * np.sin(2 * np.pi * (t + s) / 12)
                 + np.cumsum(rng.normal(0, 1, 120)) + rng.normal(0, 2, 120))
        frames.append(pd.DataFrame({"id": f"s{s}", "time": pd.date_range("2010-01-01", periods=120, freq="MS"),
                                    "value": value}))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------- one timed run (in a worker process)
def run_once(scenario: str, contender: str) -> dict:
    """Seconds and quality of one run; only the work being compared is timed."""
    import numpy as np

    warnings.filterwarnings("ignore")
    if scenario in ("wide_fit", "wider_fit", "wide_fit_units"):
        from scipy.stats import multivariate_normal

        rows, columns, fresh = (200, 1000, 500) if scenario == "wider_fit" else (50, 300, 2000)
        rows, columns = (rows, columns) if not QUICK else (rows // 2, columns // 4)
        x, covariance = factor_table(rows + fresh, columns, 10, seed=1)
        if scenario == "wide_fit_units":             # each column in its own unit, e^-3 to e^3
            units = np.exp(np.random.default_rng(5).uniform(-3, 3, columns))
            x, covariance = x * units, covariance * np.outer(units, units)
        train, test = x[:rows], x[rows:]
        truth = float(multivariate_normal(np.zeros(columns), covariance).logpdf(test).mean())
        if contender == "gaussian":
            import plausible as pl

            pl.make("gaussian", seed=0).fit(frame(train[:6, :10]))     # imports and first calls: untimed
            start = time.perf_counter()
            model = pl.make("gaussian", seed=0).fit(frame(train))
            seconds = time.perf_counter() - start
            score = float(np.mean(model.log_prob(frame(test))))
        else:
            from sklearn.covariance import LedoitWolf

            LedoitWolf().fit(train[:6, :10])
            start = time.perf_counter()
            model = LedoitWolf().fit(train)
            seconds = time.perf_counter() - start
            score = float(model.score(test))
        return {"seconds": seconds, "quality": score, "quality_name": "log-lik / row", "truth": truth}
    if scenario in ("gappy_impute", "breast_cancer_impute", "auto_impute"):
        if scenario == "gappy_impute":
            x, _ = factor_table(300 if QUICK else 1000, 40 if QUICK else 150, 5, seed=2)
            share, draws = 0.2, 5
        elif scenario == "breast_cancer_impute":
            from sklearn.datasets import load_breast_cancer

            x = load_breast_cancer().data
            share, draws = 0.5, 20
        else:
            from sklearn.datasets import load_diabetes

            x = load_diabetes().data
            share, draws = 0.5, 5 if QUICK else 20
        masked = hide(x, share, seed=3)
        if contender in ("gaussian", "auto"):
            import plausible as pl

            def impute(table, count):
                return [d.to_numpy(float) for d in pl.impute(frame(table), n_draws=count, model=contender, seed=0)]
        else:
            import importlib

            importlib.import_module("sklearn.experimental.enable_iterative_imputer")
            from sklearn.impute import IterativeImputer
            from sklearn.linear_model import BayesianRidge

            def impute(table, count):
                return [IterativeImputer(estimator=BayesianRidge(), sample_posterior=True, random_state=m)
                        .fit_transform(table) for m in range(count)]
        impute(masked[:40, :4], 2)                                    # imports and first calls: untimed
        start = time.perf_counter()
        completed = impute(masked, draws)
        seconds = time.perf_counter() - start
        from plausible import evaluate_imputation

        score = evaluate_imputation(frame(x), frame(masked), [frame(c) for c in completed])["nrmse"]
        return {"seconds": seconds, "quality": float(score), "quality_name": "nRMSE"}
    if scenario == "histogram_impute":
        from bench_core import mixed_table

        import plausible as pl

        rows = 12_000 if QUICK else 120_000
        table = mixed_table(rows, seed=0)
        train, rest = table.iloc[:rows * 5 // 6], table.iloc[rows * 5 // 6:].reset_index(drop=True)
        masked = rest.copy()
        third = len(rest) // 3
        masked.loc[masked.index < third, "income"] = np.nan
        masked.loc[(masked.index >= third) & (masked.index < 2 * third), ["segment", "region"]] = None
        masked.loc[masked.index >= 2 * third, "spend"] = np.nan
        model = pl.make("histogram", seed=0).fit(train)
        start = time.perf_counter()
        filled = model.impute(masked, n_draws=1, seed=0)[0]
        seconds = time.perf_counter() - start
        agree = float((filled["segment"].iloc[third:2 * third].to_numpy() == rest["segment"].iloc[third:2 * third].to_numpy()).mean())
        return {"seconds": seconds, "quality": agree, "quality_name": "segment accuracy (1 draw)"}
    if scenario == "time_budget":
        from bench_core import mixed_table

        import plausible as pl

        table = mixed_table(50_000 if QUICK else 1_000_000, seed=0)
        budget = 2.0 if QUICK else 5.0
        start = time.perf_counter()
        pl.make(contender, seed=0, time_budget=budget).fit(table)
        return {"seconds": time.perf_counter() - start, "quality": budget, "quality_name": "budget (s)"}
    if scenario == "forecast_jobs":
        import plausible as pl

        series = monthly_series()
        jobs = int(contender.rsplit("=", 1)[1])
        options = {} if jobs == 1 else {"n_jobs": jobs}
        start = time.perf_counter()
        try:
            paths = pl.forecast(series, horizon=12, n_paths=200, seed=0, progress=False, **options)
        except TypeError as error:
            return {"error": f"not in this version ({error})"}
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "quality": float(paths["value"].mean()), "quality_name": "mean of all paths"}
    raise ValueError(f"unknown scenario {scenario!r}")


def worker(scenario: str, contender: str) -> int:
    sys.path.insert(0, str(HERE))
    expected = os.environ.get("BENCH_SCALE_SRC")
    if expected:
        import plausible

        if not Path(plausible.__file__).resolve().is_relative_to(Path(expected).resolve()):
            print(json.dumps({"error": f"imported {plausible.__file__}, not the commit's {expected}"}))
            return 0
    try:
        print(json.dumps(run_once(scenario, contender)))
    except Exception as error:   # a commit that cannot run the scenario: say so in the table
        print(json.dumps({"error": f"{type(error).__name__}: {error}"[:200]}))
    return 0


# ---------------------------------------------------------------------- the driver
def checkout(revision: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(into), revision],
                   check=True, capture_output=True)
    return into / "src"


def subject(revision: str) -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %ad %s", "--date=short", revision],
                         capture_output=True, text=True, check=True).stdout.strip()
    return out if len(out) <= 110 else out[:107] + "..."


def measure(scenario: str, contender: str, src: Path, repeats: int, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), BENCH_SCALE_SRC=str(src),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), BENCH_SCALE_QUICK="1" if QUICK else "0")
    runs, last = [], {}
    for _ in range(repeats):
        try:
            done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", scenario, contender],
                                  env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"timeout": timeout}
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        last = json.loads(lines[-1]) if lines else {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:200]}
        if "error" in last:
            return last
        runs.append(last["seconds"])
        if last["seconds"] > SLOW_SECONDS:
            break
    return {**last, "seconds": statistics.median(runs), "runs": len(runs)}


def cell(record: dict) -> str:
    if "timeout" in record:
        return f"> {record['timeout']:.0f}"
    if "error" in record:
        return "—"
    return f"{record['seconds']:.3g}"


def render(records: list[dict], versions: list[tuple[str, str]], commands: list[dict]) -> str:
    from bench_core import run_lines

    earlier = [f"- earlier command ({c['date']}; its records of {', '.join(sorted(set(c['scenarios']) - set(commands[-1]['scenarios'])))} are kept): "
               f"`python benchmarks/bench_scale.py {' '.join(c['argv'])}`" for c in commands[:-1]]
    lines = ["## bench_scale: wide, tall and gappy tables beside earlier commits and a peer", "",
             *run_lines("bench_scale.py", commands[-1]["argv"]), *earlier, "",
             "Each scenario in a fresh process, once per commit (the old code checked out with `git worktree`) "
             "and once per peer; seconds are medians of the runs shown (a cell whose first run took over "
             f"{SLOW_SECONDS:.0f} s runs once); \"> T\" = stopped at the timeout; ratio = the cell's seconds "
             "over this checkout's. See the script's docstring for each scenario. Commits:", ""]
    lines += [f"- `{label}`: {text}" for label, text in versions]
    lines += ["", "| scenario | contender | version | seconds | runs | ratio to this checkout | quality | |",
              "|---|---|---|---|---|---|---|---|"]
    current = {(r["scenario"], r["contender"]): r for r in records if r["version"] == "this checkout"}
    for r in records:
        base = current.get((r["scenario"], r["contender"]))
        if r["version"] == "peer":
            base = next((c for (s, _), c in current.items() if s == r["scenario"]), None)
        ratio = ""
        if base and "seconds" in base and ("seconds" in r or "timeout" in r):
            ratio = f"{(r['seconds'] if 'seconds' in r else r['timeout']) / base['seconds']:.3g}"
            ratio = ("> " if "timeout" in r else "") + ratio
        quality = "" if "quality" not in r else f"{r['quality_name']} {r['quality']:.4g}"
        if "truth" in r:
            quality += f" (true density {r['truth']:.4g})"
        note = r.get("error", "")
        lines.append(f"| {r['scenario']} | {r['contender']} | {r['version']} | {cell(r)} | {r.get('runs', '')} | "
                     f"{ratio} | {quality} | {note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker(argv[1], argv[2])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(CONTENDERS), help="comma-separated (default: all)")
    parser.add_argument("--baselines", default="", help="comma-separated git commits to time beside this checkout")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell, median reported (3)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is stopped (300)")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each, 120 s timeout, "
                        "no baselines: a smoke run")
    parser.add_argument("--results", type=Path, default=None, help="write the records as JSON here; records of "
                        "scenarios not run this time are kept from the file, so a rerun of some scenarios updates those")
    parser.add_argument("--out", type=Path, default=None, help="rewrite this file's bench_scale section")
    parser.add_argument("--render", action="store_true", help="run nothing: rewrite --out's section from the "
                        "records in --results")
    args = parser.parse_args(argv)
    if args.render:
        if not (args.results and args.out and args.results.exists()):
            parser.error("--render needs an existing --results file and --out")
        saved = json.loads(args.results.read_text())
        from bench_core import write_section

        write_section(args.out, render(saved["records"], [tuple(v) for v in saved["versions"]], saved["commands"]),
                      *SECTION)
        print(f"wrote {args.out}")
        return 0
    if args.quick:
        global QUICK
        QUICK, args.repeats, args.timeout, args.baselines = True, 1, 120.0, ""
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = sorted(set(scenarios) - set(CONTENDERS))
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose from {sorted(CONTENDERS)}")
    records = []
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as scratch:
        sources = [("this checkout", ROOT / "src")]
        versions = [("this checkout", subject("HEAD") + (" (plus uncommitted changes to src/)" if subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--", "src"], capture_output=True,
            text=True).stdout.strip() else ""))]
        try:
            for revision in [r for r in args.baselines.split(",") if r]:
                sources.append((revision, checkout(revision, Path(scratch) / revision)))
                versions.append((revision, subject(revision)))
            for scenario in scenarios:
                for contender, ours in CONTENDERS[scenario]:
                    for version, src in (sources if ours else [("peer", ROOT / "src")]):
                        print(f"{scenario} / {contender} / {version} ...", file=sys.stderr, flush=True)
                        record = {"scenario": scenario, "contender": contender, "version": version,
                                  **measure(scenario, contender, src, args.repeats, args.timeout)}
                        records.append(record)
                        print(json.dumps(record), flush=True)
        finally:
            for version, _ in sources[1:]:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(Path(scratch) / version)],
                               capture_output=True)
    import datetime as dt

    commands = [{"argv": argv, "scenarios": scenarios, "date": dt.datetime.now().astimezone().isoformat(timespec="minutes")}]
    if args.results and args.results.exists():    # keep the other scenarios' records of an earlier run
        earlier = json.loads(args.results.read_text())
        records = [r for r in earlier["records"] if r["scenario"] not in scenarios] + records
        known = dict(map(tuple, earlier["versions"]))
        for label, text in versions:     # the same label at another commit: say which run had which
            known[label] = text if known.get(label, text) == text else f"{text}; for {', '.join(scenarios)} " \
                f"only (the other scenarios ran at {known[label]})"
        versions = list(known.items())
        before = earlier.get("commands") or [{   # a file written before commands were recorded
            "argv": earlier.get("argv", []), "scenarios": sorted({r["scenario"] for r in earlier["records"]}),
            "date": dt.datetime.fromtimestamp(args.results.stat().st_mtime).astimezone().isoformat(timespec="minutes")}]
        commands = [c for c in before if set(c["scenarios"]) - set(scenarios)] + commands
        order = list(CONTENDERS)
        records.sort(key=lambda r: order.index(r["scenario"]) if r["scenario"] in order else len(order))
    body = render(records, versions, commands)
    print(body)
    if args.results:
        args.results.write_text(json.dumps({"records": records, "versions": versions, "commands": commands}, indent=1))
    if args.out:
        sys.path.insert(0, str(HERE))
        from bench_core import write_section

        write_section(args.out, body, *SECTION)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

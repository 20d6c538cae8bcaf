"""Speed and quality of every registered model beside scikit-learn and SDV (issue 2).

    python benchmarks/bench_core.py                       # the full run (100,000-row table, 3 repeats)
    python benchmarks/bench_core.py --quick               # a smoke run in about a minute
    python benchmarks/bench_core.py --models copula,sdv_gaussian_copula --rows 20000
    python benchmarks/bench_core.py --out benchmarks/RESULTS.md

For each dataset and model: fit time and sampling speed (median of `--repeats` runs, each on a
fresh model), and the marginal and pairwise fidelity of `plausible.metrics` between held-out real
rows and as many synthetic rows. Peers measured in the same process:

    sklearn_gmm            sklearn.mixture.GaussianMixture on the numeric columns only (rows with a
                           missing cell dropped for fitting); its fidelity is on those columns only.
    sdv_gaussian_copula    sdv.single_table.GaussianCopulaSynthesizer, default settings, metadata from
                           Metadata.detect_from_dataframe (SDV 1.x) or detect_from_dataframes with one
                           table (SDV 2.x). Skipped, with the reason, if SDV is absent.

A model that fails is reported with its error in the table, never dropped. Progress goes to stderr,
the tables to stdout and, with `--out`, into a marked section of that file (the rest is kept).
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import signal
import statistics
import sys
import time
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import plausible as pl

PEERS = ("sklearn_gmm", "sdv_gaussian_copula")
SECTION_START = "<!-- bench_core:start -->"
SECTION_END = "<!-- bench_core:end -->"
TARGET_SPEEDUP = 5.0


# ---------------------------------------------------------------------- the generated table
REGIONS = [f"region_{i:02d}" for i in range(30)]
SEGMENTS = ["student", "young_professional", "family", "senior", "business"]
CHANNELS = ["web", "store", "phone"]


def mixed_table(n: int, seed: int = 0) -> pd.DataFrame:
    """A customer table with the awkward shapes of real data and real dependencies between columns.

    age (integer 18–90) drives segment, income and signup date; segment drives income, visits and
    channel; membership depends on visits and segment; spend is ~60% exact zeros (a point mass)
    and lognormal otherwise, scaled by income and membership; discount is clipped to [0, 0.5] with
    point masses at both bounds; region has 30 levels of Zipf-like frequency and shifts income.
    income and segment each have ~5% missing cells (income more often missing for seniors).
    """
    rng = np.random.default_rng(seed)
    age = np.clip(np.round(rng.gamma(6.0, 7.0, n) + 12), 18, 90).astype(np.int64)

    # segment | age: a softmax over segments whose scores move with age
    a = (age - 45) / 15
    scores = np.stack([2.5 - 3.0 * a, 1.0 - 0.5 * a ** 2, 0.8 + 0.2 * a - 0.6 * a ** 2,
                       -2.0 + 2.5 * a, -0.3 + 0.0 * a], axis=1)
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    segment_code = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)

    weights = 1.0 / np.arange(1, len(REGIONS) + 1) ** 1.1
    region_code = rng.choice(len(REGIONS), size=n, p=weights / weights.sum())
    region_shift = np.linspace(0.25, -0.25, len(REGIONS))[region_code]

    seg_income = np.array([-1.2, 0.1, 0.3, -0.1, 0.8])[segment_code]
    log_income = 10.4 + seg_income + region_shift + 0.35 * np.tanh((age - 40) / 15) + rng.normal(0, 0.45, n)
    income = np.round(np.exp(log_income), -1)

    seg_visits = np.array([1.5, 1.0, 0.7, 0.4, 1.2])[segment_code]
    visits = rng.poisson(np.exp(seg_visits + rng.normal(0, 0.3, n))).astype(np.int64)

    member_logit = -1.5 + 0.35 * visits + np.array([-0.5, 0.2, 0.6, 0.4, 0.0])[segment_code]
    member = rng.random(n) < 1 / (1 + np.exp(-member_logit))

    channel_p = np.array([[0.75, 0.15, 0.10], [0.65, 0.25, 0.10], [0.40, 0.45, 0.15],
                          [0.20, 0.45, 0.35], [0.55, 0.15, 0.30]])[segment_code]
    channel_code = (channel_p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)

    # spend: a point mass at 0 (~60%), lognormal otherwise; buying is likelier for members
    buys = rng.random(n) < np.where(member, 0.55, 0.30)
    spend = np.where(buys, np.round(np.exp(0.6 * (log_income - 10.4) + 3.5 + rng.normal(0, 0.8, n)), 2), 0.0)

    # discount: bounded to [0, 0.5], with point masses at the bounds after clipping
    discount = np.clip(0.12 + 0.10 * member + 0.04 * (channel_code == 0) + rng.normal(0, 0.12, n), 0.0, 0.5)
    discount = np.round(discount, 3)

    # signup date: older customers signed up earlier, whole days between 2010 and 2024
    days = np.clip(rng.normal(3600 - 40 * (age - 45), 1200), 0, 5400).astype(np.int64)
    signup = pd.Timestamp("2010-01-01") + pd.to_timedelta(days, unit="D")

    frame = pd.DataFrame({
        "age": age,
        "income": income,
        "spend": spend,
        "discount": discount,
        "visits": visits,
        "region": pd.Series(np.array(REGIONS, dtype=object)[region_code], dtype=object),
        "segment": pd.Series(np.array(SEGMENTS, dtype=object)[segment_code], dtype=object),
        "channel": pd.Series(np.array(CHANNELS, dtype=object)[channel_code], dtype=object),
        "member": member,
        "signup": signup,
    })
    income_missing = rng.random(n) < np.where(segment_code == 3, 0.10, 0.04)
    frame.loc[income_missing, "income"] = np.nan
    frame.loc[rng.random(n) < 0.05, "segment"] = None
    return frame


# ---------------------------------------------------------------------- datasets
@dataclass
class Dataset:
    name: str
    train: pd.DataFrame
    holdout: pd.DataFrame
    sample_rows: int
    note: str = ""


def load_datasets(names: list[str], rows: int, quick: bool) -> list[Dataset]:
    out = []
    for name in names:
        if name == "mixed":
            holdout = min(rows, 20_000)
            out.append(Dataset("mixed", mixed_table(rows, seed=0), mixed_table(holdout, seed=1), rows,
                               f"generated mixed table, {rows:,} training rows, {holdout:,} held-out rows "
                               "from the same generator (seed 1)"))
        elif name == "fashion":
            if not hasattr(pl, "datasets"):
                progress("fashion: plausible.datasets is absent; skipped")
                continue
            n = 1000 if quick else 5000
            out.append(Dataset("fashion", pl.datasets.load("fashion", n=n, seed=0),
                               pl.datasets.load("fashion", n=n, seed=1), max(n, 10_000 if not quick else 2000),
                               f"plausible's fashion, {n:,} training rows, {n:,} held-out rows (fresh draw, seed 1)"))
        elif name in ("breast_cancer", "wine"):
            import sklearn.datasets

            bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
            frame = bunch.frame.copy()
            frame["target"] = pd.Series(bunch.target_names[bunch.target.to_numpy()], dtype=object)
            train, holdout = split_rows(frame)
            out.append(Dataset(name, train, holdout, 10_000 if not quick else 2000,
                               f"scikit-learn's {name} ({len(frame)} rows, {frame.shape[1]} columns): "
                               f"{len(train)} training rows, {len(holdout)} held-out rows (70/30 split, seed 0)"))
        else:
            raise SystemExit(f"unknown dataset {name!r}; choose from mixed, fashion, breast_cancer, wine")
    return out


def split_rows(frame: pd.DataFrame, train_share: float = 0.7, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffle the rows with `seed` and cut them into training and held-out rows (70/30)."""
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    cut = int(round(train_share * len(shuffled)))
    return shuffled.iloc[:cut].reset_index(drop=True), shuffled.iloc[cut:].reset_index(drop=True)


# ---------------------------------------------------------------------- the contenders
class PlausibleRunner:
    def __init__(self, name: str):
        self.name = name
        self.model = None

    def fit(self, train):
        self.model = pl.make(self.name, seed=0).fit(train)

    def sample(self, n, seed):
        return self.model.sample(n, seed=seed)

    def columns(self, frame):
        return list(frame.columns)


class SklearnGMMRunner:
    """GaussianMixture on the numeric (non-boolean, non-datetime) columns only."""

    name = "sklearn_gmm"

    def __init__(self, n_components: int = 8):
        self.n_components = n_components

    def columns(self, frame):
        return [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c].dtype)
                and not pd.api.types.is_bool_dtype(frame[c].dtype)]

    def fit(self, train):
        from sklearn.mixture import GaussianMixture

        self.cols = self.columns(train)
        if not self.cols:
            raise Skip("no numeric columns")
        values = train[self.cols].dropna().to_numpy(dtype=float)
        self.model = GaussianMixture(self.n_components, covariance_type="full", random_state=0).fit(values)

    def sample(self, n, seed):
        self.model.random_state = seed  # sklearn draws with the estimator's own random_state
        values, _ = self.model.sample(n)
        values = values[np.random.default_rng(seed).permutation(n)]  # sklearn returns rows grouped by component
        return pd.DataFrame(values, columns=self.cols)


class SDVRunner:
    """One of SDV's single-table synthesizers (`sdv.single_table.<synthesizer>`), default settings
    unless `settings` says otherwise, with metadata detected from the training frame."""

    def __init__(self, synthesizer: str = "GaussianCopulaSynthesizer", name: str = "sdv_gaussian_copula",
                 **settings):
        self.synthesizer, self.name, self.settings = synthesizer, name, settings

    def columns(self, frame):
        return list(frame.columns)

    def fit(self, train):
        import sdv.single_table
        from sdv.metadata import Metadata

        synthesizer = getattr(sdv.single_table, self.synthesizer)
        if hasattr(Metadata, "detect_from_dataframe"):  # SDV 1.x: DataFrames in and out
            metadata = Metadata.detect_from_dataframe(train, table_name="bench")
            self.model = synthesizer(metadata, **self.settings)
            self.model.fit(train)
        else:  # SDV 2.x: {table name: DataFrame} in and out, even for one table
            metadata = Metadata.detect_from_dataframes({"bench": train})
            self.model = synthesizer(metadata, **self.settings)
            self.model.fit({"bench": train})

    def sample(self, n, seed):
        # SDV takes no per-call seed; its synthesizer keeps its own random state
        drawn = self.model.sample(num_rows=n)
        return drawn["bench"] if isinstance(drawn, dict) else drawn


class Skip(Exception):
    """Not applicable to this dataset (reported as n/a, not as a failure)."""


def sdv_available() -> tuple[bool, str]:
    try:
        import sdv  # noqa: F401
        from sdv.single_table import GaussianCopulaSynthesizer  # noqa: F401
        return True, ""
    except Exception as error:  # ImportError, or a broken install
        return False, f"{type(error).__name__}: {error}"


# ---------------------------------------------------------------------- measuring
@dataclass
class Result:
    model: str
    family: str = ""
    fit_s: list = field(default_factory=list)
    sample_rps: list = field(default_factory=list)
    marginal: float | None = None
    pairwise: float | None = None
    error: str = ""
    skipped: str = ""
    note: str = ""

    @property
    def fit_median(self):
        return statistics.median(self.fit_s) if self.fit_s else None

    @property
    def sample_median(self):
        return statistics.median(self.sample_rps) if self.sample_rps else None


@contextmanager
def time_limit(seconds: float | None, what: str):
    if not seconds or not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"{what} took longer than {seconds:g} s (--timeout)")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(runner, dataset: Dataset, repeats: int, budget: float, timeout: float | None) -> Result:
    """Fit and sample `repeats` times (fresh model each time; stop early past `budget` seconds)."""
    result = Result(runner.name)
    started = time.perf_counter()
    synthetic = None
    try:
        for run in range(repeats):
            gc.collect()
            t0 = time.perf_counter()
            with time_limit(timeout, f"fit of {runner.name} on {dataset.name}"):
                runner.fit(dataset.train)
            result.fit_s.append(time.perf_counter() - t0)
            gc.collect()
            t0 = time.perf_counter()
            with time_limit(timeout, f"sampling of {runner.name} on {dataset.name}"):
                drawn = runner.sample(dataset.sample_rows, seed=1)
            elapsed = time.perf_counter() - t0
            if len(drawn) != dataset.sample_rows:
                raise RuntimeError(f"asked for {dataset.sample_rows} rows, got {len(drawn)}")
            result.sample_rps.append(dataset.sample_rows / elapsed)
            if synthetic is None:
                synthetic = drawn
            progress(f"  {dataset.name} / {runner.name}: run {run + 1}/{repeats} fit {result.fit_s[-1]:.2f} s, "
                     f"sample {result.sample_rps[-1]:,.0f} rows/s")
            if time.perf_counter() - started > budget and run + 1 < repeats:
                result.note = f"{run + 1} of {repeats} runs (over the {budget:g} s budget)"
                break
        columns = runner.columns(dataset.holdout)
        real = dataset.holdout[columns].reset_index(drop=True)
        fake = synthetic[columns].iloc[:len(real)].reset_index(drop=True)
        from plausible.evaluation.samples import metrics

        result.marginal = metrics.marginal_fidelity(real, fake)
        result.pairwise = metrics.pairwise_fidelity(real, fake)
        if len(columns) < dataset.train.shape[1]:
            result.note = "; ".join(filter(None, [result.note,
                                                  f"fidelity on its {len(columns)} numeric columns only"]))
    except Skip as reason:
        result.skipped = str(reason)
    except Exception as error:  # reported in the table, never hidden
        result.error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
        progress(f"  {dataset.name} / {runner.name} FAILED: {result.error}")
        traceback.print_exc(file=sys.stderr)
    return result


# ---------------------------------------------------------------------- reporting
def fmt(value, digits=3):
    return "" if value is None else f"{value:.{digits}f}"


def fmt_rate(value):
    return "" if value is None else f"{value:,.0f}"


def dataset_table(dataset: Dataset, results: list[Result], repeats: int) -> str:
    lines = [f"### {dataset.name}", "", dataset.note + f"; {dataset.sample_rows:,} rows sampled per run; "
             f"medians of up to {repeats} runs.", "",
             "| model | family | fit s (median) | sample rows/s (median) | marginal fidelity | pairwise fidelity | runs | note |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in results:
        if r.skipped:
            lines.append(f"| {r.model} | {r.family} | n/a | n/a | n/a | n/a | 0 | skipped: {r.skipped} |")
        elif r.error:
            note = f"**FAILED**: `{r.error.replace('|', '/')}`"
            lines.append(f"| {r.model} | {r.family} | {fmt(r.fit_median, 2)} | {fmt_rate(r.sample_median)} | "
                         f"{fmt(r.marginal)} | {fmt(r.pairwise)} | {len(r.fit_s)} | {note} |")
        else:
            lines.append(f"| {r.model} | {r.family} | {fmt(r.fit_median, 2)} | {fmt_rate(r.sample_median)} | "
                         f"{fmt(r.marginal)} | {fmt(r.pairwise)} | {len(r.fit_s)} | {r.note} |")
    lines.append("")
    lines.extend(ratio_lines(results))
    return "\n".join(lines)


def ratio_lines(results: list[Result]) -> list[str]:
    by = {r.model: r for r in results}
    copula, sdv = by.get("copula"), by.get("sdv_gaussian_copula")
    if copula is None or sdv is None:
        missing = [n for n, r in (("copula", copula), ("sdv_gaussian_copula", sdv)) if r is None]
        return [f"copula vs SDV: not measured ({', '.join(missing)} not in this run).", ""]
    for r in (copula, sdv):
        if r.error or r.skipped or not r.fit_s or r.marginal is None:
            return [f"copula vs SDV: not comparable ({r.model}: {r.error or r.skipped or 'no result'}).", ""]
    fit_speedup = sdv.fit_median / copula.fit_median
    sample_speedup = copula.sample_median / sdv.sample_median
    # the spread over runs: worst pairing (slowest copula run vs fastest SDV run) to best
    fit_range = f"{min(sdv.fit_s) / max(copula.fit_s):.1f}–{max(sdv.fit_s) / min(copula.fit_s):.1f}×"
    sample_range = (f"{min(copula.sample_rps) / max(sdv.sample_rps):.1f}–"
                    f"{max(copula.sample_rps) / min(sdv.sample_rps):.1f}×")
    return [
        "| copula vs SDV GaussianCopula | medians | worst–best pairing of runs |",
        "|---|---:|---:|",
        f"| fit speed-up (SDV fit s / copula fit s) | {fit_speedup:.1f}× | {fit_range} |",
        f"| sample speed-up (copula rows/s / SDV rows/s) | {sample_speedup:.1f}× | {sample_range} |",
        f"| marginal fidelity (copula − SDV) | {copula.marginal - sdv.marginal:+.3f} | |",
        f"| pairwise fidelity (copula − SDV) | {copula.pairwise - sdv.pairwise:+.3f} | |",
        "",
    ]


def target_verdict(results: list[Result]) -> str:
    by = {r.model: r for r in results}
    copula, sdv = by.get("copula"), by.get("sdv_gaussian_copula")
    head = (f"**Issue 2 target** (`copula` fits and samples ≥ {TARGET_SPEEDUP:g}× faster than SDV's "
            "GaussianCopulaSynthesizer on the same generated table, with equal or better marginal and "
            "pairwise fidelity): ")
    if copula is None:
        return head + "**NOT MEASURED** — no `copula` model is registered in this run."
    if sdv is None:
        return head + "**NOT MEASURED** — SDV was not part of this run."
    for r in (copula, sdv):
        if r.error or r.skipped or not r.fit_s or r.marginal is None:
            return head + f"**NOT MET** — {r.model} has no result ({r.error or r.skipped or 'no result'})."
    fit_speedup = sdv.fit_median / copula.fit_median
    sample_speedup = copula.sample_median / sdv.sample_median
    checks = {
        f"fit {fit_speedup:.1f}× (≥ {TARGET_SPEEDUP:g}×)": fit_speedup >= TARGET_SPEEDUP,
        f"sample {sample_speedup:.1f}× (≥ {TARGET_SPEEDUP:g}×)": sample_speedup >= TARGET_SPEEDUP,
        f"marginal {copula.marginal:.3f} vs {sdv.marginal:.3f}": copula.marginal >= sdv.marginal,
        f"pairwise {copula.pairwise:.3f} vs {sdv.pairwise:.3f}": copula.pairwise >= sdv.pairwise,
    }
    verdict = "**MET**" if all(checks.values()) else "**NOT MET**"
    detail = "; ".join(f"{k} {'ok' if v else 'FAILS'}" for k, v in checks.items())
    return head + f"{verdict} — {detail}."


VERSIONED = ("plausible", "sdv", "scikit-learn", "numpy", "pandas", "scipy", "torch")


def versions() -> dict[str, str]:
    """Installed version of each package the benchmarks depend on ("not installed" where absent)."""
    import importlib.metadata as md

    def version(pkg):
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "not installed"

    return {pkg: version(pkg) for pkg in VERSIONED}


def run_lines(script: str, argv: list[str] | None) -> list[str]:
    """The date, machine, versions and command lines that head a benchmark's RESULTS.md section."""
    import datetime as dt
    import sys

    command = " ".join([f"benchmarks/{script}"] + (argv if argv is not None else sys.argv[1:]))
    return [f"- date: {dt.datetime.now().astimezone().isoformat(timespec='minutes')}",
            f"- machine: {machine()}",
            "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
            f"- command: `python {command}`"]


def machine() -> str:
    """Cores, CPU model, memory and Python version of this machine, in one line."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        memory = f", {kb / 2 ** 20:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores, {cpu}{memory}, {gpu()}; Python {platform.python_version()}"


def gpu() -> str:
    """The CUDA GPU PyTorch sees (name, memory, CUDA version), or "no GPU"."""
    try:
        import torch

        if not torch.cuda.is_available():
            return "no GPU"
        props = torch.cuda.get_device_properties(0)
        return f"GPU {props.name} ({props.total_memory / 2 ** 30:.0f} GiB, CUDA {torch.version.cuda})"
    except Exception:  # noqa: BLE001 - a machine line must never stop a benchmark
        return "no GPU"


def environment(argv: list[str], script: str = "benchmarks/bench_core.py") -> str:
    return "\n".join([
        f"- date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {machine()}",
        f"- versions: {', '.join(f'{p} {v}' for p, v in versions().items())}",
        f"- command: `python {' '.join([script] + argv)}`",
    ])


def write_section(path: Path, body: str, start: str = SECTION_START, end: str = SECTION_END) -> None:
    """Replace the text between the `start` and `end` marker lines of `path` (append them if absent)."""
    section = f"{start}\n{body}\n{end}\n"
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=None, help="training rows of the generated table (100,000)")
    parser.add_argument("--repeats", type=int, default=None, help="fit+sample runs per model; the median is reported (3)")
    parser.add_argument("--models", default=None,
                        help=f"comma-separated models: registered plausible models and/or {', '.join(PEERS)} "
                             "(default: all of them)")
    parser.add_argument("--datasets", default="mixed,fashion,breast_cancer",
                        help="comma-separated: mixed, fashion, breast_cancer, wine (default: mixed,fashion,breast_cancer)")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke test")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="seconds per model and dataset after which no further repeats start (600)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds one fit or one sampling call may take before it is reported as failed (1800)")
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown file whose bench_core section is (re)written, e.g. benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    rows = args.rows or (2000 if args.quick else 100_000)
    repeats = args.repeats or (1 if args.quick else 3)

    warnings.filterwarnings("ignore")
    registered = pl.models()
    wanted = list(registered) + list(PEERS) if args.models is None else [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in registered and m not in PEERS]
    if unknown:
        parser.error(f"unknown models {unknown}; registered: {', '.join(registered)}; peers: {', '.join(PEERS)}")
    has_sdv, sdv_reason = sdv_available()
    if "sdv_gaussian_copula" in wanted and not has_sdv:
        progress(f"SDV is not importable ({sdv_reason}); its rows are reported as skipped")

    datasets = load_datasets([d.strip() for d in args.datasets.split(",") if d.strip()], rows, args.quick)
    progress(f"models: {', '.join(wanted)}; datasets: {', '.join(d.name for d in datasets)}; "
             f"{rows:,} rows, {repeats} repeats")

    sections = []
    all_results = {}
    for dataset in datasets:
        results = []
        for name in wanted:
            progress(f"{dataset.name} / {name}: fitting {len(dataset.train):,} rows, sampling {dataset.sample_rows:,}")
            if name == "sdv_gaussian_copula" and not has_sdv:
                results.append(Result(name, "peer", skipped=f"SDV not importable ({sdv_reason})"))
                continue
            runner = {"sklearn_gmm": SklearnGMMRunner, "sdv_gaussian_copula": SDVRunner}.get(name)
            runner = runner() if runner else PlausibleRunner(name)
            result = measure(runner, dataset, repeats, args.budget, args.timeout)
            result.family = registered[name]["family"] if name in registered else "peer"
            results.append(result)
            state = "FAILED" if result.error else ("skipped" if result.skipped else
                                                   f"fit {fmt(result.fit_median, 2)} s, "
                                                   f"sample {fmt_rate(result.sample_median)} rows/s, "
                                                   f"marginal {fmt(result.marginal)}, pairwise {fmt(result.pairwise)}")
            progress(f"{dataset.name} / {name}: {state}")
            del runner
            gc.collect()
        all_results[dataset.name] = results
        sections.append(dataset_table(dataset, results, repeats))

    body = ["## bench_core: fit and sampling speed, marginal and pairwise fidelity", "", environment(argv), ""]
    if "mixed" in all_results:
        body += [target_verdict(all_results["mixed"]), ""]
    body += ["Fit s: wall-clock seconds of `fit` on the training rows. Sample rows/s: rows drawn per second "
             "by one `sample` call. Fidelity (`plausible.metrics`, 1 = identical): held-out real rows vs "
             "the same number of synthetic rows. sklearn_gmm: GaussianMixture(8 components, full "
             "covariance) on the numeric columns only, rows with a missing cell dropped for its fit. "
             "sdv_gaussian_copula: default settings, metadata detected from the training frame "
             "(`Metadata.detect_from_dataframes` in SDV 2.x, which replaced `detect_from_dataframe`).", ""]
    body += sections
    text = "\n".join(body).rstrip() + "\n"
    print(text)
    if args.out:
        write_section(args.out, text)
        progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

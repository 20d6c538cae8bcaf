"""Sampling speed of one model on 1 and 2 CPU threads, on a quiet machine (issue 4's rows/s target).

    python benchmarks/bench_sampling.py                         # diffusion on the four tables
    python benchmarks/bench_sampling.py --models diffusion,vae --rows 50000 --repeats 5

bench_ladder runs every contender on one thread, so that a busy machine does not distort the
comparison; issue 4 states its sampling target on 2 CPU cores. This script fits each model once
(default settings, one thread), then times `sample(--rows)` with torch on 1 and on 2 threads,
`--repeats` times each, and reports the median. Run it with nothing else on the machine: the
1-minute load average when each measurement starts is recorded beside it. With `--out`, the
table goes into the `bench_sampling` section of RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from bench_core import progress, run_lines, versions, write_section
from bench_ladder import DATASETS, load_tables

import plausible as pl

HERE = Path(__file__).resolve().parent
SECTION_START = "<!-- bench_sampling:start -->"
SECTION_END = "<!-- bench_sampling:end -->"
TARGET = 20_000  # rows per second on 2 CPU cores (issue 4)
RESULTS_JSON = HERE / "sampling_results.json"  # {table: {model: record}}; bench_ladder's target reads it


def rates(model, rows: int, threads: int, repeats: int) -> tuple[float, float]:
    """Median rows/s of `sample(rows)` on `threads` torch threads, and the load average before."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model.sample(min(rows, 1000), seed=0)  # warm-up: first-call allocations
        load, measured = os.getloadavg()[0], []
        for repeat in range(repeats):
            started = time.perf_counter()
            model.sample(rows, seed=repeat + 1)
            measured.append(rows / (time.perf_counter() - started))
        return statistics.median(measured), load
    finally:
        torch.set_num_threads(previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="diffusion", help="comma-separated registered models (diffusion)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated: {', '.join(DATASETS)}")
    parser.add_argument("--train-rows", type=int, default=50_000, help="training rows of the mixed table (50,000)")
    parser.add_argument("--rows", type=int, default=50_000, help="rows per timed sample call (50,000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per thread count; the median is kept (3)")
    parser.add_argument("--out", type=Path, default=None, help="rewrite the bench_sampling section of this file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    lines = ["| table | model | fit s (1 thread) | rows/s, 1 thread | rows/s, 2 threads | "
             f"≥ {TARGET:,} rows/s on 2 cores | load average at start (1, 2 threads) |",
             "|---|---|---:|---:|---:|---|---|"]
    store = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    tables = load_tables([d.strip() for d in args.datasets.split(",") if d.strip()], args.train_rows, quick=False)
    for table in tables:
        for name in [m.strip() for m in args.models.split(",") if m.strip()]:
            progress(f"{table.name} / {name}: fitting on {len(table.train):,} rows")
            torch.set_num_threads(1)
            started = time.perf_counter()
            model = pl.make(name, seed=0).fit(table.train)
            fit_s = time.perf_counter() - started
            one, load_one = rates(model, args.rows, 1, args.repeats)
            two, load_two = rates(model, args.rows, 2, args.repeats)
            verdict = "MET" if two >= TARGET else "NOT MET"
            progress(f"{table.name} / {name}: {one:,.0f} rows/s on 1 thread, {two:,.0f} on 2 ({verdict})")
            lines.append(f"| {table.name} | {name} | {fit_s:.1f} | {one:,.0f} | {two:,.0f} | {verdict} | "
                         f"{load_one:.2f}, {load_two:.2f} |")
            store.setdefault(table.name, {})[name] = {
                "date": dt.datetime.now().astimezone().isoformat(timespec="minutes"), "rows": args.rows,
                "repeats": args.repeats, "fit_s": fit_s, "rows_per_s": {"1": one, "2": two},
                "load_average": {"1": load_one, "2": load_two}, "versions": versions()}
    body = "\n".join([
        "## bench_sampling: sampling speed on 1 and 2 CPU threads (issue 4's target)", "",
        *run_lines("bench_sampling.py", argv), "",
        f"Each model is fitted once with its default settings; then `sample({args.rows:,})` is timed "
        f"{args.repeats} times on each thread count (median shown), after a warm-up call.", "",
        *lines])
    print(body)
    RESULTS_JSON.write_text(json.dumps(store, indent=1, sort_keys=True) + "\n")
    progress(f"wrote {RESULTS_JSON}")
    if args.out:
        write_section(args.out, body, SECTION_START, SECTION_END)
        progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""bench_engine_fit: fit `gaussian` on a partitioned Parquet table larger than the memory it is given
(issue 28 part 2, core/by_parts.py).

Writes a table of --rows rows x 10 numeric columns (correlated normals, one lognormal column so the
log-scale choice has work to do, 2% of one column's cells missing) as Parquet pieces of
--piece-rows rows, generated piece by piece (never whole in memory), under --out. Then fits
`gaussian` from the directory in a child process (one process, OMP_NUM_THREADS=1), reporting the
wall time and the child's peak resident memory (VmHWM), under the limit --limit-gib, enforced:
the child sets RLIMIT_DATA (its heap and private anonymous mappings, where numpy, pandas and
pyarrow allocate) before it imports anything, so an allocation past the limit raises MemoryError.
(RLIMIT_AS would count the imports' address space, shared libraries included, not the data.) Under
the same limit, another child tries the in-memory path on the whole table, pd.read_parquet(DIR)
then fit, and reports the MemoryError it meets. The concatenated table alone takes rows x 10 x 8
bytes as float64 arrays; --compare-rows fits that many rows in memory without a limit and scales
its peak to --rows, what an in-memory fit of the whole table would need.

    python benchmarks/bench_engine_fit.py --rows 200000 --piece-rows 50000 --limit-gib 0.6   # a quick check
    python benchmarks/bench_engine_fit.py --rows 20000000 --limit-gib 1.25 --compare-rows 1000000

At 20M rows in 1M-row pieces the by-parts fit passes under 1.25 GiB (peak RSS 1.04 GiB) and not under
1.0 GiB: one piece's EM working set (~0.7 GiB for 1M rows x 10 columns) is what it needs beyond the
imports; smaller pieces need less.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

COLUMNS = 10


def write_table(out: Path, rows: int, piece_rows: int, seed: int = 0) -> None:
    import numpy as np
    import pandas as pd

    from plausible.data.partitioned import write_part

    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(COLUMNS, 3))
    names = [f"x{c}" for c in range(COLUMNS)]
    out.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, rows, piece_rows)):
        n = min(piece_rows, rows - start)
        piece_rng = np.random.default_rng([seed, i])
        values = piece_rng.normal(size=(n, 3)) @ loadings.T + piece_rng.normal(size=(n, COLUMNS))
        values[:, 0] = np.exp(values[:, 0] / 3)                       # positive and skewed: logged
        values[piece_rng.random(n) < 0.02, 1] = np.nan                 # gaps: EM's iterations
        write_part(pd.DataFrame(values.round(4), columns=names), out, i)


def _status(field: str) -> int:
    """A /proc/self/status memory field in bytes (VmHWM: this process's peak RSS since its exec;
    ru_maxrss would carry the RSS of the parent it was forked from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def child(args) -> None:
    """Runs in the child: the fit, then one JSON line with its time and peak memory."""
    if args.limit_bytes:
        resource.setrlimit(resource.RLIMIT_DATA, (args.limit_bytes, args.limit_bytes))
    import numpy as np

    import plausible as pl

    model = pl.make("gaussian")                    # (every rung imported: torch's memory counts in the base)
    base = _status("VmHWM")
    start = time.perf_counter()
    if args.child == "parts":
        model.fit(args.out)
    elif args.child == "whole":          # the in-memory path on the whole table, under the same limit
        import pandas as pd

        step = "pd.read_parquet(DIR)"
        try:
            frame = pd.read_parquet(args.out)
            step = f"fit of the {len(frame):,}-row DataFrame"
            model.fit(frame)
        except MemoryError as error:
            print(json.dumps({"memory_error": f"MemoryError in {step}: {str(error)[:120] or '(no message)'}",
                              "seconds": time.perf_counter() - start, "peak_bytes": _status("VmHWM"),
                              "base_bytes": base}))
            return
    else:
        import pandas as pd

        from plausible.data.partitioned import Partitions

        parts, pieces, rows = Partitions(args.out), [], 0
        for i in range(len(parts)):              # only the pieces that hold the first compare_rows rows
            if rows >= args.compare_rows:
                break
            pieces.append(parts.read(i))
            rows += len(pieces[-1])
        frame = pd.concat(pieces, ignore_index=True).iloc[:args.compare_rows]
        del pieces
        model.fit(frame)
    seconds = time.perf_counter() - start
    peak = _status("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_bytes": peak, "base_bytes": base, "rows": model.n_training_rows_,
                      "n_iter": model.n_iter_, "logged": int(np.sum(model.logged_)),
                      "shrinkage": model.shrinkage_}))


def run_child(args, kind: str, limit: int | None) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--child", kind, "--out", str(args.out), "--compare-rows",
               str(args.compare_rows or 0), "--limit-bytes", str(limit or 0)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"failed": done.returncode, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--piece-rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None, help="default: /tmp/plausible_bench_fit_<rows>")
    parser.add_argument("--limit-gib", type=float, default=1.25, help="the memory the fit is given (GiB, RLIMIT_DATA)")
    parser.add_argument("--no-enforce", action="store_true", help="only measure: no RLIMIT_DATA, no whole-table try")
    parser.add_argument("--compare-rows", type=int, default=0, help="also fit this many rows in memory")
    parser.add_argument("--child", choices=("parts", "whole", "memory"), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--limit-bytes", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    args.out = args.out or Path(f"/tmp/plausible_bench_fit_{args.rows}")
    if not any(args.out.glob("*.parquet")):
        start = time.perf_counter()
        write_table(args.out, args.rows, args.piece_rows)
        print(f"wrote {args.rows:,} rows x {COLUMNS} columns in {len(list(args.out.glob('*.parquet')))} pieces "
              f"to {args.out} in {time.perf_counter() - start:.1f} s")
    limit = int(args.limit_gib * 2 ** 30)
    table = args.rows * COLUMNS * 8
    enforce = not args.no_enforce
    print(f"table in memory (float64 arrays alone): {table / 2 ** 30:.2f} GiB; limit {args.limit_gib:.2f} GiB"
          f"{' (RLIMIT_DATA, set in each child before its imports)' if enforce else ' (measured, not enforced)'}",
          flush=True)
    if enforce:
        whole = run_child(args, "whole", limit)
        if "memory_error" in whole:
            print(f"in memory, the whole table under the limit: {whole['memory_error']} after {whole['seconds']:.1f} s "
                  f"(peak RSS {whole['peak_bytes'] / 2 ** 30:.2f} GiB)", flush=True)
        elif "failed" in whole:
            print(f"in memory, the whole table under the limit: FAILED otherwise ({whole['error']})", flush=True)
        else:
            print(f"in memory, the whole table under the limit: fitted in {whole['seconds']:.1f} s, peak RSS "
                  f"{whole['peak_bytes'] / 2 ** 30:.2f} GiB (the limit does not bind: raise --rows or lower it)",
                  flush=True)
    parts = run_child(args, "parts", limit if enforce else None)
    if "failed" in parts:
        print(f"by parts: FAILED ({parts['error']})")
    else:
        print(f"by parts: {parts['seconds']:.1f} s, peak RSS {parts['peak_bytes'] / 2 ** 30:.2f} GiB (after the imports: "
              f"{parts['base_bytes'] / 2 ** 30:.2f} GiB) "
              f"({'under' if parts['peak_bytes'] < limit else 'OVER'} the limit), {parts['rows']:,} rows, "
              f"EM iterations {parts['n_iter']}, logged columns {parts['logged']}, shrinkage {parts['shrinkage']}")
    if args.compare_rows:
        memory = run_child(args, "memory", None)
        if "failed" not in memory:
            # what the imports hold stays; what the fit added grows with the rows
            scaled = memory["base_bytes"] + (memory["peak_bytes"] - memory["base_bytes"]) * args.rows / args.compare_rows
            print(f"in memory, {args.compare_rows:,} rows: {memory['seconds']:.1f} s, peak RSS "
                  f"{memory['peak_bytes'] / 2 ** 30:.2f} GiB; scaled to {args.rows:,} rows: ~{scaled / 2 ** 30:.1f} GiB "
                  f"({'over' if scaled > limit else 'under'} the limit)")
        else:
            print(f"in memory: FAILED ({memory['error']})")


if __name__ == "__main__":
    main()

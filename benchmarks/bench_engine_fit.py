"""bench_engine_fit: fit `gaussian` on a partitioned Parquet table larger than the memory it is given
(issue 28 part 2, core/by_parts.py).

Writes a table of --rows rows x 10 numeric columns (correlated normals, one lognormal column so the
log-scale choice has work to do, 2% of one column's cells missing) as Parquet pieces of
--piece-rows rows, generated piece by piece (never whole in memory), under --out. Then fits
`gaussian` from the directory in a child process (one process, OMP_NUM_THREADS=1), reporting the
wall time and the child's peak resident memory (VmHWM), against the limit --limit-gib, under
which the child also runs with RLIMIT_AS when --enforce is given. The concatenated table alone
takes rows x 10 x 8 bytes as float64 arrays; --compare-rows fits that many rows in memory
(pd.read_parquet + fit) in another child and scales its peak to --rows, what an in-memory fit of
the whole table would need.

    python benchmarks/bench_engine_fit.py --rows 200000 --piece-rows 50000          # a quick check
    python benchmarks/bench_engine_fit.py --rows 20000000 --limit-gib 1.5 --compare-rows 2000000
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
    import numpy as np

    import plausible as pl

    model = pl.make("gaussian")                    # (every rung imported: torch's memory counts in the base)
    base = _status("VmHWM")
    start = time.perf_counter()
    if args.child == "parts":
        model.fit(args.out)
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
    def limited():
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--child", kind, "--out", str(args.out), "--compare-rows",
               str(args.compare_rows or 0)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, preexec_fn=limited)
    if done.returncode != 0:
        return {"failed": done.returncode, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--piece-rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None, help="default: /tmp/plausible_bench_fit_<rows>")
    parser.add_argument("--limit-gib", type=float, default=1.5, help="the memory the fit is given (GiB)")
    parser.add_argument("--enforce", action="store_true", help="run the fit under RLIMIT_AS = the limit")
    parser.add_argument("--compare-rows", type=int, default=0, help="also fit this many rows in memory")
    parser.add_argument("--child", choices=("parts", "memory"), default=None, help=argparse.SUPPRESS)
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
    parts = run_child(args, "parts", limit if args.enforce else None)
    print(f"table in memory (float64 arrays alone): {table / 2 ** 30:.2f} GiB; limit {args.limit_gib:.2f} GiB"
          f"{' (RLIMIT_AS)' if args.enforce else ' (measured, not enforced)'}")
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

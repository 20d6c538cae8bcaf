"""`model.sample(n, out=DIR, engine=...)` (issue 28 part 2): 20 million rows of a 10-column table
written as Parquet shards by 1 and 2 Dask workers, with the peak memory of each worker.

    OMP_NUM_THREADS=1 python benchmarks/bench_engine_sample.py --rows 200000 --shard-rows 50000   # smoke, ~20 s
    OMP_NUM_THREADS=1 python benchmarks/bench_engine_sample.py                                    # 20M rows, 1 and 2 workers
    python benchmarks/bench_engine_sample.py --results engine_sample.json --workers 1,2,16         # a bigger machine

The model (`gaussian` by default) is fitted on a small generated table of 10 columns (8 correlated
numbers, a 0/1 column and a 5-level category). For each number of workers a local cluster is started
(one thread per worker), then the timed call draws and writes every shard (`--shard-rows`, 1,000,000 by
default) on the workers. Reported: the wall-clock seconds of the call (cluster start excluded, given
apart), rows per second, and each worker's peak resident memory (`ru_maxrss` read in the worker after
the run: VmHWM, its whole life, start-up included; the target is under 2 GiB). The outputs of every worker
count must be identical: each piece's rows are hashed (pandas' row hash, summed into a SHA-256 per
piece) and compared. The output folders are deleted after hashing unless --keep.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

import plausible as pl
from plausible.core.engine import engine_client
from plausible.data.partitioned import Partitions


def training_table(rows: int = 5_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(8, 8)) / 3
    numbers = rng.normal(size=(rows, 8)) @ (np.eye(8) + mixing)
    frame = pd.DataFrame(numbers, columns=[f"x{i}" for i in range(8)])
    frame["flag"] = (numbers[:, 0] + rng.normal(size=rows) > 0).astype(int)
    frame["group"] = rng.choice(list("abcde"), size=rows, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    return frame


def piece_hashes(folder: Path) -> list[str]:
    parts = Partitions(folder)
    return [hashlib.sha256(pd.util.hash_pandas_object(parts.read(i), index=False).to_numpy().tobytes()).hexdigest()[:16]
            for i in range(len(parts))]


def peak_mib() -> float:
    """This process's peak resident memory: VmHWM (the high-water mark of its own memory map; unlike
    ru_maxrss, not inherited from the process that forked it), ru_maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024                       # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # KiB on Linux


def measure(model, rows: int, shard_rows: int, workers: int, root: Path, seed: int) -> dict:
    out = root / f"workers-{workers}"
    started = time.perf_counter()
    if workers == 0:            # this process, shard by shard (engine=None)
        before = {"here": peak_mib()}
        start = time.perf_counter()
        model.sample(rows, seed=seed, out=out, shard_rows=shard_rows, progress=False)
        seconds, cluster_seconds, peaks = time.perf_counter() - start, 0.0, {"here": peak_mib()}
    else:
        seconds, cluster_seconds, before, peaks = on_workers(model, rows, shard_rows, workers, out, seed, started)
    return record_of(model, rows, shard_rows, workers, out, seconds, cluster_seconds, before, peaks), out


def on_workers(model, rows, shard_rows, workers, out, seed, started):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)      # the dashboard's port, taken by another cluster
        with engine_client("dask", workers) as client:
            cluster_seconds = time.perf_counter() - started
            before = client.run(peak_mib)
            start = time.perf_counter()
            model.sample(rows, seed=seed, out=out, engine=client, shard_rows=shard_rows, progress=False)
            seconds = time.perf_counter() - start
            peaks = client.run(peak_mib)
    return seconds, cluster_seconds, before, peaks


def record_of(model, rows, shard_rows, workers, out, seconds, cluster_seconds, before, peaks) -> dict:
    size = sum(f.stat().st_size for f in out.glob("*.parquet"))
    record = {"rows": rows, "columns": len(model.codec_.schema.names), "model": model.name, "shard_rows": shard_rows,
              "pieces": len(Partitions(out)), "workers": workers, "seconds": round(seconds, 2),
              "cluster_start_seconds": round(cluster_seconds, 2), "rows_per_second": round(rows / seconds),
              "peak_mib_per_worker": [round(v) for v in peaks.values()],
              "start_mib_per_worker": [round(v) for v in before.values()],
              "parquet_mib": round(size / 2**20), "cpus": os.cpu_count()}
    who = "this process (engine=None)" if workers == 0 else f"{workers} worker(s)"
    print(f"{who}: {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s; cluster start "
          f"{cluster_seconds:.1f} s); peak memory per worker {record['peak_mib_per_worker']} MiB "
          f"(at start {record['start_mib_per_worker']}); {record['parquet_mib']} MiB of Parquet", flush=True)
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--shard-rows", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2); 0 = this "
                        "process, shard by shard (engine=None; put it first: its peak is the process's)")
    parser.add_argument("--model", default="gaussian")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", default=None, help="where the outputs go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    parser.add_argument("--results", default=None, help="write the records as JSON here")
    args = parser.parse_args(argv)
    model = pl.make(args.model).fit(training_table())
    root = Path(args.dir or tempfile.mkdtemp(prefix="bench_engine_sample-"))
    root.mkdir(parents=True, exist_ok=True)
    records, hashes = [], {}
    try:
        for workers in [int(w) for w in args.workers.split(",")]:
            record, out = measure(model, args.rows, args.shard_rows, workers, root, args.seed)
            start = time.perf_counter()
            hashes[workers] = piece_hashes(out)
            record["hash_seconds"] = round(time.perf_counter() - start, 1)
            record["hash_of_hashes"] = hashlib.sha256("".join(hashes[workers]).encode()).hexdigest()[:16]
            records.append(record)
            if not args.keep:
                shutil.rmtree(out)
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    same = len({tuple(h) for h in hashes.values()}) == 1
    print(f"identical pieces for worker counts {sorted(hashes)}: {same} ({records[0]['hash_of_hashes']})")
    if args.results:
        Path(args.results).write_text(json.dumps({"records": records, "identical": same}, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

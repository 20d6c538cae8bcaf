"""The same training of every deep model on the CPU and, where one is visible, on a CUDA GPU.

    OMP_NUM_THREADS=1 python benchmarks/bench_device.py --out benchmarks/RESULTS.md
    PYTHONPATH=src python3 benchmarks/bench_device.py --results $OUT/device.json   # on a GPU machine

Issue 4 asks that, when a GPU is lent, the deep models' training runs on CUDA with its time
recorded beside the CPU time. This script is that check, prepared so that a session lent a GPU
spends its few minutes of device time running it, not writing it: it needs only numpy, pandas,
scipy, scikit-learn and torch (all on the GPU machine's image) and plausible's source on the path.

Every deep model (vae, gan, autoregressive, flow, diffusion) trains on the generated mixed table
(`bench_core.mixed_table`: integers, a spike of zeros, categories, dates, gaps) for the same fixed
number of epochs on each device, early stopping off (patience = epochs), with the same seed.
Reported per model and device: fit seconds and seconds per epoch (what the GPU changes), sampling
rows per second (sampling runs on the CPU on both: the weights move back after training, so a
model trained on a GPU is used and saved like any other), and marginal and pairwise fidelity of
the samples to held-out rows, which must agree across devices within the noise of training (the
same maths through other kernels). CUDA times exclude the first model's CUDA start-up: one
untimed warm-up fit on a few rows runs first.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_core import mixed_table, run_lines, split_rows, write_section  # noqa: E402

import plausible as pl  # noqa: E402
from plausible.evaluation.samples import metrics

MODELS = ("vae", "gan", "autoregressive", "flow", "diffusion")
SECTION = ("<!-- bench_device:start -->", "<!-- bench_device:end -->")


def devices_available(wanted: list[str]) -> tuple[list[str], list[str]]:
    """(the devices to run, notes on those skipped)."""
    import torch

    run, notes = [], []
    for device in wanted:
        if device.startswith("cuda") and not torch.cuda.is_available():
            notes.append(f"{device}: not measured: this PyTorch ({torch.__version__}) sees no CUDA GPU")
            continue
        run.append(device)
    return run, notes


def settings(name: str, epochs: int, device: str, batch_size: int | None = None) -> dict:
    """A fixed amount of training: `epochs` epochs, early stopping off where the model has it;
    `batch_size` rows per minibatch where given (else the model's default)."""
    from plausible.core.registry import get_class

    params = get_class(name).params
    chosen = {"epochs": epochs, "device": device}
    if "patience" in params:
        chosen["patience"] = epochs
    if batch_size is not None and "batch_size" in params:
        chosen["batch_size"] = batch_size
    return chosen


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def measure(name: str, device: str, train, holdout, epochs: int, sample_rows: int, seed: int,
            batch_size: int | None = None) -> dict:
    model = pl.make(name, seed=seed, **settings(name, epochs, device, batch_size))
    synchronize(device)
    start = time.perf_counter()
    model.fit(train)
    synchronize(device)
    fit_seconds = time.perf_counter() - start
    ran = len(getattr(model, "history_", []) or []) or epochs
    start = time.perf_counter()
    synthetic = model.sample(sample_rows, seed=seed + 1)
    sample_seconds = time.perf_counter() - start
    scored = synthetic.iloc[:len(holdout)]
    return {"model": name, "device": device, "batch_size": model.get_params().get("batch_size"),
            "epochs": ran, "fit_seconds": fit_seconds,
            "seconds_per_epoch": fit_seconds / max(ran, 1), "sample_rows_per_second": sample_rows / sample_seconds,
            "marginal_fidelity": metrics.marginal_fidelity(holdout, scored),
            "pairwise_fidelity": metrics.pairwise_fidelity(holdout, scored)}


def table(records: list[dict]) -> list[str]:
    lines = ["| model | device | batch | epochs | fit s | s / epoch | CPU s / this device's s | sample rows/s | "
             "marginal | pairwise |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    cpu = {(r["model"], r.get("batch_size")): r["fit_seconds"] for r in records if r["device"] == "cpu"}
    for r in records:
        key = (r["model"], r.get("batch_size"))
        speedup = f"{cpu[key] / r['fit_seconds']:.1f}x" if key in cpu else "-"
        lines.append(f"| {r['model']} | {r['device']} | {r.get('batch_size') or '-'} | {r['epochs']} | "
                     f"{r['fit_seconds']:.1f} | {r['seconds_per_epoch']:.2f} | {speedup} | "
                     f"{r['sample_rows_per_second']:,.0f} | {r['marginal_fidelity']:.3f} | {r['pairwise_fidelity']:.3f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated (default {','.join(MODELS)})")
    parser.add_argument("--devices", default="cpu,cuda", help="comma-separated torch devices (default cpu,cuda; "
                        "those this PyTorch cannot see are reported as not measured)")
    parser.add_argument("--rows", type=int, default=50_000, help="rows of the generated mixed table (50,000), "
                        "70%% for training")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of training on every device (5)")
    parser.add_argument("--sample-rows", type=int, default=20_000, help="rows sampled to time sampling (20,000)")
    parser.add_argument("--batch-sizes", default="default", help="comma-separated rows per minibatch, each "
                        "run on every model and device; 'default' = each model's own (512 for most). Default: default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="2,000 rows, 1 epoch, two models: a smoke run")
    parser.add_argument("--results", type=Path, default=None, help="write the records as JSON here")
    parser.add_argument("--out", type=Path, default=None, help="rewrite this file's bench_device section")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.quick:
        args.rows, args.epochs, args.sample_rows = 2_000, 1, 2_000
        args.models = "vae,diffusion"
    models = [m for m in args.models.split(",") if m]
    devices, notes = devices_available([d for d in args.devices.split(",") if d])
    train, holdout = split_rows(mixed_table(args.rows, seed=args.seed), seed=args.seed)
    for device in devices:          # CUDA's start-up (context, kernels) is not the models' training time
        if device != "cpu":
            pl.make(models[0], seed=0, **settings(models[0], 1, device)).fit(train.iloc[:500])
    import torch

    batch_sizes = [None if b == "default" else int(b) for b in args.batch_sizes.split(",") if b]
    threads, records = torch.get_num_threads(), []
    for batch_size in batch_sizes:
        for name in models:
            for device in devices:
                print(f"{name} on {device}, batch {batch_size or 'default'} ...", file=sys.stderr, flush=True)
                records.append(measure(name, device, train, holdout, args.epochs, args.sample_rows, args.seed,
                                       batch_size))
                print(table(records)[-1], flush=True)
    body = "\n".join([
        "## bench_device: the deep models' training on the CPU and on a CUDA GPU (issue 4)", "",
        *run_lines("bench_device.py", argv), "",
        f"The generated mixed table, {len(train):,} training rows and {len(holdout):,} held-out rows; every model "
        f"trains {args.epochs} epochs (early stopping off) on each device with seed {args.seed} and the minibatch "
        f"size of its row (batch); sampling "
        f"({args.sample_rows:,} rows) runs on the CPU for every device; fidelity of the first {len(holdout):,} "
        f"samples to the held-out rows (`plausible.metrics`, 1 = identical). PyTorch's CPU threads: {threads}.", "",
        *table(records), "",
        *[f"- {note}" for note in notes]])
    print("\n".join(notes))
    if args.results:
        args.results.write_text(json.dumps({"records": records, "notes": notes, "argv": argv or sys.argv[1:]},
                                           indent=1))
    if args.out:
        write_section(args.out, body, *SECTION)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

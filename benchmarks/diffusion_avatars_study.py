"""How much training does image diffusion need on avatars to reach issue 25's target? (run by hand)

    OMP_NUM_THREADS=1 nohup python benchmarks/diffusion_avatars_study.py > /tmp/diffusion_study.log 2>&1 &
    python benchmarks/diffusion_avatars_study.py --updates 8000 --at 2500,4000,5500,7000 --out /tmp/diffusion_study

One `diffusion` fit at its default settings but `--updates` optimizer steps, on `plausible demo pixels`' split
(avatars n=6,000, seed 0: the first 4,000 fitted, the last 2,000 held out; see plausible/demo_images.py), one
thread. At the end of the epoch where a fit of `updates=U` would stop (epochs = ceil(U / updates per epoch), as
`ImageDiffusion._fit` computes them) for each U in `--at`, and at the last epoch, the script copies the weights
such a fit would keep: the moving average (EMA) of the epoch with the best validation loss so far, which is what
`train` restores at its end (patience is the whole run, so nothing stops early). The snapshots are taken by
wrapping the model's loss function (the training loop calls it once per epoch in eval mode, for the validation
loss, after the epoch's updates); the library is used unchanged, the training run is the one a plain
`updates=8000` fit makes, and epochs 1..k of it are exactly a k-epoch fit (a constant learning rate, one random
generator in the same order). When the best epoch is not the snapshot's own, the last epoch's average is also
scored (row "last").

After the fit each snapshot goes into the fitted model's U-Net, draws 1,000 samples (seed 1, the default sampler:
50 steps, eta 1) and is scored by `pl.evaluate(real=held_out, synthetic=samples, truth="avatars", seed=0)`: TV of
the five read-back features to the truth, its ratio to the real-vs-real floor, and the unreadable share (target:
<= 1.5x the floor and < 5% unreadable). Fit seconds are the training clock at the snapshot. One JSON line per
row goes to stdout; the snapshots are saved under `--out`, so a run stopped after the fit can be scored later
with `--score-saved` (snapshots.json is written at each snapshot).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

import plausible as pl
from plausible import datasets
from plausible.ladder.image_diffusion import ImageDiffusion

N_FIT, N_TEST, SEED = 4000, 2000, 0


def split():
    images = datasets.load("avatars", n=N_FIT + N_TEST, seed=SEED, return_labels=True)[0]
    return images[:N_FIT], images[N_FIT:]


def updates_per_epoch(model, n: int) -> int:
    """Minibatches per epoch, as ImageDiffusion._fit and train count them."""
    validation = model.validation if n >= 1000 else 0.0
    return math.ceil((n - int(round(n * validation))) / min(model.batch_size, n))


def fit_with_snapshots(train, updates: int, at: list[int], out: Path) -> tuple:
    model = ImageDiffusion(seed=SEED, updates=updates)             # what pl.make("diffusion") becomes on images
    per_epoch = updates_per_epoch(model, len(train))
    total_epochs = math.ceil(updates / per_epoch)
    wanted = {math.ceil(u / per_epoch): u for u in at if math.ceil(u / per_epoch) < total_epochs}
    wanted[total_epochs] = updates
    print(json.dumps({"event": "start", "updates": updates, "per_epoch": per_epoch, "epochs": total_epochs,
                      "snapshot_epochs": sorted(wanted), "threads": torch.get_num_threads()}), flush=True)
    state = {"epoch": 0, "best": math.inf, "best_epoch": 0, "best_weights": None, "start": None}
    snapshots = []

    def on_epoch_end(module, validation_loss: float) -> None:
        state["epoch"] += 1
        epoch, weights = state["epoch"], None
        if validation_loss < state["best"] - 1e-6:          # train's rule for the weights it keeps
            weights = {name: a.detach().clone().cpu() for name, a in zip(module.names, module._averages())}
            state.update(best=validation_loss, best_epoch=epoch, best_weights=weights)
        if epoch in wanted:
            seconds = time.perf_counter() - state["start"]
            snapshot = {"target": wanted[epoch], "epoch": epoch, "updates": module.steps, "fit_s": seconds,
                        "validation_loss": validation_loss, "best_epoch": state["best_epoch"]}
            torch.save(state["best_weights"], out / f"kept_{epoch}.pt")
            if state["best_epoch"] != epoch:
                torch.save({name: a.detach().clone().cpu() for name, a in zip(module.names, module._averages())},
                           out / f"last_{epoch}.pt")
            snapshots.append(snapshot)
            (out / "snapshots.json").write_text(json.dumps(snapshots))   # so a run stopped here can be scored
            print(json.dumps({"event": "snapshot", **snapshot}), flush=True)

    def snapshotting(shape, n_levels, device):
        inner = ImageDiffusion._loss(model, shape, n_levels, device)

        def loss(module, batch, generator):
            value = inner(module, batch, generator)
            if not module.training:                         # the validation loss: once per epoch, after its updates
                on_epoch_end(module, float(value))
            return value
        return loss

    model._loss = snapshotting                              # this instance only; the class is untouched
    state["start"] = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - state["start"]
    kept = state["best_weights"]
    same = all(torch.equal(p.detach(), kept[name]) for name, p in model.net_.named_parameters())
    print(json.dumps({"event": "fitted", "fit_s": fit_seconds, "final_equals_last_kept_snapshot": same,
                      "history": model.history_}), flush=True)
    return model, snapshots


def score(model, weights: dict, held_out, samples: int) -> dict:
    with torch.no_grad():
        for name, parameter in model.net_.named_parameters():
            parameter.copy_(weights[name])
    start = time.perf_counter()
    drawn = model.sample(samples, seed=SEED + 1)
    sample_seconds = time.perf_counter() - start
    evaluation = pl.evaluate(real=held_out, synthetic=drawn, truth="avatars", seed=SEED)
    tv, floor = evaluation["tv_to_truth"], evaluation.floor["tv_to_truth"]
    return {"sample_s": sample_seconds, "tv": tv, "floor": floor, "x_floor": tv / floor,
            "unreadable": evaluation["unreadable_share"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=8000)
    parser.add_argument("--at", default="2500,4000,5500,7000", help="updates at which to snapshot (comma-separated)")
    parser.add_argument("--out", default="/tmp/diffusion_study", help="folder for the snapshots' weights")
    parser.add_argument("--samples", type=int, default=1000, help="images drawn per snapshot (fewer: a smoke test)")
    parser.add_argument("--score-saved", action="store_true", help="score the snapshots saved by an earlier run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, held_out = split()
    if args.score_saved:
        model = ImageDiffusion(seed=SEED, updates=1).fit(train)     # the architecture and codec; the weights follow
        snapshots = json.loads((out / "snapshots.json").read_text())
    else:
        for stale in out.glob("*_*.pt"):                    # an earlier run's snapshots
            stale.unlink()
        model, snapshots = fit_with_snapshots(train, args.updates, [int(u) for u in args.at.split(",")], out)
    for snapshot in snapshots:
        for kind in ("kept", "last"):
            path = out / f"{kind}_{snapshot['epoch']}.pt"
            if path.exists():
                row = {"event": "score", "weights": kind, **snapshot, **score(model, torch.load(path), held_out, args.samples)}
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())

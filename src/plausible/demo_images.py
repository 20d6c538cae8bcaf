"""`plausible demo pixels`: the assumption that works on five features draws noise on 1,024 pixels.

`plausible demo` fits naive Bayes (`independent`) to the five `fashion` features of an avatar and
it is close to the truth: each drawn row is a valid avatar, only the dependence between features
is lost. Here the same avatars are rendered as 32 x 32 colour pictures (`avatars`, drawn from the
same truth) and `independent` models each of the 3,072 pixel values on its own, beside a rung that
models them together (`DEEP`, `diffusion`; `deep="gaussian"` is the fast exact one). Each model's samples are written as a grid
(PNG) and scored by what matters: the package's avatar reader reads the five features back from
every sample, and `pl.evaluate(..., truth="avatars")` compares them with the exact truth over the
4,032 combinations, beside the same numbers for real held-out avatars (the floor: what a perfect
model scores with this many images).
"""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import datasets
from .core.registry import get_class, make, variant
from .data.image_files import image_grid
from .data.io import write_bytes

NAIVE = "independent"
# the rung beside naive Bayes: of those measured at their defaults on these 4,000 avatars (2026-12-06,
# one thread of a shared 2-core machine), diffusion read the features back best: TV 0.622 against the
# real floor's 0.404, 48% unreadable, fit in 382 s at 1,500 updates; 0.578 and 32% at its current
# 2,500 (a364faf), fit ~600 s (gaussian: 0.945, 96%; vae: 1.000, 99.8% after its 3 default epochs)
DEEP = "diffusion"
SHOWN = 64              # images per grid (8 x 8)


def demo_pixels(out="plausible-pixels", n: int = 4000, test: int = 2000, samples: int = 1000, deep: str = DEEP,
                seed: int = 0, epochs: int | None = None, time_budget: float | None = None, device: str = "auto",
                params: dict | None = None, say=print) -> dict:
    """Fit `independent` (one categorical per pixel value) and `deep` to `n` avatars, draw `samples`
    images from each, write the grids to the folder `out` (real.png, one PNG per model, and all.png
    with the three side by side; None: no pictures) and print the feature-recovery table: each model's samples read back and compared
    with the truth by `pl.evaluate(real=<test held-out avatars>, synthetic=samples, truth="avatars")`,
    beside the real-image floor. `epochs`, `time_budget`, `device` and any other hyperparameters in
    `params` go to the deep rung (None: its defaults). Prints through `say`; returns the table, and
    per model its evaluation, timings, grid and the fitted model."""
    from .evaluation.samples import evaluate

    if deep == NAIVE:
        raise ValueError(f"deep={deep!r}: name a deep rung to fit beside {NAIVE!r}, e.g. {DEEP!r}")
    if test < 2 * samples:
        raise ValueError(f"test={test} held-out avatars: need at least 2 x samples ({2 * samples}), so that the "
                         "floor compares as many real images as samples")
    images = datasets.load("avatars", n=n + test, seed=seed, return_labels=True)[0]
    train, held_out = images[:n], images[n:]
    say(f"plausible demo pixels: {n:,} avatars (32 x 32 colour, 3,072 pixel values each) drawn from the known "
        f"`fashion` truth; {test:,} more held out")
    folder = None if out is None else Path(out)
    shown = min(SHOWN, samples)
    grids = {"real": image_grid(held_out[:shown], columns=8, scale=2)}
    if folder is not None:
        _write_png(grids["real"], folder / "real.png")
    runs = {}
    for name in (NAIVE, deep):
        settings = {}
        if name == deep:        # the settings the rung's image version takes, and any others asked for
            takes = (variant(name, "image") or get_class(name)).params
            wanted = {"epochs": epochs, "time_budget": time_budget, "device": device}
            settings = {key: value for key, value in wanted.items() if key in takes and value is not None}
            settings.update(params or {})
        model = make(name, seed=seed, **settings)
        start = time.perf_counter()
        model.fit(train)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        drawn = model.sample(samples, seed=seed + 1)
        sample_seconds = time.perf_counter() - start
        picture, grids[name] = None, image_grid(drawn[:shown], columns=8, scale=2)
        if folder is not None:
            picture = _write_png(grids[name], folder / f"{name}.png")
        runs[name] = {"model": model, "fit_seconds": fit_seconds, "sample_seconds": sample_seconds,
                      "evaluation": evaluate(real=held_out, synthetic=drawn, truth="avatars", seed=seed),
                      "grid": None if picture is None else str(picture)}
        trained = getattr(model, "epochs_trained_", None)
        say(f"{name}: fit in {fit_seconds:.0f} s{f' ({trained} epochs)' if trained else ''}, {samples:,} samples "
            f"in {sample_seconds:.1f} s" + (f"; grid: {picture}" if picture else ""))
    table = recovery_table({name: run["evaluation"] for name, run in runs.items()})
    say("")
    say(f"Features read back from {samples:,} images of each kind and compared with the exact truth "
        "(total variation, lower is better;")
    say(f"'real images' is the floor: {samples:,} held-out avatars, what a perfect model scores with this many):")
    say(table.to_string(float_format=lambda v: f"{v:.3f}", na_rep="n/a"))
    if table.isna().any().any():
        say("(n/a: no sample could be read, so there is no feature to compare; the joint TV of 1 is the farthest "
            "possible)")
    say("")
    say(explain(table, deep))
    if folder is not None:
        _write_png(side_by_side(list(grids.values())), folder / "all.png")
        say(f"\npictures: {folder / 'real.png'} (real avatars), " + ", ".join(run["grid"] for run in runs.values())
            + f"; all three side by side: {folder / 'all.png'}")
    return {"table": table, "runs": runs}


def recovery_table(evaluations: dict) -> pd.DataFrame:
    """Rows: each feature's TV, the joint TV over the 4,032 combinations, the unreadable share;
    columns: the real-image floor, then each model (the evaluations' `tv_per_feature` and friends)."""
    first = next(iter(evaluations.values()))
    columns = {"real images": _column(first.details["tv_per_feature_floor"], first.floor)}
    for name, evaluation in evaluations.items():
        columns[name] = _column(evaluation.details["tv_per_feature"], evaluation)
    return pd.DataFrame(columns)


def _column(per_feature: dict, values: dict) -> pd.Series:
    """One column of the table; a feature's TV is NaN (n/a) when no image could be read at all."""
    nothing_read = values["unreadable_share"] >= 1.0
    rows = {f"TV {feature}": np.nan if nothing_read else per_feature[feature] for feature in per_feature}
    rows["TV all five (4,032 combinations)"] = values["tv_to_truth"]
    rows["unreadable share"] = values["unreadable_share"]
    return pd.Series(rows)


def explain(table: pd.DataFrame, deep: str) -> str:
    """Three sentences, the numbers read off the table."""
    joint, unreadable = "TV all five (4,032 combinations)", "unreadable share"
    floor = table.loc[joint, "real images"]
    naive, fitted = table[NAIVE], table[deep]
    fashion = ("On `fashion` (`plausible demo`) naive Bayes models the five features themselves: it loses only how "
               "they depend on each other, and every row it draws is still a valid avatar.")
    pixels = (f"On pixels the same assumption draws each of the 3,072 pixel values from its own histogram, so "
              f"neighbouring pixels never agree on being hair, shirt or background: the features live in how pixels "
              f"vary together, which is exactly what it throws away, and {naive[unreadable]:.0%} of its samples are "
              f"unreadable (real images: {table.loc[unreadable, 'real images']:.0%}).")
    close = fitted[unreadable] < 0.05 and fitted[joint] <= 1.5 * floor      # the target for the deep rung
    deep_line = (f"`{deep}` models the pixels together: {fitted[unreadable]:.0%} of its samples unreadable, the "
                 f"features read back {fitted[joint]:.3f} from the truth in total variation, "
                 f"{fitted[joint] / floor:.2f} x the floor of real images ({floor:.3f}; `{NAIVE}`: {naive[joint]:.3f})"
                 + ("." if close else "; still far from real pictures: this much data and training is not enough "
                    "(target: within 1.5 x the floor, under 5% unreadable)."))
    return f"{fashion}\n{pixels}\n{deep_line}"


def side_by_side(pictures: list, gap: int = 12) -> np.ndarray:
    """Pictures of one height in a row, `gap` white pixels between them."""
    space = np.full((pictures[0].shape[0], gap) + pictures[0].shape[2:], 255, dtype=np.uint8)
    row = [pictures[0]]
    for picture in pictures[1:]:
        row += [space, picture]
    return np.concatenate(row, axis=1)


def _write_png(picture: np.ndarray, path: Path) -> Path:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return write_bytes(buffer.getvalue(), Path(path))

"""`plausible demo restore`: one blurred, one box-masked and one 4x downsampled picture, restored by
scikit-image's best single guess and by posterior draws under a learned prior (`pl.restore`).

Each task simulates measurements y = A x + noise of held-out images (`pl.operators`), then
- scikit-image gives one estimate, its method and parameter chosen by PSNR on a validation split:
  `wiener` (balance) or `richardson_lucy` (iterations) for the blur, `inpaint_biharmonic` for the
  box, a bicubic `resize` for the downsampled picture;
- plausible draws `n_draws` restorations from p(x | y) under the prior fitted on the training
  split; their mean is its single guess, their spread says where the measurement left doubt, and
  the per-pixel 90% intervals of the draws are scored by how often they cover the truth.
The figure has one row per task (truth, measurement, scikit-image, plausible's mean, four draws,
spread) and the printed table the PSNR of both and the coverage of plausible's intervals
(`pl.evaluate_restoration`).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import datasets
from .core.registry import get_class, make, variant
from .data import operators
from .data.image_files import to_display
from .evaluation.restoration import evaluate_restoration
from .tasks.restore import restore

DATA = "avatars"
# the prior: the fastest rung that restores well. Measured on this demo at its defaults (1,500
# avatars, 40 restored, 20 draws; one thread of a loaded 2-core machine, 2026-12-06): gmm, fit 36 s,
# restore 12 s, whole demo 55 s, PSNR 43.5 / 24.3 / 39.0 dB (deblur / box / 4x), coverage 0.96-0.98;
# gaussian, fit 13-29 s, whole demo 30-71 s, 42.4 / 23.8 / 37.0 dB, and in the box its draws are
# shades of one face where gmm's choose glasses or none. diffusion would need its ~600 s fit (demo
# pixels): not a few minutes.
PRIOR = "gmm"
FIGURE = "plausible-restore.png"


# ---------------------------------------------------------------------- the demo
def demo_restore(out=FIGURE, data: str = DATA, n_train: int = 1500, n_validation: int = 20, n_test: int = 40,
                 n_draws: int = 20, prior: str = PRIOR, params: dict | None = None, seed: int = 0,
                 say=print) -> dict:
    """Fit `prior` to `n_train` images of `data`, restore `n_test` held-out ones from each task's
    measurements (`tasks`) beside scikit-image's best estimate (tuned on `n_validation` others),
    write the figure to `out` (None: no figure) and print the table. Returns the table, the
    per-task results and the fitted prior."""
    if not (variant(prior, "image") or get_class(prior)).restore_methods:
        raise ValueError(f"prior {prior!r} cannot restore from measurements; name one that can, e.g. {PRIOR!r}")
    try:
        import skimage  # noqa: F401  (the baselines and the scores)
    except ImportError:
        raise RuntimeError("the restore demo compares with scikit-image's restorers: pip install scikit-image") from None
    images = operators.intensities(datasets.load(data, n=n_train + n_validation + n_test, seed=seed))
    train, validation, test = np.split(images, [n_train, n_train + n_validation])
    begun = time.perf_counter()
    say(f"plausible demo restore: {prior} prior fitted on {n_train:,} {data} images "
        f"({'x'.join(map(str, images.shape[1:]))}); {n_test} held-out images restored, {n_draws} draws each")
    start = time.perf_counter()
    model = make(prior, seed=seed, **(params or {})).fit(train)
    say(f"fit in {time.perf_counter() - start:.0f} s")
    results = {}
    for index, (task, operator, noise_sd, scored) in enumerate(tasks(images.shape[1:3])):
        y_validation = operator(validation, noise_sd=noise_sd, seed=seed + 100 + index)
        y = operator(test, noise_sd=noise_sd, seed=seed + 200 + index)
        label, best = tuned_baseline(operator, y_validation, validation, scored)
        baseline = best(y)
        start = time.perf_counter()
        draws = restore(model, y, operator, noise_sd=noise_sd, n_draws=n_draws, seed=seed)
        seconds = time.perf_counter() - start
        scores = score(test, draws, scored)
        guess = score(test, baseline[None], scored)
        results[task] = {"operator": operator, "noise_sd": noise_sd, "y": y, "draws": draws, "baseline": baseline,
                         "baseline_name": label, "scores": scores, "baseline_scores": guess, "seconds": seconds}
        say(f"{task}: {draws.method} posterior in {seconds:.1f} s; scikit-image: {label}")
    table = results_table(results, prior)
    say("")
    say(f"PSNR (dB, median over {n_test} test images) of one estimate each, and how often plausible's per-pixel 90% "
        "intervals cover the truth (ideal 0.90):")
    say(table.to_string(float_format=lambda v: f"{v:.2f}"))
    if out is not None:
        rows = [(task, [("truth", test[0]), ("measurement", run["y"][0]), (run["baseline_name"], run["baseline"][0]),
                        ("plausible mean", run["draws"].mean(0)[0])]
                 + [(f"draw {k + 1}", run["draws"][k, 0]) for k in range(min(4, n_draws))]
                 + [("spread", run["draws"].std(0)[0])])
                for task, run in results.items()]
        restoration_figure(rows, out)
        say(f"\nfigure: {out}")
    say(f"done in {time.perf_counter() - begun:.0f} s")
    return {"table": table, "results": results, "model": model}


def tasks(shape: tuple) -> list:
    """(name, operator, noise sd, region scored) of the three tasks on images of `shape` (height,
    width), the noise and blur of benchmarks/bench_restore.py. The box hides the centred square of a
    quarter of the image, measured without noise: it is scored on the box alone (elsewhere every
    method returns the measurement)."""
    height, width = shape
    box = (slice(height // 4, height // 4 + height // 2), slice(width // 4, width // 4 + width // 2))
    known = np.ones((height, width), bool)
    known[box] = False
    sigma = 1.5 if min(shape) >= 16 else 1.0
    return [(f"deblur (sigma {sigma:g}, noise 0.02)", operators.blur(sigma=sigma), 0.02, None),
            ("inpaint (centre box, no noise)", operators.mask(known), 0.0, box),
            ("4x super-resolution (noise 0.01)", operators.downsample(4), 0.01, None)]


def score(truth: np.ndarray, draws: np.ndarray, region=None):
    """pl.evaluate_restoration of draws (M, N, H, W[, C]) on the whole image or on `region` (rows, columns)."""
    if region is not None:
        truth, draws = truth[(slice(None),) + region], draws[(slice(None), slice(None)) + region]
    return evaluate_restoration(truth=truth, draws=draws, typicality=False)


def results_table(results: dict, prior: str) -> pd.DataFrame:
    rows = {}
    for task, run in results.items():
        rows[task] = {"scikit-image": run["baseline_name"], "PSNR scikit-image": run["baseline_scores"]["psnr"],
                      f"PSNR {prior} mean": run["scores"]["psnr"], "90% coverage": run["scores"]["coverage"],
                      "interval width": run["scores"]["interval_width"]}
    return pd.DataFrame(rows).T


# ---------------------------------------------------------------------- scikit-image's best guess
def tuned_baseline(operator, y_validation: np.ndarray, truth: np.ndarray, region=None):
    """(label, estimate) of the scikit-image candidate for this operator with the best median PSNR
    (on `region`) on the validation split; estimate(y) restores a batch of measurements."""
    best, best_psnr = None, -np.inf
    for label, estimate in candidates(operator, truth.shape[1:]):
        psnr = score(truth, estimate(y_validation)[None], region)["psnr"]
        if psnr > best_psnr:
            best, best_psnr = (label, estimate), psnr
    return best


def candidates(operator, shape: tuple) -> list:
    """scikit-image's methods for an operator: (label, function of a batch of measurements)."""
    from skimage.restoration import inpaint_biharmonic, richardson_lucy, wiener
    from skimage.transform import resize

    colour = len(shape) == 3
    if operator.name == "blur":
        kernel = operator.kernel
        found = [(f"wiener (balance {b:g})", _per_plane(lambda y, b=b: wiener(y, kernel, balance=b, clip=False)))
                 for b in (0.003, 0.01, 0.03, 0.1, 0.3)]
        found += [(f"richardson_lucy ({n} iterations)",
                   _per_plane(lambda y, n=n: richardson_lucy(np.clip(y, 0, 1), kernel, num_iter=n)))
                  for n in (5, 10, 20, 40)]
        return found
    if operator.name == "mask":
        def inpaint(y):
            holes = np.isnan(y).any(axis=-1) if colour else np.isnan(y)      # one mask per pixel
            return np.stack([inpaint_biharmonic(np.nan_to_num(image), hole, channel_axis=-1 if colour else None)
                             for image, hole in zip(y, holes)])
        return [("inpaint_biharmonic", lambda y: np.clip(inpaint(y), 0, 1))]
    if operator.name == "downsample":
        return [("bicubic resize", lambda y: np.clip(np.stack([resize(image, shape, order=3, mode="edge",
                                                                      anti_aliasing=False) for image in y]), 0, 1))]
    raise ValueError(f"no scikit-image method for {operator!r} in this demo")


def _per_plane(method):
    """A method on one (H, W) plane, run over a batch (N, H, W[, C]), clipped to [0, 1]."""
    def run(y):
        planes = y if y.ndim == 3 else np.moveaxis(y, -1, 1).reshape((-1,) + y.shape[1:3])
        out = np.stack([method(plane) for plane in planes])
        if y.ndim == 4:
            out = np.moveaxis(out.reshape((len(y), y.shape[3]) + y.shape[1:3]), 1, -1)
        return np.clip(out, 0, 1)
    return run


# ---------------------------------------------------------------------- pictures
def spread_picture(spread: np.ndarray) -> np.ndarray:
    """Per-pixel spreads (N, H, W[, C]) as grey images in [0, 1] (the channels' mean), white = the
    largest spread among them."""
    spread = np.asarray(spread, dtype=float)
    grey = spread.mean(axis=-1) if spread.ndim == 4 else spread
    top = float(grey.max())
    return grey / top if top > 0 else grey


def restoration_figure(rows: list, path, spread_max: float | None = None):
    """One row of panels per entry of `rows`, (label, [(title, array), ...]): images (intensities,
    NaN magenta, smaller ones such as a downsampled measurement enlarged) and, for a panel titled
    "spread", the per-pixel spread as a heat map (0 to `spread_max`, default the largest shown).
    A 1-D array (a matrix operator's measurement) is named, not drawn. Written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .tasks.plots import save_figure

    columns = max(len(panels) for _, panels in rows)
    spreads = [np.asarray(a, float) for _, panels in rows for title, a in panels if title == "spread"]
    if spread_max is None:
        spread_max = max((float(s.max()) for s in spreads), default=1.0) or 1.0
    figure, axes = plt.subplots(len(rows), columns, figsize=(1.3 * columns + 0.6, 1.45 * len(rows) + 0.2),
                                squeeze=False)
    figure.subplots_adjust(left=0.05, right=0.92, top=1 - 0.3 / (1.45 * len(rows) + 0.2), bottom=0.02,
                           wspace=0.06, hspace=0.28)
    for r, (label, panels) in enumerate(rows):
        for c in range(columns):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(panels):
                ax.axis("off")
                continue
            title, array = panels[c]
            array = np.asarray(array, dtype=float)
            if title == "spread":
                heat = ax.imshow(array.mean(axis=-1) if array.ndim == 3 else array, cmap="magma", vmin=0,
                                 vmax=spread_max, interpolation="nearest")
                if r == 0:
                    bar = figure.colorbar(heat, cax=figure.add_axes([0.935, 0.2, 0.012, 0.6]))
                    bar.ax.tick_params(labelsize=6)
            elif array.ndim == 1 or (array.ndim == 2 and min(array.shape) == 1):
                ax.text(0.5, 0.5, f"{array.size} numbers", ha="center", va="center", fontsize=7)
            else:
                shown = to_display(np.clip(array, 0, 1)[None])[0]
                ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(title, fontsize=7)
        axes[r, 0].set_ylabel(label.replace(" (", "\n("), fontsize=7)
    return save_figure(figure, Path(path))

"""Latent tools: pictures of a model's latent space, for any model with `encode` and `decode`.

    pl.latent_map(model, "map.png")                 # images decoded over a 2-D slice of the latent space
    pl.interpolate(model, a, b, steps=8, path="strip.png")   # from image a to image b through the latent

`demo_latent` is `plausible demo latent`: a 2-latent VAE on `jars`, its latent map, and how well
the jars' height and width are read back from the 2-D latent (held-out R²).
"""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np

from ..core.errors import NotSupportedError
from ..data.image_files import image_grid
from ..data.io import write_bytes

QUANTILES = (0.02, 0.98)   # the map spans these quantiles of the images' posterior means in each of its two dimensions


def _check_latent_model(model) -> None:
    if not (callable(getattr(model, "encode", None)) and callable(getattr(model, "decode", None))):
        raise NotSupportedError(f"model {getattr(model, 'name', type(model).__name__)!r} has no latent space "
                                "(encode and decode): fit a model that has one, e.g. pl.make('vae', latent=2), on images")
    if not getattr(model, "is_fitted", False):
        from ..core.errors import NotFittedError
        raise NotFittedError("the model is not fitted yet: call .fit(images) first")


def _levels(model) -> int | None:
    """How the model's images are shown: their levels (digits: 17), None for uint8 or floats."""
    levels = getattr(getattr(model, "codec_", None), "n_levels", None)
    return None if levels in (None, 256) else levels


def _write_png(picture: np.ndarray, path) -> Path:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return write_bytes(buffer.getvalue(), Path(path))


def latent_grid(model, images=None, size: int = 10, dims: tuple[int, int] = (0, 1), seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """The images of `latent_map` (size², ...) in reading order and their latent points (size², latent).

    Columns step along latent dimension dims[0] (left to right), rows along dims[1] (bottom to top,
    as on a plot), each from the 2nd to the 98th percentile of the posterior means of `images`
    (default: 500 of the model's own samples); every other dimension stays at their median."""
    _check_latent_model(model)
    if int(size) != size or size < 2:
        raise ValueError(f"size must be a whole number >= 2, got {size}")
    size = int(size)
    if images is None:
        images = model.sample(500, seed=seed)
    means = np.asarray(model.encode(images), dtype=float)
    latent = means.shape[1]
    first, second = (int(d) for d in dims)
    if len(dims) != 2 or first == second or not (0 <= first < latent and 0 <= second < latent):
        raise ValueError(f"dims must be two different latent dimensions in 0..{latent - 1}, got {tuple(dims)}")
    low, high = np.quantile(means, QUANTILES, axis=0)
    across, up = np.linspace(low[first], high[first], size), np.linspace(high[second], low[second], size)
    z = np.repeat(np.median(means, axis=0)[None], size * size, axis=0)
    z[:, first] = np.tile(across, size)
    z[:, second] = np.repeat(up, size)
    return model.decode(z), z


def latent_map(model, path=None, images=None, size: int = 10, dims: tuple[int, int] = (0, 1), scale: int = 2,
               seed: int = 0) -> np.ndarray:
    """A picture of the latent space: a `size` x `size` grid of images decoded over a 2-D slice of it
    (`latent_grid` says which), each enlarged `scale` times. Returns the picture (uint8) and writes
    it as a PNG to `path` (atomically) when given. Works for any fitted model with `encode` and
    `decode` (the image `vae`)."""
    decoded, _ = latent_grid(model, images, size, dims, seed)
    picture = image_grid(decoded, levels=_levels(model), columns=int(size), scale=scale)
    if path is not None:
        _write_png(picture, path)
    return picture


def interpolate(model, a, b, steps: int = 8, path=None, scale: int = 2) -> np.ndarray:
    """`steps` images from image `a` to image `b`, decoded along the straight line between their
    posterior means (`model.interpolate`); with `path`, the strip is also written there as a PNG."""
    _check_latent_model(model)
    if callable(getattr(model, "interpolate", None)):
        strip = model.interpolate(a, b, steps)
    else:
        ends = model.encode(np.stack([np.asarray(a), np.asarray(b)]))
        weights = np.linspace(0.0, 1.0, int(steps))[:, None]
        strip = model.decode((1 - weights) * ends[0] + weights * ends[1])
    if path is not None:
        _write_png(image_grid(strip, levels=_levels(model), columns=len(strip), scale=scale), path)
    return strip


# ---------------------------------------------------------------------- plausible demo latent
def recovery_r2(train_z, train_truth, test_z, test_truth, degree: int = 3) -> dict[str, float]:
    """Held-out R² of each truth column (a DataFrame) predicted from the latent by a polynomial
    regression of `degree` (least squares on the training images' latents)."""
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    regression = make_pipeline(StandardScaler(), PolynomialFeatures(degree), LinearRegression())
    predicted = regression.fit(train_z, train_truth.to_numpy()).predict(test_z)
    return {column: float(r2_score(test_truth[column], predicted[:, j])) for j, column in enumerate(test_truth.columns)}


def demo_latent(out="latent_map.png", strip="latent_strip.png", n: int = 4000, test: int = 1000, seed: int = 0,
                epochs: int | None = None, time_budget: float | None = None, device: str = "auto", say=print) -> dict:
    """`plausible demo latent`: fit a 2-latent VAE to `n` jars (32x32 grey, differing only in height
    and width), write its latent map to `out` and an interpolation strip (the shortest jar to the
    tallest of the held-out ones) to `strip` (None: not written), and read height and width back from
    the latent of `test` held-out jars (a cubic regression fitted on the training jars' latents;
    R², target >= 0.95). `epochs` None: the model's default (10 epochs of 4,000 jars). Prints a plain
    account through `say`; returns the numbers (and the fitted model)."""
    from .. import datasets
    from ..core.registry import make

    images, truth = datasets.load("jars", n=n + test, seed=seed, return_labels=True)
    train, held_out = slice(0, n), slice(n, n + test)
    say(f"plausible demo latent: a VAE with a 2-D latent fitted to {n:,} jars (32 x 32 grey, differing only in "
        f"height and width), {test:,} more held out")
    start = time.perf_counter()
    settings = {"epochs": epochs} if epochs is not None else {}      # None: the image vae's own choice
    model = make("vae", seed=seed, latent=2, time_budget=time_budget, device=device, **settings).fit(images[train])
    seconds = time.perf_counter() - start
    say(f"fit: {model.epochs_trained_} epochs in {seconds:.0f} s")
    r2 = recovery_r2(model.encode(images[train]), truth.iloc[train], model.encode(images[held_out]),
                     truth.iloc[held_out].reset_index(drop=True))
    say("height and width read back from the 2-D latent of the held-out jars (cubic regression, R^2; target >= 0.95):")
    for column, value in r2.items():
        say(f"  {column:<7} R^2 = {value:.3f}")
    latent_map(model, out, images=images[train], size=10)
    say(f"latent map: {out} (10 x 10 jars decoded over the latent plane: latent dimension 1 left to right, "
        "dimension 2 bottom to top; the VAE picks its own axes, so height and width may change along both)")
    result = {"r2": r2, "fit_seconds": seconds, "epochs": model.epochs_trained_, "map": str(out), "model": model}
    if strip is not None:
        heights = truth["height"].to_numpy()[held_out]
        ends = images[held_out][[int(np.argmin(heights)), int(np.argmax(heights))]]
        interpolate(model, ends[0], ends[1], steps=10, path=strip)
        say(f"interpolation: {strip} (the shortest held-out jar to the tallest, 10 steps through the latent)")
        result["strip"] = str(strip)
    return result

"""`pl.restore`: posterior draws of what was measured, x given y = A x + noise, under a learned prior.

    prior = pl.make("gmm", seed=0).fit(train_images)
    blur = pl.operators.blur(sigma=1.5)
    y = blur(test_images, noise_sd=0.02, seed=1)
    draws = pl.restore(prior, y, blur, noise_sd=0.02, n_draws=20)     # (20, N, H, W[, C])
    mean, spread = draws.mean(0), draws.std(0)

Images are restored as intensities in [0, 1] (uint8 / 255, level images / their top level), the
scale the operators measure on; tables (a `matrix` or `linear` operator on the numeric columns of
a fitted table) as one DataFrame per draw, like `impute`.

Which sampler runs is the model's: each rung declares `restore_methods` and implements
`_restore` on its own space (`plausible.core.model`); `method="auto"` takes the one measured best
for the model and operator, and the draws say which (`draws.method`). A level model's space is
each level's cell centre, v = (level + 1/2) / L, while the operators measure u = level / (L - 1):
v = a u + b with a = (L - 1) / L, b = 1 / (2L), so y is moved to v (a y + b A 1, noise a sd) and
the draws back (exactly; for uint8 images a = 0.996).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.errors import NotSupportedError, ParameterError
from ..core.model import VARIANTS, Model
from ..core.params import _check_count, _check_seed
from ..data.operators import Operator, _noise_sd


class Draws(np.ndarray):
    """Posterior draws (n_draws, N, ...) that know the sampler that made them (`method`)."""

    method: str | None = None

    def __array_finalize__(self, source) -> None:
        self.method = getattr(source, "method", None)

    def __reduce__(self):   # pickles (process pools) as a plain array
        return np.asarray(self).__reduce__()


def restore(model: Model, y, operator: Operator, noise_sd: float, n_draws: int = 20, seed: int | None = 0,
            method: str = "auto"):
    """`n_draws` draws from p(x | y) for measurements `y` = operator(x) + noise of sd `noise_sd`,
    under the fitted `model` as the prior of x.

    Images: `y` is a batch (N, ...) of the operator's output for one image of the model's shape
    (NaN where a mask measures nothing); returns `Draws` (n_draws, N, H, W[, C]) of intensities in
    [0, 1]. Tables: `y` is (N, M) (array or DataFrame) of a `matrix`/`linear` operator on the
    table's numeric columns in their order; returns a list of n_draws DataFrames.
    `method`: "auto" or one of the model's `restore_methods` (see `plausible models`)."""
    if not isinstance(model, Model):
        raise ParameterError(f"restore needs a fitted plausible model as the prior, got {type(model).__name__}")
    model._check_fitted()
    if not isinstance(operator, Operator):
        raise ParameterError(f"restore needs an operator from pl.operators (mask, blur, downsample, identity, matrix, "
                             f"linear), got {type(operator).__name__}")
    if not model.restore_methods:
        able = sorted({name for (name, kind), cls in VARIANTS.items()
                       if kind == model.data_kind and cls.restore_methods})
        raise NotSupportedError(f"model {model.name!r} cannot restore from measurements (it offers no posterior given "
                                f"y = A x + noise); fit one that can: {', '.join(able) or 'none registered'}")
    noise_sd = _noise_sd(noise_sd)
    n_draws = _check_count(n_draws, "n_draws", minimum=1)
    rng = np.random.default_rng(_check_seed(seed))
    if model.data_kind == "image":
        return _restore_images(model, y, operator, noise_sd, n_draws, rng, method)
    if model.data_kind == "table":
        return _restore_table(model, y, operator, noise_sd, n_draws, rng, method)
    raise NotSupportedError(f"restore works on images and tables; model {model.name!r} was fitted on "
                            f"{model.data_kind}s")


def _method(model: Model, bound, method: str, noise_sd: float) -> str:
    if method == "auto":
        return model._restore_choice(bound, noise_sd)
    if method not in model.restore_methods:
        raise ParameterError(f"method={method!r}: model {model.name!r} restores with "
                             f"{', '.join(map(repr, model.restore_methods))} (or 'auto')")
    return method


def _restore_images(model, y, operator, noise_sd, n_draws, rng, method) -> Draws:
    codec = model.codec_
    bound = operator.bind(codec.shape)
    y = np.asarray(y, dtype=float)
    if y.ndim < 2 or int(np.prod(y.shape[1:])) != bound.out_size:
        raise ParameterError(f"the measurements have shape {y.shape}; {operator!r} measures {bound.out_shape} of "
                             f"one {codec.image_shape} image: give a batch (N, {', '.join(map(str, bound.out_shape))})"
                             " (for one image, y[None])")
    y = y.reshape((len(y),) + bound.out_shape)
    flat = bound.read(y)
    scale, shift = _level_map(codec.n_levels)
    moved = scale * flat + shift * bound.forward(np.ones((1, bound.in_size)))
    moved[:, ~bound.measured] = 0.0
    chosen = _method(model, bound, method, scale * noise_sd)
    drawn = np.asarray(model._restore(moved, bound, scale * noise_sd, n_draws, rng, chosen), dtype=float)
    if drawn.shape != (n_draws, len(flat), bound.in_size):
        raise RuntimeError(f"{model.name}._restore returned shape {drawn.shape}, expected "
                           f"{(n_draws, len(flat), bound.in_size)}")
    images = np.clip((drawn - shift) / scale, 0.0, 1.0).reshape((n_draws, len(flat)) + codec.image_shape)
    out = images.view(Draws)
    out.method = chosen
    return out


def _level_map(n_levels: int | None) -> tuple[float, float]:
    """(a, b) with model space v = a u + b for user intensities u (module doc)."""
    if n_levels is None:
        return 1.0, 0.0
    return (n_levels - 1) / n_levels, 0.5 / n_levels


def _restore_table(model, y, operator, noise_sd, n_draws, rng, method) -> list[pd.DataFrame]:
    columns = [column.name for column in model.schema_.columns]
    numeric = {column.name for column in model.schema_.columns if column.kind in ("numeric", "integer")}
    others = [name for name in columns if name not in numeric]
    if others:
        raise ParameterError(f"column {others[0]!r} is not numeric: restore from linear measurements needs a model "
                             "fitted on numeric columns only; fit it on those columns")
    bound = operator.bind((len(columns),))
    index = None
    if isinstance(y, pd.DataFrame):
        index, y = y.index, y.to_numpy(dtype=float)
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[None]
    flat = bound.read(y)
    chosen = _method(model, bound, method, noise_sd)
    drawn = np.asarray(model._restore(flat, bound, noise_sd, n_draws, rng, chosen), dtype=float)
    frames = []
    for draw in drawn:
        frame = pd.DataFrame(draw, columns=columns, index=index)
        for column in model.schema_.columns:
            if column.kind == "integer":
                frame[column.name] = np.rint(frame[column.name]).astype("int64")
        frames.append(frame)
    return frames

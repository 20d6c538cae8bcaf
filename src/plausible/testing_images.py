"""The conformance suite for image models: the promises every rung's image version keeps.

    import plausible.testing_images
    plausible.testing_images.check_image_model("independent", verbose=True)

The same rules as `plausible.testing` (the table and series suite): each check builds tiny images,
fits the rung's image class with its `test_params`, asserts one promise, and raises `Skip` with the
reason where a promise does not apply to the declared capabilities. Three kinds of images are fed:
grey levels (an integer array, levels 0..4), colour uint8 (N, H, W, 3) and grey floats in [0, 1],
8 x 8 pixels each, so convolutional rungs fit in seconds.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .core.errors import ModelFileError, NotFittedError, NotSupportedError
from .core.registry import _discover, load, make
from .core.model import VARIANTS
from .data.schema import SchemaError
from .evaluation.image_metrics import bits_per_dim
from .testing import Skip, _equal, _expect, _random_states, pickle_blocked, run_checks

SIZE = 8
KINDS = ("levels", "uint8", "float")


def image_models() -> list[str]:
    """The names of every rung with an image version."""
    _discover()
    return sorted(name for name, kind in VARIANTS if kind == "image")


def image_data(kind: str = "levels", n: int = 64, seed: int = 0) -> np.ndarray:
    """Tiny structured images: a bright square at a random place on a darker, noisy ground
    (pixels that go together, so a model has something to learn beyond each pixel's marginal)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.0, 0.3, (n, SIZE, SIZE))
    for i, (row, col) in enumerate(rng.integers(0, SIZE - 3, (n, 2))):
        base[i, row:row + 3, col:col + 3] = rng.uniform(0.7, 1.0)
    if kind == "levels":
        return np.rint(base * 4).astype(np.int64)
    if kind == "uint8":
        tint = rng.uniform(0.5, 1.0, (n, 1, 1, 3))
        return np.rint(base[..., None] * tint * 255).astype(np.uint8)
    if kind == "float":
        return base
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def _class(name: str):
    _discover()
    cls = VARIANTS.get((name, "image"))
    if cls is None:
        raise ValueError(f"model {name!r} has no image version; image models: {', '.join(image_models())}")
    return cls


def _fit(name: str, kind: str = "levels", **params):
    cls = _class(name)
    return make(name, seed=0, **{**cls.test_params, **params}).fit(image_data(kind))


def _holes(images: np.ndarray, levels: int | None) -> np.ndarray:
    """Intensities with the bottom half of every image unknown (NaN)."""
    floats = images.astype(float) / (1 if levels is None else levels - 1)
    floats[:, SIZE // 2:] = np.nan
    return floats


# ---------------------------------------------------------------------- the checks
def check_fit_returns_model(name: str) -> None:
    cls = _class(name)
    model = make(name, seed=0, **cls.test_params)
    assert model.fit(image_data("levels")) is model, "fit must return the model itself"
    assert type(model) is cls and model.data_kind == "image", f"fitting images must give {cls.__name__}"


def check_sample_shape_dtype_levels(name: str) -> None:
    for kind in KINDS:
        images = image_data(kind)
        drawn = _fit(name, kind).sample(7, seed=1)
        assert drawn.shape == (7, *images.shape[1:]), f"{kind}: sample(7) gave shape {drawn.shape}"
        assert drawn.dtype == images.dtype, f"{kind}: sample gave dtype {drawn.dtype}, fitted {images.dtype}"
        top = {"float": 1.0, "uint8": 255}.get(kind, images.max())
        assert np.isfinite(drawn).all() and drawn.min() >= 0 and drawn.max() <= top, \
            f"{kind}: samples outside the fitted range [0, {top}]"
        assert _fit(name, kind).sample(0).shape == (0, *images.shape[1:]), "sample(0) must give no images"


def check_seeds(name: str) -> None:
    model = _fit(name)
    a, b, c = model.sample(6, seed=3), model.sample(6, seed=3), model.sample(6, seed=4)
    assert np.array_equal(a, b), "the same seed must give the same images"
    assert not np.array_equal(a, c), "another seed must give other images"
    assert _equal(_fit(name).sample(6, seed=3), a), "refitting with the same seed must give the same model"
    model.sample(2, seed=None)


def check_log_prob(name: str) -> None:
    cls = _class(name)
    images = image_data("levels")
    model = _fit(name)
    if cls.log_prob_kind == "none":
        _expect(NotSupportedError, lambda: model.log_prob(images[:3]), "log_prob of a rung that declares none")
        _expect(NotSupportedError, lambda: bits_per_dim(model, images[:3]), "bits_per_dim without a log_prob")
        return
    scores = model.log_prob(images[:10])
    assert scores.shape == (10,) and np.isfinite(scores).all(), "log_prob must give one finite number per image"
    bits = bits_per_dim(model, images[:10])
    assert 0 < bits < 2 * np.log2(5) + 1, f"bits/dim {bits} is implausible for 5 levels"
    floats = image_data("float")
    scores = _fit(name, "float").log_prob(floats[:5])
    assert scores.shape == (5,) and np.isfinite(scores).all(), "log_prob of float images must be finite"


def check_impute(name: str) -> None:
    cls = _class(name)
    for kind in ("levels", "uint8"):
        images = image_data(kind)[:5]
        levels = 5 if kind == "levels" else 256
        model = _fit(name, kind)
        holes = _holes(images, levels)
        if cls.impute_kind == "none":
            _expect(NotSupportedError, lambda: model.impute(holes), "impute of a rung that declares none")
            return
        draws = model.impute(holes, n_draws=3, seed=2)
        assert len(draws) == 3 and all(d.shape == holes.shape and d.dtype == holes.dtype for d in draws), \
            "impute gives n_draws arrays like its input"
        known = ~np.isnan(holes)
        for draw in draws:
            assert np.array_equal(draw[known], holes[known]), "known pixels must come back unchanged"
            assert not np.isnan(draw).any() and draw.min() >= 0 and draw.max() <= 1, "every hole filled in [0, 1]"
            assert np.allclose(draw * (levels - 1), np.rint(draw * (levels - 1))), "fills are levels of the images"
        mask = np.isnan(holes)
        masked = model.impute(images, mask=mask, n_draws=1, seed=2)[0]
        assert masked.dtype == images.dtype and np.array_equal(masked[~mask], images[~mask]), \
            "impute(images, mask=) keeps the unmasked pixels and the dtype"
        assert np.array_equal(model.impute(holes, n_draws=2, seed=2)[1], draws[1]), "impute is seeded"


def check_save_load(name: str) -> None:
    cls = _class(name)
    images = image_data("uint8")
    model = _fit(name, "uint8")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.plausible"
        model.save(path)
        with pickle_blocked():
            loaded = load(path)
        assert type(loaded) is cls, f"load gave {type(loaded).__name__}, not the image class {cls.__name__}"
        assert np.array_equal(model.sample(5, seed=3), loaded.sample(5, seed=3)), "samples after load"
        if cls.log_prob_kind != "none":
            np.testing.assert_allclose(model.log_prob(images[:5]), loaded.log_prob(images[:5]),
                                       err_msg="log_prob after load")
        _expect(ModelFileError, lambda: model.save(path), "saving over a model folder without overwrite=True")


def check_bad_input(name: str) -> None:
    cls = _class(name)
    images = image_data("levels")
    _expect(NotFittedError, lambda: cls(**cls.test_params).sample(2), "sampling an unfitted model")
    _expect(SchemaError, lambda: cls(**cls.test_params).fit(images[:1]), "fitting one image")
    holes = image_data("float")
    holes[0, 0, 0] = np.nan
    _expect(SchemaError, lambda: make(name, **cls.test_params).fit(holes), "fitting images with NaN pixels")
    _expect(SchemaError, lambda: make(name, **cls.test_params).fit(images.astype(float) * 2),
            "fitting floats outside [0, 1]")
    _expect(SchemaError, lambda: make(name, **cls.test_params).fit(np.zeros((4, 8, 8, 2))), "2 channels")
    model = _fit(name)
    wrong = [(np.zeros((3, 6, 6), np.int64), "a wrong image size"), (np.zeros((3, 8, 8, 3), np.int64), "colour for grey"),
             (np.full((3, 8, 8), 9), "levels above the fitted ones")]
    if cls.log_prob_kind != "none":
        for bad, what in wrong:
            _expect(SchemaError, lambda: model.log_prob(bad), f"log_prob of {what}")
        scored = model.log_prob(np.concatenate([images[:2], np.full((1, 8, 8), 9)]), unseen="impossible")
        assert np.isneginf(scored[2]) and np.isfinite(scored[:2]).all(), "unseen='impossible': -inf for level 9"
    if cls.impute_kind != "none":
        for bad, what in wrong[:2]:
            _expect(SchemaError, lambda: model.impute(bad.astype(float)), f"impute of {what}")
        _expect(SchemaError, lambda: model.impute(np.full((2, 8, 8), np.nan)), "impute of an all-NaN image")


def check_global_state(name: str) -> None:
    import torch

    cls = _class(name)
    before = _random_states()
    threads = torch.get_num_threads()
    model = _fit(name)
    model.sample(4, seed=1)
    if cls.impute_kind != "none":
        model.impute(_holes(image_data("levels")[:2], 5), n_draws=1, seed=1)
    if cls.log_prob_kind != "none":
        model.log_prob(image_data("levels")[:3])
    after = _random_states()
    changed = [key for key in before if not _equal(before[key], after[key])]
    assert not changed, f"the model touched the global random state: {', '.join(changed)} changed"
    assert torch.get_num_threads() == threads, "the model changed torch's thread count"


def check_kind_switch(name: str) -> None:
    """`pl.make(name)` gives the table class where there is one; images make it the image class,
    and a table afterwards makes it the table class again."""
    cls = _class(name)
    others = [c for (n, kind), c in VARIANTS.items() if n == name and kind != "image"]
    if not others:
        raise Skip("an image-only rung: no table class to switch from")
    model = make(name, seed=0)
    assert type(model) is others[0], "make gives the table class"
    model.set_params(**{k: v for k, v in cls.test_params.items() if k in model.params})
    model.fit(image_data("levels"))
    assert type(model) is cls and model.sample(2).shape == (2, SIZE, SIZE), "images make it the image class"


CHECKS = {
    check.__name__.removeprefix("check_"): check
    for check in [check_fit_returns_model, check_sample_shape_dtype_levels, check_seeds, check_log_prob,
                  check_impute, check_save_load, check_bad_input, check_global_state, check_kind_switch]
}


def check_image_model(name: str, checks: list[str] | None = None, verbose: bool = False) -> dict[str, str]:
    """Run the image checks (all, or the named ones) on a rung's image version; {check: outcome}."""
    _class(name)
    return run_checks(CHECKS, name, checks, verbose, "image conformance check")

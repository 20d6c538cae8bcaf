"""The image gan and autoregressive rungs: each one's own property (the shared promises are in
tests/test_conformance_images.py)."""
import itertools

import numpy as np
import pytest

import plausible as pl
from plausible.core.errors import NotSupportedError
from plausible.testing_images import image_data

TINY = {"epochs": 3, "batch_size": 16, "hidden": 8, "blocks": 1}


def every_binary_image(shape):
    """All 2^D images of `shape` with levels 0 and 1."""
    size = int(np.prod(shape))
    return np.array(list(itertools.product((0, 1), repeat=size)), dtype=np.int64).reshape(-1, *shape)


def binary_images(shape, n=40, seed=0):
    images = np.random.default_rng(seed).integers(0, 2, (n, *shape))
    images[0] = 1    # both levels present: L = 2
    return images


@pytest.mark.parametrize("shape", [(3, 3), (1, 2, 3)], ids=["grey 3x3", "colour 1x2 RGB"])
def test_autoregressive_sums_to_one_over_every_binary_image(shape):
    model = pl.make("autoregressive", seed=0, **TINY).fit(binary_images(shape))
    total = np.exp(model.log_prob(every_binary_image(shape))).sum()
    assert abs(total - 1.0) < 1e-5, f"sum of P over all {2 ** int(np.prod(shape))} images is {total}"


def exact_conditional(model, images, unknown):
    """P(unknown values | known ones) of one image by enumeration over the unknown values."""
    options = np.array(list(itertools.product((0, 1), repeat=int(unknown.sum()))))
    filled = np.repeat(images[None], len(options), axis=0).reshape(len(options), -1)
    filled[:, unknown.reshape(-1)] = options
    p = np.exp(model.log_prob(filled.reshape(len(options), *images.shape)))
    return options, p / p.sum()


def draw_frequencies(draws, unknown, options):
    picked = np.rint(draws.reshape(len(draws), -1)[:, unknown.reshape(-1)]).astype(int)
    return np.array([(picked == option).all(axis=1).mean() for option in options])


@pytest.mark.parametrize("holes, sweeps", [("bottom row", 0), ("first pixel", 1)])
def test_autoregressive_impute_draws_from_the_exact_conditional(holes, sweeps):
    """Unknown values after every known one: the raster draw is exact; one unknown value anywhere:
    one Gibbs sweep draws from its exact full conditional."""
    model = pl.make("autoregressive", seed=0, gibbs_sweeps=sweeps, **TINY).fit(binary_images((2, 2)))
    image = np.array([[1, 0], [1, 1]])
    unknown = np.zeros((2, 2), bool)
    if holes == "bottom row":
        unknown[1] = True
    else:
        unknown[0, 0] = True
    options, exact = exact_conditional(model, image, unknown)
    holed = np.repeat(np.where(unknown, np.nan, image.astype(float))[None], 1500, axis=0)   # 1500 draws at once
    draws = model.impute(holed, n_draws=1, seed=1)[0]
    assert np.abs(draw_frequencies(draws, unknown, options) - exact).max() < 0.05


def test_autoregressive_float_images_get_a_density_on_bins_cells():
    """Floats: log P(cells) + D log bins; every value of one cell gets the same density."""
    images = image_data("float", n=32)
    model = pl.make("autoregressive", seed=0, bins=4, **TINY).fit(images)
    cells = np.minimum((images[:3] * 4).astype(int), 3)
    moved = (cells + 0.25 + 0.5 * np.random.default_rng(0).random(cells.shape)) / 4
    np.testing.assert_allclose(model.log_prob(images[:3]), model.log_prob(moved))
    drawn = model.sample(5, seed=0)
    assert drawn.dtype == images.dtype and drawn.shape == (5, 8, 8)


def test_gan_samples_have_the_fitted_shape_and_dtype_and_refuses_log_prob_and_impute():
    images = image_data("uint8", n=32)[:, :6, :5]                 # not a power of two: the final resize
    model = pl.make("gan", seed=0, epochs=2, batch_size=16, latent=4, width=4).fit(images)
    drawn = model.sample(5, seed=0)
    assert drawn.shape == (5, 6, 5, 3) and drawn.dtype == np.uint8
    with pytest.raises(NotSupportedError, match="push-forward of noise"):
        model.log_prob(images[:2])
    with pytest.raises(NotSupportedError, match="cannot condition on known pixels"):
        holes = images[:2] / 255
        holes[:, :2] = np.nan
        model.impute(holes)


def test_gan_plays_several_critic_steps_per_generator_step_seeded_and_leaves_the_global_rng_alone():
    """Its own loop (WGAN-GP wants Adam β = (0.5, 0.9) and `critic_steps` critic steps per generator
    step): the history counts the generator's steps; one seed gives the same samples; torch's global
    random state is untouched."""
    import torch

    images = image_data("levels", n=40)                   # 36 training images: 3 critic batches an epoch
    settings = {"epochs": 4, "batch_size": 12, "latent": 4, "width": 4, "critic_steps": 3}
    state = torch.random.get_rng_state()
    model = pl.make("gan", seed=0, **settings).fit(images)
    assert torch.equal(state, torch.random.get_rng_state())
    assert [h["generator_steps"] for h in model.history_] == [1, 2, 3, 4][:len(model.history_)]
    assert all(np.isfinite(h["validation_distance"]) for h in model.history_)
    again = pl.make("gan", seed=0, **settings).fit(images)
    np.testing.assert_array_equal(model.sample(6, seed=1), again.sample(6, seed=1))

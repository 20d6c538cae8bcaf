"""vae on images: the pixel likelihoods are proper distributions, encode/decode/interpolate keep the
fitted shape and dtype, the latent pictures are written, and (slow) a 2-D latent fitted to jars holds
their height and width."""
import numpy as np
import pytest
import torch
from PIL import Image

import plausible as pl
from plausible.ladder.image_vae import pixel_log_likelihood
from plausible.testing_images import image_data

TINY = {"epochs": 3, "channels": 4, "hidden": 16, "batch_size": 32, "proposals": 4, "impute_proposals": 4}


@pytest.fixture(scope="module")
def grey():
    return pl.make("vae", seed=0, latent=2, **TINY).fit(image_data("levels"))


def test_the_discretized_logistic_sums_to_one_over_the_levels_and_the_truncated_one_integrates_to_one():
    levels = 5
    location = torch.tensor([-0.3, 0.1, 0.5, 0.97, 1.4], dtype=torch.float64)
    log_scale = torch.tensor([-3.0, -1.0, -6.5, 0.5, -2.0], dtype=torch.float64)
    x = (torch.arange(levels, dtype=torch.float64) + 0.5) / levels
    mass = torch.exp(pixel_log_likelihood(x[:, None], location, log_scale, levels)).sum(0)
    np.testing.assert_allclose(mass.numpy(), 1.0, atol=1e-9)
    grid = torch.linspace(0, 1, 200001, dtype=torch.float64)[:, None]
    density = torch.exp(pixel_log_likelihood(grid, location[:4], log_scale[:4].clamp(min=-3), None))
    np.testing.assert_allclose(torch.trapezoid(density, grid, dim=0).numpy(), 1.0, atol=1e-4)


def test_encode_decode_and_interpolate_keep_the_fitted_shape_and_dtype(grey):
    images = image_data("levels")
    z = grey.encode(images[:6])
    assert z.shape == (6, 2) and z.dtype == float and np.isfinite(z).all()
    decoded = grey.decode(z)
    assert decoded.shape == (6, 8, 8) and decoded.dtype == images.dtype and 0 <= decoded.min() <= decoded.max() <= 4
    assert grey.decode(z[0]).shape == (1, 8, 8)
    strip = grey.interpolate(images[0], images[1:2], steps=5)
    assert strip.shape == (5, 8, 8) and np.array_equal(strip[[0, -1]], grey.decode(z[:2]))
    holes = images[:2].astype(float) / 4
    holes[:, 4:] = np.nan                      # unknown pixels: the posterior mean given the known ones
    assert grey.encode(holes).shape == (2, 2)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        grey.decode(np.zeros((3, 5)))
    with pytest.raises(pl.SchemaError, match="shape"):
        grey.encode(np.zeros((2, 6, 6), np.int64))


@pytest.mark.parametrize("kind, shape", [("uint8", (4, 8, 8, 3)), ("float", (4, 8, 8))])
def test_decode_gives_colour_and_float_images_back(kind, shape):
    images = image_data(kind)
    model = pl.make("vae", seed=0, latent=3, components=2, **TINY).fit(images)    # a mixture of two per pixel
    assert np.isfinite(model.log_prob(images[:3])).all()
    decoded = model.decode(model.encode(images[:4]))
    assert decoded.shape == shape and decoded.dtype == images.dtype


def test_any_image_size_fits_and_latent_carries_over_from_the_table_vae():
    images = np.random.default_rng(0).integers(0, 3, (40, 5, 11))
    table_vae = pl.make("vae", latent=3, epochs=2, hidden=16)      # settings the image vae shares
    model = table_vae.fit(images)
    assert model.latent_ == 3 and model.hidden == 16 and model.sample(2).shape == (2, 5, 11)


def test_more_proposals_tighten_the_log_prob_estimate(grey):
    images = image_data("levels")[:20]
    rough = pl.clone(grey).set_params(proposals=1)
    rough.__dict__.update({k: v for k, v in grey.__dict__.items() if k.endswith("_")})
    tight = pl.clone(grey).set_params(proposals=64)
    tight.__dict__.update({k: v for k, v in grey.__dict__.items() if k.endswith("_")})
    assert tight.log_prob(images).mean() > rough.log_prob(images).mean()   # the IWAE bound rises with K


def test_latent_map_and_interpolation_strip_are_written_as_png(grey, tmp_path):
    picture = pl.latent_map(grey, tmp_path / "map.png", images=image_data("levels"), size=4, scale=1)
    assert picture.dtype == np.uint8 and picture.shape == (4 * 9 + 1, 4 * 9 + 1)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "map.png")), picture)
    strip = pl.interpolate(grey, image_data("levels")[0], image_data("levels")[1], steps=6, path=tmp_path / "s.png")
    assert strip.shape == (6, 8, 8) and Image.open(tmp_path / "s.png").size == (6 * 18 + 2, 18 + 2)   # scale 2, 2 px lines
    with pytest.raises(ValueError, match="dims"):
        pl.latent_map(grey, images=image_data("levels"), dims=(0, 2))
    plain = pl.make("independent").fit(image_data("levels"))
    with pytest.raises(pl.NotSupportedError, match="no latent space"):
        pl.latent_map(plain)


@pytest.mark.slow
def test_a_two_dimensional_latent_of_jars_holds_their_height_and_width(tmp_path):
    from plausible.tasks.latent import demo_latent

    # the demo's defaults: 4,000 jars, 10 epochs (epochs=None), 1,000 held out; measured R^2 0.997 and 0.997
    result = demo_latent(out=tmp_path / "map.png", strip=tmp_path / "strip.png", say=lambda line: None)
    assert result["r2"]["height"] >= 0.9 and result["r2"]["width"] >= 0.9
    assert (tmp_path / "map.png").exists() and (tmp_path / "strip.png").exists()

"""diffusion on images: the sampler integrates the true process (given the exact denoiser of a known
Gaussian), a trained model reproduces a known Gaussian image distribution, inpainting keeps the
known pixels and fills from them, and labels steer what is sampled."""
import numpy as np
import pytest
import torch

import plausible as pl
from plausible.core.errors import ParameterError
from plausible.data.schema import SchemaError
from plausible.ladder.image_diffusion import ImageDiffusion, NoiseSchedule, from_unit, run_sampler, to_unit

FAST = {"channels": 16, "resolutions": 2, "attention": False, "batch_size": 64, "sampling_steps": 10,
        "learning_rate": 2e-3}


def gaussian_images(n: int, seed: int = 0, side: int = 4):
    """n grey float images side x side from N(mean, cov): a smooth mean from 0.35 to 0.65 and a rank-2
    covariance (a brightness and a left-right gradient, sd 0.08 and 0.05) plus 0.01² per pixel;
    clipped to [0, 1], which moves fewer than 1 in 10,000 pixels."""
    rows, cols = np.mgrid[0:side, 0:side] / (side - 1)
    mean = (0.35 + 0.3 * (rows + cols) / 2).ravel()
    factors = np.stack([np.full(side * side, 0.08), 0.05 * (2 * cols.ravel() - 1)], axis=1)
    cov = factors @ factors.T + 0.01 ** 2 * np.eye(side * side)
    images = np.random.default_rng(seed).multivariate_normal(mean, cov, size=n)
    return np.clip(images, 0, 1).reshape(n, side, side), mean, cov


def exact_eps(mean_x: torch.Tensor, cov_x: torch.Tensor, schedule: NoiseSchedule):
    """The optimal ε-predictor when x_0 ~ N(m, S): ε*(x_t) = σ_t (α_t² S + σ_t² I)⁻¹ (x_t − α_t m)."""
    def eps(x, t):
        a, s = schedule.alpha_bar[t].sqrt(), (1 - schedule.alpha_bar[t]).sqrt()
        flat = x.reshape(len(x), -1)
        precision = torch.linalg.inv(a ** 2 * cov_x + s ** 2 * torch.eye(len(cov_x), dtype=cov_x.dtype))
        return (s * (flat - a * mean_x) @ precision).reshape(x.shape)
    return eps


@pytest.mark.parametrize("solver, eta", [("dpm++2m", 0.0), ("ddim", 0.0), ("ddim", 1.0)])
def test_the_sampler_given_the_exact_denoiser_draws_the_gaussian(solver, eta):
    _, mean, cov = gaussian_images(1)
    mean_x, cov_x = torch.as_tensor(to_unit(mean)), torch.as_tensor(4 * cov)      # x = 2v − 1
    schedule = NoiseSchedule(NoiseSchedule.cosine(1000).alpha_bar.double())
    generator = torch.Generator().manual_seed(0)
    x = torch.randn((4000, 1, 4, 4), generator=generator, dtype=torch.float64)
    steps = 50 if eta else 25
    drawn = run_sampler(exact_eps(mean_x, cov_x, schedule), x, schedule, schedule.times(steps), generator, eta=eta,
                        solver=solver)
    values = from_unit(drawn).reshape(len(drawn), -1).numpy()
    assert np.abs(values.mean(0) - mean).max() < 0.01
    # Monte-Carlo error of a 4,000-draw covariance is about 3% of its norm; the discretisation adds some
    assert np.linalg.norm(np.cov(values.T) - cov) / np.linalg.norm(cov) < 0.12


def test_repaint_given_the_exact_denoiser_moves_toward_the_gaussian_conditional():
    _, mean, cov = gaussian_images(1)
    truth = np.random.default_rng(1).multivariate_normal(mean, cov, size=200)
    known = np.zeros(16, dtype=bool)
    known[:8] = True                                                       # the top two rows
    conditional = mean[~known] + (truth[:, known] - mean[known]) @ np.linalg.solve(cov[np.ix_(known, known)],
                                                                                    cov[np.ix_(known, ~known)])
    schedule = NoiseSchedule(NoiseSchedule.cosine(1000).alpha_bar.double())
    generator = torch.Generator().manual_seed(0)
    clean = torch.as_tensor(to_unit(truth)).reshape(200, 1, 4, 4)
    mask = torch.as_tensor(np.broadcast_to(known, (200, 16)).copy()).reshape(200, 1, 4, 4)
    x = torch.randn(clean.shape, generator=generator, dtype=torch.float64)
    filled = run_sampler(exact_eps(torch.as_tensor(to_unit(mean)), torch.as_tensor(4 * cov), schedule), x, schedule,
                         schedule.times(25), generator, eta=1.0, known=(clean, mask), resamples=3)
    values = from_unit(filled).reshape(200, 16).numpy()
    assert np.allclose(values[:, known], truth[:, known]), "RePaint gives the known pixels back"
    error = np.abs(values[:, ~known] - conditional).mean()
    prior_error = np.abs(mean[~known] - conditional).mean()
    # the draws scatter around the conditional mean by its own spread (about 0.01 here)
    assert error < 0.5 * prior_error, (error, prior_error)


def constant_images(n: int, seed: int = 0) -> np.ndarray:
    """8 x 8 grey images (levels 0..4), each one level everywhere: the simplest picture structure."""
    return np.repeat(np.random.default_rng(seed).integers(0, 5, n), 64).reshape(n, 8, 8)


@pytest.mark.slow   # 15-30 s: the fast suite must stay under 10 minutes on 2 cores
def test_impute_keeps_the_known_pixels_and_continues_them():
    images = constant_images(256)
    model = pl.make("diffusion", seed=0, updates=300, **FAST).fit(images)
    holes = images[:20].astype(float) / 4
    holes[:, 4:] = np.nan
    draws = model.impute(holes, n_draws=2, seed=1)
    for draw in draws:
        assert np.array_equal(draw[:, :4], holes[:, :4])
        # the hidden half takes the visible half's level (a guess from the marginal is off by 0.3 on average)
        assert np.abs(draw[:, 4:] - images[:20, 4:] / 4).mean() < 0.1


def two_class_images(n: int, seed: int = 0):
    """8 x 8 grey images: class "dark" near level 1 of 0..9, class "bright" near level 8."""
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(n) < 0.5, "dark", "bright")
    base = np.where(labels == "dark", 1, 8)[:, None, None]
    return np.clip(base + rng.integers(-1, 2, (n, 8, 8)), 0, 9), labels


@pytest.mark.slow   # 15-30 s: the fast suite must stay under 10 minutes on 2 cores
def test_labels_steer_samples_and_survive_save_and_load(tmp_path):
    images, labels = two_class_images(256)
    model = pl.make("diffusion", seed=0, updates=200, guidance=1.5, **FAST)
    assert model.data_kind == "image", "guidance is image-only: make gives the image class"
    model.fit(images, labels=labels)
    dark = model.sample(16, seed=1, labels="dark")
    bright = model.sample(16, seed=1, labels=np.array(["bright"] * 16))
    assert dark.mean() < 3 < 6 < bright.mean(), (dark.mean(), bright.mean())
    mixed = model.sample(8, seed=1, labels={"label": ["dark", "bright"] * 4})
    assert (mixed[::2].mean() < 4.5 < mixed[1::2].mean())
    unconditional = model.sample(64, seed=2)                    # no labels: both kinds
    assert ((unconditional.mean(axis=(1, 2)) < 4.5).mean() > 0.2) and ((unconditional.mean(axis=(1, 2)) > 4.5).mean() > 0.2)
    model.save(tmp_path / "m")
    loaded = pl.load(tmp_path / "m")
    assert np.array_equal(loaded.sample(4, seed=3, labels="bright"), model.sample(4, seed=3, labels="bright"))
    holes = images[:6].astype(float) / 9
    holes[:, :, 4:] = np.nan
    filled = model.impute(holes, n_draws=1, seed=0, labels=labels[:6])[0]
    assert np.array_equal(filled[:, :, :4], holes[:, :, :4])


def test_label_errors_name_what_to_do():
    images, labels = two_class_images(64)
    model = pl.make("diffusion", seed=0, **ImageDiffusion.test_params)
    model.fit(images, labels=labels)
    with pytest.raises(SchemaError, match="never seen in training"):
        model.sample(2, labels="grey")
    with pytest.raises(SchemaError, match="3 labels were given for 2 images"):
        model.sample(2, labels=["dark"] * 3)
    with pytest.raises(SchemaError, match="label columns are: label"):
        model.sample(2, labels={"colour": "dark"})
    with pytest.raises(SchemaError, match="give one label"):
        pl.make("diffusion", guidance=1.0).fit(images, labels=labels[:10])
    with pytest.raises(SchemaError, match="bin it first"):
        pl.make("diffusion", guidance=1.0).fit(np.zeros((300, 4, 4)), labels=np.arange(300))
    plain = pl.make("diffusion", seed=0, **ImageDiffusion.test_params).fit(images)
    with pytest.raises(ParameterError, match="fitted without labels"):
        plain.sample(2, labels="dark")


@pytest.mark.slow
def test_samples_match_a_known_gaussian_image_distribution():
    """4 x 4 grey images from a known Gaussian: the sample mean within 0.02 of the true mean at every
    pixel, and the covariance within 30% of the truth (relative Frobenius norm; 4,000 samples of the
    truth itself are within about 3%). Passed with the ODE sampler below (25 DPM-Solver++ steps), in 1,419 s
    on a shared machine 5x oversubscribed."""
    images, mean, cov = gaussian_images(4000)
    model = pl.make("diffusion", seed=0, updates=3000, channels=32, resolutions=2, batch_size=128,
                    learning_rate=1e-3, eta=0.0, solver="dpm++2m", sampling_steps=25).fit(images)
    drawn = model.sample(4000, seed=1).reshape(4000, -1)
    assert np.abs(drawn.mean(0) - mean).max() < 0.02
    assert np.linalg.norm(np.cov(drawn.T) - cov) / np.linalg.norm(cov) < 0.3

"""The latent-space posterior sampler (`ladder/_latent_posterior.py`) and the image vae's restore."""
import numpy as np
import pytest
import torch

import plausible as pl
from plausible.ladder import _latent_posterior as latent_module
from plausible.ladder._latent_posterior import LatentDecoder, _Measurement, latent_posterior


def _linear_decoder(weights: np.ndarray, offset: np.ndarray, variance: float) -> LatentDecoder:
    """x | z ~ N(W z + b, v I): the model is linear-Gaussian, its posterior given y closed-form."""
    w, b = torch.from_numpy(weights).float(), torch.from_numpy(offset).float()

    def moments(z):
        mean = z.float() @ w.T + b
        return mean, torch.full_like(mean, variance)

    def draw(z, generator):
        noise = torch.randn((len(z), len(offset)), generator=generator)
        return (moments(z)[0] + variance ** 0.5 * noise).double().numpy()

    def encode(x, known):                       # an uninformed encoder: the prior
        return torch.zeros(len(x), weights.shape[1]), torch.zeros(len(x), weights.shape[1])

    return LatentDecoder(weights.shape[1], moments, draw, encode)


@pytest.mark.parametrize("operator", [pl.operators.mask(np.arange(16).reshape(4, 4) % 3 == 0),
                                      pl.operators.identity()])
def test_on_a_linear_gaussian_decoder_the_draws_match_the_closed_form_posterior(operator):
    # for masks and identity approximations 1 and 3 of the module doc are exact: only MCMC error is left
    rng = np.random.default_rng(0)
    weights, offset, variance, noise_sd = 0.3 * rng.standard_normal((16, 2)), np.full(16, 0.5), 0.01, 0.05
    bound = operator.bind((4, 4))
    truth = offset + weights @ rng.standard_normal(2)
    y = bound.forward(truth[None]) + noise_sd * rng.standard_normal((1, bound.out_size))
    y[:, ~bound.measured] = 0.0
    draws = latent_posterior(_linear_decoder(weights, offset, variance), y, bound, noise_sd, 600,
                             torch.Generator().manual_seed(1), proposals=64, steps=30)[:, 0]
    a = bound.matrix[bound.measured]
    prior = weights @ weights.T + variance * np.eye(16)
    gain = prior @ a.T @ np.linalg.inv(a @ prior @ a.T + noise_sd ** 2 * np.eye(len(a)))
    mean = offset + gain @ (y[0, bound.measured] - a @ offset)
    sd = np.sqrt(np.diag(prior - gain @ a @ prior))
    # measured: within 1.9 standard errors (as if the 600 draws were independent) and 7% of the sd after
    # 30 steps; importance resampling alone (steps=0) was 12-22 standard errors off
    assert (np.abs(draws.mean(0) - mean) / (sd / np.sqrt(600))).max() < 4
    assert draws.std(0) == pytest.approx(sd, rel=0.1)


def test_the_conditioning_update_is_the_gaussian_one_for_disjoint_and_overlapping_rows(monkeypatch):
    # noiseless blur is ill-conditioned: conjugate gradients run to a tight tolerance here (1e-3 by default)
    monkeypatch.setattr(latent_module, "CG_TOLERANCE", 1e-10)
    rng = np.random.default_rng(2)
    for operator in (pl.operators.downsample(2), pl.operators.blur(sigma=1.0)):
        bound = operator.bind((6, 6))
        measurement = _Measurement(bound, 0.0)                          # noiseless: the update is deterministic
        assert measurement.disjoint == (operator.name == "downsample")
        x0, variance = rng.uniform(size=(3, 36)), rng.uniform(0.01, 0.1, size=(3, 36))
        y = rng.uniform(size=(3, bound.out_size))
        moved = measurement.condition(*(torch.from_numpy(v) for v in (x0, variance, y)), torch.Generator()).numpy()
        a = bound.matrix
        for i in range(3):
            expected = x0[i] + variance[i] * (a.T @ np.linalg.solve(a @ np.diag(variance[i]) @ a.T, y[i] - a @ x0[i]))
            assert moved[i] == pytest.approx(expected, abs=1e-5)
            assert a @ moved[i] == pytest.approx(y[i], abs=1e-5)       # noiseless: the measurement is met


@pytest.fixture(scope="module")
def vae():
    # the smallest vae found that leaves its posterior collapse behind (reconstructions closer than the
    # prior mean: 40 epochs, latent 8; with latent 4 or 25 epochs it reconstructs no better than the mean)
    images = pl.datasets.load("digits")
    model = pl.make("vae", seed=0, epochs=40, channels=8, hidden=64, latent=8, learning_rate=5e-3,
                    restore_proposals=16, restore_steps=10).fit(images[:300])
    return model, images[300:310]


def test_vae_restore_gives_seeded_draws_of_the_images_shape(vae):
    model, test = vae
    blur = pl.operators.blur(sigma=1.0)
    y = blur(test, noise_sd=0.05, seed=1)
    draws = pl.restore(model, y, blur, noise_sd=0.05, n_draws=3, seed=0)
    assert draws.shape == (3, 10, 8, 8) and draws.method == "latent" and model.restore_methods == ("latent",)
    assert np.isfinite(draws).all() and draws.min() >= 0 and draws.max() <= 1
    assert np.array_equal(draws, pl.restore(model, y, blur, noise_sd=0.05, n_draws=3, seed=0))
    assert not np.array_equal(draws, pl.restore(model, y, blur, noise_sd=0.05, n_draws=3, seed=1))
    assert draws.std(0).mean() > 0.01                                    # the draws differ


def test_vae_restore_from_a_nearly_noiseless_mask_beats_the_prior_mean(vae):
    model, test = vae
    truth = test / 16.0
    known = np.add.outer(np.arange(8), np.arange(8)) % 2 == 0           # every other pixel measured
    mask = pl.operators.mask(known)
    draws = pl.restore(model, mask(test, noise_sd=0.01, seed=1), mask, noise_sd=0.01, n_draws=8, seed=0)
    restored = draws.mean(0)
    prior = model.sample(400, seed=0).astype(float).mean(0) / 16.0
    assert np.abs(restored - truth)[:, known].mean() < 0.05              # the measured pixels are kept
    error, prior_error = (np.sqrt(((estimate - truth)[:, ~known] ** 2).mean()) for estimate in (restored, prior))
    assert error < 0.9 * prior_error                   # and the hidden ones inferred from them (0.214 vs 0.278)

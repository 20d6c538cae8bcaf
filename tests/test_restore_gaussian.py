"""Exact restore under gaussian and gmm priors (ladder/_linear_gaussian.py): draws against the closed
form computed here with dense numpy, mixture weights by hand, a noiseless mask against impute's
conditional mean, level images through pl.restore's level map, and tables in their own units."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal, norm

import plausible as pl
from plausible.core.errors import NotSupportedError, ParameterError
from plausible.data.images import with_levels
from plausible.ladder._linear_gaussian import Posterior, Prior
from plausible.tasks.restore import _level_map


def smooth_images(n: int, seed: int, side: int = 6) -> np.ndarray:
    """Float images around 0.5 with neighbouring pixels correlated, far from 0 and 1 (no clipping)."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), -1).reshape(-1, 2)
    distance = ((grid[:, None] - grid[None]) ** 2).sum(-1)
    covariance = 0.003 * np.exp(-distance / 4.0) + 1e-4 * np.eye(side * side)
    return rng.multivariate_normal(np.full(side * side, 0.5), covariance, n).reshape(n, side, side)


def dense(operator, shape) -> np.ndarray:
    """A as a dense matrix, one basis image at a time through the operator's forward."""
    size = int(np.prod(shape))
    return np.stack([operator.forward(np.eye(size)[i].reshape(shape)).ravel() for i in range(size)], axis=1)


def closed_form(mean, covariance, a, y, noise_sd):
    gain = covariance @ a.T @ np.linalg.inv(a @ covariance @ a.T + noise_sd ** 2 * np.eye(len(a)))
    return mean + gain @ (y - a @ mean), covariance - gain @ a @ covariance


def assert_draws_match(draws, mean, covariance):
    n = len(draws)
    sd = np.sqrt(np.diag(covariance))
    assert np.all(np.abs(draws.mean(0) - mean) < 5 * sd / np.sqrt(n))
    spread = np.sqrt((np.outer(sd ** 2, sd ** 2) + covariance ** 2) / n)     # sd of each sample covariance
    assert np.all(np.abs(np.cov(draws.T) - covariance) < 5.5 * spread)


@pytest.mark.parametrize("form", ["full", "low_rank"])
def test_blur_and_matrix_draws_match_the_closed_form(form):
    images = smooth_images(300, 0)
    model = pl.make("gaussian", covariance=form, rank=6, shrinkage=0.0).fit(images)
    truth = smooth_images(1, 1)
    blur = pl.operators.blur(sigma=1.0)
    a_random = np.random.default_rng(2).normal(size=(10, 36)) / 6
    for operator, a, noise_sd in [(blur, dense(blur, (6, 6)), 0.02), (pl.operators.matrix(a_random), a_random, 0.05)]:
        y = operator(truth, noise_sd=noise_sd, seed=3)
        draws = pl.restore(model, y, operator, noise_sd=noise_sd, n_draws=3000, seed=0)
        assert draws.shape == (3000, 1, 6, 6) and draws.method == "exact"
        mean, covariance = closed_form(model.mean, model.covariance_matrix, a, y.reshape(-1), noise_sd)
        assert_draws_match(draws.reshape(3000, 36), mean, covariance)


def test_low_rank_prior_with_a_sparse_operator_is_exact_through_the_band_path():
    rng = np.random.default_rng(0)
    size = 40
    factors, noise, mean = rng.normal(size=(size, 3)), rng.uniform(0.1, 0.5, size), rng.normal(size=size)
    a = np.eye(size) + 0.5 * np.eye(size, k=1) + 0.5 * np.eye(size, k=-1)     # a 1-D blur: sparse, banded
    covariance = factors @ factors.T + np.diag(noise)
    y = rng.normal(size=(3, size))
    posterior = Posterior(Prior(mean[None], None, factors[None], noise[None]), np.ones(1), y, a, 0.2)
    assert posterior.order is not None
    expected = np.stack([closed_form(mean, covariance, a, row, 0.2)[0] for row in y])
    assert np.allclose(posterior.mean(), expected, atol=1e-7)
    evidence = multivariate_normal(a @ mean, a @ covariance @ a.T + 0.04 * np.eye(size)).logpdf(y)
    assert np.allclose(posterior.log_evidence, evidence, atol=1e-6)


def test_mixture_weights_match_a_hand_computation():
    means = np.array([[0.0, 0.0], [2.0, 1.0]])
    covariances = np.array([[[1.0, 0.5], [0.5, 1.0]], [[0.5, 0.0], [0.0, 2.0]]])
    weights = np.array([0.3, 0.7])
    a, noise_sd, y = np.array([[1.0, 1.0]]), 0.5, np.array([[1.2], [3.5], [-1.0]])
    # y = x1 + x2 + e: under component k a normal with mean a mu_k and variance a S_k a' + s^2
    by_hand = np.stack([w * norm.pdf(y[:, 0], m.sum(), np.sqrt(c.sum() + noise_sd ** 2))
                        for w, m, c in zip(weights, means, covariances)], axis=1)
    by_hand /= by_hand.sum(axis=1, keepdims=True)
    posterior = Posterior(Prior(means, covariances), weights, y, a, noise_sd)
    assert np.allclose(posterior.responsibilities, by_hand, atol=1e-8)
    draws = posterior.draws(20000, np.random.default_rng(0))      # the mixture of the two posteriors' means
    expected = sum(by_hand[:, k, None] * np.stack([closed_form(means[k], covariances[k], a, row, noise_sd)[0]
                                                   for row in y]) for k in range(2))
    assert np.allclose(draws.mean(0), expected, atol=0.04)


def test_image_gmm_weights_reweight_by_the_evidence():
    rng = np.random.default_rng(0)
    images = np.concatenate([rng.normal(0.3, 0.05, (150, 2, 2)), rng.normal(0.7, 0.05, (150, 2, 2))])
    model = pl.make("gmm", n_components=2, covariance="full", shrinkage=0.0, seed=0).fit(images.clip(0, 1))
    comps, weights = model.components_, model.weights_
    operator = pl.operators.matrix(np.array([[0.5, 0.5, 0.0, 0.0]]))      # the top row's mean, with noise
    y = np.array([[0.32], [0.5], [0.66]])
    a = np.array([0.5, 0.5, 0.0, 0.0])
    by_hand = np.stack([w * norm.pdf(y[:, 0], a @ m, np.sqrt(a @ c @ a + 0.1 ** 2))
                        for w, m, c in zip(weights, comps.means, comps.covariances)], axis=1)
    by_hand /= by_hand.sum(axis=1, keepdims=True)
    posterior = Posterior(comps, weights, y, operator.bind((2, 2)), 0.1)
    assert np.allclose(posterior.responsibilities, by_hand, atol=1e-8)
    assert pl.restore(model, y, operator, noise_sd=0.1, n_draws=3).shape == (3, 3, 2, 2)


@pytest.mark.parametrize("name", ["gaussian", "gmm"])
@pytest.mark.parametrize("covariance", ["full", "low_rank"])     # low rank: the banded Woodbury path
def test_noiseless_mask_is_the_impute_conditional_mean_and_levels_round_trip(name, covariance):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 3, (200, 1, 1)) + rng.integers(0, 3, (200, 6, 6))       # digits-like levels 0..4
    levels = with_levels(np.minimum(base, 4).astype(np.uint8), 5)
    params = {"n_components": 2} if name == "gmm" else {}
    model = pl.make(name, seed=0, covariance=covariance, rank=5, **params).fit(levels[:180])
    test = levels[180:186]          # a LevelImages view: the operators read level l as l / 4
    known = np.ones((6, 6), bool)
    known[1:4, 2:5] = False
    mask = pl.operators.mask(known)
    y = mask(test, noise_sd=0.0)
    holes = np.where(known, np.asarray(test) / 4.0, np.nan)
    a, b = _level_map(5)
    bound = mask.bind(model.codec_.shape)
    moved = np.where(bound.measured, a * np.nan_to_num(y).reshape(6, -1) + b, 0.0)
    weights = getattr(model, "weights_", np.ones(1))
    exact = np.clip((Posterior(model.components_, weights, moved, bound, 0.0).mean() - b) / a, 0, 1)
    assert np.allclose(exact.reshape(6, 6, 6), model.conditional_mean(holes), atol=1e-6)
    draws = pl.restore(model, y, mask, noise_sd=0.0, n_draws=5, seed=0)
    assert np.allclose(draws[:, :, known], np.asarray(test)[:, known] / 4.0, atol=1e-4)    # the known pixels, as given
    every = pl.operators.identity()                                        # noiseless, all measured: x = y
    exact = pl.restore(model, every(test), every, noise_sd=0.0, n_draws=2)
    assert np.allclose(exact, np.asarray(test) / 4.0, atol=1e-4)


def numbers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal([10.0, -5.0, 100.0], [[4.0, 1.0, 3.0], [1.0, 1.0, 0.5], [3.0, 0.5, 25.0]], n)
    return pd.DataFrame(x, columns=["a", "b", "c"])


@pytest.mark.parametrize("name", ["gaussian", "gmm"])
def test_tables_restore_from_noisy_sums(name):
    params = {"transform": "none"} if name == "gaussian" else {"n_components": 2}
    train = numbers(400, 0)
    train.loc[::10, "a"] = np.nan       # a nullable column: restored given that it holds a value
    model = pl.make(name, seed=0, **params).fit(train)
    truth = numbers(4, 1)
    total = pl.operators.matrix(np.ones((1, 3)))
    y = total(truth.to_numpy(), noise_sd=0.1, seed=2)
    draws = pl.restore(model, y, total, noise_sd=0.1, n_draws=200, seed=0)
    assert len(draws) == 200 and all(list(frame.columns) == ["a", "b", "c"] for frame in draws)
    sums = np.stack([frame.to_numpy().sum(axis=1) for frame in draws])
    assert np.all(np.abs(sums - y[:, 0]) < 0.5)                          # within 5 noise sds of what was measured
    if name == "gaussian":     # the closed form in the columns' own units
        mean, covariance = closed_form(model.mean, model.covariance, np.ones((1, 3)), y[0], 0.1)
        assert_draws_match(np.stack([frame.to_numpy()[0] for frame in draws]), mean, covariance)


def test_tables_noiseless_rank_deficient_measurements_are_met():
    model = pl.make("gaussian", transform="none").fit(numbers(300, 0))
    a = np.array([[1.0, 1.0, 0.0], [2.0, 2.0, 0.0], [0.0, 1.0, -1.0]])     # rank 2: the second row repeats the first
    truth = numbers(3, 1).to_numpy()
    draws = pl.restore(model, truth @ a.T, pl.operators.matrix(a), noise_sd=0.0, n_draws=20)
    assert np.allclose(np.stack([frame.to_numpy() for frame in draws]) @ a.T, truth @ a.T, atol=1e-3)
    spread = np.std([frame.to_numpy() for frame in draws], axis=0)
    assert spread.min() > 0.05           # one direction is unmeasured: it still varies


def test_tables_refuse_a_log_scale_column_and_a_point_mass_naming_them():
    data = numbers(300, 0)
    data["c"] = np.exp(data["c"] / 20)
    model = pl.make("gaussian", transform="log").fit(data)
    with pytest.raises(ParameterError, match="'a'.*transform='none'|'c'.*transform='none'") as info:
        pl.restore(model, np.zeros((1, 1)), pl.operators.matrix(np.ones((1, 3))), noise_sd=0.1)
    assert "\n" not in str(info.value)
    spiky = numbers(300, 0)
    spiky.loc[:90, "b"] = 0.0
    for name in ("gaussian", "gmm"):
        model = pl.make(name, seed=0, **({"n_components": 1} if name == "gmm" else {})).fit(spiky)
        with pytest.raises(ParameterError, match="'b' has point masses.*atoms") as info:
            pl.restore(model, np.zeros((1, 1)), pl.operators.matrix(np.ones((1, 3))), noise_sd=0.1)
        assert "\n" not in str(info.value)


def test_student_cannot_restore_and_says_which_rung_can():
    model = pl.make("student").fit(numbers(100, 0))
    with pytest.raises(NotSupportedError, match="gaussian"):
        pl.restore(model, np.zeros((1, 1)), pl.operators.matrix(np.ones((1, 3))), noise_sd=0.1)

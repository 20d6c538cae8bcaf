"""The image gaussian and gmm: exact conditionals, responsibilities, log densities and the PCA latent,
each checked against a direct numpy/scipy computation from the fitted parameters."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.datasets import load_digits

import plausible as pl
from plausible.ladder.image_gaussian import fill

DIGITS = load_digits().images.astype(int)[:300]        # levels 0..16, D = 64


def _floats(n=120, seed=0):
    """Smooth random 6 x 6 float images (correlated pixels, well inside [0, 1])."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 3, 3))
    big = np.kron(base, np.ones((2, 2))) + 0.3 * rng.normal(size=(n, 6, 6))
    return np.clip(0.5 + 0.08 * big, 0, 1)


def _closed_form(mean, cov, x):
    """x with every NaN at mu_M + S_MO S_OO^-1 (x_O - mu_O), row by row."""
    out = x.copy()
    for i, row in enumerate(x):
        o, m = ~np.isnan(row), np.isnan(row)
        out[i, m] = mean[m] + cov[np.ix_(m, o)] @ np.linalg.solve(cov[np.ix_(o, o)], row[o] - mean[o])
    return out


@pytest.mark.parametrize("covariance", ["full", "low_rank"])
def test_inpainting_is_the_closed_form_conditional(covariance):
    images = _floats()
    model = pl.make("gaussian", covariance=covariance, rank=4).fit(images)
    assert model.components_.full == (covariance == "full")
    holes = images[:6].copy()
    holes[:3, 3:] = np.nan                                          # bottom half
    rng = np.random.default_rng(1)
    holes[3:][rng.random(holes[3:].shape) < 0.5] = np.nan           # a random half, one pattern per image
    flat = holes.reshape(6, -1)
    expected = np.clip(_closed_form(model.mean, model.covariance_matrix, flat), 0, 1)
    np.testing.assert_allclose(model.conditional_mean(holes).reshape(6, -1), expected, atol=1e-8)
    # the draws: conditional mean and covariance of many draws of the first image's bottom half
    many = np.repeat(flat[:1], 4000, axis=0)
    drawn = fill(many, model.components_, np.zeros(len(many), np.int64), np.random.default_rng(2))
    m, o = np.isnan(flat[0]), ~np.isnan(flat[0])
    cov = model.covariance_matrix
    spread = cov[np.ix_(m, m)] - cov[np.ix_(m, o)] @ np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, m)])
    np.testing.assert_allclose(drawn[:, m].mean(axis=0), _closed_form(model.mean, cov, flat[:1])[0, m],
                               atol=4 * np.sqrt(spread.diagonal().max() / len(many)))
    np.testing.assert_allclose(np.cov(drawn[:, m].T), spread, atol=0.15 * spread.diagonal().max())
    assert np.array_equal(drawn[:, o], many[:, o])


def test_low_rank_log_prob_is_the_dense_normal_density():
    images = _floats()
    model = pl.make("gaussian", covariance="low_rank", rank=3).fit(images)
    flat = images[:5].reshape(5, -1)
    dense = multivariate_normal(model.mean, model.covariance_matrix).logpdf(flat)
    np.testing.assert_allclose(model.log_prob(images[:5]), dense, rtol=1e-9)


def test_level_images_score_the_dequantization_bound_with_the_cell_variance():
    model = pl.make("gaussian", shrinkage=0.01).fit(DIGITS)
    assert model.components_.full and model.floor_ == pytest.approx(1 / (12 * 17 ** 2))
    centred = DIGITS.reshape(len(DIGITS), -1) + 0.5
    sample_cov = np.cov(centred.T / 17, bias=True)
    expected = (sample_cov + 0.01 * np.diag(sample_cov.diagonal())) / 1.01 + np.eye(64) / (12 * 17 ** 2)
    np.testing.assert_allclose(model.covariance_matrix, expected, atol=1e-12)
    pixels = model.codec_.encode(DIGITS[:4])
    x = pixels.dequantized(np.random.default_rng(0))
    bound = multivariate_normal(model.mean, model.covariance_matrix).logpdf(x) - 64 * np.log(17)
    np.testing.assert_allclose(model.log_prob(DIGITS[:4]), bound, rtol=1e-9)


def test_gmm_responsibilities_given_known_pixels_are_the_reweighted_weights():
    for covariance in ("full", "low_rank"):
        model = pl.make("gmm", n_components=3, covariance=covariance, rank=4, max_iter=20, shrinkage=0.1, seed=0).fit(DIGITS)
        holes = DIGITS[:5] / 16.0
        holes[:, 4:] = np.nan
        holes[4, :, :3] = np.nan
        got = model.responsibilities(holes)
        comps = model.components_
        for i, image in enumerate(holes.reshape(5, -1)):
            o = ~np.isnan(image)
            x = (np.rint(image[o] * 16) + 0.5) / 17                   # the levels' cell centres
            logs = []
            for k, weight in enumerate(model.weights_):
                cov = comps.covariances[k] if comps.full else \
                    comps.factors[k] @ comps.factors[k].T + np.diag(comps.noise[k])
                logs.append(np.log(weight) + multivariate_normal(comps.means[k][o], cov[np.ix_(o, o)]).logpdf(x))
            logs = np.array(logs)
            np.testing.assert_allclose(got[i], np.exp(logs - np.logaddexp.reduce(logs)), atol=1e-8)
        # the posterior-mean inpainting mixes the components' conditionals with those weights
        mean = model.conditional_mean(holes)
        assert np.array_equal(mean[~np.isnan(holes)], holes[~np.isnan(holes)])
        assert np.isfinite(mean).all() and mean.min() >= 0 and mean.max() <= 1


def test_encode_decode_round_trip():
    full = pl.make("gaussian", rank=64).fit(DIGITS)                     # all 64 components: exact
    z = full.encode(DIGITS[:10])
    assert z.shape == (10, 64)
    assert np.array_equal(full.decode(z), DIGITS[:10]) and full.decode(z).dtype == DIGITS.dtype
    codes = full.encode(DIGITS)
    np.testing.assert_allclose(codes.std(axis=0)[:5], 1.0, rtol=0.05)   # whitened scores, most variance first
    errors = [np.abs(pl.make("gaussian", rank=r).fit(DIGITS).decode(pl.make("gaussian", rank=r).fit(DIGITS)
                                                                    .encode(DIGITS)) - DIGITS).mean() for r in (2, 16)]
    assert errors[1] < errors[0]
    low = pl.make("gaussian", covariance="low_rank", rank=8).fit(DIGITS)
    z = low.encode(DIGITS[:10])
    w, psi = low.components_.factors[0], low.components_.noise[0]
    x = (DIGITS[:10].reshape(10, -1) + 0.5) / 17
    direct = np.linalg.solve(np.eye(8) + w.T @ (w / psi[:, None]), (w / psi[:, None]).T @ (x - low.mean).T).T
    np.testing.assert_allclose(z, direct, atol=1e-10)
    back = low.decode(z)
    assert back.shape == (10, 8, 8) and np.abs(back - DIGITS[:10]).mean() < 2.5
    with pytest.raises(ValueError, match="codes are"):
        low.decode(np.zeros((2, 3)))


def test_the_size_rule():
    assert pl.make("gaussian").fit(DIGITS).form_ == "full"                          # N = 300 >= D = 64
    assert pl.make("gaussian").fit(DIGITS[:40]).form_ == "low_rank"                 # N < D
    assert pl.make("gmm", n_components=8, max_iter=2).fit(DIGITS).form_ == "low_rank"   # 300 < 64 x 8
    diag = pl.make("gmm", n_components=2, covariance="diag", max_iter=5).fit(DIGITS)
    assert diag.components_.factors.shape == (2, 64, 0)


def test_low_rank_gmm_starts_from_the_one_gaussian_and_beats_it():
    # every low-rank component starts at the one-Gaussian factor analysis (means from k-means on its
    # latent codes), so the mixture's likelihood is at least the Gaussian's (it lost to it before)
    train, held = DIGITS[:240], DIGITS[240:]
    one = pl.make("gaussian", covariance="low_rank", rank=8).fit(train)
    mix = pl.make("gmm", n_components=3, covariance="low_rank", rank=8, seed=0).fit(train)
    assert mix.components_.factors.shape == (3, 64, 8)
    assert mix.log_prob(train).mean() > one.log_prob(train).mean()
    assert mix.log_prob(held).mean() > one.log_prob(held).mean()
    # the last component stays that one Gaussian, so an image unlike every cluster is not lost
    assert mix.weights_[-1] >= 0.02 - 1e-12
    np.testing.assert_allclose(mix.components_.means[-1], (train.reshape(240, -1) + 0.5).mean(axis=0) / 17)
    odd = np.full((1, 8, 8), 16)
    assert mix.log_prob(odd)[0] > one.log_prob(odd)[0] + np.log(0.02) - 10    # it has 10 factor-analysis steps, not 100

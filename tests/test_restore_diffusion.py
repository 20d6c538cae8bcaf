"""restore with a diffusion prior: given the exact ε of a known Gaussian mixture, DDRM, DPS and
RePaint draw close to the closed-form posterior; a fitted model restores through pl.restore
(shapes, RePaint keeps the measured pixels, seeds reproduce)."""
import functools

import numpy as np
import pytest
import torch

import plausible as pl
from plausible.core.errors import ParameterError
from plausible.ladder._diffusion_posterior import Spectral, ddrm, dps, run_sampler
from plausible.ladder.image_diffusion import ImageDiffusion, NoiseSchedule

# ---------------------------------------------------------------------- a known mixture and its exact posterior
WEIGHTS = np.array([0.5, 0.3, 0.2])
MEANS = np.array([[-0.4, -0.3, 0.2], [0.4, 0.3, -0.1], [0.1, -0.4, 0.4]])
SCALES = np.array([[0.12, 0.08, 0.10], [0.10, 0.12, 0.06], [0.08, 0.06, 0.12]])
ROTATION = np.linalg.qr(np.random.default_rng(3).standard_normal((3, 3)))[0]
COVS = np.stack([ROTATION @ np.diag(scale ** 2) @ ROTATION.T for scale in SCALES])


def mixture_eps(schedule: NoiseSchedule):
    """The exact ε of the noised mixture: x_t ~ Σ w_k N(α μ_k, α² S_k + σ² I), ε* = −σ ∇ log p_t(x_t)."""
    weights, means, covs = (torch.as_tensor(a) for a in (WEIGHTS, MEANS, COVS))
    eye = torch.eye(means.shape[1], dtype=torch.float64)

    def eps(x, t):
        a2 = schedule.alpha_bar[t].double()
        cov = a2 * covs + (1 - a2) * eye                                   # (K, D, D)
        diff = x[:, None, :] - a2.sqrt() * means[None]                     # (B, K, D)
        solved = torch.einsum("kde,bke->bkd", torch.linalg.inv(cov), diff)
        log_p = weights.log() - 0.5 * (diff * solved).sum(-1) - 0.5 * torch.logdet(cov)
        score = -(torch.softmax(log_p, dim=1)[..., None] * solved).sum(1)
        return -(1 - a2).sqrt() * score
    return eps


def exact_posterior(a: np.ndarray, noise_sd: float, y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n draws of x given y = A x + N(0, noise_sd² I): per component the Kalman update, the weights
    reweighted by each component's evidence N(y; A μ_k, A S_k Aᵀ + noise_sd² I)."""
    rng = np.random.default_rng(seed)
    log_w, means, covs = [], [], []
    for w, mu, cov in zip(WEIGHTS, MEANS, COVS):
        predicted = a @ cov @ a.T + noise_sd ** 2 * np.eye(len(a))
        gain = np.linalg.solve(predicted, a @ cov).T
        residual = y - a @ mu
        log_w.append(np.log(w) - 0.5 * residual @ np.linalg.solve(predicted, residual)
                     - 0.5 * np.linalg.slogdet(predicted)[1])
        means.append(mu + gain @ residual)
        covs.append(cov - gain @ a @ cov)
    log_w = np.array(log_w)
    weights = np.exp(log_w - log_w.max())
    component = rng.choice(len(weights), size=n, p=weights / weights.sum())
    out = np.empty((n, a.shape[1]))
    for k in range(len(weights)):
        chosen = component == k
        root = np.linalg.cholesky(covs[k] + 1e-12 * np.eye(a.shape[1]))
        out[chosen] = means[k] + rng.standard_normal((chosen.sum(), a.shape[1])) @ root.T
    return out


def sliced_wasserstein(first: np.ndarray, second: np.ndarray, directions: int = 256) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance of the projections."""
    units = np.random.default_rng(0).standard_normal((directions, first.shape[1]))
    units /= np.linalg.norm(units, axis=1, keepdims=True)
    return float(np.abs(np.sort(first @ units.T, axis=0) - np.sort(second @ units.T, axis=0)).mean())


SCHEDULE = NoiseSchedule(NoiseSchedule.cosine(1000).alpha_bar.double())
DRAWS = 1000
OPERATORS = {"matrix": (np.random.default_rng(7).standard_normal((2, 3)) / np.sqrt(3), 0.1),
             "mask": (np.eye(3)[:2], 0.0)}       # 2 of the 3 entries, as they are


def measurement(a: np.ndarray, noise_sd: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = rng.choice(len(WEIGHTS), p=WEIGHTS)
    return a @ rng.multivariate_normal(MEANS[k], COVS[k]) + noise_sd * rng.standard_normal(len(a))


def draw(method: str, a: np.ndarray, noise_sd: float, y: np.ndarray) -> np.ndarray:
    """DRAWS draws of x given y by `method` with the exact ε, at the rung's default budgets."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn((DRAWS, a.shape[1]), generator=generator, dtype=torch.float64)
    rows = torch.as_tensor(np.tile(y, (DRAWS, 1)))
    eps = mixture_eps(SCHEDULE)
    if method == "ddrm":
        spectral = Spectral(*(torch.as_tensor(part) for part in np.linalg.svd(a, full_matrices=False)))
        return ddrm(eps, x, SCHEDULE, SCHEDULE.times(100), generator, rows, spectral, noise_sd).numpy()
    if method == "dps":
        matrix = torch.as_tensor(a)
        return dps(eps, x, SCHEDULE, SCHEDULE.times(100), generator, rows, lambda v: v @ matrix.T).numpy()
    if method == "repaint":                     # a mask of the first entries: they are y
        clean = torch.zeros_like(x)
        clean[:, :len(a)] = rows
        known = torch.zeros_like(x, dtype=torch.bool)
        known[:, :len(a)] = True
        return run_sampler(eps, x, SCHEDULE, SCHEDULE.times(50), generator, 1.0, "ddim", (clean, known), 2).numpy()
    return run_sampler(eps, x, SCHEDULE, SCHEDULE.times(100), generator, 1.0).numpy()     # "prior": y ignored


@functools.lru_cache(maxsize=None)
def distance_over_floor(method: str, operator: str, seed: int) -> float:
    """Sliced Wasserstein distance from the method's draws to exact posterior draws, over the mean
    distance between two independent sets of exact draws (the Monte-Carlo floor, ~0.005 here)."""
    a, noise_sd = OPERATORS[operator]
    y = measurement(a, noise_sd, seed)
    exact = exact_posterior(a, noise_sd, y, DRAWS, 1)
    floor = np.mean([sliced_wasserstein(exact_posterior(a, noise_sd, y, DRAWS, 2 + k),
                                        exact_posterior(a, noise_sd, y, DRAWS, 10 + k)) for k in range(3)])
    return sliced_wasserstein(draw(method, a, noise_sd, y), exact) / floor


# Stated multiples of the floor, from medians over 20 y per operator (1,000 draws each, exact ε, the default budgets):
# DDRM 6.2x (matrix) and 4.1x (mask), RePaint 4.2x, DPS 10.3x and 9.9x. Not ~1x, for two reasons: the unconditional
# sampler alone is ~2x the floor at these step counts (its discretisation), and none of the three is an exact posterior
# sampler (DDRM and RePaint choose a mixture component from noisy coordinates early on, DPS pulls A x to y whatever
# the noise). Draws that ignore y sit at 30-150x, so the test can fail.
MULTIPLE = {"ddrm": 8.0, "repaint": 8.0, "dps": 20.0}


@pytest.mark.parametrize("method, operator", [("ddrm", "matrix")] + [
    pytest.param(*case, marks=pytest.mark.slow) for case in [("ddrm", "mask"), ("dps", "matrix"), ("dps", "mask"),
                                                             ("repaint", "mask")]])
def test_given_the_exact_eps_the_samplers_draw_close_to_the_exact_posterior(method, operator):
    distance = np.median([distance_over_floor(method, operator, seed) for seed in range(3)])
    ignoring_y = np.median([distance_over_floor("prior", operator, seed) for seed in range(3)])
    assert distance < MULTIPLE[method] < ignoring_y / 2, (distance, ignoring_y)


# ---------------------------------------------------------------------- through pl.restore on a fitted model
@pytest.fixture(scope="module")
def tiny_model():
    images = np.random.default_rng(0).integers(0, 256, (48, 8, 8, 3)).astype(np.uint8)
    return pl.make("diffusion", seed=0, **ImageDiffusion.test_params).fit(images), images


@pytest.mark.parametrize("method", ["ddrm", "dps", "repaint"])
def test_restore_gives_draws_of_the_image_shape_that_seeds_reproduce(tiny_model, method):
    model, images = tiny_model
    known = np.zeros((8, 8), dtype=bool)
    known[:, :3] = True
    operator = pl.operators.mask(known)
    y = operator(images[:3])
    draws = pl.restore(model, y, operator, noise_sd=0.0, n_draws=2, seed=1, method=method)
    assert draws.shape == (2, 3, 8, 8, 3) and draws.method == method
    assert np.array_equal(draws, pl.restore(model, y, operator, noise_sd=0.0, n_draws=2, seed=1, method=method))
    assert not np.array_equal(draws, pl.restore(model, y, operator, noise_sd=0.0, n_draws=2, seed=2, method=method))
    if method == "repaint":
        assert np.array_equal(draws[:, :, known], np.broadcast_to(images[:3][:, known] / 255, (2, 3, 3 * 8, 3)))


def test_ddrm_gives_a_noiseless_identity_measurement_back_whatever_the_network(tiny_model):
    """Every direction measured exactly: DDRM's last step is ȳ itself, so this checks the move to
    x = 2v − 1 (y' = 2y − A1) and the pixel order between the values and the network."""
    model, images = tiny_model
    y = pl.operators.identity()(images[:2])
    draws = pl.restore(model, y, pl.operators.identity(), noise_sd=0.0, n_draws=2, method="ddrm")
    assert np.abs(draws - images[:2] / 255).max() < 1e-4


def test_repaint_refuses_noise_and_other_operators_in_one_line(tiny_model):
    model, images = tiny_model
    blur = pl.operators.blur(sigma=1.0)
    with pytest.raises(ParameterError, match="method='ddrm' or 'dps'"):
        pl.restore(model, blur(images[:1]), blur, noise_sd=0.0, method="repaint")
    known = np.ones((8, 8), dtype=bool)
    with pytest.raises(ParameterError, match="noise"):
        pl.restore(model, pl.operators.mask(known)(images[:1]), pl.operators.mask(known), noise_sd=0.05,
                   method="repaint")


def test_one_planes_svd_applies_a_spatial_operator_to_every_channel():
    bound = pl.operators.blur(sigma=1.0).bind((6, 6, 3))
    spectral = Spectral(*(torch.as_tensor(part) for part in bound.operator.bind((6, 6)).svd), channels=3)
    x = np.random.default_rng(0).random((2, 108))
    assert np.allclose(spectral.forward(torch.as_tensor(x)).numpy(), bound.forward(x), atol=1e-6)

"""gmm, on images: a mixture of K Gaussians over the pixel intensities, each full or low rank plus diagonal.

    p(x) = sum_k pi_k N(x; mu_k, S_k),     x in [0, 1]^D (pixel_space "intensities")

with each S_k as in the image `gaussian` (plausible/ladder/image_gaussian.py, whose pieces this file
uses): full (correlations divided by 1 + lambda) when D <= 1,024 and N >= D K, i.e. D images
per component (digits, N = 1,200, D = 64: up to 18 components); otherwise W_k W_k' + diag(psi_k) with W_k (D, `rank`); `covariance="diag"`
gives each component independent pixels. Level images: fitted on the cells' centres with the cell's
variance 1 / (12 L^2) added to every pixel (so the fit is that of the dequantized images), log_prob
the dequantization bound; float images: exact, with a floor of 8-bit rounding's variance.

EM (Dempster, Laird & Rubin 1977): E-step r_ik = P(k | x_i) by logsumexp; M-step pi_k, mu_k and, for
full components, the weighted covariance; for low-rank ones `fa_steps` factor-analysis EM steps from the
current (W_k, psi_k) on the weighted images (a generalized EM: the likelihood never falls), each on
the images with r_ik > NEGLIGIBLE only (on large images the responsibilities are nearly one-hot, so
the M-step costs about one component's). Full components start from k-means clusters (Lloyd's steps
from k-means++ seeds, Arthur & Vassilvitskii 2007; `initializations` starts, the best likelihood kept;
digits, 900 images fitted, 300 held out: 2.886 -> 2.747 bits/dim against the nearest-seed start).
Low-rank components all start from the one-Gaussian fit (the image `gaussian`'s factor analysis,
START_STEPS steps), each mean that of a k-means cluster of the images' latent codes (posterior means of
z, Lloyd's steps from k-means++ seeds); with K >= 2 the last component stays that one Gaussian
(parameters fixed, weight at least BROAD_SHARE), so an image unlike every cluster still scores within
log(1 / BROAD_SHARE) nats of what one Gaussian gives it: components fitted to a few hundred images put
near-zero variance on pixels constant within their cluster, and one held-out avatar scored -65,403
nats under 4 free components (-1,700 under one Gaussian). This replaced a start from a pooled rank-16
within-cluster PCA and one factor-analysis step per iteration, which lost to one Gaussian on avatars
(32 x 32 x 3; fitted on 1,200, 300 held out: gaussian 0.425 bits/dim; 4 free components 0.480, 10
1.633; with the broad component 0.408 and 0.369). Stops when the log-likelihood gains less than
TOLERANCE (full, diag) or LOW_RANK_TOLERANCE nats per pixel and image, or after `max_iter` steps.
`shrinkage=None` picks lambda (full components) by the log-likelihood of a fifth of the images held
out of the fit.

log_prob is exact (the logsumexp over components; the dequantization bound on level images).
impute is exact: a component is drawn from P(k | known pixels), the weights reweighted by each
component's evidence N(x_O; mu_kO, S_kOO) (`responsibilities`), then the unknown pixels from that
component's exact conditional (Woodbury for the low-rank form). `conditional_mean` gives the
posterior-mean inpainting, sum_k P(k | x_O) E_k[x_M | x_O]. restore (`pl.restore`, "exact") is the
same for any linear measurement y = A x + noise: P(k | y) from pi_k N(y; A mu_k, A S_k A' + s^2 I),
then that component's Gaussian posterior (`_linear_gaussian`).
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels
from ._linear_gaussian import Posterior
from ._marginals import draw_categorical
from .image_gaussian import (Components, _Solved, as_intensities, choose_shrinkage, chosen_form, completed, draw,
                             evidence, factor_analysis, fill, floor_of, full_covariance, posterior, read_holes,
                             scored_values)

TOLERANCE = 1e-5   # EM stops when the log-likelihood gains less than this many nats per pixel and image
LOW_RANK_TOLERANCE = 3e-4   # the same for low-rank components (avatars: held-out bits/dim still moves < 0.001)
SHRINKAGE_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)   # shrinkage=None: lambdas tried (components see fewer images)
START_STEPS = 10   # low rank: factor-analysis steps of the one-Gaussian fit every component starts from
NEGLIGIBLE = 1e-10  # low rank M-step: images less likely than this under a component are left out of its fit
BROAD_SHARE = 0.02  # low rank: the least weight of the component that stays the one-Gaussian fit
ALIVE = 1e-6       # a component whose responsibilities sum to less keeps its parameters


@register
class GaussianMixtureImages(Model):
    name = "gmm"
    family = "classical"
    complexity = 45
    data_kind = "image"
    pixel_space = "intensities"
    description = ("mixture of K Gaussians over the pixel intensities (full or low rank plus diagonal), fitted by "
                   "EM; exact conditionals on any known pixels")
    log_prob_kind = "exact"
    impute_kind = "exact"
    restore_methods = ("exact",)
    params = {
        "n_components": Param(10, int, "number of Gaussians (digits: 10 beat 8, 12 and 16 held out)", low=1, high=1000),
        "covariance": Param("auto", str, "each component's covariance: full, low_rank (W W' + diag psi), diag, or "
                            "auto (full when D <= 1024 and N >= D K; see the docstring)",
                            choices=("auto", "full", "low_rank", "diag")),
        "rank": Param(64, int, "columns of each component's W in the low-rank form (the image gaussian's 64)", low=1,
                      high=100_000),
        "shrinkage": Param(None, float, "full components: every correlation divided by 1 + lambda (None = chosen on "
                           "held-out images)", low=0.0, optional=True),
        "initializations": Param(1, int, "k-means starts; the best likelihood is kept", low=1, high=100),
        "fa_steps": Param(1, int, "low rank: factor-analysis steps per EM iteration", low=1, high=1000),
        "max_iter": Param(100, int, "EM iterations at most per start", low=1, high=100_000),
    }
    test_params = {"n_components": 2, "max_iter": 10}
    _broad = False      # while fitting low-rank components: the last one is the one-Gaussian fit

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Pixels, rng) -> None:
        x, self.floor_ = data.values, floor_of(data)
        size = min(self.n_components, len(x))
        self.form_ = chosen_form(self.covariance, len(x), x.shape[1], size)
        rank = 0 if self.covariance == "diag" else self.rank
        seed = int(rng.integers(2 ** 31))

        def fit(train, shrink):
            return self._best_em(train, min(size, len(train)), shrink, rank, seed)[:2]

        self.shrinkage_, self.shrinkage_scores_ = self.shrinkage or 0.0, {}
        if self.form_ == "full" and self.shrinkage is None:
            self.shrinkage_, self.shrinkage_scores_ = choose_shrinkage(x, fit, rng, SHRINKAGE_GRID)
        self.components_, self.weights_, self.log_likelihood_, self.n_iter_ = self._best_em(
            x, size, self.shrinkage_, rank, seed)

    def _best_em(self, x, size, shrink, rank, seed):
        """(components, weights, log-likelihood, iterations) of the best of `initializations` EM runs."""
        rng = np.random.default_rng(seed)
        if self.form_ == "full" or rank == 0:
            runs = [self._em(x, np.eye(size)[_kmeans(x, size, rng)], None, shrink, rank, seed)
                    for _ in range(self.initializations)]
            return max(runs, key=lambda run: run[2])
        start = factor_analysis(x, np.ones(len(x)), x.mean(axis=0), rank, self.floor_, START_STEPS, seed)
        latent = _Solved(Components(x.mean(axis=0)[None], None, start[0][None], start[1][None]), 0,
                         np.ones(x.shape[1], bool)).latent(x)
        runs, self._broad = [], size > 1     # the last component stays the one-Gaussian fit (module doc)
        for _ in range(self.initializations):
            clusters = _kmeans(latent, size - self._broad, rng)
            counts = np.maximum(np.bincount(clusters, minlength=size - self._broad), 1)
            means = np.stack([x[clusters == k].mean(axis=0) if (clusters == k).any() else x.mean(axis=0)
                              for k in range(size - self._broad)] + [x.mean(axis=0)] * self._broad)
            weights = counts / counts.sum() * (1 - BROAD_SHARE) if self._broad else np.ones(1)
            weights = np.append(weights, BROAD_SHARE) if self._broad else weights
            comps = Components(means, None, np.repeat(start[0][None], size, 0), np.repeat(start[1][None], size, 0))
            runs.append(self._em(x, None, (comps, weights), shrink, rank, seed))
        self._broad = False
        return max(runs, key=lambda run: run[2])

    def _em(self, x, responsibilities, start, shrink, rank, seed):
        comps, weights = start or self._m_step(x, responsibilities, None, shrink, rank, seed)
        previous, tolerance = -np.inf, TOLERANCE if comps.full or rank == 0 else LOW_RANK_TOLERANCE
        for iteration in range(1, self.max_iter + 1):
            joint = np.log(weights) + evidence(x, comps)
            per_image = logsumexp(joint, axis=1)
            total = float(per_image.sum())
            if total - previous < tolerance * x.size or iteration == self.max_iter:
                break
            previous = total
            comps, weights = self._m_step(x, np.exp(joint - per_image[:, None]), comps, shrink, rank, seed)
        return comps, weights, total, iteration

    def _m_step(self, x, responsibilities, current: Components | None, shrink, rank, seed):
        sizes = responsibilities.sum(axis=0)
        alive = sizes > ALIVE
        weights = np.maximum(sizes, 1e-10) / np.maximum(sizes, 1e-10).sum()
        means = responsibilities.T @ x / np.where(alive, sizes, 1.0)[:, None]
        if current is not None:
            means = np.where(alive[:, None], means, current.means)
        if self.form_ == "full":
            covariances = np.stack([full_covariance(x, responsibilities[:, k], means[k], shrink, self.floor_)
                                    if alive[k] else current.covariances[k] for k in range(len(means))])
            return Components(means, covariances, None, None), weights
        if current is None:     # the pooled within-cluster PCA, for every component
            within = x - means[responsibilities.argmax(axis=1)]
            factors, noise = factor_analysis(within, np.ones(len(x)), np.zeros(x.shape[1]), rank, self.floor_, 0, seed)
            return Components(means, None, np.repeat(factors[None], len(means), 0),
                              np.repeat(noise[None], len(means), 0)), weights
        factors, noise = current.factors.copy(), current.noise.copy()
        if self._broad:     # the one-Gaussian component keeps its parameters and at least BROAD_SHARE
            alive[-1], means[-1] = False, current.means[-1]
            weights[-1] = max(weights[-1], BROAD_SHARE)
            weights[:-1] *= (1 - weights[-1]) / weights[:-1].sum()
        for k in np.flatnonzero(alive):
            rows = responsibilities[:, k] > NEGLIGIBLE     # high-dimensional images: nearly one-hot, so few rows
            factors[k], noise[k] = factor_analysis(x[rows], responsibilities[rows, k], means[k], rank, self.floor_,
                                                   self.fa_steps, seed,
                                                   start=(factors[k], noise[k]))
        return Components(means, None, factors, noise), weights

    # ------------------------------------------------------------------ using the fit
    def _log_prob(self, data: Pixels) -> np.ndarray:
        return logsumexp(np.log(self.weights_) + evidence(scored_values(data), self.components_), axis=1)

    def _sample(self, n: int, rng) -> Pixels:
        component = draw_categorical(np.broadcast_to(self.weights_, (n, len(self.weights_))), rng)
        return Pixels.from_values(draw(n, self.components_, component, rng), self.codec_)

    def _impute(self, data: Pixels, rng) -> Pixels:
        component = draw_categorical(posterior(data.values, self.components_, self.weights_), rng)
        return completed(data, fill(data.values, self.components_, component, rng), self.codec_)

    def responsibilities(self, data, mask=None) -> np.ndarray:
        """(N, K) P(component k | the known pixels of each image) (NaN or `mask` = unknown; a complete
        image is all known): pi_k N(x_O; mu_kO, S_kOO), normalised."""
        _, pixels = read_holes(self, data, mask)
        return posterior(pixels.values, self.components_, self.weights_)

    def conditional_mean(self, data, mask=None) -> np.ndarray:
        """Float images like `data` with every unknown pixel at its exact posterior mean,
        sum_k P(k | x_O) E_k[x_M | x_O] (the posterior-mean inpainting)."""
        frame, pixels = read_holes(self, data, mask)
        chances = posterior(pixels.values, self.components_, self.weights_)
        values = sum(chances[:, k, None] * fill(pixels.values, self.components_, np.full(len(pixels), k), None)
                     for k in range(len(self.weights_)))
        return as_intensities(self, frame, pixels, values)

    def _restore(self, y, operator, noise_sd, n_draws, rng, method) -> np.ndarray:
        """Exact posterior draws given y = A x + noise: per draw a component from P(k | y), pi_k
        N(y; A mu_k, A S_k A' + s^2 I) normalised, then x from its Gaussian posterior (`_linear_gaussian`)."""
        return Posterior(self.components_, self.weights_, y, operator, noise_sd).draws(n_draws, rng)

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        state = {"form": self.form_, "floor": self.floor_, "shrinkage": self.shrinkage_,
                 "shrinkage_scores": [[k, v] for k, v in self.shrinkage_scores_.items()],
                 "log_likelihood": self.log_likelihood_, "n_iter": self.n_iter_}
        return state, {**self.components_.arrays(), "weights": self.weights_}

    def _set_state(self, state, arrays):
        self.form_, self.floor_, self.shrinkage_ = state["form"], float(state["floor"]), float(state["shrinkage"])
        self.shrinkage_scores_ = {k: v for k, v in state.get("shrinkage_scores", [])}
        self.log_likelihood_, self.n_iter_ = float(state["log_likelihood"]), int(state["n_iter"])
        self.components_, self.weights_ = Components.of(arrays), np.asarray(arrays["weights"], dtype=float)
        if self.components_.means.shape != (len(self.weights_), self.codec_.size):
            raise ValueError(f"means has shape {self.components_.means.shape}, expected "
                             f"({len(self.weights_)}, {self.codec_.size})")


def _kmeans(points: np.ndarray, size: int, rng, iterations: int = 50) -> np.ndarray:
    """(N,) cluster of each point: k-means++ seeds (Arthur & Vassilvitskii 2007), then Lloyd's steps."""
    seeds = [int(rng.integers(len(points)))]
    distance = ((points - points[seeds[0]]) ** 2).sum(axis=1)
    for _ in range(1, size):
        pick = int(draw_categorical(distance[None], rng)[0]) if distance.sum() > 0 else int(rng.integers(len(points)))
        seeds.append(pick)
        distance = np.minimum(distance, ((points - points[pick]) ** 2).sum(axis=1))
    centres, clusters = points[seeds], None
    for _ in range(iterations):
        nearest = np.argmin((centres ** 2).sum(axis=1) - 2 * points @ centres.T, axis=1)
        if clusters is not None and np.array_equal(nearest, clusters):
            break
        clusters = nearest
        for k in range(size):
            if (clusters == k).any():
                centres[k] = points[clusters == k].mean(axis=0)
    for k in np.flatnonzero(np.bincount(clusters, minlength=size) == 0):    # an emptied cluster takes the point
        far = ((points - centres[clusters]) ** 2).sum(axis=1)                # farthest from its centre among
        far[np.bincount(clusters, minlength=size)[clusters] < 2] = -1        # clusters that can spare one
        clusters[int(np.argmax(far))] = k
    return clusters

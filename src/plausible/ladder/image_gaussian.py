"""gaussian, on images: one multivariate normal over the D pixel intensities, full or low rank plus diagonal.

x ~ N(mu, S) with x in [0, 1]^D the intensities in raster order, channels last (pixel_space
"intensities": a density). Which S (`covariance="auto"`, the default):

- full, when D <= FULL_MAX_PIXELS (1,024) and N >= FULL_ROWS_PER_PIXEL (1) x D images (digits: D = 64,
  N = 1,200): the sample covariance with every correlation divided by 1 + lambda,
  S <- (S + lambda diag S) / (1 + lambda); `shrinkage=None` picks lambda from SHRINKAGE_GRID by the
  log-likelihood of a fifth of the images held out of the fit (then refits on all of them);
- otherwise low rank plus diagonal, S = W W' + diag(psi) with W (D, r), r = min(`rank`, N - 1, D - 1):
  factor analysis, started at probabilistic PCA (Tipping & Bishop 1999: the top r principal
  directions, psi the mean discarded variance) and refined by EM (Rubin & Thayer 1982) for at most
  `max_iter` steps, each O(N D r), so 3,072-pixel avatars never build a D x D matrix;
- `covariance="full"`, `"low_rank"` or `"diag"` (r = 0) forces one.

Level images (digits: 0..16, L = 17) are fitted on their cells' centres (level + 0.5) / L, and the
variance of a level's cell, 1 / (12 L^2), is added to every pixel's variance: dequantized images
(level + u) / L with u uniform have the centres' mean and that covariance plus I / (12 L^2), so the fit
is (in expectation) the maximum-likelihood fit to the dequantized images that log_prob scores. On
level images log_prob is the dequantization bound (`pixels.dequantized(rng(0))` scored, the codec
subtracting D log L): a lower bound on log P(levels), declared by pixel_space; on float images it is the
exact density (log_prob_kind "exact", the convention of images.md). Float images get the variance of
8-bit rounding, 1 / (12 * 256^2), as a floor, so a pixel that never changes keeps a finite density.

Conditionals are exact, on any set O of known pixels (rows sharing a set are solved together):
full: x_M | x_O ~ N(mu_M + S_MO S_OO^-1 (x_O - mu_O), S_MM - S_MO S_OO^-1 S_OM); low rank (Woodbury):
the latent z | x_O ~ N(A^-1 W_O' Psi_O^-1 (x_O - mu_O), A^-1), A = I_r + W_O' Psi_O^-1 W_O, then
x_M = mu_M + W_M z + psi_M^1/2 e, O(|O| r^2) a pattern, never a D x D solve. Samples and fills are
clipped to [0, 1] and mapped to levels by the codec (`Pixels.from_values`).

encode / decode: a PCA-style latent. Low rank: encode gives the posterior mean of z (r numbers),
decode mu + W z. Full: the whitened scores on the top min(`rank`, D) principal components,
z = V'(x - mu) / sqrt(eigenvalue), decode mu + V diag(sqrt(eigenvalue)) z (with rank >= D the round
trip is exact). z ~ N(0, I) under the model in both cases; the first two axes carry the most variance.

restore (`pl.restore`, method "exact"): x | y = A x + noise is Gaussian, drawn exactly by
`_linear_gaussian` (one M x M Cholesky factor for M measured values, Matheron's rule per draw).

The pieces (`Components`, `evidence`, `fill`, `full_covariance`, `factor_analysis`) are shared with
the image `gmm`, a mixture of such Gaussians.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels
from ._gaussian import LOG_2PI, _cholesky
from ._linear_gaussian import Posterior

FULL_MAX_PIXELS = 1024      # D above this: low rank plus diagonal (a full D x D covariance is too big to learn)
FULL_ROWS_PER_PIXEL = 1     # fewer images than this per pixel (per component): low rank plus diagonal
SHRINKAGE_GRID = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
HOLDOUT = 0.2               # share of the images held out to choose lambda
FLOAT_FLOOR = 1.0 / (12 * 256 ** 2)   # float images: the variance of 8-bit rounding
FA_TOLERANCE = 1e-4         # factor analysis stops when no noise variance moves by more than this share
ROW_CHUNK = 1 << 22         # floats per array when rows are solved in chunks


class Components(NamedTuple):
    """K Gaussians on D pixels: full covariances, or factors W and noise variances psi (S = W W' + diag psi)."""
    means: np.ndarray                    # (K, D)
    covariances: np.ndarray | None       # (K, D, D) when full
    factors: np.ndarray | None           # (K, D, r) when low rank (r may be 0: diagonal)
    noise: np.ndarray | None             # (K, D)

    @property
    def full(self) -> bool:
        return self.covariances is not None

    def arrays(self) -> dict:
        if self.full:
            return {"means": self.means, "covariances": self.covariances}
        return {"means": self.means, "factors": self.factors, "noise": self.noise}

    @classmethod
    def of(cls, arrays: dict) -> "Components":
        means = np.asarray(arrays["means"], dtype=float)
        if "covariances" in arrays:
            return cls(means, np.asarray(arrays["covariances"], dtype=float), None, None)
        return cls(means, None, np.asarray(arrays["factors"], dtype=float), np.asarray(arrays["noise"], dtype=float))


# ---------------------------------------------------------------------- conditionals
class _Solved:
    """x_M | x_O under component k for rows sharing the known pixels O (module doc)."""

    def __init__(self, comps: Components, k: int, present: np.ndarray):
        self.mean, self.present, self.absent = comps.means[k], present, ~present
        if comps.full:
            cov = comps.covariances[k]
            self.lower = _cholesky(cov[np.ix_(present, present)]) if present.any() else np.zeros((0, 0))
            cross = cov[np.ix_(present, self.absent)]
            self.whiten = _triangular(self.lower, np.eye(len(self.lower))).T if present.any() else None   # L^-T
            self.regression = _cho_solve(self.lower, cross)                           # (|O|, |M|)
            spread = cov[np.ix_(self.absent, self.absent)] - cross.T @ self.regression
            self.spread = (spread + spread.T) / 2
            self.log_det = 2 * np.log(np.diagonal(self.lower)).sum()
        else:
            factors, noise = comps.factors[k], comps.noise[k]
            self.factors, self.noise = factors, noise
            self.weighted = factors[present] / noise[present, None]                   # Psi_O^-1 W_O
            self.lower = _cholesky(np.eye(factors.shape[1]) + factors[present].T @ self.weighted)   # chol A
            self.log_det = np.log(noise[present]).sum() + 2 * np.log(np.diagonal(self.lower)).sum()

    def evidence(self, block: np.ndarray) -> np.ndarray:
        """(n,) log N(x_O; mu_O, S_OO) of the known values `block` (n, |O|)."""
        deviation = block - self.mean[self.present]
        if hasattr(self, "regression"):
            quad = ((deviation @ self.whiten) ** 2).sum(axis=1)
        else:
            projected = deviation @ self.weighted                                      # (n, r)
            quad = (deviation ** 2 / self.noise[self.present]).sum(axis=1) - \
                (projected * _cho_solve(self.lower, projected.T).T).sum(axis=1)
        return -0.5 * (self.present.sum() * LOG_2PI + self.log_det + quad)

    def latent(self, block: np.ndarray) -> np.ndarray:
        """(n, r) the posterior mean of the latent z given the known values (low rank only)."""
        return _cho_solve(self.lower, ((block - self.mean[self.present]) @ self.weighted).T).T

    def fill(self, block: np.ndarray, rng) -> np.ndarray:
        """(n, |M|) the unknown values: their conditional mean (rng None) or a draw."""
        deviation = block - self.mean[self.present]
        if hasattr(self, "regression"):
            out = self.mean[self.absent] + deviation @ self.regression
            if rng is not None:
                out = out + rng.standard_normal(out.shape) @ _cholesky(self.spread).T
            return out
        z = self.latent(block)
        if rng is not None:     # z ~ N(m, A^-1): m + L'^-1 e
            z = z + _triangular(self.lower.T, rng.standard_normal(z.shape).T, lower=False).T
        out = self.mean[self.absent] + z @ self.factors[self.absent].T
        if rng is not None:
            out = out + rng.standard_normal(out.shape) * np.sqrt(self.noise[self.absent])
        return out


def _cho_solve(lower: np.ndarray, right: np.ndarray) -> np.ndarray:
    if lower.size == 0:
        return np.zeros((0, right.shape[1]) if right.ndim == 2 else (0,))
    from scipy.linalg import cho_solve
    return cho_solve((lower, True), right, check_finite=False)


def _triangular(matrix: np.ndarray, right: np.ndarray, lower: bool = True) -> np.ndarray:
    if matrix.size == 0:
        return np.zeros((0,) + right.shape[1:])
    from scipy.linalg import solve_triangular
    return solve_triangular(matrix, right, lower=lower, check_finite=False)


def _patterns(known: np.ndarray):
    """(pattern (D,), rows) for each distinct set of known pixels among the rows of `known` (N, D)."""
    if len(known) == 0:
        return []
    if known.all():
        return [(known[0], np.arange(len(known)))]
    packed = np.ascontiguousarray(np.packbits(known, axis=1))       # one byte string per row sorts fast
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    return list(zip(known[first], np.split(order, np.cumsum(np.bincount(inverse))[:-1])))


def evidence(x: np.ndarray, comps: Components) -> np.ndarray:
    """(N, K): log N(x_O; mu_kO, S_kOO) of each image's known pixels (NaN = unknown) under each component."""
    out = np.zeros((len(x), len(comps.means)))
    for present, rows in _patterns(~np.isnan(x)):
        if not present.any():
            continue
        block = x[np.ix_(rows, present)]
        for k in range(len(comps.means)):
            out[rows, k] = _Solved(comps, k, present).evidence(block)
    return out


def fill(x: np.ndarray, comps: Components, component: np.ndarray, rng) -> np.ndarray:
    """x with every NaN replaced by its conditional mean (rng None) or a draw under component[i]."""
    out = x.copy()
    for present, rows in _patterns(~np.isnan(x)):
        if present.all():
            continue
        for k in np.unique(component[rows]):
            chosen = rows[component[rows] == k]
            out[np.ix_(chosen, ~present)] = _Solved(comps, k, present).fill(x[np.ix_(chosen, present)], rng)
    return out


def mixture_log_prob(x: np.ndarray, comps: Components, weights: np.ndarray) -> np.ndarray:
    return logsumexp(np.log(weights) + evidence(x, comps), axis=1)


def posterior(x: np.ndarray, comps: Components, weights: np.ndarray) -> np.ndarray:
    """(N, K) P(component | known pixels): the weights reweighted by each component's evidence."""
    joint = np.log(weights) + evidence(x, comps)
    return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))


def draw(n: int, comps: Components, component: np.ndarray, rng) -> np.ndarray:
    """(n, D) fresh images' intensities (before clipping), row i from component[i]."""
    return fill(np.full((n, comps.means.shape[1]), np.nan), comps, component, rng)


# ---------------------------------------------------------------------- fitting pieces
def floor_of(pixels: Pixels) -> float:
    """The variance added to every pixel: a level's cell 1 / (12 L^2), or 8-bit rounding for floats."""
    return 1.0 / (12 * pixels.n_levels ** 2) if pixels.n_levels else FLOAT_FLOOR


def chosen_form(covariance: str, rows: int, size: int, components: int = 1) -> str:
    """"full" or "low_rank" for `covariance` ("auto": the rule of the module doc, per component)."""
    if covariance == "auto":
        return "full" if size <= FULL_MAX_PIXELS and rows >= FULL_ROWS_PER_PIXEL * size * components else "low_rank"
    return "full" if covariance == "full" else "low_rank"


def full_covariance(x: np.ndarray, weights: np.ndarray, mean: np.ndarray, shrink: float, floor: float) -> np.ndarray:
    """The weighted covariance around `mean`, correlations divided by 1 + shrink, plus floor on the diagonal."""
    centred = (x - mean) * np.sqrt(weights)[:, None]
    cov = centred.T @ centred / max(weights.sum(), 1e-10)
    cov = (cov + shrink * np.diag(np.diag(cov))) / (1 + shrink)
    return cov + floor * np.eye(len(mean))


def factor_analysis(x: np.ndarray, weights: np.ndarray, mean: np.ndarray, rank: int, floor: float, iterations: int,
                    seed: int, start: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(W (D, r), psi (D,)) of S = W W' + diag psi fitted to the weighted images around `mean` plus floor I.

    Starts at probabilistic PCA (or `start`), then EM in covariance form with S V computed as
    X'(X V) / n + floor V, never S itself: beta = A^-1 W' Psi^-1, W <- S beta' (I - beta W + beta S beta')^-1,
    psi <- diag(S - W beta S). Columns come back orthogonal, in decreasing variance."""
    total = max(weights.sum(), 1e-10)
    centred = (x - mean) * np.sqrt(weights)[:, None]
    variances = (centred ** 2).sum(axis=0) / total + floor
    size = len(mean)
    rank = int(min(rank, size - 1, max(len(x) - 1, 0)))

    def times_s(v):
        return centred.T @ (centred @ v) / total + floor * v

    if start is not None:
        factors, noise = start
    elif rank == 0:
        return np.zeros((size, 0)), variances
    else:
        if min(centred.shape) <= 500:
            _, values, vectors = np.linalg.svd(centred, full_matrices=False)
        else:
            from sklearn.utils.extmath import randomized_svd
            _, values, vectors = randomized_svd(centred, rank, n_iter=4, random_state=seed)
        eigen = values[:rank] ** 2 / total + floor
        rest = max((variances.sum() - eigen.sum()) / max(size - rank, 1), floor)
        factors = vectors[:rank].T * np.sqrt(np.maximum(eigen - rest, 0.0))
        noise = np.full(size, rest)
    for _ in range(iterations):
        if factors.shape[1] == 0:
            noise = variances
            break
        weighted = factors / noise[:, None]
        beta = np.linalg.solve(np.eye(factors.shape[1]) + factors.T @ weighted, weighted.T)     # (r, D)
        s_beta = times_s(beta.T)                                                                # (D, r)
        second = np.eye(factors.shape[1]) - beta @ factors + beta @ s_beta
        factors = np.linalg.solve(second.T, s_beta.T).T
        previous, noise = noise, np.maximum(variances - (factors * s_beta).sum(axis=1), floor)
        if np.max(np.abs(noise - previous) / previous) < FA_TOLERANCE:
            break
    if factors.shape[1]:
        left, scales, _ = np.linalg.svd(factors, full_matrices=False)   # a rotation of z: the same model
        factors = left * scales
    return factors, noise


def gaussian_fit(x: np.ndarray, form: str, shrink: float, rank: int, floor: float, iterations: int,
                 seed: int) -> Components:
    mean = x.mean(axis=0)
    weights = np.ones(len(x))
    if form == "full":
        return Components(mean[None], full_covariance(x, weights, mean, shrink, floor)[None], None, None)
    factors, noise = factor_analysis(x, weights, mean, rank, floor, iterations, seed)
    return Components(mean[None], None, factors[None], noise[None])


def choose_shrinkage(x: np.ndarray, fit, rng, grid=SHRINKAGE_GRID) -> tuple[float, dict]:
    """lambda from SHRINKAGE_GRID with the best mean log-likelihood of HOLDOUT of the images under
    `fit(train, lambda) -> (Components, weights)`; {lambda: held-out nats per image}."""
    order = rng.permutation(len(x))
    cut = max(1, int(round(HOLDOUT * len(x))))
    held, train = x[order[:cut]], x[order[cut:]]
    scores = {}
    for shrink in grid:
        comps, weights = fit(train, shrink)
        scores[shrink] = float(mixture_log_prob(held, comps, weights).mean())
    return max(scores, key=scores.get), scores


# ---------------------------------------------------------------------- what both image rungs share
def scored_values(pixels: Pixels) -> np.ndarray:
    """What log_prob scores: the intensities, dequantized by one fixed draw on level images."""
    return pixels.dequantized(np.random.default_rng(0))


def completed(data: Pixels, values: np.ndarray, codec) -> Pixels:
    """`data` with its unknown pixels taken from `values` (clipped, levels by the codec)."""
    drawn = Pixels.from_values(values, codec)
    known = data.known
    levels = None if data.levels is None else np.where(known, data.levels, drawn.levels)
    return Pixels(np.where(known, data.values, drawn.values), levels, data.shape, data.n_levels)


def read_holes(model: Model, data, mask) -> tuple[np.ndarray, Pixels]:
    """(the images as given, checked; their Pixels with NaN where unknown), as `impute` reads them."""
    model._check_fitted()
    if mask is not None:
        data = model.codec_.with_mask(model._read(data)[0], mask)
    frame = model._input(data, allow_missing_cells=True)
    return frame, model.codec_.encode(frame, unknown_missing=True)


def as_intensities(model: Model, frame: np.ndarray, pixels: Pixels, values: np.ndarray) -> np.ndarray:
    """Float images shaped like `frame`: known pixels as given, the others from `values` (model space),
    on the scale of the input (level l of L is l / (L - 1))."""
    levels = model.codec_.n_levels
    if levels is None:
        filled = np.clip(values, 0.0, 1.0)
        known = pixels.values
    else:
        filled = np.clip((values * levels - 0.5) / (levels - 1), 0.0, 1.0)
        known = pixels.levels / (levels - 1)
    out = np.where(pixels.known, known, filled)
    return out.reshape(frame.shape).astype(float)


@register
class GaussianImages(Model):
    name = "gaussian"
    family = "classical"
    complexity = 30
    data_kind = "image"
    pixel_space = "intensities"
    description = ("one multivariate normal over the pixel intensities: full covariance when the images allow, "
                   "else low rank plus diagonal (factor analysis / probabilistic PCA)")
    log_prob_kind = "exact"
    impute_kind = "exact"
    restore_methods = ("exact",)
    params = {
        "covariance": Param("auto", str, "full, low_rank (W W' + diag psi), diag, or auto (full when D <= 1024 "
                            "and N >= D; see the docstring)", choices=("auto", "full", "low_rank", "diag")),
        "rank": Param(64, int, "columns of W for the low-rank covariance, and the size of encode's code", low=1,
                      high=100_000),
        "shrinkage": Param(None, float, "full covariance: every correlation divided by 1 + lambda (None = chosen on "
                           "held-out images)", low=0.0, optional=True),
        "max_iter": Param(100, int, "factor-analysis EM steps at most (low rank)", low=0, high=100_000),
    }
    test_params = {"max_iter": 10}

    def _fit(self, data: Pixels, rng) -> None:
        x, self.floor_ = data.values, floor_of(data)
        self.form_ = chosen_form(self.covariance, len(x), x.shape[1])
        rank = 0 if self.covariance == "diag" else self.rank
        seed = int(rng.integers(2 ** 31))

        def fit(train, shrink):
            return gaussian_fit(train, self.form_, shrink, rank, self.floor_, self.max_iter, seed), np.ones(1)

        self.shrinkage_, self.shrinkage_scores_ = self.shrinkage or 0.0, {}
        if self.form_ == "full" and self.shrinkage is None:
            self.shrinkage_, self.shrinkage_scores_ = choose_shrinkage(x, fit, rng)
        self.components_, _ = fit(x, self.shrinkage_)
        self._basis = None

    @property
    def mean(self) -> np.ndarray:
        """(D,) the fitted mean intensities, raster order, channels last."""
        return self.components_.means[0]

    @property
    def covariance_matrix(self) -> np.ndarray:
        """(D, D) the fitted covariance (W W' + diag psi for the low-rank form)."""
        comps = self.components_
        if comps.full:
            return comps.covariances[0]
        return comps.factors[0] @ comps.factors[0].T + np.diag(comps.noise[0])

    def _sample(self, n: int, rng) -> Pixels:
        return Pixels.from_values(draw(n, self.components_, np.zeros(n, np.int64), rng), self.codec_)

    def _log_prob(self, data: Pixels) -> np.ndarray:
        return evidence(scored_values(data), self.components_)[:, 0]

    def _impute(self, data: Pixels, rng) -> Pixels:
        return completed(data, fill(data.values, self.components_, np.zeros(len(data), np.int64), rng), self.codec_)

    def conditional_mean(self, data, mask=None) -> np.ndarray:
        """Float images like `data` (intensities in [0, 1]; NaN or `mask` = unknown) with every unknown
        pixel at its exact conditional mean given the known ones (the posterior-mean inpainting)."""
        frame, pixels = read_holes(self, data, mask)
        values = fill(pixels.values, self.components_, np.zeros(len(pixels), np.int64), None)
        return as_intensities(self, frame, pixels, values)

    def _restore(self, y, operator, noise_sd, n_draws, rng, method) -> np.ndarray:
        """Exact posterior draws given y = A x + noise (`_linear_gaussian`: one Cholesky factor of the
        M x M measured covariance, Matheron's rule per draw)."""
        return Posterior(self.components_, np.ones(1), y, operator, noise_sd).draws(n_draws, rng)

    # ------------------------------------------------------------------ the latent
    def _latent_basis(self) -> tuple[np.ndarray, np.ndarray]:
        """Full form: (V (D, k), sqrt eigenvalues (k,)) of the top k = min(rank, D) principal components."""
        if self._basis is None:
            values, vectors = np.linalg.eigh(self.components_.covariances[0])
            top = np.argsort(values)[::-1][:min(self.rank, len(values))]
            vectors = vectors[:, top] * np.where(vectors[np.abs(vectors[:, top]).argmax(axis=0), top] < 0, -1, 1)
            self._basis = vectors, np.sqrt(np.maximum(values[top], 1e-300))
        return self._basis

    def encode(self, images) -> np.ndarray:
        """(N, k) the latent code of complete images (module doc: posterior mean of the factor-analysis
        latent, or whitened principal-component scores); z ~ N(0, I) under the model."""
        self._check_fitted()
        x = self.codec_.encode(self._input(images, allow_missing_cells=False)).values
        comps = self.components_
        if comps.full:
            vectors, scales = self._latent_basis()
            return (x - comps.means[0]) @ vectors / scales
        return _Solved(comps, 0, np.ones(x.shape[1], bool)).latent(x)

    def decode(self, z) -> np.ndarray:
        """Images (of the fitted dtype and shape) at the latent codes z (N, k): mu + W z, clipped to [0, 1]."""
        self._check_fitted()
        comps = self.components_
        basis = comps.factors[0] if not comps.full else self._latent_basis()[0] * self._latent_basis()[1]
        z = np.asarray(z, dtype=float)
        if z.ndim != 2 or z.shape[1] != basis.shape[1]:
            raise ValueError(f"z has shape {z.shape}; this model's codes are (N, {basis.shape[1]}): give one row of "
                             f"{basis.shape[1]} numbers per image (what encode returns)")
        return self.codec_.decode(Pixels.from_values(comps.means[0] + z @ basis.T, self.codec_))

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        state = {"form": self.form_, "floor": self.floor_, "shrinkage": self.shrinkage_,
                 "shrinkage_scores": [[k, v] for k, v in self.shrinkage_scores_.items()]}
        return state, self.components_.arrays()

    def _set_state(self, state, arrays):
        self.form_, self.floor_, self.shrinkage_ = state["form"], float(state["floor"]), float(state["shrinkage"])
        self.shrinkage_scores_ = {k: v for k, v in state.get("shrinkage_scores", [])}
        self.components_ = Components.of(arrays)
        if self.components_.means.shape != (1, self.codec_.size):
            raise ValueError(f"means has shape {self.components_.means.shape}, expected (1, {self.codec_.size})")
        self._basis = None

"""The exact posterior of a Gaussian (or a mixture of Gaussians) prior given linear measurements.

x ~ N(mu, S), y = A x + e, e ~ N(0, s^2 I): x | y is Gaussian, and its pieces all go through the
M x M matrix G = A S A' + s^2 I of the measured entries (M of them, the rows of A where
`bound.measured`; an unmeasured entry of y says nothing and is left out):

    y ~ N(A mu, G)                                   (the evidence: reweights a mixture's components)
    E[x | y] = mu + S A' G^-1 (y - A mu)
    x = x0 + S A' G^-1 (y - A x0 - e0),  x0 ~ N(mu, S), e0 ~ N(0, s^2 I)

The last line is Matheron's rule (pathwise conditioning; Wilson et al. 2020): a prior draw moved by
the posterior's gain, exactly a posterior draw, with one Cholesky factor of G per component and no
D x D posterior covariance. S is full, or low rank plus diagonal, S = W W' + diag(psi), as the image
`gaussian`/`gmm` hold it (`Prior`, the same fields as `image_gaussian.Components`): then
A S A' = (A W)(A W)' + A diag(psi) A', and the draw's gain S A' v = W ((A W)' v) + psi (A' v).

A mixture sum_k pi_k N(mu_k, S_k) gives the mixture posterior sum_k P(k | y) N(x; posterior under
k), P(k | y) proportional to pi_k N(y; A mu_k, G_k): a component is drawn per draw, then x from its
Gaussian posterior.

Noiseless measurements (s = 0, a mask) and A of deficient rank leave G singular or nearly so: s^2
gets JITTER times the prior's typical measured variance added, one amount for every component, and
e0 is drawn with that variance, so a draw is an exact one of the model with that (tiny) noise. A
noiseless mask reproduces the known pixels to about JITTER / (their least conditional variance)
of their deviation from the mean, and its mean is the impute conditional mean x_M | x_O.

A is taken from `bound.matrix` (entries below ROUND_OFF of its largest, an FFT blur's round-off,
set to zero) and kept sparse when most of it is zero: a 32 x 32 x 3 blur of sigma 1.5 has 121
non-zeros in a row of 3,072. A full S takes one dense Cholesky factor of G per component (M^3 / 3).
A low-rank S with a sparse A takes none: B = A diag(psi) A' + s^2 I is sparse, banded once its
entries are put in reverse Cuthill-McKee order (the blur's: 540 wide, the mask's and the
downsample's: diagonal), so B gets a band Cholesky factor and G = B + (A W)(A W)' is solved by
Woodbury through the r x r matrix C = I + (A W)' B^-1 (A W), log det G = log det B + log det C.
Measured on avatars (32 x 32 x 3, the image gmm's 10 components of rank 64, one thread, noise sd
0.02, 20 draws): blur sigma 1.5 took 47 s for one image with dense factors, 10.2 s with these (20
images 11.5 s: the factors are made once a call, 0.07 s an image more); a centred 16 x 16 box mask
0.7 s, 4x downsample 0.1 s.
"""
from __future__ import annotations

import sys
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.linalg import cho_solve, solve_triangular
from scipy.special import logsumexp

from ..core.errors import ParameterError
from ._gaussian import LOG_2PI, _cholesky
from ._marginals import draw_categorical

SPARSE_SHARE = 0.1      # A with fewer non-zero entries than this share is kept sparse
ROUND_OFF = 1e-13       # entries of A this small against its largest are round-off (FFT blurs): zero
BAND_SHARE = 0.25       # low rank: A diag(psi) A' is factored banded when its band (after RCM) is narrower
JITTER = 1e-10          # added to s^2, in units of the prior's mean variance of a measured entry
CHUNK = 1024            # draws computed at once
KEEP_BYTES = 1 << 28    # the components' factors kept from the evidence pass for the draws (else refactored)


class Prior(NamedTuple):
    """K Gaussians on D values: full covariances, or factors W and noise variances psi (S = W W' + diag psi)."""
    means: np.ndarray                    # (K, D)
    covariances: np.ndarray | None       # (K, D, D) when full
    factors: np.ndarray | None = None    # (K, D, r) when low rank
    noise: np.ndarray | None = None      # (K, D)


def measured_matrix(operator):
    """A on the measured entries only ((M, D), dense or sparse), from a `Bound` or a matrix."""
    if isinstance(operator, np.ndarray) or sparse.issparse(operator):
        a = operator
    else:
        a = operator.matrix[operator.measured]
    if sparse.issparse(a):
        return sparse.csr_matrix(a)
    a = np.asarray(a, dtype=float)
    if not a.size:
        return a
    magnitude = np.abs(a)
    keep = magnitude > ROUND_OFF * magnitude.max()
    if np.count_nonzero(keep) < SPARSE_SHARE * a.size:
        rows, columns = np.nonzero(keep)
        return sparse.csr_matrix((a[rows, columns], (rows, columns)), shape=a.shape)
    return np.where(keep, a, 0.0)


def measured_values(y: np.ndarray, operator) -> np.ndarray:
    """y (N, M_all) cut to the measured entries (a `Bound`), or as it is (a matrix)."""
    y = np.atleast_2d(np.asarray(y, dtype=float))
    if isinstance(operator, np.ndarray) or sparse.issparse(operator):
        return y
    return y[:, operator.measured]


def _times_transpose(a, right: np.ndarray) -> np.ndarray:
    """right (n, M) @ A (M, D) -> (n, D): A' applied to each row."""
    return np.asarray((a.T @ right.T).T) if sparse.issparse(a) else right @ a


def _applied(a, x: np.ndarray) -> np.ndarray:
    """A applied to each row of x (n, D) -> (n, M)."""
    return np.asarray((a @ x.T).T) if sparse.issparse(a) else x @ a.T


def noise_variance(prior: Prior, a, noise_sd: float) -> float:
    """s^2 plus the jitter (module doc): JITTER x the mean prior variance x the mean squared row norm of A."""
    if prior.covariances is not None:
        variance = np.diagonal(prior.covariances, axis1=1, axis2=2).mean()
    else:
        variance = ((prior.factors ** 2).sum(axis=2) + prior.noise).mean()
    rows = np.asarray(a.multiply(a).sum(axis=1)).ravel() if sparse.issparse(a) else (a ** 2).sum(axis=1)
    typical = float(variance * rows.mean()) if len(rows) else 0.0
    return float(noise_sd) ** 2 + JITTER * max(typical, 1e-300)


def band_order(a) -> np.ndarray | None:
    """For a sparse A: an order of the measured entries (reverse Cuthill-McKee) in which A diag(psi) A'
    is banded narrowly enough (BAND_SHARE of M) to factor in band form; None: factor it dense."""
    if not sparse.issparse(a) or a.shape[0] == 0:
        return None
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    pattern = sparse.csr_matrix(abs(a) @ abs(a).T)
    order = np.asarray(reverse_cuthill_mckee(pattern, symmetric_mode=True), dtype=np.int64)
    coo = pattern[order][:, order].tocoo()
    width = int(np.abs(coo.row - coo.col).max()) if coo.nnz else 0
    return order if width < BAND_SHARE * a.shape[0] else None


class _Dense:
    """G (M x M) by its Cholesky factor."""

    def __init__(self, g: np.ndarray):
        self.lower = _cholesky(g) if len(g) else np.zeros((0, 0))
        self.log_det = 2 * np.log(np.diagonal(self.lower)).sum()

    def solve(self, right: np.ndarray) -> np.ndarray:         # G^-1 r for r (M, n)
        return cho_solve((self.lower, True), right, check_finite=False)

    def quadratic(self, right: np.ndarray) -> np.ndarray:     # r' G^-1 r per column
        return (solve_triangular(self.lower, right, lower=True, check_finite=False) ** 2).sum(axis=0)


class _Banded:
    """B = A diag(psi) A' + v I, sparse, by a band Cholesky factor in `order` (its RCM order)."""

    def __init__(self, b, order: np.ndarray):
        from scipy.linalg import cholesky_banded

        coo = sparse.tril(sparse.csr_matrix(b)[order][:, order]).tocoo()
        width = int((coo.row - coo.col).max()) if coo.nnz else 0
        band = np.zeros((width + 1, b.shape[0]))
        band[coo.row - coo.col, coo.col] = coo.data
        jitter, scale = 0.0, float(band[0].mean())
        for _ in range(6):      # round-off may leave a nearly singular B barely indefinite: a little jitter
            try:
                self.factor = cholesky_banded(band + jitter * (np.arange(width + 1) == 0)[:, None], lower=True,
                                              check_finite=False)
                break
            except np.linalg.LinAlgError:
                jitter = max(jitter * 100, 1e-12 * scale)
        else:
            raise np.linalg.LinAlgError("the measured covariance is not positive definite; refit the model")
        self.order = order
        self.log_det = 2 * np.log(self.factor[0]).sum()

    def solve(self, right: np.ndarray) -> np.ndarray:
        from scipy.linalg import cho_solve_banded

        out = np.empty_like(right)
        out[self.order] = cho_solve_banded((self.factor, True), right[self.order], check_finite=False)
        return out


class _Woodbury:
    """G = B + U U' (B banded, U = A W (M, r)): G^-1 = B^-1 - B^-1 U C^-1 U' B^-1, C = I + U' B^-1 U,
    log det G = log det B + log det C; O(M band^2 + M r^2), never an M x M matrix."""

    def __init__(self, base: _Banded, u: np.ndarray):
        self.base, self.u = base, u
        self.base_u = base.solve(u)                                              # B^-1 U (M, r)
        self.inner = _Dense(np.eye(u.shape[1]) + u.T @ self.base_u)
        self.log_det = base.log_det + self.inner.log_det

    def solve(self, right: np.ndarray) -> np.ndarray:
        first = self.base.solve(right)
        return first - self.base_u @ self.inner.solve(self.u.T @ first)

    def quadratic(self, right: np.ndarray) -> np.ndarray:
        first = self.base.solve(right)
        return (right * first).sum(axis=0) - self.inner.quadratic(self.u.T @ first)


class Conditioned:
    """Component k of `prior` given measurements through A (measured rows) with noise variance
    `variance`: G = A S A' + variance I factored once (dense, or banded plus low rank when `order`
    says A diag(psi) A' is banded), for the evidence, the mean and draws."""

    def __init__(self, prior: Prior, k: int, a, variance: float, order: np.ndarray | None = None):
        self.mean, self.a, self.variance = prior.means[k], a, variance
        self.full = prior.covariances is not None
        size = a.shape[0]
        if self.full:
            self.covariance = prior.covariances[k]
            self.gain = np.asarray(a @ self.covariance).T                    # S A' (D, M)
            g = np.asarray(a @ self.gain)
            g = (g + g.T) / 2
            g[np.diag_indices(size)] += variance
            self.solver = _Dense(g)
        else:
            self.factors, self.noise = prior.factors[k], prior.noise[k]
            self.a_factors = np.asarray(a @ self.factors)                    # A W (M, r)
            if sparse.issparse(a):
                spread = a.multiply(self.noise[None]) @ a.T + variance * sparse.identity(size, format="csr")
            else:
                spread = (a * self.noise) @ a.T
                spread[np.diag_indices(size)] += variance
            if order is not None:
                self.solver = _Woodbury(_Banded(spread, order), self.a_factors)
            else:
                g = spread.toarray() if sparse.issparse(spread) else spread
                g += self.a_factors @ self.a_factors.T
                self.solver = _Dense((g + g.T) / 2)
        self.size = size
        self.centre = _applied(a, self.mean[None])[0]                         # A mu

    def evidence(self, y: np.ndarray) -> np.ndarray:
        """(n,) log N(y; A mu, G) of measured values y (n, M)."""
        if not self.size:
            return np.zeros(len(y))
        quadratic = self.solver.quadratic((y - self.centre).T)
        return -0.5 * (self.size * LOG_2PI + self.solver.log_det + quadratic)

    def _moved(self, residual: np.ndarray) -> np.ndarray:
        """(n, D) S A' G^-1 r for residuals r (n, M)."""
        if not self.size:
            return np.zeros((len(residual), len(self.mean)))
        v = self.solver.solve(residual.T).T                                      # (n, M)
        if self.full:
            return v @ self.gain.T
        return (v @ self.a_factors) @ self.factors.T + _times_transpose(self.a, v) * self.noise

    def posterior_mean(self, y: np.ndarray) -> np.ndarray:
        """(n, D) E[x | y] = mu + S A' G^-1 (y - A mu)."""
        return self.mean + self._moved(y - self.centre)

    def prior_draws(self, n: int, rng) -> np.ndarray:
        if self.full:
            if not hasattr(self, "_root"):
                self._root = _cholesky(self.covariance)
            return self.mean + rng.standard_normal((n, len(self.mean))) @ self._root.T
        z = rng.standard_normal((n, self.factors.shape[1]))
        return self.mean + z @ self.factors.T + rng.standard_normal((n, len(self.mean))) * np.sqrt(self.noise)

    def draws(self, y: np.ndarray, rng) -> np.ndarray:
        """(n, D) one posterior draw per row of y (n, M), by Matheron's rule (module doc)."""
        x0 = self.prior_draws(len(y), rng)
        e0 = np.sqrt(self.variance) * rng.standard_normal(y.shape)
        return x0 + self._moved(y - _applied(self.a, x0) - e0)


def _progress(iterable, total: int, what: str):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=what, unit="component", leave=False,
                disable=not sys.stderr.isatty() or total < 2)


class Posterior:
    """p(x | y) under a mixture prior (one component: a Gaussian) for a batch of measurements:
    `responsibilities` P(k | y) (N, K), `mean` (N, D) and `draws` (n_draws, N, D)."""

    def __init__(self, prior: Prior, weights, y: np.ndarray, operator, noise_sd: float,
                 log_weights: np.ndarray | None = None):
        self.prior, self.a = prior, measured_matrix(operator)
        self.y = measured_values(y, operator)
        self.variance = noise_variance(prior, self.a, noise_sd)
        size, width = self.a.shape
        self.order = band_order(self.a) if prior.covariances is None else None
        per = size * size + (width * size if prior.covariances is not None else 0)
        if self.order is not None:      # the band factor and B^-1 U, not an M x M matrix
            per = size * (prior.factors.shape[2] + int(BAND_SHARE * size) + 1)
        self._keep = len(prior.means) * per * 8 <= KEEP_BYTES
        self._kept = {}
        log_prior = np.log(np.asarray(weights, dtype=float))[None] if log_weights is None else log_weights
        evidence = np.zeros((len(self.y), len(prior.means)))
        for k in _progress(range(len(prior.means)), len(prior.means), "restore: components"):
            evidence[:, k] = self.component(k).evidence(self.y)
        joint = log_prior + evidence
        self.log_evidence = logsumexp(joint, axis=1)                           # log p(y) under the mixture
        self.responsibilities = np.exp(joint - self.log_evidence[:, None])

    def component(self, k: int) -> Conditioned:
        if k in self._kept:
            return self._kept[k]
        made = Conditioned(self.prior, k, self.a, self.variance, self.order)
        if self._keep:
            self._kept[k] = made
        return made

    def mean(self) -> np.ndarray:
        """(N, D) E[x | y] = sum_k P(k | y) E_k[x | y]."""
        out = np.zeros((len(self.y), self.prior.means.shape[1]))
        for k in np.flatnonzero(self.responsibilities.max(axis=0) > 0):
            out += self.responsibilities[:, k, None] * self.component(k).posterior_mean(self.y)
        return out

    def draws(self, n_draws: int, rng) -> np.ndarray:
        """(n_draws, N, D): per draw and item a component from P(k | y), then x from its posterior."""
        n = len(self.y)
        chosen = draw_categorical(np.tile(self.responsibilities, (n_draws, 1)), rng)     # draw-major
        out = np.empty((n_draws * n, self.prior.means.shape[1]))
        used = np.unique(chosen)
        for k in _progress(used, len(used), "restore: draws"):
            rows = np.flatnonzero(chosen == k)
            conditioned = self.component(k)
            for start in range(0, len(rows), CHUNK):
                part = rows[start:start + CHUNK]
                out[part] = conditioned.draws(self.y[part % n], rng)
        return out.reshape(n_draws, n, -1)


def table_columns(layout) -> tuple[np.ndarray, list[int]]:
    """For restoring a table's numeric columns (all of them, in order): the continuous variable of
    each (D,), and the state variables of nullable ones (the posterior is given that every cell
    holds a value). A column with point masses (a share of zeros, a cap, few distinct values) is a
    mixture of exact values and a density, not linear-Gaussian: a one-line error names it."""
    order, states = [], []
    for column, (state, value) in zip(layout.modelled, layout.columns()):
        atoms = [] if state < 0 else [label for label in layout.discrete[state].labels if isinstance(label, float)]
        if value < 0 or atoms:
            example = f"values such as {atoms[0]:g}" if atoms else "values"
            raise ParameterError(f"column {column.name!r} has point masses ({example} held exactly by many rows), "
                                 "which a linear-Gaussian posterior cannot hold: fit with "
                                 f"schema={{{column.name!r}: {{'atoms': False}}}} to keep every value continuous")
        order.append(value)
        if state >= 0:
            states.append(state)
    return np.array(order, dtype=np.int64), states

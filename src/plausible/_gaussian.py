"""Multivariate normal pieces shared by `gaussian` and `gmm`: densities, conditionals, EM with gaps.

Rows are vectors x in R^C with NaN for absent dimensions (a value that does not apply in this row,
or one that is unknown). The marginal of N(mu, S) on the present dimensions O is N(mu_O, S_OO),
so an absent dimension is integrated out simply by leaving it out:

    log N(x_O; mu_O, S_OO) = -1/2 (|O| log 2 pi + log det S_OO + |L^-1 (x_O - mu_O)|^2),   L L' = S_OO

with log det S_OO = 2 sum_i log L_ii (Cholesky). The absent dimensions M given the present ones
are Gaussian again,

    x_M | x_O ~ N(mu_M + (x_O - mu_O) B,  S_MM - S_MO B),        B = S_OO^-1 S_OM,

which is what imputation draws from. Rows that share a pattern of present dimensions share L, B
and the conditional covariance, so every function groups the rows by pattern (`patterns`) and does
one matrix product per group instead of one solve per row.

EM for (mu, S) with gaps, row i weighted by w_i (1 for a single Gaussian, the responsibility r_ik
for component k of a mixture). E-step under the current (mu, S): x^_i is x_i with x_M replaced by
its conditional mean, and V_i is the conditional covariance S_MM - S_MO B placed in the M x M
block (zero elsewhere). M-step:

    mu' = sum_i w_i x^_i / sum_i w_i
    S'  = sum_i w_i [(x^_i - mu')(x^_i - mu')' + V_i] / sum_i w_i + diag(ridge)

Apart from the ridge, no step lowers the likelihood of the present values (Little & Rubin,
Statistical Analysis with Missing Data, ch. 11). Both models work in standardized units z = (x - center) / scale (see
`standardization`), so the ridge is 1e-6 of each dimension's variance, or the variance of rounding
(resolution^2 / 12) for integer and whole-day columns when that is larger: it keeps S invertible
when columns are collinear, and stops a mixture component from collapsing onto one repeated integer.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

LOG_2PI = float(np.log(2 * np.pi))
RIDGE = 1e-6          # added to each variance, in units of that dimension's variance
SECONDS_PER_DAY = 86400.0


def standardization(layout, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """center, scale and ridge, each (C,), for the continuous variables of `layout`.

    z = (x - center) / scale has mean 0 and variance 1 over the present values; a density in z
    becomes one in user units by subtracting sum(log scale) over the present dimensions.
    """
    present = ~np.isnan(values)
    count = np.maximum(present.sum(axis=0), 1)
    center = np.where(present, values, 0.0).sum(axis=0) / count
    spread = np.sqrt(np.where(present, (values - center) ** 2, 0.0).sum(axis=0) / count)
    scale = np.where(spread > 0, spread, 1.0)
    resolution = np.array([1.0 if var.integer else
                           SECONDS_PER_DAY if layout.schema[var.column].resolution == "D" else 0.0
                           for var in layout.continuous])
    ridge = np.maximum(RIDGE, (resolution / scale) ** 2 / 12)
    return center, scale, ridge


class Group(NamedTuple):
    """Rows sharing one pattern of present dimensions."""
    rows: np.ndarray      # (n,) row indices
    present: np.ndarray   # (C,) bool
    block: np.ndarray     # (n, |O|) the present values of those rows, cut out once


def patterns(x: np.ndarray) -> list[Group]:
    """The rows of x (N, C) grouped by which dimensions are present (NaN = absent)."""
    if len(x) == 0:
        return []
    present = ~np.isnan(x)
    if x.shape[1] <= 64:  # one integer key per row sorts far faster than rows of booleans
        packed = np.packbits(present, axis=1)                                  # (N, <= 8) bytes
        keys = np.pad(packed, ((0, 0), (0, 8 - packed.shape[1]))).view(np.uint64).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        unique = present[first]
    else:
        unique, inverse = np.unique(present, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(unique)))[:-1]
    return [Group(rows, mask, x[np.ix_(rows, mask)]) for rows, mask in zip(np.split(order, bounds), unique)]


def log_density(x: np.ndarray, means: np.ndarray, covariances: np.ndarray, groups=None) -> np.ndarray:
    """(N, K): log N(x_O; mu_kO, S_kOO) for each row and each of K Gaussians, absent dimensions
    integrated out (0 for a row with nothing present). means (K, C), covariances (K, C, C)."""
    out = np.zeros((len(x), len(means)))
    for rows, present, block in patterns(x) if groups is None else groups:
        if not present.any():
            continue
        lower = np.linalg.cholesky(covariances[:, present][:, :, present])       # (K, |O|, |O|)
        whitened = (block[None] - means[:, None, present]) @ np.linalg.inv(lower).transpose(0, 2, 1)  # (K, n, |O|)
        log_det = 2 * np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)    # (K,)
        out[rows] = -0.5 * (present.sum() * LOG_2PI + log_det + np.einsum("kni,kni->nk", whitened, whitened))
    return out


def conditional(means: np.ndarray, covariances: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, V), (K, |O|, |M|) and (K, |M|, |M|): x_M | x_O ~ N(mu_kM + (x_O - mu_kO) B_k, V_k)."""
    absent = ~present
    if not present.any():
        return np.zeros((len(means), 0, absent.sum())), covariances[:, absent][:, :, absent]
    regression = np.linalg.solve(covariances[:, present][:, :, present], covariances[:, present][:, :, absent])
    spread = covariances[:, absent][:, :, absent] - covariances[:, absent][:, :, present] @ regression
    return regression, (spread + spread.transpose(0, 2, 1)) / 2


def em_update(x: np.ndarray, means: np.ndarray, covariances: np.ndarray, ridge: np.ndarray,
              weights: np.ndarray | None = None, groups=None) -> tuple[np.ndarray, np.ndarray]:
    """One EM step for K Gaussians at once, row i weighted by weights[i, k] (all 1 if None).

    means (K, C), covariances (K, C, C), weights (N, K); see the module doc for the update. The
    moments are accumulated around the current means, group by group (x is never copied whole).
    A Gaussian whose weights sum to (almost) nothing keeps its parameters.
    """
    weights = np.ones((len(x), len(means))) if weights is None else weights
    first, second = np.zeros_like(means), np.zeros_like(covariances)  # sum w (x^ - mu), sum w [(..)(..)' + V]
    for rows, present, block in patterns(x) if groups is None else groups:
        w = weights[rows]                                                          # (n, K)
        order = np.concatenate([np.flatnonzero(present), np.flatnonzero(~present)])  # present dims first
        regression, spread = conditional(means, covariances, present)
        deviation = block[None] - means[:, None, present]                          # (K, n, |O|)
        filled = np.concatenate([deviation, deviation @ regression], axis=2)       # (K, n, C): x^ - mu, reordered
        first[:, order] += (w.T[:, None, :] @ filled)[:, 0]
        moments = (filled * w.T[:, :, None]).transpose(0, 2, 1) @ filled          # (K, C, C)
        moments[:, present.sum():, present.sum():] += w.sum(axis=0)[:, None, None] * spread
        second[:, order[:, None], order] += moments
    total = weights.sum(axis=0)                                                    # (K,)
    alive = total > 1e-10
    shift = first / np.where(alive, total, 1.0)[:, None]
    updated = second / np.where(alive, total, 1.0)[:, None, None] - shift[:, :, None] * shift[:, None, :]
    updated = (updated + updated.transpose(0, 2, 1)) / 2 + np.diag(ridge)
    return (np.where(alive[:, None], means + shift, means),
            np.where(alive[:, None, None], updated, covariances))


def sample_missing(x: np.ndarray, means: np.ndarray, covariances: np.ndarray, component: np.ndarray,
                   rng: np.random.Generator, groups=None) -> np.ndarray:
    """x with every NaN drawn from N(means[k], covariances[k]) given the row's present values.

    means (K, C), covariances (K, C, C); `component` (N,) says which k each row uses. Present
    values are kept as they are.
    """
    out = x.copy()
    for rows, present, block in patterns(x) if groups is None else groups:
        if present.all():
            continue
        absent = ~present
        regression, spread = conditional(means, covariances, present)
        for k in np.unique(component[rows]):
            chosen = component[rows] == k
            noise = rng.standard_normal((chosen.sum(), absent.sum())) @ _cholesky(spread[k]).T
            out[np.ix_(rows[chosen], absent)] = (means[k][absent] + (block[chosen] - means[k][present]) @ regression[k]
                                                 + noise)
    return out


def impute_values(values: np.ndarray, active: np.ndarray, center: np.ndarray, scale: np.ndarray,
                  means: np.ndarray, covariances: np.ndarray, component: np.ndarray, rng) -> np.ndarray:
    """values (N, C) in user units with its NaN cells drawn given the present ones (`sample_missing`
    in standardized units), then NaN again wherever `active` is False. Present values are kept exactly."""
    z = sample_missing((values - center) / scale, means, covariances, component, rng)
    out = np.where(active, center + scale * z, np.nan)
    known = ~np.isnan(values)
    out[known] = values[known]
    return out


def _cholesky(matrix: np.ndarray) -> np.ndarray:
    """Cholesky factor, with a little jitter if round-off left the matrix barely indefinite."""
    jitter = 0.0
    for _ in range(6):
        try:
            return np.linalg.cholesky(matrix + jitter * np.eye(len(matrix)))
        except np.linalg.LinAlgError:
            jitter = max(jitter * 100, 1e-12 * max(np.trace(matrix) / len(matrix), 1e-300))
    raise np.linalg.LinAlgError("a conditional covariance is not positive definite; refit the model")

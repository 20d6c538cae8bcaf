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

Cells missing at random give nearly every row its own pattern, and a Python loop over hundreds of
one-row groups is slow. Rows whose pattern has fewer than MIN_GROUP rows are therefore handled
together, in batches, through the precision matrix P = S^-1 (one inversion for the batch); rows
with the same number of absent dimensions invert their own blocks P_MM together, in one call,

    x_M | x_O ~ N(mu_M - P_MM^-1 P_MO (x_O - mu_O),  P_MM^-1),     log det S_OO = log det S + log det P_MM,

and |L^-1 (x_O - mu_O)|^2 = (x^ - mu)' P (x^ - mu) with x^ the row filled with its conditional mean.
These batches are most of the cost of EM with gaps, and an EM iteration wants them twice under the
same parameters: for the log-likelihood (or a mixture's responsibilities) and for the next update.
A `Solved` passed to `log_density`, `mahalanobis` and `em_update` keeps them from the first call for
the next ones (same rows, groups and parameters), which halves the cost of an iteration.

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
MIN_GROUP = 64        # rows of a pattern shared by fewer rows are handled together, row by row in batches:
                      # a pattern's own solves cost ~0.1 ms a call, a batched row a few microseconds (4 -> 64:
                      # fits 1.5-3x faster from 442 x 10 to 20,000 x 10; a bootstrap resample's repeated rows
                      # made dozens of 4-row groups)
BATCH_ENTRIES = 1 << 22   # floats per array of a batch of such rows (32 MiB)
KEEP_BYTES = 1 << 28      # a `Solved` keeps batches up to this many bytes (256 MiB); past it, they are recomputed
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
    return scaled(layout, count, center, np.where(present, (values - center) ** 2, 0.0).sum(axis=0))


def scaled(layout, count: np.ndarray, center: np.ndarray, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                         np.ndarray]:
    """`standardization` from its statistics: each variable's present count, mean, and sum of
    squared deviations from that mean (sums over a partitioned table's pieces, `core/by_parts.py`)."""
    count = np.maximum(count, 1)
    spread = np.sqrt(squares / count)
    scale = np.where(spread > 0, spread, 1.0)
    resolution = np.array([1.0 if var.integer else
                           SECONDS_PER_DAY if layout.schema[var.column].resolution == "D" else 0.0
                           for var in layout.continuous])
    ridge = np.maximum(RIDGE, (resolution / scale) ** 2 / 12)
    return center, scale, ridge


class Group(NamedTuple):
    """Rows sharing one pattern of present dimensions, or (`present` 2-D) rows with rare patterns."""
    rows: np.ndarray      # (n,) row indices
    present: np.ndarray   # (C,) bool; or (n, C) bool, each row its own pattern
    block: np.ndarray     # (n, |O|) the present values of those rows, cut out once; (n, C) rows if 2-D


def patterns(x: np.ndarray) -> list[Group]:
    """The rows of x (N, C) grouped by which dimensions are present (NaN = absent)."""
    if len(x) == 0:
        return []
    present = ~np.isnan(x)
    if x.shape[1] <= 64:  # one integer key per row sorts far faster than rows of booleans
        packed = np.packbits(present, axis=1)                                  # (N, <= 8) bytes
        keys = np.ascontiguousarray(np.pad(packed, ((0, 0), (0, 8 - packed.shape[1])))).view(np.uint64).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        unique = present[first]
    else:
        unique, inverse = np.unique(present, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    sizes = np.bincount(inverse, minlength=len(unique))
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(sizes)[:-1]
    groups = [Group(rows, mask, x[np.ix_(rows, mask)])
              for rows, mask, size in zip(np.split(order, bounds), unique, sizes) if size >= MIN_GROUP]
    rare = np.sort(np.flatnonzero(sizes[inverse] < MIN_GROUP))
    if rare.size:
        groups.append(Group(rare, present[rare], x[rare]))
    return groups


class RowConditionals(NamedTuple):
    """x_M | x_O for rows each with its own pattern, under K Gaussians (see `_row_conditionals`)."""
    filled: np.ndarray    # (K, n, C) x^ - mu: the present deviations, the absent ones' conditional means
    log_pdf: np.ndarray   # (K, n) log N(x_O; mu_O, S_OO)
    blocks: list          # [(rows (b,), absent (b, m), spread (K, b, m, m))]: rows with m absent dimensions


def _row_conditionals(x: np.ndarray, present: np.ndarray, means: np.ndarray, covariances: np.ndarray
                      ) -> RowConditionals:
    """For rows each with its own pattern (x (n, C), present (n, C)) and K Gaussians, through the
    precision matrix (module doc). Rows with the same number m of absent dimensions are solved
    together: each inverts its own m x m block P_MM, never a C x C matrix, so a row costs m^3 + C^2."""
    absent = ~present
    k = len(means)
    precision = np.linalg.inv(covariances)                                         # (K, C, C)
    precision = (precision + precision.transpose(0, 2, 1)) / 2
    deviation = np.where(present[None], x[None] - means[:, None, :], 0.0)          # (K, n, C)
    pull = deviation @ precision                                                   # row i: P (x_O - mu_O, 0)
    filled = deviation.copy()
    log_det = np.repeat(np.linalg.slogdet(covariances)[1][:, None], len(x), axis=1)  # log det S, then + P_MM
    counts = absent.sum(axis=1)
    blocks = []
    for m in np.unique(counts[counts > 0]):
        same = np.flatnonzero(counts == m)
        step = max(1, BATCH_ENTRIES // (k * m * m))
        for rows in np.split(same, range(step, len(same), step)):
            index = np.nonzero(absent[rows])[1].reshape(len(rows), m)             # (b, m), ascending
            block = precision[:, index[:, :, None], index[:, None, :]]           # (K, b, m, m) = P_MM
            spread = np.linalg.inv(block)
            spread = (spread + spread.transpose(0, 1, 3, 2)) / 2
            pulled = np.take_along_axis(pull[:, rows], np.broadcast_to(index, (k, *index.shape)), axis=2)
            filled[:, rows[:, None], index] = -np.einsum("kbij,kbj->kbi", spread, pulled)
            log_det[:, rows] += np.linalg.slogdet(block)[1]
            blocks.append((rows, index, spread))
    quadratic = ((filled @ precision) * filled).sum(axis=2)
    log_pdf = -0.5 * (present.sum(axis=1)[None] * LOG_2PI + log_det + quadratic)
    return RowConditionals(filled, log_pdf, blocks)


class Solved(dict):
    """The rare-pattern batches of `_row_conditionals` under ONE set of Gaussians, kept by the first
    of `log_density`, `mahalanobis` or `em_update` that computes them for the others: pass a fresh
    one with each new set of parameters (and the same x and groups). Keyed by (group, batch start);
    holds at most KEEP_BYTES, so on a huge table the rest is simply recomputed."""

    def __init__(self):
        super().__init__()
        self.bytes = 0


def _solved(keep: Solved | None, key: tuple, x, present, means, covariances) -> RowConditionals:
    """`_row_conditionals(x, present, means, covariances)`, from `keep` if it holds `key`, else computed
    (and kept there while it has room)."""
    if keep is not None and key in keep:
        return keep[key]
    solved = _row_conditionals(x, present, means, covariances)
    if keep is not None:
        size = solved.filled.nbytes + solved.log_pdf.nbytes + sum(a.nbytes + b.nbytes + c.nbytes
                                                                  for a, b, c in solved.blocks)
        if keep.bytes + size <= KEEP_BYTES:
            keep[key], keep.bytes = solved, keep.bytes + size
    return solved


def _batches(group: Group, k: int):
    """Slices of a rare-pattern group small enough for `_row_conditionals` with k Gaussians: its
    (K, n, C) arrays hold at most BATCH_ENTRIES floats each (the m x m blocks are cut to fit too)."""
    width = group.block.shape[1]
    step = max(1, BATCH_ENTRIES // max(1, k * width))
    for start in range(0, len(group.rows), step):
        yield slice(start, start + step)


def log_density(x: np.ndarray, means: np.ndarray, covariances: np.ndarray, groups=None,
                keep: Solved | None = None) -> np.ndarray:
    """(N, K): log N(x_O; mu_kO, S_kOO) for each row and each of K Gaussians, absent dimensions
    integrated out (0 for a row with nothing present). means (K, C), covariances (K, C, C).
    `keep`: a `Solved` for these parameters (see the module doc)."""
    out = np.zeros((len(x), len(means)))
    for g, group in enumerate(patterns(x) if groups is None else groups):
        rows, present, block = group
        if present.ndim == 2:
            for part in _batches(group, len(means)):
                out[rows[part]] = _solved(keep, (g, part.start), block[part], present[part], means,
                                          covariances).log_pdf.T
            continue
        if not present.any():
            continue
        lower = np.linalg.cholesky(covariances[:, present][:, :, present])       # (K, |O|, |O|)
        whitened = (block[None] - means[:, None, present]) @ np.linalg.inv(lower).transpose(0, 2, 1)  # (K, n, |O|)
        log_det = 2 * np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)    # (K,)
        out[rows] = -0.5 * (present.sum() * LOG_2PI + log_det + np.einsum("kni,kni->nk", whitened, whitened))
    return out


def mahalanobis(x: np.ndarray, mean: np.ndarray, covariance: np.ndarray, groups=None,
                keep: Solved | None = None) -> np.ndarray:
    """(N,): (x_O - mu_O)' S_OO^-1 (x_O - mu_O) of each row over its present dimensions (0 if none).
    `keep`: a `Solved` for N(mean, covariance) as one Gaussian (see the module doc)."""
    out = np.zeros(len(x))
    means, covariances = mean[None], covariance[None]
    for g, group in enumerate(patterns(x) if groups is None else groups):
        rows, present, block = group
        if present.ndim == 2:
            precision = np.linalg.inv(covariance)
            for part in _batches(group, 1):
                filled = _solved(keep, (g, part.start), block[part], present[part], means,
                                 covariances).filled[0]                                        # (n, C)
                out[rows[part]] = np.einsum("nc,cd,nd->n", filled, precision, filled)
            continue
        if not present.any():
            continue
        lower = np.linalg.cholesky(covariance[np.ix_(present, present)])
        whitened = np.linalg.solve(lower, (block - mean[present]).T)
        out[rows] = (whitened ** 2).sum(axis=0)
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
              weights: np.ndarray | None = None, groups=None, shrink: float = 0.0,
              spread_weights: np.ndarray | None = None, denominator: np.ndarray | None = None,
              keep: Solved | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One EM step for K Gaussians at once, row i weighted by weights[i, k] (all 1 if None).

    `spread_weights` (N, K) weigh the conditional covariances V_i instead (default: `weights`) and
    the second moments are divided by `denominator` (K,) instead of sum_i w_ik: the multivariate t
    (`student`) takes w_i = E[tau_i | x_O], V_i unweighted and N (Liu & Rubin 1995).

    means (K, C), covariances (K, C, C), weights (N, K); see the module doc for the update. The
    moments are accumulated around the current means, group by group (x is never copied whole).
    A Gaussian whose weights sum to (almost) nothing keeps its parameters. `shrink` = lambda >= 0
    pulls the covariances toward their diagonal, S' <- (S' + lambda diag(S')) / (1 + lambda): the
    variances stay, every correlation is divided by 1 + lambda (see `shrinkage_path`). `keep`: a
    `Solved` for the current (means, covariances) (see the module doc).
    """
    first, second, total = em_moments(x, means, covariances, weights, groups, spread_weights, keep)
    return em_step(means, covariances, ridge, first, second, total, shrink, denominator)


def em_moments(x: np.ndarray, means: np.ndarray, covariances: np.ndarray, weights: np.ndarray | None = None,
               groups=None, spread_weights: np.ndarray | None = None, keep: Solved | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The E-step's sums of `em_update`: sum w (x^ - mu) (K, C), sum w [(x^ - mu)(x^ - mu)' + V] (K, C, C)
    and sum w (K,), around the current means. Sums over rows, so a table's pieces add them up."""
    weights = np.ones((len(x), len(means))) if weights is None else weights
    spread_weights = weights if spread_weights is None else spread_weights
    first, second = np.zeros_like(means), np.zeros_like(covariances)  # sum w (x^ - mu), sum w [(..)(..)' + V]
    width = x.shape[1]
    for g, group in enumerate(patterns(x) if groups is None else groups):
        rows, present, block = group
        if present.ndim == 2:
            for part in _batches(group, len(means)):
                w, v = weights[rows[part]], spread_weights[rows[part]]                   # (n, K)
                solved = _solved(keep, (g, part.start), block[part], present[part], means, covariances)
                first += np.einsum("nk,knc->kc", w, solved.filled)
                second += (solved.filled * w.T[:, :, None]).transpose(0, 2, 1) @ solved.filled
                for within, index, spread in solved.blocks:                     # + sum_i v_ik V_i, scattered
                    cells = (index[:, :, None] * width + index[:, None, :]).ravel()
                    weighted = v[within].T[:, :, None, None] * spread            # (K, b, m, m)
                    for j in range(len(means)):
                        second[j] += np.bincount(cells, weighted[j].ravel(), minlength=width * width).reshape(width, width)
            continue
        w = weights[rows]                                                          # (n, K)
        order = np.concatenate([np.flatnonzero(present), np.flatnonzero(~present)])  # present dims first
        regression, spread = conditional(means, covariances, present)
        deviation = block[None] - means[:, None, present]                          # (K, n, |O|)
        filled = np.concatenate([deviation, deviation @ regression], axis=2)       # (K, n, C): x^ - mu, reordered
        first[:, order] += (w.T[:, None, :] @ filled)[:, 0]
        moments = (filled * w.T[:, :, None]).transpose(0, 2, 1) @ filled          # (K, C, C)
        moments[:, present.sum():, present.sum():] += spread_weights[rows].sum(axis=0)[:, None, None] * spread
        second[:, order[:, None], order] += moments
    return first, second, weights.sum(axis=0)


def em_step(means: np.ndarray, covariances: np.ndarray, ridge: np.ndarray, first: np.ndarray, second: np.ndarray,
            total: np.ndarray, shrink: float = 0.0, denominator: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """The M-step of `em_update` from the sums of `em_moments` (over the whole table)."""
    alive = total > 1e-10
    shift = first / np.where(alive, total, 1.0)[:, None]
    divide = np.where(alive, total if denominator is None else denominator, 1.0)
    updated = (second / divide[:, None, None]
               - (np.where(alive, total, 1.0) / divide)[:, None, None] * shift[:, :, None] * shift[:, None, :])
    updated = (updated + updated.transpose(0, 2, 1)) / 2
    if shrink > 0:
        variances = np.diagonal(updated, axis1=1, axis2=2)
        updated = (updated + shrink * variances[:, :, None] * np.eye(means.shape[1])) / (1 + shrink)
    updated = updated + np.diag(ridge)
    return (np.where(alive[:, None], means + shift, means),
            np.where(alive[:, None, None], updated, covariances))


def sample_missing(x: np.ndarray, means: np.ndarray, covariances: np.ndarray, component: np.ndarray,
                   rng: np.random.Generator | None, groups=None) -> np.ndarray:
    """x with every NaN drawn from N(means[k], covariances[k]) given the row's present values.

    means (K, C), covariances (K, C, C); `component` (N,) says which k each row uses. Present
    values are kept as they are. With `rng` None every NaN gets its conditional mean instead.
    """
    out = x.copy()
    for group in patterns(x) if groups is None else groups:
        rows, present, block = group
        if present.ndim == 2:
            for part in _batches(group, len(means)):
                chosen, where = component[rows[part]], np.arange(len(rows[part]))
                solved = _row_conditionals(block[part], present[part], means, covariances)
                draw = means[chosen] + solved.filled[chosen, where]
                if rng is not None:        # one normal per cell of the batch, as a C x C factor would take
                    normal = rng.standard_normal(present[part].shape)
                    for within, index, spread in solved.blocks:
                        lower = _cholesky_rows(spread[chosen[within], np.arange(len(within))])   # (b, m, m)
                        draw[within[:, None], index] += np.einsum("bij,bj->bi", lower,
                                                                  np.take_along_axis(normal[within], index, axis=1))
                out[rows[part]] = np.where(present[part], block[part], draw)
            continue
        if present.all():
            continue
        absent = ~present
        regression, spread = conditional(means, covariances, present)
        for k in np.unique(component[rows]):
            chosen = component[rows] == k
            noise = 0.0 if rng is None else rng.standard_normal((chosen.sum(), absent.sum())) @ _cholesky(spread[k]).T
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


FEW_ROWS_PER_COLUMN = 2   # fewer rows than this per continuous column: a covariance is barely determined
WIDE_COLUMNS = 100        # this many continuous columns or more: Ledoit-Wolf, no cross-validated search
EM_BAR_FLOPS = 1e9        # n c^2 above this: EM iterations take about a second, show a progress bar
MAX_LW_LAMBDA = 1e3       # Ledoit-Wolf delta -> 1 (no usable correlation): correlations divided by a thousand


def few_rows(n: int, c: int) -> bool:
    """Too few rows for the maximum-likelihood covariance of `c` columns (or too many columns to
    search): it is singular or nearly so, its conditionals are far too sure of themselves, and its
    log density of new rows is absurd (50 rows x 300 columns: fresh rows scored -3e7 nats)."""
    return c >= 2 and (n < FEW_ROWS_PER_COLUMN * c or c >= WIDE_COLUMNS)


def ledoit_wolf_lambda(z: np.ndarray) -> float:
    """lambda for S <- (S + lambda diag(S)) / (1 + lambda) from the Ledoit-Wolf (2004) optimal
    shrinkage of standardized values towards the identity, S_LW = (1 - delta) S + delta mu I, i.e.
    lambda = delta / (1 - delta); absent cells count as the column mean (which shrinks a little more).
    Closed form, no refits: for tables too narrow in rows, or too wide, for the cross-validated search."""
    from sklearn.covariance import ledoit_wolf_shrinkage

    filled = np.where(np.isnan(z), 0.0, z)
    delta = float(ledoit_wolf_shrinkage(filled - filled.mean(axis=0), assume_centered=True))
    return float(min(delta / max(1.0 - delta, 1e-12), MAX_LW_LAMBDA))



def em_statistics(z: np.ndarray, means: np.ndarray, covariances: np.ndarray, groups=None) -> tuple:
    """One pass of EM over (a piece of) standardized rows z under (means, covariances): the
    log-likelihood of the present values and the sums of `em_moments`, all additive over pieces."""
    groups = patterns(z) if groups is None else groups
    keep = Solved()       # the rows' conditionals, computed once for both
    log_likelihood = float(log_density(z, means, covariances, groups, keep).sum())
    return (log_likelihood, *em_moments(z, means, covariances, groups=groups, keep=keep))


def ledoit_wolf_moments(z: np.ndarray, center: np.ndarray | None = None) -> tuple:
    """Additive statistics of `ledoit_wolf_from`: with `center` None the column sums of z (absent
    cells as 0); with the column means, X' X and (X^2)' (X^2) for X = z (absent = 0) - center."""
    filled = np.where(np.isnan(z), 0.0, z)
    if center is None:
        return (filled.sum(axis=0),)
    centred = filled - center
    squares = centred ** 2
    return centred.T @ centred, squares.T @ squares


def ledoit_wolf_from(n: int, cross: np.ndarray, square_cross: np.ndarray) -> float:
    """`ledoit_wolf_lambda` from `ledoit_wolf_moments` summed over the rows (scikit-learn's
    ledoit_wolf_shrinkage, assume_centered, written on the sums): n rows, X' X and (X^2)' (X^2)."""
    p = cross.shape[0]
    trace = np.diag(cross) / n
    mu = trace.sum() / p
    delta_ = float(np.sum(cross ** 2)) / n ** 2
    beta = 1.0 / (p * n) * (float(square_cross.sum()) / n - delta_)
    delta = (delta_ - 2.0 * mu * trace.sum() + p * mu ** 2) / p
    beta = min(beta, delta)
    shrinkage = 0.0 if beta == 0 else beta / delta
    return float(min(shrinkage / max(1.0 - shrinkage, 1e-12), MAX_LW_LAMBDA))


def em_iterations(z: np.ndarray, iterations: int, description: str):
    """range(1, iterations + 1), with a progress bar on a terminal when the table has gaps and each
    iteration is heavy: a row with its own gap pattern costs about c^2 flops (plus m^3 for its m gaps;
    1,000 x 150 with 10% gaps: 0.03 s an iteration), so the bar shows from about a second on."""
    return iteration_bar(*z.shape, bool(np.isnan(z).any()), iterations, description)


def iteration_bar(n: int, c: int, gaps: bool, iterations: int, description: str):
    """`em_iterations` for a table of n rows, c columns, with gaps or not (a partitioned one)."""
    import sys

    from tqdm.auto import tqdm

    show = sys.stderr.isatty() and n * c ** 2 > EM_BAR_FLOPS and gaps
    return tqdm(range(1, iterations + 1), desc=description, unit="iteration", disable=not show, leave=False)


def _cholesky_rows(matrices: np.ndarray) -> np.ndarray:
    """Cholesky factors of a stack (n, C, C); a matrix that fails gets `_cholesky`'s jitter."""
    try:
        return np.linalg.cholesky(matrices)
    except np.linalg.LinAlgError:
        return np.stack([_cholesky(m) for m in matrices])


def _cholesky(matrix: np.ndarray) -> np.ndarray:
    """Cholesky factor, with a little jitter if round-off left the matrix barely indefinite."""
    jitter = 0.0
    for _ in range(6):
        try:
            return np.linalg.cholesky(matrix + jitter * np.eye(len(matrix)))
        except np.linalg.LinAlgError:
            jitter = max(jitter * 100, 1e-12 * max(np.trace(matrix) / len(matrix), 1e-300))
    raise np.linalg.LinAlgError("a conditional covariance is not positive definite; refit the model")

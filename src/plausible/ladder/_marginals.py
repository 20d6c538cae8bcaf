"""Binned 1-D densities: the one shared way to turn a continuous variable into counts and back.

`Bins` holds increasing edges e_0 < ... < e_K at empirical quantiles. A value falls in bin k when
e_k <= x < e_{k+1} (the last bin is closed). Given bin probabilities p_k, the density is uniform
within each bin, p_k / (e_{k+1} - e_k), so log_prob stays exact and normalised, samples never
leave [e_0, e_K], and the CDF is piecewise linear (what the copula's marginals use). With
`tails=True` (the copula and the neural models) e_0 and e_K lie one training range beyond the
training minimum and maximum, so held-out values a little outside keep a finite density.

For integer variables the edges sit half-way between integers, so each bin holds whole numbers
only and the uniform density times a width of 1 per integer is that integer's probability.
"""
from __future__ import annotations

import numpy as np

from ..data.layout import Encoded, TableLayout


class Bins:
    def __init__(self, edges: np.ndarray):
        self.edges = np.asarray(edges, dtype=float)
        if self.edges.ndim != 1 or self.edges.size < 2 or np.any(np.diff(self.edges) <= 0):
            raise ValueError("bin edges must be a strictly increasing array of at least two values")

    @classmethod
    def fit(cls, values: np.ndarray, n_bins: int, integer: bool = False, tails: bool = False) -> "Bins":
        """Edges at the empirical quantiles of `values`. `tails`: one more bin on each side, as wide
        as the whole training range, so a new value a little outside that range keeps a (small)
        density instead of zero; its probability is whatever the caller's smoothing gives an empty bin."""
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        if values.size == 0:
            edges = np.array([-0.5, 0.5])
        else:
            low, high = values.min(), values.max()
            if integer:
                inner = np.unique(np.round(np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])))
                edges = np.unique(np.concatenate([[low - 0.5], inner - 0.5, [high + 0.5]]))
            elif high == low:
                width = max(abs(low) * 1e-6, 1e-6)
                edges = np.array([low - width, high + width])
            else:
                edges = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)))
        if tails:
            span = edges[-1] - edges[0]   # whole numbers stay on half-integer edges
            edges = np.concatenate([[edges[0] - span], edges, [edges[-1] + span]])
        return cls(edges)

    @property
    def count(self) -> int:
        return self.edges.size - 1

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.edges)

    def index(self, values: np.ndarray) -> np.ndarray:
        """Bin of each value; -1 for NaN or for values outside [e_0, e_K]."""
        values = np.asarray(values, dtype=float)
        k = np.searchsorted(self.edges, values, side="right") - 1
        k = np.where(values == self.edges[-1], self.count - 1, k)
        inside = (values >= self.edges[0]) & (values <= self.edges[-1])
        return np.where(inside, k, -1)

    def counts(self, values: np.ndarray) -> np.ndarray:
        k = self.index(values)
        return np.bincount(k[k >= 0], minlength=self.count).astype(float)

    def sample(self, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A uniform draw inside each given bin."""
        bins = np.asarray(bins, dtype=np.int64)
        return self.edges[bins] + rng.random(bins.shape) * self.widths[bins]

    def log_density(self, values: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """log of p_k / width_k at each value (−inf outside the support)."""
        k = self.index(values)
        safe = np.maximum(k, 0)
        with np.errstate(divide="ignore"):
            out = np.log(probabilities[safe]) - np.log(self.widths[safe])
        return np.where(k >= 0, out, -np.inf)

    # piecewise-linear CDF through (e_k, P_k) with P_k the cumulative bin probabilities
    def cdf(self, values: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        cumulative = np.concatenate([[0.0], np.cumsum(probabilities)])
        return np.interp(values, self.edges, cumulative / cumulative[-1])

    def ppf(self, quantiles: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        cumulative = np.concatenate([[0.0], np.cumsum(probabilities)])
        cumulative = cumulative / cumulative[-1]
        # bins of zero probability would make the inverse ambiguous; np.interp needs increasing x
        keep = np.concatenate([[True], np.diff(cumulative) > 0])
        return np.interp(quantiles, cumulative[keep], self.edges[keep])


def draw_categorical(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One code per row of an (N, K) array of non-negative weights (rows need not sum to one)."""
    probabilities = np.asarray(probabilities, dtype=float)
    cumulative = np.cumsum(probabilities, axis=1)
    total = cumulative[:, -1:]
    if np.any(total <= 0):
        raise ValueError("a row of categorical weights is all zero: nothing can be drawn")
    u = rng.random((probabilities.shape[0], 1)) * total
    return np.minimum((cumulative <= u).sum(axis=1), probabilities.shape[1] - 1).astype(np.int64)


def laplace(counts: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Laplace-smoothed frequencies along the last axis: (n_k + alpha) / (N + K alpha)."""
    counts = np.asarray(counts, dtype=float) + alpha
    return counts / counts.sum(axis=-1, keepdims=True)


class ColumnLevels:
    """Each user column as one discrete variable: its state codes except VALUE, then its value's bins.

    Used by `histogram` (a cell is one level per column) and `bayesnet` (a node per column), so
    that "missing", "exactly 0" and "in bin k" are levels of one variable and exclude each other.
    """

    def __init__(self, layout: TableLayout, bins: list[Bins]):
        self.layout, self.bins = layout, bins
        self.columns = layout.columns()
        # levels before the first bin: the state codes, less VALUE
        self.offsets = np.array([layout.discrete[j].cardinality - (c >= 0) if j >= 0 else 0
                                 for j, c in self.columns], dtype=np.int64)
        self.sizes = self.offsets + np.array([bins[c].count if c >= 0 else 0 for _, c in self.columns])

    def _nearest_bin(self, c: int, values: np.ndarray) -> np.ndarray:
        """Bin of each value; a value outside the training range counts as its nearest bin."""
        edges = self.bins[c].edges
        return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)

    def _value_code(self, j: int) -> int:
        return self.layout.discrete[j].value_code

    def encode(self, data: Encoded) -> np.ndarray:
        """(N, M) levels of complete rows."""
        levels = np.zeros((len(data), len(self.columns)), dtype=np.int64)
        for i, (j, c) in enumerate(self.columns):
            if j >= 0:
                code = data.codes[:, j]
                levels[:, i] = code - (code > self._value_code(j)) if c >= 0 else code
            if c >= 0:
                bin_level = self.offsets[i] + self._nearest_bin(c, data.values[:, c])
                levels[:, i] = bin_level if j < 0 else np.where(code == self._value_code(j), bin_level, levels[:, i])
        return levels

    def allowed(self, data: Encoded, allow_missing: bool = False) -> list[np.ndarray]:
        """Per column, (N, K_i) booleans: the levels each row still allows (`layout.evidence`, plus bins)."""
        evidence = self.layout.evidence(data, allow_missing=allow_missing)
        out = []
        for i, (j, c) in enumerate(self.columns):
            if c < 0:
                out.append(evidence[j])
                continue
            value_allowed = evidence[j][:, self._value_code(j)] if j >= 0 else np.ones(len(data), bool)
            bins_allowed = np.repeat(value_allowed[:, None], self.bins[c].count, axis=1)
            known = np.flatnonzero(~np.isnan(data.values[:, c]))
            bins_allowed[known] = False
            bins_allowed[known, self._nearest_bin(c, data.values[known, c])] = True
            states_allowed = np.delete(evidence[j], self._value_code(j), axis=1) if j >= 0 else np.zeros((len(data), 0), bool)
            out.append(np.concatenate([states_allowed, bins_allowed], axis=1))
        return out

    def decode(self, levels: np.ndarray, data: Encoded, rng: np.random.Generator) -> Encoded:
        """Codes and values for `levels`; known numbers in `data` are kept, unknown ones drawn in their bin."""
        codes, values = data.codes.copy(), data.values.copy()
        for i, (j, c) in enumerate(self.columns):
            level = levels[:, i]
            is_value = level >= self.offsets[i]
            if j >= 0:
                value_code = self._value_code(j)
                codes[:, j] = np.where(is_value, value_code, level + (level >= value_code)) if c >= 0 else level
            if c >= 0:
                draw = is_value & np.isnan(values[:, c])
                values[draw, c] = self.bins[c].sample(level[draw] - self.offsets[i], rng)
                values[~is_value, c] = np.nan
        return Encoded(codes, values)

    def log_density(self, data: Encoded) -> np.ndarray:
        """Σ −log(bin width) over each row's continuous values (uniform within a bin; −inf outside)."""
        total = np.zeros(len(data))
        active = self.layout.value_active(data.codes)
        for c, bins in enumerate(self.bins):
            k = bins.index(data.values[active[:, c], c])
            total[active[:, c]] -= np.where(k >= 0, np.log(bins.widths[np.maximum(k, 0)]), np.inf)
        return total


def dirichlet(concentration: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One Dirichlet draw per row of `concentration` (..., K), the posterior of `laplace`'s
    frequencies (whose mean it has); zero concentrations stay exactly 0 (alpha = 0, unseen code)."""
    gammas = np.where(concentration > 0, rng.gamma(np.maximum(concentration, 1e-300)), 0.0)
    return gammas / gammas.sum(axis=-1, keepdims=True)


class OnePiece:
    """The training table as the pieces a rung's statistics are summed over; here one piece, the
    encoded table in memory. A rung that declares `merged_fit` writes its fit once, as
    `_fit_pieces(pieces, rng)`, and its `_fit(data, rng)` is `_fit_pieces(OnePiece(data), rng)`;
    `core/by_parts.py` gives a partitioned table's pieces the same three things:

        rows                           the number of rows
        each(function, *args)          function(piece: Encoded, first_row, *args) for each piece, in order
        values(c)                      continuous variable c over all rows (the memory of one column)
    """

    def __init__(self, data: Encoded):
        self.data, self.rows = data, len(data)

    def each(self, function, *args):
        yield function(self.data, 0, *args)

    def values(self, c: int) -> np.ndarray:
        return self.data.values[:, c]


def total(pieces, function, *args):
    """The sum over `pieces` of `function(piece, first_row, *args)`: numbers and arrays add, tuples and
    lists add item by item, dicts key by key, except keys "min" and "max", taken elementwise."""
    return add_up(pieces.each(function, *args))


def add_up(parts):
    """The sum of an iterable of pieces' statistics, in order (see `total`)."""
    result = None
    for part in parts:
        result = part if result is None else _add(result, part)
    return result


def _add(a, b, key=None):
    if isinstance(a, dict):
        return {k: _add(a[k], b[k], k) for k in a}
    if isinstance(a, (tuple, list)):
        return type(a)(_add(x, y) for x, y in zip(a, b))
    if key == "min":
        return np.fmin(a, b)
    if key == "max":
        return np.fmax(a, b)
    return a + b

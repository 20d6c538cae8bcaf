"""histogram: one parameter per combination of values, the most literal model of a distribution.

Every column becomes one discrete variable: categories as they are, numbers cut into `bins`
quantile bins (with their point masses and missing state as extra levels). With K_c levels in
column c there are d = Π_c K_c cells, and the Laplace estimate of cell j is

    θ_j = (n_j + α) / (N + α d),        α = 1 by default,

where n_j counts training rows in cell j. Within a numeric bin the density is uniform, so
log P(x) = log θ_cell(x) − Σ log(width of x's bins), exact and normalised.

d is usually astronomically larger than N, so θ is stored sparsely: the observed cells and their
counts. Sampling uses the identity θ = w · (n_j / N) + (1 − w) · (1 / d) with w = N / (N + α d):
with probability w copy the cell of a random training row, otherwise draw each column uniformly.
That second branch is why a histogram on little data invents nonsense, and the first is why it
copies its training rows; the `fashion` demo shows both. Conditioning is exact by the same
identity restricted to the cells that agree with the known cells.
"""
from __future__ import annotations

import numpy as np

from ..base import Model, Param
from ..layout import Encoded
from ..marginals import Bins, ColumnLevels, draw_categorical
from ..registry import register

ROW_CHUNK = 512  # rows matched against the observed cells at once when imputing


@register
class Histogram(Model):
    name = "histogram"
    family = "counting"
    complexity = 20
    description = "one Laplace-smoothed parameter per combination of values (numbers binned)"
    log_prob_kind = "exact"
    impute_kind = "exact"
    params = {
        "alpha": Param(1.0, float, "Laplace pseudo-count added to every cell", low=1e-12),
        "bins": Param(8, int, "quantile bins per continuous column", low=1, high=1000),
    }

    # ------------------------------------------------------------------ the protocol
    def _fit(self, data: Encoded, rng) -> None:
        bins = [Bins.fit(data.values[:, c], self.bins, integer=v.integer) for c, v in enumerate(self.layout_.continuous)]
        self.levels_ = ColumnLevels(self.layout_, bins)
        self.cells_, self.counts_ = np.unique(self.levels_.encode(data), axis=0, return_counts=True)
        self.n_ = len(data)
        self._index()

    def _index(self) -> None:
        self.lookup_ = {row.tobytes(): k for k, row in enumerate(self.cells_)}
        log_d = float(np.log(self.levels_.sizes).sum())  # d = Π K_c cells
        self.log_normalizer_ = float(np.logaddexp(np.log(self.n_), np.log(self.alpha) + log_d))  # log(N + α d)

    def _log_prob(self, data: Encoded) -> np.ndarray:
        cells = self.levels_.encode(data)
        counts = np.array([self.counts_[k] if (k := self.lookup_.get(row.tobytes())) is not None else 0
                           for row in cells], dtype=float)
        return np.log(counts + self.alpha) - self.log_normalizer_ + self.levels_.log_density(data)

    def _sample(self, n: int, rng) -> Encoded:
        w = np.exp(np.log(self.n_) - self.log_normalizer_)  # chance of copying a training cell
        copy = rng.random(n) < w
        cells = np.column_stack([rng.integers(0, k, n) for k in self.levels_.sizes])
        cells[copy] = self.cells_[rng.choice(len(self.counts_), size=int(copy.sum()), p=self.counts_ / self.n_)]
        return self.levels_.decode(cells, self.layout_.unknown(n), rng)

    def _impute(self, data: Encoded, rng) -> Encoded:
        allowed = self.levels_.allowed(data)  # per column (N, K_c): levels that agree with the known cells
        cells = np.zeros((len(data), len(allowed)), dtype=np.int64)
        for start in range(0, len(data), ROW_CHUNK):
            rows = slice(start, start + ROW_CHUNK)
            agree = np.ones((len(cells[rows]), len(self.cells_)), dtype=bool)  # (R, M) observed cells that agree
            for col, mask in enumerate(allowed):
                agree &= mask[rows][:, self.cells_[:, col]]
            # P(copy a training cell | known) = Σ_agreeing n_j / (Σ_agreeing n_j + α · #agreeing cells)
            mass_seen = agree @ self.counts_.astype(float)
            log_fresh = np.log(self.alpha) + sum(np.log(mask[rows].sum(axis=1)) for mask in allowed)
            with np.errstate(divide="ignore"):
                p_copy = np.exp(np.log(mass_seen) - np.logaddexp(np.log(mass_seen), log_fresh))
            copy = rng.random(len(p_copy)) < p_copy
            chunk = np.column_stack([draw_categorical(mask[rows].astype(float), rng) for mask in allowed])
            if copy.any():
                chunk[copy] = self.cells_[draw_categorical(agree[copy] * self.counts_[None, :].astype(float), rng)]
            cells[rows] = chunk
        return self.levels_.decode(cells, data, rng)

    def _get_state(self):
        arrays = {"cells": self.cells_, "counts": self.counts_}
        arrays.update({f"edges_{c}": b.edges for c, b in enumerate(self.levels_.bins)})
        return {"n": self.n_}, arrays

    def _set_state(self, state, arrays):
        bins = [Bins(arrays[f"edges_{c}"]) for c in range(len(self.layout_.continuous))]
        self.levels_ = ColumnLevels(self.layout_, bins)
        self.cells_, self.counts_, self.n_ = arrays["cells"], arrays["counts"], int(state["n"])
        if self.cells_.shape[1] != len(self.levels_.sizes):
            raise ValueError(f"cells have {self.cells_.shape[1]} columns, the schema has {len(self.levels_.sizes)}")
        self._index()

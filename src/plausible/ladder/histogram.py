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
from scipy.special import logsumexp

from ..base import Model, Param
from ..layout import Encoded
from ..marginals import Bins, draw_categorical
from ..registry import register

ROW_CHUNK = 512  # rows matched against the observed cells at once when imputing


@register
class Histogram(Model):
    name = "histogram"
    family = "counting"
    description = "one Laplace-smoothed parameter per combination of values (numbers binned)"
    log_prob_kind = "exact"
    impute_kind = "exact"
    params = {
        "alpha": Param(1.0, float, "Laplace pseudo-count added to every cell", low=1e-12),
        "bins": Param(8, int, "quantile bins per continuous column", low=1, high=1000),
    }

    # ------------------------------------------------------------------ cells <-> model space
    def _columns(self):
        """Per user column: (discrete variable or -1, continuous variable or -1)."""
        discrete = {v.column: j for j, v in enumerate(self.layout_.discrete)}
        continuous = {v.column: c for c, v in enumerate(self.layout_.continuous)}
        return [(discrete.get(n, -1), continuous.get(n, -1)) for n in self.layout_.schema.names]

    def _levels(self) -> np.ndarray:
        """Levels per column: its discrete codes, minus the VALUE code, plus the bins."""
        levels = []
        for j, c in self._columns():
            states = self.layout_.discrete[j].cardinality if j >= 0 else 0
            if c >= 0:
                levels.append(states - (1 if j >= 0 else 0) + self.bins_[c].count)
            else:
                levels.append(states)
        return np.array(levels, dtype=np.int64)

    def _state_level(self, j: int, code: np.ndarray) -> np.ndarray:
        """Level of a non-VALUE state code (the VALUE code is skipped in the numbering)."""
        value_code = self.layout_.discrete[j].value_code
        return code - (code > value_code) if value_code >= 0 else code

    def _to_cells(self, data: Encoded) -> np.ndarray:
        cells = np.zeros((len(data), len(self.levels_)), dtype=np.int64)
        for col, (j, c) in enumerate(self._columns()):
            if c < 0:
                cells[:, col] = data.codes[:, j]
                continue
            offset = self.layout_.discrete[j].cardinality - 1 if j >= 0 else 0
            cells[:, col] = offset + self.bins_[c].index(data.values[:, c])
            if j >= 0:
                code = data.codes[:, j]
                inactive = code != self.layout_.discrete[j].value_code
                cells[inactive, col] = self._state_level(j, code[inactive])
        return cells

    def _from_cells(self, cells: np.ndarray, rng) -> Encoded:
        codes = np.zeros((len(cells), len(self.layout_.discrete)), dtype=np.int64)
        values = np.full((len(cells), len(self.layout_.continuous)), np.nan)
        for col, (j, c) in enumerate(self._columns()):
            level = cells[:, col]
            if c < 0:
                codes[:, j] = level
                continue
            offset = self.layout_.discrete[j].cardinality - 1 if j >= 0 else 0
            is_value = level >= offset
            values[is_value, c] = self.bins_[c].sample(level[is_value] - offset, rng)
            if j >= 0:
                value_code = self.layout_.discrete[j].value_code
                state = level + (level >= value_code)  # undo _state_level
                codes[:, j] = np.where(is_value, value_code, state)
        return Encoded(codes, values)

    def _log_widths(self, cells: np.ndarray) -> np.ndarray:
        """Σ log(bin width) of the numeric bins each row falls in (0 for discrete levels)."""
        total = np.zeros(len(cells))
        for col, (j, c) in enumerate(self._columns()):
            if c >= 0:
                offset = self.layout_.discrete[j].cardinality - 1 if j >= 0 else 0
                in_bin = cells[:, col] >= offset
                total[in_bin] += np.log(self.bins_[c].widths[cells[in_bin, col] - offset])
        return total

    # ------------------------------------------------------------------ the protocol
    def _fit(self, data: Encoded, rng) -> None:
        self.bins_ = [Bins.fit(data.values[:, c], self.bins, integer=v.integer)
                      for c, v in enumerate(self.layout_.continuous)]
        self.levels_ = self._levels()
        self.cells_, self.counts_ = np.unique(self._to_cells(data), axis=0, return_counts=True)
        self.n_ = len(data)
        self._index()

    def _index(self) -> None:
        self.lookup_ = {row.tobytes(): k for k, row in enumerate(self.cells_)}
        self.log_d_ = float(np.log(self.levels_).sum())
        self.log_normalizer_ = float(np.logaddexp(np.log(self.n_), np.log(self.alpha) + self.log_d_))

    def _log_prob(self, data: Encoded) -> np.ndarray:
        cells = self._to_cells(data)
        counts = np.array([self.counts_[k] if (k := self.lookup_.get(row.tobytes())) is not None else 0
                           for row in cells], dtype=float)
        log_theta = np.log(counts + self.alpha) - self.log_normalizer_
        return np.where((cells >= 0).all(axis=1), log_theta - self._log_widths(np.maximum(cells, 0)), -np.inf)

    def _sample(self, n: int, rng) -> Encoded:
        w = np.exp(np.log(self.n_) - self.log_normalizer_)  # chance of copying a training cell
        copy = rng.random(n) < w
        cells = np.column_stack([rng.integers(0, k, n) for k in self.levels_])
        picks = rng.choice(len(self.counts_), size=int(copy.sum()), p=self.counts_ / self.counts_.sum())
        cells[copy] = self.cells_[picks]
        return self._from_cells(cells, rng)

    def _impute(self, data: Encoded, rng) -> Encoded:
        allowed = self._allowed_levels(data)  # per column (N, K_c) booleans
        cells = np.zeros((len(data), len(self.levels_)), dtype=np.int64)
        for start in range(0, len(data), ROW_CHUNK):
            rows = slice(start, start + ROW_CHUNK)
            # observed cells agreeing with every known cell of the row: (R, M)
            agree = np.ones((len(cells[rows]), len(self.cells_)), dtype=bool)
            for col, mask in enumerate(allowed):
                agree &= mask[rows][:, self.cells_[:, col]]
            mass_seen = agree @ self.counts_.astype(float)                      # Σ n_j over agreeing cells
            log_consistent = sum(np.log(mask[rows].sum(axis=1)) for mask in allowed)  # how many cells agree
            log_fresh = np.log(self.alpha) + log_consistent
            with np.errstate(divide="ignore"):
                p_copy = np.exp(np.log(mass_seen) - np.logaddexp(np.log(mass_seen), log_fresh))
            copy = rng.random(len(p_copy)) < p_copy
            chunk = np.column_stack([draw_categorical(mask[rows].astype(float), rng) for mask in allowed])
            if copy.any():
                weights = agree[copy] * self.counts_[None, :].astype(float)
                chunk[copy] = self.cells_[draw_categorical(weights, rng)]
            cells[rows] = chunk
        filled = self._from_cells(cells, rng)
        known_values = ~np.isnan(data.values)
        filled.values[known_values] = data.values[known_values]  # keep exact known numbers, not bin draws
        return filled

    def _allowed_levels(self, data: Encoded) -> list[np.ndarray]:
        evidence = self.layout_.evidence(data)
        out = []
        for col, (j, c) in enumerate(self._columns()):
            mask = np.zeros((len(data), self.levels_[col]), dtype=bool)
            if c < 0:
                out.append(evidence[j])
                continue
            offset = self.layout_.discrete[j].cardinality - 1 if j >= 0 else 0
            value_allowed = evidence[j][:, self.layout_.discrete[j].value_code] if j >= 0 else np.ones(len(data), bool)
            if j >= 0:
                others = np.flatnonzero(np.arange(self.layout_.discrete[j].cardinality) != self.layout_.discrete[j].value_code)
                mask[:, :offset] = evidence[j][:, others]
            mask[:, offset:] = value_allowed[:, None]
            known = np.flatnonzero(~np.isnan(data.values[:, c]))
            edges = self.bins_[c].edges  # a known number outside the training range counts as its nearest bin
            bins = self.bins_[c].index(np.clip(data.values[known, c], edges[0], edges[-1]))
            mask[known, offset:] = False
            mask[known, offset + bins] = True
            out.append(mask)
        return out

    def _get_state(self):
        arrays = {"cells": self.cells_, "counts": self.counts_}
        arrays.update({f"edges_{c}": b.edges for c, b in enumerate(self.bins_)})
        return {"n": self.n_}, arrays

    def _set_state(self, state, arrays):
        self.bins_ = [Bins(arrays[f"edges_{c}"]) for c in range(len(self.layout_.continuous))]
        self.levels_ = self._levels()
        self.cells_, self.counts_, self.n_ = arrays["cells"], arrays["counts"], int(state["n"])
        if self.cells_.shape[1] != len(self.levels_):
            raise ValueError(f"cells have {self.cells_.shape[1]} columns, the schema has {len(self.levels_)}")
        self._index()

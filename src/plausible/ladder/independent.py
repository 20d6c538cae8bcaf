"""independent: every column on its own (the naive-Bayes assumption), P(x) = Π_j P(x_j).

Discrete variables (categories, booleans, the state of a numeric column: point mass, missing or
continuous) get Laplace-smoothed frequencies

    θ_jk = (n_jk + α) / (N + K_j α),        α = 1 by default,

and each continuous value a histogram density with `bins` quantile bins, also Laplace-smoothed
and uniform within a bin. One parameter per value of each column: the cheapest rung of the
ladder, and exactly wrong wherever columns depend on each other (the `fashion` demo shows how).
Conditioning is trivial and exact: the unknown cells do not depend on the known ones.
"""
from __future__ import annotations

import numpy as np

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.layout import Encoded
from ._marginals import Bins, OnePiece, draw_categorical, laplace, total


@register
class Independent(Model):
    name = "independent"
    family = "counting"
    complexity = 10
    description = "every column on its own (naive Bayes): smoothed frequencies and 1-D histogram densities"
    log_prob_kind = "exact"
    impute_kind = "exact"
    params = {
        "alpha": Param(1.0, float, "Laplace pseudo-count added to every value and bin", low=0.0),
        "bins": Param(20, int, "quantile bins per continuous column", low=1, high=10_000),
    }

    #: Fitted exactly from per-piece statistics (`core/by_parts.py`): counts of codes and of values
    #: per bin, the bins' edges from one column at a time.
    merged_fit = True

    def _fit(self, data: Encoded, rng) -> None:
        self._fit_pieces(OnePiece(data), rng)

    def _fit_pieces(self, pieces, rng) -> None:
        """The fit from the table's pieces (`_marginals.OnePiece`): the same code in memory and by parts."""
        self.bins_ = [Bins.fit(pieces.values(c), self.bins, integer=var.integer)
                      for c, var in enumerate(self.layout_.continuous)]
        codes, values = total(pieces, self._counts)
        self.discrete_probs_ = [laplace(counts, self.alpha) for counts in codes]
        self.bin_probs_ = [laplace(counts, self.alpha) for counts in values]

    def _counts(self, piece: Encoded, first_row: int) -> tuple[list, list]:
        """One piece's counts of each discrete variable's codes and of each continuous value's bins."""
        return ([np.bincount(piece.codes[:, j], minlength=var.cardinality) for j, var in enumerate(self.layout_.discrete)],
                [bins.counts(piece.values[:, c]) for c, bins in enumerate(self.bins_)])

    def _log_prob(self, data: Encoded) -> np.ndarray:
        total = np.zeros(len(data))
        for j, probs in enumerate(self.discrete_probs_):
            total += np.log(probs[data.codes[:, j]])
        active = self.layout_.value_active(data.codes)
        for c, (bins, probs) in enumerate(zip(self.bins_, self.bin_probs_)):
            rows = active[:, c]
            total[rows] += bins.log_density(data.values[rows, c], probs)
        return total

    def _complete(self, data: Encoded, allowed: list[np.ndarray], rng) -> Encoded:
        """Draw each unknown code from its marginal restricted to `allowed`, then unknown values."""
        codes, values = data.codes.copy(), data.values.copy()
        unknown_values = self.layout_.value_unknown(data)
        for j, probs in enumerate(self.discrete_probs_):
            rows = np.flatnonzero(codes[:, j] < 0)
            if rows.size:
                codes[rows, j] = draw_categorical(probs * allowed[j][rows], rng)
        active = self.layout_.value_active(codes)
        for c, (bins, probs) in enumerate(zip(self.bins_, self.bin_probs_)):
            rows = np.flatnonzero(unknown_values[:, c] & active[:, c])
            values[rows, c] = bins.sample(draw_categorical(np.tile(probs, (rows.size, 1)), rng), rng)
            values[~active[:, c], c] = np.nan
        return Encoded(codes, values)

    def _get_state(self):
        arrays = {f"discrete_{j}": p for j, p in enumerate(self.discrete_probs_)}
        for c, (bins, probs) in enumerate(zip(self.bins_, self.bin_probs_)):
            arrays[f"edges_{c}"], arrays[f"bin_probs_{c}"] = bins.edges, probs
        return {}, arrays

    def _set_state(self, state, arrays):
        self.discrete_probs_ = [arrays[f"discrete_{j}"] for j in range(len(self.layout_.discrete))]
        self.bins_ = [Bins(arrays[f"edges_{c}"]) for c in range(len(self.layout_.continuous))]
        self.bin_probs_ = [arrays[f"bin_probs_{c}"] for c in range(len(self.layout_.continuous))]

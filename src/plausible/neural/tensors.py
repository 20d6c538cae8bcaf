"""The table as tensors: one-hot blocks for discrete variables, z = Φ⁻¹(F(x)) for continuous values.

Each continuous value becomes z = Φ⁻¹(F(x)) through its own piecewise-linear marginal CDF F
(`Bins` with many quantile bins), so a network sees roughly standard normal numbers whatever the
column's shape, and the map is invertible with a known Jacobian:

    log p(x) = log p(z) + log f(x) − log φ(z),        f = F' (the marginal density)

which is what lets flows and autoregressive models report log_prob in the user's units. A value
that is not continuous in a row (a point mass, missing) gets z = 0 and a mask of 0.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import ndtr, ndtri
from torch import nn

from ..data.layout import Encoded, TableLayout
from ..ladder._marginals import Bins, laplace

Z_CLIP = 5.0  # latent numbers are kept within ±5 standard deviations


# ---------------------------------------------------------------------- the table as tensors
class TableTensors:
    """Encoded rows <-> float tensors: one-hot discrete blocks, then normal-score continuous values."""

    def __init__(self, layout: TableLayout, bins: list[Bins], bin_probs: list[np.ndarray]):
        self.layout, self.bins, self.bin_probs = layout, bins, bin_probs
        self.cardinalities = [d.cardinality for d in layout.discrete]
        self.offsets = np.concatenate([[0], np.cumsum(self.cardinalities)]).astype(int)
        self.n_onehot = int(self.offsets[-1])
        self.n_continuous = len(layout.continuous)
        self.width = self.n_onehot + self.n_continuous

    @classmethod
    def fit(cls, layout: TableLayout, data: Encoded, n_bins: int = 100) -> "TableTensors":
        bins, probs = [], []
        for c, var in enumerate(layout.continuous):
            b = Bins.fit(data.values[:, c], n_bins, integer=var.integer, tails=True)
            bins.append(b)
            probs.append(laplace(b.counts(data.values[:, c]), 0.01))
        return cls(layout, bins, probs)

    def state(self) -> dict[str, np.ndarray]:
        out = {}
        for c, (b, p) in enumerate(zip(self.bins, self.bin_probs)):
            out[f"tensor_edges_{c}"], out[f"tensor_probs_{c}"] = b.edges, p
        return out

    @classmethod
    def from_state(cls, layout: TableLayout, arrays: dict) -> "TableTensors":
        n = len(layout.continuous)
        return cls(layout, [Bins(arrays[f"tensor_edges_{c}"]) for c in range(n)],
                   [arrays[f"tensor_probs_{c}"] for c in range(n)])

    # continuous values <-> normal scores
    def to_normal(self, values: np.ndarray) -> np.ndarray:
        """(N, C) values (NaN allowed) -> normal scores z (NaN kept)."""
        z = np.full(values.shape, np.nan)
        for c, (b, p) in enumerate(zip(self.bins, self.bin_probs)):
            present = ~np.isnan(values[:, c])
            u = b.cdf(values[present, c], p)
            z[present, c] = np.clip(ndtri(np.clip(u, 1e-9, 1 - 1e-9)), -Z_CLIP, Z_CLIP)
        return z

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        values = np.full(z.shape, np.nan)
        for c, (b, p) in enumerate(zip(self.bins, self.bin_probs)):
            present = ~np.isnan(z[:, c])
            values[present, c] = b.ppf(ndtr(z[present, c]), p)
        return values

    def log_jacobian(self, values: np.ndarray) -> np.ndarray:
        """Σ over present values of log f(x) − log φ(z): add to log p(z) to get log p(x)."""
        z = self.to_normal(values)
        total = np.zeros(len(values))
        for c, (b, p) in enumerate(zip(self.bins, self.bin_probs)):
            present = ~np.isnan(values[:, c])
            log_phi = -0.5 * z[present, c] ** 2 - 0.5 * math.log(2 * math.pi)
            total[present] += b.log_density(values[present, c], p) - log_phi
        return total

    # whole rows
    def encode(self, data: Encoded) -> tuple[np.ndarray, np.ndarray]:
        """Rows -> (x, known): x (N, width) float32 with one-hot blocks and normal scores (0 where
        unknown or not continuous); known (N, width) 1 where the entry is observed."""
        n = len(data)
        x = np.zeros((n, self.width), dtype=np.float32)
        known = np.zeros((n, self.width), dtype=np.float32)
        for j in range(len(self.cardinalities)):
            codes = data.codes[:, j]
            rows = np.flatnonzero(codes >= 0)
            x[rows, self.offsets[j] + codes[rows]] = 1.0
            known[rows, self.offsets[j]:self.offsets[j + 1]] = 1.0
        z = self.to_normal(data.values)
        present = ~np.isnan(z)
        x[:, self.n_onehot:] = np.where(present, z, 0.0)
        known[:, self.n_onehot:] = present | ~self.layout.value_unknown(data)
        return x, known

    def blocks(self) -> list[slice]:
        """The one-hot block of each discrete variable, as column slices of x."""
        return [slice(int(self.offsets[j]), int(self.offsets[j + 1])) for j in range(len(self.cardinalities))]


def start_at_frequencies(layer: nn.Linear, codes: np.ndarray, cardinalities, weight_scale: float = 0.1) -> None:
    """Start a categorical head at the training marginals: the first sum(K_j) biases of `layer`
    become the log Laplace frequencies of `codes` (N, D) (one block of K_j per discrete variable),
    its other biases 0 and its weights are scaled by `weight_scale`. A briefly trained network then
    already draws each column's marginal and missing rate; training only learns the dependencies."""
    frequencies = [laplace(np.bincount(codes[:, j], minlength=k)) for j, k in enumerate(cardinalities)]
    with torch.no_grad():
        layer.weight.mul_(weight_scale)
        layer.bias.zero_()
        if frequencies:
            log_frequencies = np.log(np.concatenate(frequencies))
            layer.bias[:len(log_frequencies)] = torch.from_numpy(log_frequencies)

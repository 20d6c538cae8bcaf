"""autoregressive: an any-order autoregressive model over the columns, P(x) = Π_i P(x_σ(i) | x_σ(<i)).

Each user column i is one step: its discrete variable d_i (a category, or the state of a numeric
column: VALUE, a point mass, MISSING) and, where that state is VALUE, its value x_i. One MLP f_θ
reads a row with only the columns of a set S shown,

    input = [ e(x) ⊙ m_S,  m_S ],       m_S ∈ {0, 1}^M the columns shown,

with e(x) the `TableTensors` encoding (one-hot blocks, normal scores z = Φ⁻¹(F(x))), and gives
every column's conditional given S at once:

    P(d_i = k | x_S)            = softmax(logits_i)_k
    p(z_i | x_S, d_i = VALUE)   = Σ_k π_ik N(z_i; μ_ik, σ_ik²)          (a mixture density, K components)

A value in the user's units has density p(x) = p(z) f(x) / φ(z) (f = F', the change of variables
of `TableTensors.log_jacobian`). A whole number (an integer column) has the probability of its
unit interval, Σ_k π_ik [Φ((z⁺ − μ_ik)/σ_ik) − Φ((z⁻ − μ_ik)/σ_ik)] with z∓ the normal scores of
x ∓ ½, so that no component can collapse onto a single integer.

Training (order-agnostic, Uria, Murray & Larochelle 2014). For a uniform order σ the next column
after the first d is uniform among the other M − d, so

    E_σ[−log P_σ(x)] = E_{d ~ U{0..M−1}, S ~ U(d-subsets)} [ M / (M − d) Σ_{i ∉ S} −log P_θ(x_i | x_S) ],

one unbiased estimate per row that trains the conditionals of every order at once.

log_prob is exact for one fixed order, the schema's: log P(x) = Σ_i log P_θ(x_i | x_<i), M network
passes. Every factor is normalised, so the probabilities sum to one by construction, however
well or badly the network is trained.
impute draws from the network's conditionals, exactly, for any set of known columns: the unknown
columns one at a time in schema order, each from P_θ(x_i | known, already drawn), a fresh cell never
MISSING (`layout.evidence`) and a value drawn only where the drawn state is VALUE. sample is the
same with nothing known; its order is log_prob's, so samples follow the density log_prob scores.
(Conditionals of different orders agree as far as training made them agree: an imputation given
columns that come late in the schema uses the orders that put them first.)
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import ndtr, ndtri, softmax
from torch import nn

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.layout import Encoded
from ..neural import TableTensors, fit_network, mlp, rebuild, state_to_numpy, training_params
from ._marginals import draw_categorical

Z_EDGE = 30.0     # normal score standing for a CDF of exactly 0 or 1 (an integer at an end of the support)
MIN_SCALE = 1e-2  # smallest mixture component standard deviation, in normal-score units
CHUNK = 8192      # rows per network pass when scoring or sampling


def log_normal_mass(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """log(Φ(high) − Φ(low)) for low ≤ high, accurate in both tails (floored at the dtype's precision)."""
    flip = low > 0  # upper tail: Φ(high) − Φ(low) = Φ(−low) − Φ(−high)
    low, high = torch.where(flip, -high, low), torch.where(flip, -low, high)
    upper, lower = torch.special.log_ndtr(high), torch.special.log_ndtr(low)
    gap = torch.clamp(lower - upper, max=-torch.finfo(low.dtype).eps)
    return upper + torch.log(-torch.expm1(gap))


class ColumnConditionals(nn.Module):
    """f_θ: rows with some columns shown -> every column's conditional distribution given them."""

    def __init__(self, tensors: TableTensors, columns: list[tuple[int, int]], integer: list[bool],
                 components: int, hidden: int, layers: int, dropout: float = 0.0):
        super().__init__()
        self.n_onehot, self.n_continuous, self.components = tensors.n_onehot, tensors.n_continuous, components
        self.n_columns, self.blocks = len(columns), tensors.blocks()
        spread = torch.zeros(len(columns), tensors.width)   # (M, W): the encoding entries of each column
        column_of_discrete = torch.zeros(len(self.blocks), dtype=torch.long)
        column_of_continuous = torch.zeros(self.n_continuous, dtype=torch.long)
        for i, (j, c) in enumerate(columns):
            if j >= 0:
                spread[i, self.blocks[j]], column_of_discrete[j] = 1.0, i
            if c >= 0:
                spread[i, self.n_onehot + c], column_of_continuous[c] = 1.0, i
        self.register_buffer("spread", spread, persistent=False)
        self.register_buffer("column_of_discrete", column_of_discrete, persistent=False)
        self.register_buffer("column_of_continuous", column_of_continuous, persistent=False)
        self.register_buffer("integer", torch.tensor(integer, dtype=torch.bool).reshape(-1), persistent=False)
        width = 3 * components                              # a mixture's outputs: logits, means, raw scales
        self.outputs = [(torch.cat([torch.arange(self.n_onehot)[self.blocks[j]] if j >= 0 else torch.arange(0),
                                    self.n_onehot + width * c + torch.arange(width) if c >= 0 else torch.arange(0)]),
                         self.blocks[j].stop - self.blocks[j].start if j >= 0 else 0)
                        for j, c in columns]               # per column: its last-layer rows, how many are logits
        self.net = mlp(tensors.width + len(columns), self.n_onehot + 3 * components * self.n_continuous, hidden, layers,
                       dropout)
        with torch.no_grad():  # components start spread over the normal scores rather than all at 0
            bias = self.net[-1].bias[self.n_onehot:].view(self.n_continuous, 3, components)
            bias[:, 1] = torch.linspace(-2.0, 2.0, components) if components > 1 else 0.0

    def forward(self, x: torch.Tensor, known: torch.Tensor, column: int | None = None):
        """x (B, W) encoded rows, known (B, M) 0/1 per column -> logits (B, W_d) and the mixtures' log
        weights, means and scales, each (B, C, K). With `column`, only that column's conditional is
        computed (the last layer restricted to its outputs): logits (B, K_j), mixture (B, 0 or 1, K)."""
        hidden = self.net[:-1](torch.cat([x * (known @ self.spread), known], dim=1))   # (B, H)
        if column is None:
            return self._parse(self.net[-1](hidden), self.n_onehot, self.n_continuous)
        rows, n_logits = self.outputs[column]
        out = nn.functional.linear(hidden, self.net[-1].weight[rows], self.net[-1].bias[rows])
        return self._parse(out, n_logits, (len(rows) - n_logits) // (3 * self.components))

    def _parse(self, out: torch.Tensor, n_logits: int, n_continuous: int):
        mixture = out[:, n_logits:].reshape(len(out), n_continuous, 3, self.components)
        return (out[:, :n_logits], torch.log_softmax(mixture[:, :, 0], -1), mixture[:, :, 1],
                nn.functional.softplus(mixture[:, :, 2]) + MIN_SCALE)

    def split(self, rows: torch.Tensor):
        """Packed training rows [x (W) | z⁻ (C) | z⁺ (C) | active (C)] -> x, bounds (B, 2, C), active (B, C)."""
        w, c = self.n_onehot + self.n_continuous, self.n_continuous
        return rows[:, :w], rows[:, w:w + 2 * c].reshape(len(rows), 2, c), rows[:, w + 2 * c:] > 0.5

    def log_likelihood(self, outputs, x: torch.Tensor, bounds: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        """(B, M) log P_θ(x_i | x_S) of every column i, from `forward`'s outputs; in normal-score
        units for non-integer values (add the log-Jacobian for the user's units)."""
        logits, log_weights, means, scales = outputs
        per_column = torch.zeros(x.shape[0], self.n_columns, dtype=x.dtype, device=x.device)
        for j, block in enumerate(self.blocks):  # the one-hot picks its code's log softmax
            per_column[:, self.column_of_discrete[j]] += (x[:, block] * torch.log_softmax(logits[:, block], -1)).sum(1)
        if self.n_continuous:
            z = x[:, self.n_onehot:, None]                                 # (B, C, 1)
            density = -0.5 * ((z - means) / scales) ** 2 - torch.log(scales) - 0.5 * math.log(2 * math.pi)
            mass = log_normal_mass((bounds[:, 0, :, None] - means) / scales, (bounds[:, 1, :, None] - means) / scales)
            value = torch.logsumexp(log_weights + torch.where(self.integer[:, None], mass, density), -1)   # (B, C)
            per_column.index_add_(1, self.column_of_continuous, torch.where(active, value, 0.0))
        return per_column


@register
class Autoregressive(Model):
    name = "autoregressive"
    family = "autoregressive"
    complexity = 70
    description = ("any-order autoregressive MLP over the columns: a softmax per category or state, "
                   "a Gaussian mixture per number; exact log_prob, conditions on any subset")
    log_prob_kind = "exact"
    impute_kind = "exact"
    params = {
        **training_params(epochs=300, batch_size=256, learning_rate=1e-3, patience=20),
        "hidden": Param(256, int, "width of the MLP's hidden layers", low=1),
        "layers": Param(3, int, "hidden layers of the MLP", low=1, high=32),
        "components": Param(8, int, "Gaussian components of each number's conditional", low=1, high=100),
        "dropout": Param(0.0, float, "dropout after each hidden layer (regularises small tables)", low=0.0, high=0.9),
        "weight_decay": Param(1e-4, float, "AdamW weight decay", low=0.0),
    }
    test_params = {"epochs": 30, "batch_size": 128, "learning_rate": 5e-3, "hidden": 32, "layers": 2, "components": 3}

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Encoded, rng) -> None:
        self.tensors_ = TableTensors.fit(self.layout_, data)
        x, _ = self.tensors_.encode(data)
        low, high, _ = self._integer_bounds(data.values)
        active = self.layout_.value_active(data.codes)
        rows = torch.from_numpy(np.concatenate([x, low, high, active], axis=1).astype(np.float32))  # (N, W + 3C)
        self.architecture_ = {"components": self.components, "hidden": self.hidden, "layers": self.layers,
                              "dropout": self.dropout}
        self.net_, history = fit_network(self, self._network, _loss, rows, rng, "autoregressive")
        self.epochs_trained_ = len(history)

    def _network(self) -> ColumnConditionals:
        return ColumnConditionals(self.tensors_, self.layout_.columns(), [v.integer for v in self.layout_.continuous],
                                  **self.architecture_)

    def _integer_bounds(self, values: np.ndarray):
        """Normal scores z∓ of x ∓ ½ for integer values (−1, 1 elsewhere), each (N, C), and the (N,)
        rows holding an integer outside the support (probability 0)."""
        low, high = np.full(values.shape, -1.0), np.full(values.shape, 1.0)
        outside = np.zeros(len(values), dtype=bool)
        for c, var in enumerate(self.layout_.continuous):
            present = np.flatnonzero(~np.isnan(values[:, c]))
            if var.integer and present.size:
                bins, probs = self.tensors_.bins[c], self.tensors_.bin_probs[c]
                below, above = bins.cdf(values[present, c] - 0.5, probs), bins.cdf(values[present, c] + 0.5, probs)
                low[present, c] = np.clip(ndtri(below), -Z_EDGE, Z_EDGE)
                high[present, c] = np.clip(ndtri(above), -Z_EDGE, Z_EDGE)
                outside[present] |= above <= below
        return low, high, outside

    # ------------------------------------------------------------------ the network, in chunks
    def _chunked(self, function, *arrays) -> list[np.ndarray]:
        """`function` of torch tensors (floats as float32) over row chunks, without gradients -> numpy."""
        parts = []
        with torch.no_grad():
            for begin in range(0, len(arrays[0]), CHUNK):
                chunk = [torch.from_numpy(np.ascontiguousarray(a[begin:begin + CHUNK])) for a in arrays]
                outputs = function(*[t if t.dtype == torch.bool else t.float() for t in chunk])
                parts.append([o.numpy().astype(float) for o in (outputs if isinstance(outputs, tuple) else (outputs,))])
        return [np.concatenate(p) for p in zip(*parts)]

    # ------------------------------------------------------------------ the protocol
    def _log_prob(self, data: Encoded) -> np.ndarray:
        n, m = len(data), len(self.layout_.columns())
        x, _ = self.tensors_.encode(data)
        low, high, outside = self._integer_bounds(data.values)
        active = self.layout_.value_active(data.codes)
        network, bounds, total = self.net_, np.stack([low, high], axis=1), np.zeros(n)   # bounds (N, 2, C)
        for i in range(m):  # log P(x_i | x_<i), the schema's order
            known = np.broadcast_to(np.arange(m) < i, (n, m)).astype(np.float32)
            total += self._chunked(lambda xs, ks, bs, act: network.log_likelihood(network(xs, ks), xs, bs, act)[:, i],
                                   x, known, bounds, active)[0]
        integer = np.array([v.integer for v in self.layout_.continuous], dtype=bool)
        total += self.tensors_.log_jacobian(np.where(active & ~integer, data.values, np.nan))   # z -> user units
        return np.where(outside, -np.inf, total)

    def _complete(self, data: Encoded, allowed: list[np.ndarray], rng) -> Encoded:
        """Draw the unknown columns one at a time in schema order, each given the known and drawn ones."""
        layout, columns = self.layout_, self.layout_.columns()
        codes, values = data.codes.copy(), data.values.copy()
        unknown_values = layout.value_unknown(data)                         # (N, C)
        everywhere = np.ones(len(data), dtype=bool)
        known = np.stack([(codes[:, j] >= 0 if j >= 0 else everywhere) & (~unknown_values[:, c] if c >= 0 else everywhere)
                          for j, c in columns], axis=1)                    # (N, M) columns fully known
        for i, (j, c) in enumerate(columns):
            rows = np.flatnonzero(~known[:, i])
            if rows.size == 0:
                continue
            x, _ = self.tensors_.encode(Encoded(codes[rows], values[rows]))
            logits, log_weights, means, scales = self._chunked(lambda xs, ks: self.net_(xs, ks, column=i),
                                                               x, known[rows].astype(np.float32))
            if j >= 0:
                fresh = codes[rows, j] < 0
                probs = softmax(logits[fresh], axis=1) * allowed[j][rows[fresh]]
                codes[rows[fresh], j] = draw_categorical(probs, rng)
            if c >= 0:
                active = codes[rows, j] == layout.discrete[j].value_code if j >= 0 else np.ones(rows.size, bool)
                fresh = np.flatnonzero(active & unknown_values[rows, c])
                component = draw_categorical(np.exp(log_weights[fresh, 0]), rng)
                z = means[fresh, 0, component] + scales[fresh, 0, component] * rng.standard_normal(fresh.size)
                values[rows[fresh], c] = self._from_normal(c, z)
                values[rows[~active], c] = np.nan
            known[rows, i] = True
        return Encoded(codes, values)

    def _from_normal(self, c: int, z: np.ndarray) -> np.ndarray:
        """Normal scores of column c -> its values (integers rounded inside the support)."""
        bins = self.tensors_.bins[c]
        values = bins.ppf(ndtr(z), self.tensors_.bin_probs[c])
        if self.layout_.continuous[c].integer:
            values = np.clip(np.round(values), bins.edges[0] + 0.5, bins.edges[-1] - 0.5)
        return values

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        state = {"architecture": self.architecture_, "epochs_trained": self.epochs_trained_}
        return state, {**self.tensors_.state(), **state_to_numpy(self.net_)}

    def _set_state(self, state, arrays):
        self.architecture_, self.epochs_trained_ = state["architecture"], state["epochs_trained"]
        self.tensors_ = TableTensors.from_state(self.layout_, arrays)
        self.net_ = rebuild(self._network, arrays)


def _loss(module: nn.Module, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The order-agnostic estimate of −log P(x) (module docstring), averaged over the batch."""
    if not module.training:  # validation: the same orders every epoch, so early stopping compares like with like
        generator = torch.Generator().manual_seed(0)
    x, bounds, active = module.split(rows)
    n, m = x.shape[0], module.n_columns
    shown = torch.floor(torch.rand(n, 1, generator=generator) * m)               # (B, 1) d ~ U{0..M-1}
    rank = torch.rand(n, m, generator=generator).argsort(1).argsort(1)           # (B, M) a uniform order
    known = (rank < shown).float().to(x.device)                                  # (B, M) its first d columns
    log_p = module.log_likelihood(module(x, known), x, bounds, active)         # (B, M)
    weight = (m / (m - shown)).to(x.device)                                      # (B, 1)
    return -(weight * ((1.0 - known) * log_p).sum(1, keepdim=True)).mean()

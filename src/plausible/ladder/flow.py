"""flow: a normalizing flow for mixed tables, with an exact likelihood by the change of variables.

Factorisation. A row is its discrete codes d (categories, booleans, each numeric column's state:
a value, a point mass or missing) and the continuous values x_a that are active given d (the
columns whose state is VALUE, a = active(d)). The model is

    P(d, x) = P(d) · p(x_a | d).

Discrete part: an exact autoregressive chain P(d) = Π_j softmax(g(d_<j))_j[d_j], every
conditional from one masked MLP over the one-hot codes (MADE, Germain et al. 2015): the logits of
variable j see only the blocks of variables before it, so P sums to one over all combinations.

Continuous part: each value becomes its normal score z = Φ⁻¹(F(x)) through its marginal CDF F
(`TableTensors`), and a conditional flow maps z to u = T(z; d) with u ~ N(0, I). T is a stack of
coupling layers (RealNVP, Dinh et al. 2017) whose elementwise maps are monotone rational-quadratic
splines on [−BOUND, BOUND], the identity outside (Durkan et al. 2019). Layer l splits the columns
into a conditioning set A_l and a transformed set B_l, and the spline parameters of B_l come from
an MLP of (z_A ⊙ m_A, onehot(d)), with m = active(d) the 0/1 mask. Inactive dimensions are never
transformed and are masked out of every conditioner, so for fixed d the map restricted to the
active dimensions is a bijection of R^|a| with a triangular Jacobian, and

    log p(z_a | d) = Σ_{c∈a} log φ(u_c) + Σ_l Σ_{c∈B_l∩a} log |∂u_c/∂z_c|,

a density normalised over R^|a| for every d. In the user's units (`TableTensors.log_jacobian`)

    log P(d, x) = log P(d) + log p(z_a | d) + Σ_{c∈a} [log f_c(x_c) − log φ(z_c)],

f_c = F_c' the marginal density, zero outside the training range. Training maximises the first
two terms (the last does not depend on the weights). Integer columns are dequantised, x + U(−½, ½)
drawn afresh per batch, so the flow learns a density rather than spikes; an integer is scored at
its midpoint, as everywhere in plausible.

Why not zuko (or nflows). Those libraries flow over a fixed set of dimensions with a context
vector; here the set of active dimensions changes from row to row (a missing or zero-inflated
number has no score), and the coupling layers must leave inactive dimensions untouched and hide
them from every conditioner to keep each row's density normalised over its own active subspace.
That row-wise masking is the part of this model that is our own; the spline itself is ~30 lines.
So the flow is written here on plain PyTorch rather than adding a dependency we would have to bend.

Sampling is exact: d by ancestral sampling, then z = T⁻¹(u; d), u ~ N(0, I), x = F⁻¹(Φ(z)).

Imputation (approximate). Where no known cell comes after an unknown one in the chain's order
(no known value, no known or restricted code after an unknown code) ancestral sampling with the
allowed codes is exact and is used as is. Other rows start from that draw and run `mcmc_steps`
sweeps of Metropolis-within-Gibbs on the extended target

    π(d, z) = P(d) · p(z_a | d) · Π_{c∉a} φ(z_c),

whose marginal is the model: the inactive dimensions carry auxiliary standard normal scores (the
flow leaves them as they are, so π is simply the flow's density over all dimensions), which lets
a code switch to VALUE with a score at hand. Each sweep draws every unknown code from its exact
conditional given the rest, by enumerating its allowed codes, then moves every unknown score by a
random-walk Metropolis step. Each step's scale is tuned per row and column toward 44% acceptance
in the first half of the sweeps (burn-in) and then fixed; the last state is the draw.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.layout import Encoded
from ..neural import (Z_CLIP, TableTensors, fit_network, mlp, rebuild, start_at_frequencies, state_to_numpy, torch_seed,
                      training_params)

BOUND = 6.0            # the splines act on [−BOUND, BOUND] (scores are within ±Z_CLIP), identity outside
MIN_BIN = 1e-3         # smallest bin width and height of a spline, as a share of the interval
MIN_SLOPE = 1e-3       # smallest derivative at a spline knot
SLOPE_SHIFT = math.log(math.e - 1)   # softplus(0 + shift) = 1: a zero network output is the identity
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
U_EPS = 1e-9           # CDF values are kept inside [U_EPS, 1 − U_EPS], as in TableTensors
TARGET_ACCEPTANCE = 0.44
CHUNK = 65_536         # rows per network call when scoring


# ---------------------------------------------------------------------- the spline
def spline(x: torch.Tensor, widths: torch.Tensor, heights: torch.Tensor, slopes: torch.Tensor,
           inverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Monotone rational-quadratic spline (Durkan et al. 2019, eqs. 4-6), identity outside ±BOUND.

    x (B, M); widths, heights (B, M, K) and slopes (B, M, K−1) unnormalised. Returns y (B, M) and
    log |dy/dx| (B, M) of the forward map (zeros when `inverse`: sampling does not need it).
    """
    bins = widths.shape[-1]
    inside = (x > -BOUND) & (x < BOUND)
    x_in = x.clamp(-BOUND, BOUND)
    share = MIN_BIN + (1 - MIN_BIN * bins) * torch.softmax(torch.stack([widths, heights], -2), dim=-1)
    cumulative = F.pad(torch.cumsum(share, dim=-1), (1, 0))
    knots = 2 * BOUND * cumulative / cumulative[..., -1:] - BOUND             # (B, M, 2, K + 1): x and y knots
    d = F.pad(MIN_SLOPE + F.softplus(slopes + SLOPE_SHIFT), (1, 1), value=1.0)   # (B, M, K + 1) knot slopes
    k = (knots[..., int(inverse), 1:-1] <= x_in[..., None]).sum(-1, keepdim=True)   # (B, M, 1) the bin
    table = torch.cat([knots, d[..., None, :]], dim=-2)                         # (B, M, 3, K + 1)
    ends = table.gather(-1, torch.cat([k, k + 1], -1)[..., None, :].expand(*k.shape[:-1], 3, 2))
    x0, x1, y0, y1, d0, d1 = ends.flatten(-2).unbind(-1)                    # each (B, M)
    width, height = x1 - x0, y1 - y0
    s = height / width
    if inverse:   # solve a t² + b t + c = 0 for t in [0, 1]; the log-slope is not needed here
        dy = x_in - y0
        a = height * (s - d0) + dy * (d0 + d1 - 2 * s)
        b = height * d0 - dy * (d0 + d1 - 2 * s)
        c = -s * dy
        t = 2 * c / (-b - torch.sqrt((b * b - 4 * a * c).clamp_min(0)))
        return torch.where(inside, x0 + t * width, x), torch.zeros_like(x)
    t = (x_in - x0) / width
    tt = t * (1 - t)
    denominator = s + (d0 + d1 - 2 * s) * tt
    y = y0 + height * (s * t * t + d0 * tt) / denominator
    log_slope = 2 * torch.log(s) + torch.log(d1 * t * t + 2 * s * tt + d0 * (1 - t) ** 2) - 2 * torch.log(denominator)
    return torch.where(inside, y, x), torch.where(inside, log_slope, torch.zeros_like(x))


# ---------------------------------------------------------------------- the network
class MaskedLinear(nn.Linear):
    def __init__(self, mask: np.ndarray):   # mask (out, in): which inputs each output may see
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", torch.from_numpy(mask.astype(np.float32)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def made(cardinalities: list[int], hidden: int, layers: int) -> nn.Sequential:
    """Masked MLP over one-hot blocks whose output block j depends only on input blocks < j."""
    inputs = np.repeat(np.arange(len(cardinalities)), cardinalities)   # the variable of each one-hot unit
    units = np.arange(hidden) % max(len(cardinalities) - 1, 1)          # hidden degrees 0 .. D−2
    blocks, previous = [], inputs
    for _ in range(layers):
        blocks += [MaskedLinear(units[:, None] >= previous[None, :]), nn.SiLU()]
        previous = units
    blocks.append(MaskedLinear(inputs[:, None] > previous[None, :]))
    return nn.Sequential(*blocks)


class MixedFlow(nn.Module):
    """log P(d) + log p(z | d): the MADE chain over the codes and the coupling flow over the scores."""

    def __init__(self, cardinalities: list[int], value_columns: list[int], hidden: int, layers: int,
                 couplings: int, bins: int):
        super().__init__()
        offsets = np.concatenate([[0], np.cumsum(cardinalities)]).astype(int)
        self.blocks = [slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]
        # the one-hot columns of each variable, padded with column W (a −inf logit, a 0 code)
        columns = np.full((len(cardinalities), max(cardinalities, default=0)), offsets[-1])
        for j, block in enumerate(self.blocks):
            columns[j, :block.stop - block.start] = np.arange(block.start, block.stop)
        self.register_buffer("code_columns", torch.from_numpy(columns).long(), persistent=False)
        self.bins = bins
        # column of the context (one-hot codes, then a constant 1) that says whether a score is active
        self.register_buffer("value_columns", torch.tensor(value_columns, dtype=torch.long), persistent=False)
        self.discrete = made(cardinalities, hidden, layers) if cardinalities else None
        n = len(value_columns)
        order = np.random.default_rng(0)   # fixed permutations: the same architecture for every fit
        self.splits, self.conditioners = [], nn.ModuleList()
        for layer in range(couplings if n else 0):
            if layer % 2 == 0:
                permutation = order.permutation(n).tolist()
            half = n // 2
            first, second = permutation[:half], permutation[half:]
            conditioning, transformed = (first, second) if layer % 2 == 0 or half == 0 else (second, first)
            self.splits.append((conditioning, transformed))
            net = mlp(len(conditioning) + int(offsets[-1]) + 1, len(transformed) * (3 * bins - 1), hidden, layers)
            nn.init.zeros_(net[-1].weight)   # every layer starts as the identity
            nn.init.zeros_(net[-1].bias)
            self.conditioners.append(net)

    def context(self, onehot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        context = torch.cat([onehot, onehot.new_ones(len(onehot), 1)], dim=1)   # (B, W + 1)
        return context, context[:, self.value_columns]                          # and the mask (B, C)

    def transform(self, z: torch.Tensor, onehot: torch.Tensor, inverse: bool = False):
        """z -> u (or u -> z when `inverse`) and log |det ∂u/∂z| over the active dims (B,)."""
        context, active = self.context(onehot)
        log_det = z.new_zeros(len(z))
        steps = list(zip(self.splits, self.conditioners))
        for (conditioning, transformed), net in (reversed(steps) if inverse else steps):
            inputs = torch.cat([z[:, conditioning] * active[:, conditioning], context], dim=1)
            widths, heights, slopes = net(inputs).view(len(z), len(transformed), -1).split(
                [self.bins, self.bins, self.bins - 1], dim=-1)
            moved, log_slope = spline(z[:, transformed], widths, heights, slopes, inverse)
            keep = active[:, transformed] > 0                      # inactive dims stay as they are
            z = z.clone()
            z[:, transformed] = torch.where(keep, moved, z[:, transformed])
            log_det = log_det + (log_slope * keep).sum(1)
        return z, log_det

    def discrete_logits(self, onehot: torch.Tensor) -> torch.Tensor:
        return self.discrete(onehot)

    def forward(self, onehot: torch.Tensor, z: torch.Tensor, include_inactive: bool = False) -> torch.Tensor:
        """(B,) log P(d) + log p(z_a | d); with `include_inactive` also + Σ_{c∉a} log φ(z_c)."""
        total = onehot.new_zeros(len(onehot))
        if self.discrete is not None:
            logits = F.pad(self.discrete(onehot), (0, 1), value=-math.inf)[:, self.code_columns]   # (B, D, K)
            chosen = F.pad(onehot, (0, 1))[:, self.code_columns] > 0                                # (B, D, K)
            total = torch.where(chosen, F.log_softmax(logits, dim=-1), 0.0).sum((1, 2))
        u, log_det = self.transform(z, onehot)
        log_phi = -0.5 * u * u - HALF_LOG_2PI                        # (B, C)
        weight = 1.0 if include_inactive else self.context(onehot)[1]
        return total + (log_phi * weight).sum(1) + log_det


def draw(log_weights: torch.Tensor, allowed: np.ndarray, generator: torch.Generator) -> np.ndarray:
    """One code per row from softmax(log_weights) restricted to `allowed` (Gumbel-max): (R, K) -> (R,)."""
    u = torch.rand(log_weights.shape, generator=generator).clamp_min(1e-12)
    scores = torch.where(torch.from_numpy(allowed), log_weights - torch.log(-torch.log(u)), -math.inf)
    return scores.argmax(1).numpy()


# ---------------------------------------------------------------------- the model
@register
class Flow(Model):
    name = "flow"
    family = "flow"
    complexity = 70
    description = "normalizing flow: an autoregressive chain over categories, a spline coupling flow over the numbers"
    log_prob_kind = "exact"
    impute_kind = "approximate"
    params = {
        **training_params(epochs=200, batch_size=256, learning_rate=1e-3, patience=20),
        "hidden": Param(64, int, "width of every hidden layer", low=1, high=4096),
        "layers": Param(2, int, "hidden layers of each network (the chain and every coupling)", low=1, high=16),
        "couplings": Param(6, int, "coupling layers of the flow", low=1, high=64),
        "spline_bins": Param(8, int, "bins of each rational-quadratic spline", low=2, high=64),
        "marginal_bins": Param(100, int, "quantile bins of each column's marginal CDF F", low=1, high=10_000),
        "mcmc_steps": Param(200, int, "Metropolis-within-Gibbs sweeps per imputation (half are burn-in); time grows "
                            "with it: about 40 ms per incomplete row and draw at 200 on one CPU thread",
                            low=2, high=100_000),
    }
    test_params = {"epochs": 8, "hidden": 16, "couplings": 2, "spline_bins": 4, "marginal_bins": 30,
                   "mcmc_steps": 10}

    # ------------------------------------------------------------------ building and training
    def _network(self, codes: np.ndarray | None = None) -> MixedFlow:
        """The network for this layout; with training codes, the chain starts at their marginals."""
        layout, width = self.layout_, self.tensors_.n_onehot
        value_columns = [int(self.tensors_.offsets[v.state]) + layout.discrete[v.state].value_code
                         if v.state >= 0 else width for v in layout.continuous]
        net = MixedFlow([d.cardinality for d in layout.discrete], value_columns, self.hidden, self.layers,
                        self.couplings, self.spline_bins)
        if codes is not None and net.discrete is not None:
            start_at_frequencies(net.discrete[-1], codes, [d.cardinality for d in layout.discrete], weight_scale=0.0)
        return net

    def _fit(self, data: Encoded, rng) -> None:
        self.tensors_ = TableTensors.fit(self.layout_, data, n_bins=self.marginal_bins)
        width, n_scores = self.tensors_.n_onehot, self.tensors_.n_continuous
        onehot = self.tensors_.encode(data)[0][:, :width]                        # (N, W)
        # each score as an interval of CDF values: a point, or an integer's unit bin (dequantised)
        low, high = np.full(data.values.shape, 0.5), np.full(data.values.shape, 0.5)
        for c, (bins, probs) in enumerate(zip(self.tensors_.bins, self.tensors_.bin_probs)):
            present = ~np.isnan(data.values[:, c])
            half = 0.5 if self.layout_.continuous[c].integer else 0.0
            low[present, c] = bins.cdf(data.values[present, c] - half, probs)
            high[present, c] = bins.cdf(data.values[present, c] + half, probs)
        rows = torch.from_numpy(np.concatenate([onehot, low, high], axis=1).astype(np.float32))   # (N, W + 2C)

        def loss(net, batch, generator):
            r = torch.rand(len(batch), n_scores, generator=generator).to(batch.device)
            lower, upper = batch[:, width:width + n_scores], batch[:, width + n_scores:]
            z = torch.special.ndtri((lower + r * (upper - lower)).clamp(U_EPS, 1 - U_EPS)).clamp(-Z_CLIP, Z_CLIP)
            return -net(batch[:, :width], z).mean()

        self.net_, self.history_ = fit_network(self, lambda: self._network(data.codes), loss, rows, rng, "flow")
        self.epochs_trained_ = len(self.history_)

    # ------------------------------------------------------------------ likelihood
    def _log_prob(self, data: Encoded) -> np.ndarray:
        values = np.where(self.layout_.value_active(data.codes), data.values, np.nan)
        x = torch.from_numpy(self.tensors_.encode(Encoded(data.codes, values))[0])   # (N, W + C)
        width = self.tensors_.n_onehot
        with torch.no_grad():
            log_p = torch.cat([self.net_(part[:, :width], part[:, width:]) for part in x.split(CHUNK)])
        return log_p.double().numpy() + self.tensors_.log_jacobian(values)

    # ------------------------------------------------------------------ sampling and imputation
    def _complete(self, data: Encoded, allowed: list[np.ndarray], rng) -> Encoded:
        generator = torch.Generator().manual_seed(torch_seed(rng))
        width = self.tensors_.n_onehot
        codes = data.codes.copy()
        free_codes, free_scores = codes < 0, self.layout_.value_unknown(data)   # (N, D), (N, C)
        known_scores = ~np.isnan(data.values)                                     # (N, C)
        x = torch.from_numpy(self.tensors_.encode(data)[0])
        onehot, z_known = x[:, :width].clone(), x[:, width:]                      # zero blocks where unknown
        with torch.no_grad():
            # ancestral draw: d_j ~ P(d_j | d_<j) over the allowed codes, then z = T⁻¹(u; d)
            for j, block in enumerate(self.net_.blocks):
                rows = np.flatnonzero(free_codes[:, j])
                if rows.size:
                    pick = draw(self.net_.discrete_logits(onehot[rows])[:, block], allowed[j][rows], generator)
                    self._set_code(codes, onehot, rows, j, pick)
            u = torch.randn(len(data), self.tensors_.n_continuous, generator=generator)
            z = torch.where(torch.from_numpy(known_scores), z_known, self.net_.transform(u, onehot, inverse=True)[0])
            # the draw is exact unless a known cell comes after an unknown one in the chain's order
            restricted = np.stack([~a.all(1) for a in allowed], axis=1) if allowed else free_codes
            after = np.zeros_like(free_codes)
            after[:, :-1] = np.flip(np.cumsum(np.flip(restricted[:, 1:], 1), 1), 1) > 0
            chain = np.flatnonzero((known_scores.any(1) | (free_codes & after).any(1))
                                   & (free_codes.any(1) | free_scores.any(1)))
            if chain.size:
                rows = torch.from_numpy(chain)
                state = codes[chain], onehot[rows], z[rows]
                self._mcmc(*state, free_codes[chain], free_scores[chain], [a[chain] for a in allowed], generator)
                codes[chain], onehot[rows], z[rows] = state
        active = self.layout_.value_active(codes)
        drawn = self.tensors_.from_normal(np.where(active & free_scores, z.double().numpy(), np.nan))
        return Encoded(codes, np.where(active, np.where(free_scores, drawn, data.values), np.nan))

    def _mcmc(self, codes, onehot, z, free_codes, free_scores, allowed, generator) -> None:
        """Metropolis-within-Gibbs on π(d, z) (module docstring), updating codes, onehot and z in place."""
        import sys

        from tqdm.auto import tqdm

        current = self.net_(onehot, z, include_inactive=True)                   # (R,) log π
        scale = torch.full(z.shape, 0.5)                                         # (R, C) proposal spread
        # each sweep costs (codes + columns) passes of the flow over the chained rows: about 40 ms
        # per row and draw at the default 200 sweeps, so thousands of rows take minutes
        show = sys.stderr.isatty() and len(z) * self.mcmc_steps * (z.shape[1] + len(self.net_.blocks)) > 2_000_000
        for step in tqdm(range(self.mcmc_steps), desc=f"flow impute ({len(z)} rows)", unit="sweep",
                         disable=not show, leave=False):
            for j, block in enumerate(self.net_.blocks):                         # exact Gibbs for each code
                rows = np.flatnonzero(free_codes[:, j])
                if not rows.size:
                    continue
                k = block.stop - block.start
                candidates = onehot[rows].repeat(k, 1)                           # (K R, W): code 0 for R rows, ...
                candidates[:, block] = torch.eye(k).repeat_interleave(len(rows), dim=0)
                log_p = self.net_(candidates, z[rows].repeat(k, 1), include_inactive=True).view(k, -1).T   # (R, K)
                pick = draw(log_p, allowed[j][rows], generator)
                self._set_code(codes, onehot, rows, j, pick)
                current[rows] = log_p[np.arange(len(rows)), pick]
            for c in range(z.shape[1]):                                          # random-walk Metropolis per score
                rows = torch.from_numpy(np.flatnonzero(free_scores[:, c]))
                if not len(rows):
                    continue
                proposal = z[rows].clone()
                proposal[:, c] += scale[rows, c] * torch.randn(len(rows), generator=generator)
                log_p = self.net_(onehot[rows], proposal, include_inactive=True)
                accept = torch.rand(len(rows), generator=generator).log() < log_p - current[rows]
                z[rows] = torch.where(accept[:, None], proposal, z[rows])
                current[rows] = torch.where(accept, log_p, current[rows])
                if step < self.mcmc_steps // 2:                                  # burn-in: tune, then hold still
                    scale[rows, c] *= torch.exp((accept.float() - TARGET_ACCEPTANCE) / math.sqrt(step + 1))

    def _set_code(self, codes, onehot, rows, j, pick) -> None:
        block = self.net_.blocks[j]
        codes[rows, j] = pick
        onehot[rows, block] = F.one_hot(torch.from_numpy(pick), block.stop - block.start).float()

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        return {"epochs_trained": self.epochs_trained_}, {**state_to_numpy(self.net_), **self.tensors_.state()}

    def _set_state(self, state, arrays):
        self.tensors_ = TableTensors.from_state(self.layout_, arrays)
        self.net_ = rebuild(self._network, arrays)
        self.epochs_trained_ = state["epochs_trained"]

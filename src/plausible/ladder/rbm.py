"""rbm: a restricted Boltzmann machine, an energy model with binary hidden units, for mixed tables.

Data. `TableTensors` turns a row into a one-hot block per discrete variable d_j (categories,
booleans, the state of a numeric column: VALUE, point mass, missing) and a normal score
s_c = Φ⁻¹(F_c(x_c)) per continuous value, present only where active (a_c = 1: the column's state
is VALUE). H binary hidden units h ∈ {0, 1}^H are joined to every visible unit and to nothing
else (the "restriction"), with the energy

    −E(x, h) = Σ_j (b_j + W_j h)[d_j] + Σ_c a_c (−(s_c − b_c)² / 2σ_c² + (s_c / σ_c) W_c h) + c·h

and P(x, h) = exp(−E(x, h)) / Z: softmax visible units for the discrete variables and Gaussian
units with learned σ_c for the normal scores (a Gaussian–Bernoulli RBM; Hinton 2010, "A
practical guide to training RBMs"; Cho, Ilin & Raiko 2011 for learned σ). Given h, every column
is independent of the others:

    P(d_j = k | h) ∝ exp(b_jk + W_jk h + [k = VALUE] G_c(h)),   s_c | VALUE, h ~ N(b_c + σ_c t_c, σ_c²),
    G_c(h) = log(√(2π) σ_c) + b_c t_c / σ_c + t_c² / 2,        t_c = W_c h

(G_c is the log of the integral of the Gaussian unit, so a column's VALUE state carries the mass of
its continuous part), and given x every hidden unit is independent: P(h_m = 1 | x) =
sigmoid(c_m + Σ W_m x̃), x̃ = (one-hot codes, a_c s_c / σ_c). Summing h out gives the free energy
of a row in closed form,

    −F(x) = Σ_j b_j[d_j] − Σ_c a_c (s_c − b_c)² / 2σ_c² + Σ_m softplus(c_m + W_m x̃),

and P(x) = exp(−F(x)) / Z, where Z = Σ_h exp(c·h) Π_columns Σ_k exp(b_jk + W_jk h + [k = VALUE]
G_c(h)) is a sum over the 2^H hidden states.

Exact, because H is small. An RBM is a mixture of 2^H product distributions whose weights and
parameters share the W: with H ≤ MAX_HIDDEN (20) the sum over hidden states is computed outright.
So this rung needs none of the usual approximations: no contrastive divergence (Hinton 2002) in
training, no annealed importance sampling for log Z. Training minimises the exact negative
log-likelihood mean F(x) + log Z with AdamW through the shared loop (validation split, early
stopping on the exact held-out likelihood, NaN guard). Its cost is O(2^H · width) per step for
log Z plus O(batch · H · width) for F: a few milliseconds at the default H = 12.

log_prob is exact: −F(x) − log Z in normal scores, plus the Jacobian Σ log f_c(x_c) − log φ(s_c)
into the user's units. impute is exact: the posterior over the 2^H hidden states given the known
cells, P(h | x_o) ∝ exp(c·h + W x̃_o · h) Π_{unknown columns} Σ_{allowed k} exp(b_jk + W_jk h
+ [k = VALUE] G_c(h)), is computed per row, one state drawn from it, and then the unknown cells from
P(x_u | h), which factorizes. sample draws h from its marginal P(h) ∝ exp(c·h) Π_columns (…) the
same way, then x | h.

Gibbs sampling, the RBM's classical sampler, is `sampler="gibbs"`: alternate h | x and the unknown
cells | h for `gibbs_steps` sweeps from a random start (known cells clamped). It targets the same
distribution as the exact sampler, which tests check, and is there to show how an energy model is
usually sampled when 2^H states cannot be summed. It mixes slowly between separated modes: on
three clusters (tests/test_rbm.py) the chains need about 1,000 sweeps to reach the cluster shares
of the exact sampler (after 300: 0.31 / 0.33 / 0.36 against 0.28 / 0.33 / 0.39).

Normal scores are clipped to ±Z_CLIP when drawn, as in the other neural models.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.layout import Encoded
from ..neural import Z_CLIP, TableTensors, fit_network, rebuild, state_to_numpy, training_params
from ._marginals import draw_categorical, laplace

MAX_HIDDEN = 20                      # 2^20 hidden states are summed outright; more would need estimates
LOG_SIGMA = (math.log(0.02), math.log(5.0))   # a Gaussian unit's σ stays in this range (normal-score units)
STATE_ENTRIES = 1 << 23              # hidden states × rows per chunk when conditioning (64 MiB of float64)
LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def hidden_states(n_hidden: int) -> torch.Tensor:
    """(2^H, H) every binary hidden vector, state i holding the bits of i."""
    index = torch.arange(2 ** n_hidden).unsqueeze(1)
    return ((index >> torch.arange(n_hidden)) & 1).to(torch.get_default_dtype())


class RBMNet(nn.Module):
    """The energy's parameters, the free energy of rows and the per-state column normalizers."""

    def __init__(self, cardinalities: list[int], value_entries: np.ndarray, n_continuous: int, n_hidden: int):
        super().__init__()
        self.n_onehot = int(sum(cardinalities))
        self.offsets = np.concatenate([[0], np.cumsum(cardinalities)]).astype(int)
        width = self.n_onehot + n_continuous
        self.weight = nn.Parameter(0.01 * torch.randn(width, n_hidden))
        self.visible_bias = nn.Parameter(torch.zeros(width))
        self.log_sigma = nn.Parameter(torch.zeros(n_continuous))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))
        # value_entries[c]: the one-hot entry of continuous c's VALUE state, −1 for a column without a state
        self.register_buffer("states", hidden_states(n_hidden), persistent=False)
        with_state = np.flatnonzero(value_entries >= 0)
        self.register_buffer("stated", torch.from_numpy(with_state), persistent=False)
        self.register_buffer("stated_entries", torch.from_numpy(value_entries[with_state]), persistent=False)
        self.register_buffer("free", torch.from_numpy(np.flatnonzero(value_entries < 0)), persistent=False)

    def sigma(self) -> torch.Tensor:
        return torch.exp(self.log_sigma.clamp(*LOG_SIGMA))

    def free_energy(self, x: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        """F(x) per row (B,), x = (one-hot codes, normal scores), active (B, C) where a score counts."""
        sigma = self.sigma()
        codes, scores = x[:, :self.n_onehot], x[:, self.n_onehot:] * active
        visible = codes @ self.visible_bias[:self.n_onehot] \
            - (active * (scores - self.visible_bias[self.n_onehot:]) ** 2 / (2 * sigma ** 2)).sum(-1)
        hidden = nn.functional.softplus(self.hidden_bias + torch.cat([codes, scores / sigma], -1) @ self.weight)
        return -(visible + hidden.sum(-1))

    def visible_logits(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For hidden vectors h (S, H): the one-hot logits (S, n_onehot) with G_c(h) added at each
        VALUE entry, G (S, C), and the Gaussian units' means b_c + σ_c t_c (S, C)."""
        sigma = self.sigma()
        pre = h @ self.weight.T                                                 # (S, width)
        t = pre[:, self.n_onehot:]
        b = self.visible_bias[self.n_onehot:]
        log_mass = LOG_SQRT_2PI + torch.log(sigma) + b * t / sigma + 0.5 * t ** 2   # G_c(h)
        logits = pre[:, :self.n_onehot] + self.visible_bias[:self.n_onehot]
        logits = logits.index_add(1, self.stated_entries, log_mass[:, self.stated])
        return logits, log_mass, b + sigma * t

    def column_log_norms(self, logits: torch.Tensor, log_mass: torch.Tensor) -> torch.Tensor:
        """(S, columns): log Σ_k exp(logits of block j) per discrete variable, then G_c of the
        continuous values without a state: each user column's log-normalizer given h."""
        blocks = [torch.logsumexp(logits[:, self.offsets[j]:self.offsets[j + 1]], dim=1)
                  for j in range(len(self.offsets) - 1)]
        return torch.cat([torch.stack(blocks, 1) if blocks else logits[:, :0], log_mass[:, self.free]], 1)

    def prior_logits(self) -> torch.Tensor:
        """(2^H,) log of the unnormalized marginal P(h) = Σ_x exp(−E(x, h))."""
        logits, log_mass, _ = self.visible_logits(self.states)
        return self.states @ self.hidden_bias + self.column_log_norms(logits, log_mass).sum(1)

    def log_partition(self) -> torch.Tensor:
        return torch.logsumexp(self.prior_logits(), dim=0)


@register
class RBM(Model):
    name = "rbm"
    family = "classical"
    complexity = 50
    description = "restricted Boltzmann machine (softmax and Gaussian visible units, binary hidden units; exact)"
    log_prob_kind = "exact"
    impute_kind = "exact"
    params = {
        "n_hidden": Param(12, int, f"binary hidden units H (their 2^H states are summed outright; at most "
                                   f"{MAX_HIDDEN})", low=1, high=MAX_HIDDEN),
        **training_params(epochs=1000, batch_size=256, learning_rate=3e-2, patience=30),
        "sampler": Param("exact", str, "how sample and impute draw: exact (sum over hidden states) or gibbs",
                         choices=("exact", "gibbs")),
        "gibbs_steps": Param(1000, int, "Gibbs sweeps per draw when sampler='gibbs'", low=1),
    }
    test_params = {"n_hidden": 6, "epochs": 30}

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Encoded, rng) -> None:
        self.tensors_ = TableTensors.fit(self.layout_, data)
        x, _ = self.tensors_.encode(data)
        active = ~np.isnan(data.values)
        rows = torch.from_numpy(np.concatenate([x, active.astype(np.float32)], axis=1))
        width = self.tensors_.width
        self.net_, history = fit_network(
            self, lambda: self._network(data.codes),
            lambda net, batch, _: net.free_energy(batch[:, :width], batch[:, width:]).mean() + net.log_partition(),
            rows, rng, "rbm")
        self.epochs_trained_ = len(history)
        self._freeze()

    def _network(self, codes: np.ndarray | None = None) -> RBMNet:
        """The machine for this layout. With training codes it starts as the independence model: visible
        biases at the log frequencies of the codes (each block's VALUE entry less the Gaussian unit's
        log-mass at h = 0), scores at N(0, 1)."""
        value_entries = np.full(self.tensors_.n_continuous, -1, dtype=np.int64)
        for c, var in enumerate(self.layout_.continuous):
            if var.state >= 0:
                value_entries[c] = self.tensors_.offsets[var.state] + self.layout_.discrete[var.state].value_code
        net = RBMNet(self.tensors_.cardinalities, value_entries, self.tensors_.n_continuous, self.n_hidden)
        if codes is not None:
            frequencies = [laplace(np.bincount(codes[:, j], minlength=k))
                           for j, k in enumerate(self.tensors_.cardinalities)]
            with torch.no_grad():
                if frequencies:
                    net.visible_bias[:net.n_onehot] = torch.from_numpy(np.log(np.concatenate(frequencies)))
                net.visible_bias[net.stated_entries] -= LOG_SQRT_2PI
        return net

    # ------------------------------------------------------------------ using the model
    def _log_prob(self, data: Encoded) -> np.ndarray:
        x, _ = self.tensors_.encode(data)
        values = np.where(self.layout_.value_active(data.codes), data.values, np.nan)
        with torch.no_grad():
            net = self.net64_
            active = torch.from_numpy((~np.isnan(values)).astype(np.float64))
            log_p = -net.free_energy(torch.from_numpy(x.astype(np.float64)), active) - net.log_partition()
        return log_p.numpy() + self.tensors_.log_jacobian(values)

    def _freeze(self) -> None:
        """Keep a float64 copy of the trained network: sums over 2^H states deserve the precision."""
        self.net64_ = rebuild(lambda: self._network().double(), state_to_numpy(self.net_)).requires_grad_(False)

    def _sample(self, n: int, rng) -> Encoded:
        unknown = self.layout_.unknown(n)
        allowed = self.layout_.evidence(unknown, allow_missing=True)
        if self.sampler == "gibbs":
            return self._gibbs(unknown, allowed, rng)
        with torch.no_grad():
            net = self.net64_
            prior = torch.softmax(net.prior_logits(), dim=0).numpy()
            h = net.states[torch.from_numpy(rng.choice(len(prior), size=n, p=prior / prior.sum()))]
        return self._draw_visible(h.numpy(), unknown, allowed, rng)

    def _complete(self, data: Encoded, allowed: list[np.ndarray], rng) -> Encoded:
        if self.sampler == "gibbs":
            return self._gibbs(data, allowed, rng)
        net = self.net64_
        known_input, open_columns = self._known_input(data, allowed)
        chunk = max(1, STATE_ENTRIES // len(net.states))
        h = np.empty((len(data), net.states.shape[1]))
        with torch.no_grad():
            logits, log_mass, _ = net.visible_logits(net.states)
            linear = net.states @ net.hidden_bias                                           # (S,)
            norms = {j: self._masked_norms(net, logits, log_mass, j, masks)                  # (S, U) per column
                     for j, (_, masks, _) in open_columns.items()}
            for begin in range(0, len(data), chunk):
                rows = slice(begin, begin + chunk)
                log_post = net.states @ (torch.from_numpy(known_input[rows]) @ net.weight).T + linear[:, None]
                for j, (open_rows, _, which) in open_columns.items():
                    local = (open_rows >= begin) & (open_rows < begin + chunk)
                    if local.any():
                        log_post[:, open_rows[local] - begin] += norms[j][:, which[local]]
                cumulative = torch.cumsum(torch.softmax(log_post, dim=0), dim=0).T.contiguous()   # (rows, S)
                u = torch.from_numpy(rng.random((cumulative.shape[0], 1))) * cumulative[:, -1:]
                pick = torch.searchsorted(cumulative, u).clamp(max=len(net.states) - 1).squeeze(1)
                h[rows] = net.states[pick].numpy()
        return self._draw_visible(h, data, allowed, rng)

    def _known_input(self, data: Encoded, allowed) -> tuple[np.ndarray, dict]:
        """x̃ of the known cells (N, width), and per open column j (its key: discrete index, or
        ("free", c) for a continuous value without a state): (rows, unique allowed masks, row -> mask)."""
        t = self.tensors_
        x, _ = t.encode(data)
        x = x.astype(np.float64)
        x[:, t.n_onehot:] /= self.net_.sigma().detach().double().numpy()
        unknown_values = self.layout_.value_unknown(data)
        open_columns = {}
        state_of = {var.state: c for c, var in enumerate(self.layout_.continuous) if var.state >= 0}
        for j, var in enumerate(self.layout_.discrete):
            codes = data.codes[:, j]
            is_open = codes < 0
            if j in state_of:
                is_open |= (codes == var.value_code) & unknown_values[:, state_of[j]]
            rows = np.flatnonzero(is_open)
            if rows.size:
                x[rows, t.offsets[j]:t.offsets[j + 1]] = 0.0
                masks, which = np.unique(allowed[j][rows], axis=0, return_inverse=True)
                open_columns[j] = (rows, masks, which.ravel())
        for c, var in enumerate(self.layout_.continuous):
            rows = np.flatnonzero(unknown_values[:, c]) if var.state < 0 else np.zeros(0, dtype=int)
            if rows.size:
                open_columns[("free", c)] = (rows, None, np.zeros(rows.size, dtype=int))
        return x, open_columns

    @staticmethod
    def _masked_norms(net: RBMNet, logits, log_mass, j, masks) -> torch.Tensor:
        """(S, U): per allowed mask, the log of the column's unnormalized mass given each hidden state."""
        if masks is None:                                         # ("free", c): the Gaussian unit's G_c
            return log_mass[:, j[1]:j[1] + 1]
        block = logits[:, net.offsets[j]:net.offsets[j + 1]]                        # (S, K)
        masked = block.unsqueeze(1).masked_fill(~torch.from_numpy(masks).unsqueeze(0), -math.inf)
        return torch.logsumexp(masked, dim=2)

    def _draw_visible(self, h: np.ndarray, data: Encoded, allowed, rng) -> Encoded:
        """Draw the unknown cells of `data` given hidden vectors h (N, H): codes within `allowed`,
        then the values whose state is VALUE (drawn as normal scores, mapped back to the column)."""
        with torch.no_grad():
            logits, _, means = (a.numpy() for a in self.net64_.visible_logits(torch.from_numpy(h)))
        sigma = self.net_.sigma().detach().double().numpy()
        codes, values = data.codes.copy(), data.values.copy()
        unknown_values = self.layout_.value_unknown(data)
        for j, k in enumerate(self.tensors_.cardinalities):
            rows = np.flatnonzero(codes[:, j] < 0)
            if rows.size:
                block = logits[rows, self.tensors_.offsets[j]:self.tensors_.offsets[j + 1]]
                weights = np.exp(block - block.max(axis=1, keepdims=True)) * allowed[j][rows]
                codes[rows, j] = draw_categorical(weights, rng)
        active = self.layout_.value_active(codes)
        drawn = np.clip(means + sigma * rng.standard_normal(means.shape), -Z_CLIP, Z_CLIP)
        fill = unknown_values & active
        values[fill] = self.tensors_.from_normal(np.where(fill, drawn, np.nan))[fill]
        values[~active] = np.nan
        return Encoded(codes, values)

    def _gibbs(self, data: Encoded, allowed, rng) -> Encoded:
        """Block Gibbs: h | x and unknown cells | h, `gibbs_steps` sweeps, known cells clamped."""
        net = self.net64_
        weight, bias = net.weight.detach().numpy(), net.hidden_bias.detach().numpy()
        h = (rng.random((len(data), len(bias))) < 0.5).astype(np.float64)
        for _ in range(self.gibbs_steps):
            current = self._draw_visible(h, data, allowed, rng)
            x, _ = self.tensors_.encode(current)
            x = x.astype(np.float64)
            x[:, self.tensors_.n_onehot:] /= net.sigma().detach().numpy()
            h = (rng.random(h.shape) < 1 / (1 + np.exp(-(x @ weight + bias)))).astype(np.float64)
        return self._draw_visible(h, data, allowed, rng)

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        arrays = {**self.tensors_.state(), **state_to_numpy(self.net_)}
        return {"epochs_trained": self.epochs_trained_}, arrays

    def _set_state(self, state, arrays):
        self.tensors_ = TableTensors.from_state(self.layout_, arrays)
        self.epochs_trained_ = int(state["epochs_trained"])
        self.net_ = rebuild(self._network, arrays)
        self._freeze()

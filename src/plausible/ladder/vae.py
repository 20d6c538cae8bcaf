"""vae: a variational autoencoder for mixed tables, trained with random masks to condition on any subset.

Data. `TableTensors` turns a row into x: a one-hot block per discrete variable d_j (categories,
booleans, the state of a numeric column: VALUE, point mass, missing) and a normal score
s_c = Φ⁻¹(F_c(x_c)) per continuous value, which counts only where it is active (a_c = 1: the
column's state is VALUE).

Generative model. z ~ N(0, I_L) and, given z, every cell on its own (a decoder MLP):

    p(x | z) = Π_j Cat(d_j | softmax(ℓ_j(z))) · Π_c N(s_c | μ_c(z), σ²_c(z))^{a_c}.

Inference with random masks. The encoder q(z | x_o, m) = N(m(x ⊙ m, m), diag v(x ⊙ m, m)) sees the
row with a mask m of known entries. In training every row hides each of its columns with a rate
r ~ U(0, 1) drawn per row, and the loss is the negative ELBO of the *observed* cells,

    log p(x_o) ≥ E_q(z | x_o, m)[log p(x_o | z)] − KL(q(z | x_o, m) || N(0, I)),

the partial-VAE objective (Ma et al. 2019, EDDI). Every term is a lower bound on a marginal of
one and the same model, so the decoder learns the joint, and for each mask the best encoder is
the true posterior p(z | x_o). (Reconstructing the hidden cells too would make q(z | x_o)
as confident as if the whole row had been seen, and imputations too narrow: see
tests/test_vae.py.) Validation uses fixed masks, so early stopping compares like with like.

log_prob (estimate). Rows are complete; with K = `proposals` draws z_k ~ q(z | x) (a fixed seed,
so the value is deterministic), the importance-weighted estimate (IWAE, Burda et al. 2016)

    log p̂(x) = log (1/K) Σ_k p(x | z_k) p(z_k) / q(z_k | x)  +  Σ_{c active} log f_c(x_c) − log φ(s_c),

the last sum turning the density of the normal scores into the user's units (the Jacobian of
s = Φ⁻¹(F(x)), `TableTensors.log_jacobian`). p̂(x) is unbiased for p(x); its log is a lower
bound on log p(x) in expectation and tightens as K grows.

impute (approximate). Encode the known cells with their mask, draw K = `impute_proposals`
z_k ~ q(z | x_o), resample one of them with weights p(x_o | z_k) p(z_k) / q(z_k | x_o)
(sampling-importance-resampling, as in MIWAE, Mattei & Frellsen 2019, which targets the model's
own p(z | x_o) as K grows, where pseudo-Gibbs re-encoding has no such guarantee), decode it and
draw the unknown cells: discrete codes restricted to `layout.evidence` (never MISSING for an
unknown cell), then the continuous values whose drawn state is VALUE.

sample. z ~ N(0, I), decode, draw every head. Continuous draws are clipped to ±Z_CLIP normal
scores, so values stay within the training range.
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
from ..neural import (Z_CLIP, TableTensors, fit_network, mlp, rebuild, start_at_frequencies, state_to_numpy, torch_seed,
                      training_params)
from ._marginals import draw_categorical

LOG_VARIANCE = (-9.0, 4.0)   # the decoder's log σ² of a normal score stays in this range
LOG_PROB_SEED = 0            # the IWAE proposals of log_prob are fixed: log_prob is deterministic
VALIDATION_SEED = 0          # the validation masks are the same every epoch
CHUNK = 4096                 # rows × proposals decoded at once
LOG_2PI = math.log(2 * math.pi)


class VAENet(nn.Module):
    """Encoder (x ⊙ m, m) -> mean and Cholesky factor of q(z | x_o); decoder z -> the cells' heads."""

    def __init__(self, cardinalities: list[int], n_continuous: int, latent: int, hidden: int, layers: int):
        super().__init__()
        n_onehot = sum(cardinalities)
        width, n_out = n_onehot + n_continuous, n_onehot + 2 * n_continuous
        self.n_onehot, self.n_continuous, self.latent = n_onehot, n_continuous, latent
        n_encoded = latent + latent * (latent + 1) // 2          # mean, then the lower triangle of the factor
        self.encoder = mlp(2 * width, n_encoded, hidden, layers)
        self.decoder = mlp(latent, n_out, hidden, layers)
        # linear paths beside the MLPs: a linear-Gaussian model (probabilistic PCA) is there from the start
        self.encoder_linear = nn.Linear(2 * width, n_encoded, bias=False)
        self.decoder_linear = nn.Linear(latent, n_out, bias=False)
        self.register_buffer("tril", torch.tril_indices(latent, latent), persistent=False)
        # the blocks padded to one (D, K_max) grid of one-hot positions; padding points at a dummy entry
        k_max = max(cardinalities, default=1)
        offsets = np.concatenate([[0], np.cumsum(cardinalities)]).astype(int)
        grid = np.full((len(cardinalities), k_max), n_onehot, dtype=np.int64)
        for j, k in enumerate(cardinalities):
            grid[j, :k] = np.arange(offsets[j], offsets[j] + k)
        self.register_buffer("grid", torch.from_numpy(grid), persistent=False)
        self.register_buffer("padding", torch.from_numpy(grid == n_onehot), persistent=False)

    def encode(self, x: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, W) rows and masks -> mean (B, L) and lower-triangular factor S (B, L, L), Σ = S Sᵀ."""
        inputs = torch.cat([x * known, known], dim=-1)                                    # (B, 2W)
        out = self.encoder(inputs) + self.encoder_linear(inputs)
        mean, entries = out[:, :self.latent], out[:, self.latent:]
        factor = out.new_zeros(len(out), self.latent, self.latent)
        factor[:, self.tril[0], self.tril[1]] = entries
        log_diagonal = 0.5 * factor.diagonal(dim1=-2, dim2=-1).clamp(*LOG_VARIANCE)      # log S_ii = ½ log σ²_i
        return mean, torch.tril(factor, -1) + torch.diag_embed(torch.exp(log_diagonal))

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z (B, L) -> log-probabilities (B, D, K_max) (−inf on padding), means (B, C), log σ² (B, C)."""
        out = self.decoder(z) + self.decoder_linear(z)                                    # (B, D_onehot + 2C)
        logits, mean, log_variance = out.split([self.n_onehot, self.n_continuous, self.n_continuous], dim=-1)
        padded = torch.cat([logits, logits.new_zeros(logits.shape[0], 1)], dim=-1)[:, self.grid]   # (B, D, K_max)
        log_probs = torch.log_softmax(padded.masked_fill(self.padding, -math.inf), dim=-1)
        return log_probs, mean, log_variance.clamp(*LOG_VARIANCE)

    def log_likelihood(self, z: torch.Tensor, x: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """log p(x_o | z) (B,): `counts` (B, D + C) says which discrete variables and normal scores count."""
        log_probs, mean, log_variance = self.decode(z)
        onehot = torch.cat([x[:, :self.n_onehot], x.new_zeros(x.shape[0], 1)], dim=-1)[:, self.grid]    # (B, D, K_max)
        discrete = (log_probs.masked_fill(self.padding, 0.0) * onehot).sum(-1)                         # (B, D)
        scores = x[:, self.n_onehot:]
        continuous = -0.5 * (LOG_2PI + log_variance + (scores - mean) ** 2 * torch.exp(-log_variance))  # (B, C)
        return (torch.cat([discrete, continuous], dim=-1) * counts).sum(-1)

    def forward(self, x: torch.Tensor, known: torch.Tensor, counts: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The negative ELBO of the cells that `counts` selects, per row (B,), with z = mean + S ε."""
        mean, factor = self.encode(x, known)                                              # (B, L), (B, L, L)
        z = mean + (factor @ noise.unsqueeze(-1)).squeeze(-1)
        # KL(N(μ, S Sᵀ) || N(0, I)) = ½ (‖S‖²_F + ‖μ‖² − L) − log det S
        kl = 0.5 * (factor.square().sum((-2, -1)) + mean.square().sum(-1) - self.latent) \
            - factor.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return kl - self.log_likelihood(z, x, counts)


@register
class VAE(Model):
    name = "vae"
    family = "latent variable"
    complexity = 60
    description = "variational autoencoder, softmax and Gaussian heads, random-mask training to condition on any subset"
    log_prob_kind = "estimate"
    impute_kind = "approximate"
    params = {
        **training_params(epochs=300, batch_size=256, learning_rate=1e-3, patience=30),
        "hidden": Param(128, int, "width of the encoder's and decoder's hidden layers", low=1),
        "layers": Param(2, int, "hidden layers of the encoder and of the decoder", low=0, high=16),
        "latent": Param(None, int, "latent dimensions (None: the number of columns, 2 to 16)", low=1, optional=True),
        "proposals": Param(64, int, "importance samples K of the IWAE log_prob estimate", low=1),
        "impute_proposals": Param(32, int, "proposals resampled by importance weight per imputation", low=1),
    }
    test_params = {"epochs": 15, "hidden": 32, "layers": 1, "batch_size": 128, "proposals": 16, "impute_proposals": 8}

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Encoded, rng) -> None:
        self.tensors_ = TableTensors.fit(self.layout_, data)
        x, _ = self.tensors_.encode(data)                                   # (N, W)
        active = ~np.isnan(data.values)                                     # (N, C): complete rows
        n_columns = len(self.layout_.modelled)
        self.latent_ = self.latent or int(np.clip(n_columns, 2, 16))
        columns = torch.from_numpy(self._column_entries())                  # (G, W)
        batch = torch.from_numpy(np.concatenate([x, active.astype(np.float32)], axis=1))
        self.net_, history = fit_network(self, lambda: self._network(data.codes),
                                         lambda net, rows, generator: self._loss(net, rows, generator, columns),
                                         batch, rng, "vae")
        self.epochs_trained_ = len(history)

    def _network(self, codes: np.ndarray | None = None) -> VAENet:
        """The network; with training codes, the decoder's logits start at their log-frequencies and
        its means at 0 (the normal scores' mean): an untrained or briefly trained decoder already draws
        each column's marginal, and training only has to learn the dependencies."""
        net = VAENet(self.tensors_.cardinalities, self.tensors_.n_continuous, self.latent_, self.hidden, self.layers)
        if codes is not None:
            start_at_frequencies(net.decoder[-1], codes, self.tensors_.cardinalities)
            with torch.no_grad():
                net.decoder_linear.weight.mul_(0.1)
        return net

    def _column_entries(self) -> np.ndarray:
        """(G, W) 0/1: which entries of x belong to each user column (hidden together in training)."""
        entries = np.zeros((len(self.layout_.modelled), self.tensors_.width), dtype=np.float32)
        for g, (j, c) in enumerate(self.layout_.columns()):
            if j >= 0:
                entries[g, self.tensors_.offsets[j]:self.tensors_.offsets[j + 1]] = 1.0
            if c >= 0:
                entries[g, self.tensors_.n_onehot + c] = 1.0
        return entries

    def _loss(self, net, rows: torch.Tensor, generator: torch.Generator, columns: torch.Tensor) -> torch.Tensor:
        """Negative ELBO of the observed cells, averaged over rows, each row with its own random mask."""
        if not net.training:   # validation: the same masks every epoch
            generator = torch.Generator().manual_seed(VALIDATION_SEED)
        device, (n_columns, width) = rows.device, columns.shape
        x, active = rows[:, :width], rows[:, width:]                                       # (B, W), (B, C)
        rate = torch.rand(len(rows), 1, generator=generator).to(device)                    # (B, 1)
        shown = (torch.rand(len(rows), n_columns, generator=generator).to(device) >= rate).float()   # (B, G)
        known = shown @ columns.to(device)                                                 # (B, W)
        counts = torch.cat([known[:, self.tensors_.offsets[:-1]], known[:, self.tensors_.n_onehot:] * active], dim=-1)
        noise = torch.randn(len(rows), self.latent_, generator=generator).to(device)
        return net(x, known, counts, noise).mean()

    # ------------------------------------------------------------------ using the model
    def _counts(self, x: np.ndarray, known: np.ndarray, data: Encoded) -> torch.Tensor:
        """(N, D + C): discrete variables that are known, normal scores that are known and active."""
        discrete = known[:, self.tensors_.offsets[:-1]]
        return torch.from_numpy(np.concatenate([discrete, ~np.isnan(data.values)], axis=1).astype(np.float32))

    @torch.no_grad()
    def _weighted_proposals(self, x, known, counts, k: int, generator,
                            shared: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """K proposals z ~ q(z | x_o) per row and their log importance weights: (K, N, L), (K, N).
        `shared` (K, 1, L): the same K standard normal draws for every row instead of fresh ones."""
        x, known = torch.from_numpy(x), torch.from_numpy(known.astype(np.float32))
        mean, factor = self.net_.encode(x, known)                                        # (N, L), (N, L, L)
        noise = torch.randn((k, *mean.shape), generator=generator) if shared is None else \
            shared.expand(k, *mean.shape)                                                 # (K, N, L)
        z = mean + torch.einsum("nij,knj->kni", factor, noise)
        log_q = -0.5 * (noise.square() + LOG_2PI).sum(-1) - factor.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        log_prior = -0.5 * (z.square() + LOG_2PI).sum(-1)
        flat = z.reshape(-1, z.shape[-1])
        x_k, counts_k = x.repeat(k, 1), counts.repeat(k, 1)
        log_likelihood = torch.cat([self.net_.log_likelihood(flat[i:i + CHUNK], x_k[i:i + CHUNK], counts_k[i:i + CHUNK])
                                    for i in range(0, len(flat), CHUNK)]).reshape(k, -1)
        return z, log_likelihood + log_prior - log_q

    def _log_prob(self, data: Encoded) -> np.ndarray:
        x, known = self.tensors_.encode(data)
        # every row gets the same K draws of the proposal's noise (common random numbers): a row's
        # estimate depends on the row alone, not on its neighbours in the batch or its position
        shared = torch.randn((self.proposals, 1, self.latent_), generator=torch.Generator().manual_seed(LOG_PROB_SEED))
        total = np.empty(len(data))
        step = max(1, CHUNK // self.proposals)
        for i in range(0, len(data), step):   # rows in chunks, so K x rows stays in memory
            rows = data.take(slice(i, i + step))
            _, log_weights = self._weighted_proposals(x[i:i + step], known[i:i + step],
                                                      self._counts(x[i:i + step], known[i:i + step], rows),
                                                      self.proposals, None, shared)
            total[i:i + step] = (torch.logsumexp(log_weights.double(), dim=0) - math.log(self.proposals)).numpy()
        values = np.where(self.layout_.value_active(data.codes), data.values, np.nan)
        return total + self.tensors_.log_jacobian(values)

    def _sample(self, n: int, rng) -> Encoded:
        generator = torch.Generator().manual_seed(torch_seed(rng))
        z = torch.randn((n, self.latent_), generator=generator)
        unknown = self.layout_.unknown(n)
        return self._draw(z, unknown, self.layout_.evidence(unknown, allow_missing=True), rng)

    def _impute(self, data: Encoded, rng) -> Encoded:
        generator = torch.Generator().manual_seed(torch_seed(rng))
        x, known = self.tensors_.encode(data)
        z, log_weights = self._weighted_proposals(x, known, self._counts(x, known, data), self.impute_proposals,
                                                  generator)
        pick = draw_categorical(torch.softmax(log_weights.double(), dim=0).T.numpy(), rng)   # (N,)
        chosen = z[torch.from_numpy(pick), torch.arange(len(data))]                            # (N, L)
        return self._draw(chosen, data, self.layout_.evidence(data), rng)

    @torch.no_grad()
    def _draw(self, z: torch.Tensor, data: Encoded, allowed: list[np.ndarray], rng) -> Encoded:
        """Decode z (N, L) and draw the unknown cells of `data`: codes within `allowed`, then active values."""
        log_probs, mean, log_variance = (t.numpy().astype(float) for t in self.net_.decode(z))
        codes, values = data.codes.copy(), data.values.copy()
        unknown_values = self.layout_.value_unknown(data)
        for j, cardinality in enumerate(self.tensors_.cardinalities):
            rows = np.flatnonzero(codes[:, j] < 0)
            if rows.size:
                codes[rows, j] = draw_categorical(np.exp(log_probs[rows, j, :cardinality]) * allowed[j][rows], rng)
        active = self.layout_.value_active(codes)
        scores = np.clip(mean + np.exp(0.5 * log_variance) * rng.standard_normal(mean.shape), -Z_CLIP, Z_CLIP)
        drawn = self.tensors_.from_normal(scores)                                     # (N, C)
        fill = unknown_values & active
        values[fill] = drawn[fill]
        values[~active] = np.nan
        return Encoded(codes, values)

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        arrays = {**self.tensors_.state(), **state_to_numpy(self.net_)}
        return {"latent": self.latent_, "epochs_trained": self.epochs_trained_}, arrays

    def _set_state(self, state, arrays):
        self.tensors_ = TableTensors.from_state(self.layout_, arrays)
        self.latent_, self.epochs_trained_ = int(state["latent"]), int(state["epochs_trained"])
        self.net_ = rebuild(self._network, arrays)

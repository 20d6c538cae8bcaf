"""gan: a conditional Wasserstein GAN for mixed tables, in the spirit of CTGAN (Xu et al., 2019).

Rows as vectors. `neural.TableTensors` turns a row into x = [one-hot blocks | normal scores]: each
discrete variable (a category, a boolean, the state of a numeric column: VALUE, a point mass such
as 0, MISSING) is a one-hot block, and each continuous value a normal score z = Φ⁻¹(F(x)) through
its own quantile marginal F (0 where the row's state is not VALUE). This per-column quantile-normal
transform plays the role of CTGAN's mode-specific normalisation (a per-column Gaussian mixture,
each value written as a mode one-hot plus a scalar within that mode). It handles multi-modal
numbers without choosing a number of modes: F is steep inside each mode and flat in the gaps
between modes, and z = Φ⁻¹(F(x)) is exactly N(0, 1) whatever the column's shape. So the modes
become wide stretches of z, a gap shrinks to almost nothing, and the generator only has to output
one unimodal standard-normal score per column (plus the dependence between columns); F⁻¹ puts the
mass back into the modes. Point masses and missing cells are never numbers here, only states of
the column's discrete variable, so they are not smeared.

Players. The generator G(ε, c), with noise ε ~ N(0, I) and a condition c (below), outputs logits ℓ
for each discrete block and one unbounded score s for each continuous variable (no tanh). While
training, a block is the Gumbel-softmax relaxation softmax((log softmax(ℓ) + g) / τ) with
g ~ Gumbel(0, 1), so gradients flow through a nearly one-hot vector. The score is multiplied by
the block's probability of VALUE, so it vanishes where the state is a point mass or missing, as it
does in real rows. The critic D(x, c) is a real-valued MLP.

Conditional vector (training-by-sampling). For each generated row, pick a discrete variable j
uniformly and one of its categories k with probability q_j(k) ∝ log(1 + n_jk), counted over the
training rows. A 5% category is then drawn far more often than 5% of the time, so G learns it. The
critic's real row is a row of the same minibatch with x_j = k (k is drawn among the categories
present in the batch). c = onehot(j, k) goes to both G and D, and a cross-entropy term makes G
honour it.

Objective: WGAN-GP (Gulrajani et al., 2017) with λ = `penalty` = 10:

    W(G, D) = E_{(j,k)~q} [ E_{x~P(x | x_j = k)} D(x, c) − E_{ε~N(0,I)} D(G(ε, c), c) ]
    min_G max_D  W(G, D)
    L_D = −W + λ E[(‖∇_x̂ D(x̂, c)‖₂ − 1)²],    x̂ = u x + (1 − u) G(ε, c),  u ~ U(0, 1)
    L_G =  W + E[−log softmax(ℓ_j(ε, c))_k]          (the condition's cross-entropy)

Why WGAN-GP and not the non-saturating loss. W is linear in D, so the game becomes one scalar to
descend. Fake rows reach the critic through a gradient-reversal identity r = 2·sg(x̃) − x̃ (the
value of x̃, the gradient times −1). Then L = E D(r, c) − E D(x, c) + λ·GP(sg(x̃)) + CE gives D
exactly ∇L_D and G exactly ∇L_G. The shared `neural.train` loop (one optimiser) therefore plays the
game as simultaneous gradient descent. The non-saturating loss −log σ(D(x̃)) for G is not the
negative of D's loss, so it would need two objectives and two optimisers. The gradient penalty
also keeps D near 1-Lipschitz, which keeps its gradients informative even when real one-hots and
relaxed fake ones are trivially separable. This support mismatch makes a Jensen-Shannon loss
saturate, and it is why CTGAN uses the same penalty.

What the training loop watches. The value of the adversarial loss says little about quality (the
critic changes all the time), so the loss handed to `train` is L − sg(L) + E. It has the game's
gradient, but its value is the energy distance

    E = 2 E‖x − y‖ − E‖x − x'‖ − E‖y − y'‖    (x real, y generated with hard one-hots)

computed on the held-out rows, with conditions taken from those rows. Early stopping and the
best epoch the loop keeps thus follow the distance of generated rows to unseen ones. (A table
too small to hold rows out is passed over several times per epoch, to make 16 minibatches,
and monitored on them.)

Sampling. Conditions are drawn from the empirical frequencies (j uniform, k ~ n_jk / N), ε from
N(0, I), each block from softmax(ℓ) (Gumbel-max), and the conditioned variable is set to k. Scores
are clamped to ±5 and mapped back x = F⁻¹(Φ(z)), and a value is kept only where the state is VALUE.

Capabilities. G defines P_model only implicitly, as the push-forward of noise, without a density
(log_prob_kind = "none"). Imputation is not offered (impute_kind = "none"): G conditions on one
category at a time, the condition it was trained with, not on arbitrary observed cells. Rejection
sampling against other evidence would accept almost nothing once a number is observed. Models
whose impute is exact or approximate (see `plausible.models()`) condition properly.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.layout import Encoded
from ..neural import Z_CLIP, TableTensors, fit_network, mlp, rebuild, state_to_numpy, torch_seed, training_params

SMALL_TABLE_BATCHES = 16   # an epoch has at least this many minibatches (small tables are repeated)
MONITOR_ROWS = 2048   # held-out rows the energy distance is computed on, at most
SAMPLE_CHUNK = 65536  # rows generated at a time when sampling


def _gumbel(shape, generator: torch.Generator, device) -> torch.Tensor:
    """Standard Gumbel noise −log(−log U), drawn with a CPU generator so that it runs on any device."""
    u = torch.rand(shape, generator=generator).clamp_(min=1e-12)
    return (-torch.log(-torch.log(u))).to(device)


def _draw(weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One column per row of (B, K) non-negative weights (Gumbel-max): (B,) indices."""
    return (weights.log() + _gumbel(weights.shape, generator, weights.device)).argmax(1)


def energy_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """2 E‖a − b‖ − E‖a − a'‖ − E‖b − b'‖ between two sets of rows (≥ 0; 0 only for equal distributions)."""
    return 2 * torch.cdist(a, b).mean() - torch.cdist(a, a).mean() - torch.cdist(b, b).mean()


class ConditionalGAN(nn.Module):
    """Generator and critic in one module (what `neural.train` optimises), with the table's block structure."""

    def __init__(self, cardinalities: list[int], value_columns: list[int], counts: np.ndarray,
                 noise: int, hidden: int, layers: int):
        super().__init__()
        offsets = np.concatenate([[0], np.cumsum(cardinalities)]).astype(int)
        self.blocks = [slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]
        self.n_onehot, self.noise = int(offsets[-1]), noise
        width = self.n_onehot + len(value_columns)
        self.generator = mlp(noise + self.n_onehot, width, hidden, layers)
        self.critic = mlp(width + self.n_onehot, 1, hidden, layers)
        # structure, rebuilt from the layout and the counts (not part of the saved weights)
        block_mask = torch.zeros(len(cardinalities), self.n_onehot)                 # (D, K)
        for j, block in enumerate(self.blocks):
            block_mask[j, block] = 1.0
        counts = torch.as_tensor(counts, dtype=torch.float32)                       # (K,) n_jk
        totals = block_mask.T @ (block_mask @ counts)                               # (K,) N per block
        self.register_buffer("block_mask", block_mask, persistent=False)
        self.register_buffer("frequency", counts / totals.clamp(min=1), persistent=False)
        self.register_buffer("log_frequency", torch.log1p(counts), persistent=False)  # training-by-sampling
        self.register_buffer("conditionable", torch.tensor([j for j, k in enumerate(cardinalities) if k >= 2],
                                                           dtype=torch.long), persistent=False)
        # per continuous variable, the one-hot column of its VALUE state; -1 (no state) picks the
        # column of ones appended in `generate`
        self.register_buffer("value_column", torch.tensor(value_columns, dtype=torch.long), persistent=False)

    def block_log_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.blocks:
            return logits
        return torch.cat([F.log_softmax(logits[:, block], dim=1) for block in self.blocks], dim=1)

    def conditions(self, n: int, weights: torch.Tensor, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Per row a conditionable variable j (uniform) and a one-hot column k ∝ weights within j: (n,), (n,)."""
        pick = torch.randint(len(self.conditionable), (n,), generator=generator).to(weights.device)
        variable = self.conditionable[pick]                                         # (n,)
        return variable, _draw(self.block_mask[variable] * weights, generator)      # (n,), (n,)

    def generate(self, cond: torch.Tensor, generator, temperature: float | None = None):
        """(B, W) rows from G given (B, K) conditions, and the per-block log-probabilities (B, K).

        `temperature`: relaxed Gumbel-softmax blocks (training); None: a hard draw from each block.
        """
        noise = torch.randn(len(cond), self.noise, generator=generator).to(cond.device)    # (B, E)
        out = self.generator(torch.cat([noise, cond], dim=1))                             # (B, W)
        log_probs = self.block_log_softmax(out[:, :self.n_onehot])                        # (B, K)
        perturbed = log_probs + _gumbel(log_probs.shape, generator, cond.device)
        if temperature is not None:
            onehot = self.block_log_softmax(perturbed / temperature).exp()
        elif self.blocks:
            onehot = torch.cat([F.one_hot(perturbed[:, b].argmax(1), b.stop - b.start) for b in self.blocks],
                               dim=1).to(out.dtype)
        else:
            onehot = perturbed
        gate = torch.cat([onehot, onehot.new_ones(len(onehot), 1)], dim=1)[:, self.value_column]  # (B, C)
        return torch.cat([onehot, out[:, self.n_onehot:] * gate], dim=1), log_probs

    def critique(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.critic(torch.cat([x, cond], dim=1)).squeeze(1)                        # (B,)


@register
class GAN(Model):
    name = "gan"
    family = "adversarial"
    complexity = 70
    description = "conditional Wasserstein GAN (CTGAN-style training-by-sampling) on quantile-normal scores"
    log_prob_kind = "none"
    impute_kind = "none"
    unsupported_reasons = {
        "log_prob": "a GAN's generator defines its distribution only as a push-forward of noise, without a density",
        "impute": ("the generator conditions on one category at a time (how it was trained), not on arbitrary "
                   "observed cells, and rejection sampling would accept almost nothing once a number is known"),
    }
    params = {
        **training_params(epochs=300, batch_size=500, learning_rate=2e-4, patience=50, help={
            "learning_rate": "AdamW step size (generator and critic alike)",
            "patience": "epochs without a smaller held-out energy distance before stopping"}),
        "hidden": Param(256, int, "width of the hidden layers of generator and critic", low=1, high=65_536),
        "layers": Param(2, int, "hidden layers of generator and critic", low=1, high=64),
        "noise": Param(128, int, "dimension of the generator's noise ε", low=1, high=65_536),
        "temperature": Param(0.2, float, "Gumbel-softmax temperature τ of the blocks while training", low=1e-3,
                             high=10.0),
        "penalty": Param(10.0, float, "gradient-penalty weight λ of WGAN-GP", low=0.0),
    }
    test_params = {"epochs": 30, "batch_size": 100, "hidden": 32, "noise": 16, "learning_rate": 1e-3}

    # ------------------------------------------------------------------ training
    def _fit(self, data: Encoded, rng) -> None:
        self.tensors_ = TableTensors.fit(self.layout_, data)
        x, _ = self.tensors_.encode(data)                                           # (N, W)
        self.counts_ = x[:, :self.tensors_.n_onehot].sum(axis=0).astype(np.float64)  # (K,) n_jk
        # a small table (fewer than SMALL_TABLE_BATCHES minibatches) gives the game one or two steps per
        # epoch: 50 epochs of patience were then 50 steps, and on breast_cancer (398 rows) training stopped
        # before the generator had learned anything (detection AUC 1.0). Such a table is passed over
        # several times per epoch to make SMALL_TABLE_BATCHES minibatches, monitored on the training rows
        # (too few to hold out)
        n, batch = len(x), min(self.batch_size, len(x))
        small = n < SMALL_TABLE_BATCHES * batch
        self.net_, self.history_ = fit_network(self, lambda: self._network(at_the_marginals=True), self._loss,
                                               torch.from_numpy(x), rng, "gan", batch_size=batch,
                                               validation=0.0 if small else 0.1, min_batches=SMALL_TABLE_BATCHES)
        self.epochs_trained_ = len(self.history_)

    def _network(self, at_the_marginals: bool = False) -> ConditionalGAN:
        """Generator and critic for this layout. `at_the_marginals`: G's blocks start at the training
        frequencies (a 0.1-scaled last layer, the log-frequencies as its bias), so a short training run
        already draws every column's marginal and the game adds the rest."""
        offsets = self.tensors_.offsets
        value_columns = [int(offsets[v.state]) + self.layout_.discrete[v.state].value_code
                         if v.state >= 0 and self.layout_.discrete[v.state].value_code >= 0 else -1
                         for v in self.layout_.continuous]
        game = ConditionalGAN(self.tensors_.cardinalities, value_columns, self.counts_, self.noise,
                              self.hidden, self.layers)
        if at_the_marginals:
            last = game.generator[-1]
            with torch.no_grad():
                last.weight.mul_(0.1)
                last.bias.zero_()
                last.bias[:game.n_onehot] = torch.log(game.frequency.clamp(min=1e-6))
        return game

    def _loss(self, game: ConditionalGAN, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The game's gradient (see the module docstring); its value is the energy distance."""
        training = torch.is_grad_enabled()
        if not training:
            batch = batch[:MONITOR_ROWS]
        n, onehot = len(batch), batch[:, :game.n_onehot]                            # (B, K)
        cond, rows, column = batch.new_zeros(n, game.n_onehot), torch.arange(n, device=batch.device), None
        if len(game.conditionable):
            if training:   # training-by-sampling: k ∝ log(1 + n_jk) among the batch's categories
                present = (onehot.sum(0) > 0).to(batch.dtype)
                _, column = game.conditions(n, game.log_frequency * present, generator)
                rows = _draw(onehot[:, column].T, generator)                        # a real row with x_j = k
            else:          # held-out rows keep their own category of a random variable
                variable, _ = game.conditions(n, torch.ones_like(game.frequency), generator)
                column = (onehot * game.block_mask[variable]).argmax(1)
            cond = F.one_hot(column, game.n_onehot).to(batch.dtype)
        real = batch[rows]                                                          # (B, W)
        fake, log_probs = game.generate(cond, generator, self.temperature if training else None)
        if not training:
            return energy_distance(real, fake)
        reversed_fake = 2 * fake.detach() - fake      # value x̃, gradient −1: G ascends what D descends
        objective = game.critique(reversed_fake, cond).mean() - game.critique(real, cond).mean()
        u = torch.rand(n, 1, generator=generator).to(batch.device)
        mixed = (u * real + (1 - u) * fake.detach()).requires_grad_(True)            # x̂
        slope, = torch.autograd.grad(game.critique(mixed, cond).sum(), mixed, create_graph=True)
        objective = objective + self.penalty * ((slope.norm(dim=1) - 1) ** 2).mean()
        if column is not None:
            objective = objective - log_probs.gather(1, column[:, None]).mean()     # honour the condition
        return objective - objective.detach() + energy_distance(real, fake.detach())

    # ------------------------------------------------------------------ sampling
    def _sample(self, n: int, rng) -> Encoded:
        game, generator = self.net_, torch.Generator().manual_seed(torch_seed(rng))
        rows = []
        with torch.no_grad():
            for begin in range(0, n, SAMPLE_CHUNK):
                size = min(SAMPLE_CHUNK, n - begin)
                cond = torch.zeros(size, game.n_onehot)
                if len(game.conditionable):
                    variable, column = game.conditions(size, game.frequency, generator)
                    cond = F.one_hot(column, game.n_onehot).float()
                fake, _ = game.generate(cond, generator)
                if len(game.conditionable):   # the conditioned variable keeps its drawn category
                    inside = game.block_mask[variable].bool()
                    fake[:, :game.n_onehot] = torch.where(inside, cond, fake[:, :game.n_onehot])
                rows.append(fake.double().numpy())
        x = np.concatenate(rows)                                                    # (n, W)
        codes = np.stack([x[:, block].argmax(1) for block in game.blocks], axis=1) if game.blocks \
            else np.zeros((n, 0), np.int64)
        z = np.clip(x[:, game.n_onehot:], -Z_CLIP, Z_CLIP)
        z[~self.layout_.value_active(codes)] = np.nan
        return Encoded(codes.astype(np.int64), self.tensors_.from_normal(z))

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        arrays = {**self.tensors_.state(), "counts": self.counts_, **state_to_numpy(self.net_)}
        return {"epochs_trained": self.epochs_trained_}, arrays

    def _set_state(self, state, arrays):
        self.tensors_ = TableTensors.from_state(self.layout_, arrays)
        self.counts_ = np.asarray(arrays["counts"], dtype=np.float64)
        self.epochs_trained_ = int(state["epochs_trained"])
        self.net_ = rebuild(self._network, arrays)

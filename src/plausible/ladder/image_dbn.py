"""dbn: a deep belief net on binarized pixels, a greedy stack of RBMs (Hinton, Osindero & Teh 2006).

Images only. Pixels become bits and levels within each bit's half exactly as in the image `rbm`
(`plausible.ladder.image_rbm`: on when intensity >= 1/2; P(image) = P(bits) x prod_d q_d(level_d |
bit_d)); the dbn replaces the RBM's P(bits).

The model. `layers` = (H_1, ..., H_L) hidden sizes, h_0 = v the bits. The top two layers
(h_L-1, h_L) form an RBM (undirected); below it every layer is generated from the one above by
sigmoid belief-net links P(h_k-1 = 1 | h_k) = sigmoid(b_k + W_k h_k), so

    P(v, h_1, ..., h_L) = prod_{k=1}^{L-1} P(h_k-1 | h_k) x P_RBM_L(h_L-1, h_L).

With one layer it is an RBM. Training is greedy: RBM 1 is fitted to the bits (PCD, as in the
image rbm), RBM 2 to the hidden probabilities Q(h_1 = 1 | v) = sigmoid(c_1 + v W_1) of the training
images (probabilities, not sampled bits, as data: Hinton 2010, section 3.3), and so on; RBM k's W_k
and visible biases b_k become the generative links, its W_k and hidden biases c_k the recognition
weights Q(h_k | h_k-1). No up-down fine-tuning (the wake-sleep pass of the 2006 paper).

Sampling: `gibbs_steps` Gibbs sweeps in the top RBM from its base-rate model, then one down pass
through the sigmoid links to the bits, then the levels from q.

log_prob: an estimate (Salakhutdinov & Murray 2008, section 4). With the recognition distribution
Q(h | v) = prod_k Q(h_k | h_k-1) as proposal and S = `bound_samples` draws h^s ~ Q,

    log P(v) >= E log (1/S) sum_s P*(v, h^s_1..h^s_L-1) / Q(h^s | v) - log Z_L,

P* the joint above with the top RBM's h_L summed out in closed form (its free energy); the bound
tightens as S grows (importance weighting) and is exact for one layer. log Z_L, the top RBM's
partition function, comes from annealed importance sampling (`ais_steps`, `ais_runs`), once at fit.
So the number is a stochastic lower bound on log P up to the AIS error in log Z (which on average
errs the other way, by little with enough temperatures): declared "estimate". The draws use a
fixed seed, so the same images give the same numbers.

impute (approximate: a Markov chain): Gibbs sampling in the whole generative model with the known
bits clamped, so the chain targets P(unknown bits | known bits) of the dbn itself. Unknown bits
start from the pixels' base rates and the hidden layers from one up pass with Q; each of
`impute_steps` sweeps draws the unknown bits given h_1 (independent), each middle layer h_k one unit
at a time given its parent h_k+1 and its child h_k-1 (a sigmoid belief layer's units are coupled
by explaining away, so no block update), and the top layer h_L given h_L-1. Up-down passes (an up
pass with Q, a top Gibbs sweep, a down pass, the known bits put back) were tried first and
rejected: Q is not the posterior, and on two-mode images the chain drifted to the wrong mode half
the time (tests/test_image_rbm.py). Cost: sum_k H_k x H_k-1 per image per sweep, in a Python loop
over the middle layers' units.
"""
from __future__ import annotations

import time

import numpy as np

from ..core.errors import ParameterError
from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels
from .image_rbm import (Machine, PixelHalves, ais_log_partition, base_rates, bernoulli, rbm_params,
                        sigmoid, softplus, train_machine)

LOG_PROB_SEED = 0


class LayerSizes(Param):
    """A tuple of hidden-layer sizes: (64, 32), [64, 32], 64, or "64,32" on the command line."""

    def validate(self, name: str, value):
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            value = (value,)
        if isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, tuple) or not value or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in value):
            raise ParameterError(f"parameter {name!r} must be hidden-layer sizes from the bottom up, whole numbers "
                                 f">= 1 such as (64, 32), got {value!r}")
        return tuple(int(s) for s in value)

    def parse(self, name: str, text: str):
        try:
            sizes = tuple(int(part) for part in text.strip("()[] ").split(",") if part.strip())
        except ValueError:
            raise ParameterError(f"parameter {name!r} must be sizes separated by commas such as 64,32, got "
                                 f"{text!r}") from None
        return self.validate(name, sizes)


def log_bernoulli(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """(N,) log P(x) of binary x under independent Bernoullis with these logits."""
    return (x * logits - softplus(logits)).sum(-1)


@register
class DBNImages(Model):
    name = "dbn"
    family = "classical"
    complexity = 55
    data_kind = "image"
    pixel_space = "levels"
    description = ("deep belief net: a greedy stack of RBMs on binarized pixels, Gibbs at the top then a down "
                   "pass; log-likelihood by AIS on the top RBM plus an importance-weighted bound")
    log_prob_kind = "estimate"
    impute_kind = "approximate"
    params = {
        "layers": LayerSizes((100, 100), tuple, "hidden units per layer, bottom up (the top two layers form an RBM)"),
        **rbm_params(epochs=200),
        "bound_samples": Param(20, int, "draws from the recognition weights per image in log_prob's bound", low=1),
        "impute_steps": Param(200, int, "Gibbs sweeps of impute through the whole net (the middle layers unit by "
                                        "unit: far dearer per sweep than sample's top-layer sweeps)", low=1),
    }
    test_params = {"layers": (8, 6), "epochs": 5, "gibbs_steps": 20, "ais_steps": 100, "ais_runs": 16,
                   "bound_samples": 4, "impute_steps": 20}

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Pixels, rng) -> None:
        self.n_cells_ = data.n_levels or self.bins
        cells = data.cells(self.n_cells_)
        self.halves_ = PixelHalves.fit(cells, self.n_cells_, self.alpha)
        start = time.monotonic()
        layer_data = self.halves_.bits(cells)
        self.machines_, self.epochs_trained_, self.bases_ = [], [], []
        for index, size in enumerate(self.layers):
            deadline = None if self.time_budget is None else start + self.time_budget * (index + 1) / len(self.layers)
            self.bases_.append(base_rates(layer_data))
            machine, epochs = train_machine(layer_data, size, self.epochs, self.batch_size, self.learning_rate,
                                            self.cd_steps, self.persistent, rng, deadline)
            self.machines_.append(machine)
            self.epochs_trained_.append(epochs)
            layer_data = machine.hidden_probs(layer_data.astype(np.float32))
        self.log_z_, self.log_z_error_ = ais_log_partition(self.machines_[-1], self.bases_[-1], self.ais_steps,
                                                           self.ais_runs, rng)

    # ------------------------------------------------------------------ using the model
    def _log_prob(self, data: Pixels) -> np.ndarray:
        cells = data.cells(self.n_cells_)
        bits = self.halves_.bits(cells)
        rng = np.random.default_rng(LOG_PROB_SEED)
        draws = []
        for _ in range(self.bound_samples):
            below, log_ratio = bits, np.zeros(len(bits))
            for machine in self.machines_[:-1]:           # h_k ~ Q(h_k | h_k-1); add log P(h_k-1 | h_k) - log Q
                up_logits = (below @ machine.weight + machine.hidden).astype(np.float64)
                above = bernoulli(sigmoid(up_logits), rng)
                down_logits = above @ machine.weight.T.astype(np.float64) + machine.visible
                log_ratio += log_bernoulli(below, down_logits) - log_bernoulli(above, up_logits)
                below = above
            draws.append(log_ratio + self.machines_[-1].neg_free_energy(below))
        log_bits = np.logaddexp.reduce(np.stack(draws), axis=0) - np.log(self.bound_samples) - self.log_z_
        return log_bits + self.halves_.log_prob(cells, density=data.n_levels is None)

    def _down(self, top_visible: np.ndarray, rng) -> np.ndarray:
        """Bits drawn from the sigmoid links below the top RBM, given its visible layer h_L-1."""
        below = top_visible
        for machine in reversed(self.machines_[:-1]):
            below = bernoulli(machine.visible_probs(below), rng)
        return below

    def _sample(self, n: int, rng) -> Pixels:
        top = self.machines_[-1]
        start = bernoulli(np.broadcast_to(sigmoid(self.bases_[-1]), (n, len(self.bases_[-1]))).astype(np.float32), rng)
        bits = self._down(top.gibbs(start, self.gibbs_steps, rng), rng)
        return self.halves_.as_pixels(bits, self.codec_, rng, binary=self.render == "binary")

    def _impute(self, data: Pixels, rng) -> Pixels:
        given = self.halves_.bits(data.cells(self.n_cells_))
        known = ~np.isnan(given)
        clamped = np.nan_to_num(given).astype(np.float32)
        start = bernoulli(np.broadcast_to(sigmoid(self.bases_[0]), given.shape).astype(np.float32), rng)
        layers = [np.where(known, clamped, start)]                  # h_0 = v, then an up pass with Q
        for machine in self.machines_:
            layers.append(bernoulli(machine.hidden_probs(layers[-1]), rng))
        for _ in range(self.impute_steps):
            first = self.machines_[0]
            layers[0] = np.where(known, clamped, bernoulli(first.visible_probs(layers[1]), rng))
            for k in range(1, len(self.machines_)):
                self._gibbs_layer(layers, k, rng)
            top = self.machines_[-1]
            layers[-1] = bernoulli(top.hidden_probs(layers[-2]), rng)
        bits = np.where(known, clamped, bernoulli(self.machines_[0].visible_probs(layers[1]), rng))
        drawn = self.halves_.as_pixels(bits, self.codec_, rng, binary=self.render == "binary")
        return data.completed_by(drawn)

    def _gibbs_layer(self, layers: list, k: int, rng) -> None:
        """One Gibbs sweep over the units of h_k (0 < k < L), one unit at a time: its parent h_k+1
        gives it independent logits, its child h_k-1 depends on all of h_k (explaining away).

        Unit j's log-odds are prior_j + h_k-1 . W_j - sum_i [softplus(off_i + W_ij) - softplus(off_i)],
        off = the child's logits with h_kj = 0. The sum is taken as the log of a product of ratios
        (1 + e^off_i e^W_ij) / (1 + e^off_i) with e^logits kept up to date by multiplying, so each unit
        costs a few array products and one log per image instead of two logaddexps over the whole
        child layer (the same draws to rounding; logaddexp where the exponents could overflow)."""
        parent, child = self.machines_[k], self.machines_[k - 1]
        weight = child.weight.astype(np.float64)                                   # (H_k-1, H_k)
        below = layers[k - 1].astype(np.float64)
        units = layers[k].astype(np.float64)
        log_odds_known = layers[k + 1] @ parent.weight.T + parent.visible + below @ weight   # (N, H_k)
        child_logits = units @ weight.T + child.visible                            # (N, H_k-1)
        size = np.abs(weight)                  # bounds on |logits| (any h_k) and |log prod ratio| below
        if max(np.abs(child.visible).max() + size.sum(1).max() + size.max(), size.sum(0).max()) > 600:
            return self._gibbs_layer_logaddexp(layers, k, rng)
        exp_logits = np.exp(child_logits)
        gain, loss = np.exp(weight.T), np.exp(-weight.T)                           # (H_k, H_k-1)
        for j in range(units.shape[1]):
            on_now = units[:, j:j + 1] > 0
            exp_off = np.where(on_now, exp_logits * loss[j], exp_logits)
            exp_on = exp_off * gain[j]
            ratio = exp_on + 1.0
            ratio /= exp_off + 1.0
            log_odds = log_odds_known[:, j] - np.log(ratio.prod(-1))
            drawn = rng.random(len(units), dtype=np.float32) < sigmoid(log_odds).astype(np.float32)
            units[:, j] = drawn
            exp_logits = np.where(drawn[:, None], exp_on, exp_off)
        layers[k] = units.astype(layers[k].dtype)

    def _gibbs_layer_logaddexp(self, layers: list, k: int, rng) -> None:
        """`_gibbs_layer` by logaddexp, for weights so large that e^logits would overflow."""
        parent, child = self.machines_[k], self.machines_[k - 1]
        prior = layers[k + 1] @ parent.weight.T + parent.visible                  # (N, H_k)
        below = layers[k - 1]
        child_logits = layers[k] @ child.weight.T + child.visible                  # (N, H_k-1)
        units = layers[k]
        for j in range(units.shape[1]):
            off = child_logits - units[:, j:j + 1] * child.weight[:, j]
            on = off + child.weight[:, j]
            log_odds = prior[:, j] + (below * child.weight[:, j] - softplus(on) + softplus(off)).sum(-1)
            units[:, j] = bernoulli(sigmoid(log_odds), rng)
            child_logits = off + units[:, j:j + 1] * child.weight[:, j]

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        arrays = {"log_q": self.halves_.log_q}
        for index, (machine, base) in enumerate(zip(self.machines_, self.bases_)):
            arrays.update(machine.arrays(f"layer{index}."))
            arrays[f"layer{index}.base"] = base
        state = {"n_cells": int(self.n_cells_), "log_z": self.log_z_, "log_z_error": self.log_z_error_,
                 "epochs_trained": [int(e) for e in self.epochs_trained_]}
        return state, arrays

    def _set_state(self, state, arrays):
        self.n_cells_ = int(state["n_cells"])
        self.log_z_, self.log_z_error_ = float(state["log_z"]), float(state["log_z_error"])
        self.epochs_trained_ = [int(e) for e in state["epochs_trained"]]
        self.halves_ = PixelHalves(np.asarray(arrays["log_q"], dtype=float))
        self.machines_ = [Machine.from_arrays(arrays, f"layer{i}.") for i in range(len(self.layers))]
        self.bases_ = [np.asarray(arrays[f"layer{i}.base"], dtype=float) for i in range(len(self.layers))]
        widths = [self.codec_.size, *self.layers]
        for i, machine in enumerate(self.machines_):
            if tuple(machine.weight.shape) != (widths[i], widths[i + 1]):
                raise ValueError(f"layer {i} has weights {tuple(machine.weight.shape)}, expected "
                                 f"{(widths[i], widths[i + 1])}")
        if self.halves_.log_q.shape != (self.codec_.size, self.n_cells_):
            raise ValueError(f"log_q has shape {self.halves_.log_q.shape}, expected {(self.codec_.size, self.n_cells_)}")

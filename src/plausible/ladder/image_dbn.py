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

impute (approximate): clamped up-down passes. Unknown bits start from the pixels' base rates;
each of `gibbs_steps` rounds samples an up pass with Q, one Gibbs sweep in the top RBM, and a
down pass to the bits, then puts the known bits back. With one layer this is clamped Gibbs in the
RBM; with more it is a heuristic chain (the recognition weights are not the exact posterior), not
a sampler proven to target P(unknown | known).
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch.nn.functional import softplus

from ..core.errors import ParameterError
from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels
from ..neural.blocks import select_device, torch_seed
from .image_rbm import (Machine, PixelHalves, ais_log_partition, base_rates, bernoulli, cells_of, merge, rbm_params,
                        train_machine)

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


def log_bernoulli(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
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
    }
    test_params = {"layers": (8, 6), "epochs": 5, "gibbs_steps": 20, "ais_steps": 100, "ais_runs": 16,
                   "bound_samples": 4}

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Pixels, rng) -> None:
        self.n_cells_ = data.n_levels or self.bins
        cells = cells_of(data, self.n_cells_)
        self.halves_ = PixelHalves.fit(cells, self.n_cells_, self.alpha)
        device = select_device(self.device)
        generator = torch.Generator(device=device).manual_seed(torch_seed(rng))
        start = time.monotonic()
        layer_data = torch.as_tensor(self.halves_.bits(cells), dtype=torch.float32, device=device)
        self.machines_, self.epochs_trained_, self.bases_ = [], [], []
        with torch.no_grad():
            for index, size in enumerate(self.layers):
                deadline = None if self.time_budget is None else \
                    start + self.time_budget * (index + 1) / len(self.layers)
                self.bases_.append(base_rates(layer_data.double().cpu().numpy()))
                machine, epochs = train_machine(layer_data, size, self.epochs, self.batch_size, self.learning_rate,
                                                self.cd_steps, self.persistent, generator, deadline)
                self.machines_.append(machine)
                self.epochs_trained_.append(epochs)
                layer_data = machine.hidden_probs(layer_data)
            top_base = torch.as_tensor(self.bases_[-1], dtype=torch.float32, device=device)
            self.log_z_, self.log_z_error_ = ais_log_partition(self.machines_[-1], top_base, self.ais_steps,
                                                               self.ais_runs, generator)

    # ------------------------------------------------------------------ using the model
    def _generator(self, rng) -> torch.Generator:
        return torch.Generator(device=self.machines_[0].weight.device).manual_seed(torch_seed(rng))

    def _log_prob(self, data: Pixels) -> np.ndarray:
        cells = cells_of(data, self.n_cells_)
        device = self.machines_[0].weight.device
        bits = torch.as_tensor(self.halves_.bits(cells), dtype=torch.float32, device=device)
        generator = self._generator(np.random.default_rng(LOG_PROB_SEED))
        with torch.no_grad():
            draws = []
            for _ in range(self.bound_samples):
                below, log_ratio = bits, torch.zeros(len(bits), device=device)
                for machine in self.machines_[:-1]:         # h_k ~ Q(h_k | h_k-1); add log P(h_k-1 | h_k) - log Q
                    up_logits = below @ machine.weight + machine.hidden
                    above = bernoulli(torch.sigmoid(up_logits), generator)
                    log_ratio += log_bernoulli(below, above @ machine.weight.T + machine.visible) \
                        - log_bernoulli(above, up_logits)
                    below = above
                draws.append(log_ratio + self.machines_[-1].neg_free_energy(below))
            log_bits = torch.logsumexp(torch.stack(draws).double(), 0) - np.log(self.bound_samples) - self.log_z_
        return log_bits.cpu().numpy() + self.halves_.log_prob(cells, density=data.n_levels is None)

    def _down(self, top_visible: torch.Tensor, generator) -> torch.Tensor:
        """Bits drawn from the sigmoid links below the top RBM, given its visible layer h_L-1."""
        below = top_visible
        for machine in reversed(self.machines_[:-1]):
            below = bernoulli(machine.visible_probs(below), generator)
        return below

    def _sample(self, n: int, rng) -> Pixels:
        generator = self._generator(rng)
        top = self.machines_[-1]
        with torch.no_grad():
            base = torch.as_tensor(self.bases_[-1], dtype=torch.float32, device=top.weight.device)
            start = bernoulli(torch.sigmoid(base).expand(n, -1).contiguous(), generator)
            bits = self._down(top.gibbs(start, self.gibbs_steps, generator), generator)
        return self.halves_.as_pixels(bits.cpu().numpy(), self.codec_, rng, binary=self.render == "binary")

    def _impute(self, data: Pixels, rng) -> Pixels:
        generator = self._generator(rng)
        device = self.machines_[0].weight.device
        given = self.halves_.bits(cells_of(data, self.n_cells_))
        known = torch.as_tensor(~np.isnan(given), device=device)
        clamped = torch.as_tensor(np.nan_to_num(given), dtype=torch.float32, device=device)
        with torch.no_grad():
            base = torch.sigmoid(torch.as_tensor(self.bases_[0], dtype=torch.float32, device=device))
            bits = torch.where(known, clamped, bernoulli(base.expand(len(given), -1).contiguous(), generator))
            for _ in range(self.gibbs_steps):
                below = bits
                for machine in self.machines_[:-1]:
                    below = bernoulli(machine.hidden_probs(below), generator)
                bits = torch.where(known, clamped, self._down(self.machines_[-1].gibbs(below, 1, generator), generator))
        drawn = self.halves_.as_pixels(bits.cpu().numpy(), self.codec_, rng, binary=self.render == "binary")
        return merge(data, drawn)

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
        device = select_device(self.device)
        self.machines_ = [Machine.from_arrays(arrays, f"layer{i}.", device) for i in range(len(self.layers))]
        self.bases_ = [np.asarray(arrays[f"layer{i}.base"], dtype=float) for i in range(len(self.layers))]
        widths = [self.codec_.size, *self.layers]
        for i, machine in enumerate(self.machines_):
            if tuple(machine.weight.shape) != (widths[i], widths[i + 1]):
                raise ValueError(f"layer {i} has weights {tuple(machine.weight.shape)}, expected "
                                 f"{(widths[i], widths[i + 1])}")
        if self.halves_.log_q.shape != (self.codec_.size, self.n_cells_):
            raise ValueError(f"log_q has shape {self.halves_.log_q.shape}, expected {(self.codec_.size, self.n_cells_)}")

"""rbm, on images: a restricted Boltzmann machine over binarized pixels (every channel a visible unit).

Bits. A pixel (of each channel) is on when its intensity is at least one half: for L levels,
level >= L // 2 (digits, L = 17: levels 8..16; uint8: 128..255); float images are first cut into
`bins` equal cells, cell >= bins // 2. The threshold is fixed (not resampled per epoch), so the bits
are a function of the image.

The machine. D binary visible units v (the bits) and H binary hidden units h, energy
E(v, h) = -b.v - c.h - v'W h, P(v, h) = exp(-E) / Z. Given v the hidden units are independent,
P(h_j = 1 | v) = sigmoid(c_j + v.W_j), and given h the visible ones, P(v_i = 1 | h) = sigmoid(b_i +
W_i.h). Summing h out gives the free energy -F(v) = b.v + sum_j softplus(c_j + v.W_j) and
P(v) = exp(-F(v)) / Z, with Z a sum over 2^D (or 2^H) states: it is estimated, never summed.

Training: persistent contrastive divergence (Tieleman 2008; `persistent=False` gives CD-k, Hinton
2002): the gradient of the mean log-likelihood is <v h'>_data - <v h'>_model, the second term read
from `batch_size` Gibbs chains that persist across updates (`cd_steps` sweeps per update), SGD with
momentum 0.5 then 0.9, L2 weight decay 2e-4 on W and a learning rate that decays linearly to zero
(Hinton 2010, "A practical guide to training RBMs"). The visible biases start at the log-odds of
each bit's frequency. NumPy in float32 (the matrices are small; no GPU, so no `device`), every draw
from the model's seeded generator. `time_budget` bounds the training epochs; AIS runs after it.
The hidden size is `hidden`, not the table rbm's `n_hidden`, which is capped at 20 (its 2^H hidden
states are summed outright) and would be checked against that cap by `pl.make("rbm", n_hidden=...)`.

log Z by annealed importance sampling (Neal 2001; Salakhutdinov & Murray 2008): `ais_runs` chains
start from the base-rate model P_0(v) = prod sigmoid(b0_i)^v_i (b0 the data log-odds, W = 0, whose
Z_0 = 2^H prod (1 + e^b0_i) is known), and move through P_k(v) proportional to
exp((1 - beta_k) b0.v + beta_k b.v) prod_j (1 + exp(beta_k (c_j + v.W_j))) for `ais_steps`
temperatures 0 = beta_0 < ... < beta_K = 1, each with one Gibbs sweep at beta_k; the importance
weight of a chain is prod_k P*_k(v_k-1) / P*_(k-1)(v_k-1), and Z = Z_0 x mean weight. The mean is
unbiased for Z, so log Z is underestimated on average (log_prob then overstated) by an amount that
shrinks with more steps; its standard error is `log_z_error_`. Done once at fit; log_prob is
deterministic. Declared "estimate".

Levels. An RBM draws bits; to be a distribution over the images the user fitted (and to score them
on the same scale as every other rung), each pixel's level given its bit is a Laplace-smoothed
categorical over the levels of that half, learned per pixel and channel:

    P(image) = P_RBM(bits(image)) x prod_d q_d(level_d | bit_d),

which sums to one over all level images (each bit pattern's mass is shared out among the level
images that binarize to it). log_prob is that, in nats: exact up to the AIS estimate of log Z; for
float images, a density (q_d / cell width, uniform within a cell). `sample` draws bits by Gibbs
(`gibbs_steps` sweeps from the base-rate model) and then the levels from q, so samples come from the
distribution log_prob scores; `render="binary"` instead gives the bit images themselves, as the two
extreme levels 0 and L - 1 (intensities 0 and 1), the classic picture of an RBM on binarized
pixels (log_prob is unchanged: it still scores levels). `impute`: Gibbs with the known pixels'
bits clamped (`gibbs_steps` sweeps), then the unknown levels from q given the drawn bits
(approximate: the chains may not have mixed).
"""
from __future__ import annotations

import time

import numpy as np
from scipy.special import expit

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels, count_cells
from ..neural.settings import training_params

WEIGHT_DECAY = 2e-4
MOMENTUM = (0.5, 0.9)                # before and after the first MOMENTUM_SWITCH epochs
MOMENTUM_SWITCH = 5


# ---------------------------------------------------------------------- bits and levels
class PixelHalves:
    """The bits of images and each pixel's levels within its half: log q_d(cell | bit) (D, n_cells)."""

    def __init__(self, log_q: np.ndarray):
        self.log_q = log_q
        self.n_cells = log_q.shape[1]
        self.threshold = self.n_cells // 2          # cell >= threshold: the pixel is on

    @classmethod
    def fit(cls, cells: np.ndarray, n_cells: int, alpha: float) -> "PixelHalves":
        counts = count_cells(cells, n_cells)
        counts += alpha
        half = n_cells // 2
        low = counts[:, :half] / counts[:, :half].sum(axis=1, keepdims=True)
        high = counts[:, half:] / counts[:, half:].sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):             # alpha = 0: unseen levels get -inf
            return cls(np.log(np.concatenate([low, high], axis=1)))

    def bits(self, cells: np.ndarray) -> np.ndarray:
        """(N, D) float 1 where on, 0 where off, NaN where unknown."""
        return np.where(cells < 0, np.nan, (cells >= self.threshold).astype(float))

    def log_prob(self, cells: np.ndarray, density: bool) -> np.ndarray:
        """(N,) sum over pixels of log q_d(cell_d | bit_d) (a density on [0, 1] for float cells)."""
        logs = self.log_q[np.arange(cells.shape[1]), cells].sum(axis=1)
        return logs + cells.shape[1] * np.log(self.n_cells) if density else logs

    def draw(self, bits: np.ndarray, rng) -> np.ndarray:
        """(N, D) cells drawn from q given the bits (inverse CDF within each pixel's half)."""
        probs = np.exp(self.log_q)
        cells = np.empty(bits.shape, dtype=np.int64)
        for on, (start, stop) in ((0, (0, self.threshold)), (1, (self.threshold, self.n_cells))):
            rows, cols = np.nonzero(bits == on)
            cumulative = np.cumsum(probs[:, start:stop], axis=1)[cols]
            u = rng.random((len(cols), 1)) * cumulative[:, -1:]
            cells[rows, cols] = start + np.minimum((u > cumulative).sum(axis=1), stop - start - 1)
        return cells

    def as_pixels(self, bits: np.ndarray, codec, rng, binary: bool) -> Pixels:
        """Complete Pixels for drawn bits: the extreme levels (binary), or levels drawn from q."""
        if binary:
            if codec.n_levels is None:
                return Pixels.from_values(bits.astype(float), codec)
            return Pixels.from_levels(bits.astype(np.int64) * (codec.n_levels - 1), codec)
        return Pixels.from_cells(self.draw(bits, rng), codec, self.n_cells, rng)


# ---------------------------------------------------------------------- the machine
def sigmoid(x: np.ndarray) -> np.ndarray:
    return expit(x)


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def bernoulli(probs: np.ndarray, rng) -> np.ndarray:
    """0/1 draws (of probs' dtype) with these probabilities."""
    return (rng.random(probs.shape, dtype=np.float32) < probs).astype(probs.dtype)


class Machine:
    """One RBM's weights W (V, H), visible biases b (V,), hidden biases c (H,)."""

    def __init__(self, weight: np.ndarray, visible: np.ndarray, hidden: np.ndarray):
        self.weight, self.visible, self.hidden = weight, visible, hidden

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str) -> "Machine":
        return cls(*(np.asarray(arrays[prefix + key], dtype=np.float32) for key in ("weight", "visible", "hidden")))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {prefix + key: getattr(self, key) for key in ("weight", "visible", "hidden")}

    def hidden_probs(self, v: np.ndarray) -> np.ndarray:
        return sigmoid(v @ self.weight + self.hidden)

    def visible_probs(self, h: np.ndarray) -> np.ndarray:
        return sigmoid(h @ self.weight.T + self.visible)

    def neg_free_energy(self, v: np.ndarray) -> np.ndarray:
        """-F(v) (N,) = b.v + sum_j softplus(c_j + v.W_j) in float64: log P(v) + log Z."""
        v, weight = v.astype(np.float64), self.weight.astype(np.float64)
        return v @ self.visible + softplus(v @ weight + self.hidden).sum(-1)

    def gibbs(self, v: np.ndarray, steps: int, rng, clamp: np.ndarray | None = None) -> np.ndarray:
        """`steps` block-Gibbs sweeps v -> h -> v; where `clamp` (N, V) is True, v keeps its value."""
        keep = v
        for _ in range(steps):
            v = bernoulli(self.visible_probs(bernoulli(self.hidden_probs(v), rng)), rng)
            if clamp is not None:
                v = np.where(clamp, keep, v)
        return v


def train_machine(data: np.ndarray, n_hidden: int, epochs: int, batch_size: int, learning_rate: float,
                  cd_steps: int, persistent: bool, rng, deadline: float | None) -> tuple[Machine, int]:
    """An RBM fitted to rows `data` (N, V) of bits (or probabilities) by PCD (or CD-k); (machine, epochs run)."""
    data = data.astype(np.float32)
    n, width = data.shape
    mean = np.clip(data.mean(0), 1e-3, 1 - 1e-3)
    machine = Machine((0.01 * rng.standard_normal((width, n_hidden))).astype(np.float32),
                      np.log(mean / (1 - mean)).astype(np.float32), np.zeros(n_hidden, np.float32))
    velocity = [np.zeros_like(p) for p in (machine.weight, machine.visible, machine.hidden)]
    batch_size = min(batch_size, n)
    chains = bernoulli(np.broadcast_to(mean, (batch_size, width)).astype(np.float32), rng)
    start, epoch = time.monotonic(), 0
    for epoch in range(epochs):
        done = epoch / epochs
        if deadline is not None:
            done = max(done, (time.monotonic() - start) / max(deadline - start, 1e-9))
            if done >= 1:
                break
        rate, momentum = learning_rate * (1 - done), MOMENTUM[epoch >= MOMENTUM_SWITCH]
        order = rng.permutation(n)
        for begin in range(0, n - batch_size + 1, batch_size):
            positive = data[order[begin:begin + batch_size]]
            negative = machine.gibbs(chains if persistent else positive, cd_steps, rng)
            chains = negative
            up, down = machine.hidden_probs(positive), machine.hidden_probs(negative)
            grads = ((positive.T @ up - negative.T @ down) / batch_size - WEIGHT_DECAY * machine.weight,
                     (positive - negative).mean(0), (up - down).mean(0))
            for param, speed, grad in zip((machine.weight, machine.visible, machine.hidden), velocity, grads):
                speed *= momentum
                speed += rate * grad
                param += speed
    return machine, epoch + 1


def temperatures(steps: int) -> np.ndarray:
    """AIS's inverse temperatures 0 = beta_0 < ... < beta_K = 1, denser near 1 where P_k changes most
    (a tenth of the steps to 0.5, four tenths to 0.9, half to 1; Salakhutdinov & Murray 2008)."""
    steps = max(steps, 10)
    parts = [np.linspace(0.0, 0.5, steps // 10 + 1), np.linspace(0.5, 0.9, 4 * steps // 10 + 1)[1:],
             np.linspace(0.9, 1.0, steps - steps // 10 - 4 * steps // 10 + 1)[1:]]
    return np.concatenate(parts)


def ais_log_partition(machine: Machine, base: np.ndarray, steps: int, runs: int, rng) -> tuple[float, float]:
    """(log Z, its standard error) of `machine` by AIS from the base-rate model with visible biases
    `base` (module doc). The error is the delta method's: std(w) / (mean(w) sqrt(runs))."""
    betas = temperatures(steps)
    base = np.asarray(base, dtype=np.float64)
    log_z0 = float(softplus(base).sum()) + machine.hidden.shape[0] * np.log(2.0)
    dtype = machine.weight.dtype
    v = bernoulli(np.broadcast_to(sigmoid(base), (runs, len(base))).astype(dtype), rng)
    log_w = np.zeros(runs)
    for previous, beta in zip(betas[:-1], betas[1:]):
        activation = (v @ machine.weight + machine.hidden).astype(np.float64)     # (runs, H)
        tilt = v @ (machine.visible - base)                                       # b.v - b0.v
        # log P*_beta(v) - log P*_previous(v)
        log_w += (beta - previous) * tilt + (softplus(beta * activation) - softplus(previous * activation)).sum(-1)
        h = bernoulli(sigmoid(beta * activation).astype(dtype), rng)
        v = bernoulli(sigmoid((1 - beta) * base + beta * (h @ machine.weight.T + machine.visible)).astype(dtype), rng)
    log_mean = float(np.logaddexp.reduce(log_w) - np.log(runs))
    relative = np.exp(log_w - log_mean)                                           # w / mean(w)
    return log_z0 + log_mean, float(relative.std(ddof=1) / np.sqrt(runs))


def base_rates(bits: np.ndarray) -> np.ndarray:
    """The log-odds of each bit's frequency (smoothed), AIS's base-rate model and Gibbs's start."""
    mean = (bits.sum(0) + 0.5) / (len(bits) + 1.0)
    return np.log(mean / (1 - mean))


def gibbs_complete(machine: Machine, base: np.ndarray, bits: np.ndarray, steps: int, rng) -> np.ndarray:
    """Bits (N, V) drawn by Gibbs, known bits (not NaN) clamped, unknown ones started from the base rates."""
    known = ~np.isnan(bits)
    start = bernoulli(np.broadcast_to(sigmoid(base), bits.shape).astype(np.float32), rng)
    v = np.where(known, np.nan_to_num(bits), start).astype(np.float32)
    return machine.gibbs(v, steps, rng, clamp=known if known.any() else None)


def rbm_params(epochs: int) -> dict[str, Param]:
    """The settings the image rbm and dbn share (training, Gibbs, AIS, levels)."""
    return {
        **{k: p for k, p in training_params(epochs=epochs, batch_size=100, learning_rate=0.05,
                                            patience=None, help={
                                                "learning_rate": "SGD step size (momentum 0.9, decaying linearly "
                                                                 "to 0 over the epochs)"}).items()
           if k not in ("patience", "device")},
        "cd_steps": Param(1, int, "Gibbs sweeps per update of the negative chains (the k of CD-k / PCD-k)", low=1),
        "persistent": Param(True, bool, "persistent chains (PCD, Tieleman 2008); False: CD-k from the data"),
        "gibbs_steps": Param(1000, int, "Gibbs sweeps per sample (burn-in from the base-rate model) and per impute",
                             low=1),
        "ais_steps": Param(3000, int, "AIS temperatures for the estimate of log Z (more: a tighter estimate)", low=10),
        "ais_runs": Param(100, int, "AIS chains (their spread gives the estimate's standard error)", low=2),
        "render": Param("levels", str, "what sample and impute give: levels (drawn within each bit's half, the "
                                       "distribution log_prob scores) or binary (the bits as levels 0 and L-1)",
                        choices=("levels", "binary")),
        "alpha": Param(1.0, float, "Laplace pseudo-count of each level within its half, per pixel", low=0.0),
        "bins": Param(32, int, "float images: equal cells on [0, 1] per pixel (on from cell bins // 2)", low=2,
                      high=4096),
    }


@register
class RBMImages(Model):
    name = "rbm"
    family = "classical"
    complexity = 50
    data_kind = "image"
    pixel_space = "levels"
    description = ("restricted Boltzmann machine on binarized pixels (PCD training, Gibbs sampling, log Z by "
                   "annealed importance sampling), levels within each half per pixel")
    log_prob_kind = "estimate"
    impute_kind = "approximate"
    params = {
        "hidden": Param(100, int, "binary hidden units H", low=1),
        **rbm_params(epochs=200),
    }
    test_params = {"hidden": 8, "epochs": 5, "gibbs_steps": 20, "ais_steps": 100, "ais_runs": 16}

    def _fit(self, data: Pixels, rng) -> None:
        self.n_cells_ = data.n_levels or self.bins
        cells = data.cells(self.n_cells_)
        self.halves_ = PixelHalves.fit(cells, self.n_cells_, self.alpha)
        bits = self.halves_.bits(cells)
        self.base_ = base_rates(bits)
        deadline = None if self.time_budget is None else time.monotonic() + self.time_budget
        self.machine_, self.epochs_trained_ = train_machine(bits, self.hidden, self.epochs, self.batch_size,
                                                            self.learning_rate, self.cd_steps, self.persistent, rng,
                                                            deadline)
        self.log_z_, self.log_z_error_ = ais_log_partition(self.machine_, self.base_, self.ais_steps, self.ais_runs,
                                                           rng)

    def _log_prob(self, data: Pixels) -> np.ndarray:
        cells = data.cells(self.n_cells_)
        log_bits = self.machine_.neg_free_energy(self.halves_.bits(cells)) - self.log_z_
        return log_bits + self.halves_.log_prob(cells, density=data.n_levels is None)

    def _sample(self, n: int, rng) -> Pixels:
        bits = np.full((n, len(self.base_)), np.nan)
        return self._complete_bits(bits, rng)

    def _impute(self, data: Pixels, rng) -> Pixels:
        return data.completed_by(self._complete_bits(self.halves_.bits(data.cells(self.n_cells_)), rng))

    def _complete_bits(self, bits: np.ndarray, rng) -> Pixels:
        drawn = gibbs_complete(self.machine_, self.base_, bits, self.gibbs_steps, rng)
        return self.halves_.as_pixels(drawn, self.codec_, rng, binary=self.render == "binary")

    def _get_state(self):
        state = {"n_cells": int(self.n_cells_), "log_z": self.log_z_, "log_z_error": self.log_z_error_,
                 "epochs_trained": int(self.epochs_trained_)}
        return state, {**self.machine_.arrays("rbm."), "log_q": self.halves_.log_q, "base": self.base_}

    def _set_state(self, state, arrays):
        self.n_cells_ = int(state["n_cells"])
        self.log_z_, self.log_z_error_ = float(state["log_z"]), float(state["log_z_error"])
        self.epochs_trained_ = int(state["epochs_trained"])
        self.halves_ = PixelHalves(np.asarray(arrays["log_q"], dtype=float))
        self.base_ = np.asarray(arrays["base"], dtype=float)
        self.machine_ = Machine.from_arrays(arrays, "rbm.")
        if self.halves_.log_q.shape != (self.codec_.size, self.n_cells_) or self.machine_.weight.shape[0] != \
                self.codec_.size:
            raise ValueError(f"the weights are for {self.machine_.weight.shape[0]} pixels, the images have "
                             f"{self.codec_.size}")

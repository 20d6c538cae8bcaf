"""autoregressive, on images: a PixelCNN over pixel levels (van den Oord et al. 2016; the two
shifted streams of PixelCNN++, Salimans et al. 2017, so there is no blind spot).

An image of D = H x W x C values is a chain in raster order (rows top to bottom, pixels left to
right, channels R, G, B within a pixel):

    log P(x) = Σ_{i, j} Σ_c log P(x_ijc | x_<ij, x_ij,<c),      P(x_ijc = k | ...) = softmax(logits_ijc)_k

one categorical over the L levels of every pixel and channel, so log_prob is EXACT (one network
pass) and sums to one over all L^D images by construction, however well or badly trained: the
network never sees a value it conditions on from the future.

The network. Values enter as 2 v - 1 with v = (level + 1/2) / L, plus a channel of ones (so that
the zero padding at the borders is told apart from a dark pixel). Two streams of gated residual
blocks keep the order:
  - u, the "up" stream: a convolution whose kernel covers rows i-1..i (columns j-1..j+1), shifted
    down one row, so u_ij sees only rows above i;
  - ul, the "up-left" stream: the row above plus the pixels to the left in row i (a down-right
    shifted 2 x 2 kernel), fed u at every block: ul_ij sees every pixel before (i, j) in raster
    order within its receptive field, never (i, j) itself.
Each gated block is y = x + a ⊙ σ(b), (a, b) = conv(dropout(elu(conv(elu(x))))). A learnt bias per
position joins the up-left stream (where a pixel is, not what the image holds there). The channels of
the current pixel enter at the output: channel c's head is a 1 x 1 two-layer network of
[elu(ul_ij), x_ij,<c], so R is drawn first, then G given R, then B given R and G. The heads' last
bias starts at each channel's log level frequencies, so a network that has learnt nothing is the
per-pixel-marginal model's neighbour.

Float images (intensities, no levels) are cut into `bins` equal cells on [0, 1], uniform inside a
cell: log_prob is then a density, log P(cells) + D log bins (cell width 1 / bins).

Training minimises the mean negative log-likelihood per value (nats) on minibatches, with early
stopping on a held-out tenth (`neural.train`).

Sampling runs pixel by pixel, channel by channel, H x W network passes (each on the rows up to
the current one), drawn with a torch generator seeded from the call's seed (never the global
random state).

Impute: the unknown values are drawn one at a time in raster order, each from P(x_d | everything
before d), known or already drawn. That is the exact conditional when every unknown value comes
after every known one (the bottom half of an image), and an approximation otherwise: a draw
ignores the known pixels after it (impute_kind "approximate"). `gibbs_sweeps` > 0 then refines the
draws by Gibbs sampling with each unknown value's exact full conditional,

    P(x_d = k | x_-d) ∝ Π_{e >= d} P(x_e | x_<e) with x_d = k,

L network passes per unknown value per sweep (cheap on 8 x 8 digits, slow on 32 x 32 x 3 with
256 levels): the chain converges to the exact conditional.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels
from ..neural import fit_network, rebuild, select_device, state_to_numpy, torch_seed, training_params

CHUNK = 256   # images per network pass when scoring


def _down_shift(x: torch.Tensor) -> torch.Tensor:
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1, :]


def _right_shift(x: torch.Tensor) -> torch.Tensor:
    return F.pad(x, (1, 0, 0, 0))[:, :, :, :-1]


class _ShiftedConv(nn.Module):
    """A convolution whose output at (i, j) sees rows i-kh+1..i only: columns centred on j ("down")
    or ending at j ("down-right")."""

    def __init__(self, inputs: int, outputs: int, kernel: tuple[int, int], right: bool = False):
        super().__init__()
        height, width = kernel
        self.pad = (width - 1, 0, height - 1, 0) if right else (width // 2, width // 2, height - 1, 0)
        self.conv = nn.Conv2d(inputs, outputs, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pad))


class _GatedBlock(nn.Module):
    """x + a ⊙ σ(b), (a, b) = conv(dropout(elu(conv(elu(x)) + nin(elu(aux))))) with shifted convolutions."""

    def __init__(self, hidden: int, kernel: tuple[int, int], right: bool, aux: bool, dropout: float):
        super().__init__()
        self.first = _ShiftedConv(hidden, hidden, kernel, right)
        self.aux = nn.Conv2d(hidden, hidden, 1) if aux else None
        self.second = _ShiftedConv(hidden, 2 * hidden, kernel, right)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, aux: torch.Tensor | None = None) -> torch.Tensor:
        h = self.first(F.elu(x))
        if self.aux is not None:
            h = h + self.aux(F.elu(aux))
        a, b = self.second(self.dropout(F.elu(h))).chunk(2, dim=1)
        return x + a * torch.sigmoid(b)


class PixelCNN(nn.Module):
    """Images (B, C, H, W) as 2v - 1 -> logits (B, C, L, H, W) of each value given those before it."""

    def __init__(self, shape: tuple[int, int, int], n_levels: int, hidden: int, blocks: int, dropout: float):
        super().__init__()
        height, width, channels = shape
        self.channels, self.n_levels = channels, n_levels
        # a learnt bias per position of the up-left stream: where in the image a pixel is (centred
        # digits' borders are dark) is no value of the image, so the order is kept
        self.position = nn.Parameter(torch.zeros(hidden, height, width))
        inputs = channels + 1
        self.u_start = _ShiftedConv(inputs, hidden, (2, 3))
        self.ul_start_up = _ShiftedConv(inputs, hidden, (1, 3))
        self.ul_start_left = _ShiftedConv(inputs, hidden, (2, 1), right=True)
        self.u_blocks = nn.ModuleList(_GatedBlock(hidden, (2, 3), False, False, dropout) for _ in range(blocks))
        self.ul_blocks = nn.ModuleList(_GatedBlock(hidden, (2, 2), True, True, dropout) for _ in range(blocks))
        self.heads = nn.ModuleList(nn.Sequential(nn.Conv2d(hidden + c, hidden, 1), nn.ELU(),
                                                 nn.Conv2d(hidden, n_levels, 1)) for c in range(channels))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, hidden, H, W): at (i, j), what the pixels before (i, j) in raster order say."""
        x = torch.cat([x, torch.ones_like(x[:, :1])], dim=1)
        u = _down_shift(self.u_start(x))
        ul = _down_shift(self.ul_start_up(x)) + _right_shift(self.ul_start_left(x)) + self.position[:, :x.shape[2]]
        for u_block, ul_block in zip(self.u_blocks, self.ul_blocks):
            u = u_block(u)
            ul = ul_block(ul, u)
        return F.elu(ul)

    def head(self, features: torch.Tensor, x: torch.Tensor, channel: int) -> torch.Tensor:
        """Logits (B, L, ...) of `channel` from the features and the earlier channels of the same pixel."""
        return self.heads[channel](torch.cat([features, x[:, :channel]], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)
        return torch.stack([self.head(features, x, c) for c in range(self.channels)], dim=1)


@register
class AutoregressiveImages(Model):
    name = "autoregressive"
    family = "autoregressive"
    complexity = 75
    data_kind = "image"
    pixel_space = "levels"
    description = "PixelCNN: each pixel's levels (R, G, B in turn) a softmax given the pixels before it in raster order"
    log_prob_kind = "exact"
    impute_kind = "approximate"
    params = {
        # defaults measured on digits (train 1,200 / test 597, 17 levels): held-out 1.826 bits/dim, early
        # stopped after 24 epochs, 52 s of one core (benchmarks/RESULTS.md once the image bench lands)
        **training_params(epochs=200, batch_size=32, learning_rate=3e-3, patience=10),
        "hidden": Param(48, int, "feature maps of every convolution", low=1, high=4096),
        "blocks": Param(3, int, "gated residual blocks per stream (the receptive field grows two rows per block)",
                        low=1, high=64),
        "dropout": Param(0.1, float, "dropout inside each residual block (regularises small image sets)",
                         low=0.0, high=0.9),
        "weight_decay": Param(1e-4, float, "AdamW weight decay", low=0.0),
        "bins": Param(32, int, "float images: equal cells on [0, 1] per value, each a softmax level",
                      low=2, high=4096),
        "gibbs_sweeps": Param(0, int, "impute: Gibbs sweeps over the unknown values with their exact full "
                                      "conditionals after the raster-order draw (L network passes per value)",
                              low=0, high=1000),
    }
    test_params = {"epochs": 3, "batch_size": 32, "hidden": 12, "blocks": 1, "bins": 8}

    # ------------------------------------------------------------------ cells <-> network input
    def _nchw(self, cells: np.ndarray) -> torch.Tensor:
        height, width, channels = self.codec_.shape
        return torch.from_numpy(cells.reshape(len(cells), height, width, channels).transpose(0, 3, 1, 2).copy())

    def _inputs(self, cells: torch.Tensor) -> torch.Tensor:
        return (2 * (cells.clamp(min=0).float() + 0.5) / self.n_cells_ - 1).float()

    def _network(self, frequencies: np.ndarray | None = None) -> PixelCNN:
        net = PixelCNN(self.codec_.shape, self.n_cells_, self.hidden, self.blocks, self.dropout)
        if frequencies is not None:           # every head starts at its channel's level frequencies
            with torch.no_grad():
                for channel, head in enumerate(net.heads):
                    head[-1].weight.mul_(0.1)
                    head[-1].bias.copy_(torch.as_tensor(np.log(frequencies[channel]), dtype=torch.float32))
        return net

    # ------------------------------------------------------------------ training
    def _fit(self, data: Pixels, rng) -> None:
        self.n_cells_ = data.n_levels or self.bins
        cells = self._nchw(data.cells(self.n_cells_))                                          # (N, C, H, W)
        counts = np.stack([np.bincount(cells[:, c].reshape(-1).numpy(), minlength=self.n_cells_)
                           for c in range(cells.shape[1])]) + 1.0
        frequencies = counts / counts.sum(axis=1, keepdims=True)                       # (C, L), Laplace
        self.net_, self.history_ = fit_network(self, lambda: self._network(frequencies), self._loss, cells, rng,
                                               "autoregressive")
        self.epochs_trained_ = len(self.history_)

    def _loss(self, net: PixelCNN, cells: torch.Tensor, generator) -> torch.Tensor:
        """Mean negative log-likelihood per value, nats."""
        return F.cross_entropy(net(self._inputs(cells)).transpose(1, 2), cells)

    # ------------------------------------------------------------------ scoring
    def _device(self) -> torch.device:
        return select_device(self.device)

    def _log_probs(self, cells: torch.Tensor) -> torch.Tensor:
        """(N,) log P of complete cell images (N, C, H, W), in chunks, on the model's device."""
        device, out = self._device(), []
        net = self.net_.to(device)
        with torch.no_grad():
            for begin in range(0, len(cells), CHUNK):
                chunk = cells[begin:begin + CHUNK].to(device)
                logits = net(self._inputs(chunk)).transpose(1, 2).double()             # (B, L, C, H, W)
                picked = -F.cross_entropy(logits, chunk, reduction="none")              # (B, C, H, W)
                out.append(picked.flatten(1).sum(1).cpu())
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)

    def _log_prob(self, data: Pixels) -> np.ndarray:
        logs = self._log_probs(self._nchw(data.cells(self.n_cells_))).numpy()
        if data.levels is None:                          # a density: each cell has width 1 / bins
            logs = logs + data.values.shape[1] * np.log(self.n_cells_)
        return logs

    # ------------------------------------------------------------------ drawing in raster order
    def _raster_draw(self, cells: torch.Tensor, unknown: torch.Tensor, generator) -> torch.Tensor:
        """Fill the `unknown` values of cell images (N, C, H, W) in raster order, each drawn from its
        conditional given every value before it (known or drawn)."""
        device, (_, channels, height, width) = self._device(), cells.shape
        net, cells = self.net_.to(device), cells.clone().to(device)
        unknown = unknown.to(device)
        with torch.no_grad():
            for i in range(height):
                if not unknown[:, :, i].any():
                    continue
                for j in range(width):
                    rows = unknown[:, :, i, j].any(dim=1).nonzero().squeeze(1)
                    if not len(rows):
                        continue
                    part = cells[rows, :, :i + 1]                                  # rows up to i: causal
                    features = net.features(self._inputs(part))[:, :, i, j, None, None]
                    for c in range(channels):
                        x = self._inputs(cells[rows, :, i, j])[:, :, None, None]
                        logits = net.head(features, x, c)[:, :, 0, 0]                # (B, L)
                        drawn = _draw(logits, generator)
                        cells[rows, c, i, j] = torch.where(unknown[rows, c, i, j], drawn, cells[rows, c, i, j])
        return cells.cpu()

    def _gibbs(self, cells: torch.Tensor, unknown: torch.Tensor, generator) -> torch.Tensor:
        """`gibbs_sweeps` sweeps: each unknown value redrawn from its exact full conditional."""
        levels = torch.arange(self.n_cells_)
        positions = unknown.flatten(1).any(0).nonzero().squeeze(1)
        for _ in range(self.gibbs_sweeps):
            for position in positions.tolist():
                rows = unknown.flatten(1)[:, position].nonzero().squeeze(1)
                trial = cells[rows].repeat_interleave(self.n_cells_, dim=0)             # (B L, C, H, W)
                trial.view(len(trial), -1)[:, position] = levels.repeat(len(rows))
                logits = self._log_probs(trial).view(len(rows), self.n_cells_)
                cells.view(len(cells), -1)[rows, position] = _draw(logits, generator).cpu()
        return cells

    def _complete(self, data: Pixels, rng) -> Pixels:
        generator = torch.Generator().manual_seed(torch_seed(rng))
        cells = data.cells(self.n_cells_)
        unknown = self._nchw(cells < 0)
        filled = self._raster_draw(self._nchw(cells), unknown, generator)
        if self.gibbs_sweeps:
            filled = self._gibbs(filled, unknown, generator)
        flat = filled.permute(0, 2, 3, 1).reshape(len(filled), -1).numpy()
        if data.n_levels is not None:
            return Pixels.from_levels(flat, data)
        values = (flat + rng.random(flat.shape)) / self.n_cells_
        return Pixels.from_values(np.where(np.isnan(data.values), values, data.values), data)

    def _sample(self, n: int, rng) -> Pixels:
        levels = None if self.codec_.n_levels is None else np.full((n, self.codec_.size), -1, np.int64)
        nothing = Pixels(np.full((n, self.codec_.size), np.nan), levels, self.codec_.shape, self.codec_.n_levels)
        return self._complete(nothing, rng)

    def _impute(self, data: Pixels, rng) -> Pixels:
        return self._complete(data, rng)

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        return {"n_cells": int(self.n_cells_), "epochs_trained": int(self.epochs_trained_)}, state_to_numpy(self.net_)

    def _set_state(self, state, arrays):
        self.n_cells_ = int(state["n_cells"])
        self.epochs_trained_ = int(state["epochs_trained"])
        self.net_ = rebuild(self._network, arrays)


def _draw(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One level per row of (B, L) logits, by the inverse CDF of uniforms from `generator` (CPU)."""
    cumulative = torch.softmax(logits.double(), dim=1).cumsum(dim=1)
    uniform = torch.rand(len(logits), 1, generator=generator, dtype=torch.float64).to(logits.device)
    return (uniform > cumulative).sum(dim=1).clamp(max=logits.shape[1] - 1)

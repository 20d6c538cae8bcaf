"""What every neural model shares: the table as tensors, an MLP block, and one training loop.

Table as tensors (`TableTensors`). Each discrete variable becomes a one-hot block; each continuous
value becomes z = Φ⁻¹(F(x)) through its own piecewise-linear marginal CDF F (`marginals.Bins`
with many quantile bins), so a network sees roughly standard normal numbers whatever the
column's shape, and the map is invertible with a known Jacobian:

    log p(x) = log p(z) + log f(x) − log φ(z),        f = F' (the marginal density)

which is what lets flows and autoregressive models report log_prob in the user's units. A value
that is not continuous in a row (a point mass, missing) gets z = 0 and a mask of 0.

Training (`train`). Minibatches, AdamW, a validation split with early stopping (the best weights
are kept), gradient clipping, a guard that stops with a clear error and restores the last good
weights when the loss is NaN or infinite, a progress bar, a wall-clock budget, and
reproducibility: everything random runs inside `torch.random.fork_rng` with the model's seed, so
the same seed gives the same weights on the CPU and the global random state is left untouched.
Under `torchrun` (torch.distributed initialised) the module is wrapped in DistributedDataParallel,
each rank takes its own shard of every epoch's permutation, and all ranks end with identical
weights.
"""
from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from scipy.special import ndtr, ndtri
from torch import nn

from .base import Param
from .layout import Encoded, TableLayout
from .marginals import Bins, laplace

Z_CLIP = 5.0  # latent numbers are kept within ±5 standard deviations


# every neural model's `time_budget`: a positive number of seconds (0 trained a model anyway, while
# compare refused it), or None for no limit
TIME_BUDGET = Param(None, float, "seconds of training at most (None: no limit)", low=0.01, optional=True)


class TrainingError(RuntimeError):
    """Training diverged (NaN or infinite loss); the model keeps its last good weights."""


def select_device(device: str = "auto") -> torch.device:
    """"auto" picks CUDA when present, else the CPU; anything else is passed to torch.device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r} ({error})") from None
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but this PyTorch has no usable CUDA GPU "
                             f"(torch {torch.__version__}); use device='auto' or 'cpu'")
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) are visible")
    elif chosen.type != "cpu" and chosen.type != "mps":
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return chosen


def mlp(inputs: int, outputs: int, hidden: int, layers: int, dropout: float = 0.0) -> nn.Sequential:
    """inputs -> [Linear -> SiLU -> Dropout] x layers -> Linear -> outputs."""
    blocks, width = [], inputs
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.SiLU()] + ([nn.Dropout(dropout)] if dropout else [])
        width = hidden
    blocks.append(nn.Linear(width, outputs))
    return nn.Sequential(*blocks)


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


# ---------------------------------------------------------------------- training
@dataclass
class TrainConfig:
    epochs: int = 200
    batch_size: int = 512
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    validation: float = 0.1        # share of rows held out for early stopping (0 = none)
    patience: int = 20             # epochs without validation improvement before stopping
    clip: float = 1.0              # gradient norm clipping
    min_batches: int = 1           # an epoch passes over the rows as often as it takes to make this many batches
    time_budget: float | None = None  # seconds; training stops (keeping the best weights) when spent
    progress: bool | None = None   # None: a bar when stderr is a terminal
    history: list = field(default_factory=list)


def config_for(model, **overrides) -> TrainConfig:
    """A TrainConfig from the usual hyperparameters of a neural model (epochs, batch_size,
    learning_rate, weight_decay, patience, time_budget: those it has), then `overrides`."""
    names = ("epochs", "batch_size", "learning_rate", "weight_decay", "patience", "time_budget")
    return TrainConfig(**{**{k: getattr(model, k) for k in names if k in model.params}, **overrides})


def train(module: nn.Module, loss_fn: Callable[[nn.Module, torch.Tensor, torch.Generator], torch.Tensor],
          data: torch.Tensor, config: TrainConfig, seed: int, device: torch.device,
          description: str = "training") -> list[dict]:
    """Fit `module` by minimising `loss_fn(module, batch, generator)` (a mean over the batch).

    Returns the per-epoch history (train and validation loss). The module ends with the weights
    of its best validation epoch. Must be called inside `seeded(seed)`.
    """
    import torch.distributed as dist
    from tqdm.auto import tqdm

    distributed = dist.is_available() and dist.is_initialized()
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    generator = torch.Generator().manual_seed(seed)
    n = data.shape[0]
    order = torch.randperm(n, generator=generator)
    n_valid = int(round(n * config.validation)) if n >= 20 and config.validation > 0 else 0
    # the rows move to the device once: a minibatch is then an index into them, not a copy from the host
    valid, fit_rows = data[order[:n_valid]].to(device), data[order[n_valid:]].to(device)
    module.to(device)
    # DDP synchronises gradients through its forward(); the loss is that forward, so any model's
    # loss function (which may call several submodules) trains data-parallel unchanged.
    step = nn.parallel.DistributedDataParallel(_Loss(module, loss_fn), find_unused_parameters=True) \
        if distributed else _Loss(module, loss_fn)
    # the fused kernel does the same update in one pass over every parameter: on a 125-row table's
    # 300 small steps 13% less fit time on the CPU (foreach=True: none); CPU and CUDA only
    optimizer = torch.optim.AdamW(module.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay,
                                  fused=torch.device(device).type in ("cpu", "cuda"))
    best, best_loss, since_best, history = copy.deepcopy(module.state_dict()), math.inf, 0, []
    last_good = copy.deepcopy(module.state_dict())
    start = time.perf_counter()
    show = (config.progress if config.progress is not None else sys.stderr.isatty()) and rank == 0
    bar = tqdm(range(config.epochs), desc=description, unit="epoch", disable=not show, leave=False)
    for epoch in bar:
        module.train()
        # a table too small for `min_batches` minibatches is passed over several times per epoch
        passes = max(1, math.ceil(config.min_batches * config.batch_size / max(len(fit_rows), 1)))
        permutation = torch.cat([torch.randperm(len(fit_rows), generator=generator) for _ in range(passes)])
        permutation = permutation[rank::world].to(device)  # each rank its shard; identical when not distributed
        # the epoch's loss is summed on the device (in float64, as a Python float would) and read back
        # every SYNC_BATCHES batches: on a GPU, reading it each step would wait for every step's kernels
        total, batches = torch.zeros((), dtype=_accumulator(device), device=device), 0
        for begin in range(0, len(permutation), config.batch_size):
            if batches and not distributed and config.time_budget is not None and \
                    time.perf_counter() - start > config.time_budget:
                break     # a budget spent mid-epoch (a large table's epoch can take minutes) ends it here
            batch = fit_rows[permutation[begin:begin + config.batch_size]]
            loss = step(batch, generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(module.parameters(), config.clip)
            optimizer.step()
            total, batches = total + loss.detach().to(total.dtype), batches + 1
            if batches % SYNC_BATCHES == 0:
                _guard(total, module, last_good, description, epoch)
        _guard(total, module, last_good, description, epoch)
        total = float(total)
        last_good = {k: v.detach().clone() for k, v in module.state_dict().items()}
        record = {"epoch": epoch, "train_loss": total / max(batches, 1)}
        if n_valid:
            module.eval()
            with torch.no_grad():
                record["validation_loss"] = _validation_loss(module, loss_fn, valid, generator)
        history.append(record)
        watched = record.get("validation_loss", record["train_loss"])
        spent = config.time_budget is not None and time.perf_counter() - start > config.time_budget
        if distributed:  # every rank must take the same early-stopping and budget decisions
            value = torch.tensor([watched, float(spent)], dtype=torch.float64)
            dist.all_reduce(value)
            watched, spent = float(value[0]) / world, bool(value[1] > 0)
        if watched < best_loss - 1e-6:
            best, best_loss, since_best = copy.deepcopy(module.state_dict()), watched, 0
        else:
            since_best += 1
        bar.set_postfix(loss=f"{watched:.4f}")
        if since_best >= config.patience or spent:
            break
    module.load_state_dict(best)
    module.eval()
    return history


SYNC_BATCHES = 16   # batches between reads of the running loss (the NaN guard); each read waits for a GPU


def _accumulator(device) -> torch.dtype:
    """float64 where the device has it (CPU, CUDA), so that summing losses matches a Python float sum."""
    return torch.float64 if torch.device(device).type in ("cpu", "cuda") else torch.float32


def _guard(total: torch.Tensor, module: nn.Module, last_good: dict, description: str, epoch: int) -> None:
    """Stop with the last good weights (those of the previous epoch's end) once the running loss
    is NaN or infinite: a step on such a loss has already spoilt the weights."""
    if not math.isfinite(float(total)):
        module.load_state_dict(last_good)
        raise TrainingError(f"{description}: the loss became {float(total)} at epoch {epoch}; the last good "
                            "weights were kept. Try a smaller learning_rate or standardise extreme values.")


VALIDATION_CHUNK = 8192   # validation rows per forward pass: bounded memory on a table of millions of rows


def _validation_loss(module: nn.Module, loss_fn, valid: torch.Tensor, generator: torch.Generator) -> float:
    """The mean loss over the validation rows, in chunks of VALIDATION_CHUNK rows (the loss is a mean
    over its batch, so chunk means are weighted by their rows)."""
    with torch.no_grad():
        if len(valid) <= VALIDATION_CHUNK:
            return float(loss_fn(module, valid, generator))
        total = 0.0
        for begin in range(0, len(valid), VALIDATION_CHUNK):
            chunk = valid[begin:begin + VALIDATION_CHUNK]
            total += float(loss_fn(module, chunk, generator)) * len(chunk)
        return total / len(valid)


class _Loss(nn.Module):
    """Adapter whose forward is the loss: what DistributedDataParallel wraps."""

    def __init__(self, module: nn.Module, loss_fn):
        super().__init__()
        self.module, self.loss_fn = module, loss_fn

    def forward(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self.loss_fn(self.module, batch, generator)


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


def init_distributed() -> bool:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1): gloo on CPU, nccl on CUDA.

    Returns whether this process is distributed. Safe to call twice.
    """
    import os

    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True


def finish_distributed() -> None:
    """Leave the process group together: a barrier (every rank has done its work, rank 0 has
    written its files), then destroy the group. A rank that exits while another still talks to the
    group can abort it ("terminate called without an active exception"). No-op when not distributed."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def is_main_process() -> bool:
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


class seeded:
    """Context manager: run with torch seeded, restoring the global random state afterwards."""

    def __init__(self, seed: int):
        self.seed = seed

    def __enter__(self):
        self._fork = torch.random.fork_rng(devices=[])
        self._fork.__enter__()
        torch.manual_seed(self.seed)
        return self

    def __exit__(self, *exc):
        return self._fork.__exit__(*exc)


def torch_seed(rng: np.random.Generator) -> int:
    """A torch seed drawn from the model's numpy generator (so one seed drives both)."""
    return int(rng.integers(0, 2**62))


def state_to_numpy(module: nn.Module, prefix: str = "net.") -> dict[str, np.ndarray]:
    return {prefix + k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def load_numpy_state(module: nn.Module, arrays: dict, prefix: str = "net.") -> None:
    state = {k[len(prefix):]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith(prefix)}
    missing = set(module.state_dict()) - set(state)
    if missing:
        raise ValueError(f"the weights file lacks {sorted(missing)[:3]}")
    module.load_state_dict(state)

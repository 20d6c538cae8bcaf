"""One training loop for every neural model (`train`).

Minibatches, AdamW, a validation split with early stopping (the best weights are kept), gradient
clipping, a guard that stops with a clear error and restores the last good weights when the loss
is NaN or infinite, a progress bar, a wall-clock budget, and reproducibility: everything random
runs inside `torch.random.fork_rng` with the model's seed, so the same seed gives the same weights
on the CPU and the global random state is left untouched. Under `torchrun` (torch.distributed
initialised) the module is wrapped in DistributedDataParallel, each rank takes its own shard of
every epoch's permutation, and all ranks end with identical weights.
"""
from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from .blocks import seeded, select_device, torch_seed


class TrainingError(RuntimeError):
    """Training diverged (NaN or infinite loss); the model keeps its last good weights."""


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


def fit_network(model, build: Callable[[], nn.Module], loss_fn, data: torch.Tensor, rng, description: str,
                **overrides) -> tuple[nn.Module, list[dict]]:
    """Build a neural model's network and `train` it with the model's settings (`config_for(model,
    **overrides)`, on `model.device`); one seed drawn from the model's `rng` drives both.

    `build()` runs inside `seeded(seed)`, so the initial weights (and any start it gives them, such as
    a head at the training frequencies) are reproducible. Returns the trained network, back on the
    CPU, and the per-epoch history.
    """
    seed = torch_seed(rng)
    with seeded(seed):
        net = build()
        history = train(net, loss_fn, data, config_for(model, **overrides), seed, select_device(model.device),
                        description=description)
    return net.cpu(), history


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

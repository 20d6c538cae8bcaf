"""Run by tests/test_neural.py under torchrun: train one network data-parallel, save the weights.

    python -m torch.distributed.run --nproc_per_node=2 tests/ddp_worker.py OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import torch

from plausible.neural import TrainConfig, finish_distributed, init_distributed, mlp, seeded, train


def data() -> torch.Tensor:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=2000)
    return torch.tensor(np.c_[x, y], dtype=torch.float32)


def loss(module, batch, generator):
    return ((module(batch[:, :4])[:, 0] - batch[:, 4]) ** 2).mean()


def fit() -> tuple[torch.nn.Module, list]:
    with seeded(0):
        net = mlp(4, 1, 32, 2)
        history = train(net, loss, data(), TrainConfig(epochs=30, batch_size=128, patience=100), seed=0,
                        device=torch.device("cpu"))
    return net, history


if __name__ == "__main__":
    out = Path(sys.argv[1])
    distributed = init_distributed()
    rank = torch.distributed.get_rank() if distributed else 0
    net, history = fit()
    np.savez(out / f"rank{rank}.npz", *[p.detach().numpy() for p in net.parameters()],
             validation=np.array([h["validation_loss"] for h in history]))
    finish_distributed()   # a barrier, then the group torn down together

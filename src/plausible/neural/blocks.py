"""Small pieces every network shares: the device, an MLP block, seeding without global state, weights as arrays.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn


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


def rebuild(build: Callable[[], nn.Module], arrays: dict, prefix: str = "net.") -> nn.Module:
    """The network `build()` makes, holding the weights saved in `arrays` (`state_to_numpy`'s keys),
    in eval mode. Building draws initial weights: that runs inside `seeded(0)`, so the global random
    state stays untouched; the weights are replaced at once."""
    with seeded(0):
        module = build()
    load_numpy_state(module, arrays, prefix)
    return module.eval()

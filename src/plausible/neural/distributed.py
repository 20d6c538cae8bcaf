"""Multi-GPU and multi-node training through torch.distributed (launched by torchrun).
"""
from __future__ import annotations

import torch


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

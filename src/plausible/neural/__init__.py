"""What every neural model shares: the table as tensors, network blocks, one training loop and its settings.

- `tensors`: `TableTensors`, the table as one-hot blocks and normal scores (z = Φ⁻¹(F(x))).
- `blocks`: `mlp`, `seeded`, `select_device`, weights to and from numpy arrays.
- `training`: `train`, the one loop (AdamW, early stopping, NaN guard, time budget, DDP).
- `distributed`: torch.distributed under torchrun.
"""
from .blocks import load_numpy_state, mlp, seeded, select_device, state_to_numpy, torch_seed
from .distributed import finish_distributed, init_distributed, is_main_process
from .tensors import Z_CLIP, TableTensors, start_at_frequencies
from .training import TIME_BUDGET, TrainConfig, TrainingError, _validation_loss, config_for, train

__all__ = ["TIME_BUDGET", "Z_CLIP", "TableTensors", "TrainConfig", "TrainingError", "_validation_loss", "config_for",
           "finish_distributed", "init_distributed", "is_main_process", "load_numpy_state", "mlp", "seeded",
           "select_device", "start_at_frequencies", "state_to_numpy", "torch_seed", "train"]

"""What every neural model shares: the table as tensors, network blocks, one training loop and its settings.

- `settings`: `training_params`, the training settings (epochs, batch_size, learning_rate, patience,
  time_budget, device) declared once with one set of bounds.
- `tensors`: `TableTensors`, the table as one-hot blocks and normal scores (z = Φ⁻¹(F(x))).
- `blocks`: `mlp`, `seeded`, `select_device`, weights to and from numpy arrays, `rebuild` from them.
- `training`: `train`, the one loop (AdamW, early stopping, NaN guard, time budget, DDP), and
  `fit_network`, which builds a model's network and trains it with the model's settings.
- `distributed`: torch.distributed under torchrun.
"""
from .blocks import load_numpy_state, mlp, rebuild, seeded, select_device, state_to_numpy, torch_seed
from .distributed import finish_distributed, init_distributed, is_main_process
from .settings import TRAINING_SETTINGS, training_params
from .tensors import Z_CLIP, TableTensors, start_at_frequencies
from .training import TrainConfig, TrainingError, _validation_loss, config_for, fit_network, train

__all__ = ["TRAINING_SETTINGS", "Z_CLIP", "TableTensors", "TrainConfig", "TrainingError", "_validation_loss",
           "config_for", "finish_distributed", "fit_network", "init_distributed", "is_main_process",
           "load_numpy_state", "mlp", "rebuild", "seeded", "select_device", "start_at_frequencies",
           "state_to_numpy", "torch_seed", "train", "training_params"]

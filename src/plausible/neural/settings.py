"""The training settings every neural model shares, declared once with one set of bounds.

Each neural rung starts its `params` with `training_params(...)`, giving only its own defaults
(and, where the setting means something particular to it, its own line of help):

    params = {**training_params(epochs=300, batch_size=256, learning_rate=1e-3, patience=30),
              "hidden": Param(128, int, "width of the hidden layers", low=1), ...}

A default of None (diffusion's `epochs` and `patience`) makes that setting optional: the model
chooses it from the table.
"""
from __future__ import annotations

from ..core.params import Param

TRAINING_SETTINGS = ("epochs", "batch_size", "learning_rate", "patience", "time_budget", "device")

HELP = {
    "epochs": "passes over the training rows at most (early stopping usually ends sooner)",
    "batch_size": "rows per minibatch (gradient step)",
    "learning_rate": "AdamW step size",
    "patience": "epochs without validation improvement before training stops",
    "time_budget": "seconds of training at most (None: no limit)",
    "device": "torch device for training: auto (CUDA when present), cpu, cuda, cuda:1, ...",
}


def training_params(epochs: int | None, batch_size: int, learning_rate: float, patience: int | None,
                    help: dict[str, str] | None = None) -> dict[str, Param]:
    """The six training settings (TRAINING_SETTINGS) as `Param`s with these defaults.

    Bounds are the same for every model: at least one epoch, one epoch of patience and one row per
    batch, a learning rate > 0 and at most 1, a time budget of at least 0.01 s (0 trained a model
    anyway, while compare refused it) or None for no limit. `help` replaces the generic line of
    help of the settings it names.
    """
    unknown = set(help or {}) - set(TRAINING_SETTINGS)
    if unknown:
        raise ValueError(f"help given for {sorted(unknown)}, which are not training settings {TRAINING_SETTINGS}")
    text = {**HELP, **(help or {})}
    return {
        "epochs": Param(epochs, int, text["epochs"], low=1, optional=epochs is None),
        "batch_size": Param(batch_size, int, text["batch_size"], low=1),
        "learning_rate": Param(learning_rate, float, text["learning_rate"], low=0.0, low_exclusive=True, high=1.0),
        "patience": Param(patience, int, text["patience"], low=1, optional=patience is None),
        "time_budget": Param(None, float, text["time_budget"], low=0.01, optional=True),
        "device": Param("auto", str, text["device"]),
    }

"""The model registry: `make(name, **params)`, `models()`, and automatic discovery.

Every module in `plausible.ladder` is imported on first use and registers its class with the
`@register` decorator, so adding a model is adding one file.
"""
from __future__ import annotations

import importlib
import pkgutil

from .errors import ModelFileError, ParameterError
from .model import Model
from .storage import CONFIG_FILE, read_folder

_REGISTRY: dict[str, type[Model]] = {}
_DISCOVERED = False


def register(cls: type[Model]) -> type[Model]:
    """Class decorator: make a model available to `plausible.make` under `cls.name`."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a class attribute `name` to be registered")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"two models are registered as {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    package = importlib.import_module("plausible.ladder")

    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _DISCOVERED = True


def get_class(name: str) -> type[Model]:
    _discover()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ParameterError(f"unknown model {name!r}; available models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def make(name: str, seed: int | None = 0, **params) -> Model:
    """A new, unfitted model by name, e.g. `make("copula", seed=0)`; keyword hyperparameters."""
    return get_class(name)(seed=seed, **params)


def make_for_task(name: str, seed: int | None = 0, params: dict | None = None,
                  time_budget: float | None = None) -> Model:
    """`make(name, seed, **params)` as the tasks (impute, forecast, compare) build models: their
    `time_budget` goes to the models that train for a while (those with a `time_budget` parameter)
    unless `params` sets one; other models ignore it."""
    options = dict(params or {})
    if time_budget is not None and "time_budget" in get_class(name).params:
        options.setdefault("time_budget", float(time_budget))
    return make(name, seed=seed, **options)


def clone(model: Model, **params) -> Model:
    """An unfitted copy of `model`: the same class, seed and hyperparameters, with `params` changed
    (validated), like scikit-learn's `clone`."""
    if not isinstance(model, Model):
        raise TypeError(f"clone expects a plausible model (what plausible.make returns), got {type(model).__name__}")
    return type(model)(seed=model.seed, **model.get_params()).set_params(**params)


def models() -> dict[str, dict]:
    """Every registered model with its family, capabilities, description and hyperparameters.

    `log_prob`: exact | bound | estimate | none; `impute`: exact | approximate | none;
    `data_kind`: "table" (rows are records) or "series" (rows are series, columns are time steps).
    """
    _discover()
    order = ["counting", "classical", "latent variable", "adversarial", "autoregressive", "flow", "diffusion",
             "time series"]
    ranked = sorted(_REGISTRY.values(), key=lambda c: (order.index(c.family) if c.family in order else 99, c.name))
    return {
        cls.name: {
            "family": cls.family,
            "data_kind": cls.data_kind,
            "log_prob": cls.log_prob_kind,
            "impute": cls.impute_kind,
            "posterior": cls._posterior_draws is not Model._posterior_draws,   # (Model.has_posterior)
            "refit_per_draw": cls.refit_per_draw,
            "description": cls.description,
            "params": {k: {"default": p.default, "help": p.help} for k, p in cls.params.items()},
        }
        for cls in ranked
    }


def load(path) -> Model:
    """Load a model folder written by `Model.save`. Never executes code from the folder."""
    config, arrays = read_folder(path)
    try:
        cls = get_class(config.get("model"))
    except (ParameterError, TypeError) as error:
        raise ModelFileError(f"{path}: {CONFIG_FILE} names model {config.get('model')!r}, which this plausible "
                             f"does not have ({error})") from None
    return cls._restore(config, arrays, path)

"""The model registry: `make(name, **params)`, `models()`, and automatic discovery.

Every module in `plausible.ladder` is imported on first use and registers its class with the
`@register` decorator, so adding a model is adding one file.
"""
from __future__ import annotations

import importlib
import pkgutil

from .errors import ModelFileError, ParameterError
from .model import VARIANTS, Model
from .storage import CONFIG_FILE, read_folder

_REGISTRY: dict[str, type[Model]] = {}
_DISCOVERED = False


def register(cls: type[Model]) -> type[Model]:
    """Class decorator: make a model available to `plausible.make` under `cls.name`.

    One name may have one class per data kind: a table (or series) class and an image class. `make`
    gives the table class (the image class when it is the only one, or when a parameter only it
    takes is given), and `fit` on images turns a table model into the image class."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a class attribute `name` to be registered")
    if VARIANTS.get((cls.name, cls.data_kind), cls) is not cls:
        raise ValueError(f"two {cls.data_kind} models are registered as {cls.name!r}")
    if cls.data_kind != "image" and any(n == cls.name and k not in ("image", cls.data_kind) for n, k in VARIANTS):
        raise ValueError(f"model {cls.name!r} is registered for tables and for series; one name takes images and one "
                         "other kind at most")
    VARIANTS[(cls.name, cls.data_kind)] = cls
    if cls.data_kind != "image" or cls.name not in _REGISTRY:
        _REGISTRY[cls.name] = cls
    return cls


def variant(name: str, kind: str) -> type[Model] | None:
    """The class registered as `name` for data kind `kind` ("image", or "table"/"series"), or None."""
    _discover()
    return VARIANTS.get((name, kind))


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
    """A new, unfitted model by name, e.g. `make("copula", seed=0)`; keyword hyperparameters.

    A rung with an image version (`plausible.models()[name]["data_kinds"]`) becomes it when fitted on
    images; a parameter only the image version takes makes the image version at once."""
    cls = get_class(name)
    images = VARIANTS.get((name, "image"))
    if images is not None and images is not cls and set(params) - set(cls.params) \
            and not set(params) - set(images.params):
        cls = images
    return cls(seed=seed, **params)


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
    `data_kind`: "table" (rows are records), "series" (rows are series, columns are time steps) or
    "image" (an image-only rung); `data_kinds`: every kind the name fits, and `image`: the image
    version's capabilities, description and hyperparameters where the rung has one.
    """
    _discover()
    order = ["counting", "classical", "latent variable", "adversarial", "autoregressive", "flow", "diffusion",
             "time series"]
    ranked = sorted(_REGISTRY.values(), key=lambda c: (order.index(c.family) if c.family in order else 99, c.name))

    def described(cls) -> dict:
        return {
            "family": cls.family,
            "data_kind": cls.data_kind,
            "log_prob": cls.log_prob_kind,
            "impute": cls.impute_kind,
            "posterior": cls._posterior_draws is not Model._posterior_draws,   # (Model.has_posterior)
            "refit_per_draw": cls.refit_per_draw,
            "description": cls.description,
            "params": {k: {"default": p.default, "help": p.help} for k, p in cls.params.items()},
        }

    listing = {}
    for cls in ranked:
        entry = described(cls)
        entry["data_kinds"] = sorted((kind for name, kind in VARIANTS if name == cls.name), key=lambda k: k == "image")
        images = VARIANTS.get((cls.name, "image"))
        if images is not None and images is not cls:
            entry["image"] = described(images)
        listing[cls.name] = entry
    return listing


def load(path) -> Model:
    """Load a model folder written by `Model.save`. Never executes code from the folder."""
    config, arrays = read_folder(path)
    try:
        cls = get_class(config.get("model"))
        if config.get("data_kind") == "image":
            cls = VARIANTS.get((cls.name, "image")) or cls
    except (ParameterError, TypeError) as error:
        raise ModelFileError(f"{path}: {CONFIG_FILE} names model {config.get('model')!r}, which this plausible "
                             f"does not have ({error})") from None
    return cls._from_folder(config, arrays, path)

"""plausible: learn the distribution of your data, then sample, impute, score and evaluate with it.

    import plausible as pl
    model = pl.make("copula", seed=0).fit(df)
    synthetic = model.sample(1000, seed=1)

Importing this package is cheap: pandas, scipy and the models load on first use.
"""
__version__ = "0.1.0"

_LAZY = {
    "make": ("core.registry", "make"),
    "models": ("core.registry", "models"),
    "register": ("core.registry", "register"),
    "clone": ("core.registry", "clone"),
    "load": ("core.registry", "load"),
    "evaluate": ("evaluation.samples", "evaluate"),
    "compare": ("evaluation.compare", "compare"),
    "forecast": ("tasks.forecast", "forecast"),
    "backtest": ("tasks.backtest", "backtest"),
    "impute": ("tasks.imputation", "impute"),
    "fit": ("tasks.synthesis", "fit"),
    "pool": ("tasks.pooling", "pool"),
    "cell_spread": ("tasks.pooling", "cell_spread"),
    "hide_cells": ("evaluation.imputation", "hide_cells"),
    "evaluate_imputation": ("evaluation.imputation", "evaluate_imputation"),
    "bits_per_dim": ("evaluation.image_metrics", "bits_per_dim"),
    "latent_map": ("tasks.latent", "latent_map"),
    "interpolate": ("tasks.latent", "interpolate"),
    "restore": ("tasks.restore", "restore"),
    "GenerativeClassifier": ("tasks.classifier", "GenerativeClassifier"),
    "evaluate_restoration": ("evaluation.restoration", "evaluate_restoration"),
    "Model": ("core.model", "Model"),
    "Param": ("core.params", "Param"),
    "NotFittedError": ("core.errors", "NotFittedError"),
    "NotSupportedError": ("core.errors", "NotSupportedError"),
    "ParameterError": ("core.errors", "ParameterError"),
    "ModelFileError": ("core.errors", "ModelFileError"),
    "TrainingError": ("neural.training", "TrainingError"),
    "Schema": ("data.schema", "Schema"),
    "Column": ("data.schema", "Column"),
    "SchemaError": ("data.schema", "SchemaError"),
}
_SUBMODULES = {"datasets", "testing", "metrics", "experiments"}

__all__ = sorted(_LAZY) + sorted(_SUBMODULES | {"operators"})


def __getattr__(name):
    import importlib

    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attribute)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "operators":             # pl.operators.blur(...): the measurement operators of pl.restore
        value = importlib.import_module(".data.operators", __name__)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'plausible' has no attribute {name!r}")


def __dir__():
    return __all__

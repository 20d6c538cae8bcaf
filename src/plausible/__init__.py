"""plausible: learn the distribution of your data, then sample, impute, score and evaluate with it.

    import plausible as pl
    model = pl.make("copula", seed=0).fit(df)
    synthetic = model.sample(1000, seed=1)

Importing this package is cheap: pandas, scipy and the models load on first use.
"""
__version__ = "0.1.0"

_LAZY = {
    "make": ("registry", "make"),
    "models": ("registry", "models"),
    "register": ("registry", "register"),
    "load": ("base", "load"),
    "evaluate": ("evaluation", "evaluate"),
    "compare": ("compare", "compare"),
    "forecast": ("forecasting", "forecast"),
    "backtest": ("forecasting", "backtest"),
    "impute": ("imputation", "impute"),
    "pool": ("imputation", "pool"),
    "cell_spread": ("imputation", "cell_spread"),
    "evaluate_imputation": ("imputation", "evaluate_imputation"),
    "Model": ("base", "Model"),
    "Param": ("base", "Param"),
    "NotFittedError": ("base", "NotFittedError"),
    "NotSupportedError": ("base", "NotSupportedError"),
    "ParameterError": ("base", "ParameterError"),
    "ModelFileError": ("base", "ModelFileError"),
    "TrainingError": ("neural", "TrainingError"),
    "Schema": ("schema", "Schema"),
    "Column": ("schema", "Column"),
    "SchemaError": ("schema", "SchemaError"),
}
_SUBMODULES = {"datasets", "testing", "metrics"}

__all__ = sorted(_LAZY) + sorted(_SUBMODULES)


def __getattr__(name):
    import importlib

    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attribute)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'plausible' has no attribute {name!r}")


def __dir__():
    return __all__

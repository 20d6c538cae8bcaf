"""`pl.experiments`: the classic experiments of generative modelling as functions that return tables
(DataFrames) and draw figures, on your data or the bundled sets (issue 27):

- `learning_curves(X, y, classifiers, sizes, repeats, seed)`: test error and log loss by training
  size, generative classifiers beside logistic regression and the unregularized logit (learning.py);
- `prediction_spread(estimator, X, y, X_test, refits, seed)`: how much a classifier's predicted
  probabilities move over bootstrap refits and seeds, the randomness it adds (learning.py);
- `collapse(data, model, generations, mode, n, seed)`: models trained on models' output, replace
  or accumulate (collapse.py).

Names load on first use, like `plausible` itself.
"""
_LAZY = {
    "learning_curves": "learning",
    "prediction_spread": "learning",
    "collapse": "collapse",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'plausible.experiments' has no attribute {name!r}")


def __dir__():
    return __all__

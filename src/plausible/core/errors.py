"""The errors plausible raises on purpose; each message says what was wrong and what to do.
"""
from __future__ import annotations


class NotFittedError(RuntimeError):
    """A model was used before `fit`."""


class NotSupportedError(NotImplementedError):
    """The model cannot do this (its capabilities in `pl.models()` say so)."""


class ParameterError(ValueError):
    """A hyperparameter has a wrong name, type or value."""


class ModelFileError(ValueError):
    """A saved model folder is missing, damaged, or from an incompatible version."""

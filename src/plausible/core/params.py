"""Hyperparameters and argument checks: one definition of each rule, used by every model and task.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ParameterError


@dataclass(frozen=True)
class Param:
    """A hyperparameter: default, type, allowed range or choices, and one line of help."""

    default: Any
    type: type
    help: str = ""
    low: float | None = None    # inclusive, unless low_exclusive
    high: float | None = None   # inclusive
    choices: tuple | None = None
    optional: bool = False      # None allowed (means "choose automatically")
    low_exclusive: bool = False  # the value must be > low (a learning rate of 0 trains nothing)

    def validate(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return None
        if self.type is float and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            value = float(value)
        if self.type is int and isinstance(value, np.integer):
            value = int(value)
        if self.type is float and isinstance(value, np.floating):
            value = float(value)
        if not isinstance(value, self.type) or (self.type is not bool and isinstance(value, bool)):
            raise ParameterError(f"parameter {name!r} must be {self.type.__name__}, got {value!r}")
        if self.type is float and not np.isfinite(value):   # NaN slips past every < and > check
            raise ParameterError(f"parameter {name!r} must be a finite number, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ParameterError(f"parameter {name!r} must be one of {list(self.choices)}, got {value!r}")
        if self.low is not None and self.low_exclusive and value <= self.low:
            raise ParameterError(f"parameter {name!r} must be > {self.low}, got {value!r}")
        if self.low is not None and value < self.low:
            raise ParameterError(f"parameter {name!r} must be >= {self.low}, got {value!r}")
        if self.high is not None and value > self.high:
            raise ParameterError(f"parameter {name!r} must be <= {self.high}, got {value!r}")
        return value

    def parse(self, name: str, text: str) -> Any:
        """Read a value given as text (the command line's --set key=value)."""
        if self.optional and text.lower() in ("none", "auto", ""):
            return None
        try:
            if self.type is bool:
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return self.validate(name, text.lower() in ("true", "1", "yes"))
            return self.validate(name, self.type(text))
        except ValueError as error:
            if isinstance(error, ParameterError):
                raise
            raise ParameterError(f"parameter {name!r} must be {self.type.__name__}, got {text!r}") from None


def _check_seed(seed, error: type = ValueError) -> int | None:
    """A seed is None or a non-negative whole number (what NumPy's generators accept)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise error(f"seed must be a non-negative integer or None, got {seed!r}")
    return None if seed is None else int(seed)


def _check_budget(seconds) -> float | None:
    """A time budget is None (no limit) or a positive number of seconds (NaN is neither)."""
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0):
        raise ValueError(f"time_budget must be a positive number of seconds or None (no limit), got {seconds!r}")
    return seconds


def _check_count(n, name: str, minimum: int = 0) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {n!r}")
    if n < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {n}")
    return int(n)


def _check_jobs(n_jobs) -> int:
    """n_jobs as a number of processes: a positive whole number, or -1 for every CPU."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or not (n_jobs >= 1 or n_jobs == -1):
        raise ValueError(f"n_jobs must be a positive whole number or -1 (every CPU), got {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)

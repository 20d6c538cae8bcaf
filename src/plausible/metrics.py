"""Kept for `pl.metrics` and `plausible.metrics.*` as the README shows them: the metrics live in
`plausible.evaluation.metrics`."""
from .evaluation.metrics import *  # noqa: F403

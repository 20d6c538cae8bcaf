"""Kept for the import paths the README shows (`plausible.imputation.hide_cells`, `choose_model`).

Imputation lives in `plausible.tasks.imputation`, Rubin's rules in `plausible.tasks.pooling`,
and its scoring (`hide_cells`, `evaluate_imputation`) in `plausible.evaluation.imputation`.
"""
from .evaluation.imputation import evaluate_imputation, hide_cells
from .tasks.imputation import choose_model, impute
from .tasks.pooling import cell_spread, pool

__all__ = ["cell_spread", "choose_model", "evaluate_imputation", "hide_cells", "impute", "pool"]

"""independent, on images: every pixel (and channel) on its own, naive Bayes on pixels.

P(image) = Π_d P(x_d), one Laplace-smoothed categorical per pixel and channel over its L levels,

    θ_dk = (n_dk + α) / (N + L α),

so log_prob is the exact probability of the levels and conditioning is trivial (an unknown pixel
does not depend on the known ones). Float images get `bins` equal cells on [0, 1] per pixel,
uniform inside a cell (a density). The rung that works on the five `fashion` features and draws
noise on 1,024 pixels: it knows where each colour tends to be, never which pixels go together.
"""
from __future__ import annotations

import numpy as np

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels, count_cells


@register
class IndependentImages(Model):
    name = "independent"
    family = "counting"
    complexity = 10
    data_kind = "image"
    pixel_space = "levels"
    description = "every pixel on its own (naive Bayes on pixels): a smoothed categorical per pixel and channel"
    log_prob_kind = "exact"
    impute_kind = "exact"
    params = {
        "alpha": Param(1.0, float, "Laplace pseudo-count added to every level of every pixel", low=0.0),
        "bins": Param(32, int, "float images: equal cells on [0, 1] per pixel", low=1, high=4096),
    }

    def _fit(self, data: Pixels, rng) -> None:
        self.n_cells_ = data.n_levels or self.bins
        cells = data.cells(self.n_cells_)
        total = count_cells(cells, self.n_cells_) + self.alpha
        self.probs_ = total / total.sum(axis=1, keepdims=True)     # every row sums to N + L alpha > 0

    def _log_prob(self, data: Pixels) -> np.ndarray:
        cells = data.cells(self.n_cells_)
        with np.errstate(divide="ignore"):
            logs = np.log(self.probs_[np.arange(cells.shape[1]), cells]).sum(axis=1)
        if data.levels is None:                          # a density: each cell has width 1 / bins
            logs = logs + cells.shape[1] * np.log(self.n_cells_)
        return logs

    def _draw(self, rows: int, rng) -> np.ndarray:
        """(rows, D) cells drawn pixel by pixel (inverse CDF, all pixels at once)."""
        cumulative = np.cumsum(self.probs_, axis=1)
        uniform = rng.random((rows, len(self.probs_), 1))
        return np.minimum((uniform > cumulative[None]).sum(axis=2), self.n_cells_ - 1)

    def _sample(self, n: int, rng) -> Pixels:
        return Pixels.from_cells(self._draw(n, rng), self.codec_, self.n_cells_, rng)

    def _impute(self, data: Pixels, rng) -> Pixels:
        return data.completed_by(Pixels.from_cells(self._draw(len(data), rng), self.codec_, self.n_cells_, rng))

    def _get_state(self):
        return {"n_cells": int(self.n_cells_)}, {"probs": self.probs_}

    def _set_state(self, state, arrays):
        self.n_cells_ = int(state["n_cells"])
        self.probs_ = np.asarray(arrays["probs"], dtype=float)
        if self.probs_.shape != (self.codec_.size, self.n_cells_):
            raise ValueError(f"probs has shape {self.probs_.shape}, expected {(self.codec_.size, self.n_cells_)}")

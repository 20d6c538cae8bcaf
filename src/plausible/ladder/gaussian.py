"""gaussian: one full-covariance multivariate normal over the numbers, categories on their own.

The continuous values x (one per numeric, integer or datetime column with a continuous part) are
modelled jointly as x ~ N(mu, S). A value that does not apply in a row (the column is at a point
mass, or missing) is absent and integrated out, so a row with present values O has density
N(x_O; mu_O, S_OO). The discrete variables d (categories, booleans, the state of each numeric
column) are independent of everything, with Laplace-smoothed frequencies theta_jk = (n_jk + alpha)
/ (N + K_j alpha), exactly as in `independent`:

    log P(d, x) = sum_j log theta_j[d_j] + log N(x_O; mu_O, S_OO).

A single Gaussian has no notion of categories: it captures linear dependence between numbers and
nothing else. For categories that depend on each other or on the numbers use `gmm` (a mixture
whose components are the categories' clusters), `copula` or `bayesnet`.

Fitting is EM with missing values (see `plausible._gaussian`): the E-step fills each absent value
with its conditional mean given the row's present values, the M-step takes the weighted moments
plus the conditional covariances, until the log-likelihood gains less than 1e-6 nats per row. It
runs in standardized units z = (x - center_) / scale_ (mean_ and covariance_ are stored there);
densities are reported in the columns' own units, log N(x) = log N(z) - sum_{c in O} log scale_c.

Shrinkage. With few rows per covariance entry, and more so with many cells missing, the maximum
likelihood correlations are noisy, the conditionals they give are too sure of themselves, and EM
may not even converge (wine, 178 rows x 13 columns, half the cells hidden: still moving after
2,000 iterations, 90% intervals covering 78%). Each M-step therefore divides every correlation by
1 + lambda, S <- (S + lambda diag(S)) / (1 + lambda), the variances unchanged (the mode of an
inverse-Wishart prior centred on diag(S) with lambda N pseudo-rows). `shrinkage=None` (default)
picks lambda from SHRINKAGE_GRID by the squared error of conditional means on present values
held out of the fit (`_choose_shrinkage`); tables with at least CV_ROWS_PER_ENTRY * C^2 rows use
lambda = 0 without searching, and tables with fewer than 2 rows per column (or 100+ columns) take
lambda in closed form from the Ledoit-Wolf shrinkage (`plausible._gaussian.ledoit_wolf_lambda`):
there the search picked lambda = 0, whose singular covariance the squared error of conditional
means cannot see, and scored fresh rows of a 50 x 300 table at -3e7 nats (now about -500), after
31 s of search (200 x 1000: over 10 minutes; now 3 s). On 1,000 rows x 150 columns with 10% gaps
a fit with the search takes 6 s, one with Ledoit-Wolf 3 s (the search took 230 s before rows with
their own gap patterns were solved block by block); on such a table (5 factors, 20% hidden) Ledoit-Wolf's
lambda (0.012) imputed with nRMSE 0.473 against 0.475 for the search's 0.3. On wine the search picks 0.03-0.3 and the 90% coverage at 50%
hidden rises to 0.87 (median of 3 masks); on diabetes it picks 0-0.03 and changes little. The
grid reaches down to 0.001 because a near-deterministic relation is spoiled by even a little
shrinkage: two columns correlated at 0.999 have conditional variance 0.002, and 0.022 after
lambda = 0.01 (breast_cancer on the log scale, 50% hidden: 90% coverage of radius, perimeter and
area 0.98-0.99 with lambda = 0.01; all columns 0.931, and 0.912 with the finer grid).

Log scale. Measurements such as lengths, areas and concentrations are often products of one
another (area ~ radius^2), which is linear only between their logarithms. `transform="log"`
models every continuous column whose training values are all positive (not integers or dates)
as log x; `"auto"` keeps only those closer to normal on that scale: the normal likelihood of
log x, counted in the column's own units (its Jacobian -sum log x included), beats that of x,
i.e. n/2 log var(log x) + sum log x < n/2 log var(x). Densities stay in the columns' own units
(minus sum log x over the logged present values), draws are exp of the Gaussian's, so they stay
positive, and `mean` / `covariance` are of log x for those columns (`logged_` says which). On
breast_cancer with 20% of cells hidden, `student` with "auto" (24 of 30 columns logged) imputes
with nRMSE 0.275 against 0.307 without (median of 3 masks). "auto" is the default (since
2026-12-04; "none" before): in bench_ladder gaussian's detection AUC fell from 0.810 to 0.675 on
breast_cancer (marginal fidelity 0.832 -> 0.859, held-out log-likelihood 25.2 -> 38.7 nats), from
0.557 to 0.547 on wine and from 0.927 (a row of 2026-11-23) to 0.920 on the mixed table, its utility ratio
0.564 -> 0.516, 0.480 -> 0.530 and 0.570 -> 0.556; columns with any value <= 0 (centred or
standardised data) are never logged, so such tables are unchanged.

Restoring (`pl.restore`, "exact") from linear measurements y = A x + noise of the numeric columns is
the Gaussian's exact posterior (`_linear_gaussian`); a logged column makes the map non-linear, so it
is refused (fit with transform='none').

Imputation is exact: unknown discrete cells are drawn from their marginals with the MISSING
code excluded (`layout.evidence`), then the unknown values that end up present are drawn from
x_M | x_O ~ N(mu_M + (x_O - mu_O) S_OO^-1 S_OM, S_MM - S_MO S_OO^-1 S_OM) given the known ones.
"""
from __future__ import annotations

import copy

import numpy as np
from scipy.stats import invwishart

from ..core.errors import ParameterError
from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.layout import Encoded
from ._gaussian import (em_statistics, em_step, few_rows, impute_values, iteration_bar, ledoit_wolf_from,
                        ledoit_wolf_moments, log_density, patterns, sample_missing, scaled)
from ._linear_gaussian import Posterior, Prior, table_columns
from ._marginals import OnePiece, add_up, dirichlet, draw_categorical, laplace, total

TOLERANCE = 1e-6  # EM stops when the log-likelihood gains less than this many nats per row
SHRINKAGE_GRID = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3)   # lambdas tried by shrinkage=None
HOLDOUT = 0.05             # share of the present values hidden in each fold to choose lambda
FOLDS = 3                  # folds (disjoint sets of hidden values)
CV_ITER = 50               # EM iterations at most per fit in the search (each starts from a near one)
MIN_HOLDOUT = 20           # fewer hidden values than this: no search, lambda = 0 (largest if N <= C)
CV_ROWS_PER_ENTRY = 20     # N >= this * C^2: no search, lambda = 0
POSTERIOR_BURN = 10        # data-augmentation steps before the first kept parameter draw
POSTERIOR_THIN = 2         # steps between kept draws


@register
class Gaussian(Model):
    name = "gaussian"
    assumed_error_shape = True   # forecasting: its conditionals are Gaussian by assumption
    family = "classical"
    complexity = 30
    description = "one full-covariance multivariate normal over the numbers (EM with gaps); categories independent"
    log_prob_kind = "exact"
    impute_kind = "exact"
    restore_methods = ("exact",)
    params = {
        "alpha": Param(1.0, float, "Laplace pseudo-count added to every category and state", low=0.0),
        "max_iter": Param(200, int, "EM iterations at most (values absent in some rows)", low=1, high=100_000),
        "shrinkage": Param(None, float, "lambda: every correlation is divided by 1 + lambda (0 = maximum "
                           "likelihood; None = chosen on held-out cells, see the docstring)", low=0.0, optional=True),
        "transform": Param("auto", str, "numbers on the log scale: auto (the columns whose values are all positive "
                           "and closer to normal on the log scale); log (every all-positive column); none",
                           choices=("none", "log", "auto")),
    }

    @property
    def mean(self) -> np.ndarray:
        """The fitted mean of the continuous variables, in the columns' own units (of log x where logged)."""
        return self.center_ + self.scale_ * self.mean_

    @property
    def covariance(self) -> np.ndarray:
        """The fitted covariance of the continuous variables, in the columns' own units (log x where logged)."""
        return self.covariance_ * np.outer(self.scale_, self.scale_)

    @property
    def merged_fit(self) -> bool:
        """Fitted exactly from per-piece statistics (`core/by_parts.py`): counts, sums and EM's moments
        over the pieces. A subclass with an EM of its own (`student`'s ECME) fits in memory."""
        return type(self)._em is Gaussian._em

    def _fit(self, data: Encoded, rng) -> None:
        self._fit_pieces(OnePiece(data), rng)

    def _fit_pieces(self, pieces, rng) -> None:
        """The fit from the table's pieces (`_marginals.OnePiece`), the same code in memory and by
        parts, each step a pass of additive statistics: counts, sums and extremes; squared deviations
        (the log scale's choice and the standardization); the shrinkage's search; EM."""
        layout = self.layout_
        first = total(pieces, self._sums)
        self.discrete_probs_ = [laplace(counts, self.alpha) for counts in first["codes"]]
        count = first["count"]
        mean, mean_log = first["sum"] / np.maximum(count, 1), first["sum_log"] / np.maximum(count, 1)
        squares, squares_log = total(pieces, self._squares, mean, mean_log)
        self.logged_ = np.zeros(len(layout.continuous), dtype=bool)
        if self.transform != "none":
            for c, var in enumerate(layout.continuous):
                n = count[c]
                if var.integer or layout.schema[var.column].kind == "datetime" or n < 3 or first["min"][c] <= 0 \
                        or first["max"][c] == first["min"][c]:
                    continue
                self.logged_[c] = self.transform == "log" or \
                    n / 2 * np.log(squares_log[c] / n) + first["sum_log"][c] < n / 2 * np.log(squares[c] / n)
        self.center_, self.scale_, self.ridge_ = scaled(layout, count, np.where(self.logged_, mean_log, mean),
                                                        np.where(self.logged_, squares_log, squares))
        self._gaps = bool((count < pieces.rows).any())
        start = np.zeros((1, len(count))), np.eye(len(count))[None]           # a stack of one Gaussian
        self.shrinkage_, self.shrinkage_scores_ = self.shrinkage, {}
        if self.shrinkage is None:
            self.shrinkage_, self.shrinkage_scores_, start = self._choose_shrinkage(pieces, rng)
        (means, covariances), self.n_iter_ = self._em_over(pieces, self.shrinkage_, start)
        self.mean_, self.covariance_ = means[0], covariances[0]
        del self._gaps

    def _sums(self, piece: Encoded, first_row: int) -> dict:
        """One piece's counts of codes, and per continuous variable its present count, sum, sum of
        logs (of positive values), smallest and largest value."""
        values = piece.values
        present = ~np.isnan(values)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(present & (values > 0), np.log(values), 0.0)
        return {"codes": [np.bincount(piece.codes[:, j], minlength=var.cardinality)
                          for j, var in enumerate(self.layout_.discrete)],
                "count": present.sum(axis=0), "sum": np.where(present, values, 0.0).sum(axis=0),
                "sum_log": logs.sum(axis=0), "min": np.fmin.reduce(values, axis=0, initial=np.inf),
                "max": np.fmax.reduce(values, axis=0, initial=-np.inf)}

    def _squares(self, piece: Encoded, first_row: int, mean: np.ndarray, mean_log: np.ndarray) -> tuple:
        """One piece's sums of squared deviations of the values from `mean` and of their logs from
        `mean_log` (positive values)."""
        values = piece.values
        present = ~np.isnan(values)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(present & (values > 0), np.log(values) - mean_log, 0.0)
        return np.where(present, (values - mean) ** 2, 0.0).sum(axis=0), (logs ** 2).sum(axis=0)

    def _z(self, piece: Encoded, first_row: int, hidden=None) -> np.ndarray:
        """A piece's standardized values, with the cells a shrinkage fold hides (`hidden`) absent."""
        z = (self._to_model(piece.values) - self.center_) / self.scale_
        return z if hidden is None else np.where(self._hidden(z, first_row, hidden), np.nan, z)

    @staticmethod
    def _hidden(z: np.ndarray, first_row: int, hidden) -> np.ndarray:
        """The cells of a piece of z (its first row `first_row` of the table) that fold f hides: the
        uniform draws of the cells of those rows from the search's generator state, whose stream the
        table's cells take in row order (so the folds are the same in memory and in pieces)."""
        state, f = hidden
        generator = np.random.PCG64()
        generator.state = state
        generator.advance(first_row * z.shape[1])
        present = ~np.isnan(z)
        fold = np.where(present, np.floor(np.random.Generator(generator).random(z.shape) / HOLDOUT), -1)
        chosen = fold == f
        return chosen & (present.sum(axis=1, keepdims=True) - chosen.sum(axis=1, keepdims=True) >= 1)

    def _to_model(self, values: np.ndarray) -> np.ndarray:
        """Values in the columns' units -> the Gaussian's (log x in logged columns; -inf for x <= 0)."""
        if not self.logged_.any():
            return values
        out = values.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, self.logged_] = np.where(out[:, self.logged_] > 0, np.log(out[:, self.logged_]),
                                            np.where(np.isnan(out[:, self.logged_]), np.nan, -np.inf))
        return out

    def _from_model(self, values: np.ndarray) -> np.ndarray:
        if not self.logged_.any():
            return values
        out = values.copy()
        out[:, self.logged_] = np.exp(out[:, self.logged_])
        return out

    def _em(self, z: np.ndarray, shrink: float, start, max_iter: int | None = None):
        """EM on standardized values z in memory (a subclass may replace it: see `merged_fit`)."""
        groups = patterns(z)
        return self._run_em(lambda means, covariances: [em_statistics(z, means, covariances, groups)], len(z),
                            bool(np.isnan(z).any()), shrink, start, max_iter)

    def _em_over(self, pieces, shrink: float, start, max_iter: int | None = None, hidden=None):
        """EM over the pieces (standardized, the cells of `hidden` absent) from `start` (means (1, C),
        covariances (1, C, C)) to convergence, or `max_iter` (default: the model's) iterations;
        returns ((means, covariances), iterations)."""
        if not self.merged_fit:
            return self._em(np.concatenate(list(pieces.each(self._z, hidden))), shrink, start, max_iter)
        return self._run_em(lambda means, covariances: pieces.each(self._em_piece, hidden, means, covariances),
                            pieces.rows, self._gaps or hidden is not None, shrink, start, max_iter)

    def _em_piece(self, piece: Encoded, first_row: int, hidden, means: np.ndarray, covariances: np.ndarray) -> tuple:
        return em_statistics(self._z(piece, first_row, hidden), means, covariances)

    def _run_em(self, passes, n: int, gaps: bool, shrink: float, start, max_iter: int | None):
        """EM: `passes(means, covariances)` gives each piece's `em_statistics`; each iteration is one
        M-step from their sums and one pass, whose log-likelihood says when to stop (it gains less
        than TOLERANCE nats per row)."""
        means, covariances = start
        statistics = add_up(passes(means, covariances))
        previous = -np.inf
        iterations = min(self.max_iter, max_iter or self.max_iter)
        for iteration in iteration_bar(n, means.shape[1], gaps, iterations, "gaussian EM"):
            means, covariances = em_step(means, covariances, self.ridge_, *statistics[1:], shrink=shrink)
            statistics = add_up(passes(means, covariances))
            if statistics[0] - previous < TOLERANCE * n:
                break
            previous = statistics[0]
        return (means, covariances), iteration

    def _choose_shrinkage(self, pieces, rng) -> tuple[float, dict, tuple]:
        """lambda from SHRINKAGE_GRID with the smallest held-out squared error, its scores, an EM start.

        FOLDS times, a different HOLDOUT share of the present values (never a row's last one) is
        hidden, the model is fitted at each lambda (warm-started from the fit to the whole table,
        then from the previous lambda; at most CV_ITER iterations each) and each hidden value is
        predicted by its conditional mean given the rest of its row; the score is the mean squared
        error in standardized units over all folds. Tables with at least
        CV_ROWS_PER_ENTRY * C^2 rows skip the search and use lambda = 0: the correlations are then
        well determined and the search would only cost time. The cells' fold draws come from `rng`
        in row order (`_hidden`), the same in memory and over a partitioned table's pieces.
        """
        n, c = pieces.rows, len(self.center_)
        start = np.zeros((1, c)), np.eye(c)[None]
        if c < 2 or n >= CV_ROWS_PER_ENTRY * c * c:
            return 0.0, {}, start
        if few_rows(n, c):
            center = total(pieces, self._ledoit_wolf)[0] / n
            return ledoit_wolf_from(n, *total(pieces, self._ledoit_wolf, center)), {}, start
        state = rng.bit_generator.state
        rng.bit_generator.advance(n * c)            # as if the (N, C) draws were taken here
        hidden = [(state, f) for f in range(FOLDS)]
        sizes = [total(pieces, self._hidden_count, fold) for fold in hidden]
        if sum(sizes) < MIN_HOLDOUT:
            return 0.0, {}, start          # too few cells to compare (and rows enough, see few_rows)
        whole, _ = self._em_over(pieces, 0.0, start, CV_ITER)
        errors = {shrink: 0.0 for shrink in SHRINKAGE_GRID}
        for fold in hidden:
            begin = whole
            for shrink in SHRINKAGE_GRID:
                (means, covariances), _ = self._em_over(pieces, shrink, begin, CV_ITER, fold)
                begin = (means, covariances)
                errors[shrink] += total(pieces, self._holdout_error, fold, means, covariances)
        scores = {shrink: error / sum(sizes) for shrink, error in errors.items()}
        return min(scores, key=scores.get), scores, whole

    def _ledoit_wolf(self, piece: Encoded, first_row: int, center=None) -> tuple:
        return ledoit_wolf_moments(self._z(piece, first_row), center)

    def _hidden_count(self, piece: Encoded, first_row: int, fold) -> int:
        return int(self._hidden(self._z(piece, first_row), first_row, fold).sum())

    def _holdout_error(self, piece: Encoded, first_row: int, fold, means: np.ndarray, covariances: np.ndarray) -> float:
        """A piece's squared error of the conditional means of the cells `fold` hides."""
        z = self._z(piece, first_row)
        chosen = self._hidden(z, first_row, fold)
        train = np.where(chosen, np.nan, z)
        predicted = sample_missing(train, means, covariances, np.zeros(len(z), np.int64), None)
        return float(np.sum((predicted[chosen] - z[chosen]) ** 2))

    def _posterior_draws(self, data: Encoded, n: int, rng) -> list["Gaussian"]:
        """Data augmentation (Tanner & Wong 1987; Schafer 1997, ch. 5), started at the fitted model.

        I-step: every absent value is drawn from its conditional given the row (`sample_missing`).
        P-step: with the completed z (N rows, mean zbar, scatter A), draw
            S ~ inverse-Wishart(N (1 + lambda) + C + 1, A + lambda diag(A) + N (1 + lambda) diag(ridge)),
            mu | S ~ N(zbar, S / N),
        whose mean is the fit's estimate (A/N + lambda diag(A/N)) / (1 + lambda) + diag(ridge), and
        each discrete variable's probabilities from Dirichlet(counts + alpha), whose mean is the
        Laplace estimate. After POSTERIOR_BURN steps every POSTERIOR_THIN-th state is kept.
        """
        z = (self._to_model(data.values) - self.center_) / self.scale_
        rows, c = z.shape
        groups = patterns(z)
        counts = [np.bincount(data.codes[:, j], minlength=len(p)) for j, p in enumerate(self.discrete_probs_)]
        mean, covariance, shrink = self.mean_, self.covariance_, self.shrinkage_
        out = []
        for step in range(POSTERIOR_BURN + (n - 1) * POSTERIOR_THIN + 1):
            if c:
                full, weights = self._augment(z, mean, covariance, groups, rng)
                if weights is None:
                    centre, total = full.mean(axis=0), rows
                    scatter = (full - centre).T @ (full - centre)
                else:   # row i counts weights[i] times (the t's scale draws tau_i)
                    total = weights.sum()
                    centre = weights @ full / total
                    scatter = ((full - centre) * weights[:, None]).T @ (full - centre)
                scatter = scatter + shrink * np.diag(np.diag(scatter)) + rows * (1 + shrink) * np.diag(self.ridge_)
                covariance = np.atleast_2d(invwishart.rvs(df=rows * (1 + shrink) + c + 1, scale=scatter,
                                                          random_state=rng))
                mean = rng.multivariate_normal(centre, covariance / total)
            if step >= POSTERIOR_BURN and (step - POSTERIOR_BURN) % POSTERIOR_THIN == 0:
                draw = copy.copy(self)
                draw.mean_, draw.covariance_ = mean, covariance
                draw.discrete_probs_ = [dirichlet(count + self.alpha, rng) for count in counts]
                out.append(draw)
        return out

    def _augment(self, z: np.ndarray, mean: np.ndarray, covariance: np.ndarray, groups, rng):
        """The I-step of data augmentation: z with every absent value drawn given its row under
        (mean, covariance), and the rows' weights in the P-step (None: all 1)."""
        return sample_missing(z, mean[None], covariance[None], np.zeros(len(z), np.int64), rng, groups), None

    def _log_prob(self, data: Encoded) -> np.ndarray:
        total = np.zeros(len(data))
        for j, probs in enumerate(self.discrete_probs_):
            total += np.log(probs[data.codes[:, j]])
        values = self._to_model(np.where(self.layout_.value_active(data.codes), data.values, np.nan))
        jacobian = np.where(np.isnan(values), 0.0, np.log(self.scale_) + np.where(self.logged_, values, 0.0)).sum(axis=1)
        impossible = np.isneginf(values).any(axis=1)          # x <= 0 in a logged column: density 0
        z = (np.where(np.isneginf(values), 0.0, values) - self.center_) / self.scale_
        return np.where(impossible, -np.inf, total + self._values_log_density(z) - jacobian)

    def _values_log_density(self, z: np.ndarray) -> np.ndarray:
        """(N,) log density of each row's present standardized values (absent ones integrated out)."""
        return log_density(z, self.mean_[None], self.covariance_[None])[:, 0]

    def _complete(self, data: Encoded, allowed: list[np.ndarray], rng) -> Encoded:
        """Fill unknown codes (restricted to `allowed`), then the unknown values that are present."""
        codes = data.codes.copy()
        for j, probs in enumerate(self.discrete_probs_):
            rows = np.flatnonzero(codes[:, j] < 0)
            if rows.size:
                codes[rows, j] = draw_categorical(probs * allowed[j][rows], rng)
        active = self.layout_.value_active(codes)
        below = self.logged_ & (data.values <= 0).any(axis=0)     # NaN compares False
        if below.any():
            name = self.layout_.continuous[int(np.flatnonzero(below)[0])].column
            raise ValueError(f"column {name!r} is modelled on the log scale (its training values were all positive) "
                             "but a known value is <= 0; fit with transform='none' to condition on it")
        values = self._from_model(self._draw_values(self._to_model(data.values), active, rng))
        known = ~np.isnan(data.values)
        values[known] = data.values[known]                     # exactly, not exp(log x)
        return Encoded(codes, values)

    def _draw_values(self, values: np.ndarray, active: np.ndarray, rng) -> np.ndarray:
        """values (the Gaussian's units, see `_to_model`) with every NaN drawn given the row's present
        values, NaN again where `active` is False; present values kept exactly."""
        return impute_values(values, active, self.center_, self.scale_, self.mean_[None], self.covariance_[None],
                             np.zeros(len(values), np.int64), rng)

    def _restore(self, y, operator, noise_sd, n_draws, rng, method) -> np.ndarray:
        """Exact posterior draws of the numeric columns (their own units) given y = A x + noise: the
        Gaussian N(center + scale mu, diag(scale) S diag(scale)) conditioned (`_linear_gaussian`)."""
        order, _ = table_columns(self.layout_)      # the nullable columns' states: independent of the values
        if self.logged_[order].any():
            name = self.layout_.continuous[int(order[self.logged_[order]][0])].column
            raise ParameterError(f"column {name!r} is modelled on the log scale, where y = A x is not linear: fit with "
                                 "transform='none' to restore from linear measurements")
        prior = Prior(self.mean[order][None], self.covariance[np.ix_(order, order)][None])
        return Posterior(prior, np.ones(1), y, operator, noise_sd).draws(n_draws, rng)

    def _get_state(self):
        arrays = {f"discrete_{j}": p for j, p in enumerate(self.discrete_probs_)}
        arrays.update(center=self.center_, scale=self.scale_, ridge=self.ridge_, mean=self.mean_,
                      covariance=self.covariance_, logged=self.logged_.astype(np.int8))
        return {"n_iter": self.n_iter_, "shrinkage": self.shrinkage_,
                "shrinkage_scores": [[k, v] for k, v in self.shrinkage_scores_.items()]}, arrays

    def _set_state(self, state, arrays):
        self.discrete_probs_ = [arrays[f"discrete_{j}"] for j in range(len(self.layout_.discrete))]
        self.center_, self.scale_, self.ridge_ = arrays["center"], arrays["scale"], arrays["ridge"]
        self.mean_, self.covariance_ = arrays["mean"], arrays["covariance"]
        self.logged_ = np.asarray(arrays.get("logged", np.zeros(len(self.mean_))), dtype=bool)
        self.n_iter_ = state["n_iter"]
        self.shrinkage_ = state.get("shrinkage", 0.0)
        self.shrinkage_scores_ = {k: v for k, v in state.get("shrinkage_scores", [])}


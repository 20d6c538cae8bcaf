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

Imputation is exact: unknown discrete cells are drawn from their marginals with the MISSING
code excluded (`layout.evidence`), then the unknown values that end up present are drawn from
x_M | x_O ~ N(mu_M + (x_O - mu_O) S_OO^-1 S_OM, S_MM - S_MO S_OO^-1 S_OM) given the known ones.
"""
from __future__ import annotations

import numpy as np

from .._gaussian import em_update, impute_values, log_density, patterns, standardization
from ..base import Model, Param
from ..layout import Encoded
from ..marginals import draw_categorical, laplace
from ..registry import register

TOLERANCE = 1e-6  # EM stops when the log-likelihood gains less than this many nats per row


@register
class Gaussian(Model):
    name = "gaussian"
    family = "classical"
    complexity = 30
    description = "one full-covariance multivariate normal over the numbers (EM with gaps); categories independent"
    log_prob_kind = "exact"
    impute_kind = "exact"
    params = {
        "alpha": Param(1.0, float, "Laplace pseudo-count added to every category and state", low=0.0),
        "max_iter": Param(200, int, "EM iterations at most (values absent in some rows)", low=1, high=100_000),
    }

    @property
    def mean(self) -> np.ndarray:
        """The fitted mean of the continuous variables, in the columns' own units."""
        return self.center_ + self.scale_ * self.mean_

    @property
    def covariance(self) -> np.ndarray:
        """The fitted covariance of the continuous variables, in the columns' own units."""
        return self.covariance_ * np.outer(self.scale_, self.scale_)

    def _fit(self, data: Encoded, rng) -> None:
        self.discrete_probs_ = [laplace(np.bincount(data.codes[:, j], minlength=var.cardinality), self.alpha)
                                for j, var in enumerate(self.layout_.discrete)]
        self.center_, self.scale_, self.ridge_ = standardization(self.layout_, data.values)
        z = (data.values - self.center_) / self.scale_                       # (N, C)
        groups = patterns(z)
        means, covariances = np.zeros((1, z.shape[1])), np.eye(z.shape[1])[None]   # a stack of one Gaussian
        previous = -np.inf
        for iteration in range(1, self.max_iter + 1):
            means, covariances = em_update(z, means, covariances, self.ridge_, groups=groups)
            log_likelihood = log_density(z, means, covariances, groups).sum()
            if log_likelihood - previous < TOLERANCE * len(z):
                break
            previous = log_likelihood
        self.mean_, self.covariance_, self.n_iter_ = means[0], covariances[0], iteration

    def _log_prob(self, data: Encoded) -> np.ndarray:
        total = np.zeros(len(data))
        for j, probs in enumerate(self.discrete_probs_):
            total += np.log(probs[data.codes[:, j]])
        values = np.where(self.layout_.value_active(data.codes), data.values, np.nan)
        jacobian = np.where(np.isnan(values), 0.0, np.log(self.scale_)).sum(axis=1)
        z = (values - self.center_) / self.scale_
        return total + log_density(z, self.mean_[None], self.covariance_[None])[:, 0] - jacobian

    def _complete(self, data: Encoded, allowed: list[np.ndarray], rng) -> Encoded:
        """Fill unknown codes (restricted to `allowed`), then the unknown values that are present."""
        codes = data.codes.copy()
        for j, probs in enumerate(self.discrete_probs_):
            rows = np.flatnonzero(codes[:, j] < 0)
            if rows.size:
                codes[rows, j] = draw_categorical(probs * allowed[j][rows], rng)
        values = impute_values(data.values, self.layout_.value_active(codes), self.center_, self.scale_,
                               self.mean_[None], self.covariance_[None], np.zeros(len(data), np.int64), rng)
        return Encoded(codes, values)

    def _get_state(self):
        arrays = {f"discrete_{j}": p for j, p in enumerate(self.discrete_probs_)}
        arrays.update(center=self.center_, scale=self.scale_, ridge=self.ridge_, mean=self.mean_,
                      covariance=self.covariance_)
        return {"n_iter": self.n_iter_}, arrays

    def _set_state(self, state, arrays):
        self.discrete_probs_ = [arrays[f"discrete_{j}"] for j in range(len(self.layout_.discrete))]
        self.center_, self.scale_, self.ridge_ = arrays["center"], arrays["scale"], arrays["ridge"]
        self.mean_, self.covariance_ = arrays["mean"], arrays["covariance"]
        self.n_iter_ = state["n_iter"]

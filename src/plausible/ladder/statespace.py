"""statespace: a linear Gaussian state-space model of series, learned by EM with the Kalman smoother.

Data: a table whose ROWS are series and whose COLUMNS are time steps (windows cut from a long
series, or a 1 x T table holding one long series). Every cell is a number; NaN = not observed.
Each row is an independent draw of

    x_1 ~ N(0, P0),   x_t = A x_{t-1} + w_t,   w_t ~ N(0, Q)         (hidden state, k dims)
    y_t = C x_t + d + u_t,                     u_t ~ N(0, R)         (one number per step)

with P0 the stationary covariance, P0 = A P0 A' + Q (A is kept stable, see "Guards"). Everything
runs on standardized numbers z = (y - center) / scale (one center and scale for all cells, since
the parameters do not depend on t); `parameters` reports C, d, R in the data's units.

Kalman filter (E-step part 1, and the exact likelihood). With m_t, P_t the predicted mean and
covariance of x_t given y_1..y_{t-1} (m_1 = 0, P_1 = P0):

    s_t = C P_t C' + R,   K_t = P_t C' / s_t,   v_t = y_t - C m_t - d              (innovation)
    filtered:   m_t|t = m_t + K_t v_t,   P_t|t = P_t - K_t s_t K_t'
    predicted:  m_t+1 = A m_t|t,         P_t+1 = A P_t|t A' + Q
    log P(y_1..y_T) = sum over observed t of -1/2 (log 2 pi + log s_t + v_t^2 / s_t)

An unobserved y_t skips the update (m_t|t = m_t, P_t|t = P_t), which integrates it out exactly.

RTS smoother (E-step part 2): with J_t = P_t|t A' P_t+1^-1, backwards from m_T|T, P_T|T,

    m_t|T = m_t|t + J_t (m_t+1|T - m_t+1),   P_t|T = P_t|t + J_t (P_t+1|T - P_t+1) J_t'
    Cov(x_t+1, x_t | all y) = P_t+1|T J_t'

EM M-step (closed form, Shumway & Stoffer 1982), with E[.] the smoothed moments summed over rows:
S00 = sum_{t<T} E[x_t x_t'], S11 = sum_{t>1} E[x_t x_t'], S10 = sum_{t>1} E[x_t x_{t-1}'], n_tr the
number of transitions, and over observed cells only the regression of y on [x, 1]:

    A = S10 S00^-1,   Q = (S11 - A S10') / n_tr
    [C d] = [sum y E[x]', sum y] [[sum E[x x'], sum E[x]], [sum E[x]', n_obs]]^-1
    R = (sum y^2 - C sum y E[x] - d sum y) / n_obs

The term of x_1 ~ N(0, P0) is left out of the A, Q update (P0 then follows from A and Q), so an
iteration is a generalised EM step; the best parameters seen are kept.

Forward-filter, backward-sample (impute): draw x_T ~ N(m_T|T, P_T|T), then backwards
x_t | x_t+1, y_1..y_t ~ N(m_t|t + J_t (x_t+1 - m_t+1), P_t|t - J_t P_t+1 J_t'); a missing y_t is
C x_t + d + u_t with a fresh u_t. The path is one joint draw from P(missing | observed), not a
draw per cell. `forecast` filters the history, draws x_T+1 ~ N(m_T+1, P_T+1) and runs the model
forward, so its paths are exact draws from P(future | history).

Speed: away from gaps the Riccati recursion for P_t converges within a few dozen steps; from then
on K, P and J are constant and the mean recursions m_t+1 = G m_t + b_t are linear time-invariant
filters, run in one `scipy.signal.lfilter` call per eigen-mode of G (`_recursion`). So an EM
iteration on one series of 5,000 steps costs about as much as one on 100 steps.

Guards: the spectral radius of A is clipped to at most 0.999 after each M-step (the model stays
stationary, so every row has a proper start distribution and log_prob of a short window is
exact; unit roots and trends are the forecasting layer's business: it differences first); R and
the eigenvalues of Q are floored at 1e-6 and 1e-8 of the data variance; the state is rescaled to
unit stationary variance (which changes nothing the model says). EM starts from the AR(k)
Yule-Walker fit in companion form, stops when the log-likelihood changes by less than `tol` of
itself or after `max_iter` iterations (EM crawls, gaining a few hundredths of a nat per
iteration, where the likelihood is flat: the split between Q and R, or R -> 0 on a random walk).

`state_dim=None` tries k = 1, 2, ... 4 and keeps the best BIC, with 2k + 2 free parameters (an
ARMA(k, k) with a mean has as many), stopping at the first k that does not improve it. Each k
gets 30 EM iterations for the comparison (a BIC step is worth log n nats, far more than the
crawl), then the chosen one runs on to convergence.

Limits: a fitted model knows its column count, so `sample`, `log_prob` and `impute` take tables
of that many steps; `forecast` takes a history of any length. The E-step holds (N, T, k, k)
covariances, so a table of N x T cells costs about 8 N T k^2 bytes per array.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg, signal

from ..core.model import Model
from ..core.params import Param, _check_count
from ..core.registry import register

LOG_2PI = float(np.log(2 * np.pi))
MAX_RADIUS = 0.999   # A's spectral radius is clipped to this
R_FLOOR = 1e-6       # observation variance at least this (standardized units)
Q_FLOOR = 1e-8       # eigenvalues of Q at least this
STEADY = 1e-11       # the Riccati recursion is converged when P moves less than this
MAX_AUTO_STATE = 4   # state_dim=None tries 1..MAX_AUTO_STATE
SCREEN_ITER = 30     # EM iterations each k gets before BIC compares them


class Parameters(NamedTuple):
    A: np.ndarray    # (k, k)
    C: np.ndarray    # (k,)
    d: float
    Q: np.ndarray    # (k, k)
    R: float
    P0: np.ndarray   # (k, k) stationary covariance of x


class Filtered(NamedTuple):
    mp: np.ndarray       # (N, T, k)    predicted means m_t
    Pp: np.ndarray       # (N, T, k, k) predicted covariances P_t
    mf: np.ndarray       # (N, T, k)    filtered means m_t|t
    Pf: np.ndarray       # (N, T, k, k) filtered covariances P_t|t
    steady: np.ndarray   # (T,) bool: step t used the converged gain (so J_t is the steady one)
    loglik: np.ndarray   # (N,) log P(observed cells of the row)
    next_mean: np.ndarray  # (N, k) m_T+1
    next_cov: np.ndarray   # (N, k, k) P_T+1


# ---------------------------------------------------------------------- linear algebra helpers
def stationary(A: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """P0 with P0 = A P0 A' + Q (A stable)."""
    P0 = linalg.solve_discrete_lyapunov(A, Q)
    return (P0 + P0.T) / 2


def _sqrt_psd(P: np.ndarray) -> np.ndarray:
    """L with L L' = P for (..., k, k) positive semi-definite P (eigenvalues below 0 clipped)."""
    values, vectors = np.linalg.eigh((P + np.swapaxes(P, -1, -2)) / 2)
    return vectors * np.sqrt(np.clip(values, 0.0, None))[..., None, :]


def _recursion(G: np.ndarray, inputs: np.ndarray, start: np.ndarray) -> np.ndarray:
    """s_n = G s_n-1 + inputs_n for n = 0..L-1 with s_-1 = start: (N, L, k) from (N, L, k), (N, k).

    In the eigenbasis of G = V diag(lam) V^-1 every mode is a first-order filter, one lfilter call
    each; a (nearly) defective G falls back to the plain loop.
    """
    lam, V = np.linalg.eig(G)
    if np.linalg.cond(V) < 1e6:
        W = np.linalg.inv(V)
        modes, first = inputs @ W.T, start @ W.T                       # (N, L, k), (N, k) complex
        out = np.empty(modes.shape, dtype=complex)
        for i, root in enumerate(lam):
            out[..., i] = signal.lfilter([1.0], [1.0, -root], modes[..., i], axis=1,
                                         zi=(root * first[:, i])[:, None])[0]
        return (out @ V.T).real
    out, s = np.empty(inputs.shape), start
    for n in range(inputs.shape[1]):
        s = out[:, n] = s @ G.T + inputs[:, n]
    return out


def _runs_end(flags: np.ndarray) -> np.ndarray:
    """For each t, the first index >= t where `flags` is False (len(flags) if none)."""
    index = np.where(flags, len(flags), np.arange(len(flags)))
    return np.minimum.accumulate(index[::-1])[::-1]


def _runs_start(flags: np.ndarray) -> np.ndarray:
    """For each t, the first index of the run of True `flags` that holds t (t + 1 if flags[t] is False)."""
    return np.maximum.accumulate(np.where(flags, 0, np.arange(1, len(flags) + 1)))


# ---------------------------------------------------------------------- filter and smoother
def kalman_filter(Z: np.ndarray, p: Parameters) -> Filtered:
    """The Kalman filter over every row of Z (N, T), standardized, NaN = unobserved."""
    N, T = Z.shape
    k = len(p.A)
    observed = ~np.isnan(Z)
    U = np.where(observed, Z - p.d, 0.0)                                # y_t - d
    gap_free_until = _runs_end(observed.all(axis=0))
    mp, mf = np.empty((N, T, k)), np.empty((N, T, k))
    Pp, Pf = np.empty((N, T, k, k)), np.empty((N, T, k, k))
    steady, loglik = np.zeros(T, dtype=bool), np.zeros(N)
    m, P = np.zeros((N, k)), np.broadcast_to(p.P0, (N, k, k)).copy()
    converged, t = False, 0
    while t < T:
        if converged and gap_free_until[t] > t:                        # a stretch at the steady gain
            end = gap_free_until[t]
            P1 = P[0]
            s = p.C @ P1 @ p.C + p.R
            K = P1 @ p.C / s
            G, b = p.A - np.outer(p.A @ K, p.C), p.A @ K
            ahead = _recursion(G, U[:, t:end, None] * b, m)              # m_t+1 .. m_end
            block = np.concatenate([m[:, None], ahead[:, :-1]], axis=1)  # m_t .. m_end-1
            v = U[:, t:end] - block @ p.C
            mp[:, t:end], Pp[:, t:end] = block, P1
            mf[:, t:end], Pf[:, t:end] = block + v[..., None] * K, P1 - s * np.outer(K, K)
            loglik -= 0.5 * (v.shape[1] * (LOG_2PI + np.log(s)) + (v ** 2).sum(axis=1) / s)
            steady[t:end] = True
            m, t = ahead[:, -1], end
            continue
        o = observed[:, t]
        mp[:, t], Pp[:, t] = m, P
        PC = P @ p.C                                                    # (N, k)
        s = PC @ p.C + p.R                                              # (N,)
        v = U[:, t] - m @ p.C
        if not o.all():                                                 # no update where y_t is missing
            s, v = np.where(o, s, np.inf), np.where(o, v, 0.0)
        m = m + (v / s)[:, None] * PC
        Pu = P - PC[:, :, None] * (PC / s[:, None])[:, None, :]
        loglik -= np.where(o, 0.5 * (LOG_2PI + np.log(s) + v ** 2 / s), 0.0)
        mf[:, t], Pf[:, t] = m, Pu
        m, P_next = m @ p.A.T, p.A @ Pu @ p.A.T + p.Q
        converged = bool(o.all()) and np.abs(P_next - P).max() < STEADY
        P, t = P_next, t + 1
    return Filtered(mp, Pp, mf, Pf, steady, loglik, m, P)


def _gains(f: Filtered, p: Parameters) -> np.ndarray:
    """J_t = P_t|t A' P_t+1^-1 for t = 1..T-1, all at once: (N, T-1, k, k)."""
    return np.swapaxes(np.linalg.solve(f.Pp[:, 1:], p.A @ f.Pf[:, :-1]), -1, -2)


def _backward(J: np.ndarray, offsets: np.ndarray, last: np.ndarray, steady: np.ndarray) -> np.ndarray:
    """s_t = J_t s_t+1 + offsets_t backwards from s_T = last: (N, T, k). Constant-J runs in one go."""
    N, T, k = offsets.shape[0], offsets.shape[1] + 1, last.shape[1]
    out = np.empty((N, T, k))
    out[:, -1] = last
    starts = _runs_start(steady[:-1])
    t = T - 2
    while t >= 0:
        start = starts[t]
        if start < t:                                                   # J_start..J_t are one matrix
            run = _recursion(J[0, t], offsets[:, start:t + 1][:, ::-1], out[:, t + 1])
            out[:, start:t + 1] = run[:, ::-1]
            t = start - 1
            continue
        out[:, t] = np.einsum("nij,nj->ni", J[:, t], out[:, t + 1]) + offsets[:, t]
        t -= 1
    return out


def rts_smoother(f: Filtered, p: Parameters) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smoothed means (N, T, k), covariances (N, T, k, k), and the gains J (N, T-1, k, k)."""
    T = f.mf.shape[1]
    J = _gains(f, p)
    offsets = f.mf[:, :-1] - np.einsum("ntij,ntj->nti", J, f.mp[:, 1:])
    ms = _backward(J, offsets, f.mf[:, -1], f.steady)
    Ps = np.empty_like(f.Pf)
    Ps[:, -1] = f.Pf[:, -1]
    starts = _runs_start(f.steady[:-1])
    t = T - 2
    while t >= 0:
        Ps[:, t] = f.Pf[:, t] + J[:, t] @ (Ps[:, t + 1] - f.Pp[:, t + 1]) @ np.swapaxes(J[:, t], -1, -2)
        if starts[t] < t and np.abs(Ps[:, t] - Ps[:, t + 1]).max() < STEADY:   # converged in a steady run
            Ps[:, starts[t]:t] = Ps[:, t:t + 1]
            t = starts[t]
        t -= 1
    return ms, Ps, J


# ---------------------------------------------------------------------- EM
def m_step(Z: np.ndarray, ms: np.ndarray, Ps: np.ndarray, J: np.ndarray, old: Parameters) -> Parameters:
    """The closed-form M-step of the module docstring, from the smoothed moments."""
    observed = ~np.isnan(Z)
    y = np.where(observed, Z, 0.0)
    second = ms[..., :, None] * ms[..., None, :] + Ps                   # E[x_t x_t'] (N, T, k, k)
    k, n_obs = len(old.A), observed.sum()
    A, Q = old.A, old.Q
    if Z.shape[1] > 1:                                                  # transitions exist
        S00, S11 = second[:, :-1].sum(axis=(0, 1)), second[:, 1:].sum(axis=(0, 1))
        S10 = (ms[:, 1:, :, None] * ms[:, :-1, None, :] + Ps[:, 1:] @ np.swapaxes(J, -1, -2)).sum(axis=(0, 1))
        A = np.linalg.solve(S00, S10.T).T
        Q = (S11 - A @ S10.T) / (Z.shape[0] * (Z.shape[1] - 1))
    weights = observed[..., None].astype(float)
    Sxx = (second * weights[..., None]).sum(axis=(0, 1))
    Sx, Syx = (ms * weights).sum(axis=(0, 1)), (ms * y[..., None]).sum(axis=(0, 1))
    lhs = np.block([[Sxx, Sx[:, None]], [Sx[None, :], np.array([[n_obs]])]])
    rhs = np.append(Syx, y.sum())
    coef = np.linalg.solve(lhs + 1e-10 * np.eye(k + 1), rhs)
    C, d = coef[:k], float(coef[k])
    R = max(float((y ** 2).sum() - coef @ rhs) / n_obs, R_FLOOR)
    return _guard(A, C, d, Q, R)


def _guard(A, C, d, Q, R) -> Parameters:
    """Stable A, positive definite Q, and the state rescaled to unit stationary variance."""
    radius = np.abs(np.linalg.eigvals(A)).max()
    if radius > MAX_RADIUS:
        A = A * (MAX_RADIUS / radius)
    values, vectors = np.linalg.eigh((Q + Q.T) / 2)
    Q = (vectors * np.maximum(values, Q_FLOOR)) @ vectors.T
    P0 = stationary(A, Q)
    unit = 1 / np.sqrt(np.diag(P0))                                     # x -> x * unit
    scaling = np.outer(unit, unit)
    return Parameters(A * unit[:, None] / unit[None, :], C / unit, d, Q * scaling, R, P0 * scaling)


def _autocovariances(Z: np.ndarray, lags: int) -> np.ndarray:
    """gamma(0..lags) of the standardized cells, pooled over rows and pairs both observed."""
    out = np.zeros(lags + 1)
    for h in range(lags + 1):
        products = Z[:, h:] * Z[:, :Z.shape[1] - h]
        out[h] = np.nanmean(products) if np.isfinite(products).any() else 0.0
    return out


def initial_parameters(Z: np.ndarray, k: int) -> Parameters:
    """The AR(k) Yule-Walker fit in companion form (x_t = (y_t, y_t-1, ...)), plus some noise."""
    lags = min(k, Z.shape[1] - 1)
    gamma = _autocovariances(Z, lags)
    phi = np.zeros(k)
    if lags:
        phi[:lags] = linalg.solve(linalg.toeplitz(gamma[:lags]) + 1e-6 * np.eye(lags), gamma[1:], assume_a="sym")
    A = np.eye(k, k, -1)
    A[0] = phi
    innovation = max(gamma[0] - phi[:lags] @ gamma[1:], 0.05 * gamma[0], 1e-3)
    Q = 0.05 * gamma[0] * np.eye(k)
    Q[0, 0] += 0.8 * innovation
    return _guard(A, np.eye(k)[0], 0.0, Q, max(0.1 * gamma[0], R_FLOOR))


def fit_em(Z: np.ndarray, p: Parameters, max_iter: int, tol: float) -> tuple[Parameters, float, int]:
    """EM from `p`; returns the best parameters seen, their log-likelihood, and the iterations run."""
    best, best_loglik, previous = p, -np.inf, None
    for iteration in range(1, max_iter + 1):
        f = kalman_filter(Z, p)
        loglik = float(f.loglik.sum())
        if loglik > best_loglik:
            best, best_loglik = p, loglik
        if previous is not None and abs(loglik - previous) <= tol * (abs(previous) + 1.0):
            break
        previous = loglik
        p = m_step(Z, *rts_smoother(f, p), p)
    return best, best_loglik, iteration


# ---------------------------------------------------------------------- the model
@register
class StateSpace(Model):
    name = "statespace"
    family = "time series"
    complexity = 40
    data_kind = "series"
    description = "linear Gaussian state-space model of series (rows = series, columns = time steps), EM + Kalman"
    log_prob_kind = "exact"
    impute_kind = "exact"
    params = {
        "state_dim": Param(None, int, "dimension k of the hidden state; None tries 1..4 and keeps the best BIC",
                           low=1, high=32, optional=True),
        "max_iter": Param(100, int, "EM iterations at most (EM crawls where the noise variance R goes to 0)",
                          low=1, high=100_000),
        "tol": Param(1e-6, float, "EM stops when the log-likelihood changes by less than this fraction of itself",
                     low=0.0),
    }
    test_params = {"state_dim": 2, "max_iter": 30}

    # ------------------------------------------------------------------ the protocol, on standardized series
    def _fit(self, Z: np.ndarray, rng: np.random.Generator) -> None:
        """EM on the (N, T) standardized series (NaN = not observed); `state_dim=None` screens k = 1..4 by BIC."""
        present = np.count_nonzero(~np.isnan(Z))
        if self.state_dim is not None:
            p, loglik, n_iter = fit_em(Z, initial_parameters(Z, self.state_dim), self.max_iter, self.tol)
        else:   # a short EM run per k ranks them (BIC steps are worth log n nats), then the best one goes on
            best_bic, screen = np.inf, min(SCREEN_ITER, self.max_iter)
            for k in range(1, MAX_AUTO_STATE + 1):
                candidate = fit_em(Z, initial_parameters(Z, k), screen, self.tol)
                bic = -2 * candidate[1] + (2 * k + 2) * np.log(present)
                if bic >= best_bic:
                    break
                (p, loglik, n_iter), best_bic = candidate, bic
            if n_iter == screen < self.max_iter:
                p, loglik, more = fit_em(Z, p, self.max_iter - screen, self.tol)
                n_iter += more
        self.parameters_, self.n_iter_ = p, n_iter
        self.log_likelihood_ = loglik - present * np.log(self.scale_)

    @property
    def center_(self) -> float:
        return self.codec_.center

    @property
    def scale_(self) -> float:
        return self.codec_.scale

    @property
    def parameters(self) -> dict:
        """A, Q (state units, unit stationary variance), C, d, R (data units) and P0."""
        self._check_fitted()
        p = self.parameters_
        return {"A": p.A.copy(), "C": p.C * self.scale_, "d": p.d * self.scale_ + self.center_, "Q": p.Q.copy(),
                "R": p.R * self.scale_ ** 2, "P0": p.P0.copy()}

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` new standardized series of the fitted length, jointly drawn."""
        p = self.parameters_
        first = rng.standard_normal((n, len(p.A))) @ _sqrt_psd(p.P0).T
        return self._run_forward(first, len(self.schema_), rng)

    def _log_prob(self, Z: np.ndarray) -> np.ndarray:
        """The exact Kalman likelihood of each series' observed cells (NaN cells are integrated out)."""
        return kalman_filter(Z, self.parameters_).loglik

    def _impute(self, Z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Each row's missing cells drawn jointly from P(missing | observed): forward filtering, backward sampling."""
        p = self.parameters_
        f = kalman_filter(Z, p)
        J = _gains(f, p)
        conditional = f.Pf[:, :-1] - J @ f.Pp[:, 1:] @ np.swapaxes(J, -1, -2)
        roots, last_root = _sqrt_psd(conditional), _sqrt_psd(f.Pf[:, -1])   # (N, T-1, k, k), (N, k, k)
        offsets = f.mf[:, :-1] - np.einsum("ntij,ntj->nti", J, f.mp[:, 1:])
        noise = np.einsum("ntij,ntj->nti", roots, rng.standard_normal(offsets.shape))
        last = f.mf[:, -1] + np.einsum("nij,nj->ni", last_root, rng.standard_normal(f.mf[:, -1].shape))
        x = _backward(J, offsets + noise, last, f.steady)                               # (N, T, k)
        return x @ p.C + p.d + np.sqrt(p.R) * rng.standard_normal(Z.shape)

    # ------------------------------------------------------------------ forecasting
    def forecast(self, history, horizon: int, n_paths: int = 100, seed: int | None = 0) -> np.ndarray:
        """(n_paths, horizon) paths drawn exactly from P(future | history) for a 1-D history of any
        length (NaN = not observed; an empty history gives draws from the stationary model)."""
        mean, cov = self._filter_history(history)
        horizon, n_paths = _check_count(horizon, "horizon", 1), _check_count(n_paths, "n_paths", 1)
        rng = np.random.default_rng(seed)
        first = mean + rng.standard_normal((n_paths, len(mean))) @ _sqrt_psd(cov).T
        return self._run_forward(first, horizon, rng) * self.scale_ + self.center_

    def forecast_moments(self, history, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean (horizon,) and covariance (horizon, horizon) of the future given the history."""
        mean, cov = self._filter_history(history)
        horizon = _check_count(horizon, "horizon", 1)
        p = self.parameters_
        means, covs = [], []                     # state mean and covariance at each future step
        for _ in range(horizon):
            means.append(mean)
            covs.append(cov)
            mean, cov = p.A @ mean, p.A @ cov @ p.A.T + p.Q
        out = np.empty((horizon, horizon))
        for j in range(horizon):
            cross = covs[j]                      # Cov(x_i, x_j) = A^(i-j) Cov(x_j) for i >= j
            for i in range(j, horizon):
                out[i, j] = out[j, i] = p.C @ cross @ p.C
                cross = p.A @ cross
        out += p.R * np.eye(horizon)
        return np.array(means) @ p.C * self.scale_ + p.d * self.scale_ + self.center_, out * self.scale_ ** 2

    def prediction_errors(self, history, horizon: int, burn_in: int | None = None) -> np.ndarray:
        """(M, horizon) in-sample errors of the model's multi-step mean forecasts along `history`:
        row t is y_{t+1..t+horizon} minus its mean given y_1..y_t (the Kalman filter's predicted
        state carried forward, C A^(k-1) m_{t+1} + d), for every origin t after `burn_in` steps
        (default: twice the state dimension, at least 5) whose whole future is observed. What a
        residual bootstrap resamples (`plausible.forecasting`, errors="bootstrap")."""
        self._check_fitted()
        values = np.asarray(history, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"history must be one series (a 1-D array), got shape {values.shape}")
        horizon = _check_count(horizon, "horizon", 1)
        p = self.parameters_
        z = (values - self.center_) / self.scale_
        predicted = kalman_filter(z[None, :], p).mp[0]                      # (T, k): E[x_t | y_<t]
        burn_in = max(5, 2 * len(p.A)) if burn_in is None else burn_in
        origins = np.arange(burn_in, len(z) - horizon + 1)                   # predicting z[t .. t+H-1]
        if len(origins) == 0:       # no origin has its whole future observed: no errors to resample
            return np.zeros((0, horizon))
        state, forecasts = predicted[origins], []
        for _ in range(horizon):
            forecasts.append(state @ p.C + p.d)
            state = state @ p.A.T
        errors = (np.lib.stride_tricks.sliding_window_view(z, horizon)[origins] - np.stack(forecasts, axis=1))
        errors = errors[np.isfinite(errors).all(axis=1)]
        return errors * self.scale_

    # ------------------------------------------------------------------ helpers
    def _run_forward(self, first: np.ndarray, length: int, rng) -> np.ndarray:
        """Standardized y of `length` steps from states x_1 = first (S, k): x_t = A x_t-1 + w_t."""
        p = self.parameters_
        shocks = rng.standard_normal((len(first), length, len(p.A))) @ _sqrt_psd(p.Q).T
        shocks[:, 0] = first
        x = _recursion(p.A, shocks, np.zeros_like(first))
        return x @ p.C + p.d + np.sqrt(p.R) * rng.standard_normal((len(first), length))

    def _filter_history(self, history) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        values = np.asarray(history, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"history must be one series (a 1-D array), got shape {values.shape}")
        if np.isinf(values).any():
            raise ValueError("history has infinite values: replace them with numbers or NaN")
        f = kalman_filter(((values - self.center_) / self.scale_)[None, :], self.parameters_)
        return f.next_mean[0], f.next_cov[0]

    def _get_state(self):
        p = self.parameters_
        state = {"n_iter": self.n_iter_, "log_likelihood": self.log_likelihood_}
        return state, {"A": p.A, "C": p.C, "Q": p.Q, "P0": p.P0, "d": np.array([p.d]), "R": np.array([p.R])}

    def _set_state(self, state, arrays):
        self.n_iter_ = state["n_iter"]
        self.log_likelihood_ = state["log_likelihood"]
        self.parameters_ = Parameters(arrays["A"], arrays["C"], float(arrays["d"][0]), arrays["Q"],
                                      float(arrays["R"][0]), arrays["P0"])


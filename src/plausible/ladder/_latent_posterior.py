"""Approximate posterior draws through a decoder's latent space, for `pl.restore` on any rung with a
torch decoder and an N(0, I) prior on z (the image `vae`): z from p(z | y), then x from p(x | z, y).

The model: z ~ N(0, I) of L dimensions; x | z with the decoder's mean m(z) and variance v(z) per
value (D values); measurements y = A x + e, e ~ N(0, σ² I), on the entries A measures.

The draws are approximate, in three declared ways:

1. **p(y | z)**: x | z is taken as Gaussian N(m(z), V(z)), V = diag v, so y | z is
   N(A m(z), σ² I + A V(z) Aᵀ), and that covariance is taken as its diagonal σ² + (A∘A) v(z).
   For masks, identity and downsampling each pixel feeds at most one measurement, the diagonal is
   the whole covariance and only the Gaussian stands in for the decoder's logistic; for blur it
   drops the correlation of neighbouring measurements, which counts a shared pixel's evidence more
   than once, so p(z | y) comes out narrower than the model's.
2. **z | y**: sampling-importance-resampling (Rubin 1987) from K = `proposals` per image: 4/5 from
   the encoder's q(z | x̂, known) at twice its standard deviation, with x̂ = Aᵀy / Aᵀ1 the
   back-projected measurement and `known` where Aᵀ1 > 0 (for a mask: exactly the measured pixels,
   as `impute` does), 1/5 from the prior N(0, I) so that the weights stay bounded; then `n_draws`
   chains started from the resampled points take `steps` steps of preconditioned MALA (Roberts &
   Tweedie 1996) on log p(z) + log p(y | z), the preconditioner the encoder's variance, the step
   adapted per image toward 0.574 acceptance over the first half. The chains leave approximation
   1's posterior unchanged, so more steps only bring the draws closer to it; with few steps and a
   posterior far from every proposal they stay near the best proposals (too little spread).
3. **x | z, y**: a decoder draw x0 ~ p(x | z) moved by the Gaussian conditioning update
   (Matheron's rule): x = x0 + V Aᵀ (A V Aᵀ + σ² I)⁻¹ (y − A x0 − e), e ~ N(0, σ² I): exact if the
   decoder were Gaussian; the values A does not touch keep the decoder's draw, the measured ones
   are pulled to y as far as v and σ² say. In closed form when each pixel feeds at most one
   measurement, by conjugate gradients otherwise (the full A V Aᵀ, here not approximated).

Costs: K decoder passes per image, then per step one decoder pass forward and back for each of
the n_draws chains; A and A∘A are kept as scipy sparse matrices made from the bound operator's
dense matrix (`Bound.matrix`).
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

ENCODER_SHARE = 0.8           # of the SIR proposals from the encoder; the rest from the prior
INFLATE = 2.0                 # the encoder's standard deviation is widened this much for proposals
TARGET_ACCEPTANCE = 0.574     # MALA's optimal acceptance rate (Roberts & Rosenthal 1998)
FIRST_STEP = 0.3              # MALA's starting step, in units of the encoder's variance
CHUNK = 1024                  # latent points pushed through the decoder at once
CG_ITERATIONS, CG_TOLERANCE = 500, 1e-3     # 89 iterations on 32x32x3 blur sigma 1.5, noise sd 0.02
LOG_2PI = math.log(2 * math.pi)


@dataclass
class LatentDecoder:
    """What the sampler needs of a model (flat values in its own space, D of them, raster order):
    `moments(z (B, L)) -> (mean, variance)` (B, D) differentiable in z; `draw(z, generator)` (B, D)
    numpy draws from p(x | z); `encode(x, known)` (N, D) float tensors -> mean and log variance of
    q(z | x, known), (N, L)."""

    latent: int
    moments: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    draw: Callable[[torch.Tensor, torch.Generator], np.ndarray]
    encode: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class _Measurement:
    """A (measured rows only), Aᵀ and A∘A as scipy sparse matrices, with what the sampler asks of them."""

    def __init__(self, operator, noise_sd: float):
        from scipy import sparse

        dense = np.asarray(operator.matrix)[operator.measured]                      # (M', D)
        # an FFT-built matrix (blur) holds ~1e-17 round-off everywhere: dropped, so A stays sparse
        dense = np.where(np.abs(dense) > 1e-12 * np.abs(dense).max(initial=0.0), dense, 0.0)
        self.measured = operator.measured
        self.a = sparse.csr_matrix(dense)
        self.at = self.a.T.tocsr()
        self.a_squared = self.a.multiply(self.a).tocsr()
        self.a_squared_t = self.a_squared.T.tocsr()
        self.noise_var = float(noise_sd) ** 2
        self.disjoint = bool((self.a.getnnz(axis=0) <= 1).all())    # each pixel feeds at most one measurement
        reach = np.abs(dense).sum(0)
        self.known = reach > 1e-9 * max(reach.max(), 1e-300)
        self.reach = np.where(self.known, dense.sum(0), 1.0)

    def forward(self, x: torch.Tensor, squared: bool = False) -> torch.Tensor:     # (B, D) -> (B, M')
        if squared:
            return _Sparse.apply(x, self.a_squared, self.a_squared_t)
        return _Sparse.apply(x, self.a, self.at)

    def adjoint(self, r: torch.Tensor) -> torch.Tensor:                               # (B, M') -> (B, D)
        return _Sparse.apply(r, self.at, self.a)

    def log_likelihood(self, mean: torch.Tensor, variance: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log N(y; A m, σ² + (A∘A) v) summed over the measurements (approximation 1), (B,)."""
        spread = (self.noise_var + self.forward(variance, squared=True)).clamp_min(1e-8)
        return -0.5 * ((y - self.forward(mean)).square() / spread + torch.log(spread) + LOG_2PI).sum(-1)

    def back_projection(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x̂ = Aᵀy / Aᵀ1 in [0, 1] where the operator reaches, 0 elsewhere; and that `known` mask (N, D)."""
        at_y = self.adjoint(torch.from_numpy(y)).numpy()
        estimate = np.where(self.known, np.clip(at_y / self.reach, 0.0, 1.0), 0.0)
        return estimate, np.broadcast_to(self.known, estimate.shape)

    def condition(self, x0: torch.Tensor, variance: torch.Tensor, y: torch.Tensor, generator) -> torch.Tensor:
        """Matheron's rule (approximation 3): x0 + V Aᵀ (A V Aᵀ + σ² I)⁻¹ (y − A x0 − e)."""
        noise = math.sqrt(self.noise_var) * torch.randn(y.shape, generator=generator, dtype=y.dtype)
        residual = y - self.forward(x0) - noise
        diagonal = (self.noise_var + self.forward(variance, squared=True)).clamp_min(1e-12)
        if self.disjoint:
            solved = residual / diagonal
        else:
            solved = _conjugate_gradients(lambda u: self.forward(variance * self.adjoint(u)) + self.noise_var * u,
                                          residual, diagonal)
        return x0 + variance * self.adjoint(solved)


def latent_posterior(decoder: LatentDecoder, y: np.ndarray, operator, noise_sd: float, n_draws: int,
                     generator: torch.Generator, proposals: int = 64, steps: int = 40) -> np.ndarray:
    """Draws (n_draws, N, D) of x given flat measurements y (N, M) (0 where `operator.measured` is
    False), `operator` a bound operator (`plausible.data.operators.Bound`) on the model's D values
    (module doc: approximate)."""
    measurement = _Measurement(operator, noise_sd)
    y_measured = np.ascontiguousarray(np.asarray(y, dtype=np.float64)[:, measurement.measured])
    estimate, known = measurement.back_projection(y_measured)
    group = max(1, CHUNK // max(proposals, n_draws))
    out = np.empty((n_draws, len(y), operator.in_size))
    show = sys.stderr.isatty() and len(y) > group
    from tqdm.auto import tqdm

    for start in tqdm(range(0, len(y), group), desc="restore: latent posterior", unit="group", disable=not show,
                      leave=False):
        rows = slice(start, start + group)
        observed = torch.from_numpy(y_measured[rows]).float()
        with torch.no_grad():
            centre, log_variance = decoder.encode(torch.from_numpy(estimate[rows]).float(),
                                                  torch.from_numpy(np.array(known[rows], dtype=np.float32)))
        z = _resample(decoder, measurement, observed, centre, log_variance, proposals, n_draws, generator)
        z = _mala(decoder, measurement, observed, z, log_variance.exp().clamp(1e-4, 1.0), steps, generator)
        flat = z.reshape(-1, decoder.latent)                                     # (n_draws * G, L), draw-major
        with torch.no_grad():
            x0 = torch.from_numpy(decoder.draw(flat, generator)).double()
            variance = decoder.moments(flat)[1].double()
        repeated = observed.double().repeat(n_draws, 1)
        x = measurement.condition(x0, variance, repeated, generator)
        out[:, rows] = x.numpy().reshape(n_draws, -1, operator.in_size)
    return out


def _resample(decoder, measurement, y, centre, log_variance, proposals, n_draws, generator) -> torch.Tensor:
    """n_draws starting points (n_draws, G, L) per image, resampled from K weighted proposals (approximation 2)."""
    count, latent = centre.shape
    spread = INFLATE * torch.exp(0.5 * log_variance)
    from_encoder = max(1, round(ENCODER_SHARE * proposals)) if proposals > 1 else 1
    noise = torch.randn((proposals, count, latent), generator=generator)
    z = torch.cat([centre + spread * noise[:from_encoder], noise[from_encoder:]])        # (K, G, L)
    share = from_encoder / proposals
    log_encoder = _log_normal(z, centre, spread) + math.log(share)
    log_prior = _log_normal(z, torch.zeros(()), torch.ones(()))
    log_proposal = log_encoder if share == 1 else torch.logaddexp(log_encoder, log_prior + math.log(1 - share))
    with torch.no_grad():
        log_target = log_prior + _log_likelihood(decoder, measurement, z.reshape(-1, latent),
                                                 y.repeat(proposals, 1)).reshape(proposals, count)
    weights = torch.softmax((log_target - log_proposal).double(), dim=0).T                # (G, K)
    picks = torch.multinomial(weights, n_draws, replacement=True, generator=generator)   # (G, n_draws)
    return z[picks.T, torch.arange(count)]                                               # (n_draws, G, L)


def _mala(decoder, measurement, y, z, preconditioner, steps, generator) -> torch.Tensor:
    """`steps` preconditioned MALA steps of every chain (n_draws, G, L) on log p(z) + log p(y | z);
    one step size per image, adapted over the first half toward TARGET_ACCEPTANCE."""
    if steps == 0:
        return z
    n_draws, count, latent = z.shape
    repeated = y.repeat(n_draws, 1)
    step = torch.full((count,), FIRST_STEP)

    def evaluate(points):
        points = points.detach().requires_grad_(True)
        log_target = _log_normal(points, torch.zeros(()), torch.ones(())) + _log_likelihood(
            decoder, measurement, points.reshape(-1, latent), repeated).reshape(n_draws, count)
        gradient, = torch.autograd.grad(log_target.sum(), points)
        return log_target.detach(), gradient

    def log_move(to, start, gradient, h):        # log q(to | start) up to what cancels
        drift = start + h * preconditioner * gradient
        return -0.5 * ((to - drift).square() / (2 * h * preconditioner)).sum(-1)

    log_target, gradient = evaluate(z)
    for t in range(steps):
        h = step.reshape(1, count, 1)
        proposal = (z + h * preconditioner * gradient
                    + torch.sqrt(2 * h * preconditioner) * torch.randn(z.shape, generator=generator))
        new_target, new_gradient = evaluate(proposal)
        log_accept = (new_target - log_target + log_move(z, proposal, new_gradient, h)
                      - log_move(proposal, z, gradient, h))
        accept = torch.log(torch.rand(log_accept.shape, generator=generator)) < log_accept
        accept &= torch.isfinite(new_target)
        z = torch.where(accept[..., None], proposal, z)
        log_target = torch.where(accept, new_target, log_target)
        gradient = torch.where(accept[..., None], new_gradient, gradient)
        if t < steps // 2:
            step = step * torch.exp(accept.float().mean(0) - TARGET_ACCEPTANCE)
    return z.detach()


def _log_likelihood(decoder, measurement, z, y) -> torch.Tensor:
    """log p(y | z) (approximation 1) of (B, L) points, decoded CHUNK at a time, (B,)."""
    parts = []
    for start in range(0, len(z), CHUNK):
        mean, variance = decoder.moments(z[start:start + CHUNK])
        parts.append(measurement.log_likelihood(mean, variance, y[start:start + CHUNK]))
    return torch.cat(parts)


def _log_normal(z: torch.Tensor, mean: torch.Tensor, sd: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, diag sd²) over the last axis (mean and sd broadcast against z)."""
    return -0.5 * (((z - mean) / sd).square() + LOG_2PI).sum(-1) - torch.log(sd).expand(z.shape).sum(-1)


def _conjugate_gradients(apply, b: torch.Tensor, diagonal: torch.Tensor) -> torch.Tensor:
    """Solve apply(u) = b for each row (SPD), Jacobi-preconditioned, rows batched."""
    u = torch.zeros_like(b)
    r = b.clone()
    s = r / diagonal
    p = s.clone()
    rs = (r * s).sum(-1, keepdim=True)
    target = CG_TOLERANCE ** 2 * (b * b).sum(-1, keepdim=True)
    for _ in range(CG_ITERATIONS):
        ap = apply(p)
        alpha = rs / (p * ap).sum(-1, keepdim=True).clamp_min(1e-300)
        u, r = u + alpha * p, r - alpha * ap
        if bool(((r * r).sum(-1, keepdim=True) <= target).all()):
            break
        s = r / diagonal
        rs_new = (r * s).sum(-1, keepdim=True)
        p = s + rs_new / rs.clamp_min(1e-300) * p
        rs = rs_new
    return u


class _Sparse(torch.autograd.Function):
    """x (B, D) -> x Mᵀ (B, M) for a scipy sparse M (given with its transpose), differentiable in x."""

    @staticmethod
    def forward(ctx, x, matrix, transposed):
        ctx.transposed = transposed
        return torch.from_numpy(np.ascontiguousarray((matrix @ x.detach().double().numpy().T).T)).to(x.dtype)

    @staticmethod
    def backward(ctx, gradient):
        result = (ctx.transposed @ gradient.double().numpy().T).T
        return torch.from_numpy(np.ascontiguousarray(result)).to(gradient.dtype), None, None

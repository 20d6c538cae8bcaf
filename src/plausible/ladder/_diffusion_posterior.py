"""The image diffusion's samplers, given any noise predictor `eps(x_t, t)` and its `NoiseSchedule`
(`image_diffusion.py`): the prior sampler, RePaint, and the posterior samplers of `pl.restore`.
None of them knows the network, so each is tested with the exact ε of a known distribution.

Notation as in `image_diffusion.py`: x ∈ [−1, 1]^D, q(x_t | x_0) = N(α_t x_0, σ_t² I),
x̂_0 = clip((x_t − σ_t ε)/α_t, −1, 1), sampling on times T = τ_S > ... > τ_0 = 0.

- `run_sampler`: DDIM (η) or DPM-Solver++(2M), and with `known` = (clean, mask) RePaint (Lugmayr
  et al. 2022): the known entries pasted in, noised to each step's time, each step redone
  `resamples` times. For noiseless masks only: it pastes y as it is.
- `ddrm` (Kawar et al. 2022, "Denoising Diffusion Restoration Models"): the measurement
  y = A x_0 + n, n ~ N(0, σ_y² I), is read in the spectral space of A = U diag(s) Vᵀ, where each
  measured direction is ȳ_i = (Uᵀy)_i / s_i = x̄_0,i + noise of sd n_i = σ_y / s_i. In the
  variance-exploding variable z_t = x_t / α_t (noise level c_t = σ_t / α_t), step t -> s updates
  x̄ = Vᵀ z (the paper's eq. 7-8) with x̄_0 = Vᵀ x̂_0(x_t):
      unmeasured (s_i = 0):  x̄_s = x̄_0 + √(1 − η²) c_s (x̄_t − x̄_0)/c_t + η c_s z
      c_s < n_i:             x̄_s = x̄_0 + √(1 − η²) c_s (ȳ − x̄_0)/n_i  + η c_s z
      c_s ≥ n_i:             x̄_s = (1 − η_b) x̄_0 + η_b ȳ + √(c_s² − η_b² n_i²) z
  (η = 0.85, η_b = 1: the paper's). It uses the noise level σ_y explicitly and one network
  evaluation per step, no gradients: the cheapest. Where it fails: it needs the SVD of A (a dense
  one, D × D for images; ~1-3 s for 32 × 32, per plane), near-zero singular values (below
  SINGULAR_FLOOR × the largest) count as unmeasured, and its draws are too alike: the prior enters
  only through x̂_0 (digits, `_restore_choice`: 90% intervals covered 57% of pixels under blur,
  61% when denoising, 78% under masks).
- `dps` (Chung et al. 2023, "Diffusion Posterior Sampling"): an ancestral (DDPM) step, then
  x_s ← x_s − ζ ∇_{x_t} ‖y − A x̂_0(x_t)‖ (the paper's code: the gradient of the residual's norm,
  scaled by ζ), backpropagating through the network (a forward and a backward pass per step, about
  twice DDRM's time). Needs only A and Aᵀ. Where it fails: it is sensitive to ζ (too small: the
  draws ignore y; too large: they overshoot; ζ = DPS_SCALE √D / steps, measured below), and ζ does
  not follow σ_y, so with much noise its draws fit the noise (denoising at σ 0.1 on digits: every
  draw ≈ y, 36% coverage).
- RePaint (`run_sampler` with `known`): noiseless masks only, since it pastes y as it is; on
  digits its mean was 1-2 dB below DPS's at the same budget.

With the exact ε of a 3-D Gaussian mixture none of the three is an exact posterior sampler
(tests/test_restore_diffusion.py): at the default budgets their draws sit 3-15 times the
Monte-Carlo floor from exact posterior draws, and where y alone picks a mixture component the
prior finds unlikely, all three (like ΠGDM and MMPS, measured alongside) put a share of the draws
in the wrong component (up to 35 times the floor).
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np
import torch

from ..core.errors import ParameterError

if TYPE_CHECKING:
    from ..data.operators import Bound

Eps = Callable[[torch.Tensor, int], torch.Tensor]
SINGULAR_FLOOR = 1e-3      # singular values below this share of the largest count as unmeasured
# DPS's step ζ = DPS_SCALE × √D / steps: a gradient of ‖y − A x̂_0‖ spreads over D entries (each ~1/√D) and
# fewer steps need larger ones (the paper's ζ' = 1 at 1,000 steps on 256 × 256 × 3 images is DPS_SCALE ≈ 2.3).
# Measured with the exact ε on the 3-D mixture of tests/test_restore_diffusion.py (A 2 x 3, noise 0.1; one y, 2,000
# draws, 100 steps), sliced Wasserstein distance to exact posterior draws over the exact-vs-exact floor: scale 2: 19x,
# 4: 11.4x, 6: 11.2x, 17: 24x; at 6 over 20 y, median 10.3x (and 9.9x for a noiseless mask). On digits with a trained
# network 18 gave the mean 0.2-1.5 dB more PSNR on masks, blur and downsampling, 1.3 dB less on denoising
# (image_diffusion.py, _restore_choice).
DPS_SCALE = 6.0
CHUNK = 256                # rows (draws x images) denoised at once


def _normal(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """N(0, I) of `like`'s shape, drawn on the CPU from `generator` (the same numbers on any device)."""
    return torch.randn(like.shape, generator=generator, dtype=like.dtype).to(like.device)


def _steps(times: list[int], desc: str | None) -> Iterator[tuple[int, int]]:
    """(t, s) pairs down the times, behind a progress bar when `desc` is given and stderr is a terminal."""
    pairs = list(zip(times[:-1], times[1:]))
    if desc is None or not sys.stderr.isatty():
        return iter(pairs)
    from tqdm.auto import tqdm

    return iter(tqdm(pairs, desc=desc, unit="step", leave=False))


# ---------------------------------------------------------------------- DDIM, DPM-Solver++, RePaint
def ddim_step(schedule, x: torch.Tensor, t: int, s: int, eps: torch.Tensor, eta: float = 0.0,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One DDIM step from time t to s < t given ε̃ at x_t (`image_diffusion` doc); returns (x_s, x̂_0).
    At s = 0, x_s = x̂_0. η = 1 is DDPM's ancestral step q(x_s | x_t, x̂_0)."""
    x0 = schedule.denoised(x, t, eps)
    if s == 0:
        return x0, x0
    a_t, a_s = schedule.alpha_bar[t], schedule.alpha_bar[s]
    eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()                  # ε̂ consistent with the clipped x̂_0
    c = eta * ((1 - a_s) / (1 - a_t) * (1 - a_t / a_s)).sqrt()
    x_s = a_s.sqrt() * x0 + (1 - a_s - c ** 2).clamp(min=0).sqrt() * eps
    if eta > 0:
        x_s = x_s + c * _normal(x, generator)
    return x_s, x0


def dpm_solver_step(schedule, x: torch.Tensor, t: int, s: int, x0: torch.Tensor,
                    previous: tuple | None) -> tuple[torch.Tensor, tuple]:
    """One DPM-Solver++(2M) step from t to s > 0 given x̂_0 at x_t and the previous step's (x̂_0', h');
    returns (x_s, (x̂_0, h)) for the next step (`image_diffusion` doc)."""
    a_t, a_s = schedule.alpha_bar[t], schedule.alpha_bar[s]
    h = 0.5 * (torch.log(a_s / (1 - a_s)) - torch.log(a_t / (1 - a_t)))
    direction = x0
    if previous is not None:
        ratio = previous[1] / h
        direction = (1 + 1 / (2 * ratio)) * x0 - previous[0] / (2 * ratio)
    x_s = ((1 - a_s) / (1 - a_t)).sqrt() * x - a_s.sqrt() * torch.expm1(-h) * direction
    return x_s, (x0, h)


def renoise(schedule, x: torch.Tensor, s: int, t: int, generator: torch.Generator) -> torch.Tensor:
    """A draw from q(x_t | x_s), t > s: √(ᾱ_t/ᾱ_s) x_s + √(1 − ᾱ_t/ᾱ_s) z (RePaint's jump back)."""
    ratio = schedule.alpha_bar[t] / schedule.alpha_bar[s]
    return ratio.sqrt() * x + (1 - ratio).sqrt() * _normal(x, generator)


def run_sampler(eps: Eps, x: torch.Tensor, schedule, times: list[int], generator: torch.Generator,
                eta: float = 0.0, solver: str = "ddim", known: tuple[torch.Tensor, torch.Tensor] | None = None,
                resamples: int = 1, desc: str | None = None) -> torch.Tensor:
    """Denoise x from times[0] down to times[-1] = 0 with `eps(x_t, t)` (the guided denoiser);
    returns x̂_0 in [−1, 1].

    `solver`: "ddim" (with `eta`) or "dpm++2m" (used when eta == 0 and nothing is known).
    `known` = (clean x_0, mask), both x's shape, mask True where the entry is given: RePaint
    (module doc), each step redone `resamples` times; the given entries come back exactly.
    """
    previous = None
    multistep = solver == "dpm++2m" and eta == 0 and known is None
    for t, s in _steps(times, desc):
        for attempt in range(resamples if known is not None and s > 0 else 1):
            if attempt:
                x = renoise(schedule, x, s, t, generator)
            predicted = eps(x, t)
            if multistep and s > 0:
                x_next, previous = dpm_solver_step(schedule, x, t, s, schedule.denoised(x, t, predicted), previous)
            else:
                x_next, _ = ddim_step(schedule, x, t, s, predicted, eta, generator)
            if known is not None:
                clean, mask = known
                given = clean if s == 0 else schedule.noised(clean, s, _normal(clean, generator))
                x_next = torch.where(mask, given, x_next)
            x = x_next
    return x


# ---------------------------------------------------------------------- posterior samplers on flat x (B, D)
class Spectral:
    """A = U diag(s) Vᵀ (thin: U (M, r), s (r,), Vt (r, P)) applied alike to each of `channels`
    interleaved channels of flat vectors (B, P × channels), as the operators treat colour images:
    one plane's SVD, a third of the work of the whole (kron) one. Singular values below
    SINGULAR_FLOOR × the largest are dropped (unmeasured)."""

    def __init__(self, u: torch.Tensor, singular: torch.Tensor, vt: torch.Tensor, channels: int = 1):
        keep = singular > SINGULAR_FLOOR * singular.max().clamp(min=1e-30)
        self.u, self.singular, self.vt, self.channels = u[:, keep], singular[keep], vt[keep], channels

    def down(self, x: torch.Tensor) -> torch.Tensor:
        """Vᵀ x per channel: (B, D) -> (B, r, C)."""
        return self.vt @ x.reshape(len(x), -1, self.channels)

    def up(self, v: torch.Tensor) -> torch.Tensor:
        """V v: (B, r, C) -> (B, D)."""
        return (self.vt.T @ v).reshape(len(v), -1)

    def inverted(self, y: torch.Tensor) -> torch.Tensor:
        """ȳ = diag(s)⁻¹ Uᵀ y: (B, M) -> (B, r, C)."""
        return (self.u.T @ y.reshape(len(y), -1, self.channels)) / self.singular[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """A x: (B, D) -> (B, M)."""
        return (self.u @ (self.singular[:, None] * self.down(x))).reshape(len(x), -1)


def ddrm(eps: Eps, x: torch.Tensor, schedule, times: list[int], generator: torch.Generator, y: torch.Tensor,
         operator: Spectral, noise_sd: float, eta: float = 0.85, eta_b: float = 1.0,
         desc: str | None = None) -> torch.Tensor:
    """DDRM (module doc) from x = x_T (B, D) ~ N(0, I): draws of x_0 given y (B, M) = A x_0 + N(0,
    noise_sd² I), A given by its SVD (`Spectral`). One evaluation of eps per step; returns x_0 (B, D)."""
    y_bar = operator.inverted(y)                                      # (B, r, C): x̄_0 + noise of sd n
    n = (noise_sd / operator.singular)[:, None]                       # (r, 1)
    for t, s in _steps(times, desc):
        x0 = schedule.denoised(x, t, eps(x, t))
        c_t = ((1 - schedule.alpha_bar[t]) / schedule.alpha_bar[t]).sqrt()
        c_s = ((1 - schedule.alpha_bar[s]) / schedule.alpha_bar[s]).sqrt()
        z_t = x / schedule.alpha_bar[t].sqrt()
        # every direction first as unmeasured (the rule is isotropic), then the measured ones replaced
        z = x0 + (1 - eta ** 2) ** 0.5 * (c_s / c_t) * (z_t - x0) + eta * c_s * _normal(x, generator)
        x0_bar, z_bar = operator.down(x0), operator.down(z)
        fresh = _normal(y_bar, generator)
        strong = c_s >= n                                             # the step's noise exceeds y's
        toward_y = x0_bar + (1 - eta ** 2) ** 0.5 * c_s * (y_bar - x0_bar) / n.clamp(min=1e-30) + eta * c_s * fresh
        from_y = (1 - eta_b) * x0_bar + eta_b * y_bar + (c_s ** 2 - (eta_b * n) ** 2).clamp(min=0).sqrt() * fresh
        z = z + operator.up(torch.where(strong, from_y, toward_y) - z_bar)
        x = schedule.alpha_bar[s].sqrt() * z
    return x


def dps(eps: Eps, x: torch.Tensor, schedule, times: list[int], generator: torch.Generator, y: torch.Tensor,
        forward: Callable[[torch.Tensor], torch.Tensor], step_size: float | None = None,
        desc: str | None = None) -> torch.Tensor:
    """DPS (module doc) from x = x_T (B, D) ~ N(0, I): draws of x_0 given y (B, M) ≈ forward(x_0)
    (a differentiable A, e.g. `Spectral.forward`). One forward and one backward pass through eps per
    step; ζ = `step_size` (module doc: the draws depend on it; None: DPS_SCALE √D / steps). Returns x_0
    (B, D) in [−1, 1]."""
    if step_size is None:
        step_size = DPS_SCALE * x.shape[-1] ** 0.5 / (len(times) - 1)
    for t, s in _steps(times, desc):
        with torch.enable_grad():
            x_in = x.detach().requires_grad_(True)
            predicted = eps(x_in, t)
            residual = torch.linalg.vector_norm(y - forward(schedule.denoised(x_in, t, predicted)), dim=-1)
            gradient, = torch.autograd.grad(residual.sum(), x_in)
        x, _ = ddim_step(schedule, x_in.detach(), t, s, predicted.detach(), 1.0, generator)
        x = x - step_size * gradient
    return x.clamp(-1.0, 1.0)


# ---------------------------------------------------------------------- pl.restore on an image rung's values
def restore(eps: Eps, schedule, y: np.ndarray, bound: "Bound", noise_sd: float, n_draws: int,
            generator: torch.Generator, method: str, steps: int, resamples: int = 1, dps_scale: float = DPS_SCALE,
            device: torch.device | str = "cpu") -> np.ndarray:
    """Draws (n_draws, N, D) of intensities v in [0, 1] given y (N, M) = A v + N(0, noise_sd²) (y 0
    where `bound.measured` is False), `eps` on flat x = 2v − 1 (B, D) in the bound's order.

    In the diffusion's space A x = 2 A v − A 1, so y becomes y' = 2y − A 1 with noise 2 noise_sd.
    `method`: "ddrm" or "dps" (step DPS_SCALE √D / steps) on `steps` evaluations, "repaint" (a
    noiseless mask only) on `steps` × `resamples`."""
    measured = bound.measured
    unit_y = 2 * y - bound.forward(np.ones((1, bound.in_size)))
    unit_y[:, ~measured] = 0.0
    rows = np.tile(unit_y, (n_draws, 1))                              # draw-major: row k N + i is draw k of i
    times = schedule.times(steps)
    if method == "repaint":
        if bound.operator.name != "mask" or noise_sd > 0:
            got = bound.operator.name + (" with noise" if noise_sd > 0 else "")
            raise ParameterError(f"method='repaint' pastes the measured pixels as they are: it takes a mask with "
                                 f"noise_sd=0, got {got}; use method='ddrm' or 'dps'")
        given = torch.as_tensor(np.broadcast_to(measured, (CHUNK, bound.in_size)).copy(), device=device)
    else:                   # a spatial operator on colour images: one plane's SVD for every channel
        channels = bound.shape[2] if bound.operator.spatial and len(bound.shape) == 3 else 1
        svd = bound.operator.bind(bound.shape[:2]).svd if channels > 1 else bound.svd
        spectral = Spectral(*(torch.as_tensor(np.ascontiguousarray(part), dtype=torch.float32, device=device)
                              for part in svd), channels)
    out = []
    for begin in range(0, len(rows), CHUNK):
        chunk = torch.as_tensor(rows[begin:begin + CHUNK], dtype=torch.float32, device=device)
        x = _normal(torch.empty(chunk.shape[0], bound.in_size, device=device), generator)
        desc = f"restore ({method}, {begin + len(chunk):,} of {len(rows):,} draws)"
        if method == "repaint":
            with torch.no_grad():
                x = run_sampler(eps, x, schedule, times, generator, 1.0, "ddim", (chunk, given[:len(chunk)]),
                                resamples, desc)
        elif method == "ddrm":
            with torch.no_grad():
                x = ddrm(eps, x, schedule, times, generator, chunk, spectral, 2 * noise_sd, desc=desc)
        elif method == "dps":
            x = dps(eps, x, schedule, times, generator, chunk, spectral.forward,
                    dps_scale * bound.in_size ** 0.5 / (len(times) - 1), desc)
        else:
            raise ParameterError(f"method={method!r}: the diffusion restores with 'ddrm', 'dps' or 'repaint'")
        out.append(x.detach().double().cpu().numpy())
    values = np.clip((np.concatenate(out) + 1) / 2, 0.0, 1.0).reshape(n_draws, len(y), bound.in_size)
    if method == "repaint":                                            # exactly the given values, not via float32
        values[:, :, measured] = np.broadcast_to(y[:, measured], values[:, :, measured].shape)
    return values

"""diffusion, on images: a small U-Net trained by DDPM, sampled in at most 50 network evaluations,
optionally conditioned on labels with classifier-free guidance, inpainting by RePaint.

Space. An image becomes x ∈ [−1, 1]^(C×H×W), x = 2v − 1 for its intensities v ∈ [0, 1]
(`Pixels.values`). Level images are dequantized afresh in every minibatch, v + (u − ½)/L with
u ~ U(0, 1) (L levels), so the network learns a density on intensities; samples go back to levels
through their cells (`Pixels.from_values`).

Forward process (DDPM, Ho et al. 2020) on T = `timesteps` steps, the cosine schedule of Nichol &
Dhariwal 2021 (`cosine_alpha_bar`, shared with the table rung):

    q(x_t | x_0) = N(α_t x_0, σ_t² I),   α_t² = ᾱ_t,   σ_t² = 1 − ᾱ_t.

Training: DDPM's simple loss, ε-prediction, with the U-Net of `neural/convolutions.py`:

    L(θ) = E_{x_0, c, t ~ U{1..T}, ε ~ N(0, I)} ‖ε_θ(α_t x_0 + σ_t ε, t, c) − ε‖² / D,

c the labels (when fitted with some), each row's all replaced by "no label" with probability
`label_dropout` and, with several label columns, each column also on its own with that
probability, so one network gives ε_θ(x, t, c), ε_θ(x, t, ∅) and any part of c. An exponential
moving average of the weights (decay `ema`, warmed up as (1 + k)/(10 + k) over the first steps)
is what the model keeps and what the validation loss measures.

Denoiser with classifier-free guidance (Ho & Salimans 2022), w = `guidance`:

    ε̃(x_t, t, c) = ε_θ(x_t, t, ∅) + w (ε_θ(x_t, t, c) − ε_θ(x_t, t, ∅))

(w = 1: the plain conditional, one network evaluation; otherwise both halves in one batch).

Sampling on S = `sampling_steps` of the T times, T = τ_S > ... > τ_0 = 0, one evaluation each.
The DDIM step (Song et al. 2021) from t to s < t, with x̂_0 clipped to the data's range:

    x̂_0 = clip((x_t − σ_t ε̃)/α_t, −1, 1),   ε̂ = (x_t − α_t x̂_0)/σ_t,
    x_s = α_s x̂_0 + √(σ_s² − c²) ε̂ + c z,   c = η (σ_s/σ_t) √(1 − ᾱ_t/ᾱ_s),   z ~ N(0, I).

η = `eta`: 1 (the default) is ancestral, DDPM-like sampling; 0 the deterministic ODE sampler. Why 1:
on avatars after 1,500 updates (the default then), the ODE samplers (DDIM η = 0 or DPM-Solver++, 25 or 50
steps, guidance 1 or 2) left the starting noise's speckle in about a third of the images, while
η = 1 gave clean pictures in 50 steps (and nearly so in 25): fresh noise at every step lets the
last steps' x̂_0 wash out what an undertrained ε_θ misses. A well-trained model does well with the ODE,
where `solver="dpm++2m"` takes it to second order at no extra evaluation (DPM-Solver++(2M), Lu
et al. 2022), as the table rung does: λ = log(α/σ), h = λ_s − λ_t, x_s = (σ_s/σ_t) x_t − α_s (e^{−h} − 1) D with
D = (1 + 1/(2r)) x̂_0 − x̂_0'/(2r), r = h'/h, from the previous step's x̂_0'.

Inpainting (`impute`) is RePaint (Lugmayr et al. 2022) on the same steps: the unknown pixels take
a stochastic DDIM step (η = 1, ancestral sampling), the known ones are the clean pixels noised to
the new time, x_s = m ⊙ (α_s x_0 + σ_s z) + (1 − m) ⊙ x_s^unknown, and each step is redone
`resamples` times after renoising x_s back to t, x_t = √(ᾱ_t/ᾱ_s) x_s + √(1 − ᾱ_t/ᾱ_s) z, so the
two parts can agree (S × `resamples` evaluations). Approximate: a network's sampler, not a closed form.

log_prob: none. A variational bound would need a network call per timestep (T = 1,000 per image)
and a discrete decoder for the levels; none is claimed.

Conditioning (optional): fit with labels, sample or impute with labels.

    model = pl.make("diffusion", seed=0, guidance=2.0)     # `guidance` is image-only: make gives the image class
    model.fit(avatars, labels=features)                     # a 1-D array, a DataFrame (one column per label), ...
    model.sample(16, labels={"hair_color": "Red"})          # unnamed columns: no label (guided by what is given)
    model.sample(10, labels=np.arange(10))                  # one label per image; a single value: every image
    model.impute(holes, n_draws=4, labels=digit_of_each)    # labels of the images given
    model.set_params(guidance=4.0)                          # sampling only: no refit needed

Labels are categories: a column of more than MAX_LABEL_VALUES distinct values is refused (bin it
first); a missing label (None or NaN) at fit or at sampling means "no label". A model fitted
without labels samples unconditionally and refuses labels. Every protocol call works unchanged.

Restore (`pl.restore`, issue 26): posterior draws given y = A v + noise, in x = 2v − 1, where
y' = 2y − A1 with noise 2 sd. Three samplers, all in `_diffusion_posterior.py` (which fails where is
said there): "ddrm" (DDRM, uses the noise level and the SVD of A; `restore_steps` evaluations),
"dps" (DPS, gradients through the network; `restore_steps` forward and backward passes, step
`dps_step`) and "repaint" (noiseless masks only: `impute`'s sampler, `sampling_steps` × `resamples`).

The samplers (`run_sampler`, DDIM / DPM-Solver++ steps, `ddrm`, `dps`) live in
`_diffusion_posterior.py` as functions of eps(x_t, t) and the `NoiseSchedule` (model.schedule_);
`model.eps(x_t, t, labels)` is the guided denoiser (differentiable), `model.label_codes` turns user
labels into the (N, K) codes eps takes; `to_unit`/`from_unit` map intensities.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.func import functional_call

from ..core.errors import ParameterError
from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels, is_image_batch
from ..data.schema import SchemaError
from ..neural import fit_network, rebuild, select_device, state_to_numpy, torch_seed, training_params
from ..neural.convolutions import UNet
from ._diffusion_posterior import DPS_SCALE, run_sampler
from ._diffusion_posterior import restore as restore_draws
from .diffusion import cosine_alpha_bar

# optimizer steps when neither `updates` nor `epochs` is given. Measured on `plausible demo pixels` (4,000 avatars,
# 32x32x3, batch 64, seed 0, one thread; 1,000 samples in 50 steps, eta 1, read back against the real floor 0.404):
#   1,539 updates (27 epochs): fit 370 s, TV 0.615, 44% unreadable
#   2,052 updates (36 epochs): fit 492 s, TV 0.574, 36% unreadable
#   2,508 updates (44 epochs): fit 599 s, TV 0.578 (1.43x the floor), 32% unreadable (validation loss 0.0187, falling)
# learning_rate 2e-3 at 1,539 was worse (0.645, 51%); 100 sampling steps bought little (0.635, 47.5%) for 1.8x time
DEFAULT_UPDATES = 2500
MAX_LABEL_VALUES = 256     # distinct values a label column may take
SAMPLING_CHUNK = 256       # images denoised at once


# ---------------------------------------------------------------------- the process (no network)
def to_unit(values):
    """Intensities v in [0, 1] -> x = 2v − 1, the diffusion's space."""
    return 2 * values - 1


def from_unit(x):
    """x in [−1, 1] -> intensities (x + 1)/2."""
    return (x + 1) / 2


@dataclass(frozen=True)
class NoiseSchedule:
    """ᾱ_t for t = 0..T (ᾱ_0 = 1): q(x_t | x_0) = N(α_t x_0, σ_t² I), α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t)."""

    alpha_bar: torch.Tensor        # (T + 1,) float32

    @classmethod
    def cosine(cls, timesteps: int) -> "NoiseSchedule":
        return cls(torch.as_tensor(cosine_alpha_bar(timesteps), dtype=torch.float32))

    @property
    def timesteps(self) -> int:
        return len(self.alpha_bar) - 1

    def _at(self, t, like: torch.Tensor) -> torch.Tensor:
        """ᾱ_t broadcast against `like` (B, C, H, W): t an int or a (B,) tensor."""
        value = self.alpha_bar.to(like.device)[torch.as_tensor(t, device=like.device)]
        return value.reshape(-1, *([1] * (like.dim() - 1))) if value.dim() else value

    def alpha(self, t, like: torch.Tensor) -> torch.Tensor:
        return self._at(t, like).sqrt()

    def sigma(self, t, like: torch.Tensor) -> torch.Tensor:
        return (1 - self._at(t, like)).sqrt()

    def times(self, steps: int) -> list[int]:
        """τ_S = T > ... > τ_0 = 0: `steps` evenly spaced steps (fewer when T < steps)."""
        grid = np.unique(np.round(np.linspace(0, self.timesteps, steps + 1)).astype(int))[::-1]
        return [int(t) for t in grid]

    def noised(self, x0: torch.Tensor, t, noise: torch.Tensor) -> torch.Tensor:
        """x_t = α_t x_0 + σ_t ε: a draw from q(x_t | x_0)."""
        return self.alpha(t, x0) * x0 + self.sigma(t, x0) * noise

    def denoised(self, x: torch.Tensor, t, eps: torch.Tensor) -> torch.Tensor:
        """x̂_0 = (x_t − σ_t ε̂)/α_t, clipped to [−1, 1] (Tweedie's estimate of E[x_0 | x_t])."""
        return ((x - self.sigma(t, x) * eps) / self.alpha(t, x)).clamp(-1.0, 1.0)


# ---------------------------------------------------------------------- the running average of the weights
class _Averaged(nn.Module):
    """The U-Net and an exponential moving average of its weights, kept as buffers (so the optimizer
    leaves them alone and the training loop's best-epoch copy keeps them); training calls `update`
    once per step, validation scores the average."""

    def __init__(self, net: UNet, decay: float):
        super().__init__()
        self.net, self.decay, self.steps = net, decay, 0
        self.names = [name for name, _ in net.named_parameters()]
        for i, parameter in enumerate(net.parameters()):
            self.register_buffer(f"average{i}", parameter.detach().clone())

    def forward(self, x, t, labels=None):
        return self.net(x, t, labels)

    def _averages(self) -> list[torch.Tensor]:
        return [getattr(self, f"average{i}") for i in range(len(self.names))]

    @torch.no_grad()
    def update(self) -> None:
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        torch._foreach_lerp_(self._averages(), [p.detach() for p in self.net.parameters()], 1 - decay)

    def averaged(self, x, t, labels=None):
        return functional_call(self.net, dict(zip(self.names, self._averages())), (x, t, labels))

    def averaged_net(self) -> UNet:
        """The U-Net holding the averaged weights."""
        with torch.no_grad():
            for parameter, average in zip(self.net.parameters(), self._averages()):
                parameter.copy_(average)
        return self.net


# ---------------------------------------------------------------------- the model
@register
class ImageDiffusion(Model):
    name = "diffusion"
    family = "diffusion"
    complexity = 75
    data_kind = "image"
    pixel_space = "intensities"
    description = ("denoising diffusion on pixels: a small U-Net (DDPM), DDIM / DPM-Solver++ sampling in at most 50 "
                   "steps, optional labels with classifier-free guidance, RePaint inpainting, restore by DDRM, DPS "
                   "or RePaint")
    log_prob_kind = "none"
    impute_kind = "approximate"
    restore_methods = ("ddrm", "dps", "repaint")
    unsupported_reasons = {"log_prob": ("a diffusion model's likelihood bound needs a network call per timestep (1,000 "
                                        "per image) and a decoder for the levels; this rung claims none")}
    params = {
        "updates": Param(None, int, f"optimizer steps when epochs is not given; None: {DEFAULT_UPDATES:,}",
                         low=1, high=10_000_000, optional=True),
        **training_params(epochs=None, batch_size=64, learning_rate=1e-3, patience=None, help={
            "epochs": "passes over the images; None: as many as `updates` minibatches take",
            "patience": "epochs without validation improvement before training stops; None: no early stop"}),
        "channels": Param(32, int, "width of the U-Net at its first resolution (x2 below it)", low=4, high=1024),
        "blocks": Param(1, int, "residual blocks per resolution on the way down (one more on the way up)",
                        low=1, high=8),
        "resolutions": Param(3, int, "resolutions of the U-Net, each half the side of the one above", low=1, high=6),
        "patch": Param(None, int, "pixels per side folded into channels before the U-Net (2: a quarter of the "
                       "compute); None: 2 for images of 32 pixels a side or more, else 1", low=1, high=8, optional=True),
        "attention": Param(True, bool, "self-attention at the lowest resolution"),
        "timesteps": Param(1000, int, "T: steps of the forward (noising) process", low=2, high=100_000),
        "sampling_steps": Param(50, int, "network evaluations per sample (times `resamples` per imputation)",
                                low=1, high=1000),
        "eta": Param(1.0, float, "DDIM noise when sampling: 1 = DDPM-like (the default: see the module doc), "
                     "0 = the deterministic ODE sampler (with `solver`)",
                     low=0.0, high=1.0),
        "solver": Param("dpm++2m", str, "ODE solver when eta = 0: dpm++2m (second order) or ddim (first order)",
                        choices=("ddim", "dpm++2m")),
        "resamples": Param(2, int, "impute (RePaint): times each step is redone after renoising", low=1, high=20),
        "restore_steps": Param(100, int, "restore with ddrm or dps: network evaluations per draw (repaint: "
                               "sampling_steps x resamples)", low=1, high=1000),
        "dps_step": Param(DPS_SCALE, float, "restore with dps: its step zeta = dps_step x sqrt(D) / restore_steps, D "
                          "values per image (the draws depend on it: see _diffusion_posterior.py)", low=0.0, high=1000.0),
        "guidance": Param(2.0, float, "classifier-free guidance weight w (a model fitted with labels): 1 = the "
                          "plain conditional, 0 = unconditional, > 1 = closer to the labels, less varied",
                          low=0.0, high=50.0),
        "label_dropout": Param(0.1, float, "share of training images whose labels are hidden (what guidance needs)",
                               low=0.0, high=1.0),
        "ema": Param(0.999, float, "decay of the moving average of the weights kept (0 = the last weights)",
                     low=0.0, high=0.99999),
        "validation": Param(0.1, float, "share of images held out to pick the best epoch (sets of 1,000+ images)",
                            low=0.0, high=0.5),
    }
    test_params = {"updates": 16, "channels": 8, "resolutions": 2, "batch_size": 32, "sampling_steps": 4,
                   "resamples": 1, "attention": False, "restore_steps": 4}

    # ------------------------------------------------------------------ the protocol, with labels
    def fit(self, data, schema: dict | None = None, labels=None) -> "Model":
        """`Model.fit`, plus optional `labels`: one per image (a 1-D array, a Series, a DataFrame or 2-D
        array of several label columns); the model then samples given labels (module doc)."""
        if labels is not None and not is_image_batch(data):
            raise ParameterError("labels= goes with images (an array (N, H, W) or (N, H, W, C)); a table's "
                                 "columns are modelled together already")
        self._given_labels = labels
        try:
            return super().fit(data, schema)
        finally:
            del self._given_labels

    def sample(self, n: int, seed: int | None = 0, labels=None):
        """`Model.sample`, plus optional `labels` for a model fitted with labels: one per image (n of
        them), one value for all, or {column: value}; absent columns are "no label"."""
        self._check_fitted()
        self._call_codes = None if labels is None else self.label_codes(labels, n)
        try:
            return super().sample(n, seed)
        finally:
            del self._call_codes

    def impute(self, data, n_draws: int = 5, seed: int | None = 0, mask=None, labels=None) -> list:
        """`Model.impute`, plus optional `labels` of the images given (as for `sample`)."""
        self._check_fitted()
        self._call_codes = None
        if labels is not None:
            images = self._read(data)[0]
            codes = self.label_codes(labels, len(images))
            holes = images if mask is None else self.codec_.with_mask(images, mask)
            gaps = (np.isnan(holes.reshape(len(holes), -1)).any(axis=1) if np.issubdtype(holes.dtype, np.floating)
                    else np.zeros(len(holes), dtype=bool))
            self._call_codes = codes[gaps]            # the images the codec hands to _impute, in order
        try:
            return super().impute(data, n_draws, seed, mask)
        finally:
            del self._call_codes

    # ------------------------------------------------------------------ labels
    def label_codes(self, labels, n: int) -> np.ndarray:
        """(n, K) codes of `labels` for `eps` (the "no label" code where a label is absent or missing)."""
        self._check_fitted()
        columns = self.label_columns_
        if not columns:
            raise ParameterError("this diffusion model was fitted without labels: sample it without labels= (or "
                                 "fit it with model.fit(images, labels=...))")
        if isinstance(labels, dict):
            unknown = sorted(set(map(str, labels)) - set(columns))
            if unknown:
                raise SchemaError(f"labels name column {unknown[0]!r}; the model's label columns are: "
                                  f"{', '.join(columns)}")
            frame = pd.DataFrame({str(k): np.broadcast_to(np.asarray(v, dtype=object), (n,)) for k, v in labels.items()})
        elif np.ndim(labels) == 0:
            if len(columns) > 1:
                raise SchemaError(f"one label was given; the model has {len(columns)} label columns "
                                  f"({', '.join(columns)}): give {{column: value}} or a DataFrame")
            frame = pd.DataFrame({columns[0]: np.full(n, labels, dtype=object)})
        else:
            frame = _label_frame(labels, columns)
        if len(frame) != n:
            raise SchemaError(f"{len(frame)} labels were given for {n} images: give one per image (or one for all)")
        codes = np.array(self.label_sizes_, dtype=np.int64)[None, :].repeat(n, axis=0)   # "no label"
        for k, column in enumerate(columns):
            if column not in frame:
                continue
            index = {value: i for i, value in enumerate(self.label_values_[k])}
            for row, value in enumerate(frame[column].tolist()):
                if _absent(value):
                    continue
                if value not in index:
                    shown = ", ".join(map(repr, self.label_values_[k][:8]))
                    raise SchemaError(f"label column {column!r} has value {value!r}, never seen in training; its "
                                      f"values are: {shown}{' ...' if len(index) > 8 else ''}")
                codes[row, k] = index[value]
        return codes

    def _learn_labels(self, labels, n: int) -> np.ndarray:
        """Set label_columns_, label_values_, label_sizes_ from the fit's labels; their (n, K) codes."""
        if labels is None:
            self.label_columns_, self.label_values_, self.label_sizes_ = [], [], []
            return np.zeros((n, 0), dtype=np.int64)
        frame = _label_frame(labels, None)
        if len(frame) != n:
            raise SchemaError(f"labels has {len(frame)} rows; {n} images were given: give one label (row) per image")
        self.label_columns_, self.label_values_ = list(frame.columns), []
        for column in frame.columns:
            present = [v for v in pd.unique(frame[column].to_numpy(dtype=object)) if not _absent(v)]
            values = [v.item() if isinstance(v, np.generic) else v for v in present]
            if len(values) > MAX_LABEL_VALUES:
                raise SchemaError(f"label column {column!r} has {len(values):,} distinct values; diffusion conditions "
                                  f"on categories (at most {MAX_LABEL_VALUES}): bin it first (pandas.cut)")
            if not all(isinstance(v, (str, int, float, bool)) for v in values):
                raise SchemaError(f"label column {column!r} holds values of type {type(values[0]).__name__}; labels "
                                  "are text, whole numbers or booleans")
            try:
                values = sorted(values)
            except TypeError:
                values = sorted(values, key=str)
            self.label_values_.append(values)
        self.label_sizes_ = [len(v) for v in self.label_values_]
        return self.label_codes(frame, n)

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Pixels, rng) -> None:
        codes = self._learn_labels(getattr(self, "_given_labels", None), len(data))
        height, width, _ = data.shape
        self.patch_ = self.patch or (2 if min(height, width) >= 32 else 1)
        self.schedule_ = NoiseSchedule.cosine(self.timesteps)
        rows = np.concatenate([data.nchw().reshape(len(data), -1), codes], axis=1).astype(np.float32)
        n = len(rows)
        validation = self.validation if n >= 1000 else 0.0
        batch = min(self.batch_size, n)
        per_epoch = math.ceil(n * (1 - validation) / batch)
        epochs = self.epochs or max(1, math.ceil((self.updates or DEFAULT_UPDATES) / per_epoch))
        device = select_device(self.device)
        loss = self._loss(data.shape, data.n_levels, device)
        module, self.history_ = fit_network(self, lambda: _Averaged(self._network(), self.ema), loss,
                                            torch.from_numpy(rows), rng, "diffusion", epochs=epochs, batch_size=batch,
                                            patience=self.patience or epochs, validation=validation)
        self.net_ = module.averaged_net() if self.ema > 0 else module.net

    def _network(self) -> UNet:
        channels = self.codec_.shape[2]
        return UNet(channels, self.channels, (1,) + (2,) * (self.resolutions - 1), self.blocks,
                    label_sizes=self.label_sizes_, attention=self.attention, patch=self.patch_)

    def _loss(self, shape: tuple, n_levels: int | None, device: torch.device):
        height, width, channels = shape
        size, schedule = height * width * channels, NoiseSchedule(self.schedule_.alpha_bar.to(device))
        sizes = torch.as_tensor(self.label_sizes_, dtype=torch.long, device=device)
        dropout, several = self.label_dropout, len(self.label_sizes_) > 1

        def loss(module: _Averaged, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            def uniform(*shape):
                return torch.rand(*shape, generator=generator).to(device)

            b = batch.shape[0]
            if module.training and module.decay > 0:
                module.update()
            x0 = batch[:, :size].reshape(b, channels, height, width)
            if n_levels is not None:                        # dequantize: uniform inside each level's cell
                x0 = x0 + (uniform(*x0.shape) - 0.5) / n_levels
            x0 = to_unit(x0)
            t = torch.randint(1, schedule.timesteps + 1, (b,), generator=generator).to(device)
            noise = torch.randn(x0.shape, generator=generator).to(device)
            labels = None
            if len(sizes):
                hidden = uniform(b, 1) < dropout
                if several:
                    hidden = hidden | (uniform(b, len(sizes)) < dropout)
                labels = torch.where(hidden, sizes[None, :], batch[:, size:].long())
            net = module if module.training else module.averaged
            return ((net(schedule.noised(x0, t, noise), t, labels) - noise) ** 2).mean()

        return loss

    # ------------------------------------------------------------------ the denoiser and the samplers
    def eps(self, x: torch.Tensor, t, labels: torch.Tensor | None = None, guidance: float | None = None) -> torch.Tensor:
        """ε̃(x_t, t, c): the guided noise prediction for x_t (B, C, H, W) in [−1, 1] at time t (an int in
        1..T, or (B,)), with labels as (B, K) codes (`label_codes`) or None; differentiable in x."""
        net = self.net_
        t = torch.as_tensor(t, device=x.device).reshape(-1)
        if labels is None or not self.label_sizes_:
            return net(x, t, None)
        labels = torch.as_tensor(labels, dtype=torch.long, device=x.device)
        weight = self.guidance if guidance is None else guidance
        if weight == 1:
            return net(x, t, labels)
        null = torch.as_tensor(self.label_sizes_, device=x.device)[None, :].expand_as(labels)
        both = net(torch.cat([x, x]), t if len(t) == 1 else torch.cat([t, t]), torch.cat([labels, null]))
        conditional, unconditional = both.chunk(2)
        return unconditional + weight * (conditional - unconditional)

    @torch.inference_mode()
    def _denoise(self, n: int, rng, known: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """(n, C, H, W) intensities drawn by the sampler (RePaint given `known` = (clean, mask) NCHW)."""
        height, width, channels = self.codec_.shape
        device = select_device(self.device)
        self.net_.to(device)
        generator = torch.Generator().manual_seed(torch_seed(rng))
        schedule = NoiseSchedule(self.schedule_.alpha_bar.to(device))
        times = schedule.times(self.sampling_steps)
        codes = getattr(self, "_call_codes", None)
        out = []
        for begin in range(0, n, SAMPLING_CHUNK):
            rows = slice(begin, min(n, begin + SAMPLING_CHUNK))
            x = torch.randn((rows.stop - rows.start, channels, height, width), generator=generator).to(device)
            labels = None if codes is None else torch.as_tensor(codes[rows], device=device)
            chunk_known, eta = None, self.eta
            if known is not None:
                chunk_known = (torch.as_tensor(to_unit(known[0][rows]), dtype=torch.float32, device=device),
                               torch.as_tensor(known[1][rows], device=device))
                eta = 1.0
            x = run_sampler(lambda x_t, t: self.eps(x_t, t, labels), x, schedule, times, generator, eta,
                            self.solver, chunk_known, self.resamples)
            out.append(from_unit(x).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, channels, height, width))

    def _sample(self, n: int, rng) -> Pixels:
        return Pixels.from_values(self._denoise(n, rng), self.codec_)

    def _impute(self, data: Pixels, rng) -> Pixels:
        known = data.known
        clean = data.nchw(np.where(known, data.values, 0.5))
        mask = data.nchw(known.astype(np.float64)) > 0.5
        drawn = Pixels.from_values(self._denoise(len(data), rng, (clean, mask)), self.codec_)
        values = np.where(known, data.values, drawn.values)
        levels = None if data.levels is None else np.where(known, data.levels, drawn.levels)
        return Pixels(values, levels, data.shape, data.n_levels)

    def _restore(self, y, operator, noise_sd, n_draws, rng, method) -> np.ndarray:
        """`pl.restore`'s draws (n_draws, N, D) of the values given y (N, M) (module doc)."""
        height, width, channels = self.codec_.shape
        device = select_device(self.device)
        self.net_.to(device)

        def eps(x, t):      # flat values' order (raster, channels last) <-> the network's (B, C, H, W)
            images = x.reshape(-1, height, width, channels).permute(0, 3, 1, 2)
            return self.eps(images, t).permute(0, 2, 3, 1).reshape(x.shape)

        return restore_draws(eps, NoiseSchedule(self.schedule_.alpha_bar.to(device)), y, operator, noise_sd, n_draws,
                             torch.Generator().manual_seed(torch_seed(rng)), method,
                             self.sampling_steps if method == "repaint" else self.restore_steps, self.resamples,
                             self.dps_step, device)

    # method="auto", measured on digits (1,500 fitted, channels 32, resolutions 2, 3,000 updates; 60 held out, 10 draws,
    # restore_steps 100, repaint 50 x 2): PSNR of the mean / 90% coverage for ddrm | dps (dps_step 6) | repaint:
    #   box mask, noiseless       18.97/0.78 | 20.60/0.93 | 17.75/0.93
    #   bottom half, noiseless    16.33/0.77 | 17.63/0.90 | 15.44/0.89
    #   box mask, noise 0.05      18.60/0.71 | 19.54/0.47
    #   blur 1, noise 0.05        18.81/0.57 | 20.06/0.75
    #   downsample 2, noise 0.02  18.52/0.79 | 18.43/0.79
    #   identity, noise 0.1       24.85/0.61 | 22.89/0.36
    # so DPS, except denoising (DPS fits the noise: its draws are y) and noisy masks (DPS 1 dB better, its intervals
    # cover 47%). dps_step 18 gained 0.2-1.5 dB on masks, blur and downsampling and lost 1.3 dB on identity.
    def _restore_choice(self, operator, noise_sd: float | None = None) -> str:
        """method="auto" for a bound operator (the measurements above); noise_sd, where known, splits masks."""
        kind = operator.operator.name
        return "ddrm" if kind == "identity" or (kind == "mask" and noise_sd) else "dps"

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        state = {"history": self.history_, "patch": self.patch_, "label_columns": self.label_columns_,
                 "label_values": self.label_values_}
        return state, state_to_numpy(self.net_)

    def _set_state(self, state, arrays):
        self.history_, self.patch_ = state["history"], int(state["patch"])
        self.label_columns_ = [str(c) for c in state["label_columns"]]
        self.label_values_ = [list(v) for v in state["label_values"]]
        if len(self.label_values_) != len(self.label_columns_):
            raise ValueError("label_values and label_columns differ in length")
        self.label_sizes_ = [len(v) for v in self.label_values_]
        self.schedule_ = NoiseSchedule.cosine(self.timesteps)
        self.net_ = rebuild(self._network, arrays)


def _absent(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _label_frame(labels, columns: list[str] | None) -> pd.DataFrame:
    """Labels as a DataFrame with text column names (`columns`: the fitted ones, to name an array's)."""
    if isinstance(labels, pd.DataFrame):
        frame = labels.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
    elif isinstance(labels, pd.Series):
        name = "label" if labels.name is None else str(labels.name)
        frame = pd.DataFrame({columns[0] if columns and len(columns) == 1 else name: labels.to_numpy(dtype=object)})
    else:
        array = np.asarray(labels, dtype=object)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise SchemaError(f"labels must be one per image (1-D) or a table of label columns (2-D), got shape "
                              f"{array.shape}")
        names = columns if columns and len(columns) == array.shape[1] else \
            (["label"] if array.shape[1] == 1 else [str(i) for i in range(array.shape[1])])
        frame = pd.DataFrame(array, columns=names)
    if columns is not None:
        unknown = [c for c in frame.columns if c not in columns]
        if unknown:
            raise SchemaError(f"labels have column {unknown[0]!r}; the model's label columns are: {', '.join(columns)}")
    return frame

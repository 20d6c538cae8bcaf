"""vae, on images: a convolutional variational autoencoder (Kingma & Welling 2014).

z ~ N(0, I) of `latent` dimensions; the decoder, transposed convolutions from a small grid, gives
every pixel (and channel) a mixture of `components` logistic distributions over intensities, with
weights π_k(z), locations μ_k(z) and scales s_k(z); the pixels are independent given z. On level images the likelihood is the discretized logistic
(PixelCNN++, Salimans et al. 2017): level k of L gets each logistic's mass on its cell
[k/L, (k+1)/L), the first and last cells open to -inf and +inf, so p(x | z) is an exact probability
of the levels. On float images it is the logistic truncated to [0, 1], a density. One component is
the default: on digits (17 levels) three gave no better held-out bits/dim (1.89 against 1.88).

The encoder, strided convolutions and one hidden layer, takes (x ⊙ m, m): the pixels and which are
known. Training maximises the ELBO of the known pixels, with a random share (`masked`) of the
images shown partly hidden (pixels hidden at a random rate, or a random rectangle, often reaching
an edge), so that q(z | x_o) is a proposal for any set of known pixels.

- `log_prob`: the importance-weighted estimate (IWAE, Burda et al. 2016) with K = `proposals`
  draws from q: log (1/K) Σ_k p(x | z_k) p(z_k) / q(z_k | x), a lower bound in expectation that
  tightens as K grows ("estimate"). The K noise draws are the same for every image, so the score
  of an image does not depend on the others in the batch.
- `impute`: sampling-importance-resampling: K = `impute_proposals` draws from q(z | x_o), one
  picked with probability ∝ p(x_o | z) p(z) / q(z | x_o), then the unknown pixels drawn from
  p(x | z): approximate (exact as K grows, for the fitted model).
- `restore` (`pl.restore`, method "latent"): z drawn from p(z | y) by importance resampling from
  encoder-informed proposals and MALA in z, then x from the decoder conditioned on y
  (`_latent_posterior`): approximate, and declared so (the decoder's pixels are taken as Gaussian
  in p(y | z), and for blur the measurements' correlation given z is dropped).
- `encode(images)`: posterior means (N, latent) (NaN pixels count as unknown); `decode(z)`: the
  images at the decoder's mean location Σ_k π_k μ_k(z), in the fitted dtype; `interpolate(a, b, steps)`: images
  decoded along the straight line between the posterior means of two images.

Any height and width: the images are padded (with unknown pixels) to a multiple of 2^k, k strided
halvings bringing the larger side to about 4, and the decoder's output is cropped back.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels
from ..neural import fit_network, rebuild, state_to_numpy, torch_seed, training_params
from ._latent_posterior import LatentDecoder, latent_posterior

LOG_SCALE = (-7.0, 1.0)      # the decoder's log s per pixel stays in this range
LOG_VARIANCE = (-12.0, 6.0)  # the encoder's log σ² per latent dimension
LOG_PROB_SEED = 0            # the IWAE proposals of log_prob are fixed: log_prob is deterministic
VALIDATION_SEED = 0          # the validation masks are the same every epoch
CHUNK = 2048                 # images x proposals decoded at once
LOG_2PI = math.log(2 * math.pi)
PIXEL_PASSES = 4e7           # epochs=None: training sees about this many pixel values (a minute or two on 2 cores)
SMALLEST = 4                 # the encoder halves the images until the larger side is about this


def _halvings(height: int, width: int) -> int:
    return max(0, math.ceil(math.log2(max(height, width) / SMALLEST)))


def log_sigmoid_gap(upper: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    """log(σ(upper) − σ(lower)) for upper > lower, stable everywhere: on the side where both are
    positive it is computed as log(σ(−lower) − σ(−upper)); where the two are very close, from the
    logistic density at their midpoint times the gap."""
    flip = (upper + lower) > 0
    high, low = torch.where(flip, -lower, upper), torch.where(flip, -upper, lower)
    log_high = F.logsigmoid(high)
    gap = (log_high - F.logsigmoid(low)).clamp_min(1e-12)
    exact = log_high + torch.log(-torch.expm1(-gap))
    middle = 0.5 * (upper + lower)
    approximate = torch.log((upper - lower).clamp_min(1e-12)) + F.logsigmoid(middle) + F.logsigmoid(-middle)
    return torch.where(gap > 1e-4, exact, approximate)


def pixel_log_likelihood(x: torch.Tensor, location: torch.Tensor, log_scale: torch.Tensor,
                         n_levels: int | None) -> torch.Tensor:
    """log p(x | z) of each pixel (same shape as x): the discretized logistic for level images
    (x at the cells' centres (k + 0.5) / L), the logistic truncated to [0, 1] for float images."""
    inverse = torch.exp(-log_scale)
    if n_levels is not None:
        half = 0.5 / n_levels
        upper, lower = (x + half - location) * inverse, (x - half - location) * inverse
        first, last = x < 2 * half, x > 1 - 2 * half
        return torch.where(first, F.logsigmoid(upper),
                           torch.where(last, F.logsigmoid(-lower), log_sigmoid_gap(upper, lower)))
    centred = (x - location) * inverse
    density = -centred - log_scale - 2 * F.softplus(-centred)
    return density - log_sigmoid_gap((1 - location) * inverse, -location * inverse)


class ConvVAENet(nn.Module):
    """Encoder (x ⊙ m, m) -> mean and log σ² of q(z | x_o); decoder z -> each pixel's logistic mixture."""

    def __init__(self, shape: tuple, latent: int, channels: int, hidden: int, components: int):
        super().__init__()
        height, width, colours = shape
        self.shape, self.latent, self.components = (height, width, colours), latent, components
        halvings = _halvings(height, width)
        step = 2 ** halvings
        self.padded = (math.ceil(height / step) * step, math.ceil(width / step) * step)
        self.grid = (self.padded[0] // step, self.padded[1] // step)
        widths = [channels * min(2 ** i, 2) for i in range(halvings + 1)]     # c, 2c, 2c, ...
        encoder = [nn.Conv2d(2 * colours, widths[0], 3, padding=1), nn.SiLU()]
        for i in range(halvings):
            encoder += [nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1), nn.SiLU()]
        flat = widths[-1] * self.grid[0] * self.grid[1]
        self.encoder = nn.Sequential(*encoder, nn.Flatten(), nn.Linear(flat, hidden), nn.SiLU(),
                                     nn.Linear(hidden, 2 * latent))
        self.expand = nn.Sequential(nn.Linear(latent, hidden), nn.SiLU(), nn.Linear(hidden, flat), nn.SiLU())
        decoder = []
        for i in reversed(range(halvings)):
            decoder += [nn.ConvTranspose2d(widths[i + 1], widths[i], 4, stride=2, padding=1), nn.SiLU()]
        self.decoder = nn.Sequential(*decoder, nn.Conv2d(widths[0], widths[0], 3, padding=1), nn.SiLU(),
                                     nn.Conv2d(widths[0], 3 * components * colours, 3, padding=1))
        self.widths = widths
        # the components start at locations spread over [0.2, 0.8] (one at 0.5), so they differ from the start
        offsets = torch.linspace(-0.3, 0.3, components) if components > 1 else torch.zeros(1)
        self.register_buffer("offsets", offsets.reshape(1, components, 1, 1, 1), persistent=False)

    def encode(self, x: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, H, W) pixels (0 where unknown) and masks -> mean and log σ² of q, (B, L) each."""
        height, width = self.shape[:2]
        pad = (0, self.padded[1] - width, 0, self.padded[0] - height)
        inputs = F.pad(torch.cat([x * known, known], dim=1), pad)
        mean, log_variance = self.encoder(inputs).chunk(2, dim=-1)
        return mean, log_variance.clamp(*LOG_VARIANCE)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z (B, L) -> log weights, locations and log scales (B, K, C, H, W) of every pixel's mixture."""
        grid = self.expand(z).reshape(len(z), self.widths[-1], *self.grid)
        height, width, colours = self.shape
        out = self.decoder(grid)[:, :, :height, :width].reshape(len(z), 3, self.components, colours, height, width)
        log_weights = torch.log_softmax(out[:, 0], dim=1)
        return log_weights, out[:, 1] + 0.5 + self.offsets, out[:, 2].clamp(*LOG_SCALE)

    def log_likelihood(self, z: torch.Tensor, x: torch.Tensor, n_levels: int | None) -> torch.Tensor:
        """log p(x | z) of every pixel value, (B, C, H, W)."""
        log_weights, location, log_scale = self.decode(z)
        each = pixel_log_likelihood(x.unsqueeze(1), location, log_scale, n_levels)       # (B, K, C, H, W)
        return torch.logsumexp(log_weights + each, dim=1)


@register
class ImageVAE(Model):
    name = "vae"
    family = "latent variable"
    complexity = 60
    data_kind = "image"
    pixel_space = "levels"
    description = ("convolutional variational autoencoder: a discretized logistic per pixel given a latent z, "
                   "masked training to condition on any known pixels")
    log_prob_kind = "estimate"
    impute_kind = "approximate"
    restore_methods = ("latent",)
    params = {
        **training_params(epochs=None, batch_size=64, learning_rate=2e-3, patience=10,
                          help={"epochs": "passes over the training images at most (None: about 4e7 pixel values' "
                                          "worth, 2 to 200: 10 epochs of 4,000 32x32 jars, 200 of 1,200 8x8 digits)"}),
        "latent": Param(None, int, "latent dimensions (None: 16)", low=1, optional=True),
        "channels": Param(16, int, "convolution channels at full size (twice that after the first halving)", low=1),
        "hidden": Param(256, int, "width of the fully connected layer on each side of the latent", low=1),
        "components": Param(1, int, "logistic components per pixel value in the decoder's mixture", low=1, high=16),
        "masked": Param(0.5, float, "share of training images shown with pixels hidden (to condition on any)",
                        low=0.0, high=1.0),
        "proposals": Param(64, int, "importance samples K of the IWAE log_prob estimate", low=1),
        "impute_proposals": Param(32, int, "proposals resampled by importance weight per imputation", low=1),
        "restore_proposals": Param(64, int, "restore: latent proposals per image, resampled by importance weight "
                                            "to start the chains", low=1),
        "restore_steps": Param(40, int, "restore: MALA steps in the latent space per chain (0: importance "
                                        "resampling alone)", low=0),
    }
    test_params = {"epochs": 4, "channels": 4, "hidden": 16, "latent": 2, "batch_size": 32, "proposals": 4,
                   "impute_proposals": 4, "restore_proposals": 8, "restore_steps": 4}

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Pixels, rng) -> None:
        self.latent_ = self.latent or 16
        images = torch.from_numpy(data.nchw().astype(np.float32))
        epochs = self.epochs or int(np.clip(round(PIXEL_PASSES / (len(data) * self.codec_.size)), 2, 200))
        self.net_, history = fit_network(self, self._network, self._loss, images, rng, "vae", epochs=epochs)
        self.epochs_trained_ = len(history)
        self.history_ = history

    def _network(self) -> ConvVAENet:
        return ConvVAENet(self.codec_.shape, self.latent_, self.channels, self.hidden, self.components)

    def _masks(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """(n, 1, H, W) 1 = shown: a share `masked` of the images partly hidden, half of those at a
        random pixel rate, half behind a random rectangle (each side at the edge with probability ½)."""
        height, width, _ = self.codec_.shape
        u = torch.rand(n, 11, generator=generator)
        hidden, by_pixel = u[:, 0] < self.masked, u[:, 1] < 0.5
        pixels = torch.rand(n, 1, height, width, generator=generator) < u[:, 2].reshape(n, 1, 1, 1)
        # a rectangle [top, bottom) x [left, right), each side pushed to the edge half of the time
        top = torch.where(u[:, 3] < 0.5, 0.0, u[:, 4] * height)
        bottom = torch.where(u[:, 5] < 0.5, float(height), top + (height - top) * u[:, 6])
        left = torch.where(u[:, 7] < 0.5, 0.0, u[:, 8] * width)
        right = torch.where(u[:, 9] < 0.5, float(width), left + (width - left) * u[:, 10])
        rows, columns = torch.arange(height).reshape(1, height, 1) + 0.5, torch.arange(width).reshape(1, 1, width) + 0.5
        box = ((rows >= top.reshape(n, 1, 1)) & (rows < bottom.reshape(n, 1, 1))
               & (columns >= left.reshape(n, 1, 1)) & (columns < right.reshape(n, 1, 1))).unsqueeze(1)
        gone = torch.where(by_pixel.reshape(n, 1, 1, 1), pixels, box) & hidden.reshape(n, 1, 1, 1)
        return (~gone).float()

    def _loss(self, net: ConvVAENet, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The negative ELBO of the shown pixels, in nats per pixel value, averaged over the images."""
        if not net.training:   # validation: the same masks and noise every epoch
            generator = torch.Generator().manual_seed(VALIDATION_SEED)
        device = images.device
        known = self._masks(len(images), generator).to(device).expand_as(images)
        mean, log_variance = net.encode(images, known)
        noise = torch.randn(mean.shape, generator=generator).to(device)
        z = mean + torch.exp(0.5 * log_variance) * noise
        likelihood = (net.log_likelihood(z, images, self.codec_.n_levels) * known).sum((1, 2, 3))
        kl = 0.5 * (torch.exp(log_variance) + mean.square() - 1 - log_variance).sum(-1)
        return (kl - likelihood).mean() / self.codec_.size

    # ------------------------------------------------------------------ model space
    def _tensors(self, data: Pixels) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C, H, W) pixels (0 where unknown) and known masks as float32 tensors."""
        known = data.known
        x = data.nchw(np.where(known, data.values, 0.0)).astype(np.float32)
        return torch.from_numpy(x), torch.from_numpy(data.nchw(known.astype(np.float32)))

    @torch.no_grad()
    def _weighted_proposals(self, x: torch.Tensor, known: torch.Tensor, k: int, noise: torch.Tensor
                            ) -> tuple[torch.Tensor, torch.Tensor]:
        """K proposals z ~ q(z | x_o) per image, (K, N, L), and their log importance weights (K, N);
        `noise` (K, N, L) or (K, 1, L) standard normal draws."""
        mean, log_variance = self.net_.encode(x, known)
        noise = noise.expand(k, *mean.shape)
        z = mean + torch.exp(0.5 * log_variance) * noise
        log_q = -0.5 * (noise.square() + LOG_2PI + log_variance).sum(-1)
        log_prior = -0.5 * (z.square() + LOG_2PI).sum(-1)
        flat = z.reshape(-1, z.shape[-1])
        x_k, known_k = x.repeat(k, 1, 1, 1), known.repeat(k, 1, 1, 1)
        parts = []
        for i in range(0, len(flat), CHUNK):
            part = self.net_.log_likelihood(flat[i:i + CHUNK], x_k[i:i + CHUNK], self.codec_.n_levels)
            parts.append((part * known_k[i:i + CHUNK]).sum((1, 2, 3)))
        return z, torch.cat(parts).reshape(k, -1) + log_prior - log_q

    def _log_prob(self, data: Pixels) -> np.ndarray:
        x, known = self._tensors(data)        # level images: exact level probabilities given z, no dequantization
        shared = torch.randn((self.proposals, 1, self.latent_), generator=torch.Generator().manual_seed(LOG_PROB_SEED))
        total = np.empty(len(data))
        step = max(1, CHUNK // self.proposals)
        for i in range(0, len(data), step):
            _, log_weights = self._weighted_proposals(x[i:i + step], known[i:i + step], self.proposals, shared)
            total[i:i + step] = (torch.logsumexp(log_weights.double(), dim=0) - math.log(self.proposals)).numpy()
        return total

    @torch.no_grad()
    def _draw(self, z: torch.Tensor, generator: torch.Generator) -> Pixels:
        """Images drawn from p(x | z): each pixel from its logistic (levels: the cell it falls in;
        floats: by inverse CDF of the logistic truncated to [0, 1])."""
        log_weights, location, log_scale = self.net_.decode(z)
        # each pixel's component by the Gumbel-max trick, then its location and scale (B, C, H, W)
        gumbel = -torch.log(-torch.log(torch.rand(log_weights.shape, generator=generator).clamp(1e-12, 1 - 1e-7)))
        pick = (log_weights + gumbel).argmax(dim=1, keepdim=True)
        scale = torch.exp(log_scale.gather(1, pick)[:, 0]).double()
        location = location.gather(1, pick)[:, 0].double()
        u = torch.rand(location.shape, generator=generator, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
        if self.codec_.n_levels is not None:
            values = location + scale * (torch.log(u) - torch.log1p(-u))
            levels = torch.floor(values * self.codec_.n_levels).clamp(0, self.codec_.n_levels - 1)
            nhwc = levels.permute(0, 2, 3, 1).reshape(len(z), -1).numpy().astype(np.int64)
            return Pixels.from_levels(nhwc, self.codec_)
        low, high = torch.sigmoid(-location / scale), torch.sigmoid((1 - location) / scale)
        p = (low + u * (high - low)).clamp(1e-12, 1 - 1e-12)
        values = location + scale * (torch.log(p) - torch.log1p(-p))
        return Pixels.from_values(values.numpy(), self.codec_)

    def _sample(self, n: int, rng) -> Pixels:
        generator = torch.Generator().manual_seed(torch_seed(rng))
        return self._draw(torch.randn((n, self.latent_), generator=generator), generator)

    def _impute(self, data: Pixels, rng) -> Pixels:
        generator = torch.Generator().manual_seed(torch_seed(rng))
        x, known = self._tensors(data)
        noise = torch.randn((self.impute_proposals, len(data), self.latent_), generator=generator)
        z, log_weights = self._weighted_proposals(x, known, self.impute_proposals, noise)
        weights = torch.softmax(log_weights.double(), dim=0).T                       # (N, K)
        pick = torch.multinomial(weights, 1, generator=generator)[:, 0]
        drawn = self._draw(z[pick, torch.arange(len(data))], generator)
        keep = data.known
        values = np.where(keep, data.values, drawn.values)
        levels = None if data.levels is None else np.where(keep, data.levels, drawn.levels)
        return Pixels(values, levels, data.shape, data.n_levels)

    # ------------------------------------------------------------------ restore
    def _restore(self, y, operator, noise_sd, n_draws, rng, method) -> np.ndarray:
        """`pl.restore`'s "latent" sampler (approximate: `_latent_posterior`'s module doc says where):
        z from p(z | y) by importance resampling of `restore_proposals` encoder-informed proposals
        and `restore_steps` MALA steps, then x ~ p(x | z) conditioned on y."""
        generator = torch.Generator().manual_seed(torch_seed(rng))
        height, width, colours = self.codec_.shape

        def encode(x, known):           # flat (N, D) raster, channels last -> q's mean and log variance
            images = (v.reshape(len(v), height, width, colours).permute(0, 3, 1, 2) for v in (x, known))
            return self.net_.encode(*images)

        decoder = LatentDecoder(self.latent_, self._moments, lambda z, g: self._draw(z, g).values, encode)
        return latent_posterior(decoder, y, operator, noise_sd, n_draws, generator, self.restore_proposals,
                                self.restore_steps)

    def _moments(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each value's mean and variance under p(x | z), (B, D) raster order, differentiable in z.
        A component's mean is its logistic censored to [0, 1], E clip(X, 0, 1) = s (softplus(μ/s) −
        softplus((μ−1)/s)) (smooth where a clipped location would give no gradient); its variance
        the logistic's π²s²/3 capped smoothly by m(1 − m), the most a value in [0, 1] with mean m
        can have (a harmonic blend); level images add a cell's 1/(12 L²); the mixture's moments by
        the law of total variance."""
        log_weights, location, log_scale = self.net_.decode(z)                     # (B, K, C, H, W)
        scale = torch.exp(log_scale)
        means = scale * (F.softplus(location / scale) - F.softplus((location - 1) / scale))
        logistic, most = (math.pi * scale).square() / 3, means * (1 - means) + 1e-6
        weights = torch.exp(log_weights)
        mean = (weights * means).sum(1)
        variance = (weights * (logistic * most / (logistic + most) + means.square())).sum(1) - mean.square()
        if self.codec_.n_levels is not None:
            variance = variance + 1 / (12 * self.codec_.n_levels ** 2)
        flat = [v.permute(0, 2, 3, 1).reshape(len(z), -1) for v in (mean, variance.clamp_min(1e-8))]
        return flat[0], flat[1]

    # ------------------------------------------------------------------ the latent space
    def encode(self, images) -> np.ndarray:
        """Posterior means E[z | image], (N, latent), of images like the fitted ones (NaN pixels of
        float images count as unknown: the mean is then that of q(z | known pixels))."""
        self._check_fitted()
        pixels = self.codec_.encode(self._input(images, allow_missing_cells=True))
        x, known = self._tensors(pixels)
        with torch.no_grad():
            means = [self.net_.encode(x[i:i + CHUNK], known[i:i + CHUNK])[0] for i in range(0, len(x), CHUNK)]
        return torch.cat(means).numpy().astype(float)

    def decode(self, z) -> np.ndarray:
        """Images (N, ...) of the fitted shape and dtype at each pixel's mean location Σ_k π_k μ_k(z)
        (locations clipped to [0, 1]; the level it falls in for level images): z is (N, latent) or (latent,)."""
        self._check_fitted()
        z = np.asarray(z, dtype=float)
        z = z[None] if z.ndim == 1 else z
        if z.ndim != 2 or z.shape[1] != self.latent_ or not np.isfinite(z).all():
            raise ValueError(f"z must be finite numbers of shape (N, {self.latent_}) (the latent dimensions), "
                             f"got shape {z.shape}")
        with torch.no_grad():
            location = [_mean_location(*self.net_.decode(torch.from_numpy(z[i:i + CHUNK].astype(np.float32))))
                        for i in range(0, len(z), CHUNK)]
        values = torch.cat(location).numpy().astype(float) if len(z) else np.zeros((0, self.codec_.size))
        return self.codec_.decode(Pixels.from_values(values, self.codec_))          # (N, C, H, W) or (0, D)

    def interpolate(self, a, b, steps: int = 8) -> np.ndarray:
        """`steps` images decoded along the straight line from image `a`'s posterior mean to image
        `b`'s (each one image, or a batch of one), the first and last the two reconstructions."""
        if int(steps) != steps or steps < 2:
            raise ValueError(f"steps must be a whole number >= 2, got {steps}")
        ends = self.encode(np.stack([_one_image(a), _one_image(b)]))
        weights = np.linspace(0.0, 1.0, int(steps))[:, None]
        return self.decode((1 - weights) * ends[0] + weights * ends[1])

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        return {"latent": self.latent_, "epochs_trained": self.epochs_trained_}, state_to_numpy(self.net_)

    def _set_state(self, state, arrays):
        self.latent_, self.epochs_trained_ = int(state["latent"]), int(state["epochs_trained"])
        self.net_ = rebuild(self._network, arrays)


def _mean_location(log_weights: torch.Tensor, location: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Σ_k π_k clip(μ_k, 0, 1) of every pixel, (B, C, H, W)."""
    return (torch.exp(log_weights) * location.clamp(0, 1)).sum(1)


def _one_image(image) -> np.ndarray:
    """One image from an image or a batch of one."""
    image = np.asarray(image)
    return image[0] if image.ndim in (3, 4) and image.shape[0] == 1 else image

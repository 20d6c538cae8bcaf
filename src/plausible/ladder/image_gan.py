"""gan, on images: a DCGAN-style generator and critic (Radford et al. 2016) trained as a WGAN-GP
(Gulrajani et al. 2017).

Players. The generator G maps noise ε ~ N(0, I_latent) through a linear layer to feature maps of
4 x 4, then k blocks [upsample x 2 -> 3 x 3 convolution -> LeakyReLU] up to S = 4 · 2^k, the
smallest such size covering the image, a 3 x 3 convolution to C channels, a bilinear resize to
H x W when S differs (so any image size works), and

    G(ε) = sigmoid(out(ε) + b),       b = logit(mean training image), learnt,

intensities in [0, 1]: a generator that has learnt nothing draws the mean image. The critic D
mirrors it: the image (resized to S x S), 2x - 1, a 3 x 3 convolution, k strided 4 x 4
convolutions down to 4 x 4, and a linear layer to one real number. Neither uses batch
normalisation (the gradient penalty is per example; the generator's samples do not depend on
which images share a batch). Level images are dequantised for training, each real image moved
uniformly inside its levels' cells, (level + u) / L, so real and generated images are both
continuous; a generated intensity v becomes level ⌊v L⌋.

Objective, WGAN-GP with λ = `penalty`:

    W(G, D) = E_x D(x) − E_ε D(G(ε))
    L_D = −W + λ E[(‖∇_x̂ D(x̂)‖₂ − 1)²],    x̂ = u x + (1 − u) G(ε),  u ~ U(0, 1)
    L_G = W

Why WGAN-GP rather than the non-saturating loss with an R1 penalty. The game is zero-sum, so it
is one scalar to descend: fake images reach the critic through r = 2·sg(x̃) − x̃ (the value of x̃,
its gradient times −1), and L = E D(r) − E D(x) + λ·GP gives D exactly ∇L_D and G exactly ∇L_G.
The shared `neural.train` loop (one optimiser, simultaneous steps) then plays the game as it
plays the table `gan`'s. The non-saturating loss −log σ(D(G(ε))) is not the negative of D's
loss: it would need two objectives and two optimisers. The penalty keeps D near 1-Lipschitz, so
its gradients stay informative when real and generated images are easily told apart (early in
training, or on images whose levels sit on a few values), where a Jensen-Shannon loss saturates.

What the training loop watches: the adversarial loss says little about quality (the critic
changes all the time), so the value handed to `train` is L − sg(L) + E, the game's gradient with
the value of the energy distance

    E = 2 E‖x − y‖ − E‖x − x'‖ − E‖y − y'‖     (x real, y generated; images as vectors)

between held-out images and as many generated ones: early stopping and the best epoch follow
how far generated images are from unseen ones.

Capabilities: G defines its distribution only as the push-forward of noise, without a density
(log_prob "none"), and it cannot condition on known pixels (impute "none"): see
`unsupported_reasons`. The vae and autoregressive rungs fill holes in images.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels
from ..neural import fit_network, rebuild, state_to_numpy, torch_seed, training_params
from .gan import energy_distance

SAMPLE_CHUNK = 1024   # images generated at a time when sampling
SLOPE = 0.2           # LeakyReLU's negative slope (DCGAN's)


def _upsamplings(height: int, width: int) -> int:
    """k: the number of doublings from 4 x 4 to a square S = 4 · 2^k covering the image."""
    return max(0, math.ceil(math.log2(max(height, width) / 4)))


class ImageGAN(nn.Module):
    """Generator and critic in one module (what `neural.train` optimises)."""

    def __init__(self, shape: tuple[int, int, int], latent: int, width: int, mean_image: np.ndarray | None = None):
        super().__init__()
        height, width_px, channels = shape
        self.size, self.latent, k = (height, width_px), latent, _upsamplings(height, width_px)
        self.side = 4 * 2 ** k
        widths = [width * 2 ** (k - i) for i in range(k + 1)]          # channels at 4, 8, ..., S
        self.start = nn.Linear(latent, widths[0] * 16)
        ups = []
        for a, b in zip(widths[:-1], widths[1:]):
            ups += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(a, b, 3, padding=1), nn.LeakyReLU(SLOPE)]
        self.up = nn.Sequential(nn.LeakyReLU(SLOPE), *ups, nn.Conv2d(widths[-1], channels, 3, padding=1))
        mean = np.full((channels, height, width_px), 0.5) if mean_image is None else mean_image
        self.mean_logit = nn.Parameter(torch.as_tensor(np.log(mean) - np.log1p(-mean), dtype=torch.float32))
        downs = [nn.Conv2d(channels, widths[-1], 3, padding=1), nn.LeakyReLU(SLOPE)]
        for a, b in zip(widths[::-1][:-1], widths[::-1][1:]):
            downs += [nn.Conv2d(a, b, 4, stride=2, padding=1), nn.LeakyReLU(SLOPE)]
        self.critic_body = nn.Sequential(*downs, nn.Flatten())
        self.critic_out = nn.Linear(widths[0] * 16, 1)
        self.widths = widths

    def generate(self, noise: torch.Tensor) -> torch.Tensor:
        """(B, latent) -> images (B, C, H, W) in [0, 1]."""
        out = self.up(self.start(noise).view(len(noise), self.widths[0], 4, 4))        # (B, C, S, S)
        if out.shape[2:] != self.size:
            out = F.interpolate(out, size=self.size, mode="bilinear", align_corners=False)
        return torch.sigmoid(out + self.mean_logit)

    def critique(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B,) critic values."""
        if images.shape[2:] != (self.side, self.side):
            images = F.interpolate(images, size=(self.side, self.side), mode="bilinear", align_corners=False)
        return self.critic_out(self.critic_body(2 * images - 1)).squeeze(1)


@register
class GANImages(Model):
    name = "gan"
    family = "adversarial"
    complexity = 70
    data_kind = "image"
    pixel_space = "intensities"
    description = "DCGAN-style generator and critic trained as a WGAN-GP"
    log_prob_kind = "none"
    impute_kind = "none"
    unsupported_reasons = {
        "log_prob": "a GAN's generator defines its images only as a push-forward of noise, without a density",
        "impute": ("the generator cannot condition on known pixels (it was trained to draw whole images from noise "
                   "only), and rejection sampling would accept almost nothing once a few pixels are known"),
    }
    params = {
        **training_params(epochs=300, batch_size=64, learning_rate=2e-4, patience=60, help={
            "learning_rate": "AdamW step size (generator and critic alike)",
            "patience": "epochs without a smaller held-out energy distance before stopping"}),
        "latent": Param(64, int, "dimension of the generator's noise ε", low=1, high=65_536),
        "width": Param(32, int, "feature maps of the generator's last (and the critic's first) convolution; "
                                "doubled at every halving of the resolution", low=1, high=4096),
        "penalty": Param(10.0, float, "gradient-penalty weight λ of WGAN-GP", low=0.0),
    }
    test_params = {"epochs": 3, "batch_size": 32, "latent": 8, "width": 8, "learning_rate": 1e-3}

    # ------------------------------------------------------------------ training
    def _fit(self, data: Pixels, rng) -> None:
        images = data.nchw()                                                           # (N, C, H, W)
        mean = np.clip(images.mean(axis=0), 0.02, 0.98)
        self.net_, history = fit_network(self, lambda: self._network(mean), self._loss,
                                         torch.from_numpy(images.astype(np.float32)), rng, "gan")
        self.epochs_trained_ = len(history)

    def _network(self, mean_image: np.ndarray | None = None) -> ImageGAN:
        return ImageGAN(self.codec_.shape, self.latent, self.width, mean_image)

    def _loss(self, game: ImageGAN, real: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The game's gradient (module docstring); its value is the energy distance."""
        n = len(real)
        if self.codec_.n_levels is not None:        # dequantise: uniform inside each level's cell
            real = real + (torch.rand(real.shape, generator=generator).to(real.device) - 0.5) / self.codec_.n_levels
        noise = torch.randn(n, self.latent, generator=generator).to(real.device)
        fake = game.generate(noise)
        distance = energy_distance(real.flatten(1), fake.detach().flatten(1))
        if not torch.is_grad_enabled():
            return distance
        reversed_fake = 2 * fake.detach() - fake      # value x̃, gradient −1: G ascends what D descends
        objective = game.critique(reversed_fake).mean() - game.critique(real).mean()
        u = torch.rand(n, 1, 1, 1, generator=generator).to(real.device)
        mixed = (u * real + (1 - u) * fake.detach()).requires_grad_(True)            # x̂
        slope, = torch.autograd.grad(game.critique(mixed).sum(), mixed, create_graph=True)
        objective = objective + self.penalty * ((slope.flatten(1).norm(dim=1) - 1) ** 2).mean()
        return objective - objective.detach() + distance

    # ------------------------------------------------------------------ sampling
    def _sample(self, n: int, rng) -> Pixels:
        generator = torch.Generator().manual_seed(torch_seed(rng))
        images = []
        with torch.no_grad():
            for begin in range(0, n, SAMPLE_CHUNK):
                noise = torch.randn(min(SAMPLE_CHUNK, n - begin), self.latent, generator=generator)
                images.append(self.net_.generate(noise).double().numpy())
        return Pixels.from_values(np.concatenate(images), self.codec_)

    # ------------------------------------------------------------------ saving
    def _get_state(self):
        return {"epochs_trained": int(self.epochs_trained_)}, state_to_numpy(self.net_)

    def _set_state(self, state, arrays):
        self.epochs_trained_ = int(state["epochs_trained"])
        self.net_ = rebuild(self._network, arrays)

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
    L_D = −W + λ E[(‖∇_x̂ D(x̂)‖₂ − 1)²] + ε_drift E_x D(x)²,    x̂ = u x + (1 − u) G(ε),  u ~ U(0, 1)
    L_G = −E_ε D(G(ε))      (W's part that depends on G)

The penalty keeps D near 1-Lipschitz, so its gradients stay informative when real and generated
images are easily told apart (early in training, or on images whose levels sit on a few values),
where a Jensen-Shannon loss saturates; the small drift term (ε_drift = `DRIFT`) stops D's values
wandering off together, which W alone does not see.

Training: its own loop (`_play`), not the shared `neural.train`. WGAN-GP wants what that loop
does not offer: two optimisers, Adam with β = (0.5, 0.9) (AdamW's default β₂ = 0.999 averages the
critic's fast-moving gradients over too long a window and the game oscillates), and `critic_steps`
(5) critic steps per generator step, so that D is near its optimum, where ∇_G W is the gradient of
the Wasserstein distance. On digits (train 1,200, test 597, one thread) one simultaneous step of
each through the shared loop reached an energy distance to the test images of 0.038 in 240 s;
this loop (learning_rate 1e-3) 0.032 in 120 s (per-pixel `independent`
0.042, real-vs-real 0.025), its samples sharper strokes of every digit. The loop
keeps the shared settings' meaning: an epoch is one pass of the critic over the training images
(a generator step after every `critic_steps` of its minibatches, counted across epochs),
`batch_size`, `learning_rate` (both players), `device`, `time_budget` (seconds; the best weights
are kept), `patience`, a progress bar when stderr is a terminal, every random draw from one
torch generator seeded by the model's rng (the global random state untouched), and a NaN guard.
The samples come from an exponential moving average of the generator's weights (decay
`EMA_DECAY`, Karras et al. 2018), which smooths the step-to-step wobble of the game.

What the loop watches: the adversarial loss says little about quality (the critic changes all
the time), so after every epoch it measures the energy distance

    E = 2 E‖x − y‖ − E‖x − x'‖ − E‖y − y'‖     (x real, y generated; images as vectors)

between held-out images (a tenth of the training images) and the averaged generator's images of
fixed noise: early stopping and the best epoch follow how far generated images are from unseen
ones.

Capabilities: G defines its distribution only as the push-forward of noise, without a density
(log_prob "none"), and it cannot condition on known pixels (impute "none"): see
`unsupported_reasons`. The vae and autoregressive rungs fill holes in images.
"""
from __future__ import annotations

import copy
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.model import Model
from ..core.params import Param
from ..core.registry import register
from ..data.images import Pixels
from ..neural import (
    TrainingError,
    rebuild,
    seeded,
    select_device,
    state_to_numpy,
    torch_seed,
    training_params,
)
from .gan import energy_distance

SAMPLE_CHUNK = 1024   # images generated at a time when sampling
SLOPE = 0.2           # LeakyReLU's negative slope (DCGAN's)
BETAS = (0.5, 0.9)    # Adam's β for both players (WGAN-GP's choice; AdamW's β₂ = 0.999 oscillates)
DRIFT = 1e-3          # ε of the drift term ε·E D(x)², which keeps the critic's values near 0 (Karras et al.)
EMA_DECAY = 0.999     # of the generator's weight average, warmed up as (1 + t) / (10 + t) over steps t
VALIDATION = 0.1      # share of the training images held out for the energy distance
WATCHED = 512         # at most this many held-out images (and fixed-noise images) in that distance


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

    GENERATOR = ("start.", "up.", "mean_logit")        # prefixes of the generator's weights

    def generator_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if name.startswith(self.GENERATOR)]

    def critic_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if not name.startswith(self.GENERATOR)]

    def generator_state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if k.startswith(self.GENERATOR)}

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
        **training_params(epochs=300, batch_size=64, learning_rate=1e-3, patience=60, help={
            "learning_rate": "Adam step size (generator and critic alike; β = (0.5, 0.9))",
            "patience": "epochs without a smaller held-out energy distance before stopping"}),
        "latent": Param(64, int, "dimension of the generator's noise ε", low=1, high=65_536),
        "width": Param(32, int, "feature maps of the generator's last (and the critic's first) convolution; "
                                "doubled at every halving of the resolution", low=1, high=4096),
        "penalty": Param(10.0, float, "gradient-penalty weight λ of WGAN-GP", low=0.0),
        "critic_steps": Param(5, int, "critic steps per generator step", low=1, high=100),
    }
    test_params = {"epochs": 3, "batch_size": 32, "latent": 8, "width": 8, "learning_rate": 1e-3}

    # ------------------------------------------------------------------ training
    def _fit(self, data: Pixels, rng) -> None:
        images = data.nchw()                                                           # (N, C, H, W)
        mean = np.clip(images.mean(axis=0), 0.02, 0.98)
        seed = torch_seed(rng)
        with seeded(seed):
            net = self._network(mean)
            self.history_ = self._play(net, torch.from_numpy(images.astype(np.float32)), seed,
                                       select_device(self.device))
        self.net_ = net.cpu().eval()
        self.epochs_trained_ = len(self.history_)

    def _network(self, mean_image: np.ndarray | None = None) -> ImageGAN:
        return ImageGAN(self.codec_.shape, self.latent, self.width, mean_image)

    def _dequantised(self, real: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Level images moved uniformly inside each level's cell; intensities as they are."""
        if self.codec_.n_levels is None:
            return real
        return real + (torch.rand(real.shape, generator=generator).to(real.device) - 0.5) / self.codec_.n_levels

    def _critic_loss(self, game: ImageGAN, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator) -> torch.Tensor:
        """L_D = E D(G(ε)) − E D(x) + λ E[(‖∇D(x̂)‖ − 1)²] + ε E D(x)² (module docstring)."""
        on_real = game.critique(real)
        u = torch.rand(len(real), 1, 1, 1, generator=generator).to(real.device)
        mixed = (u * real + (1 - u) * fake).requires_grad_(True)                      # x̂
        slope, = torch.autograd.grad(game.critique(mixed).sum(), mixed, create_graph=True)
        penalty = ((slope.flatten(1).norm(dim=1) - 1) ** 2).mean()
        return game.critique(fake).mean() - on_real.mean() + self.penalty * penalty + DRIFT * (on_real ** 2).mean()

    def _play(self, net: ImageGAN, images: torch.Tensor, seed: int, device: torch.device) -> list[dict]:
        """Train the game (module docstring, "Training"); `net` ends with the best epoch's weights, its
        generator the weight average. Returns the per-epoch history."""
        from tqdm.auto import tqdm

        generator = torch.Generator().manual_seed(seed)
        n = len(images)
        order = torch.randperm(n, generator=generator)
        n_valid = min(round(n * VALIDATION), WATCHED) if n >= 20 else 0
        rows = images[order[n_valid:]].to(device)
        watched = self._dequantised(images[order[:n_valid]] if n_valid else images[order[:WATCHED]], generator)
        watched = watched.to(device).flatten(1)
        fixed_noise = torch.randn(len(watched), self.latent, generator=generator).to(device)
        net.to(device)
        average = copy.deepcopy(net)                                                   # the generator's EMA
        critic, players = net.critic_parameters(), net.generator_parameters()
        critic_optimizer = torch.optim.Adam(critic, lr=self.learning_rate, betas=BETAS)
        generator_optimizer = torch.optim.Adam(players, lr=self.learning_rate, betas=BETAS)
        best, best_distance, since_best, history = copy.deepcopy(net.state_dict()), math.inf, 0, []
        steps = generator_steps = 0
        start = time.perf_counter()
        bar = tqdm(range(self.epochs), desc="gan", unit="epoch", disable=not sys.stderr.isatty(), leave=False)
        for epoch in bar:
            net.train()
            permutation = torch.randperm(len(rows), generator=generator).to(device)
            total, batches = 0.0, 0
            for begin in range(0, len(permutation), self.batch_size):
                if batches and self.time_budget is not None and time.perf_counter() - start > self.time_budget:
                    break
                real = self._dequantised(rows[permutation[begin:begin + self.batch_size]], generator)
                with torch.no_grad():
                    fake = net.generate(torch.randn(len(real), self.latent, generator=generator).to(device))
                loss = self._critic_loss(net, real, fake, generator)
                critic_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                critic_optimizer.step()
                total, batches, steps = total + float(loss.detach()), batches + 1, steps + 1
                if steps % self.critic_steps:
                    continue
                for p in critic:                        # the generator's step needs no critic gradients
                    p.requires_grad_(False)
                noise = torch.randn(self.batch_size, self.latent, generator=generator).to(device)
                generator_loss = -net.critique(net.generate(noise)).mean()
                generator_optimizer.zero_grad(set_to_none=True)
                generator_loss.backward()
                generator_optimizer.step()
                for p in critic:
                    p.requires_grad_(True)
                generator_steps += 1
                decay = min(EMA_DECAY, (1 + generator_steps) / (10 + generator_steps))
                with torch.no_grad():
                    for mine, live in zip(average.generator_parameters(), players):
                        mine.lerp_(live, 1 - decay)
            if not math.isfinite(total):
                net.load_state_dict(best)
                raise TrainingError(f"gan: the critic's loss became {total} at epoch {epoch}; the best weights so "
                                    "far were kept. Try a smaller learning_rate or a larger penalty.")
            with torch.no_grad():
                distance = float(energy_distance(watched, average.generate(fixed_noise).flatten(1)))
            history.append({"epoch": epoch, "critic_loss": total / max(batches, 1), "validation_distance": distance,
                            "generator_steps": generator_steps})
            if distance < best_distance - 1e-6:
                best_distance, since_best = distance, 0
                best = {**copy.deepcopy(net.state_dict()), **copy.deepcopy(average.generator_state())}
            else:
                since_best += 1
            bar.set_postfix(distance=f"{distance:.4f}")
            if since_best >= self.patience or (self.time_budget is not None
                                               and time.perf_counter() - start > self.time_budget):
                break
        net.load_state_dict(best)
        return history

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

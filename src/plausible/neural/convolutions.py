"""Convolutional building blocks for image models: a small U-Net that reads a noised image, a time
and optional labels, as the denoisers of DDPM use it.

    net = UNet(image_channels=3, channels=32, multipliers=(1, 2, 2), blocks=1, label_sizes=(10,))
    out = net(x, t, labels)       # x (B, C, H, W), t (B,) or (1,) times, labels (B, K) long -> (B, C, H, W)

The architecture is the one of Ho et al. 2020 (DDPM) as simplified by Nichol & Dhariwal 2021
(improved DDPM), scaled down for a CPU:

- `ResidualBlock`: GroupNorm -> SiLU -> 3x3 conv, then the embedding as a per-channel scale and
  shift of the second GroupNorm ("adaptive group norm", Nichol & Dhariwal), SiLU -> dropout -> 3x3
  conv whose weights start at zero (each block starts as the identity), plus a 1x1 skip when the
  width changes.
- The embedding is a sinusoidal code of t (Vaswani et al. 2017) through a two-layer MLP, plus one
  learned vector per label column (`label_sizes[k]` values, and one more that means "no label":
  what classifier-free guidance, Ho & Salimans 2022, feeds for the unconditional prediction).
- Down: at each resolution `blocks` residual blocks of width channels x multiplier, then a stride-2
  3x3 conv, except at the last (lowest) resolution; middle: two residual blocks around an optional
  self-attention layer; up: `blocks + 1` residual blocks per resolution reading the down path's
  outputs (the U-Net's skip connections), then nearest-neighbour upsampling and a 3x3 conv.
- The output conv starts at zero, so an untrained net predicts 0 (the mean of the noise).

Sizes: any H and W work; inputs are padded (replicating the border) to a multiple of
2^(len(multipliers) - 1) and the output is cropped back, so 8x8 digits and 32x32 avatars need no
special case (a 3x3 image under 3 resolutions is padded to 4x4).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

GROUPS = 8    # GroupNorm groups at most (fewer when the width is not a multiple of 8)


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(channels, GROUPS), channels)


def sinusoidal(t: torch.Tensor, dimension: int) -> torch.Tensor:
    """(B,) times -> (B, dimension) sines and cosines of t at geometric frequencies 1 .. 1/10,000."""
    half = dimension // 2
    frequencies = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ResidualBlock(nn.Module):
    """(B, inputs, H, W), (B, E) embedding -> (B, outputs, H, W)."""

    def __init__(self, inputs: int, outputs: int, embedding: int, dropout: float = 0.0):
        super().__init__()
        self.norm1, self.conv1 = group_norm(inputs), nn.Conv2d(inputs, outputs, 3, padding=1)
        self.embed = nn.Linear(embedding, 2 * outputs)             # scale and shift per channel
        self.norm2, self.dropout = group_norm(outputs), nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(inputs, outputs, 1) if inputs != outputs else nn.Identity()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.embed(F.silu(embedding))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(self.dropout(F.silu(h)))


class SelfAttention(nn.Module):
    """Multi-head self-attention over the pixels of a (B, C, H, W) map, residual, output at zero."""

    def __init__(self, channels: int, heads: int = 4):
        super().__init__()
        self.norm = group_norm(channels)
        self.attention = nn.MultiheadAttention(channels, math.gcd(channels, heads), batch_first=True)
        nn.init.zeros_(self.attention.out_proj.weight)
        nn.init.zeros_(self.attention.out_proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2)                            # (B, H*W, C)
        out, _ = self.attention(tokens, tokens, tokens, need_weights=False)
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    """(B, C, H, W) image, (B,) or (1,) times, optional (B, K) label indices -> (B, C, H, W) (module doc).

    `label_sizes[k]` is the number of values of label column k; index `label_sizes[k]` means "no
    label". `labels=None` is every label absent."""

    def __init__(self, image_channels: int, channels: int = 32, multipliers: tuple = (1, 2, 2), blocks: int = 1,
                 label_sizes: tuple = (), attention: bool = True, dropout: float = 0.0, patch: int = 1):
        super().__init__()
        self.channels, self.label_sizes, self.patch = channels, tuple(int(k) for k in label_sizes), patch
        self.factor = patch * 2 ** (len(multipliers) - 1)         # the image side must be a multiple of this
        embedding = 4 * channels
        self.time = nn.Sequential(nn.Linear(channels, embedding), nn.SiLU(), nn.Linear(embedding, embedding))
        self.labels = nn.ModuleList(nn.Embedding(size + 1, embedding) for size in self.label_sizes)
        self.input = nn.Conv2d(image_channels * patch ** 2, channels, 3, padding=1)
        self.down, self.downsample, widths, width = nn.ModuleList(), nn.ModuleList(), [channels], channels
        for level, multiplier in enumerate(multipliers):
            stage = nn.ModuleList()
            for _ in range(blocks):
                stage.append(ResidualBlock(width, channels * multiplier, embedding, dropout))
                width = channels * multiplier
                widths.append(width)
            self.down.append(stage)
            last = level == len(multipliers) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(width, width, 3, stride=2, padding=1))
            if not last:
                widths.append(width)
        self.middle = nn.ModuleList([ResidualBlock(width, width, embedding, dropout),
                                     ResidualBlock(width, width, embedding, dropout)])
        self.attention = SelfAttention(width) if attention else nn.Identity()
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for level, multiplier in reversed(list(enumerate(multipliers))):
            stage = nn.ModuleList()
            for _ in range(blocks + 1):
                stage.append(ResidualBlock(width + widths.pop(), channels * multiplier, embedding, dropout))
                width = channels * multiplier
            self.up.append(stage)
            self.upsample.append(nn.Conv2d(width, width, 3, padding=1) if level else nn.Identity())
        self.output = nn.Sequential(group_norm(width), nn.SiLU(), nn.Conv2d(width, image_channels * patch ** 2, 3, padding=1))
        nn.init.zeros_(self.output[-1].weight)
        nn.init.zeros_(self.output[-1].bias)

    def embed(self, t: torch.Tensor, labels: torch.Tensor | None, batch: int) -> torch.Tensor:
        """(B, E): the time's code plus one learned vector per label column (absent: the "no label" one)."""
        e = self.time(sinusoidal(t.reshape(-1), self.channels)).expand(batch, -1)
        for k, table in enumerate(self.labels):
            index = (torch.full((batch,), self.label_sizes[k], dtype=torch.long, device=e.device)
                     if labels is None else labels[:, k])
            e = e + table(index)
        return e

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        b, _, height, width = x.shape
        pad_h, pad_w = -height % self.factor, -width % self.factor
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        e = self.embed(t, labels, b)
        x = F.pixel_unshuffle(x, self.patch) if self.patch > 1 else x
        # channels last: the CPU's convolutions run about 10% faster on it (and CUDA's under autocast)
        h = self.input(x.contiguous(memory_format=torch.channels_last))
        skips = [h]
        for stage, downsample in zip(self.down, self.downsample):
            for block in stage:
                h = block(h, e)
                skips.append(h)
            if not isinstance(downsample, nn.Identity):
                h = downsample(h)
                skips.append(h)
        h = self.middle[1](self.attention(self.middle[0](h, e)), e)
        for stage, upsample in zip(self.up, self.upsample):
            for block in stage:
                h = block(torch.cat([h, skips.pop()], dim=1), e)
            if not isinstance(upsample, nn.Identity):
                h = upsample(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        out = self.output(h)
        return (F.pixel_shuffle(out, self.patch) if self.patch > 1 else out)[:, :, :height, :width]

"""Write docs/avatars.png and docs/jars.png: 8x8 grids of the built-in image datasets (seed 0).

    python docs/sample_grids.py
"""
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import plausible as pl

SCALE, GAP = 3, 2   # each pixel drawn as 3x3; 2 pixels between tiles


def grid(images: np.ndarray, rows: int = 8) -> np.ndarray:
    """(rows * cols, H, W[, C]) uint8 -> one picture, tiles separated by white gaps."""
    images = images if images.ndim == 4 else images[..., None].repeat(3, axis=-1)
    n, h, w, c = images.shape
    cols = n // rows
    out = np.full((rows * (h + GAP) + GAP, cols * (w + GAP) + GAP, c), 255, dtype=np.uint8)
    for k, image in enumerate(images[:rows * cols]):
        r, q = divmod(k, cols)
        out[GAP + r * (h + GAP):GAP + r * (h + GAP) + h, GAP + q * (w + GAP):GAP + q * (w + GAP) + w] = image
    return out.repeat(SCALE, axis=0).repeat(SCALE, axis=1)


if __name__ == "__main__":
    here = Path(__file__).parent
    plt.imsave(here / "avatars.png", grid(pl.datasets.load("avatars", n=64, seed=0)))
    plt.imsave(here / "jars.png", grid(pl.datasets.load("jars", n=64, seed=0)))
    print("wrote", here / "avatars.png", "and", here / "jars.png")

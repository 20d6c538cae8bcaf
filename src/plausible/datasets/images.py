"""Grey image datasets: `digits` (bundled with scikit-learn) and `jars` (generated).

Each loader returns (images, labels): images as uint8 arrays (N, H, W), labels per image.
`avatars` (colour cartoons of the `fashion` features) lives in avatars.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.images import with_levels

SIZE = 32
HEIGHT_RANGE = (10.0, 28.0)   # jar heights in pixels, uniform (lid included)
WIDTH_RANGE = (8.0, 26.0)     # jar widths in pixels, uniform (the body; the lid is 0.6 of it)
BASELINE = 30.0               # every jar stands on this row (its bottom edge, in pixels from the top)
LID_SHARE, LID_WIDTH = 0.2, 0.6
BODY_LEVEL, LID_LEVEL = 200, 120   # grey levels of the body and the lid; the background is 0


def digits(n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits: (N, 8, 8) uint8 with levels 0..16, and the digit (int)
    of each. `n` draws a random subset of that many (without replacement, seeded); None: all, in order.

    The array says it has 17 levels (a `LevelImages` view, `plausible.data.images`), so a model fits
    17 levels, not uint8's 256; `np.save` drops that: fit a saved copy with schema={"levels": 17}."""
    import sklearn.datasets

    bunch = sklearn.datasets.load_digits()
    images = np.rint(bunch.images).astype(np.uint8)
    labels = np.asarray(bunch.target, dtype=int)
    if n is not None and n < len(images):
        picks = np.random.default_rng(seed).choice(len(images), size=n, replace=False)
        images, labels = images[picks], labels[picks]
    return with_levels(images, 17), labels


def _coverage(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(n, 32): the share of each pixel [i, i + 1) inside the interval [low, high), per row."""
    pixels = np.arange(SIZE)[None, :]
    return np.clip(np.minimum(pixels + 1, high[:, None]) - np.maximum(pixels, low[:, None]), 0, 1)


def draw_jars(height: np.ndarray, width: np.ndarray) -> np.ndarray:
    """(n, 32, 32) uint8 jars of the given heights and widths (pixels, floats).

    A jar is a body (width `width`, the lower 0.8 of `height`) under a lid (0.6 of the width, the
    upper 0.2), centred, standing on row 30. Each pixel's level is the exact share of it the shapes
    cover (area anti-aliasing), so the picture changes continuously with height and width."""
    height, width = np.asarray(height, dtype=float), np.asarray(width, dtype=float)
    centre = SIZE / 2
    body_top = BASELINE - (1 - LID_SHARE) * height
    body = _coverage(body_top, np.full_like(height, BASELINE))[:, :, None] \
        * _coverage(centre - width / 2, centre + width / 2)[:, None, :]
    lid = _coverage(BASELINE - height, body_top)[:, :, None] \
        * _coverage(centre - LID_WIDTH * width / 2, centre + LID_WIDTH * width / 2)[:, None, :]
    return np.rint(BODY_LEVEL * body + LID_LEVEL * lid).astype(np.uint8)   # (n, rows, columns)


def jars(n: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """`n` jars whose height and width are drawn independently and uniformly over HEIGHT_RANGE and
    WIDTH_RANGE; (n, 32, 32) uint8 and a DataFrame with `height` and `width` (pixels) per image."""
    rng = np.random.default_rng(seed)
    height = rng.uniform(*HEIGHT_RANGE, size=n)
    width = rng.uniform(*WIDTH_RANGE, size=n)
    return draw_jars(height, width), pd.DataFrame({"height": height, "width": width})

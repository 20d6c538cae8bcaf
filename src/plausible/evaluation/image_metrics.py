"""How close a model of images is: bits per dimension (and, beside it, the sample metrics of
`pl.evaluate` for images)."""
from __future__ import annotations

import numpy as np

from ..core.errors import NotSupportedError


def bits_per_dim(model, images) -> float:
    """Mean -log2 P(image) / D over `images`, D = pixels x channels: the held-out score of image
    models (lower is better; 8 bits/dim = uniform over 256 levels).

    For level images it is exact for rungs whose `pixel_space` is "levels" and the dequantization
    bound (an upper bound on bits/dim) for density rungs; for float images it is a density's, which
    can be negative. Raises NotSupportedError for rungs without a log_prob."""
    if getattr(model, "data_kind", None) != "image":
        raise NotSupportedError("bits_per_dim scores image models: fit the model on images (an array (N, H, W) or "
                                "(N, H, W, C)) first")
    log_prob = np.asarray(model.log_prob(images), dtype=float)
    return float(-log_prob.mean() / (model.codec_.size * np.log(2)))

"""How close a model of images is: bits per dimension, and what `pl.evaluate` measures on images.

`pl.evaluate(real=test_images, synthetic=samples, train=train_images, model=..., truth=...)` with
image arrays compares pictures, not columns:

- **bits_per_dim** (with `model=` and a log_prob): held-out -log2 P / D, exact or a bound as the
  rung declares;
- **frechet_distance**, **precision**, **recall**: in the feature space of a small convolutional
  network trained here, on the real images themselves (to tell which of four rotations, or flips
  for non-square images, an image was given in; on `labels=` when given): no downloaded weights.
  Fréchet distance between Gaussians fitted to the features (lower is better); precision and
  recall by k-nearest-neighbour balls (Kynkäänniemi et al., 2019): the share of samples inside the
  real images' manifold, and of real images inside the samples';
- **dcr_ratio**, **exact_copy_rate** (with `train=`): memorization, in pixel space: the median
  distance of each sample to its nearest training image over that of held-out real images, and the
  share of samples identical to a training image;
- **tv_to_truth**, **unreadable_share** (with `truth="avatars"`): the avatar features read back
  from the samples by the package's avatar reader, against the exact truth over the 4,032
  combinations (per-feature distances in `details`).

Every metric is printed beside its noise floor: the same metric for one half of the real images
against the other half, at the same sample size, which is what a perfect model would score.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import NotSupportedError

FEATURE_STEPS = 300
NEIGHBOURS = 3


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


# ---------------------------------------------------------------------- intensities
def intensities(images: np.ndarray, top: float) -> np.ndarray:
    """(N, C, H, W) float32 in [0, 1]: integer images divided by their top level `top`."""
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 3:
        array = array[..., None]
    return (array / top).transpose(0, 3, 1, 2)


def top_level(*batches) -> float:
    """What an image's brightest level is: 1 for floats, 255 for uint8, else the largest value."""
    first = batches[0]
    if np.issubdtype(first.dtype, np.floating):
        return 1.0
    if first.dtype == np.uint8:
        return 255.0
    return float(max(int(np.max(b)) for b in batches if len(b)) or 1)


# ---------------------------------------------------------------------- the feature network
class FeatureNet:
    """A small CNN trained on `reference` images; `features(images)` is its 64-d penultimate layer."""

    def __init__(self, reference: np.ndarray, top: float, labels=None, seed: int = 0, steps: int = FEATURE_STEPS):
        import torch
        from torch import nn

        self.top = top
        x = torch.from_numpy(intensities(reference, top))
        square = x.shape[2] == x.shape[3]
        channels = x.shape[1]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.body = nn.Sequential(
                nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                nn.AvgPool2d(2) if min(x.shape[2:]) >= 8 else nn.Identity(),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            if labels is not None:
                codes, y = np.unique(np.asarray(labels), return_inverse=True)
                targets, inputs, classes = torch.from_numpy(y.astype(np.int64)), x, len(codes)
                self.task = "the given labels"
            else:
                views = [x, torch.rot90(x, 1, (2, 3)), torch.rot90(x, 2, (2, 3)), torch.rot90(x, 3, (2, 3))] if square \
                    else [x, x.flip(3), x.flip(2), x.flip(2).flip(3)]
                inputs = torch.cat(views)
                targets = torch.arange(4).repeat_interleave(len(x))
                classes = 4
                self.task = "which of four rotations" if square else "which of four flips"
            head = nn.Linear(64, classes)
            optimizer = torch.optim.Adam([*self.body.parameters(), *head.parameters()], lr=2e-3)
            generator = torch.Generator().manual_seed(seed)
            correct = 0.0
            for _ in range(steps):
                batch = torch.randint(0, len(inputs), (128,), generator=generator)
                logits = head(self.body(inputs[batch]))
                loss = nn.functional.cross_entropy(logits, targets[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                correct = 0.9 * correct + 0.1 * float((logits.argmax(1) == targets[batch]).float().mean())
            self.train_accuracy = correct
        self.body.eval()

    def features(self, images: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            x = torch.from_numpy(intensities(images, self.top))
            return torch.cat([self.body(x[i:i + 512]) for i in range(0, len(x), 512)]).numpy().astype(float)


_NETS: dict = {}


def feature_net(reference: np.ndarray, top: float, labels=None, seed: int = 0) -> FeatureNet:
    """`FeatureNet(...)`, kept for the next call on the same images in this process (comparing
    several models with one real set trains the network once; the last two sets are kept)."""
    import hashlib

    digest = hashlib.sha256(np.ascontiguousarray(reference).tobytes()).hexdigest()
    key = (digest, reference.shape, str(reference.dtype), top, seed,
           None if labels is None else hashlib.sha256(np.asarray(labels).astype(str).tobytes()).hexdigest())
    if key not in _NETS:
        while len(_NETS) >= 2:
            _NETS.pop(next(iter(_NETS)))
        _NETS[key] = FeatureNet(reference, top, labels=labels, seed=seed)
    return _NETS[key]


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    # tr sqrt(A B) = sum of sqrt(eigenvalues of A^1/2 B A^1/2), symmetric and PSD: stable where A is singular
    values, vectors = np.linalg.eigh(cov_a)
    half = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(half @ cov_b @ half), 0, None)).sum()
    return float(max(0.0, ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross))


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = NEIGHBOURS) -> tuple[float, float]:
    """Kynkäänniemi et al. (2019): the share of `fake` inside the union of the real points' k-NN
    balls (precision), and of `real` inside the fake points' balls (recall)."""
    from sklearn.neighbors import NearestNeighbors

    def coverage(support: np.ndarray, queries: np.ndarray) -> float:
        k_eff = min(k, len(support) - 1)
        radii = NearestNeighbors(n_neighbors=k_eff + 1).fit(support).kneighbors(support)[0][:, -1]
        distances = np.sqrt(((queries[:, None, :] - support[None, :, :]) ** 2).sum(-1))
        return float((distances <= radii[None, :]).any(axis=1).mean())

    return coverage(real, fake), coverage(fake, real)


def nearest_distances(images: np.ndarray, reference: np.ndarray, top: float) -> np.ndarray:
    """Euclidean distance (intensities) from each image to its nearest reference image."""
    from sklearn.neighbors import NearestNeighbors

    flat = intensities(images, top).reshape(len(images), -1)
    ref = intensities(reference, top).reshape(len(reference), -1)
    distances = NearestNeighbors(n_neighbors=1).fit(ref).kneighbors(flat)[0][:, 0]
    return np.where(distances < 1e-5, 0.0, distances)     # the dot-product shortcut leaves ~1e-7 for a copy


# ---------------------------------------------------------------------- pl.evaluate on images
def evaluate_images(real: np.ndarray, synthetic: np.ndarray, train: np.ndarray | None = None, model=None,
                    truth: str | None = None, labels=None, seed: int = 0) -> tuple[dict, dict, dict, dict]:
    """`pl.evaluate` for image arrays (module doc): (values, floor, intervals, details), which
    `pl.evaluate` returns as the same `Evaluation` as for tables."""
    real, synthetic = np.asarray(real), np.asarray(synthetic)
    _check_pair(real, synthetic, train)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(real))
    half = len(real) // 2
    half_a, half_b = real[order[:half]], real[order[half:2 * half]]
    size = min(len(half_b), len(synthetic))
    half_b = half_b[:size]
    same_size = synthetic[rng.choice(len(synthetic), size, replace=False)]
    top = top_level(real, synthetic, *([] if train is None else [train]))
    values, floor, intervals, details = {}, {}, {}, {}

    reference = train if train is not None else real
    net = feature_net(reference, top, labels=labels if labels is not None and train is None else None, seed=seed)
    details["feature_net"] = f"a small CNN trained on {len(reference):,} real images to tell {net.task} " \
                             f"(training accuracy {net.train_accuracy:.2f})"
    feats_a, feats_b, feats_s = (net.features(x) for x in (half_a, half_b, same_size))
    values["frechet_distance"] = frechet_distance(feats_a, feats_s)
    floor["frechet_distance"] = frechet_distance(feats_a, feats_b)
    values["precision"], values["recall"] = precision_recall(feats_a, feats_s)
    floor["precision"], floor["recall"] = precision_recall(feats_a, feats_b)

    if train is not None:
        held_out = nearest_distances(half_b, train, top)
        to_train = nearest_distances(same_size, train, top)
        denominator = float(np.median(held_out)) or float(np.mean(held_out)) or 1.0
        values["dcr_ratio"] = float(np.median(to_train) / denominator)
        floor["dcr_ratio"] = 1.0
        values["exact_copy_rate"] = float((to_train == 0).mean())
        floor["exact_copy_rate"] = float((held_out == 0).mean())

    if model is not None and getattr(model, "log_prob_kind", "none") != "none":
        values["bits_per_dim"] = bits_per_dim(model, real)
        details["bits_per_dim_kind"] = model.log_prob_kind

    if truth is not None:
        if truth != "avatars":
            raise ValueError(f"truth={truth!r}: images have a known truth only for the built-in 'avatars'")
        from ..datasets.avatars import read_features
        scored, unreadable, per_feature = _avatar_distances(read_features, same_size)
        floor_tv, floor_unreadable, floor_per = _avatar_distances(read_features, half_b)
        values["tv_to_truth"], values["unreadable_share"] = scored, unreadable
        floor["tv_to_truth"], floor["unreadable_share"] = floor_tv, floor_unreadable
        details["tv_per_feature"] = per_feature
        details["tv_per_feature_floor"] = floor_per
    details["rows"] = {"real_half": len(half_a), "compared": size, "synthetic": len(synthetic),
                       "train": None if train is None else len(train)}
    return values, floor, intervals, details


def _avatar_distances(read_features, images: np.ndarray) -> tuple[float, float, dict]:
    """TV between the avatar features read from `images` and the exact truth, over the 4,032
    combinations and per feature; and the share of images the reader could not read."""
    from .. import datasets

    truth = datasets.truth("fashion")
    features, readable = read_features(images)
    columns = [c for c in truth.columns if c != "probability"]
    read = features[readable]
    per_feature = {}
    for column in columns:
        exact = truth.groupby(column)["probability"].sum()
        seen = read[column].value_counts(normalize=True).reindex(exact.index, fill_value=0.0)
        per_feature[column] = float(0.5 * np.abs(exact - seen).sum())
    joint = read.value_counts(normalize=True)
    keyed = truth.set_index(columns)["probability"]
    observed = joint.reindex(keyed.index, fill_value=0.0)
    total = float(0.5 * (np.abs(keyed - observed).sum() + max(0.0, 1.0 - observed.sum())))
    return total, float(1.0 - readable.mean()), per_feature


def _check_pair(real: np.ndarray, synthetic: np.ndarray, train) -> None:
    from ..data.images import is_image_batch

    for what, batch in (("real", real), ("synthetic", synthetic), ("train", train)):
        if batch is None:
            continue
        if not is_image_batch(batch):
            raise ValueError(f"{what} must be images (N, H, W) or (N, H, W, C) like real, got "
                             f"{type(batch).__name__} of shape {getattr(batch, 'shape', None)}")
        if batch.shape[1:] != real.shape[1:]:
            raise ValueError(f"{what} images have shape {batch.shape[1:]}, the real ones {real.shape[1:]}: compare "
                             "images of one size")
        if np.issubdtype(batch.dtype, np.floating) and np.isnan(batch).any():
            raise ValueError(f"{what} images have missing pixels (NaN): evaluate complete images")
    if len(real) < 8 or len(synthetic) < 4:
        raise ValueError(f"need at least 8 real and 4 synthetic images, got {len(real)} and {len(synthetic)}")
